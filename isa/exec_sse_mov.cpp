// MMX/SSE/AVX data movement: full-width and partial moves, MOVD/MOVQ to and from GPRs,
// inserts/extracts, MOVMSK*, MASKMOV*, non-temporal moves, MXCSR load/store, EMMS.
// Register-to-register stores through the ModRM.rm operand ("w_v" forms) follow the
// same upper-bit rule as loads: legacy keeps bits 255:128, VEX.128 zeroes them.
#include "isa/simd.h"

namespace isa::simd {
namespace {

// ---- full-width moves ---------------------------------------------------------------------
// MOVAPS/MOVAPD/MOVDQA/MOVNT*: aligned in every encoding; MOVUPS/MOVDQU/LDDQU: never.
template <class W, bool M, Align A>
void mov_load(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  put<W>(c, d.reg, src_w<W, M, A>(c, d));
}
template <class W, bool M, Align A>
void mov_store(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg v = get<W>(c, d.reg);
  if constexpr (M) store_mem<W::kBytes, kNeedsAlign<W, A>>(c, d, &v);
  else put<W>(c, d.rm, v);
}
template <class W, bool M> void movu_load(Cpu& c, const DecodedInst& d) { mov_load<W, M, kUnaligned>(c, d); }
template <class W, bool M> void mova_load(Cpu& c, const DecodedInst& d) { mov_load<W, M, kAligned>(c, d); }
template <class W, bool M> void movu_store(Cpu& c, const DecodedInst& d) { mov_store<W, M, kUnaligned>(c, d); }
template <class W, bool M> void mova_store(Cpu& c, const DecodedInst& d) { mov_store<W, M, kAligned>(c, d); }

// ---- scalar moves (MOVSS/MOVSD) -----------------------------------------------------------
// Load from memory zeroes bits 127:N*8; register to register merges into the low
// element: legacy keeps the destination's other bits, VEX takes them from vvvv.
template <class W, bool M, unsigned N>
void movs_load(Cpu& c, const DecodedInst& d) {
  using S = Lig<W>;
  check<S>(c);
  if constexpr (M) {
    put<S>(c, d.reg, load_mem<N>(c, d));
  } else {
    VecReg r = src1<S>(c, d), b = c.v[d.rm];
    std::memcpy(&r, &b, N);
    put<S>(c, d.reg, r);
  }
}
// MOVSS xmm2/m32, xmm1 (0F 11): memory gets N bytes; the register form writes ModRM.rm
// (VEX: rm = [vvvv[127:N*8], reg[N*8-1:0]]).
template <class W, bool M, unsigned N>
void movs_store(Cpu& c, const DecodedInst& d) {
  using S = Lig<W>;
  check<S>(c);
  if constexpr (M) {
    store_mem<N>(c, d, &c.v[d.reg]);
  } else {
    VecReg r = get<S>(c, S::kVex ? d.vvvv : d.rm), b = c.v[d.reg];
    std::memcpy(&r, &b, N);
    put<S>(c, d.rm, r);
  }
}
template <class W, bool M> void movss_load(Cpu& c, const DecodedInst& d) { movs_load<W, M, 4>(c, d); }
template <class W, bool M> void movsd_load(Cpu& c, const DecodedInst& d) { movs_load<W, M, 8>(c, d); }
template <class W, bool M> void movss_store(Cpu& c, const DecodedInst& d) { movs_store<W, M, 4>(c, d); }
template <class W, bool M> void movsd_store(Cpu& c, const DecodedInst& d) { movs_store<W, M, 8>(c, d); }

// ---- half moves (MOVLPS/MOVHPS/MOVLPD/MOVHPD/MOVHLPS/MOVLHPS) ------------------------------
// 0F 12 / 66 0F 12: memory form loads the low quadword (MOVLPS), register form 0F 12
// takes the source's high quadword (MOVHLPS). Other half from the destination (legacy)
// or vvvv (VEX).
template <class W, bool M, bool High>
void movhl_load(Cpu& c, const DecodedInst& d) {
  using S = Lig<W>;
  check<S>(c);
  VecReg r = src1<S>(c, d);
  if constexpr (M) {
    r.u64[High ? 1 : 0] = load_mem<8>(c, d).u64[0];
  } else {
    // MOVHLPS: low <- src.high; MOVLHPS: high <- src.low.
    r.u64[High ? 1 : 0] = c.v[d.rm].u64[High ? 0 : 1];
  }
  put<S>(c, d.reg, r);
}
template <class W, bool M> void movlps_load(Cpu& c, const DecodedInst& d) { movhl_load<W, M, false>(c, d); }
template <class W, bool M> void movhps_load(Cpu& c, const DecodedInst& d) { movhl_load<W, M, true>(c, d); }
// 0F 13 / 0F 17: store the low/high quadword (memory only).
template <class W, bool M, bool High>
void movhl_store(Cpu& c, const DecodedInst& d) {
  using S = Lig<W>;
  check<S>(c);
  if constexpr (M) store_mem<8>(c, d, &c.v[d.reg].u64[High ? 1 : 0]);
  else raise_ud();
}
template <class W, bool M> void movlps_store(Cpu& c, const DecodedInst& d) { movhl_store<W, M, false>(c, d); }
template <class W, bool M> void movhps_store(Cpu& c, const DecodedInst& d) { movhl_store<W, M, true>(c, d); }

// ---- duplicating moves (SSE3) -------------------------------------------------------------------
template <class W, bool M>
void movddup(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg b;
  if constexpr (W::kBytes == 16) b = src_wn<W, M, 8>(c, d);
  else b = src_w<W, M>(c, d);
  VecReg r;
  for (unsigned l = 0; l < kLanes<W>; l++) r.u64[2 * l] = r.u64[2 * l + 1] = b.u64[2 * l];
  put<W>(c, d.reg, r);
}
template <class W, bool M, unsigned Odd>
void movxdup(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg b = src_w<W, M>(c, d), r;
  for (unsigned i = 0; i < W::kBytes / 8; i++) r.u32[2 * i] = r.u32[2 * i + 1] = b.u32[2 * i + Odd];
  put<W>(c, d.reg, r);
}
template <class W, bool M> void movsldup(Cpu& c, const DecodedInst& d) { movxdup<W, M, 0>(c, d); }
template <class W, bool M> void movshdup(Cpu& c, const DecodedInst& d) { movxdup<W, M, 1>(c, d); }

// ---- MOVD/MOVQ ----------------------------------------------------------------------------------
// MOVD/MOVQ xmm|mm, r/m32|64 (66 0F 6E, 0F 6E; REX.W = MOVQ): zero-extends.
template <class W, bool M>
void movd_load(Cpu& c, const DecodedInst& d) {
  using S = Lig<W>;
  check<S>(c);
  VecReg r = zero_vec();
  r.u64[0] = src_e<M>(c, d, rexw(d));
  put<S>(c, d.reg, r);  // bits 127:64 (MMX: none) zeroed in every encoding
}
// MOVD/MOVQ r/m32|64, xmm|mm (66 0F 7E, 0F 7E).
template <class W, bool M>
void movd_store(Cpu& c, const DecodedInst& d) {
  using S = Lig<W>;
  check<S>(c);
  bool wide = rexw(d);
  uint64_t v = get<S>(c, d.reg).u64[0];
  if constexpr (M) {
    if (wide) c.write<uint64_t>(d.seg, c.ea(d), v);
    else c.write<uint32_t>(d.seg, c.ea(d), uint32_t(v));
  } else {
    put_gpr(c, d.rm, v, wide);
  }
  if constexpr (S::kMmx) mmx_enter(c);
}
// MOVQ xmm1, xmm2/m64 (F3 0F 7E) and MOVQ xmm2/m64, xmm1 (66 0F D6): the register
// destination gets the quadword zero-extended to 128 bits.
template <class W, bool M>
void movq_load(Cpu& c, const DecodedInst& d) {
  using S = Lig<W>;
  check<S>(c);
  VecReg r = zero_vec();
  r.u64[0] = src_wn<S, M, 8>(c, d).u64[0];
  put<S>(c, d.reg, r);
}
template <class W, bool M>
void movq_store(Cpu& c, const DecodedInst& d) {
  using S = Lig<W>;
  check<S>(c);
  if constexpr (M) {
    store_mem<8>(c, d, &c.v[d.reg].u64[0]);
  } else {
    VecReg r = zero_vec();
    r.u64[0] = c.v[d.reg].u64[0];
    put<S>(c, d.rm, r);
  }
}
// MOVQ mm, mm/m64 (0F 6F) and MOVQ mm/m64, mm (0F 7F).
template <class W, bool M>
void movq_mmx_load(Cpu& c, const DecodedInst& d) {
  mmx_check(c);
  put<Mmx>(c, d.reg, src_w<Mmx, M>(c, d));
}
template <class W, bool M>
void movq_mmx_store(Cpu& c, const DecodedInst& d) {
  mmx_check(c);
  VecReg v = get<Mmx>(c, d.reg);
  if constexpr (M) {
    store_mem<8>(c, d, &v);
    mmx_enter(c);
  } else {
    put<Mmx>(c, d.rm, v);
  }
}
// MOVQ2DQ xmm, mm (F3 0F D6) / MOVDQ2Q mm, xmm (F2 0F D6): MMX transition, #MF first.
template <class W, bool M>
void movq2dq(Cpu& c, const DecodedInst& d) {
  sse_check(c);
  if (c.x87.fsw & 0x80) raise_fault(VEC_MF);
  VecReg r = zero_vec();
  r.u64[0] = c.x87.st[d.rm & 7].significand;
  put<Sse>(c, d.reg, r);
  mmx_enter(c);
}
template <class W, bool M>
void movdq2q(Cpu& c, const DecodedInst& d) {
  sse_check(c);
  if (c.x87.fsw & 0x80) raise_fault(VEC_MF);
  VecReg r = zero_vec();
  r.u64[0] = c.v[d.rm].u64[0];
  put<Mmx>(c, d.reg, r);
}

// ---- masks to GPR ---------------------------------------------------------------------------------
template <class W, bool M, class E>
void movmsk(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg b = get<W>(c, d.rm);
  uint32_t m = 0;
  using S = std::make_signed_t<E>;
  for (unsigned i = 0; i < W::kBytes / sizeof(E); i++) m |= uint32_t(S(lanes<E>(b)[i]) < 0) << i;
  c.r[d.reg] = m;  // zero-extended to 64 bits
  if constexpr (W::kMmx) mmx_enter(c);
}
template <class W, bool M> void movmskps(Cpu& c, const DecodedInst& d) { movmsk<W, M, uint32_t>(c, d); }
template <class W, bool M> void movmskpd(Cpu& c, const DecodedInst& d) { movmsk<W, M, uint64_t>(c, d); }
template <class W, bool M> void pmovmskb(Cpu& c, const DecodedInst& d) { movmsk<W, M, uint8_t>(c, d); }

// MASKMOVQ/MASKMOVDQU: store the bytes of ModRM.reg whose mask byte (ModRM.rm) has
// bit 7 set at seg:rDI (DS unless overridden; address size applies). The whole
// operand is probed first, as hardware does even for an all-zero mask (the SDM
// leaves that implementation-specific), so a fault leaves memory unchanged.
template <class W, bool M>
void maskmov(Cpu& c, const DecodedInst& d) {
  using S = Lig<W>;
  check<S>(c);
  VecReg v = get<S>(c, d.reg), m = get<S>(c, d.rm);
  uint64_t base = c.r[RDI];
  unsigned seg = (d.flags & IF_SEGOVR) ? d.seg : unsigned(DS);
  auto addr = [&](unsigned i) {
    uint64_t a = base + i;
    return d.asize == 8 ? a : d.asize == 4 ? uint32_t(a) : uint16_t(a);
  };
  for (unsigned i = 0; i < S::kBytes; i++) c.probe_write(seg, addr(i), 1);
  for (unsigned i = 0; i < S::kBytes; i++)
    if (m.u8[i] & 0x80) c.write<uint8_t>(seg, addr(i), v.u8[i]);
  if constexpr (S::kMmx) mmx_enter(c);
}

// ---- inserts and extracts ------------------------------------------------------------------------------
// PINSRB/PINSRW/PINSRD/PINSRQ: the element of ModRM.rm (a GPR's low bits or memory of
// the element size) into position imm8 (mod element count); the rest from src1.
template <class W, bool M, class E>
void pinsr(Cpu& c, const DecodedInst& d) {
  using S = Lig<W>;
  check<S>(c);
  using T = std::conditional_t<sizeof(E) == 8, uint64_t, E>;
  T v = M ? c.read<T>(d.seg, c.ea(d)) : T(c.r[d.rm]);
  VecReg r = src1<S>(c, d);
  lanes<E>(r)[d.imm & (S::kBytes / sizeof(E) - 1)] = E(v);
  put<S>(c, d.reg, r);
}
template <class W, bool M> void pinsrb(Cpu& c, const DecodedInst& d) { pinsr<W, M, uint8_t>(c, d); }
template <class W, bool M> void pinsrw(Cpu& c, const DecodedInst& d) { pinsr<W, M, uint16_t>(c, d); }
template <class W, bool M>
void pinsrd(Cpu& c, const DecodedInst& d) {  // REX.W/VEX.W: PINSRQ
  if (rexw(d)) pinsr<W, M, uint64_t>(c, d);
  else pinsr<W, M, uint32_t>(c, d);
}
// PEXTRB/PEXTRW/PEXTRD/PEXTRQ/EXTRACTPS r/m, xmm, imm8: a register destination is
// zero-extended to 64 bits (32 without REX.W for D/EXTRACTPS).
template <class W, bool M, class E>
void pextr_e(Cpu& c, const DecodedInst& d) {
  using S = Lig<W>;
  check<S>(c);
  E v = lanes<E>(c.v[d.reg])[d.imm & (16 / sizeof(E) - 1)];
  if constexpr (M) c.write<E>(d.seg, c.ea(d), v);
  else c.r[d.rm] = v;
}
template <class W, bool M> void pextrb(Cpu& c, const DecodedInst& d) { pextr_e<W, M, uint8_t>(c, d); }
template <class W, bool M> void pextrw_e(Cpu& c, const DecodedInst& d) { pextr_e<W, M, uint16_t>(c, d); }
template <class W, bool M>
void pextrd(Cpu& c, const DecodedInst& d) {
  if (rexw(d)) pextr_e<W, M, uint64_t>(c, d);
  else pextr_e<W, M, uint32_t>(c, d);
}
template <class W, bool M> void extractps(Cpu& c, const DecodedInst& d) { pextr_e<W, M, uint32_t>(c, d); }
// PEXTRW r32|64, xmm|mm, imm8 (0F C5, register source only).
template <class W, bool M>
void pextrw_g(Cpu& c, const DecodedInst& d) {
  using S = Lig<W>;
  check<S>(c);
  VecReg b = get<S>(c, d.rm);
  c.r[d.reg] = b.u16[d.imm & (S::kBytes / 2 - 1)];
  if constexpr (S::kMmx) mmx_enter(c);
}
// INSERTPS xmm1, xmm2/m32, imm8: source element imm8[7:6] (register only; memory
// gives the m32), destination element imm8[5:4], then imm8[3:0] zeroes elements.
template <class W, bool M>
void insertps(Cpu& c, const DecodedInst& d) {
  using S = Lig<W>;
  check<S>(c);
  uint32_t v = M ? c.read<uint32_t>(d.seg, c.ea(d)) : c.v[d.rm].u32[(d.imm >> 6) & 3];
  VecReg r = src1<S>(c, d);
  r.u32[(d.imm >> 4) & 3] = v;
  for (unsigned i = 0; i < 4; i++)
    if (d.imm & (1u << i)) r.u32[i] = 0;
  put<S>(c, d.reg, r);
}

// ---- MMX state, MOVNTI ------------------------------------------------------------------------------------
// (LDMXCSR/STMXCSR and their VEX forms live with XSAVE in exec_xsave.cpp.)
// EMMS: all x87 tags empty (SDM Vol. 2A EMMS). Hardware also clears TOP, as the MMX
// transition does (observed: FLD1; FLD1; EMMS leaves FSW.TOP = 0).
void emms(Cpu& c, const DecodedInst&) {
  mmx_check(c);
  mmx_enter(c);
  c.x87.ftw = 0xFFFF;
}
// MOVNTI m32|64, r32|64: a plain store (the non-temporal hint has no architectural
// effect); a GPR instruction, so no SSE state checks.
void movnti(Cpu& c, const DecodedInst& d) {
  if (d.osize == 8) c.write<uint64_t>(d.seg, c.ea(d), c.r[d.reg]);
  else c.write<uint32_t>(d.seg, c.ea(d), uint32_t(c.r[d.reg]));
}

const Binding kBindings[] = {
    NS_B_LEG(movups_v_w, movu_load), NS_B_LEG(movups_w_v, movu_store),
    NS_B_LEG(movupd_v_w, movu_load), NS_B_LEG(movupd_w_v, movu_store),
    NS_B_LEG(movdqu_v_w, movu_load), NS_B_LEG(movdqu_w_v, movu_store),
    NS_B_LEG(movaps_v_w, mova_load), NS_B_LEG(movaps_w_v, mova_store),
    NS_B_LEG(movapd_v_w, mova_load), NS_B_LEG(movapd_w_v, mova_store),
    NS_B_LEG(movdqa_v_w, mova_load), NS_B_LEG(movdqa_w_v, mova_store),
    NS_B_VEX(vmovups_v_w, movu_load), NS_B_VEX(vmovups_w_v, movu_store),
    NS_B_VEX(vmovupd_v_w, movu_load), NS_B_VEX(vmovupd_w_v, movu_store),
    NS_B_VEX(vmovdqu_v_w, movu_load), NS_B_VEX(vmovdqu_w_v, movu_store),
    NS_B_VEX(vmovaps_v_w, mova_load), NS_B_VEX(vmovaps_w_v, mova_store),
    NS_B_VEX(vmovapd_v_w, mova_load), NS_B_VEX(vmovapd_w_v, mova_store),
    NS_B_VEX(vmovdqa_v_w, mova_load), NS_B_VEX(vmovdqa_w_v, mova_store),
    NS_B_LEG(lddqu_v_m, movu_load), NS_B_VEX(vlddqu_v_m, movu_load),
    NS_B_LEG(movntps_m_v, mova_store), NS_B_LEG(movntpd_m_v, mova_store),
    NS_B_LEG(movntdq_m_v, mova_store), NS_B_LEG(movntdqa_v_m, mova_load),
    NS_B_VEX(vmovntps_m_v, mova_store), NS_B_VEX(vmovntpd_m_v, mova_store),
    NS_B_VEX(vmovntdq_m_v, mova_store), NS_B_VEX(vmovntdqa_v_m, mova_load),
    NS_B_MMX(movntq_m_p, movq_mmx_store),
    NS_B_LEG(movss_v_w, movss_load), NS_B_LEG(movss_w_v, movss_store),
    NS_B_LEG(movsd_v_w, movsd_load), NS_B_LEG(movsd_w_v, movsd_store),
    NS_B_VEX(vmovss_v_h_u, movss_load), NS_B_VEX(vmovss_v_m, movss_load),
    NS_B_VEX(vmovss_u_h_v, movss_store), NS_B_VEX(vmovss_m_v, movss_store),
    NS_B_VEX(vmovsd_v_h_u, movsd_load), NS_B_VEX(vmovsd_v_m, movsd_load),
    NS_B_VEX(vmovsd_u_h_v, movsd_store), NS_B_VEX(vmovsd_m_v, movsd_store),
    NS_B_LEG(movlps_v_m, movlps_load), NS_B_LEG(movhlps_v_u, movlps_load),
    NS_B_LEG(movlpd_v_m, movlps_load), NS_B_LEG(movhps_v_m, movhps_load),
    NS_B_LEG(movlhps_v_u, movhps_load), NS_B_LEG(movhpd_v_m, movhps_load),
    NS_B_LEG(movlps_m_v, movlps_store), NS_B_LEG(movlpd_m_v, movlps_store),
    NS_B_LEG(movhps_m_v, movhps_store), NS_B_LEG(movhpd_m_v, movhps_store),
    NS_B_VEX(vmovlps_v_h_m, movlps_load), NS_B_VEX(vmovhlps_v_h_u, movlps_load),
    NS_B_VEX(vmovlpd_v_h_m, movlps_load), NS_B_VEX(vmovhps_v_h_m, movhps_load),
    NS_B_VEX(vmovlhps_v_h_u, movhps_load), NS_B_VEX(vmovhpd_v_h_m, movhps_load),
    NS_B_VEX(vmovlps_m_v, movlps_store), NS_B_VEX(vmovlpd_m_v, movlps_store),
    NS_B_VEX(vmovhps_m_v, movhps_store), NS_B_VEX(vmovhpd_m_v, movhps_store),
    NS_B_LEG(movddup_v_w, movddup), NS_B_VEX(vmovddup_v_w, movddup),
    NS_B_LEG(movsldup_v_w, movsldup), NS_B_VEX(vmovsldup_v_w, movsldup),
    NS_B_LEG(movshdup_v_w, movshdup), NS_B_VEX(vmovshdup_v_w, movshdup),
    NS_B_LEG(movd_v_e, movd_load), NS_B_LEG(movd_e_v, movd_store),
    NS_B_VEX(vmovd_v_e, movd_load), NS_B_VEX(vmovd_e_v, movd_store),
    NS_B_MMX(movd_p_e, movd_load), NS_B_MMX(movd_e_p, movd_store),
    NS_B_LEG(movq_v_w, movq_load), NS_B_LEG(movq_w_v, movq_store),
    NS_B_VEX(vmovq_v_w, movq_load), NS_B_VEX(vmovq_w_v, movq_store),
    NS_B_MMX(movq_p_q, movq_mmx_load), NS_B_MMX(movq_q_p, movq_mmx_store),
    NS_B_LEG(movq2dq_v_n, movq2dq), NS_B_LEG(movdq2q_p_u, movdq2q),
    NS_B_LEG(movmskps_g_u, movmskps), NS_B_LEG(movmskpd_g_u, movmskpd),
    NS_B_VEX(vmovmskps_g_u, movmskps), NS_B_VEX(vmovmskpd_g_u, movmskpd),
    NS_B_LEG(pmovmskb_g_u, pmovmskb), NS_B_VEX(vpmovmskb_g_u, pmovmskb), NS_B_MMX(pmovmskb_g_n, pmovmskb),
    NS_B_LEG(maskmovdqu_v_u, maskmov), NS_B_VEX(vmaskmovdqu_v_u, maskmov), NS_B_MMX(maskmovq_p_n, maskmov),
    NS_B_LEG(pinsrb_v_e_ib, pinsrb), NS_B_VEX(vpinsrb_v_h_e_ib, pinsrb),
    NS_B_LEG(pinsrw_v_e_ib, pinsrw), NS_B_VEX(vpinsrw_v_h_e_ib, pinsrw), NS_B_MMX(pinsrw_p_e_ib, pinsrw),
    NS_B_LEG(pinsrd_v_e_ib, pinsrd), NS_B_VEX(vpinsrd_v_h_e_ib, pinsrd),
    NS_B_LEG(pextrb_e_v_ib, pextrb), NS_B_VEX(vpextrb_e_v_ib, pextrb),
    NS_B_LEG(pextrw_e_v_ib, pextrw_e), NS_B_VEX(vpextrw_e_v_ib, pextrw_e),
    NS_B_LEG(pextrd_e_v_ib, pextrd), NS_B_VEX(vpextrd_e_v_ib, pextrd),
    NS_B_LEG(extractps_e_v_ib, extractps), NS_B_VEX(vextractps_e_v_ib, extractps),
    NS_B_LEG(pextrw_g_u_ib, pextrw_g), NS_B_VEX(vpextrw_g_u_ib, pextrw_g), NS_B_MMX(pextrw_g_n_ib, pextrw_g),
    NS_B_LEG(insertps_v_w_ib, insertps), NS_B_VEX(vinsertps_v_h_w_ib, insertps),
    NS_B_FN(emms, emms), NS_B_FN(movnti_m_g, movnti),
};

}  // namespace

std::span<const Binding> sse_mov_bindings() { return kBindings; }

}  // namespace isa::simd
