// Multiplication and division: MUL/IMUL (one-, two- and three-operand forms),
// DIV/IDIV with #DE on a zero divisor or a quotient that does not fit, and the
// BMI2 MULX (SDM Vol. 2A "MUL", "IMUL", "DIV", "IDIV"; Vol. 2B "MULX").
// MUL/IMUL set CF = OF when the high half is significant; SF, ZF, AF, PF are
// undefined: the modelled core gives SF and PF of the low half, ZF = AF = 0
// (checked by tests/hostdiff). DIV/IDIV leave all six flags undefined; we leave
// them unchanged.
#include "isa/exec_int.h"

namespace isa::exec {
namespace {

template <class T>
using Wide = std::conditional_t<sizeof(T) == 8, unsigned __int128,
                                std::conditional_t<sizeof(T) == 4, uint64_t, uint32_t>>;
template <class T>
using SWide = std::conditional_t<sizeof(T) == 8, __int128, std::conditional_t<sizeof(T) == 4, int64_t, int32_t>>;

template <class T>
inline void mul_flags(Cpu& c, T lo, bool overflow) {
  set_flags_eager(c, (szp<T>(lo) & (kSF | kPF)) | (overflow ? kCF | kOF : 0));
}

// Writes the double-width product: AX for bytes, DX:AX / EDX:EAX / RDX:RAX otherwise.
template <class T>
inline void store_pair(Cpu& c, T lo, T hi) {
  if constexpr (sizeof(T) == 1) {
    c.set_reg<uint16_t>(RAX, uint16_t(lo | (uint16_t(hi) << 8)));
  } else {
    c.set_reg<T>(RAX, lo);
    c.set_reg<T>(RDX, hi);
  }
}

struct Mul {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    Wide<T> p = Wide<T>(c.reg<T>(RAX)) * read_e<T, M>(c, d);
    T lo = T(p), hi = T(p >> kBits<T>);
    store_pair<T>(c, lo, hi);
    mul_flags<T>(c, lo, hi != 0);
  }
};
struct Imul1 {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    SWide<T> p = SWide<T>(Signed<T>(c.reg<T>(RAX))) * Signed<T>(read_e<T, M>(c, d));
    T lo = T(p), hi = T(p >> kBits<T>);
    store_pair<T>(c, lo, hi);
    mul_flags<T>(c, lo, p != SWide<T>(Signed<T>(lo)));
  }
};
template <int SRC>  // 0: G = G * E; 1: G = E * imm
struct ImulG {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    Signed<T> a = Signed<T>(read_e<T, M>(c, d));
    Signed<T> b = SRC == 0 ? Signed<T>(c.reg<T>(d.reg)) : Signed<T>(T(d.imm));
    SWide<T> p = SWide<T>(a) * b;
    T lo = T(p);
    c.set_reg<T>(d.reg, lo);
    mul_flags<T>(c, lo, p != SWide<T>(Signed<T>(lo)));
  }
};

template <class T>
inline Wide<T> dividend(const Cpu& c) {
  if constexpr (sizeof(T) == 1) return c.reg<uint16_t>(RAX);
  else return (Wide<T>(c.reg<T>(RDX)) << kBits<T>) | c.reg<T>(RAX);
}

struct Div {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    T s = read_e<T, M>(c, d);
    if (s == 0) raise_fault(VEC_DE);
    Wide<T> n = dividend<T>(c);
    Wide<T> q = n / s;
    if (q >> kBits<T>) raise_fault(VEC_DE);
    store_pair<T>(c, T(q), T(n % s));
  }
};
struct Idiv {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    Signed<T> s = Signed<T>(read_e<T, M>(c, d));
    if (s == 0) raise_fault(VEC_DE);
    SWide<T> n = SWide<T>(dividend<T>(c));
    if constexpr (sizeof(T) == 1) n = int16_t(n);
    // The most negative dividend divided by -1 overflows the wide type too.
    constexpr SWide<T> kMin = SWide<T>(Wide<T>(1) << (2 * kBits<T> - 1));
    if (s == -1 && n == kMin) raise_fault(VEC_DE);
    SWide<T> q = n / s, rem = n % s;
    if (q != SWide<T>(Signed<T>(T(q)))) raise_fault(VEC_DE);
    store_pair<T>(c, T(q), T(rem));
  }
};

// MULX: unsigned RDX/EDX * E, high half to the ModRM.reg register and low half to
// VEX.vvvv; with both the same register it receives the high half. No flags.
struct Mulx {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    Wide<T> p = Wide<T>(c.reg<T>(RDX)) * read_e<T, M>(c, d);
    c.set_reg<T>(d.vvvv, T(p));
    c.set_reg<T>(d.reg, T(p >> kBits<T>));
  }
};

}  // namespace

void register_muldiv(HandlerTable& t) {
  bind_b<Mul>(t, Form::mul_eb);
  bind_v<Mul>(t, Form::mul_ev);
  bind_b<Imul1>(t, Form::imul_eb);
  bind_v<Imul1>(t, Form::imul_ev);
  bind_v<ImulG<0>>(t, Form::imul_gv_ev);
  bind_v<ImulG<1>>(t, Form::imul_gv_ev_iz);
  bind_v<ImulG<1>>(t, Form::imul_gv_ev_ib);
  bind_b<Div>(t, Form::div_eb);
  bind_v<Div>(t, Form::div_ev);
  bind_b<Idiv>(t, Form::idiv_eb);
  bind_v<Idiv>(t, Form::idiv_ev);
  bind_v<Mulx>(t, Form::mulx_gy_by_ey);
}

}  // namespace isa::exec
