#include "isa/flags.h"

namespace isa {

uint64_t Cpu::get_rflags() const {
  return (rflags & ~uint64_t(FLAGS_ARITH)) | FLAG_FIXED1 | lazy::arith(lf);
}

void Cpu::set_rflags(uint64_t v) {
  rflags = (v & ~uint64_t(FLAGS_ARITH)) | FLAG_FIXED1;
  set_flags_eager(*this, uint32_t(v & FLAGS_ARITH));
}

}  // namespace isa
