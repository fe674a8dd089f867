// AVX/AVX2-only forms: broadcasts, 128-bit inserts/extracts, permutes, masked moves,
// VPBLENDD, per-element shifts, VTESTPS/PD, gathers, VZEROUPPER/VZEROALL. (The VEX
// versions of SSE forms share the SSE templates, see exec_sse_*.cpp.)
#include "isa/simd.h"

namespace isa::simd {

void register_bindings(HandlerTable& t, std::span<const Binding> tab);

namespace {

// ---- broadcasts ------------------------------------------------------------------------------
// VBROADCASTSS/SD, VPBROADCASTB/W/D/Q: element 0 of xmm/mN to every element.
template <class W, bool M, class E>
void broadcast(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg b = src_wn<W, M, sizeof(E)>(c, d), r;
  E v = lanes<E>(b)[0];
  for (unsigned i = 0; i < W::kBytes / sizeof(E); i++) lanes<E>(r)[i] = v;
  put<W>(c, d.reg, r);
}
template <class W, bool M> void vpbroadcastb(Cpu& c, const DecodedInst& d) { broadcast<W, M, uint8_t>(c, d); }
template <class W, bool M> void vpbroadcastw(Cpu& c, const DecodedInst& d) { broadcast<W, M, uint16_t>(c, d); }
template <class W, bool M> void vpbroadcastd(Cpu& c, const DecodedInst& d) { broadcast<W, M, uint32_t>(c, d); }
template <class W, bool M> void vpbroadcastq(Cpu& c, const DecodedInst& d) { broadcast<W, M, uint64_t>(c, d); }
// VBROADCASTF128/I128 ymm, m128.
template <class W, bool M>
void vbroadcast128(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg b = src_wn<W, M, 16>(c, d), r;
  r.u64[0] = r.u64[2] = b.u64[0];
  r.u64[1] = r.u64[3] = b.u64[1];
  put<W>(c, d.reg, r);
}

// ---- 128-bit lane moves ---------------------------------------------------------------------------
// VINSERTF128/I128 ymm1, ymm2, xmm3/m128, imm8.
template <class W, bool M>
void vinsert128(Cpu& c, const DecodedInst& d) {
  check<V256>(c);
  VecReg r = c.v[d.vvvv], b = src_wn<V256, M, 16>(c, d);
  unsigned l = d.imm & 1;
  r.u64[2 * l] = b.u64[0];
  r.u64[2 * l + 1] = b.u64[1];
  put<V256>(c, d.reg, r);
}
// VEXTRACTF128/I128 xmm1/m128, ymm2, imm8.
template <class W, bool M>
void vextract128(Cpu& c, const DecodedInst& d) {
  check<V256>(c);
  VecReg r = zero_vec();
  unsigned l = d.imm & 1;
  r.u64[0] = c.v[d.reg].u64[2 * l];
  r.u64[1] = c.v[d.reg].u64[2 * l + 1];
  if constexpr (M) store_mem<16>(c, d, &r);
  else put<V128>(c, d.rm, r);
}
// VPERM2F128/I128: each destination lane picks a lane of src1/src2 or zero.
template <class W, bool M>
void vperm2x128(Cpu& c, const DecodedInst& d) {
  check<V256>(c);
  VecReg a = c.v[d.vvvv], b = src_w<V256, M>(c, d), r;
  for (unsigned l = 0; l < 2; l++) {
    unsigned s = (d.imm >> (4 * l)) & 0xF;
    const VecReg& src = (s & 2) ? b : a;
    r.u64[2 * l] = (s & 8) ? 0 : src.u64[2 * (s & 1)];
    r.u64[2 * l + 1] = (s & 8) ? 0 : src.u64[2 * (s & 1) + 1];
  }
  put<V256>(c, d.reg, r);
}

// ---- permutes ----------------------------------------------------------------------------------------
// VPERMILPS/PD with a vector control (src2) on the data of src1, within each lane.
template <class W, bool M>
void vpermilps_var(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg a = c.v[d.vvvv], b = src_w<W, M>(c, d), r;
  for (unsigned i = 0; i < W::kBytes / 4; i++) r.u32[i] = a.u32[(i & ~3u) + (b.u32[i] & 3)];
  put<W>(c, d.reg, r);
}
template <class W, bool M>
void vpermilpd_var(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg a = c.v[d.vvvv], b = src_w<W, M>(c, d), r;
  for (unsigned i = 0; i < W::kBytes / 8; i++) r.u64[i] = a.u64[(i & ~1u) + ((b.u64[i] >> 1) & 1)];
  put<W>(c, d.reg, r);
}
// VPERMILPS/PD xmm1, xmm2/m, imm8: the same imm8 for every lane (PS), a bit per
// element (PD).
template <class W, bool M>
void vpermilps_imm(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg b = src_w<W, M>(c, d), r;
  for (unsigned i = 0; i < W::kBytes / 4; i++) r.u32[i] = b.u32[(i & ~3u) + ((d.imm >> (2 * (i & 3))) & 3)];
  put<W>(c, d.reg, r);
}
template <class W, bool M>
void vpermilpd_imm(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg b = src_w<W, M>(c, d), r;
  for (unsigned i = 0; i < W::kBytes / 8; i++) r.u64[i] = b.u64[(i & ~1u) + ((d.imm >> i) & 1)];
  put<W>(c, d.reg, r);
}
// VPERMD/VPERMPS ymm1, ymm2 (indices), ymm3/m256 (data).
template <class W, bool M>
void vpermd(Cpu& c, const DecodedInst& d) {
  check<V256>(c);
  VecReg idx = c.v[d.vvvv], b = src_w<V256, M>(c, d), r;
  for (unsigned i = 0; i < 8; i++) r.u32[i] = b.u32[idx.u32[i] & 7];
  put<V256>(c, d.reg, r);
}
// VPERMQ/VPERMPD ymm1, ymm2/m256, imm8.
template <class W, bool M>
void vpermq(Cpu& c, const DecodedInst& d) {
  check<V256>(c);
  VecReg b = src_w<V256, M>(c, d), r;
  for (unsigned i = 0; i < 4; i++) r.u64[i] = b.u64[(d.imm >> (2 * i)) & 3];
  put<V256>(c, d.reg, r);
}

// ---- VPBLENDD (a bit of imm8 per dword) ----------------------------------------------------------
template <class W, bool M>
void vpblendd(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg a = c.v[d.vvvv], b = src_w<W, M>(c, d), r;
  for (unsigned i = 0; i < W::kBytes / 4; i++) r.u32[i] = (d.imm >> i) & 1 ? b.u32[i] : a.u32[i];
  put<W>(c, d.reg, r);
}

// ---- per-element shifts (AVX2 VPSLLV/VPSRLV/VPSRAV) ----------------------------------------------
template <class W, bool M, class E, int Dir>
void shiftv(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg a = c.v[d.vvvv], b = src_w<W, M>(c, d), r;
  constexpr unsigned bits = sizeof(E) * 8;
  using S = std::make_signed_t<E>;
  for (unsigned i = 0; i < W::kBytes / sizeof(E); i++) {
    E v = lanes<E>(a)[i], n = lanes<E>(b)[i];
    E o;
    if constexpr (Dir == 0) o = n >= bits ? 0 : E(v << n);
    else if constexpr (Dir == 1) o = n >= bits ? 0 : E(v >> n);
    else o = E(S(v) >> (n >= bits ? bits - 1 : n));
    lanes<E>(r)[i] = o;
  }
  put<W>(c, d.reg, r);
}
template <class W, bool M> void vpsllvd(Cpu& c, const DecodedInst& d) { shiftv<W, M, uint32_t, 0>(c, d); }
template <class W, bool M> void vpsllvq(Cpu& c, const DecodedInst& d) { shiftv<W, M, uint64_t, 0>(c, d); }
template <class W, bool M> void vpsrlvd(Cpu& c, const DecodedInst& d) { shiftv<W, M, uint32_t, 1>(c, d); }
template <class W, bool M> void vpsrlvq(Cpu& c, const DecodedInst& d) { shiftv<W, M, uint64_t, 1>(c, d); }
template <class W, bool M> void vpsravd(Cpu& c, const DecodedInst& d) { shiftv<W, M, uint32_t, 2>(c, d); }

// ---- VTESTPS/VTESTPD: PTEST on the sign bits only ------------------------------------------------
template <class W, bool M, class E>
void vtest(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg a = c.v[d.reg], b = src_w<W, M>(c, d);
  constexpr E sign = E(1) << (sizeof(E) * 8 - 1);
  E z = 0, cf = 0;
  for (unsigned i = 0; i < W::kBytes / sizeof(E); i++) {
    z |= lanes<E>(a)[i] & lanes<E>(b)[i] & sign;
    cf |= ~lanes<E>(a)[i] & lanes<E>(b)[i] & sign;
  }
  set_eflags(c, (z ? 0 : uint32_t(FLAG_ZF)) | (cf ? 0 : uint32_t(FLAG_CF)));
}
template <class W, bool M> void vtestps(Cpu& c, const DecodedInst& d) { vtest<W, M, uint32_t>(c, d); }
template <class W, bool M> void vtestpd(Cpu& c, const DecodedInst& d) { vtest<W, M, uint64_t>(c, d); }

// ---- masked moves (VMASKMOVPS/PD, VPMASKMOVD/Q) ----------------------------------------------------
// Only the elements whose mask (VEX.vvvv) sign bit is set are accessed, so masked-off
// elements never fault (SDM Vol. 2A VMASKMOV "Faults occur only due to mask-bit
// required memory accesses"); loads zero the others. Stores probe every selected
// element before writing any.
template <class W, bool M, class E>
void maskload(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  if constexpr (!M) raise_ud();
  VecReg m = c.v[d.vvvv], r = zero_vec();
  uint64_t off = c.ea(d);
  using S = std::make_signed_t<E>;
  for (unsigned i = 0; i < W::kBytes / sizeof(E); i++)
    if (S(lanes<E>(m)[i]) < 0) lanes<E>(r)[i] = c.read<E>(d.seg, off + i * sizeof(E));
  put<W>(c, d.reg, r);
}
template <class W, bool M, class E>
void maskstore(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  if constexpr (!M) raise_ud();
  VecReg m = c.v[d.vvvv], v = c.v[d.reg];
  uint64_t off = c.ea(d);
  using S = std::make_signed_t<E>;
  constexpr unsigned n = W::kBytes / sizeof(E);
  for (unsigned i = 0; i < n; i++)
    if (S(lanes<E>(m)[i]) < 0) c.probe_write(d.seg, off + i * sizeof(E), sizeof(E));
  for (unsigned i = 0; i < n; i++)
    if (S(lanes<E>(m)[i]) < 0) c.write<E>(d.seg, off + i * sizeof(E), lanes<E>(v)[i]);
}
template <class W, bool M> void vmaskmovps_ld(Cpu& c, const DecodedInst& d) { maskload<W, M, uint32_t>(c, d); }
template <class W, bool M> void vmaskmovpd_ld(Cpu& c, const DecodedInst& d) { maskload<W, M, uint64_t>(c, d); }
template <class W, bool M> void vmaskmovps_st(Cpu& c, const DecodedInst& d) { maskstore<W, M, uint32_t>(c, d); }
template <class W, bool M> void vmaskmovpd_st(Cpu& c, const DecodedInst& d) { maskstore<W, M, uint64_t>(c, d); }
// VPMASKMOVD/Q: VEX.W selects the quadword form.
template <class W, bool M>
void vpmaskmov_ld(Cpu& c, const DecodedInst& d) {
  if (rexw(d)) maskload<W, M, uint64_t>(c, d);
  else maskload<W, M, uint32_t>(c, d);
}
template <class W, bool M>
void vpmaskmov_st(Cpu& c, const DecodedInst& d) {
  if (rexw(d)) maskstore<W, M, uint64_t>(c, d);
  else maskstore<W, M, uint32_t>(c, d);
}

// ---- gathers (AVX2) ------------------------------------------------------------------------------------
// VGATHER/VPGATHER dest, [base + index*scale + disp], mask: elements whose mask sign
// bit is set are loaded in order, each clearing its mask element; a fault leaves the
// completed elements written and their mask bits cleared (the instruction restarts
// from there), and completion clears the whole mask (SDM Vol. 2A VGATHERDPD "Operation").
// dest, index and mask must be distinct registers (#UD).
template <class W, bool M, class I, class E>
void gather(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  if constexpr (!M) raise_ud();
  unsigned xi = d.index;
  if (d.reg == xi || d.reg == d.vvvv || d.vvvv == xi || xi >= 16) raise_ud();
  constexpr unsigned n = std::min(W::kBytes / sizeof(I), W::kBytes / sizeof(E));
  constexpr unsigned keep = n * sizeof(E);  // bytes of dest and mask the form defines
  VecReg dst = zero_vec(), mask = zero_vec();
  std::memcpy(&dst, &c.v[d.reg], keep);
  std::memcpy(&mask, &c.v[d.vvvv], keep);
  const VecReg idx = c.v[xi];
  using S = std::make_signed_t<E>;
  auto commit = [&] {
    c.v[d.reg] = dst;  // VEX: bits above the defined elements are zeroed
    c.v[d.vvvv] = mask;
  };
  try {
    for (unsigned i = 0; i < n; i++) {
      if (S(lanes<E>(mask)[i]) >= 0) continue;
      uint64_t a = c.r[d.base] + (uint64_t(int64_t(lanes<I>(idx)[i])) << d.scale) + uint64_t(int64_t(d.disp));
      if (d.asize == 4) a = uint32_t(a);
      else if (d.asize == 2) a = uint16_t(a);
      lanes<E>(dst)[i] = c.read<E>(d.seg, a);
      lanes<E>(mask)[i] = 0;
    }
  } catch (const CpuFault&) {
    commit();
    throw;
  }
  mask = zero_vec();
  commit();
}
// VGATHERDPS/DPD, VGATHERQPS/QPD, VPGATHERDD/DQ, VPGATHERQD/QQ: each pair shares an
// opcode, VEX.W choosing the element size.
template <class W, bool M>
void vpgatherd(Cpu& c, const DecodedInst& d) {
  if (rexw(d)) gather<W, M, int32_t, uint64_t>(c, d);
  else gather<W, M, int32_t, uint32_t>(c, d);
}
template <class W, bool M>
void vpgatherq(Cpu& c, const DecodedInst& d) {
  if (rexw(d)) gather<W, M, int64_t, uint64_t>(c, d);
  else gather<W, M, int64_t, uint32_t>(c, d);
}

// ---- VZEROUPPER / VZEROALL: registers 8-15 exist only in 64-bit mode ------------------------------
void vzeroupper(Cpu& c, const DecodedInst&) {
  avx_check(c);
  unsigned n = c.long64 ? 16 : 8;
  for (unsigned i = 0; i < n; i++) c.v[i].u64[2] = c.v[i].u64[3] = 0;
}
void vzeroall(Cpu& c, const DecodedInst&) {
  avx_check(c);
  unsigned n = c.long64 ? 16 : 8;
  for (unsigned i = 0; i < n; i++) c.v[i] = zero_vec();
}

const Binding kBindings[] = {
    NS_B_VEX(vbroadcastss_v_w, vpbroadcastd), NS_B_VEX(vbroadcastsd_v_w, vpbroadcastq),
    NS_B_VEX(vpbroadcastb_v_w, vpbroadcastb), NS_B_VEX(vpbroadcastw_v_w, vpbroadcastw),
    NS_B_VEX(vpbroadcastd_v_w, vpbroadcastd), NS_B_VEX(vpbroadcastq_v_w, vpbroadcastq),
    NS_B_VEX(vbroadcastf128_v_m, vbroadcast128), NS_B_VEX(vbroadcasti128_v_m, vbroadcast128),
    NS_B_VEX(vinsertf128_v_h_w_ib, vinsert128), NS_B_VEX(vinserti128_v_h_w_ib, vinsert128),
    NS_B_VEX(vextractf128_w_v_ib, vextract128), NS_B_VEX(vextracti128_w_v_ib, vextract128),
    NS_B_VEX(vperm2f128_v_h_w_ib, vperm2x128), NS_B_VEX(vperm2i128_v_h_w_ib, vperm2x128),
    NS_B_VEX(vpermilps_v_h_w, vpermilps_var), NS_B_VEX(vpermilpd_v_h_w, vpermilpd_var),
    NS_B_VEX(vpermilps_v_w_ib, vpermilps_imm), NS_B_VEX(vpermilpd_v_w_ib, vpermilpd_imm),
    NS_B_VEX(vpermd_v_h_w, vpermd), NS_B_VEX(vpermps_v_h_w, vpermd),
    NS_B_VEX(vpermq_v_w_ib, vpermq), NS_B_VEX(vpermpd_v_w_ib, vpermq),
    NS_B_VEX(vpblendd_v_h_w_ib, vpblendd),
    NS_B_VEX(vpsllvd_v_h_w, vpsllvd), NS_B_VEX(vpsllvq_v_h_w, vpsllvq),
    NS_B_VEX(vpsrlvd_v_h_w, vpsrlvd), NS_B_VEX(vpsrlvq_v_h_w, vpsrlvq),
    NS_B_VEX(vpsravd_v_h_w, vpsravd),
    NS_B_VEX(vtestps_v_w, vtestps), NS_B_VEX(vtestpd_v_w, vtestpd),
    NS_B_VEX(vmaskmovps_v_h_m, vmaskmovps_ld), NS_B_VEX(vmaskmovpd_v_h_m, vmaskmovpd_ld),
    NS_B_VEX(vmaskmovps_m_h_v, vmaskmovps_st), NS_B_VEX(vmaskmovpd_m_h_v, vmaskmovpd_st),
    NS_B_VEX(vpmaskmovd_v_h_m, vpmaskmov_ld), NS_B_VEX(vpmaskmovd_m_h_v, vpmaskmov_st),
    NS_B_VEX(vpmaskmovq_v_h_m, vpmaskmov_ld), NS_B_VEX(vpmaskmovq_m_h_v, vpmaskmov_st),
    NS_B_VEX(vgatherdps_v_m_h, vpgatherd), NS_B_VEX(vgatherqps_v_m_h, vpgatherq),
    NS_B_VEX(vgatherdpd_v_m_h, vpgatherd), NS_B_VEX(vgatherqpd_v_m_h, vpgatherq),
    NS_B_VEX(vpgatherdd_v_m_h, vpgatherd), NS_B_VEX(vpgatherqd_v_m_h, vpgatherq),
    NS_B_VEX(vpgatherdq_v_m_h, vpgatherd), NS_B_VEX(vpgatherqq_v_m_h, vpgatherq),
    NS_B_FN(vzeroupper, vzeroupper), NS_B_FN(vzeroall, vzeroall),
};

}  // namespace

std::span<const Binding> avx_bindings() { return kBindings; }

}  // namespace isa::simd

namespace isa {

void register_avx_handlers(HandlerTable& t) { simd::register_bindings(t, simd::avx_bindings()); }

}  // namespace isa
