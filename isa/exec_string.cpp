#include "isa/bind.h"

namespace isa {

void register_string_handlers(HandlerTable& t) {}

}  // namespace isa
