// x87 basic arithmetic (FADD/FSUB/FSUBR/FMUL/FDIV/FDIVR and the P/I forms) and
// comparisons (FCOM/FUCOM/FICOM/FTST and the P/PP forms, FCOMI/FUCOMI and the P forms).
// SDM Vol. 2 instruction pages; Vol. 1 8.3.5 (arithmetic), 8.3.6 (comparison).
#include "isa/x87.h"
#include "isa/x87_host.h"

namespace isa::x87 {
namespace {

// dest = a op b, with a = the destination's old value.
NS_X87_KERNEL(k_fadd, "fadd %%st(1), %%st")
NS_X87_KERNEL(k_fmul, "fmul %%st(1), %%st")
NS_X87_KERNEL(k_fsub, "fsub %%st(1), %%st")
NS_X87_KERNEL(k_fsubr, "fsubr %%st(1), %%st")
NS_X87_KERNEL(k_fdiv, "fdiv %%st(1), %%st")
NS_X87_KERNEL(k_fdivr, "fdivr %%st(1), %%st")
#define NS_X87_MEM_KERNELS(op)                        \
  NS_X87_KERNEL(k_##op##s, #op "s (%[mem])")          \
  NS_X87_KERNEL(k_##op##l, #op "l (%[mem])")          \
  NS_X87_KERNEL(k_i##op##s, "fi" #op "s (%[mem])")    \
  NS_X87_KERNEL(k_i##op##l, "fi" #op "l (%[mem])")
#define NS_X87_MEM_KERNELS_F(op)                      \
  NS_X87_KERNEL(k_f##op##s, "f" #op "s (%[mem])")     \
  NS_X87_KERNEL(k_f##op##l, "f" #op "l (%[mem])")     \
  NS_X87_KERNEL(k_fi##op##s, "fi" #op "s (%[mem])")   \
  NS_X87_KERNEL(k_fi##op##l, "fi" #op "l (%[mem])")
NS_X87_MEM_KERNELS_F(add)
NS_X87_MEM_KERNELS_F(mul)
NS_X87_MEM_KERNELS_F(sub)
NS_X87_MEM_KERNELS_F(subr)
NS_X87_MEM_KERNELS_F(div)
NS_X87_MEM_KERNELS_F(divr)
NS_X87_MEM_KERNELS_F(com)
#undef NS_X87_MEM_KERNELS
#undef NS_X87_MEM_KERNELS_F
NS_X87_KERNEL(k_fcom, "fcom %%st(1)")
NS_X87_KERNEL(k_fucom, "fucom %%st(1)")
NS_X87_KERNEL(k_ftst, "ftst")

// Commits an arithmetic result to ST(dst): unless an unmasked invalid, denormal or
// divide-by-zero stopped it, the destination takes the host result (for unmasked
// overflow/underflow the host already applied the 2^24576 bias adjustment, SDM Vol. 1
// 8.5.4/8.5.5) and C1 the rounded-up indication; C0, C2, C3 are undefined and, as on
// hardware, unchanged.
void commit(Cpu& c, const DecodedInst& d, const HostResult& r, unsigned dst, bool pop_after) {
  X87State& s = c.x87;
  uint16_t exc = r.sw & SW_EXC;
  if (stopped(c, d, r)) return;
  set_st(s, dst, r.st0);
  set_c1(s, r.sw & SW_C1);
  record(c, d, exc);
  if (pop_after) pop(s);
}

// FOP ST(0), ST(i) (ToSti=false) and FOP ST(i), ST(0) / FOPP ST(i), ST(0) (ToSti=true).
template <HostKernel K, bool ToSti, bool Pop>
void arith_reg(Cpu& c, const DecodedInst& d) {
  checks(c);
  X87State& s = c.x87;
  unsigned i = d.rm & 7;
  unsigned dst = ToSti ? i : 0, src = ToSti ? 0 : i;
  if (empty(s, 0) || empty(s, i)) {
    if (stack_underflow(c, d)) {
      set_st(s, dst, kIndefinite);
      if (Pop) pop(s);
    }
    return;
  }
  HostResult r;
  K(s.fcw, s.fsw, st(s, dst), st(s, src), nullptr, r);
  commit(c, d, r, dst, Pop);
}

// FOP m32fp/m64fp, FIOP m16int/m32int: ST(0) = ST(0) op mem. The host instruction takes
// the memory operand itself, so SNaN and denormal operands of the narrow formats raise
// IE and DE exactly as on hardware.
template <HostKernel K, unsigned N>
void arith_mem(Cpu& c, const DecodedInst& d) {
  checks(c);
  uint8_t buf[16] = {};
  c.read_bytes(d.seg, c.ea(d), buf, N);
  X87State& s = c.x87;
  if (empty(s, 0)) {
    if (stack_underflow(c, d)) set_st(s, 0, kIndefinite);
    return;
  }
  HostResult r;
  K(s.fcw, s.fsw, st(s, 0), X87Reg{}, buf, r);
  commit(c, d, r, 0, false);
}

// ---- comparisons ----------------------------------------------------------------
enum CmpOut { kCC, kEflags };

// Writes the comparison result: C3 C2 C0 (C1=0), or for FCOMI/FUCOMI ZF PF CF from the
// same bits with OF SF AF cleared and C1 left alone (SDM Vol. 2 "FCOMI"; C1 checked on
// hardware), then pops `pops` times.
void compare_result(Cpu& c, uint16_t cc, CmpOut out, unsigned pops) {
  X87State& s = c.x87;
  if (out == kCC) {
    set_cc(s, SW_C0 | SW_C1 | SW_C2 | SW_C3, uint16_t(cc & ~SW_C1));
  } else {
    uint64_t f = c.get_rflags() & ~uint64_t(FLAG_OF | FLAG_SF | FLAG_AF | FLAG_ZF | FLAG_PF | FLAG_CF);
    if (cc & SW_C3) f |= FLAG_ZF;
    if (cc & SW_C2) f |= FLAG_PF;
    if (cc & SW_C0) f |= FLAG_CF;
    c.set_rflags(f);
  }
  for (unsigned k = 0; k < pops; k++) pop(s);
}

// Result of a host comparison. An unmasked invalid or denormal stops the pops, but the
// host still reports its condition codes ("unordered" for an invalid operand), which
// are written as well (checked on hardware).
void compare_finish(Cpu& c, const DecodedInst& d, const HostResult& r, CmpOut out, unsigned pops) {
  uint16_t exc = r.sw & SW_EXC;
  bool stop = blocked(c.x87, exc);
  record(c, d, exc);
  compare_result(c, r.sw, out, stop ? 0 : pops);
}

// Register comparisons of ST(0) with ST(i) (FCOMPP/FUCOMPP: ST(1)). An empty operand
// is a stack underflow: the result is "unordered" (SDM Vol. 1 8.5.1.1), written even
// when IE is unmasked, which only suppresses the pops (checked on hardware).
template <HostKernel K, CmpOut Out, unsigned Pops, int FixedI>
void compare_reg(Cpu& c, const DecodedInst& d) {
  checks(c);
  X87State& s = c.x87;
  unsigned i = FixedI >= 0 ? unsigned(FixedI) : (d.rm & 7);
  if (empty(s, 0) || empty(s, i)) {
    bool masked = stack_underflow(c, d);
    compare_result(c, SW_C0 | SW_C2 | SW_C3, Out, masked ? Pops : 0);
    return;
  }
  HostResult r;
  K(s.fcw, s.fsw, st(s, 0), st(s, i), nullptr, r);
  compare_finish(c, d, r, Out, Pops);
}

// FCOM/FCOMP m32fp/m64fp, FICOM/FICOMP m16int/m32int, FTST (N=0: compare with 0.0).
template <HostKernel K, unsigned N, unsigned Pops>
void compare_mem(Cpu& c, const DecodedInst& d) {
  checks(c);
  uint8_t buf[16] = {};
  if (N) c.read_bytes(d.seg, c.ea(d), buf, N);
  X87State& s = c.x87;
  if (empty(s, 0)) {
    bool masked = stack_underflow(c, d);
    compare_result(c, SW_C0 | SW_C2 | SW_C3, kCC, masked ? Pops : 0);
    return;
  }
  HostResult r;
  K(s.fcw, s.fsw, st(s, 0), X87Reg{}, buf, r);
  compare_finish(c, d, r, kCC, Pops);
}

}  // namespace

void register_x87_arith(HandlerTable& t) {
#define NS_ARITH(op, kreg)                                                      \
  t.set_all(Form::op##_m32fp, &arith_mem<k_##op##s, 4>);                        \
  t.set_all(Form::op##_m64fp, &arith_mem<k_##op##l, 8>);                        \
  t.set_all(Form::op##_st0_sti, &arith_reg<kreg, false, false>);                \
  t.set_all(Form::op##_sti_st0, &arith_reg<kreg, true, false>);                 \
  t.set_all(Form::op##p_sti_st0, &arith_reg<kreg, true, true>)
#define NS_IARITH(op, iop)                                                      \
  t.set_all(Form::iop##_m16int, &arith_mem<k_##iop##s, 2>);                     \
  t.set_all(Form::iop##_m32int, &arith_mem<k_##iop##l, 4>)
  NS_ARITH(fadd, k_fadd);
  NS_ARITH(fmul, k_fmul);
  NS_ARITH(fsub, k_fsub);
  NS_ARITH(fsubr, k_fsubr);
  NS_ARITH(fdiv, k_fdiv);
  NS_ARITH(fdivr, k_fdivr);
  NS_IARITH(fadd, fiadd);
  NS_IARITH(fmul, fimul);
  NS_IARITH(fsub, fisub);
  NS_IARITH(fsubr, fisubr);
  NS_IARITH(fdiv, fidiv);
  NS_IARITH(fdivr, fidivr);
#undef NS_ARITH
#undef NS_IARITH

  t.set_all(Form::fcom_m32fp, &compare_mem<k_fcoms, 4, 0>);
  t.set_all(Form::fcomp_m32fp, &compare_mem<k_fcoms, 4, 1>);
  t.set_all(Form::fcom_m64fp, &compare_mem<k_fcoml, 8, 0>);
  t.set_all(Form::fcomp_m64fp, &compare_mem<k_fcoml, 8, 1>);
  t.set_all(Form::ficom_m16int, &compare_mem<k_ficoms, 2, 0>);
  t.set_all(Form::ficomp_m16int, &compare_mem<k_ficoms, 2, 1>);
  t.set_all(Form::ficom_m32int, &compare_mem<k_ficoml, 4, 0>);
  t.set_all(Form::ficomp_m32int, &compare_mem<k_ficoml, 4, 1>);
  t.set_all(Form::ftst, &compare_mem<k_ftst, 0, 0>);

  t.set_all(Form::fcom_sti, &compare_reg<k_fcom, kCC, 0, -1>);
  t.set_all(Form::fcom2_sti, &compare_reg<k_fcom, kCC, 0, -1>);
  t.set_all(Form::fcomp_sti, &compare_reg<k_fcom, kCC, 1, -1>);
  t.set_all(Form::fcomp3_sti, &compare_reg<k_fcom, kCC, 1, -1>);
  t.set_all(Form::fcomp5_sti, &compare_reg<k_fcom, kCC, 1, -1>);
  t.set_all(Form::fcompp, &compare_reg<k_fcom, kCC, 2, 1>);
  t.set_all(Form::fucom_sti, &compare_reg<k_fucom, kCC, 0, -1>);
  t.set_all(Form::fucomp_sti, &compare_reg<k_fucom, kCC, 1, -1>);
  t.set_all(Form::fucompp, &compare_reg<k_fucom, kCC, 2, 1>);
  t.set_all(Form::fcomi_st0_sti, &compare_reg<k_fcom, kEflags, 0, -1>);
  t.set_all(Form::fcomip_st0_sti, &compare_reg<k_fcom, kEflags, 1, -1>);
  t.set_all(Form::fucomi_st0_sti, &compare_reg<k_fucom, kEflags, 0, -1>);
  t.set_all(Form::fucomip_st0_sti, &compare_reg<k_fucom, kEflags, 1, -1>);
}

}  // namespace isa::x87
