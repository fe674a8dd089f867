#include "isa/bind.h"

namespace isa {

void register_x87_handlers(HandlerTable& t) {}

}  // namespace isa
