// Descriptor-table registers: LGDT/LIDT/LLDT/SGDT/SIDT/SLDT, SMSW/LMSW (SDM Vol. 3A 2.4, 2.6). STUB: being written.

#include "isa/system.h"

#include "isa/bind.h"

namespace isa {

void register_sys_dtr(HandlerTable&) {}

}  // namespace isa
