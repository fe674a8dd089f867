#include "isa/bind.h"

namespace isa {

void register_avx_handlers(HandlerTable& t) {}

}  // namespace isa
