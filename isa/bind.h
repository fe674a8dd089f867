// Binding decoded forms to handlers. Every handler is a function template on the
// operand type T (uint8_t..uint64_t, or a vector width tag) and on M (memory operand
// or register), so one small function serves all sizes and both ModRM kinds, and
// the binder picks the instantiation once, at decode time (no run-time size switch).
//
// Table index: [form][size index][M], size index = log2(operand bytes) for integer
// forms (0=8 bit .. 3=64 bit) and VEX.L for vector forms (OX).
#pragma once
#include <utility>

#include "isa/decoded_inst.h"

namespace isa {

// Forms with F_CC16 may instead bind one handler per condition code, so that the
// condition is a compile-time constant inside the handler (Jcc, SETcc and CMOVcc are
// among the hottest instructions).
struct CcHandlers {
  Handler h[16][4][2];
};

struct HandlerTable {
  Handler h[kFormCount][4][2];
  CcHandlers* cc[kFormCount] = {};  // allocated on first set_cc, never freed
  void set_cc(Form f, unsigned cond, unsigned size_index, Handler reg_form, Handler mem_form) {
    CcHandlers*& p = cc[unsigned(f)];
    if (!p) p = new CcHandlers{};
    p->h[cond][size_index][0] = reg_form;
    p->h[cond][size_index][1] = mem_form;
  }
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

namespace detail {
template <auto Get>
void bind_cc_v(HandlerTable& t, Form f) {
  [&]<unsigned... CC>(std::integer_sequence<unsigned, CC...>) {
    ((t.set_cc(f, CC, 1, Get.template operator()<CC, uint16_t, false>(),
               Get.template operator()<CC, uint16_t, true>()),
      t.set_cc(f, CC, 2, Get.template operator()<CC, uint32_t, false>(),
               Get.template operator()<CC, uint32_t, true>()),
      t.set_cc(f, CC, 3, Get.template operator()<CC, uint64_t, false>(),
               Get.template operator()<CC, uint64_t, true>())),
     ...);
  }(std::make_integer_sequence<unsigned, 16>{});
}
}  // namespace detail

}  // namespace isa

// Binding helpers. FN is a function template <class T, bool M>.
#define NS_BIND_B(t, form, FN) \
  (t).set(::isa::Form::form, 0, &FN<uint8_t, false>, &FN<uint8_t, true>)
// FN is a function template <unsigned CC, class T, bool M>; binds all 16 conditions.
#define NS_BIND_CC_V(t, form, FN)                                                   \
  ::isa::detail::bind_cc_v<[]<unsigned CC, class T, bool M>() { return &FN<CC, T, M>; }>( \
      t, ::isa::Form::form)
#define NS_BIND_V(t, form, FN)                                       \
  do {                                                               \
    (t).set(::isa::Form::form, 1, &FN<uint16_t, false>, &FN<uint16_t, true>); \
    (t).set(::isa::Form::form, 2, &FN<uint32_t, false>, &FN<uint32_t, true>); \
    (t).set(::isa::Form::form, 3, &FN<uint64_t, false>, &FN<uint64_t, true>); \
  } while (0)
