// Private helpers shared by the integer semantics files (exec_*.cpp): operand
// access, the stack, branches and handler binding. Not a public contract.
//
// Handlers are structs with `template <class T, bool M> static void run(Cpu&, const
// DecodedInst&)`: T is the operand type, M is true when ModRM names memory. The
// bind_* helpers instantiate them for the sizes a form can have.
#pragma once
#include <type_traits>
#include <utility>

#include "isa/bind.h"
#include "isa/cpu.h"
#include "isa/flags.h"

namespace isa::exec {

template <class T>
using Signed = std::make_signed_t<T>;

// ---- operands ------------------------------------------------------------------
template <class T, bool M>
inline T read_e(Cpu& c, const DecodedInst& d) {
  if constexpr (M) return c.read<T>(d.seg, c.ea(d));
  else return c.reg<T>(d.rm);
}
template <class T, bool M>
inline void write_e(Cpu& c, const DecodedInst& d, T v) {
  if constexpr (M) c.write<T>(d.seg, c.ea(d), v);
  else c.set_reg<T>(d.rm, v);
}

// Read-modify-write destination: the linear address is formed once (with the
// write checks, SDM Vol. 3A 5.3), read, and written back before any register or
// flag is committed, which keeps the instruction precise.
template <class T, bool M>
struct RmwE {
  uint64_t lin = 0;
  T val;
  RmwE(Cpu& c, const DecodedInst& d) {
    if constexpr (M) {
      lin = c.linear(d.seg, c.ea(d), sizeof(T), Access::kWrite);
      val = c.read_lin<T>(lin, Access::kRead, d.seg);
    } else {
      val = c.reg<T>(d.rm);
    }
  }
  void store(Cpu& c, const DecodedInst& d, T v) {
    if constexpr (M) c.write_lin<T>(lin, v, d.seg);
    else c.set_reg<T>(d.rm, v);
  }
};

// ---- stack (SDM Vol. 1 6.2: the stack-address size is SS.B outside 64-bit mode) ----
inline uint64_t sp_wrap(const Cpu& c, uint64_t v) {
  if (NS_LIKELY(c.long64)) return v;
  return c.stack_size() == 4 ? uint32_t(v) : uint16_t(v);
}
inline void set_sp(Cpu& c, uint64_t v) {
  if (NS_LIKELY(c.long64)) {
    c.r[RSP] = v;
  } else if (c.stack_size() == 4) {
    c.r[RSP] = uint32_t(v);
  } else {
    c.set_reg<uint16_t>(RSP, uint16_t(v));
  }
}
inline uint64_t get_sp(const Cpu& c) { return sp_wrap(c, c.r[RSP]); }

// Writes `v` below the stack pointer and returns the new stack pointer, without
// committing it (the caller does, once nothing else can fault).
template <class T>
inline uint64_t push_value(Cpu& c, T v, uint64_t sp) {
  uint64_t nsp = sp_wrap(c, sp - sizeof(T));
  c.write<T>(SS, nsp, v);
  return nsp;
}
template <class T>
inline void push(Cpu& c, T v) {
  set_sp(c, push_value<T>(c, v, get_sp(c)));
}
template <class T>
inline T pop(Cpu& c) {
  uint64_t sp = get_sp(c);
  T v = c.read<T>(SS, sp);
  set_sp(c, sp + sizeof(T));
  return v;
}

// ---- branches ------------------------------------------------------------------
// Near branch target checks: canonical in 64-bit mode, CS limit otherwise (SDM
// Vol. 2A "JMP", "CALL", "RET": #GP(0)). The target is already truncated to the
// operand size.
inline void check_target(const Cpu& c, uint64_t t) {
  if (NS_LIKELY(c.long64)) {
    if (NS_UNLIKELY(!c.canonical(t))) raise_gp0();
  } else if (NS_UNLIKELY(t > c.seg[CS].limit)) {
    raise_gp0();
  }
}

// Register encodings of memory-only forms and other impossible combinations.
struct Ud {
  [[noreturn]] static void run(Cpu&, const DecodedInst&) { raise_ud(); }
};

// ---- binding -------------------------------------------------------------------
template <class H>
inline void bind_b(HandlerTable& t, Form f) {
  t.set(f, 0, &H::template run<uint8_t, false>, &H::template run<uint8_t, true>);
}
template <class H>
inline void bind_v(HandlerTable& t, Form f) {
  t.set(f, 1, &H::template run<uint16_t, false>, &H::template run<uint16_t, true>);
  t.set(f, 2, &H::template run<uint32_t, false>, &H::template run<uint32_t, true>);
  t.set(f, 3, &H::template run<uint64_t, false>, &H::template run<uint64_t, true>);
}
// F_CC16 forms: one handler per condition code, so the condition is a constant in
// each (HandlerTable::set_cc). H<CC> is a handler struct as above.
template <template <unsigned> class H, unsigned... CC>
inline void bind_cc_sizes(HandlerTable& t, Form f, bool byte_only, std::integer_sequence<unsigned, CC...>) {
  if (byte_only) {
    (t.set_cc(f, CC, 0, &H<CC>::template run<uint8_t, false>, &H<CC>::template run<uint8_t, true>), ...);
    return;
  }
  (t.set_cc(f, CC, 1, &H<CC>::template run<uint16_t, false>, &H<CC>::template run<uint16_t, true>), ...);
  (t.set_cc(f, CC, 2, &H<CC>::template run<uint32_t, false>, &H<CC>::template run<uint32_t, true>), ...);
  (t.set_cc(f, CC, 3, &H<CC>::template run<uint64_t, false>, &H<CC>::template run<uint64_t, true>), ...);
}
template <template <unsigned> class H>
inline void bind_cc_v(HandlerTable& t, Form f) {
  bind_cc_sizes<H>(t, f, false, std::make_integer_sequence<unsigned, 16>{});
}
template <template <unsigned> class H>
inline void bind_cc_b(HandlerTable& t, Form f) {
  bind_cc_sizes<H>(t, f, true, std::make_integer_sequence<unsigned, 16>{});
}

// Forms whose meaning does not depend on an operand size (ONA).
template <class H>
inline void bind_na(HandlerTable& t, Form f) {
  t.set_all(f, &H::run);
}

// Registration of each concept file (called from register_int_handlers).
void register_alu(HandlerTable& t);
void register_mov(HandlerTable& t);
void register_branch(HandlerTable& t);
void register_stack(HandlerTable& t);
void register_shift(HandlerTable& t);
void register_muldiv(HandlerTable& t);
void register_bit(HandlerTable& t);
void register_misc(HandlerTable& t);

}  // namespace isa::exec
