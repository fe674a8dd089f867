// System forms whose meaning needs the machine (ports, HLT): bound here, in the one
// place of sim/ that sees both the isa/ forms and the machine. Issue 3 adds the rest
// of the system instructions; issue 5 binds the VMX forms here too.
#pragma once
#include "isa/bind.h"

namespace sim {

void bind_system_forms(isa::HandlerTable& t);
// An instruction longer than 15 bytes: #GP(0) (SDM Vol. 2A 2.3.11).
void bind_too_long(isa::DecodedInst& d);

}  // namespace sim
