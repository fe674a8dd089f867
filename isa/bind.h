// Binding decoded forms to handlers. Every handler is a function template on the
// operand type T (uint8_t..uint64_t, or a vector width tag) and on M (memory operand
// or register), so one small function serves all sizes and both ModRM kinds, and
// the binder picks the instantiation once, at decode time (no run-time size switch).
//
// Table index: [form][size index][M], size index = log2(operand bytes) for integer
// forms (0=8 bit .. 3=64 bit) and VEX.L for vector forms (OX).
#pragma once
#include "isa/decoded_inst.h"

namespace isa {

struct HandlerTable {
  Handler h[kFormCount][4][2];
  void set(Form f, unsigned size_index, Handler reg_form, Handler mem_form) {
    h[unsigned(f)][size_index][0] = reg_form;
    h[unsigned(f)][size_index][1] = mem_form;
  }
  void set_all(Form f, Handler fn) {
    for (unsigned s = 0; s < 4; s++) set(f, s, fn, fn);
  }
};

// Sets d.fn from the table (forms without semantics get a handler raising #UD
// that also counts them, see unimplemented_forms()).
void bind(DecodedInst& d);
unsigned size_index(const DecodedInst& d);

// Lets sim/ bind forms whose meaning needs more than isa/ sees (system, VMX).
HandlerTable& handler_table();

// Number of times each unbound form was executed (a statistic, not an error).
const uint64_t* unimplemented_forms();

// Registration, one function per semantics file, called once by handler_table().
void register_int_handlers(HandlerTable& t);
void register_string_handlers(HandlerTable& t);
void register_x87_handlers(HandlerTable& t);
void register_sse_handlers(HandlerTable& t);
void register_avx_handlers(HandlerTable& t);

}  // namespace isa

// Binding helpers. FN is a function template <class T, bool M>.
#define NS_BIND_B(t, form, FN) \
  (t).set(::isa::Form::form, 0, &FN<uint8_t, false>, &FN<uint8_t, true>)
#define NS_BIND_V(t, form, FN)                                       \
  do {                                                               \
    (t).set(::isa::Form::form, 1, &FN<uint16_t, false>, &FN<uint16_t, true>); \
    (t).set(::isa::Form::form, 2, &FN<uint32_t, false>, &FN<uint32_t, true>); \
    (t).set(::isa::Form::form, 3, &FN<uint64_t, false>, &FN<uint64_t, true>); \
  } while (0)
