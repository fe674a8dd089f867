// Shifts and rotates: SHL/SHR/SAR/ROL/ROR/RCL/RCR by 1, CL and imm8, SHLD/SHRD,
// and the BMI2 flagless SHLX/SARX/SHRX/RORX (SDM Vol. 2B "SAL/SAR/SHL/SHR",
// "RCL/RCR/ROL/ROR", "SHLD", "SHRD", "SARX/SHLX/SHRX", "RORX").
//
// The count is masked to 5 bits (6 with a 64-bit operand). A masked count of 0
// changes neither the destination nor the flags. OF is defined only for a count of
// 1 and AF is undefined; for other counts we produce what the modelled Intel core
// does (checked by tests/hostdiff): OF is the OF of the same operation by one bit,
// computed from the original operand, and AF = 0. The harness still masks them as
// undefined (tests/hostdiff/undefined_flags.def).
#include "isa/exec_int.h"

namespace isa::exec {
namespace {

enum class Sh { ROL, ROR, RCL, RCR, SHL, SHR, SAR };
enum class Cnt { ONE, CL, IMM };

template <class T>
constexpr unsigned kCountMask = sizeof(T) == 8 ? 63 : 31;

template <class T>
inline bool msb(T v) { return (v >> (kBits<T> - 1)) & 1; }

// Shifts by a masked count n != 0. Returns the result and CF/OF. Shifts set SF,
// ZF, PF from the result (AF undefined: 0); rotates leave those four unchanged.
template <Sh OP, class T>
inline T shift(const Cpu& c, T a, unsigned n, bool& cf, bool& of) {
  constexpr unsigned B = kBits<T>;
  uint64_t x = a;
  T r;
  if constexpr (OP == Sh::SHL) {
    r = n >= B ? T(0) : T(x << n);
    cf = n <= B ? (x >> (B - n)) & 1 : false;
    of = ((x >> (B - 1)) ^ (x >> (B - 2))) & 1;
  } else if constexpr (OP == Sh::SHR) {
    r = n >= B ? T(0) : T(x >> n);
    cf = n <= B ? (x >> (n - 1)) & 1 : false;
    of = msb(a);
  } else if constexpr (OP == Sh::SAR) {
    int64_t s = int64_t(Signed<T>(a));
    unsigned k = n >= B ? B - 1 : n;
    r = T(s >> k);
    cf = n >= B ? msb(a) : (s >> (n - 1)) & 1;
    of = false;
  } else if constexpr (OP == Sh::ROL) {
    unsigned k = n & (B - 1);
    r = k ? T((x << k) | (x >> (B - k))) : a;
    cf = r & 1;
    of = ((x >> (B - 1)) ^ (x >> (B - 2))) & 1;
  } else if constexpr (OP == Sh::ROR) {
    unsigned k = n & (B - 1);
    r = k ? T((x >> k) | (x << (B - k))) : a;
    cf = msb(r);
    of = ((x >> (B - 1)) ^ x) & 1;
  } else {
    // RCL/RCR rotate through CF: a (B+1)-bit rotation, count mod 9/17 for 8/16 bits;
    // a count that is a multiple of B+1 changes nothing.
    unsigned k = B == 8 ? n % 9 : B == 16 ? n % 17 : n;
    uint64_t cin = get_cf(c);
    cf = cin;
    of = lazy::of(c.lf);
    if (k == 0) return a;
    if constexpr (OP == Sh::RCL) {
      r = T((x << k) | (cin << (k - 1)) | (k > 1 ? x >> (B + 1 - k) : 0));
      cf = (x >> (B - k)) & 1;
      of = ((x >> (B - 1)) ^ (x >> (B - 2))) & 1;
    } else {
      r = T((x >> k) | (cin << (B - k)) | (k > 1 ? x << (B + 1 - k) : 0));
      cf = (x >> (k - 1)) & 1;
      of = ((x >> (B - 1)) ^ cin) & 1;
    }
  }
  return r;
}

template <Sh OP, Cnt CNT>
struct Shift {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    unsigned n = CNT == Cnt::ONE ? 1 : CNT == Cnt::CL ? c.reg<uint8_t>(RCX) : unsigned(d.imm);
    n &= kCountMask<T>;
    RmwE<T, M> e(c, d);
    if (n == 0) {
      if constexpr (!M) e.store(c, d, e.val);  // a 32-bit register is still zero-extended
      return;
    }
    bool cf, of;
    T r = shift<OP, T>(c, e.val, n, cf, of);
    e.store(c, d, r);
    if constexpr (OP == Sh::SHL || OP == Sh::SHR || OP == Sh::SAR) set_result_cf_of<T>(c, r, cf, of);
    else set_cf_of(c, cf, of);
  }
};

// SHLD/SHRD: shift E, filling from G. A count above the operand size (16-bit only)
// leaves result and flags undefined.
template <bool LEFT, Cnt CNT>
struct ShiftD {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    constexpr unsigned B = kBits<T>;
    unsigned n = (CNT == Cnt::CL ? c.reg<uint8_t>(RCX) : unsigned(d.imm)) & kCountMask<T>;
    RmwE<T, M> e(c, d);
    if (n == 0) {
      if constexpr (!M) e.store(c, d, e.val);
      return;
    }
    uint64_t a = e.val, b = c.reg<T>(d.reg);
    T r;
    bool cf;
    if constexpr (B == 16) {
      // Shift the 48-bit pattern a:b:a, which is exact for n <= 16 and matches
      // hardware for the undefined counts 17..31.
      uint64_t pat = (a << 32) | (b << 16) | a;
      if (LEFT) {
        r = T(pat >> (32 - n));
        cf = (pat >> (48 - n)) & 1;
      } else {
        r = T(pat >> n);
        cf = (pat >> (n - 1)) & 1;
      }
    } else if constexpr (LEFT) {
      r = T((a << n) | (b >> (B - n)));
      cf = (a >> (B - n)) & 1;
    } else {
      r = T((a >> n) | (b << (B - n)));
      cf = (a >> (n - 1)) & 1;
    }
    e.store(c, d, r);
    // OF as for a one-bit shift: SHLD msb(a) ^ bit B-2 of a, SHRD msb(a) ^ lsb(b).
    bool of = LEFT ? ((a >> (B - 1)) ^ (a >> (B - 2))) & 1 : ((a >> (B - 1)) ^ b) & 1;
    set_result_cf_of<T>(c, r, cf, of);
  }
};

// BMI2: dest = E shifted by the count in the VEX.vvvv register; no flags.
template <Sh OP>
struct ShiftX {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    T a = read_e<T, M>(c, d);
    unsigned n = unsigned(c.reg<T>(d.vvvv)) & kCountMask<T>;
    T r;
    if constexpr (OP == Sh::SHL) r = T(a << n);
    else if constexpr (OP == Sh::SHR) r = T(a >> n);
    else r = T(Signed<T>(a) >> n);
    c.set_reg<T>(d.reg, r);
  }
};
struct Rorx {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    T a = read_e<T, M>(c, d);
    unsigned k = unsigned(d.imm) & (kBits<T> - 1);
    c.set_reg<T>(d.reg, k ? T((a >> k) | (a << (kBits<T> - k))) : a);
  }
};

template <Sh OP>
void bind_group(HandlerTable& t, Form eb1, Form ev1, Form ebcl, Form evcl, Form ebib, Form evib) {
  bind_b<Shift<OP, Cnt::ONE>>(t, eb1);
  bind_v<Shift<OP, Cnt::ONE>>(t, ev1);
  bind_b<Shift<OP, Cnt::CL>>(t, ebcl);
  bind_v<Shift<OP, Cnt::CL>>(t, evcl);
  bind_b<Shift<OP, Cnt::IMM>>(t, ebib);
  bind_v<Shift<OP, Cnt::IMM>>(t, evib);
}

}  // namespace

void register_shift(HandlerTable& t) {
#define NS_SHIFT(op, OP)                                                                   \
  bind_group<Sh::OP>(t, Form::op##_eb_1, Form::op##_ev_1, Form::op##_eb_cl, Form::op##_ev_cl, \
                     Form::op##_eb_ib, Form::op##_ev_ib)
  NS_SHIFT(rol, ROL);
  NS_SHIFT(ror, ROR);
  NS_SHIFT(rcl, RCL);
  NS_SHIFT(rcr, RCR);
  NS_SHIFT(shl, SHL);
  NS_SHIFT(shl6, SHL);
  NS_SHIFT(shr, SHR);
  NS_SHIFT(sar, SAR);
#undef NS_SHIFT
  bind_v<ShiftD<true, Cnt::IMM>>(t, Form::shld_ev_gv_ib);
  bind_v<ShiftD<true, Cnt::CL>>(t, Form::shld_ev_gv_cl);
  bind_v<ShiftD<false, Cnt::IMM>>(t, Form::shrd_ev_gv_ib);
  bind_v<ShiftD<false, Cnt::CL>>(t, Form::shrd_ev_gv_cl);
  bind_v<ShiftX<Sh::SHL>>(t, Form::shlx_gy_ey_by);
  bind_v<ShiftX<Sh::SHR>>(t, Form::shrx_gy_ey_by);
  bind_v<ShiftX<Sh::SAR>>(t, Form::sarx_gy_ey_by);
  bind_v<Rorx>(t, Form::rorx_gy_ey_ib);
}

}  // namespace isa::exec
