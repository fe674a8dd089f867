// General-purpose (integer) user-level semantics: registration. The handlers live
// in one file per concept (exec_alu.cpp, exec_mov.cpp, exec_branch.cpp ...).
#include "isa/exec_int.h"

namespace isa {

void register_int_handlers(HandlerTable& t) {
  exec::register_alu(t);
  exec::register_mov(t);
  exec::register_branch(t);
  exec::register_stack(t);
  exec::register_shift(t);
  exec::register_muldiv(t);
  exec::register_bit(t);
  exec::register_misc(t);
}

}  // namespace isa
