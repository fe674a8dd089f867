#include "isa/forms.h"

namespace isa {

const FormInfo kForms[kFormCount] = {
    {"(bad)", ONE, 0, PX, NOMR, -1, -1, I0, ONA, F_UD, C_NOP},
#define FORM(name, map, op, pfx, mk, mreg, mrm, imm, os, flags, ic) \
  {#name, map, op, pfx, mk, mreg, mrm, imm, os, flags, ic},
#include "opcodes_all.def"
#undef FORM
};

}  // namespace isa
