// x87 framework (exception signalling, stack faults, FOP/FDP) and the data-movement
// forms: FLD/FILD/FBLD and constants, FST/FSTP/FIST/FISTP/FISTTP/FBSTP.
// Arithmetic and comparisons: exec_x87_arith.cpp; transcendental, control and
// environment forms: exec_x87_misc.cpp. SDM Vol. 1 chapter 8, Vol. 2 instruction pages.
#include <cstring>

#include "isa/bind.h"
#include "isa/x87.h"
#include "isa/x87_host.h"

namespace isa::x87 {

bool real_or_v86(const Cpu& c) { return !(c.cr0 & 1) || (c.rflags & FLAG_VM); }

namespace {

// ModRM byte of a memory operand, rebuilt from the decoded fields for FOP (the
// decoder does not keep the byte). Exact except for a zero displacement encoded with
// mod=01 (rare, and FOP is only written on unmasked exceptions).
uint8_t modrm_mem(const DecodedInst& d, bool long_mode) {
  unsigned reg = unsigned(d.info().reg) & 7;
  unsigned mod, rm;
  if (d.asize == 2) {
    static const uint8_t kBaseIndex[8][2] = {{RBX, RSI}, {RBX, RDI}, {RBP, RSI}, {RBP, RDI},
                                             {RSI, kRegZero}, {RDI, kRegZero}, {RBP, kRegZero},
                                             {RBX, kRegZero}};
    rm = 6;
    for (unsigned i = 0; i < 8; i++)
      if (kBaseIndex[i][0] == d.base && kBaseIndex[i][1] == d.index) rm = i;
    if (d.base == kRegZero) return uint8_t((reg << 3) | 6);  // disp16
    mod = d.disp == 0 && rm != 6 ? 0 : (d.disp >= -128 && d.disp <= 127) ? 1 : 2;
    return uint8_t((mod << 6) | (reg << 3) | rm);
  }
  if (d.base == kRegRip) return uint8_t((reg << 3) | 5);
  if (d.base == kRegZero) {
    // No base: disp32 through SIB (64-bit mode, or with an index), else mod=00 rm=101.
    bool sib = d.index != kRegZero || long_mode;
    return uint8_t((reg << 3) | (sib ? 4 : 5));
  }
  rm = (d.index != kRegZero || (d.base & 7) == RSP) ? 4 : (d.base & 7);
  mod = (d.disp == 0 && (d.base & 7) != RBP) ? 0 : (d.disp >= -128 && d.disp <= 127) ? 1 : 2;
  return uint8_t((mod << 6) | (reg << 3) | rm);
}

uint16_t fop_of(const Cpu& c, const DecodedInst& d) {
  const FormInfo& f = d.info();
  uint8_t modrm;
  if (d.is_mem()) {
    modrm = modrm_mem(d, c.code_size == CodeSize::k64);
  } else {
    unsigned rm = f.rm >= 0 ? unsigned(f.rm) : (d.rm & 7);
    modrm = uint8_t(0xC0 | ((unsigned(f.reg) & 7) << 3) | rm);
  }
  return uint16_t(((f.opcode & 7) << 8) | modrm);
}

}  // namespace

bool blocked(const X87State& s, uint16_t e, uint16_t extra) {
  return e & ~s.fcw & (SW_IE | SW_DE | SW_ZE | extra) & SW_EXC;
}

void record(Cpu& c, const DecodedInst& d, uint16_t e) {
  X87State& s = c.x87;
  s.fip = fip_of(c, d);
  e &= SW_EXC | SW_SF;
  s.fsw |= e;
  if (e & ~s.fcw & SW_EXC) {
    // An unmasked exception: ES/B, and the opcode and operand pointers the handler
    // reads (FDP_EXCPTN_ONLY / FOP compatibility off, see x87.h).
    s.fsw |= SW_ES | SW_B;
    s.fop = fop_of(c, d);
    if (d.is_mem()) {
      uint64_t ea = c.ea(d);
      s.fdp = real_or_v86(c) ? uint32_t(c.seg[d.seg].base + ea) : ea;
    }
  }
}

uint64_t fip_of(Cpu& c, const DecodedInst& d) {
  uint64_t ip = inst_offset(c, d);
  return real_or_v86(c) ? uint32_t(c.seg[CS].base + ip) : ip;
}

bool stack_underflow(Cpu& c, const DecodedInst& d) {
  set_c1(c.x87, false);
  record(c, d, SW_IE | SW_SF);
  return c.x87.fcw & SW_IE;
}

bool stack_overflow(Cpu& c, const DecodedInst& d) {
  set_c1(c.x87, true);
  record(c, d, SW_IE | SW_SF);
  return c.x87.fcw & SW_IE;
}

void load_fcw(X87State& s, uint16_t v) {
  s.fcw = fcw_canonical(v);
  update_es(s);
}

namespace {

// ---- loads -----------------------------------------------------------------------
NS_X87_KERNEL(k_flds, "flds (%[mem])")
NS_X87_KERNEL(k_fldl, "fldl (%[mem])")
NS_X87_KERNEL(k_filds, "filds (%[mem])")
NS_X87_KERNEL(k_fildl, "fildl (%[mem])")
NS_X87_KERNEL(k_fildll, "fildll (%[mem])")
NS_X87_KERNEL(k_fbld, "fbld (%[mem])")
NS_X87_KERNEL(k_fld1, "fld1")
NS_X87_KERNEL(k_fldl2t, "fldl2t")
NS_X87_KERNEL(k_fldl2e, "fldl2e")
NS_X87_KERNEL(k_fldpi, "fldpi")
NS_X87_KERNEL(k_fldlg2, "fldlg2")
NS_X87_KERNEL(k_fldln2, "fldln2")
NS_X87_KERNEL(k_fldz, "fldz")

// Pushes `v` unless the stack is full (SDM Vol. 1 8.5.1.1: masked overflow pushes the
// indefinite, C1=1). C1 is 0 after a successful push.
void push_value(Cpu& c, const DecodedInst& d, const X87Reg& v, uint16_t exc) {
  X87State& s = c.x87;
  if (!empty(s, 7)) {
    if (stack_overflow(c, d)) push(s, kIndefinite);
    return;
  }
  // Only an unmasked invalid stops a load: with an unmasked denormal-operand exception
  // FLD m32fp/m64fp still pushes the value (checked on hardware).
  if (!blocked(s, exc & SW_IE)) push(s, v);
  set_c1(s, false);
  record(c, d, exc);
}

// Binary32/binary64 layout: exponent and fraction widths, exponent bias.
template <unsigned N>
struct FpFormat {
  static constexpr unsigned kFrac = N == 4 ? 23 : 52, kExpBits = N == 4 ? 8 : 11;
  static constexpr unsigned kBias = (1u << (kExpBits - 1)) - 1, kMaxExp = (1u << kExpBits) - 1;
};

// Fast path of FLD m32fp/m64fp: zeros, normals and infinities widen exactly and raise
// nothing (SDM Vol. 1 4.2.2, 4.8.3); denormals and NaNs go to the host.
template <unsigned N>
bool widen_exact(const uint8_t* buf, X87Reg& out) {
  using F = FpFormat<N>;
  uint64_t bits = 0;
  std::memcpy(&bits, buf, N);
  uint16_t sign = uint16_t((bits >> (8 * N - 1)) << 15);
  unsigned exp = unsigned(bits >> F::kFrac) & F::kMaxExp;
  uint64_t frac = bits & ((1ull << F::kFrac) - 1);
  if (exp == 0 && frac == 0) out = X87Reg{0, sign, {}};
  else if (exp == F::kMaxExp && frac == 0) out = X87Reg{1ull << 63, uint16_t(sign | 0x7FFF), {}};
  else if (exp != 0 && exp != F::kMaxExp)
    out = X87Reg{(1ull << 63) | (frac << (63 - F::kFrac)), uint16_t(sign | (exp - F::kBias + 16383)), {}};
  else return false;
  return true;
}

// Fast path of FST m32fp/m64fp: zeros, infinities and normals that the format holds
// exactly narrow without rounding or exceptions (C1=0); the rest goes to the host.
template <unsigned N>
bool narrow_exact(const X87Reg& v, uint8_t* buf) {
  using F = FpFormat<N>;
  uint64_t sign = uint64_t(v.sign_exp >> 15) << (8 * N - 1);
  int exp = v.sign_exp & 0x7FFF;
  uint64_t bits;
  if (exp == 0 && v.significand == 0) {
    bits = sign;
  } else if (exp == 0x7FFF && v.significand == 1ull << 63) {
    bits = sign | uint64_t(F::kMaxExp) << F::kFrac;
  } else {
    int e = exp - 16383 + int(F::kBias);
    uint64_t lost = v.significand & ((1ull << (63 - F::kFrac)) - 1);
    if (!(v.significand >> 63) || e <= 0 || e >= int(F::kMaxExp) || lost) return false;
    bits = sign | uint64_t(e) << F::kFrac | ((v.significand << 1) >> (64 - F::kFrac));
  }
  std::memcpy(buf, &bits, N);
  return true;
}

// FLD m32fp/m64fp, FILD, FBLD: the conversion runs on the host (SNaN -> IE, denormal
// -> DE for the FP formats; integers and BCD convert exactly).
template <HostKernel K, unsigned N, bool Fp = false>
void load_mem(Cpu& c, const DecodedInst& d) {
  checks(c);
  uint8_t buf[16] = {};
  c.read_bytes(d.seg, c.ea(d), buf, N);
  X87State& s = c.x87;
  if (!empty(s, 7)) return push_value(c, d, kIndefinite, 0);
  if constexpr (Fp) {
    X87Reg v;
    if (widen_exact<N>(buf, v)) return push_value(c, d, v, 0);
  }
  HostResult r;
  K(s.fcw, s.fsw, X87Reg{}, X87Reg{}, buf, r);
  push_value(c, d, r.st0, r.sw & SW_EXC);
}

// Constants: rounded by FCW.RC on the host (SDM Vol. 2 "FLD1/FLDL2T/...").
template <HostKernel K>
void load_const(Cpu& c, const DecodedInst& d) {
  checks(c);
  X87State& s = c.x87;
  if (!empty(s, 7)) return push_value(c, d, kIndefinite, 0);
  HostResult r;
  K(s.fcw, s.fsw, X87Reg{}, X87Reg{}, nullptr, r);
  push_value(c, d, r.st0, r.sw & SW_EXC);
}

void fld_m80fp(Cpu& c, const DecodedInst& d) {
  checks(c);
  X87Reg v;
  c.read_bytes(d.seg, c.ea(d), &v, 10);
  push_value(c, d, v, 0);
}

void fld_sti(Cpu& c, const DecodedInst& d) {
  checks(c);
  X87State& s = c.x87;
  unsigned i = d.rm & 7;
  if (empty(s, i)) {
    if (stack_underflow(c, d)) push(s, kIndefinite);
    return;
  }
  push_value(c, d, st(s, i), 0);
}

// ---- stores ----------------------------------------------------------------------
// Writes a store's bytes. The 10-byte formats are written as the hardware does, the
// low 8 bytes then the top 2, so a store crossing into a faulting page leaves the
// first part written (checked on hardware; the x87 state stays unchanged).
void write_operand(Cpu& c, const DecodedInst& d, const void* src, unsigned n) {
  uint64_t ea = c.ea(d);
  if (n != 10) return c.write_bytes(d.seg, ea, src, n);
  c.write_bytes(d.seg, ea, src, 8);
  c.write_bytes(d.seg, ea + 8, static_cast<const uint8_t*>(src) + 8, 2);
}

NS_X87_KERNEL(k_fsts, "fsts (%[mem])")
NS_X87_KERNEL(k_fstl, "fstl (%[mem])")
NS_X87_KERNEL(k_fists, "fists (%[mem])")
NS_X87_KERNEL(k_fistl, "fistl (%[mem])")
NS_X87_KERNEL(k_fistpll, "fistpll (%[mem])")
NS_X87_KERNEL(k_fisttps, "fisttps (%[mem])")
NS_X87_KERNEL(k_fisttpl, "fisttpl (%[mem])")
NS_X87_KERNEL(k_fisttpll, "fisttpll (%[mem])")
NS_X87_KERNEL(k_fbstp, "fbstp (%[mem])")

// Stores ST(0) converted by K into N bytes. An empty ST(0) is a stack underflow whose
// masked response stores the indefinite of the format. With an unmasked invalid,
// overflow or underflow nothing is stored and nothing popped (SDM Vol. 1 8.5.1, 8.5.4,
// 8.5.5); an unmasked precision exception still stores. Memory is written before any
// x87 state changes, so a page fault leaves the state as before.
template <HostKernel K, unsigned N, bool Pop, bool Fp = false>
void store_mem(Cpu& c, const DecodedInst& d) {
  checks(c);
  X87State& s = c.x87;
  uint8_t buf[16] = {};
  HostResult r;
  if (empty(s, 0)) {
    if (!(s.fcw & SW_IE)) {
      c.probe_write(d.seg, c.ea(d), N);  // a fault still takes precedence
      stack_underflow(c, d);
      return;
    }
    K(s.fcw | SW_EXC, s.fsw, kIndefinite, X87Reg{}, buf, r);
    write_operand(c, d, buf, N);
    stack_underflow(c, d);
    if (Pop) pop(s);
    return;
  }
  bool exact = false;
  if constexpr (Fp) exact = narrow_exact<N>(st(s, 0), buf);
  if (exact) r.sw = 0;
  else K(s.fcw, s.fsw, st(s, 0), X87Reg{}, buf, r);
  uint16_t exc = r.sw & SW_EXC;
  if (stopped(c, d, r, SW_OE | SW_UE)) return;
  write_operand(c, d, buf, N);
  set_c1(s, r.sw & SW_C1);
  record(c, d, exc);
  if (Pop) pop(s);
}

template <bool Pop>
void fst_m80fp(Cpu& c, const DecodedInst& d) {
  checks(c);
  X87State& s = c.x87;
  if (empty(s, 0)) {
    if (s.fcw & SW_IE) write_operand(c, d, &kIndefinite, 10);
    else c.probe_write(d.seg, c.ea(d), 10);
    if (stack_underflow(c, d) && Pop) pop(s);
    return;
  }
  write_operand(c, d, &st(s, 0), 10);
  set_c1(s, false);
  record(c, d, 0);
  if (Pop) pop(s);
}

// FST/FSTP ST(i) (and the FSTP1/8/9 aliases): an empty ST(0) stores the indefinite
// when masked, then pops as usual.
// FSTP1 (D9 D8+i, "FSTPNCE"): like FSTP ST(i) but an empty ST(0) is no fault: ST(i)
// is left alone and the stack just pops (checked on hardware).
void fstp1_sti(Cpu& c, const DecodedInst& d) {
  checks(c);
  X87State& s = c.x87;
  unsigned i = d.rm & 7;
  if (!empty(s, 0)) set_st(s, i, st(s, 0));
  set_c1(s, false);
  record(c, d, 0);
  pop(s);
}

template <bool Pop>
void fst_sti(Cpu& c, const DecodedInst& d) {
  checks(c);
  X87State& s = c.x87;
  unsigned i = d.rm & 7;
  if (empty(s, 0)) {
    if (stack_underflow(c, d)) {
      set_st(s, i, kIndefinite);
      if (Pop) pop(s);
    }
    return;
  }
  set_st(s, i, st(s, 0));
  set_c1(s, false);
  record(c, d, 0);
  if (Pop) pop(s);
}

}  // namespace

void register_x87_data(HandlerTable& t) {
  t.set_all(Form::fld_m32fp, &load_mem<k_flds, 4, true>);
  t.set_all(Form::fld_m64fp, &load_mem<k_fldl, 8, true>);
  t.set_all(Form::fild_m16int, &load_mem<k_filds, 2>);
  t.set_all(Form::fild_m32int, &load_mem<k_fildl, 4>);
  t.set_all(Form::fild_m64int, &load_mem<k_fildll, 8>);
  t.set_all(Form::fbld_m80bcd, &load_mem<k_fbld, 10>);
  t.set_all(Form::fld_m80fp, &fld_m80fp);
  t.set_all(Form::fld_sti, &fld_sti);
  t.set_all(Form::fld1, &load_const<k_fld1>);
  t.set_all(Form::fldl2t, &load_const<k_fldl2t>);
  t.set_all(Form::fldl2e, &load_const<k_fldl2e>);
  t.set_all(Form::fldpi, &load_const<k_fldpi>);
  t.set_all(Form::fldlg2, &load_const<k_fldlg2>);
  t.set_all(Form::fldln2, &load_const<k_fldln2>);
  t.set_all(Form::fldz, &load_const<k_fldz>);

  t.set_all(Form::fst_m32fp, &store_mem<k_fsts, 4, false, true>);
  t.set_all(Form::fstp_m32fp, &store_mem<k_fsts, 4, true, true>);
  t.set_all(Form::fst_m64fp, &store_mem<k_fstl, 8, false, true>);
  t.set_all(Form::fstp_m64fp, &store_mem<k_fstl, 8, true, true>);
  t.set_all(Form::fstp_m80fp, &fst_m80fp<true>);
  t.set_all(Form::fist_m16int, &store_mem<k_fists, 2, false>);
  t.set_all(Form::fistp_m16int, &store_mem<k_fists, 2, true>);
  t.set_all(Form::fist_m32int, &store_mem<k_fistl, 4, false>);
  t.set_all(Form::fistp_m32int, &store_mem<k_fistl, 4, true>);
  t.set_all(Form::fistp_m64int, &store_mem<k_fistpll, 8, true>);
  t.set_all(Form::fisttp_m16int, &store_mem<k_fisttps, 2, true>);
  t.set_all(Form::fisttp_m32int, &store_mem<k_fisttpl, 4, true>);
  t.set_all(Form::fisttp_m64int, &store_mem<k_fisttpll, 8, true>);
  t.set_all(Form::fbstp_m80bcd, &store_mem<k_fbstp, 10, true>);

  t.set_all(Form::fst_sti, &fst_sti<false>);
  t.set_all(Form::fstp_sti, &fst_sti<true>);
  t.set_all(Form::fstp1_sti, &fstp1_sti);
  t.set_all(Form::fstp8_sti, &fst_sti<true>);
  t.set_all(Form::fstp9_sti, &fst_sti<true>);
}

}  // namespace isa::x87

namespace isa {

void register_x87_handlers(HandlerTable& t) {
  x87::register_x87_data(t);
  x87::register_x87_arith(t);
  x87::register_x87_misc(t);
  x87::register_xsave(t);
}

}  // namespace isa
