// SSE/SSE2/SSE3/SSE4.1 and AVX floating-point arithmetic, compares and conversions.
// Every operation runs the guest's instruction on the host under the guest MXCSR
// (simd.h, HostFp), so rounding, DAZ/FTZ, NaN propagation (SDM Vol. 1 Table 4-7,
// first source operand wins), default NaN, integer indefinite and flags are the
// hardware's own.
#include <array>
#include <utility>

#include "isa/simd.h"

namespace isa::simd {
namespace {

// ---- host instruction wrappers ---------------------------------------------------------
NS_HOST2(AddPs, "vaddps"); NS_HOST2(AddPd, "vaddpd"); NS_HOST2(AddSs, "vaddss"); NS_HOST2(AddSd, "vaddsd");
NS_HOST2(SubPs, "vsubps"); NS_HOST2(SubPd, "vsubpd"); NS_HOST2(SubSs, "vsubss"); NS_HOST2(SubSd, "vsubsd");
NS_HOST2(MulPs, "vmulps"); NS_HOST2(MulPd, "vmulpd"); NS_HOST2(MulSs, "vmulss"); NS_HOST2(MulSd, "vmulsd");
NS_HOST2(DivPs, "vdivps"); NS_HOST2(DivPd, "vdivpd"); NS_HOST2(DivSs, "vdivss"); NS_HOST2(DivSd, "vdivsd");
NS_HOST2(MinPs, "vminps"); NS_HOST2(MinPd, "vminpd"); NS_HOST2(MinSs, "vminss"); NS_HOST2(MinSd, "vminsd");
NS_HOST2(MaxPs, "vmaxps"); NS_HOST2(MaxPd, "vmaxpd"); NS_HOST2(MaxSs, "vmaxss"); NS_HOST2(MaxSd, "vmaxsd");
NS_HOST2(AddSubPs, "vaddsubps"); NS_HOST2(AddSubPd, "vaddsubpd");
NS_HOST2(HAddPs, "vhaddps"); NS_HOST2(HAddPd, "vhaddpd");
NS_HOST2(HSubPs, "vhsubps"); NS_HOST2(HSubPd, "vhsubpd");
NS_HOST1(SqrtPs, "vsqrtps"); NS_HOST1(SqrtPd, "vsqrtpd");
NS_HOST2(SqrtSs, "vsqrtss"); NS_HOST2(SqrtSd, "vsqrtsd");
NS_HOST1(RcpPs, "vrcpps"); NS_HOST1(RsqrtPs, "vrsqrtps");
NS_HOST2(RcpSs, "vrcpss"); NS_HOST2(RsqrtSs, "vrsqrtss");
NS_HOST1(CvtDq2Ps, "vcvtdq2ps"); NS_HOST1(CvtPs2Dq, "vcvtps2dq"); NS_HOST1(CvttPs2Dq, "vcvttps2dq");
NS_HOST2(CvtSs2Sd, "vcvtss2sd"); NS_HOST2(CvtSd2Ss, "vcvtsd2ss");

// Conversions whose result is twice (Widen) or half (Narrow) the source width. Widen
// reads the low half of `b`; Narrow writes the low half of the result.
#define NS_HOST_WIDEN(NAME, INSN)                                                 \
  struct NAME {                                                                   \
    static __m128 run(__m128, __m128 b) {                                         \
      __m128 r;                                                                   \
      asm volatile(INSN " %[b], %[r]" : [r] "=x"(r) : [b] "x"(b));                \
      return r;                                                                   \
    }                                                                             \
    static __m256 run(__m256, __m256 b) {                                         \
      __m256 r;                                                                   \
      __m128 lo = _mm256_castps256_ps128(b);                                      \
      asm volatile(INSN " %[b], %[r]" : [r] "=x"(r) : [b] "x"(lo));               \
      return r;                                                                   \
    }                                                                             \
  }
#define NS_HOST_NARROW(NAME, INSN)                                                \
  struct NAME {                                                                   \
    static __m128 run(__m128, __m128 b) {                                         \
      __m128 r;                                                                   \
      asm volatile(INSN " %[b], %[r]" : [r] "=x"(r) : [b] "x"(b));                \
      return r;                                                                   \
    }                                                                             \
    static __m256 run(__m256, __m256 b) {                                         \
      __m128 r;                                                                   \
      asm volatile(INSN " %[b], %[r]" : [r] "=x"(r) : [b] "x"(b));                \
      return _mm256_zextps128_ps256(r);                                           \
    }                                                                             \
  }
NS_HOST_WIDEN(CvtPs2Pd, "vcvtps2pd");
NS_HOST_WIDEN(CvtDq2Pd, "vcvtdq2pd");
NS_HOST_WIDEN(CvtPh2Ps, "vcvtph2ps");
NS_HOST_NARROW(CvtPd2Ps, "vcvtpd2ps");
NS_HOST_NARROW(CvtPd2Dq, "vcvtpd2dq");
NS_HOST_NARROW(CvttPd2Dq, "vcvttpd2dq");

// Operations computed element by element that can overflow or underflow: input and
// result element bytes and the number of elements computed (0 = all), for
// fp_flags_per_element. Horizontal and alternating operations (HADD, ADDSUB, DPPS)
// are not listed: their flags under unmasked #O/#U are approximated (every flag the
// masked run raised).
template <class Op> constexpr unsigned kIE = 0;
template <class Op> constexpr unsigned kTE = 0;
template <class Op> constexpr unsigned kTN = 0;
template <class Op> constexpr PeKind kPe = PeKind::kPeKeep;
#define NS_ELEMS(Op, I, T, N, K)               \
  template <> constexpr unsigned kIE<Op> = I; \
  template <> constexpr unsigned kTE<Op> = T; \
  template <> constexpr unsigned kTN<Op> = N; \
  template <> constexpr PeKind kPe<Op> = PeKind::K;
NS_ELEMS(AddPs, 4, 4, 0, kPeAdd) NS_ELEMS(SubPs, 4, 4, 0, kPeAdd) NS_ELEMS(MulPs, 4, 4, 0, kPeMul) NS_ELEMS(DivPs, 4, 4, 0, kPeMul)
NS_ELEMS(AddPd, 8, 8, 0, kPeAdd) NS_ELEMS(SubPd, 8, 8, 0, kPeAdd) NS_ELEMS(MulPd, 8, 8, 0, kPeMul) NS_ELEMS(DivPd, 8, 8, 0, kPeMul)
NS_ELEMS(AddSs, 4, 4, 1, kPeAdd) NS_ELEMS(SubSs, 4, 4, 1, kPeAdd) NS_ELEMS(MulSs, 4, 4, 1, kPeMul) NS_ELEMS(DivSs, 4, 4, 1, kPeMul)
NS_ELEMS(AddSd, 8, 8, 1, kPeAdd) NS_ELEMS(SubSd, 8, 8, 1, kPeAdd) NS_ELEMS(MulSd, 8, 8, 1, kPeMul) NS_ELEMS(DivSd, 8, 8, 1, kPeMul)
NS_ELEMS(CvtSd2Ss, 8, 4, 1, kPeMul) NS_ELEMS(CvtPd2Ps, 8, 4, 0, kPeMul)
#define NS_ELEMS_OF(Op) kIE<Op>, kTE<Op>, kTN<Op>, kPe<Op>

// Instructions with an imm8 operand: one instantiation per immediate value, chosen
// through a table at run time.
#define NS_HOST2I(NAME, INSN)                                                                 \
  template <int I>                                                                            \
  struct NAME {                                                                               \
    static __m128 run(__m128 a, __m128 b) {                                                   \
      __m128 r;                                                                               \
      asm volatile(INSN " %[i], %[b], %[a], %[r]" : [r] "=x"(r) : [a] "x"(a), [b] "x"(b), [i] "i"(I)); \
      return r;                                                                               \
    }                                                                                         \
    static __m256 run(__m256 a, __m256 b) {                                                   \
      __m256 r;                                                                               \
      asm volatile(INSN " %[i], %[b], %[a], %[r]" : [r] "=x"(r) : [a] "x"(a), [b] "x"(b), [i] "i"(I)); \
      return r;                                                                               \
    }                                                                                         \
  }
#define NS_HOST1I(NAME, INSN)                                                                 \
  template <int I>                                                                            \
  struct NAME {                                                                               \
    static __m128 run(__m128, __m128 b) {                                                     \
      __m128 r;                                                                               \
      asm volatile(INSN " %[i], %[b], %[r]" : [r] "=x"(r) : [b] "x"(b), [i] "i"(I));          \
      return r;                                                                               \
    }                                                                                         \
    static __m256 run(__m256, __m256 b) {                                                     \
      __m256 r;                                                                               \
      asm volatile(INSN " %[i], %[b], %[r]" : [r] "=x"(r) : [b] "x"(b), [i] "i"(I));          \
      return r;                                                                               \
    }                                                                                         \
  }
NS_HOST2I(CmpPs, "vcmpps"); NS_HOST2I(CmpPd, "vcmppd");
NS_HOST2I(CmpSs, "vcmpss"); NS_HOST2I(CmpSd, "vcmpsd");
NS_HOST1I(RoundPs, "vroundps"); NS_HOST1I(RoundPd, "vroundpd");
NS_HOST2I(RoundSs, "vroundss"); NS_HOST2I(RoundSd, "vroundsd");
NS_HOST2I(DpPs, "vdpps");
// DPPD exists only at 128 bits.
template <int I>
struct DpPd {
  static __m128 run(__m128 a, __m128 b) {
    __m128 r;
    asm volatile("vdppd %[i], %[b], %[a], %[r]" : [r] "=x"(r) : [a] "x"(a), [b] "x"(b), [i] "i"(I));
    return r;
  }
  static __m256 run(__m256 a, __m256 b) { return _mm256_zextps128_ps256(run(_mm256_castps256_ps128(a), _mm256_castps256_ps128(b))); }
};
// VCVTPS2PH: narrowing with an imm8 rounding control (F16C).
template <int I>
struct CvtPs2Ph {
  static __m128 run(__m128, __m128 b) {
    __m128 r;
    asm volatile("vcvtps2ph %[i], %[b], %[r]" : [r] "=x"(r) : [b] "x"(b), [i] "i"(I));
    return r;
  }
  static __m256 run(__m256, __m256 b) {
    __m128 r;
    asm volatile("vcvtps2ph %[i], %[b], %[r]" : [r] "=x"(r) : [b] "x"(b), [i] "i"(I));
    return _mm256_zextps128_ps256(r);
  }
};

template <template <int> class Op, class V, int... I>
constexpr std::array<V (*)(V, V), sizeof...(I)> imm_table(std::integer_sequence<int, I...>) {
  return {{static_cast<V (*)(V, V)>(&Op<I>::run)...}};
}
// Runs Op<imm % N> at W's width under the guest MXCSR.
template <class W, template <int> class Op, int N>
VecReg host_fp2i(Cpu& c, const VecReg& a, const VecReg& b, unsigned imm) {
  VecReg r;
  if constexpr (W::kBytes == 32) {
    static constexpr auto tab = imm_table<Op, __m256>(std::make_integer_sequence<int, N>{});
    auto fn = tab[imm % N];
    HostFp env(c.mxcsr);
    r = vec(fn(y256(a), y256(b)));
    fp_commit(c, env.done());
  } else {
    static constexpr auto tab = imm_table<Op, __m128>(std::make_integer_sequence<int, N>{});
    auto fn = tab[imm % N];
    HostFp env(c.mxcsr);
    r = vec(fn(x128(a), x128(b)));
    fp_commit(c, env.done());
  }
  return r;
}

// ---- generic shapes ------------------------------------------------------------------------
// Packed: dest = op(src1, src2) over W's width.
template <class W, bool M, class Op>
void fp_packed(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg a = src1<W>(c, d);
  VecReg b = src_w<W, M>(c, d);
  put<W>(c, d.reg, host_fp2<W, Op, NS_ELEMS_OF(Op)>(c, a, b));
}
// Packed with one source (VEX: vvvv unused).
template <class W, bool M, class Op>
void fp_unary(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg b = src_w<W, M>(c, d);
  put<W>(c, d.reg, host_fp2<W, Op>(c, b, b));
}
// Scalar: the low element from op(src1, src2), bits 127:N*8 from src1 (VEX.LIG).
template <class W, bool M, class Op, unsigned N>
void fp_scalar(Cpu& c, const DecodedInst& d) {
  using S = Lig<W>;
  check<S>(c);
  VecReg a = src1<S>(c, d);
  VecReg b = src_wn<S, M, N>(c, d);
  put<S>(c, d.reg, host_fp2<S, Op, NS_ELEMS_OF(Op)>(c, a, b));
}
// Widening conversion: the source is half W's width (a register or memory).
template <class W, bool M, class Op>
void fp_widen(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg b = src_wn<W, M, W::kBytes / 2>(c, d);
  put<W>(c, d.reg, host_fp2<W, Op>(c, b, b));
}
// Narrowing conversion: a full-width source, a 128-bit result whose upper half is
// zero for the 128-bit forms; the VEX.256 form writes an xmm register (upper zeroed).
template <class W, bool M, class Op>
void fp_narrow(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg b = src_w<W, M>(c, d);
  VecReg r = host_fp2<W, Op, NS_ELEMS_OF(Op)>(c, b, b);
  put<Lig<W>>(c, d.reg, r);
}

// ---- arithmetic --------------------------------------------------------------------------------
#define NS_FP_PACKED(name, Op) \
  template <class W, bool M>   \
  void name(Cpu& c, const DecodedInst& d) { fp_packed<W, M, Op>(c, d); }
#define NS_FP_SCALAR(name, Op, N) \
  template <class W, bool M>      \
  void name(Cpu& c, const DecodedInst& d) { fp_scalar<W, M, Op, N>(c, d); }
#define NS_FP_UNARY(name, Op)  \
  template <class W, bool M>   \
  void name(Cpu& c, const DecodedInst& d) { fp_unary<W, M, Op>(c, d); }

NS_FP_PACKED(addps, AddPs) NS_FP_PACKED(addpd, AddPd) NS_FP_SCALAR(addss, AddSs, 4) NS_FP_SCALAR(addsd, AddSd, 8)
NS_FP_PACKED(subps, SubPs) NS_FP_PACKED(subpd, SubPd) NS_FP_SCALAR(subss, SubSs, 4) NS_FP_SCALAR(subsd, SubSd, 8)
NS_FP_PACKED(mulps, MulPs) NS_FP_PACKED(mulpd, MulPd) NS_FP_SCALAR(mulss, MulSs, 4) NS_FP_SCALAR(mulsd, MulSd, 8)
NS_FP_PACKED(divps, DivPs) NS_FP_PACKED(divpd, DivPd) NS_FP_SCALAR(divss, DivSs, 4) NS_FP_SCALAR(divsd, DivSd, 8)
NS_FP_PACKED(minps, MinPs) NS_FP_PACKED(minpd, MinPd) NS_FP_SCALAR(minss, MinSs, 4) NS_FP_SCALAR(minsd, MinSd, 8)
NS_FP_PACKED(maxps, MaxPs) NS_FP_PACKED(maxpd, MaxPd) NS_FP_SCALAR(maxss, MaxSs, 4) NS_FP_SCALAR(maxsd, MaxSd, 8)
NS_FP_PACKED(addsubps, AddSubPs) NS_FP_PACKED(addsubpd, AddSubPd)
NS_FP_PACKED(haddps, HAddPs) NS_FP_PACKED(haddpd, HAddPd) NS_FP_PACKED(hsubps, HSubPs) NS_FP_PACKED(hsubpd, HSubPd)
NS_FP_UNARY(sqrtps, SqrtPs) NS_FP_UNARY(sqrtpd, SqrtPd) NS_FP_SCALAR(sqrtss, SqrtSs, 4) NS_FP_SCALAR(sqrtsd, SqrtSd, 8)
NS_FP_UNARY(rcpps, RcpPs) NS_FP_UNARY(rsqrtps, RsqrtPs) NS_FP_SCALAR(rcpss, RcpSs, 4) NS_FP_SCALAR(rsqrtss, RsqrtSs, 4)

// ---- compares ------------------------------------------------------------------------------------
// CMPPS & co.: legacy encodings use imm8[2:0], VEX imm8[4:0] (SDM Vol. 2A CMPPS, Table 3-1).
template <class W>
constexpr unsigned kCmpPreds = W::kVex ? 32 : 8;
#define NS_FP_CMP_PACKED(name, Op)                                             \
  template <class W, bool M>                                                    \
  void name(Cpu& c, const DecodedInst& d) {                                     \
    check<W>(c);                                                                \
    VecReg a = src1<W>(c, d);                                                   \
    VecReg b = src_w<W, M>(c, d);                                               \
    put<W>(c, d.reg, host_fp2i<W, Op, 32>(c, a, b, d.imm & (kCmpPreds<W> - 1))); \
  }
#define NS_FP_CMP_SCALAR(name, Op, N)                                          \
  template <class W, bool M>                                                    \
  void name(Cpu& c, const DecodedInst& d) {                                     \
    using S = Lig<W>;                                                           \
    check<S>(c);                                                                \
    VecReg a = src1<S>(c, d);                                                   \
    VecReg b = src_wn<S, M, N>(c, d);                                           \
    put<S>(c, d.reg, host_fp2i<S, Op, 32>(c, a, b, d.imm & (kCmpPreds<W> - 1))); \
  }
NS_FP_CMP_PACKED(cmpps, CmpPs) NS_FP_CMP_PACKED(cmppd, CmpPd)
NS_FP_CMP_SCALAR(cmpss, CmpSs, 4) NS_FP_CMP_SCALAR(cmpsd, CmpSd, 8)

// COMISS/UCOMISS/COMISD/UCOMISD: ZF, PF, CF from the compare; OF, SF, AF cleared
// (SDM Vol. 2A COMISS). COMIS* signal invalid on QNaN too, UCOMIS* only on SNaN.
#define NS_HOST_COMI(NAME, INSN)                                                          \
  struct NAME {                                                                           \
    static uint32_t run(__m128 a, __m128 b) {                                             \
      bool zf, pf, cf;                                                                    \
      asm volatile(INSN " %[b], %[a]" : "=@ccz"(zf), "=@ccp"(pf), "=@ccc"(cf) : [a] "x"(a), [b] "x"(b)); \
      return uint32_t(zf) << 6 | uint32_t(pf) << 2 | uint32_t(cf);              \
    }                                                                                     \
  }
NS_HOST_COMI(ComiSs, "vcomiss"); NS_HOST_COMI(UcomiSs, "vucomiss");
NS_HOST_COMI(ComiSd, "vcomisd"); NS_HOST_COMI(UcomiSd, "vucomisd");

template <class W, bool M, class Op, unsigned N>
void fp_comi(Cpu& c, const DecodedInst& d) {
  using S = Lig<W>;
  check<S>(c);
  VecReg a = get<S>(c, d.reg);
  VecReg b = src_wn<S, M, N>(c, d);
  HostFp env(c.mxcsr);
  uint32_t f = Op::run(x128(a), x128(b));
  fp_commit(c, env.done());
  set_eflags(c, f);
}
template <class W, bool M> void comiss(Cpu& c, const DecodedInst& d) { fp_comi<W, M, ComiSs, 4>(c, d); }
template <class W, bool M> void ucomiss(Cpu& c, const DecodedInst& d) { fp_comi<W, M, UcomiSs, 4>(c, d); }
template <class W, bool M> void comisd(Cpu& c, const DecodedInst& d) { fp_comi<W, M, ComiSd, 8>(c, d); }
template <class W, bool M> void ucomisd(Cpu& c, const DecodedInst& d) { fp_comi<W, M, UcomiSd, 8>(c, d); }

// ---- rounding and dot products (SSE4.1) -------------------------------------------------------
// ROUND*: imm8[3:0] used, imm8[7:4] ignored.
template <class W, bool M>
void roundps(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg b = src_w<W, M>(c, d);
  put<W>(c, d.reg, host_fp2i<W, RoundPs, 16>(c, b, b, d.imm));
}
template <class W, bool M>
void roundpd(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg b = src_w<W, M>(c, d);
  put<W>(c, d.reg, host_fp2i<W, RoundPd, 16>(c, b, b, d.imm));
}
template <class W, bool M>
void roundss(Cpu& c, const DecodedInst& d) {
  using S = Lig<W>;
  check<S>(c);
  VecReg a = src1<S>(c, d);
  VecReg b = src_wn<S, M, 4>(c, d);
  put<S>(c, d.reg, host_fp2i<S, RoundSs, 16>(c, a, b, d.imm));
}
template <class W, bool M>
void roundsd(Cpu& c, const DecodedInst& d) {
  using S = Lig<W>;
  check<S>(c);
  VecReg a = src1<S>(c, d);
  VecReg b = src_wn<S, M, 8>(c, d);
  put<S>(c, d.reg, host_fp2i<S, RoundSd, 16>(c, a, b, d.imm));
}
template <class W, bool M>
void dpps(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg a = src1<W>(c, d);
  VecReg b = src_w<W, M>(c, d);
  put<W>(c, d.reg, host_fp2i<W, DpPs, 256>(c, a, b, d.imm & 0xFF));
}
template <class W, bool M>
void dppd(Cpu& c, const DecodedInst& d) {
  using S = Lig<W>;  // VEX.256 is #UD (F_L0): the decoder rejects it
  check<S>(c);
  VecReg a = src1<S>(c, d);
  VecReg b = src_w<S, M>(c, d);
  put<S>(c, d.reg, host_fp2i<S, DpPd, 256>(c, a, b, d.imm & 0xFF));
}

// ---- conversions ----------------------------------------------------------------------------------
template <class W, bool M> void cvtdq2ps(Cpu& c, const DecodedInst& d) { fp_unary<W, M, CvtDq2Ps>(c, d); }
template <class W, bool M> void cvtps2dq(Cpu& c, const DecodedInst& d) { fp_unary<W, M, CvtPs2Dq>(c, d); }
template <class W, bool M> void cvttps2dq(Cpu& c, const DecodedInst& d) { fp_unary<W, M, CvttPs2Dq>(c, d); }
template <class W, bool M> void cvtps2pd(Cpu& c, const DecodedInst& d) { fp_widen<W, M, CvtPs2Pd>(c, d); }
template <class W, bool M> void cvtdq2pd(Cpu& c, const DecodedInst& d) { fp_widen<W, M, CvtDq2Pd>(c, d); }
template <class W, bool M> void cvtpd2ps(Cpu& c, const DecodedInst& d) { fp_narrow<W, M, CvtPd2Ps>(c, d); }
template <class W, bool M> void cvtpd2dq(Cpu& c, const DecodedInst& d) { fp_narrow<W, M, CvtPd2Dq>(c, d); }
template <class W, bool M> void cvttpd2dq(Cpu& c, const DecodedInst& d) { fp_narrow<W, M, CvttPd2Dq>(c, d); }
template <class W, bool M> void cvtss2sd(Cpu& c, const DecodedInst& d) { fp_scalar<W, M, CvtSs2Sd, 4>(c, d); }
template <class W, bool M> void cvtsd2ss(Cpu& c, const DecodedInst& d) { fp_scalar<W, M, CvtSd2Ss, 8>(c, d); }

// F16C: VCVTPH2PS (DAZ is not applied to half inputs; the host does exactly that).
template <class W, bool M> void vcvtph2ps(Cpu& c, const DecodedInst& d) { fp_widen<W, M, CvtPh2Ps>(c, d); }
// VCVTPS2PH xmm/m64|m128, xmm|ymm, imm8: the destination is ModRM.rm.
template <class W, bool M>
void vcvtps2ph(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg b = get<W>(c, d.reg);
  VecReg r = host_fp2i<W, CvtPs2Ph, 8>(c, b, b, d.imm & 7);
  if constexpr (M) store_mem<W::kBytes / 2>(c, d, &r);
  else put<V128>(c, d.rm, r);
}

// Integer -> scalar FP: CVTSI2SS/SD xmm, r/m32|64 (REX.W / VEX.W selects 64).
template <class W, bool M, bool Double>
void cvtsi2f(Cpu& c, const DecodedInst& d) {
  using S = Lig<W>;
  check<S>(c);
  bool wide = rexw(d);
  uint64_t v = src_e<M>(c, d, wide);
  VecReg a = src1<S>(c, d);
  __m128 x = x128(a), r;
  HostFp env(c.mxcsr);
  if constexpr (Double) {
    if (wide) asm volatile("vcvtsi2sdq %[g], %[a], %[r]" : [r] "=x"(r) : [a] "x"(x), [g] "r"(v));
    else asm volatile("vcvtsi2sdl %k[g], %[a], %[r]" : [r] "=x"(r) : [a] "x"(x), [g] "r"(v));
  } else {
    if (wide) asm volatile("vcvtsi2ssq %[g], %[a], %[r]" : [r] "=x"(r) : [a] "x"(x), [g] "r"(v));
    else asm volatile("vcvtsi2ssl %k[g], %[a], %[r]" : [r] "=x"(r) : [a] "x"(x), [g] "r"(v));
  }
  fp_commit(c, env.done());
  put<S>(c, d.reg, vec(r));
}
template <class W, bool M> void cvtsi2ss(Cpu& c, const DecodedInst& d) { cvtsi2f<W, M, false>(c, d); }
template <class W, bool M> void cvtsi2sd(Cpu& c, const DecodedInst& d) { cvtsi2f<W, M, true>(c, d); }

// Scalar FP -> integer: CVT(T)SS2SI / CVT(T)SD2SI r32|64, xmm/m32|64. Out-of-range and
// NaN give the integer indefinite value (80000000H / 8000000000000000H) and #I.
#define NS_HOST_F2I(NAME, INSN)                                                      \
  struct NAME {                                                                      \
    static uint64_t run(__m128 b, bool wide) {                                       \
      uint64_t r;                                                                    \
      if (wide) asm volatile(INSN " %[b], %q[r]" : [r] "=r"(r) : [b] "x"(b));        \
      else {                                                                         \
        uint32_t r32;                                                                \
        asm volatile(INSN " %[b], %k[r]" : [r] "=r"(r32) : [b] "x"(b));              \
        r = r32;                                                                     \
      }                                                                              \
      return r;                                                                      \
    }                                                                                \
  }
NS_HOST_F2I(CvtSs2Si, "vcvtss2si"); NS_HOST_F2I(CvttSs2Si, "vcvttss2si");
NS_HOST_F2I(CvtSd2Si, "vcvtsd2si"); NS_HOST_F2I(CvttSd2Si, "vcvttsd2si");

template <class W, bool M, class Op, unsigned N>
void cvtf2si(Cpu& c, const DecodedInst& d) {
  using S = Lig<W>;
  check<S>(c);
  bool wide = rexw(d);
  VecReg b = src_wn<S, M, N>(c, d);
  HostFp env(c.mxcsr);
  uint64_t r = Op::run(x128(b), wide);
  fp_commit(c, env.done());
  put_gpr(c, d.reg, r, wide);
}
template <class W, bool M> void cvtss2si(Cpu& c, const DecodedInst& d) { cvtf2si<W, M, CvtSs2Si, 4>(c, d); }
template <class W, bool M> void cvttss2si(Cpu& c, const DecodedInst& d) { cvtf2si<W, M, CvttSs2Si, 4>(c, d); }
template <class W, bool M> void cvtsd2si(Cpu& c, const DecodedInst& d) { cvtf2si<W, M, CvtSd2Si, 8>(c, d); }
template <class W, bool M> void cvttsd2si(Cpu& c, const DecodedInst& d) { cvtf2si<W, M, CvttSd2Si, 8>(c, d); }

// Conversions between XMM and MMX registers (SSE/SSE2 with MMX operands). The host
// never executes MMX instructions (they would disturb its own x87 state): the packed
// 32-bit SSE conversions compute the same two elements.
// An MMX register operand makes the MMX transition and first reports a pending x87
// exception (#MF); CVTPI2PS/CVTPI2PD from memory do neither (SDM Vol. 2A CVTPI2PD;
// for CVTPI2PS the host shows the same).
inline void mmx_operand_check(Cpu& c) {
  if (NS_UNLIKELY(c.x87.fsw & 0x80)) raise_fault(VEC_MF);
}
// CVTPI2PS xmm, mm/m64: bits 127:64 of the destination unchanged.
template <class W, bool M>
void cvtpi2ps(Cpu& c, const DecodedInst& d) {
  sse_check(c);
  if (!M) mmx_operand_check(c);
  VecReg b = M ? load_mem<8>(c, d) : get<Mmx>(c, d.rm);
  VecReg r = host_fp2<Sse, CvtDq2Ps>(c, b, b);
  VecReg dst = c.v[d.reg];
  dst.u64[0] = r.u64[0];
  put<Sse>(c, d.reg, dst);
  if (!M) mmx_enter(c);
}
template <class W, bool M>
void cvtpi2pd(Cpu& c, const DecodedInst& d) {
  sse_check(c);
  if (!M) mmx_operand_check(c);
  VecReg b = M ? load_mem<8>(c, d) : get<Mmx>(c, d.rm);
  VecReg r = host_fp2<Sse, CvtDq2Pd>(c, b, b);
  put<Sse>(c, d.reg, r);
  if (!M) mmx_enter(c);
}
// CVT(T)PS2PI mm, xmm/m64 and CVT(T)PD2PI mm, xmm/m128.
template <bool M, class Op, unsigned N>
void cvt2pi(Cpu& c, const DecodedInst& d) {
  sse_check(c);
  mmx_operand_check(c);
  VecReg b = M ? load_mem<N, N == 16>(c, d) : c.v[d.rm];
  if (N == 8) b.u64[1] = 0;  // only the two low singles are converted
  VecReg r = host_fp2<Sse, Op>(c, b, b);
  put<Mmx>(c, d.reg, r);
}
template <class W, bool M> void cvtps2pi(Cpu& c, const DecodedInst& d) { cvt2pi<M, CvtPs2Dq, 8>(c, d); }
template <class W, bool M> void cvttps2pi(Cpu& c, const DecodedInst& d) { cvt2pi<M, CvttPs2Dq, 8>(c, d); }
template <class W, bool M> void cvtpd2pi(Cpu& c, const DecodedInst& d) { cvt2pi<M, CvtPd2Dq, 16>(c, d); }
template <class W, bool M> void cvttpd2pi(Cpu& c, const DecodedInst& d) { cvt2pi<M, CvttPd2Dq, 16>(c, d); }

// ---- FMA (SDM Vol. 2A VFMADD132PS ...): one rounding, the host's FMA unit -------------------
// 132: dst = dst*src3 + src2; 213: dst = src2*dst + src3; 231: dst = src2*src3 + dst,
// with dst = ModRM.reg, src2 = VEX.vvvv, src3 = ModRM.rm. The host runs the same form
// with the same operand roles.
#define NS_HOST_FMA(NAME, INSN)                                                          \
  struct NAME {                                                                          \
    template <class V>                                                                   \
    static V run(V dst, V s2, V s3) {                                                    \
      asm volatile(INSN " %[s3], %[s2], %[d]" : [d] "+x"(dst) : [s2] "x"(s2), [s3] "x"(s3)); \
      return dst;                                                                        \
    }                                                                                    \
  }
// E: element bytes; N: scalar forms' operand bytes (0 = packed).
template <class W, bool M, class Op, unsigned N, unsigned E>
void fma(Cpu& c, const DecodedInst& d) {
  using S = std::conditional_t<N == 0, W, Lig<W>>;
  check<S>(c);
  VecReg dst = c.v[d.reg];
  VecReg s2 = c.v[d.vvvv];
  VecReg s3 = N ? src_wn<S, M, N>(c, d) : src_w<S, M>(c, d);
  auto run = [](const VecReg* x) {
    if constexpr (S::kBytes == 32) return vec(Op::run(y256(x[0]), y256(x[1]), y256(x[2])));
    else return vec(Op::run(x128(x[0]), x128(x[1]), x128(x[2])));
  };
  const VecReg in[3] = {dst, s2, s3};
  HostFp env(c.mxcsr);
  VecReg r = run(in);
  uint32_t fl = env.done();
  if (NS_UNLIKELY((c.mxcsr & (kMxOM | kMxUM)) != (kMxOM | kMxUM)))
    fl = fp_flags_per_element<S::kBytes, E, E, N ? 1 : 0, PeKind::kPeKeep>(c, in, run);
  fp_commit(c, fl);
  put<S>(c, d.reg, r);
}
#define NS_FMA_FAMILY(op)                                                                       \
  NS_HOST_FMA(H_##op##132ps, "v" #op "132ps"); NS_HOST_FMA(H_##op##213ps, "v" #op "213ps");     \
  NS_HOST_FMA(H_##op##231ps, "v" #op "231ps"); NS_HOST_FMA(H_##op##132pd, "v" #op "132pd");     \
  NS_HOST_FMA(H_##op##213pd, "v" #op "213pd"); NS_HOST_FMA(H_##op##231pd, "v" #op "231pd");     \
  template <class W, bool M> void v##op##132ps(Cpu& c, const DecodedInst& d) { fma<W, M, H_##op##132ps, 0, 4>(c, d); } \
  template <class W, bool M> void v##op##213ps(Cpu& c, const DecodedInst& d) { fma<W, M, H_##op##213ps, 0, 4>(c, d); } \
  template <class W, bool M> void v##op##231ps(Cpu& c, const DecodedInst& d) { fma<W, M, H_##op##231ps, 0, 4>(c, d); } \
  template <class W, bool M> void v##op##132pd(Cpu& c, const DecodedInst& d) { fma<W, M, H_##op##132pd, 0, 8>(c, d); } \
  template <class W, bool M> void v##op##213pd(Cpu& c, const DecodedInst& d) { fma<W, M, H_##op##213pd, 0, 8>(c, d); } \
  template <class W, bool M> void v##op##231pd(Cpu& c, const DecodedInst& d) { fma<W, M, H_##op##231pd, 0, 8>(c, d); }
#define NS_FMA_SCALAR(op)                                                                       \
  NS_HOST_FMA(H_##op##132ss, "v" #op "132ss"); NS_HOST_FMA(H_##op##213ss, "v" #op "213ss");     \
  NS_HOST_FMA(H_##op##231ss, "v" #op "231ss"); NS_HOST_FMA(H_##op##132sd, "v" #op "132sd");     \
  NS_HOST_FMA(H_##op##213sd, "v" #op "213sd"); NS_HOST_FMA(H_##op##231sd, "v" #op "231sd");     \
  template <class W, bool M> void v##op##132ss(Cpu& c, const DecodedInst& d) { fma<W, M, H_##op##132ss, 4, 4>(c, d); } \
  template <class W, bool M> void v##op##213ss(Cpu& c, const DecodedInst& d) { fma<W, M, H_##op##213ss, 4, 4>(c, d); } \
  template <class W, bool M> void v##op##231ss(Cpu& c, const DecodedInst& d) { fma<W, M, H_##op##231ss, 4, 4>(c, d); } \
  template <class W, bool M> void v##op##132sd(Cpu& c, const DecodedInst& d) { fma<W, M, H_##op##132sd, 8, 8>(c, d); } \
  template <class W, bool M> void v##op##213sd(Cpu& c, const DecodedInst& d) { fma<W, M, H_##op##213sd, 8, 8>(c, d); } \
  template <class W, bool M> void v##op##231sd(Cpu& c, const DecodedInst& d) { fma<W, M, H_##op##231sd, 8, 8>(c, d); }
NS_FMA_FAMILY(fmadd) NS_FMA_FAMILY(fmsub) NS_FMA_FAMILY(fnmadd) NS_FMA_FAMILY(fnmsub)
NS_FMA_FAMILY(fmaddsub) NS_FMA_FAMILY(fmsubadd)
NS_FMA_SCALAR(fmadd) NS_FMA_SCALAR(fmsub) NS_FMA_SCALAR(fnmadd) NS_FMA_SCALAR(fnmsub)

#define NS_FMA_BIND(op)                                                                          \
  NS_B_VEX(v##op##132ps_v_h_w, v##op##132ps), NS_B_VEX(v##op##213ps_v_h_w, v##op##213ps),         \
  NS_B_VEX(v##op##231ps_v_h_w, v##op##231ps), NS_B_VEX(v##op##132pd_v_h_w, v##op##132pd),         \
  NS_B_VEX(v##op##213pd_v_h_w, v##op##213pd), NS_B_VEX(v##op##231pd_v_h_w, v##op##231pd)
#define NS_FMA_BIND_S(op)                                                                        \
  NS_B_VEX(v##op##132ss_v_h_w, v##op##132ss), NS_B_VEX(v##op##213ss_v_h_w, v##op##213ss),         \
  NS_B_VEX(v##op##231ss_v_h_w, v##op##231ss), NS_B_VEX(v##op##132sd_v_h_w, v##op##132sd),         \
  NS_B_VEX(v##op##213sd_v_h_w, v##op##213sd), NS_B_VEX(v##op##231sd_v_h_w, v##op##231sd)

// Legacy, then VEX, forms of one operation.
#define NS_FP_BIND(op, vop)                                           \
  NS_B_LEG(op##ps_v_w, op##ps), NS_B_LEG(op##pd_v_w, op##pd),           \
  NS_B_LEG(op##ss_v_w, op##ss), NS_B_LEG(op##sd_v_w, op##sd),           \
  NS_B_VEX(vop##ps_v_h_w, op##ps), NS_B_VEX(vop##pd_v_h_w, op##pd),     \
  NS_B_VEX(vop##ss_v_h_w, op##ss), NS_B_VEX(vop##sd_v_h_w, op##sd)

const Binding kBindings[] = {
    NS_FP_BIND(add, vadd), NS_FP_BIND(sub, vsub), NS_FP_BIND(mul, vmul),
    NS_FP_BIND(div, vdiv), NS_FP_BIND(min, vmin), NS_FP_BIND(max, vmax),
    NS_B_LEG(addsubps_v_w, addsubps), NS_B_LEG(addsubpd_v_w, addsubpd),
    NS_B_VEX(vaddsubps_v_h_w, addsubps), NS_B_VEX(vaddsubpd_v_h_w, addsubpd),
    NS_B_LEG(haddps_v_w, haddps), NS_B_LEG(haddpd_v_w, haddpd),
    NS_B_LEG(hsubps_v_w, hsubps), NS_B_LEG(hsubpd_v_w, hsubpd),
    NS_B_VEX(vhaddps_v_h_w, haddps), NS_B_VEX(vhaddpd_v_h_w, haddpd),
    NS_B_VEX(vhsubps_v_h_w, hsubps), NS_B_VEX(vhsubpd_v_h_w, hsubpd),
    NS_B_LEG(sqrtps_v_w, sqrtps), NS_B_LEG(sqrtpd_v_w, sqrtpd),
    NS_B_LEG(sqrtss_v_w, sqrtss), NS_B_LEG(sqrtsd_v_w, sqrtsd),
    NS_B_VEX(vsqrtps_v_w, sqrtps), NS_B_VEX(vsqrtpd_v_w, sqrtpd),
    NS_B_VEX(vsqrtss_v_h_w, sqrtss), NS_B_VEX(vsqrtsd_v_h_w, sqrtsd),
    NS_B_LEG(rcpps_v_w, rcpps), NS_B_LEG(rcpss_v_w, rcpss),
    NS_B_LEG(rsqrtps_v_w, rsqrtps), NS_B_LEG(rsqrtss_v_w, rsqrtss),
    NS_B_VEX(vrcpps_v_w, rcpps), NS_B_VEX(vrcpss_v_h_w, rcpss),
    NS_B_VEX(vrsqrtps_v_w, rsqrtps), NS_B_VEX(vrsqrtss_v_h_w, rsqrtss),
    NS_B_LEG(cmpps_v_w_ib, cmpps), NS_B_LEG(cmppd_v_w_ib, cmppd),
    NS_B_LEG(cmpss_v_w_ib, cmpss), NS_B_LEG(cmpsd_v_w_ib, cmpsd),
    NS_B_VEX(vcmpps_v_h_w_ib, cmpps), NS_B_VEX(vcmppd_v_h_w_ib, cmppd),
    NS_B_VEX(vcmpss_v_h_w_ib, cmpss), NS_B_VEX(vcmpsd_v_h_w_ib, cmpsd),
    NS_B_LEG(comiss_v_w, comiss), NS_B_LEG(ucomiss_v_w, ucomiss),
    NS_B_LEG(comisd_v_w, comisd), NS_B_LEG(ucomisd_v_w, ucomisd),
    NS_B_VEX(vcomiss_v_w, comiss), NS_B_VEX(vucomiss_v_w, ucomiss),
    NS_B_VEX(vcomisd_v_w, comisd), NS_B_VEX(vucomisd_v_w, ucomisd),
    NS_B_LEG(roundps_v_w_ib, roundps), NS_B_LEG(roundpd_v_w_ib, roundpd),
    NS_B_LEG(roundss_v_w_ib, roundss), NS_B_LEG(roundsd_v_w_ib, roundsd),
    NS_B_VEX(vroundps_v_w_ib, roundps), NS_B_VEX(vroundpd_v_w_ib, roundpd),
    NS_B_VEX(vroundss_v_h_w_ib, roundss), NS_B_VEX(vroundsd_v_h_w_ib, roundsd),
    NS_B_LEG(dpps_v_w_ib, dpps), NS_B_LEG(dppd_v_w_ib, dppd),
    NS_B_VEX(vdpps_v_h_w_ib, dpps), NS_B_VEX(vdppd_v_h_w_ib, dppd),
    NS_B_LEG(cvtdq2ps_v_w, cvtdq2ps), NS_B_LEG(cvtps2dq_v_w, cvtps2dq),
    NS_B_LEG(cvttps2dq_v_w, cvttps2dq), NS_B_LEG(cvtps2pd_v_w, cvtps2pd),
    NS_B_LEG(cvtdq2pd_v_w, cvtdq2pd), NS_B_LEG(cvtpd2ps_v_w, cvtpd2ps),
    NS_B_LEG(cvtpd2dq_v_w, cvtpd2dq), NS_B_LEG(cvttpd2dq_v_w, cvttpd2dq),
    NS_B_LEG(cvtss2sd_v_w, cvtss2sd), NS_B_LEG(cvtsd2ss_v_w, cvtsd2ss),
    NS_B_VEX(vcvtdq2ps_v_w, cvtdq2ps), NS_B_VEX(vcvtps2dq_v_w, cvtps2dq),
    NS_B_VEX(vcvttps2dq_v_w, cvttps2dq), NS_B_VEX(vcvtps2pd_v_w, cvtps2pd),
    NS_B_VEX(vcvtdq2pd_v_w, cvtdq2pd), NS_B_VEX(vcvtpd2ps_v_w, cvtpd2ps),
    NS_B_VEX(vcvtpd2dq_v_w, cvtpd2dq), NS_B_VEX(vcvttpd2dq_v_w, cvttpd2dq),
    NS_B_VEX(vcvtss2sd_v_h_w, cvtss2sd), NS_B_VEX(vcvtsd2ss_v_h_w, cvtsd2ss),
    NS_B_VEX(vcvtph2ps_v_w, vcvtph2ps), NS_B_VEX(vcvtps2ph_w_v_ib, vcvtps2ph),
    NS_B_LEG(cvtsi2ss_v_e, cvtsi2ss), NS_B_LEG(cvtsi2sd_v_e, cvtsi2sd),
    NS_B_VEX(vcvtsi2ss_v_h_e, cvtsi2ss), NS_B_VEX(vcvtsi2sd_v_h_e, cvtsi2sd),
    NS_B_LEG(cvtss2si_g_w, cvtss2si), NS_B_LEG(cvttss2si_g_w, cvttss2si),
    NS_B_LEG(cvtsd2si_g_w, cvtsd2si), NS_B_LEG(cvttsd2si_g_w, cvttsd2si),
    NS_B_VEX(vcvtss2si_g_w, cvtss2si), NS_B_VEX(vcvttss2si_g_w, cvttss2si),
    NS_B_VEX(vcvtsd2si_g_w, cvtsd2si), NS_B_VEX(vcvttsd2si_g_w, cvttsd2si),
    NS_B_LEG(cvtpi2ps_v_q, cvtpi2ps), NS_B_LEG(cvtpi2pd_v_q, cvtpi2pd),
    NS_B_LEG(cvtps2pi_p_w, cvtps2pi), NS_B_LEG(cvttps2pi_p_w, cvttps2pi),
    NS_B_LEG(cvtpd2pi_p_w, cvtpd2pi), NS_B_LEG(cvttpd2pi_p_w, cvttpd2pi),
    NS_FMA_BIND(fmadd), NS_FMA_BIND(fmsub), NS_FMA_BIND(fnmadd), NS_FMA_BIND(fnmsub),
    NS_FMA_BIND(fmaddsub), NS_FMA_BIND(fmsubadd),
    NS_FMA_BIND_S(fmadd), NS_FMA_BIND_S(fmsub), NS_FMA_BIND_S(fnmadd), NS_FMA_BIND_S(fnmsub),
};

}  // namespace

std::span<const Binding> sse_fp_bindings() { return kBindings; }

}  // namespace isa::simd
