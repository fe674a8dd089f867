#include "isa/bind.h"

#include "isa/cpu.h"
#include "isa/system.h"

namespace isa {
namespace {

uint64_t g_unimplemented[kFormCount];


void unimplemented_any(Cpu&, const DecodedInst& d) {
  g_unimplemented[unsigned(d.form)]++;
  raise_ud();
}

void decode_ud(Cpu&, const DecodedInst&) { raise_ud(); }

HandlerTable* make_table() {
  static HandlerTable t;
  // UD0/UD1/UD2 and the like are defined to raise #UD: that is their semantics, not a
  // missing implementation.
  for (unsigned f = 0; f < kFormCount; f++)
    t.set_all(Form(f), (kForms[f].flags & F_UD) ? &decode_ud : &unimplemented_any);
  t.set_all(Form::invalid, &decode_ud);
  register_int_handlers(t);
  register_string_handlers(t);
  register_x87_handlers(t);
  register_sse_handlers(t);
  register_avx_handlers(t);
  register_sys_seg(t);
  register_sys_task(t);
  register_sys_dtr(t);
  register_sys_int(t);
  register_sys_fast(t);
  register_sys_debug(t);
  register_sys_cr(t);
  register_sys_msr(t);
  register_sys_misc(t);
  return &t;
}

}  // namespace

HandlerTable& handler_table() {
  static HandlerTable* t = make_table();
  return *t;
}

const uint64_t* unimplemented_forms() { return g_unimplemented; }

unsigned size_index(const DecodedInst& d) {
  if (d.info().osize == OX) return d.osize == 32 ? 1 : 0;
  switch (d.osize) {
    case 1: return 0;
    case 2: return 1;
    case 4: return 2;
    default: return 3;
  }
}

void bind(DecodedInst& d) {
  static HandlerTable& t = handler_table();
  unsigned f = unsigned(d.form);
  if (const CcHandlers* cc = t.cc[f]) {
    d.fn = cc->h[d.cc & 15][size_index(d)][d.is_mem() ? 1 : 0];
    if (d.fn) return;
  }
  d.fn = t.h[f][size_index(d)][d.is_mem() ? 1 : 0];
}

}  // namespace isa
