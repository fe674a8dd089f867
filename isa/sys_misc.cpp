// Cache/monitor/SMAP/PKU instructions (SDM Vol. 2). STUB: being written.

#include "isa/system.h"

#include "isa/bind.h"

namespace isa {

void register_sys_misc(HandlerTable&) {}

}  // namespace isa
