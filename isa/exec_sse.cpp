#include "isa/bind.h"

namespace isa {

void register_sse_handlers(HandlerTable& t) {}

}  // namespace isa
