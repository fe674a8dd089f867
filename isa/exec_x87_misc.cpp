// x87 transcendental and miscellaneous arithmetic (FSQRT, FRNDINT, FSCALE, FPREM/FPREM1,
// FXTRACT, F2XM1, FYL2X, FYL2XP1, FSIN, FCOS, FSINCOS, FPTAN, FPATAN), register and
// stack manipulation (FXCH, FCMOVcc, FCHS, FABS, FXAM, FFREE, FFREEP, FDECSTP,
// FINCSTP, FNOP) and the control/environment forms (FLDCW, FNSTCW, FNSTSW, FNCLEX,
// FNINIT, FLDENV, FNSTENV, FRSTOR, FNSAVE, FWAIT). SDM Vol. 1 8.1.10, 8.3; Vol. 2.
#include <cstring>

#include "isa/x87.h"
#include "isa/x87_host.h"

namespace isa::x87 {
namespace {

NS_X87_KERNEL(k_fsqrt, "fsqrt")
NS_X87_KERNEL(k_frndint, "frndint")
NS_X87_KERNEL(k_f2xm1, "f2xm1")
NS_X87_KERNEL(k_fsin, "fsin")
NS_X87_KERNEL(k_fcos, "fcos")
NS_X87_KERNEL(k_fscale, "fscale")
NS_X87_KERNEL_CC(k_fprem, "fprem")
NS_X87_KERNEL_CC(k_fprem1, "fprem1")
NS_X87_KERNEL(k_fptan, "fptan")
NS_X87_KERNEL(k_fsincos, "fsincos")
NS_X87_KERNEL(k_fxtract, "fxtract")
NS_X87_KERNEL(k_fpatan, "fpatan")
NS_X87_KERNEL(k_fyl2x, "fyl2x")
NS_X87_KERNEL(k_fyl2xp1, "fyl2xp1")

// ---- operations on ST(0) (and ST(1)) in place ---------------------------------------
// CC: the condition-code bits the instruction defines besides C1 (FPREM: C0 C2 C3 =
// Q2, incomplete, Q0 and C1 = Q1; FSIN/FCOS: C2 = operand out of range, in which case
// the host leaves ST(0) unchanged). Other condition codes are left unchanged.
template <HostKernel K, bool TwoOps, uint16_t CC>
void unary(Cpu& c, const DecodedInst& d) {
  checks(c);
  X87State& s = c.x87;
  if (empty(s, 0) || (TwoOps && empty(s, 1))) {
    set_cc(s, CC & SW_C2, 0);  // a stack fault clears C2 (and C1); C0/C3 stay (hardware)
    if (stack_underflow(c, d)) set_st(s, 0, kIndefinite);
    return;
  }
  HostResult r;
  K(s.fcw, s.fsw, st(s, 0), st(s, 1), nullptr, r);
  uint16_t exc = r.sw & SW_EXC;
  if (stopped(c, d, r, 0, SW_C1 | CC)) return;
  set_st(s, 0, r.st0);
  set_cc(s, SW_C1 | CC, r.sw);
  record(c, d, exc);
}

// FPTAN, FSINCOS, FXTRACT: ST(0) <- first result, then push the second. A stack fault
// (empty ST(0): C1=0; full ST(7): C1=1) with IE masked leaves the indefinite in both
// (checked on hardware). FPTAN/FSINCOS with |x| >= 2^63 set C2 and do nothing else.
template <HostKernel K, uint16_t CC>
void unary_push(Cpu& c, const DecodedInst& d) {
  checks(c);
  X87State& s = c.x87;
  bool under = empty(s, 0);
  if (under || !empty(s, 7)) {
    set_cc(s, CC & SW_C2, 0);
    bool masked = under ? stack_underflow(c, d) : stack_overflow(c, d);
    if (masked) {
      set_st(s, 0, kIndefinite);
      push(s, kIndefinite);
    }
    return;
  }
  HostResult r;
  K(s.fcw, s.fsw, st(s, 0), X87Reg{}, nullptr, r);
  uint16_t exc = r.sw & SW_EXC;
  if (stopped(c, d, r, 0, SW_C1 | CC)) return;
  set_cc(s, SW_C1 | CC, r.sw);
  if (!(CC & SW_C2) || !(r.sw & SW_C2)) {  // FPTAN/FSINCOS out of range: no push
    set_st(s, 0, r.st1);
    push(s, r.st0);
  }
  record(c, d, exc);
}

// FPATAN, FYL2X, FYL2XP1: ST(1) <- f(ST(1), ST(0)), then pop.
template <HostKernel K>
void binary_pop(Cpu& c, const DecodedInst& d) {
  checks(c);
  X87State& s = c.x87;
  if (empty(s, 0) || empty(s, 1)) {
    if (stack_underflow(c, d)) {
      set_st(s, 1, kIndefinite);
      pop(s);
    }
    return;
  }
  HostResult r;
  K(s.fcw, s.fsw, st(s, 0), st(s, 1), nullptr, r);
  uint16_t exc = r.sw & SW_EXC;
  if (stopped(c, d, r)) return;
  set_st(s, 1, r.st0);
  set_c1(s, r.sw & SW_C1);
  record(c, d, exc);
  pop(s);
}

// FCHS, FABS: sign manipulation only, no exceptions besides the stack (C1=0).
template <bool Abs>
void sign_op(Cpu& c, const DecodedInst& d) {
  checks(c);
  X87State& s = c.x87;
  if (empty(s, 0)) {
    if (stack_underflow(c, d)) set_st(s, 0, kIndefinite);
    return;
  }
  X87Reg v = st(s, 0);
  v.sign_exp = uint16_t(Abs ? v.sign_exp & 0x7FFF : v.sign_exp ^ 0x8000);
  set_st(s, 0, v);
  set_c1(s, false);
  record(c, d, 0);
}

// FXAM (SDM Vol. 2 "FXAM"): C3 C2 C0 = class, C1 = sign, for an empty ST(0) too.
void fxam(Cpu& c, const DecodedInst& d) {
  checks(c);
  X87State& s = c.x87;
  const X87Reg& v = st(s, 0);
  unsigned exp = v.sign_exp & 0x7FFF;
  bool j = v.significand >> 63;
  uint16_t cls;
  if (empty(s, 0)) cls = SW_C3 | SW_C0;
  else if (exp == 0) cls = v.significand == 0 ? SW_C3 : SW_C3 | SW_C2;  // zero / denormal
  else if (!j) cls = 0;                                                // unsupported
  else if (exp == 0x7FFF) cls = (v.significand << 1) == 0 ? SW_C2 | SW_C0 : SW_C0;  // inf / NaN
  else cls = SW_C2;                                                    // normal
  set_cc(s, SW_CC, uint16_t(cls | ((v.sign_exp & 0x8000) ? SW_C1 : 0)));
  record(c, d, 0);
}

// FXCH ST(i) (and the FXCH4/FXCH7 aliases): a masked underflow first fills the empty
// operand(s) with the indefinite, then exchanges (checked on hardware).
void fxch(Cpu& c, const DecodedInst& d) {
  checks(c);
  X87State& s = c.x87;
  unsigned i = d.rm & 7;
  if (empty(s, 0) || empty(s, i)) {
    if (!stack_underflow(c, d)) return;
    if (empty(s, 0)) set_st(s, 0, kIndefinite);
    if (empty(s, i)) set_st(s, i, kIndefinite);
  } else {
    set_c1(s, false);
    record(c, d, 0);
  }
  X87Reg a = st(s, 0), b = st(s, i);
  set_st(s, 0, b);
  set_st(s, i, a);
}

// FCMOVcc ST(0), ST(i): conditions on CF/ZF/PF (SDM Vol. 2 "FCMOVcc"). A masked
// underflow loads the indefinite whatever the condition (checked on hardware).
template <unsigned Cond, bool Negate>
void fcmov(Cpu& c, const DecodedInst& d) {
  checks(c);
  X87State& s = c.x87;
  unsigned i = d.rm & 7;
  if (empty(s, 0) || empty(s, i)) {
    if (stack_underflow(c, d)) set_st(s, 0, kIndefinite);
    return;
  }
  uint64_t f = c.get_rflags();
  bool cond = f & Cond;
  if (Negate) cond = !cond;
  if (cond) set_st(s, 0, st(s, i));
  record(c, d, 0);
}

template <bool Pop>
void ffree(Cpu& c, const DecodedInst& d) {
  checks(c);
  free_st(c.x87, d.rm & 7);
  set_c1(c.x87, false);  // C1 is undefined in the SDM; hardware clears it
  record(c, d, 0);
  if (Pop) pop(c.x87);
}

template <int Delta>
void fstp_move(Cpu& c, const DecodedInst& d) {  // FINCSTP / FDECSTP: TOP only, C1=0
  checks(c);
  set_top(c.x87, top(c.x87) + unsigned(Delta));
  set_c1(c.x87, false);
  record(c, d, 0);
}

void fnop(Cpu& c, const DecodedInst& d) {
  checks(c);
  record(c, d, 0);
}

// ---- control (no FIP update; the FN forms do not check for pending exceptions) ----
// FNENI/FNDISI (8087) and FNSETPM (287) do nothing on later processors.
void fn_nop(Cpu& c, const DecodedInst&) { check_nm(c); }

void fnclex(Cpu& c, const DecodedInst&) {
  check_nm(c);
  c.x87.fsw &= uint16_t(~(SW_EXC | SW_SF | SW_ES | SW_B));
}

void fninit(Cpu& c, const DecodedInst&) {
  check_nm(c);
  init(c.x87);
}

void fnstcw(Cpu& c, const DecodedInst& d) {
  check_nm(c);
  c.write<uint16_t>(d.seg, c.ea(d), c.x87.fcw);
}

void fnstsw_m(Cpu& c, const DecodedInst& d) {
  check_nm(c);
  c.write<uint16_t>(d.seg, c.ea(d), c.x87.fsw);
}

void fnstsw_ax(Cpu& c, const DecodedInst&) {
  check_nm(c);
  c.set_reg<uint16_t>(RAX, c.x87.fsw);
}

void fldcw(Cpu& c, const DecodedInst& d) {
  checks(c);
  uint16_t v = c.read<uint16_t>(d.seg, c.ea(d));
  load_fcw(c.x87, v);
}

// WAIT/FWAIT: #NM only when CR0.MP and CR0.TS are both set (SDM Vol. 3A Table 2-2).
void fwait(Cpu& c, const DecodedInst&) {
  if ((c.cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS)) raise_fault(VEC_NM);
  check_mf(c);
}

// ---- environment images (SDM Vol. 1 8.1.10, Figures 8-9 to 8-12) ---------------------
// The layout follows the operand size (16-bit: the 14-byte one, in every mode)
// and, for FIP/FDP/FOP, whether the processor is in real/virtual-8086 mode.
// (REX.W overrides 66h, as for any operand size: the decoder's osize says it all.)
bool env16(const Cpu&, const DecodedInst& d) { return d.osize == 2; }

void put16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }
void put32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
uint16_t get16(const uint8_t* p) { uint16_t v; std::memcpy(&v, p, 2); return v; }
uint32_t get32(const uint8_t* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }

unsigned store_env(const Cpu& c, bool o16, uint8_t* b) {
  const X87State& s = c.x87;
  bool real = real_or_v86(c);
  uint32_t fip = uint32_t(s.fip), fdp = uint32_t(s.fdp);
  if (o16) {
    put16(b + 0, s.fcw);
    put16(b + 2, s.fsw);
    put16(b + 4, full_tag(s));
    put16(b + 6, uint16_t(fip));
    put16(b + 8, real ? uint16_t((s.fop & 0x7FF) | ((fip >> 16) & 0xF) << 12) : s.fcs);
    put16(b + 10, uint16_t(fdp));
    put16(b + 12, real ? uint16_t(((fdp >> 16) & 0xF) << 12) : s.fds);
    return 14;
  }
  put32(b + 0, 0xFFFF0000u | s.fcw);
  put32(b + 4, 0xFFFF0000u | s.fsw);
  put32(b + 8, 0xFFFF0000u | full_tag(s));
  if (real) {
    put32(b + 12, 0xFFFF0000u | (fip & 0xFFFF));
    put32(b + 16, (s.fop & 0x7FFu) | (fip >> 16) << 12);
    put32(b + 20, 0xFFFF0000u | (fdp & 0xFFFF));
    put32(b + 24, (fdp >> 16) << 12);
  } else {
    put32(b + 12, fip);
    put32(b + 16, s.fcs | uint32_t(s.fop & 0x7FF) << 16);
    put32(b + 20, fdp);
    put32(b + 24, 0xFFFF0000u | s.fds);
  }
  return 28;
}

// Loads an environment image. The tag word only says which registers are empty; the
// others are re-tagged from their contents. ES/B follow the loaded flags and masks,
// so an unmasked pending exception faults on the next waiting instruction.
unsigned load_env(Cpu& c, bool o16, const uint8_t* b, unsigned* nonempty) {
  X87State& s = c.x87;
  bool real = real_or_v86(c);
  uint16_t ftw;
  if (o16) {
    s.fcw = fcw_canonical(get16(b + 0));
    s.fsw = get16(b + 2);
    ftw = get16(b + 4);
    uint16_t w8 = get16(b + 8), w12 = get16(b + 12);
    s.fip = real ? get16(b + 6) | uint32_t(w8 >> 12) << 16 : get16(b + 6);
    s.fdp = real ? get16(b + 10) | uint32_t(w12 >> 12) << 16 : get16(b + 10);
    s.fop = real ? w8 & 0x7FF : 0;  // the 16-bit protected-mode image has no FOP
  } else {
    s.fcw = fcw_canonical(get16(b + 0));
    s.fsw = get16(b + 4);
    ftw = get16(b + 8);
    uint32_t d16 = get32(b + 16);
    if (real) {
      s.fip = (get32(b + 12) & 0xFFFF) | ((d16 >> 12) & 0xFFFF) << 16;
      s.fop = d16 & 0x7FF;
      s.fdp = (get32(b + 20) & 0xFFFF) | ((get32(b + 24) >> 12) & 0xFFFF) << 16;
    } else {
      s.fip = get32(b + 12);
      s.fop = (d16 >> 16) & 0x7FF;
      s.fdp = get32(b + 20);
    }
  }
  s.fcs = s.fds = 0;  // FCS/FDS deprecated (x87.h)
  unsigned ne = 0;
  for (unsigned p = 0; p < 8; p++) ne |= unsigned(((ftw >> (2 * p)) & 3) != TAG_EMPTY) << p;
  *nonempty = ne;
  update_es(s);
  return o16 ? 14 : 28;
}

void fnstenv(Cpu& c, const DecodedInst& d) {
  check_nm(c);
  uint8_t b[28];
  unsigned n = store_env(c, env16(c, d), b);
  c.write_bytes(d.seg, c.ea(d), b, n);
  // FNSTENV then masks all exceptions (SDM Vol. 2 "FSTENV/FNSTENV").
  c.x87.fcw |= SW_EXC;
  update_es(c.x87);
}

void fldenv(Cpu& c, const DecodedInst& d) {
  checks(c);
  bool o16 = env16(c, d);
  uint8_t b[28];
  c.read_bytes(d.seg, c.ea(d), b, o16 ? 14 : 28);
  unsigned ne;
  load_env(c, o16, b, &ne);
  retag(c.x87, ne);
}

// FNSAVE: environment then ST(0)..ST(7) in stack order, 10 bytes each; then FNINIT.
void fnsave(Cpu& c, const DecodedInst& d) {
  check_nm(c);
  uint8_t b[108];
  unsigned n = store_env(c, env16(c, d), b);
  for (unsigned i = 0; i < 8; i++) std::memcpy(b + n + 10 * i, &st(c.x87, i), 10);
  c.write_bytes(d.seg, c.ea(d), b, n + 80);
  init(c.x87);
}

void frstor(Cpu& c, const DecodedInst& d) {
  checks(c);
  bool o16 = env16(c, d);
  unsigned n = o16 ? 14 : 28;
  uint8_t b[108];
  c.read_bytes(d.seg, c.ea(d), b, n + 80);
  unsigned ne;
  load_env(c, o16, b, &ne);
  X87State& s = c.x87;
  for (unsigned i = 0; i < 8; i++) {
    X87Reg& r = s.st[phys(s, i)];
    std::memcpy(static_cast<void*>(&r), b + n + 10 * i, 10);
  }
  retag(s, ne);
}

}  // namespace

void register_x87_misc(HandlerTable& t) {
  t.set_all(Form::fsqrt, &unary<k_fsqrt, false, 0>);
  t.set_all(Form::frndint, &unary<k_frndint, false, 0>);
  t.set_all(Form::f2xm1, &unary<k_f2xm1, false, 0>);
  t.set_all(Form::fsin, &unary<k_fsin, false, SW_C2>);
  t.set_all(Form::fcos, &unary<k_fcos, false, SW_C2>);
  t.set_all(Form::fscale, &unary<k_fscale, true, 0>);
  t.set_all(Form::fprem, &unary<k_fprem, true, SW_C0 | SW_C2 | SW_C3>);
  t.set_all(Form::fprem1, &unary<k_fprem1, true, SW_C0 | SW_C2 | SW_C3>);
  t.set_all(Form::fptan, &unary_push<k_fptan, SW_C2>);
  t.set_all(Form::fsincos, &unary_push<k_fsincos, SW_C2>);
  t.set_all(Form::fxtract, &unary_push<k_fxtract, 0>);
  t.set_all(Form::fpatan, &binary_pop<k_fpatan>);
  t.set_all(Form::fyl2x, &binary_pop<k_fyl2x>);
  t.set_all(Form::fyl2xp1, &binary_pop<k_fyl2xp1>);

  t.set_all(Form::fchs, &sign_op<false>);
  t.set_all(Form::fabs, &sign_op<true>);
  t.set_all(Form::fxam, &fxam);
  t.set_all(Form::fxch_sti, &fxch);
  t.set_all(Form::fxch4_sti, &fxch);
  t.set_all(Form::fxch7_sti, &fxch);
  t.set_all(Form::fcmovb_st0_sti, &fcmov<FLAG_CF, false>);
  t.set_all(Form::fcmove_st0_sti, &fcmov<FLAG_ZF, false>);
  t.set_all(Form::fcmovbe_st0_sti, &fcmov<FLAG_CF | FLAG_ZF, false>);
  t.set_all(Form::fcmovu_st0_sti, &fcmov<FLAG_PF, false>);
  t.set_all(Form::fcmovnb_st0_sti, &fcmov<FLAG_CF, true>);
  t.set_all(Form::fcmovne_st0_sti, &fcmov<FLAG_ZF, true>);
  t.set_all(Form::fcmovnbe_st0_sti, &fcmov<FLAG_CF | FLAG_ZF, true>);
  t.set_all(Form::fcmovnu_st0_sti, &fcmov<FLAG_PF, true>);
  t.set_all(Form::ffree_sti, &ffree<false>);
  t.set_all(Form::ffreep_sti, &ffree<true>);
  t.set_all(Form::fincstp, &fstp_move<1>);
  t.set_all(Form::fdecstp, &fstp_move<-1>);
  t.set_all(Form::fnop, &fnop);

  t.set_all(Form::fneni, &fn_nop);
  t.set_all(Form::fndisi, &fn_nop);
  t.set_all(Form::fnsetpm, &fn_nop);
  t.set_all(Form::fnclex, &fnclex);
  t.set_all(Form::fninit, &fninit);
  t.set_all(Form::fnstcw_m2byte, &fnstcw);
  t.set_all(Form::fnstsw_m2byte, &fnstsw_m);
  t.set_all(Form::fnstsw_ax, &fnstsw_ax);
  t.set_all(Form::fldcw_m2byte, &fldcw);
  t.set_all(Form::fwait, &fwait);
  t.set_all(Form::fnstenv_m14_28byte, &fnstenv);
  t.set_all(Form::fldenv_m14_28byte, &fldenv);
  t.set_all(Form::fnsave_m94_108byte, &fnsave);
  t.set_all(Form::frstor_m94_108byte, &frstor);
}

}  // namespace isa::x87
