// MMX/SSE2..SSE4.1 and AVX/AVX2 integer vector arithmetic, logic, compares, shifts,
// packs, unpacks, shuffles and blends. One template per form serves the MMX, legacy
// SSE, VEX.128 and VEX.256 encodings (simd.h); operations defined per 128-bit lane
// (SDM: "for the 256-bit form, the operation is applied to each 128-bit lane") loop
// over kLanes<W>, MMX being one 8-byte lane.
#include <algorithm>
#include <limits>

#include "isa/simd.h"

namespace isa::simd {
namespace {

template <class W>
constexpr unsigned kLaneBytes = W::kMmx ? 8 : 16;
// Element-wise integer operations compute all 32 bytes for every XMM/YMM width (put<W>
// keeps only W's part): the loop then compiles to one 256-bit operation and one
// 32-byte store, and put's 16-byte load of it is store-forwarded (8-byte element
// stores followed by a 16-byte load are not).
template <class W>
constexpr unsigned kCalcBytes = W::kMmx ? 8 : 32;

template <class T>
T sat(int64_t v) {
  return T(std::clamp<int64_t>(v, std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
}

// dest = f(src1, src2) element-wise over E.
template <class W, bool M, class E, class F>
inline void ibin(Cpu& c, const DecodedInst& d, F f) {
  check<W>(c);
  VecReg a = src1<W>(c, d);
  VecReg b = src_w<W, M>(c, d);
  VecReg r = zero_vec();
  E* rp = lanes<E>(r);
  const E* ap = lanes<E>(a);
  const E* bp = lanes<E>(b);
  for (unsigned i = 0; i < kCalcBytes<W> / sizeof(E); i++) rp[i] = f(ap[i], bp[i]);
  put<W>(c, d.reg, r);
}
// dest = f(src) element-wise (PABS*).
template <class W, bool M, class E, class F>
inline void iun(Cpu& c, const DecodedInst& d, F f) {
  check<W>(c);
  VecReg b = src_w<W, M>(c, d);
  VecReg r = zero_vec();
  for (unsigned i = 0; i < kCalcBytes<W> / sizeof(E); i++) lanes<E>(r)[i] = f(lanes<E>(b)[i]);
  put<W>(c, d.reg, r);
}

#define NS_IBIN(name, E, expr)                                                      \
  template <class W, bool M>                                                        \
  void name(Cpu& c, const DecodedInst& d) {                                         \
    ibin<W, M, E>(c, d, [](E a, E b) -> E { return E(expr); });                     \
  }

// ---- add/sub (SDM Vol. 2B PADDB.., PADDS.., PADDUS.., PSUB..) ----------------------------
NS_IBIN(paddb, uint8_t, a + b) NS_IBIN(paddw, uint16_t, a + b)
NS_IBIN(paddd, uint32_t, a + b) NS_IBIN(paddq, uint64_t, a + b)
NS_IBIN(psubb, uint8_t, a - b) NS_IBIN(psubw, uint16_t, a - b)
NS_IBIN(psubd, uint32_t, a - b) NS_IBIN(psubq, uint64_t, a - b)
NS_IBIN(paddsb, int8_t, sat<int8_t>(int(a) + b)) NS_IBIN(paddsw, int16_t, sat<int16_t>(int(a) + b))
NS_IBIN(psubsb, int8_t, sat<int8_t>(int(a) - b)) NS_IBIN(psubsw, int16_t, sat<int16_t>(int(a) - b))
NS_IBIN(paddusb, uint8_t, sat<uint8_t>(int(a) + b)) NS_IBIN(paddusw, uint16_t, sat<uint16_t>(int(a) + b))
NS_IBIN(psubusb, uint8_t, sat<uint8_t>(int(a) - b)) NS_IBIN(psubusw, uint16_t, sat<uint16_t>(int(a) - b))

// ---- multiplies -------------------------------------------------------------------------------
NS_IBIN(pmullw, uint16_t, uint32_t(a) * b)
NS_IBIN(pmulhw, int16_t, (int32_t(a) * b) >> 16)
NS_IBIN(pmulhuw, uint16_t, (uint32_t(a) * b) >> 16)
NS_IBIN(pmulld, uint32_t, uint64_t(a) * b)
NS_IBIN(pmuludq, uint64_t, uint64_t(uint32_t(a)) * uint32_t(b))
NS_IBIN(pmuldq, int64_t, int64_t(int32_t(a)) * int32_t(b))
// PMULHRSW: round the 32-bit product to the high 16 bits, (p >> 14) + 1 >> 1 (SSSE3).
NS_IBIN(pmulhrsw, int16_t, (((int32_t(a) * b) >> 14) + 1) >> 1)
NS_IBIN(pavgb, uint8_t, (unsigned(a) + b + 1) >> 1) NS_IBIN(pavgw, uint16_t, (unsigned(a) + b + 1) >> 1)

// PMADDWD: pairs of signed word products summed into dwords (the one overflowing case,
// all four words 8000H, wraps to 80000000H).
template <class W, bool M>
void pmaddwd(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg a = src1<W>(c, d), b = src_w<W, M>(c, d), r;
  for (unsigned i = 0; i < W::kBytes / 4; i++) {
    r.u32[i] = uint32_t(int32_t(a.i16[2 * i]) * b.i16[2 * i]) +
               uint32_t(int32_t(a.i16[2 * i + 1]) * b.i16[2 * i + 1]);
  }
  put<W>(c, d.reg, r);
}
// PMADDUBSW: unsigned bytes of src1 times signed bytes of src2, pairs added with
// signed saturation.
template <class W, bool M>
void pmaddubsw(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg a = src1<W>(c, d), b = src_w<W, M>(c, d), r;
  for (unsigned i = 0; i < W::kBytes / 2; i++) {
    r.i16[i] = sat<int16_t>(int(a.u8[2 * i]) * b.i8[2 * i] + int(a.u8[2 * i + 1]) * b.i8[2 * i + 1]);
  }
  put<W>(c, d.reg, r);
}
// PSADBW: per 64-bit group, the sum of absolute byte differences in the low word.
template <class W, bool M>
void psadbw(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg a = src1<W>(c, d), b = src_w<W, M>(c, d), r;
  for (unsigned q = 0; q < W::kBytes / 8; q++) {
    unsigned s = 0;
    for (unsigned i = 0; i < 8; i++) s += std::abs(int(a.u8[8 * q + i]) - int(b.u8[8 * q + i]));
    r.u64[q] = s;
  }
  put<W>(c, d.reg, r);
}

// ---- min/max, compares -------------------------------------------------------------------------
NS_IBIN(pminub, uint8_t, std::min(a, b)) NS_IBIN(pmaxub, uint8_t, std::max(a, b))
NS_IBIN(pminsw, int16_t, std::min(a, b)) NS_IBIN(pmaxsw, int16_t, std::max(a, b))
NS_IBIN(pminsb, int8_t, std::min(a, b)) NS_IBIN(pmaxsb, int8_t, std::max(a, b))
NS_IBIN(pminuw, uint16_t, std::min(a, b)) NS_IBIN(pmaxuw, uint16_t, std::max(a, b))
NS_IBIN(pminsd, int32_t, std::min(a, b)) NS_IBIN(pmaxsd, int32_t, std::max(a, b))
NS_IBIN(pminud, uint32_t, std::min(a, b)) NS_IBIN(pmaxud, uint32_t, std::max(a, b))
NS_IBIN(pcmpeqb, uint8_t, a == b ? 0xFF : 0) NS_IBIN(pcmpeqw, uint16_t, a == b ? 0xFFFF : 0)
NS_IBIN(pcmpeqd, uint32_t, a == b ? ~0u : 0) NS_IBIN(pcmpeqq, uint64_t, a == b ? ~0ull : 0)
NS_IBIN(pcmpgtb, int8_t, a > b ? -1 : 0) NS_IBIN(pcmpgtw, int16_t, a > b ? -1 : 0)
NS_IBIN(pcmpgtd, int32_t, a > b ? -1 : 0) NS_IBIN(pcmpgtq, int64_t, a > b ? -1 : 0)

// ---- logic (also ANDPS/ANDPD/ORPS... which are the same bitwise operation) -------------------
NS_IBIN(pand, uint64_t, a & b) NS_IBIN(pandn, uint64_t, ~a & b)
NS_IBIN(por, uint64_t, a | b) NS_IBIN(pxor, uint64_t, a ^ b)

// ---- SSSE3 sign/abs/horizontal ---------------------------------------------------------------------
NS_IBIN(psignb, int8_t, b < 0 ? -a : b == 0 ? 0 : a)
NS_IBIN(psignw, int16_t, b < 0 ? -a : b == 0 ? 0 : a)
NS_IBIN(psignd, int32_t, b < 0 ? int32_t(0u - uint32_t(a)) : b == 0 ? 0 : a)
template <class W, bool M> void pabsb(Cpu& c, const DecodedInst& d) { iun<W, M, int8_t>(c, d, [](int8_t a) { return int8_t(a < 0 ? -a : a); }); }
template <class W, bool M> void pabsw(Cpu& c, const DecodedInst& d) { iun<W, M, int16_t>(c, d, [](int16_t a) { return int16_t(a < 0 ? -a : a); }); }
template <class W, bool M> void pabsd(Cpu& c, const DecodedInst& d) { iun<W, M, int32_t>(c, d, [](int32_t a) { return int32_t(a < 0 ? 0u - uint32_t(a) : uint32_t(a)); }); }

// PHADD/PHSUB: per lane, the low half of the result from adjacent pairs of src1, the
// high half from src2.
template <class W, bool M, class E, class F>
inline void ihoriz(Cpu& c, const DecodedInst& d, F f) {
  check<W>(c);
  VecReg a = src1<W>(c, d), b = src_w<W, M>(c, d), r;
  constexpr unsigned n = kLaneBytes<W> / sizeof(E);  // elements per lane
  for (unsigned l = 0; l < kLanes<W>; l++) {
    const E* ap = lanes<E>(a) + l * n;
    const E* bp = lanes<E>(b) + l * n;
    E* rp = lanes<E>(r) + l * n;
    for (unsigned i = 0; i < n / 2; i++) {
      rp[i] = f(ap[2 * i], ap[2 * i + 1]);
      rp[n / 2 + i] = f(bp[2 * i], bp[2 * i + 1]);
    }
  }
  put<W>(c, d.reg, r);
}
#define NS_IHORIZ(name, E, expr) \
  template <class W, bool M>     \
  void name(Cpu& c, const DecodedInst& d) { ihoriz<W, M, E>(c, d, [](E a, E b) -> E { return E(expr); }); }
NS_IHORIZ(phaddw, uint16_t, a + b) NS_IHORIZ(phaddd, uint32_t, a + b)
NS_IHORIZ(phaddsw, int16_t, sat<int16_t>(int(a) + b))
NS_IHORIZ(phsubw, uint16_t, a - b) NS_IHORIZ(phsubd, uint32_t, a - b)
NS_IHORIZ(phsubsw, int16_t, sat<int16_t>(int(a) - b))

// ---- shifts ------------------------------------------------------------------------------------------
// Count operand of the shift-by-register forms: mm/m64, xmm/m128 (legacy: aligned),
// and for VEX.256 still xmm/m128 (SDM Vol. 2B PSLLW). Only its low quadword counts.
template <class W, bool M>
inline uint64_t shift_count(Cpu& c, const DecodedInst& d) {
  if constexpr (W::kMmx || !W::kVex) return src_w<W, M>(c, d).u64[0];
  else return src_wn<W, M, 16>(c, d).u64[0];
}
// Logical shifts past the element width give 0, arithmetic ones the sign.
template <class E, int Dir>  // Dir: 0 left, 1 logical right, 2 arithmetic right
inline E shift_elem(E v, uint64_t n) {
  constexpr unsigned bits = sizeof(E) * 8;
  if constexpr (Dir == 0) return n >= bits ? E(0) : E(v << n);
  else if constexpr (Dir == 1) return n >= bits ? E(0) : E(v >> n);
  else {
    using S = std::make_signed_t<E>;
    return E(S(v) >> (n >= bits ? bits - 1 : n));
  }
}
template <class W, class E, int Dir>
inline VecReg shift_vec(const VecReg& a, uint64_t n) {
  VecReg r = zero_vec();
  for (unsigned i = 0; i < kCalcBytes<W> / sizeof(E); i++) lanes<E>(r)[i] = shift_elem<E, Dir>(lanes<E>(a)[i], n);
  return r;
}
// PSLLW xmm1, xmm2/m128 (VEX: xmm1, xmm2, xmm3/m128).
template <class W, bool M, class E, int Dir>
void shift_reg(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg a = src1<W>(c, d);
  uint64_t n = shift_count<W, M>(c, d);
  put<W>(c, d.reg, shift_vec<W, E, Dir>(a, n));
}
// PSLLW xmm1, imm8 (group 12-14): the register is ModRM.rm; VEX writes VEX.vvvv
// ("VPSLLW xmm1, xmm2, imm8" with xmm1 = vvvv, xmm2 = ModRM.rm).
template <class W, bool M, class E, int Dir>
void shift_imm(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg a = get<W>(c, d.rm);
  put<W>(c, W::kVex ? d.vvvv : d.rm, shift_vec<W, E, Dir>(a, d.imm & 0xFF));
}
#define NS_SHIFTS(name, E, Dir)                                                                   \
  template <class W, bool M> void name(Cpu& c, const DecodedInst& d) { shift_reg<W, M, E, Dir>(c, d); } \
  template <class W, bool M> void name##_i(Cpu& c, const DecodedInst& d) { shift_imm<W, M, E, Dir>(c, d); }
NS_SHIFTS(psllw, uint16_t, 0) NS_SHIFTS(pslld, uint32_t, 0) NS_SHIFTS(psllq, uint64_t, 0)
NS_SHIFTS(psrlw, uint16_t, 1) NS_SHIFTS(psrld, uint32_t, 1) NS_SHIFTS(psrlq, uint64_t, 1)
NS_SHIFTS(psraw, uint16_t, 2) NS_SHIFTS(psrad, uint32_t, 2)

// PSLLDQ/PSRLDQ xmm, imm8: byte shifts within each 128-bit lane; counts > 15 clear it.
template <class W, bool M, bool Left>
void pbyteshift(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg a = get<W>(c, d.rm), r = zero_vec();
  unsigned n = d.imm & 0xFF;
  for (unsigned l = 0; l < kLanes<W>; l++) {
    for (unsigned i = 0; i < 16; i++) {
      unsigned src = Left ? i - n : i + n;  // unsigned wrap makes out-of-range > 15
      r.u8[16 * l + i] = src < 16 && n < 16 ? a.u8[16 * l + src] : 0;
    }
  }
  put<W>(c, W::kVex ? d.vvvv : d.rm, r);
}
template <class W, bool M> void pslldq(Cpu& c, const DecodedInst& d) { pbyteshift<W, M, true>(c, d); }
template <class W, bool M> void psrldq(Cpu& c, const DecodedInst& d) { pbyteshift<W, M, false>(c, d); }

// ---- packs (per lane: the low half from src1, the high half from src2) -------------------------
template <class W, bool M, class From, class To>
void pack(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg a = src1<W>(c, d), b = src_w<W, M>(c, d), r;
  constexpr unsigned n = kLaneBytes<W> / sizeof(From);  // source elements per lane
  for (unsigned l = 0; l < kLanes<W>; l++) {
    for (unsigned i = 0; i < n; i++) {
      lanes<To>(r)[l * 2 * n + i] = sat<To>(lanes<From>(a)[l * n + i]);
      lanes<To>(r)[l * 2 * n + n + i] = sat<To>(lanes<From>(b)[l * n + i]);
    }
  }
  put<W>(c, d.reg, r);
}
template <class W, bool M> void packsswb(Cpu& c, const DecodedInst& d) { pack<W, M, int16_t, int8_t>(c, d); }
template <class W, bool M> void packuswb(Cpu& c, const DecodedInst& d) { pack<W, M, int16_t, uint8_t>(c, d); }
template <class W, bool M> void packssdw(Cpu& c, const DecodedInst& d) { pack<W, M, int32_t, int16_t>(c, d); }
template <class W, bool M> void packusdw(Cpu& c, const DecodedInst& d) { pack<W, M, int32_t, uint16_t>(c, d); }

// ---- unpacks (per lane, interleaving the low or high halves) --------------------------------------
// The MMX low unpacks read only 32 bits of memory (PUNPCKLBW mm, mm/m32).
template <class W, bool M, class E, bool High>
void unpack(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg a = src1<W>(c, d);
  VecReg b;
  if constexpr (W::kMmx && !High) b = src_wn<W, M, 4>(c, d);
  else b = src_w<W, M>(c, d);
  VecReg r;
  constexpr unsigned n = kLaneBytes<W> / sizeof(E);
  constexpr unsigned base = High ? n / 2 : 0;
  for (unsigned l = 0; l < kLanes<W>; l++) {
    for (unsigned i = 0; i < n / 2; i++) {
      lanes<E>(r)[l * n + 2 * i] = lanes<E>(a)[l * n + base + i];
      lanes<E>(r)[l * n + 2 * i + 1] = lanes<E>(b)[l * n + base + i];
    }
  }
  put<W>(c, d.reg, r);
}
template <class W, bool M> void punpcklbw(Cpu& c, const DecodedInst& d) { unpack<W, M, uint8_t, false>(c, d); }
template <class W, bool M> void punpcklwd(Cpu& c, const DecodedInst& d) { unpack<W, M, uint16_t, false>(c, d); }
template <class W, bool M> void punpckldq(Cpu& c, const DecodedInst& d) { unpack<W, M, uint32_t, false>(c, d); }
template <class W, bool M> void punpcklqdq(Cpu& c, const DecodedInst& d) { unpack<W, M, uint64_t, false>(c, d); }
template <class W, bool M> void punpckhbw(Cpu& c, const DecodedInst& d) { unpack<W, M, uint8_t, true>(c, d); }
template <class W, bool M> void punpckhwd(Cpu& c, const DecodedInst& d) { unpack<W, M, uint16_t, true>(c, d); }
template <class W, bool M> void punpckhdq(Cpu& c, const DecodedInst& d) { unpack<W, M, uint32_t, true>(c, d); }
template <class W, bool M> void punpckhqdq(Cpu& c, const DecodedInst& d) { unpack<W, M, uint64_t, true>(c, d); }

// ---- shuffles ---------------------------------------------------------------------------------------------
// PSHUFB: per lane, each byte selects a byte of src1 by the low bits of src2's byte,
// or zero when its bit 7 is set.
template <class W, bool M>
void pshufb(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg a = src1<W>(c, d), b = src_w<W, M>(c, d), r;
  if constexpr (W::kMmx) {
    for (unsigned i = 0; i < 8; i++) r.u8[i] = (b.u8[i] & 0x80) ? 0 : a.u8[b.u8[i] & 7];
  } else {
    // The host's PSHUFB has exactly these semantics (per 128-bit lane); it is hot in
    // string code, so it is not spelled out byte by byte.
    auto* ap = reinterpret_cast<const __m256i*>(a.u8);
    auto* bp = reinterpret_cast<const __m256i*>(b.u8);
    _mm256_store_si256(reinterpret_cast<__m256i*>(r.u8), _mm256_shuffle_epi8(_mm256_load_si256(ap), _mm256_load_si256(bp)));
  }
  put<W>(c, d.reg, r);
}
// PSHUFD xmm1, xmm2/m128, imm8 (per lane for VEX.256).
template <class W, bool M>
void pshufd(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg b = src_w<W, M>(c, d), r;
  for (unsigned l = 0; l < kLanes<W>; l++)
    for (unsigned i = 0; i < 4; i++) r.u32[4 * l + i] = b.u32[4 * l + ((d.imm >> (2 * i)) & 3)];
  put<W>(c, d.reg, r);
}
// PSHUFHW/PSHUFLW: shuffle the high/low four words of each lane, copy the others.
template <class W, bool M, bool High>
void pshufhlw(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg b = src_w<W, M>(c, d), r = b;
  constexpr unsigned o = High ? 4 : 0;
  for (unsigned l = 0; l < kLanes<W>; l++)
    for (unsigned i = 0; i < 4; i++) r.u16[8 * l + o + i] = b.u16[8 * l + o + ((d.imm >> (2 * i)) & 3)];
  put<W>(c, d.reg, r);
}
template <class W, bool M> void pshufhw(Cpu& c, const DecodedInst& d) { pshufhlw<W, M, true>(c, d); }
template <class W, bool M> void pshuflw(Cpu& c, const DecodedInst& d) { pshufhlw<W, M, false>(c, d); }
// PSHUFW mm1, mm2/m64, imm8 (MMX extension of SSE).
template <class W, bool M>
void pshufw(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg b = src_w<W, M>(c, d), r = zero_vec();
  for (unsigned i = 0; i < 4; i++) r.u16[i] = b.u16[(d.imm >> (2 * i)) & 3];
  put<W>(c, d.reg, r);
}
// SHUFPS: per lane, two elements from src1 and two from src2 selected by imm8.
template <class W, bool M>
void shufps(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg a = src1<W>(c, d), b = src_w<W, M>(c, d), r;
  unsigned m = d.imm;
  for (unsigned l = 0; l < kLanes<W>; l++) {
    r.u32[4 * l + 0] = a.u32[4 * l + (m & 3)];
    r.u32[4 * l + 1] = a.u32[4 * l + ((m >> 2) & 3)];
    r.u32[4 * l + 2] = b.u32[4 * l + ((m >> 4) & 3)];
    r.u32[4 * l + 3] = b.u32[4 * l + ((m >> 6) & 3)];
  }
  put<W>(c, d.reg, r);
}
// SHUFPD: imm8 bit 2l (src1) and 2l+1 (src2) for lane l.
template <class W, bool M>
void shufpd(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg a = src1<W>(c, d), b = src_w<W, M>(c, d), r;
  for (unsigned l = 0; l < kLanes<W>; l++) {
    r.u64[2 * l] = a.u64[2 * l + ((d.imm >> (2 * l)) & 1)];
    r.u64[2 * l + 1] = b.u64[2 * l + ((d.imm >> (2 * l + 1)) & 1)];
  }
  put<W>(c, d.reg, r);
}
// PALIGNR: per lane, (src1:src2) shifted right by imm8 bytes, the low lane kept.
template <class W, bool M>
void palignr(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg a = src1<W>(c, d), b = src_w<W, M>(c, d), r;
  constexpr unsigned n = kLaneBytes<W>;
  unsigned s = d.imm & 0xFF;
  for (unsigned l = 0; l < kLanes<W>; l++) {
    for (unsigned i = 0; i < n; i++) {
      unsigned k = i + s;
      r.u8[l * n + i] = k < n ? b.u8[l * n + k] : k < 2 * n ? a.u8[l * n + k - n] : 0;
    }
  }
  put<W>(c, d.reg, r);
}

// ---- blends (SSE4.1) ---------------------------------------------------------------------------------------
// Immediate blends: element i from src2 when its imm8 bit is set. PBLENDW repeats
// imm8 for each lane; BLENDPS/PD use a bit per element of the whole vector.
template <class W, bool M, class E, bool PerLane>
void blend_imm(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg a = src1<W>(c, d), b = src_w<W, M>(c, d), r;
  constexpr unsigned n = W::kBytes / sizeof(E);
  for (unsigned i = 0; i < n; i++) {
    unsigned bit = PerLane ? i % 8 : i;
    lanes<E>(r)[i] = (d.imm >> bit) & 1 ? lanes<E>(b)[i] : lanes<E>(a)[i];
  }
  put<W>(c, d.reg, r);
}
template <class W, bool M> void blendps(Cpu& c, const DecodedInst& d) { blend_imm<W, M, uint32_t, false>(c, d); }
template <class W, bool M> void blendpd(Cpu& c, const DecodedInst& d) { blend_imm<W, M, uint64_t, false>(c, d); }
template <class W, bool M> void pblendw(Cpu& c, const DecodedInst& d) { blend_imm<W, M, uint16_t, true>(c, d); }
// Variable blends: the mask is XMM0 (legacy) or the register in imm8[7:4] (VEX);
// element i from src2 when the mask element's top bit is set.
template <class W, bool M, class E>
void blend_var(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg a = src1<W>(c, d), b = src_w<W, M>(c, d);
  VecReg m = get<W>(c, W::kVex ? unsigned(d.imm >> 4) & 15 : 0u), r;
  using S = std::make_signed_t<E>;
  for (unsigned i = 0; i < W::kBytes / sizeof(E); i++)
    lanes<E>(r)[i] = S(lanes<E>(m)[i]) < 0 ? lanes<E>(b)[i] : lanes<E>(a)[i];
  put<W>(c, d.reg, r);
}
template <class W, bool M> void blendvps(Cpu& c, const DecodedInst& d) { blend_var<W, M, uint32_t>(c, d); }
template <class W, bool M> void blendvpd(Cpu& c, const DecodedInst& d) { blend_var<W, M, uint64_t>(c, d); }
template <class W, bool M> void pblendvb(Cpu& c, const DecodedInst& d) { blend_var<W, M, uint8_t>(c, d); }

// ---- sign/zero extension (SSE4.1 PMOVSX/PMOVZX) -----------------------------------------------------------
// The source is W::kBytes * sizeof(From) / sizeof(To) bytes: a register's low bytes
// or memory of exactly that size (no alignment requirement).
template <class W, bool M, class From, class To>
void pmovx(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  constexpr unsigned n = W::kBytes / sizeof(To);
  VecReg b = src_wn<W, M, n * sizeof(From)>(c, d), r;
  for (unsigned i = 0; i < n; i++) lanes<To>(r)[i] = To(lanes<From>(b)[i]);
  put<W>(c, d.reg, r);
}
#define NS_PMOVX(sfx, FromS, FromU, ToS, ToU)                                                       \
  template <class W, bool M> void pmovsx##sfx(Cpu& c, const DecodedInst& d) { pmovx<W, M, FromS, ToS>(c, d); } \
  template <class W, bool M> void pmovzx##sfx(Cpu& c, const DecodedInst& d) { pmovx<W, M, FromU, ToU>(c, d); }
NS_PMOVX(bw, int8_t, uint8_t, int16_t, uint16_t) NS_PMOVX(bd, int8_t, uint8_t, int32_t, uint32_t)
NS_PMOVX(bq, int8_t, uint8_t, int64_t, uint64_t) NS_PMOVX(wd, int16_t, uint16_t, int32_t, uint32_t)
NS_PMOVX(wq, int16_t, uint16_t, int64_t, uint64_t) NS_PMOVX(dq, int32_t, uint32_t, int64_t, uint64_t)

// ---- PTEST (SSE4.1): ZF = (src1 AND src2) == 0, CF = (NOT src1 AND src2) == 0 -------------------------------
template <class W, bool M>
void ptest(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg a = get<W>(c, d.reg), b = src_w<W, M>(c, d);
  uint64_t z = 0, cf = 0;
  for (unsigned i = 0; i < W::kBytes / 8; i++) {
    z |= a.u64[i] & b.u64[i];
    cf |= ~a.u64[i] & b.u64[i];
  }
  set_eflags(c, (z ? 0 : uint32_t(FLAG_ZF)) | (cf ? 0 : uint32_t(FLAG_CF)));
}

// ---- PHMINPOSUW (SSE4.1, 128-bit only): minimum unsigned word and its index ---------------------------------
template <class W, bool M>
void phminposuw(Cpu& c, const DecodedInst& d) {
  using S = Lig<W>;
  check<S>(c);
  VecReg b = src_w<S, M>(c, d), r = zero_vec();
  unsigned idx = 0;
  for (unsigned i = 1; i < 8; i++)
    if (b.u16[i] < b.u16[idx]) idx = i;
  r.u16[0] = b.u16[idx];
  r.u16[1] = uint16_t(idx);
  put<S>(c, d.reg, r);
}

// ---- MPSADBW: eight sums of absolute differences of 4-byte groups per lane -----------------------------------
// Lane l uses imm8 bits [3l+2:3l]: bit 3l+2 selects the src1 offset (0 or 4 bytes),
// bits 3l+1:3l the src2 dword (SDM Vol. 2B MPSADBW, VMPSADBW for the 256-bit form).
template <class W, bool M>
void mpsadbw(Cpu& c, const DecodedInst& d) {
  check<W>(c);
  VecReg a = src1<W>(c, d), b = src_w<W, M>(c, d), r;
  for (unsigned l = 0; l < kLanes<W>; l++) {
    unsigned sel = (d.imm >> (3 * l)) & 7;
    unsigned ao = 16 * l + (sel & 4), bo = 16 * l + (sel & 3) * 4;
    for (unsigned j = 0; j < 8; j++) {
      unsigned s = 0;
      for (unsigned k = 0; k < 4; k++) s += std::abs(int(a.u8[ao + j + k]) - int(b.u8[bo + k]));
      r.u16[8 * l + j] = uint16_t(s);
    }
  }
  put<W>(c, d.reg, r);
}

// Integer forms: the MMX (NP 0F), SSE (66 0F) and VEX encodings of each operation.
#define NS_INT3(op, fn) NS_B_MMX(op##_p_q, fn), NS_B_LEG(op##_v_w, fn), NS_B_VEX(v##op##_v_h_w, fn)
#define NS_INT2(op, fn) NS_B_LEG(op##_v_w, fn), NS_B_VEX(v##op##_v_h_w, fn)

const Binding kBindings[] = {
    NS_INT3(paddb, paddb), NS_INT3(paddw, paddw), NS_INT3(paddd, paddd), NS_INT3(paddq, paddq),
    NS_INT3(psubb, psubb), NS_INT3(psubw, psubw), NS_INT3(psubd, psubd), NS_INT3(psubq, psubq),
    NS_INT3(paddsb, paddsb), NS_INT3(paddsw, paddsw), NS_INT3(psubsb, psubsb), NS_INT3(psubsw, psubsw),
    NS_INT3(paddusb, paddusb), NS_INT3(paddusw, paddusw), NS_INT3(psubusb, psubusb), NS_INT3(psubusw, psubusw),
    NS_INT3(pmullw, pmullw), NS_INT3(pmulhw, pmulhw), NS_INT3(pmulhuw, pmulhuw), NS_INT3(pmuludq, pmuludq),
    NS_INT2(pmulld, pmulld), NS_INT2(pmuldq, pmuldq), NS_INT3(pmulhrsw, pmulhrsw),
    NS_INT3(pavgb, pavgb), NS_INT3(pavgw, pavgw), NS_INT3(pmaddwd, pmaddwd), NS_INT3(pmaddubsw, pmaddubsw),
    NS_INT3(psadbw, psadbw),
    NS_INT3(pminub, pminub), NS_INT3(pmaxub, pmaxub), NS_INT3(pminsw, pminsw), NS_INT3(pmaxsw, pmaxsw),
    NS_INT2(pminsb, pminsb), NS_INT2(pmaxsb, pmaxsb), NS_INT2(pminuw, pminuw), NS_INT2(pmaxuw, pmaxuw),
    NS_INT2(pminsd, pminsd), NS_INT2(pmaxsd, pmaxsd), NS_INT2(pminud, pminud), NS_INT2(pmaxud, pmaxud),
    NS_INT3(pcmpeqb, pcmpeqb), NS_INT3(pcmpeqw, pcmpeqw), NS_INT3(pcmpeqd, pcmpeqd), NS_INT2(pcmpeqq, pcmpeqq),
    NS_INT3(pcmpgtb, pcmpgtb), NS_INT3(pcmpgtw, pcmpgtw), NS_INT3(pcmpgtd, pcmpgtd), NS_INT2(pcmpgtq, pcmpgtq),
    NS_INT3(pand, pand), NS_INT3(pandn, pandn), NS_INT3(por, por), NS_INT3(pxor, pxor),
    NS_B_LEG(andps_v_w, pand), NS_B_LEG(andpd_v_w, pand), NS_B_LEG(andnps_v_w, pandn), NS_B_LEG(andnpd_v_w, pandn),
    NS_B_LEG(orps_v_w, por), NS_B_LEG(orpd_v_w, por), NS_B_LEG(xorps_v_w, pxor), NS_B_LEG(xorpd_v_w, pxor),
    NS_B_VEX(vandps_v_h_w, pand), NS_B_VEX(vandpd_v_h_w, pand), NS_B_VEX(vandnps_v_h_w, pandn),
    NS_B_VEX(vandnpd_v_h_w, pandn), NS_B_VEX(vorps_v_h_w, por), NS_B_VEX(vorpd_v_h_w, por),
    NS_B_VEX(vxorps_v_h_w, pxor), NS_B_VEX(vxorpd_v_h_w, pxor),
    NS_INT3(psignb, psignb), NS_INT3(psignw, psignw), NS_INT3(psignd, psignd),
    NS_B_MMX(pabsb_p_q, pabsb), NS_B_LEG(pabsb_v_w, pabsb), NS_B_VEX(vpabsb_v_w, pabsb),
    NS_B_MMX(pabsw_p_q, pabsw), NS_B_LEG(pabsw_v_w, pabsw), NS_B_VEX(vpabsw_v_w, pabsw),
    NS_B_MMX(pabsd_p_q, pabsd), NS_B_LEG(pabsd_v_w, pabsd), NS_B_VEX(vpabsd_v_w, pabsd),
    NS_INT3(phaddw, phaddw), NS_INT3(phaddd, phaddd), NS_INT3(phaddsw, phaddsw),
    NS_INT3(phsubw, phsubw), NS_INT3(phsubd, phsubd), NS_INT3(phsubsw, phsubsw),
    NS_INT3(psllw, psllw), NS_INT3(pslld, pslld), NS_INT3(psllq, psllq),
    NS_INT3(psrlw, psrlw), NS_INT3(psrld, psrld), NS_INT3(psrlq, psrlq),
    NS_INT3(psraw, psraw), NS_INT3(psrad, psrad),
    NS_B_MMX(psllw_n_ib, psllw_i), NS_B_LEG(psllw_u_ib, psllw_i), NS_B_VEX(vpsllw_h_u_ib, psllw_i),
    NS_B_MMX(pslld_n_ib, pslld_i), NS_B_LEG(pslld_u_ib, pslld_i), NS_B_VEX(vpslld_h_u_ib, pslld_i),
    NS_B_MMX(psllq_n_ib, psllq_i), NS_B_LEG(psllq_u_ib, psllq_i), NS_B_VEX(vpsllq_h_u_ib, psllq_i),
    NS_B_MMX(psrlw_n_ib, psrlw_i), NS_B_LEG(psrlw_u_ib, psrlw_i), NS_B_VEX(vpsrlw_h_u_ib, psrlw_i),
    NS_B_MMX(psrld_n_ib, psrld_i), NS_B_LEG(psrld_u_ib, psrld_i), NS_B_VEX(vpsrld_h_u_ib, psrld_i),
    NS_B_MMX(psrlq_n_ib, psrlq_i), NS_B_LEG(psrlq_u_ib, psrlq_i), NS_B_VEX(vpsrlq_h_u_ib, psrlq_i),
    NS_B_MMX(psraw_n_ib, psraw_i), NS_B_LEG(psraw_u_ib, psraw_i), NS_B_VEX(vpsraw_h_u_ib, psraw_i),
    NS_B_MMX(psrad_n_ib, psrad_i), NS_B_LEG(psrad_u_ib, psrad_i), NS_B_VEX(vpsrad_h_u_ib, psrad_i),
    NS_B_LEG(pslldq_u_ib, pslldq), NS_B_VEX(vpslldq_h_u_ib, pslldq),
    NS_B_LEG(psrldq_u_ib, psrldq), NS_B_VEX(vpsrldq_h_u_ib, psrldq),
    NS_INT3(packsswb, packsswb), NS_INT3(packuswb, packuswb), NS_INT3(packssdw, packssdw),
    NS_INT2(packusdw, packusdw),
    NS_INT3(punpcklbw, punpcklbw), NS_INT3(punpcklwd, punpcklwd), NS_INT3(punpckldq, punpckldq),
    NS_INT3(punpckhbw, punpckhbw), NS_INT3(punpckhwd, punpckhwd), NS_INT3(punpckhdq, punpckhdq),
    NS_INT2(punpcklqdq, punpcklqdq), NS_INT2(punpckhqdq, punpckhqdq),
    NS_B_LEG(unpcklps_v_w, punpckldq), NS_B_LEG(unpckhps_v_w, punpckhdq),
    NS_B_LEG(unpcklpd_v_w, punpcklqdq), NS_B_LEG(unpckhpd_v_w, punpckhqdq),
    NS_B_VEX(vunpcklps_v_h_w, punpckldq), NS_B_VEX(vunpckhps_v_h_w, punpckhdq),
    NS_B_VEX(vunpcklpd_v_h_w, punpcklqdq), NS_B_VEX(vunpckhpd_v_h_w, punpckhqdq),
    NS_INT3(pshufb, pshufb),
    NS_B_LEG(pshufd_v_w_ib, pshufd), NS_B_VEX(vpshufd_v_w_ib, pshufd),
    NS_B_LEG(pshufhw_v_w_ib, pshufhw), NS_B_VEX(vpshufhw_v_w_ib, pshufhw),
    NS_B_LEG(pshuflw_v_w_ib, pshuflw), NS_B_VEX(vpshuflw_v_w_ib, pshuflw),
    NS_B_MMX(pshufw_p_q_ib, pshufw),
    NS_B_LEG(shufps_v_w_ib, shufps), NS_B_VEX(vshufps_v_h_w_ib, shufps),
    NS_B_LEG(shufpd_v_w_ib, shufpd), NS_B_VEX(vshufpd_v_h_w_ib, shufpd),
    NS_B_MMX(palignr_p_q_ib, palignr), NS_B_LEG(palignr_v_w_ib, palignr), NS_B_VEX(vpalignr_v_h_w_ib, palignr),
    NS_B_LEG(blendps_v_w_ib, blendps), NS_B_VEX(vblendps_v_h_w_ib, blendps),
    NS_B_LEG(blendpd_v_w_ib, blendpd), NS_B_VEX(vblendpd_v_h_w_ib, blendpd),
    NS_B_LEG(pblendw_v_w_ib, pblendw), NS_B_VEX(vpblendw_v_h_w_ib, pblendw),
    NS_B_LEG(blendvps_v_w, blendvps), NS_B_VEX(vblendvps_v_h_w_l, blendvps),
    NS_B_LEG(blendvpd_v_w, blendvpd), NS_B_VEX(vblendvpd_v_h_w_l, blendvpd),
    NS_B_LEG(pblendvb_v_w, pblendvb), NS_B_VEX(vpblendvb_v_h_w_l, pblendvb),
    NS_B_LEG(pmovsxbw_v_w, pmovsxbw), NS_B_VEX(vpmovsxbw_v_w, pmovsxbw),
    NS_B_LEG(pmovsxbd_v_w, pmovsxbd), NS_B_VEX(vpmovsxbd_v_w, pmovsxbd),
    NS_B_LEG(pmovsxbq_v_w, pmovsxbq), NS_B_VEX(vpmovsxbq_v_w, pmovsxbq),
    NS_B_LEG(pmovsxwd_v_w, pmovsxwd), NS_B_VEX(vpmovsxwd_v_w, pmovsxwd),
    NS_B_LEG(pmovsxwq_v_w, pmovsxwq), NS_B_VEX(vpmovsxwq_v_w, pmovsxwq),
    NS_B_LEG(pmovsxdq_v_w, pmovsxdq), NS_B_VEX(vpmovsxdq_v_w, pmovsxdq),
    NS_B_LEG(pmovzxbw_v_w, pmovzxbw), NS_B_VEX(vpmovzxbw_v_w, pmovzxbw),
    NS_B_LEG(pmovzxbd_v_w, pmovzxbd), NS_B_VEX(vpmovzxbd_v_w, pmovzxbd),
    NS_B_LEG(pmovzxbq_v_w, pmovzxbq), NS_B_VEX(vpmovzxbq_v_w, pmovzxbq),
    NS_B_LEG(pmovzxwd_v_w, pmovzxwd), NS_B_VEX(vpmovzxwd_v_w, pmovzxwd),
    NS_B_LEG(pmovzxwq_v_w, pmovzxwq), NS_B_VEX(vpmovzxwq_v_w, pmovzxwq),
    NS_B_LEG(pmovzxdq_v_w, pmovzxdq), NS_B_VEX(vpmovzxdq_v_w, pmovzxdq),
    NS_B_LEG(ptest_v_w, ptest), NS_B_VEX(vptest_v_w, ptest),
    NS_B_LEG(phminposuw_v_w, phminposuw), NS_B_VEX(vphminposuw_v_w, phminposuw),
    NS_B_LEG(mpsadbw_v_w_ib, mpsadbw), NS_B_VEX(vmpsadbw_v_h_w_ib, mpsadbw),
};

}  // namespace

std::span<const Binding> sse_int_bindings() { return kBindings; }

}  // namespace isa::simd
