#include "isa/decoded_inst.h"

namespace isa {

DecodeStatus decode(const uint8_t* bytes, unsigned avail, CodeSize mode, DecodedInst& out) {
  out = DecodedInst{};
  out.form = Form::invalid;
  out.len = 1;
  return kDecodeUd;
}

}  // namespace isa
