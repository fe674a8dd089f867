#include "isa/bind.h"

namespace isa {

void register_int_handlers(HandlerTable& t) {}

}  // namespace isa
