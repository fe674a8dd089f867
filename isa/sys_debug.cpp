// Debug registers, breakpoints and single-step (SDM Vol. 3A chapter 17). STUB: being written.

#include "isa/system.h"

#include "isa/bind.h"

namespace isa {

void register_sys_debug(HandlerTable&) {}

}  // namespace isa
