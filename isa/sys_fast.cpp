// SYSCALL/SYSRET, SYSENTER/SYSEXIT, SWAPGS (SDM Vol. 2B). STUB: being written.

#include "isa/system.h"

#include "isa/bind.h"

namespace isa {

void register_sys_fast(HandlerTable&) {}

}  // namespace isa
