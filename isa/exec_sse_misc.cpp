// SSE4.2 string compares (PCMPESTRI/PCMPESTRM/PCMPISTRI/PCMPISTRM), AES-NI and
// PCLMULQDQ, in their legacy and VEX.128 encodings; the SHA extensions (legacy only).
#include <array>
#include <utility>

#include "isa/simd.h"

namespace isa::simd {
namespace {

// ---- PCMPxSTRx (SDM Vol. 2B 4.1 "Imm8 control byte operation for PCMPESTRI ...") ------
// imm8[1:0] source format (ub, uw, sb, sw), [3:2] aggregation (equal any, ranges,
// equal each, equal ordered), [5:4] polarity, [6] index from MSB / mask expanded.
struct StrResult {
  uint32_t intres2;  // one bit per element
  unsigned n;        // elements: 16 bytes or 8 words
  uint32_t flags;    // CF ZF SF OF (AF = PF = 0)
};

inline int64_t str_elem(const VecReg& v, unsigned i, unsigned fmt) {
  switch (fmt & 3) {
    case 0: return v.u8[i];
    case 1: return v.u16[i];
    case 2: return v.i8[i];
    default: return v.i16[i];
  }
}
inline unsigned implicit_len(const VecReg& v, unsigned fmt, unsigned n) {
  for (unsigned i = 0; i < n; i++)
    if (str_elem(v, i, fmt) == 0) return i;
  return n;
}
// Explicit length: the absolute value of EAX/EDX (RAX/RDX with REX.W), saturated to n.
inline unsigned explicit_len(uint64_t reg, bool wide, unsigned n) {
  int64_t v = wide ? int64_t(reg) : int64_t(int32_t(reg));
  uint64_t a = v < 0 ? 0 - uint64_t(v) : uint64_t(v);
  return a > n ? n : unsigned(a);
}

StrResult pcmpstr(const VecReg& a, const VecReg& b, unsigned la, unsigned lb, unsigned imm) {
  unsigned fmt = imm & 3, n = (imm & 1) ? 8 : 16;
  unsigned agg = (imm >> 2) & 3;
  uint32_t res1 = 0;
  for (unsigned j = 0; j < n; j++) {
    bool bit = false;
    bool bvalid = j < lb;
    int64_t bj = str_elem(b, j, fmt);
    switch (agg) {
      case 0:  // equal any: b[j] equals some valid a[i]
        for (unsigned i = 0; i < la && bvalid && !bit; i++) bit = str_elem(a, i, fmt) == bj;
        break;
      case 1:  // ranges: a[i] <= b[j] <= a[i+1] for some valid pair
        for (unsigned i = 0; i + 1 < n && bvalid && !bit; i += 2) {
          if (i + 1 >= la) break;
          bit = str_elem(a, i, fmt) <= bj && bj <= str_elem(a, i + 1, fmt);
        }
        break;
      case 2: {  // equal each: both invalid -> true, one invalid -> false
        bool avalid = j < la;
        bit = (!avalid && !bvalid) ? true : (avalid && bvalid) ? str_elem(a, j, fmt) == bj : false;
        break;
      }
      default: {  // equal ordered: substring a starts at b[j]
        bit = true;
        for (unsigned k = 0; j + k < n && bit; k++) {
          if (k >= la) break;                // a invalid: true
          if (j + k >= lb) { bit = false; break; }  // a valid, b invalid: false
          bit = str_elem(a, k, fmt) == str_elem(b, j + k, fmt);
        }
        break;
      }
    }
    res1 |= uint32_t(bit) << j;
  }
  uint32_t all = (1u << n) - 1, res2 = res1;
  switch ((imm >> 4) & 3) {
    case 1: res2 = ~res1 & all; break;
    case 3: res2 = res1 ^ ((1u << lb) - 1); break;  // negate valid b elements only
    default: break;
  }
  uint32_t f = (res2 ? uint32_t(FLAG_CF) : 0) | (lb < n ? uint32_t(FLAG_ZF) : 0) |
               (la < n ? uint32_t(FLAG_SF) : 0) | ((res2 & 1) ? uint32_t(FLAG_OF) : 0);
  return {res2, n, f};
}

template <class W, bool M, bool Explicit>
StrResult pcmpstr_operands(Cpu& c, const DecodedInst& d) {
  VecReg a = c.v[d.reg];
  VecReg b = src_w<W, M, kUnaligned>(c, d);  // no alignment requirement (SDM PCMPESTRI)
  unsigned imm = d.imm & 0xFF, fmt = imm & 3, n = (imm & 1) ? 8 : 16;
  unsigned la, lb;
  if constexpr (Explicit) {
    la = explicit_len(c.r[RAX], rexw(d), n);
    lb = explicit_len(c.r[RDX], rexw(d), n);
  } else {
    la = implicit_len(a, fmt, n);
    lb = implicit_len(b, fmt, n);
  }
  return pcmpstr(a, b, la, lb, imm);
}
// PCMPxSTRI: the index in ECX (zero-extended to RCX).
template <class W, bool M, bool Explicit>
void pcmpstri(Cpu& c, const DecodedInst& d) {
  using S = Lig<W>;
  check<S>(c);
  StrResult r = pcmpstr_operands<S, M, Explicit>(c, d);
  unsigned idx = r.n;
  if (r.intres2) idx = (d.imm & 0x40) ? 31 - __builtin_clz(r.intres2) : __builtin_ctz(r.intres2);
  c.r[RCX] = idx;
  set_eflags(c, r.flags);
}
// PCMPxSTRM: the mask in XMM0, as bits (imm8[6]=0) or expanded to elements.
template <class W, bool M, bool Explicit>
void pcmpstrm(Cpu& c, const DecodedInst& d) {
  using S = Lig<W>;
  check<S>(c);
  StrResult r = pcmpstr_operands<S, M, Explicit>(c, d);
  VecReg m = zero_vec();
  if (d.imm & 0x40) {
    for (unsigned i = 0; i < r.n; i++) {
      bool bit = (r.intres2 >> i) & 1;
      if (r.n == 16) m.u8[i] = bit ? 0xFF : 0;
      else m.u16[i] = bit ? 0xFFFF : 0;
    }
  } else {
    m.u32[0] = r.intres2;
  }
  put<S>(c, 0, m);
  set_eflags(c, r.flags);
}
template <class W, bool M> void pcmpestri(Cpu& c, const DecodedInst& d) { pcmpstri<W, M, true>(c, d); }
template <class W, bool M> void pcmpistri(Cpu& c, const DecodedInst& d) { pcmpstri<W, M, false>(c, d); }
template <class W, bool M> void pcmpestrm(Cpu& c, const DecodedInst& d) { pcmpstrm<W, M, true>(c, d); }
template <class W, bool M> void pcmpistrm(Cpu& c, const DecodedInst& d) { pcmpstrm<W, M, false>(c, d); }

// ---- AES-NI: the host's AES unit (a pure function of the operands) ------------------------------
inline __m128i xi(const VecReg& v) { return _mm_load_si128(reinterpret_cast<const __m128i*>(v.u8)); }
inline VecReg vi(__m128i x) {
  VecReg v = zero_vec();
  _mm_store_si128(reinterpret_cast<__m128i*>(v.u8), x);
  return v;
}
template <class W, bool M, class F>
inline void aes2(Cpu& c, const DecodedInst& d, F f) {
  using S = Lig<W>;  // VEX.256 needs VAES: rejected by the decoder (F_L0)
  check<S>(c);
  VecReg a = src1<S>(c, d), b = src_w<S, M>(c, d);
  put<S>(c, d.reg, vi(f(xi(a), xi(b))));
}
template <class W, bool M> void aesenc(Cpu& c, const DecodedInst& d) { aes2<W, M>(c, d, [](__m128i a, __m128i b) { return _mm_aesenc_si128(a, b); }); }
template <class W, bool M> void aesenclast(Cpu& c, const DecodedInst& d) { aes2<W, M>(c, d, [](__m128i a, __m128i b) { return _mm_aesenclast_si128(a, b); }); }
template <class W, bool M> void aesdec(Cpu& c, const DecodedInst& d) { aes2<W, M>(c, d, [](__m128i a, __m128i b) { return _mm_aesdec_si128(a, b); }); }
template <class W, bool M> void aesdeclast(Cpu& c, const DecodedInst& d) { aes2<W, M>(c, d, [](__m128i a, __m128i b) { return _mm_aesdeclast_si128(a, b); }); }
template <class W, bool M>
void aesimc(Cpu& c, const DecodedInst& d) {
  using S = Lig<W>;
  check<S>(c);
  VecReg b = src_w<S, M>(c, d);
  put<S>(c, d.reg, vi(_mm_aesimc_si128(xi(b))));
}
template <int I>
VecReg keygen(const VecReg& a) { return vi(_mm_aeskeygenassist_si128(xi(a), I)); }
template <int... I>
constexpr std::array<VecReg (*)(const VecReg&), sizeof...(I)> keygen_table(std::integer_sequence<int, I...>) {
  return {{&keygen<I>...}};
}
template <class W, bool M>
void aeskeygenassist(Cpu& c, const DecodedInst& d) {
  using S = Lig<W>;
  check<S>(c);
  static constexpr auto tab = keygen_table(std::make_integer_sequence<int, 256>{});
  VecReg b = src_w<S, M>(c, d);
  put<S>(c, d.reg, tab[d.imm & 0xFF](b));
}

// ---- PCLMULQDQ: imm8 bit 0 selects the src1 quadword, bit 4 the src2 one -----------------------
template <class W, bool M>
void pclmulqdq(Cpu& c, const DecodedInst& d) {
  using S = Lig<W>;
  check<S>(c);
  VecReg a = src1<S>(c, d), b = src_w<S, M>(c, d), r;
  uint64_t x = a.u64[d.imm & 1], y = b.u64[(d.imm >> 4) & 1];
  uint64_t lo = 0, hi = 0;
  for (unsigned i = 0; i < 64; i++) {
    if ((y >> i) & 1) {
      lo ^= x << i;
      hi ^= i ? x >> (64 - i) : 0;
    }
  }
  r = zero_vec();
  r.u64[0] = lo;
  r.u64[1] = hi;
  put<S>(c, d.reg, r);
}

// ---- SHA extensions (SDM Vol. 2B SHA1RNDS4 ... SHA256MSG2), element 3 = bits 127:96 ---------
inline uint32_t rol(uint32_t v, unsigned n) { return (v << n) | (v >> (32 - n)); }
inline uint32_t ror(uint32_t v, unsigned n) { return (v >> n) | (v << (32 - n)); }

template <class W, bool M, class F>
inline void sha2(Cpu& c, const DecodedInst& d, F f) {
  check<Sse>(c);
  VecReg a = c.v[d.reg], b = src_w<Sse, M>(c, d), r = zero_vec();
  f(a.u32, b.u32, r.u32);
  put<Sse>(c, d.reg, r);
}
template <class W, bool M>
void sha1rnds4(Cpu& c, const DecodedInst& d) {
  unsigned fn = d.imm & 3;
  sha2<W, M>(c, d, [fn](const uint32_t* s1, const uint32_t* s2, uint32_t* r) {
    static constexpr uint32_t kK[4] = {0x5A827999, 0x6ED9EBA1, 0x8F1BBCDC, 0xCA62C1D6};
    auto f = [fn](uint32_t b, uint32_t c, uint32_t d) {
      if (fn == 0) return (b & c) ^ (~b & d);
      if (fn == 2) return (b & c) ^ (b & d) ^ (c & d);
      return b ^ c ^ d;
    };
    uint32_t A = s1[3], B = s1[2], C = s1[1], D = s1[0], E = 0;
    const uint32_t w[4] = {s2[3], s2[2], s2[1], s2[0]};  // W0+E, W1, W2, W3
    for (unsigned i = 0; i < 4; i++) {
      uint32_t a = f(B, C, D) + rol(A, 5) + w[i] + E + kK[fn];
      E = D, D = C, C = rol(B, 30), B = A, A = a;
    }
    r[3] = A, r[2] = B, r[1] = C, r[0] = D;
  });
}
template <class W, bool M>
void sha1nexte(Cpu& c, const DecodedInst& d) {
  sha2<W, M>(c, d, [](const uint32_t* s1, const uint32_t* s2, uint32_t* r) {
    r[3] = s2[3] + rol(s1[3], 30), r[2] = s2[2], r[1] = s2[1], r[0] = s2[0];
  });
}
template <class W, bool M>
void sha1msg1(Cpu& c, const DecodedInst& d) {
  sha2<W, M>(c, d, [](const uint32_t* s1, const uint32_t* s2, uint32_t* r) {
    r[3] = s1[1] ^ s1[3], r[2] = s1[0] ^ s1[2], r[1] = s2[3] ^ s1[1], r[0] = s2[2] ^ s1[0];
  });
}
template <class W, bool M>
void sha1msg2(Cpu& c, const DecodedInst& d) {
  sha2<W, M>(c, d, [](const uint32_t* s1, const uint32_t* s2, uint32_t* r) {
    uint32_t w16 = rol(s1[3] ^ s2[2], 1), w17 = rol(s1[2] ^ s2[1], 1);
    uint32_t w18 = rol(s1[1] ^ s2[0], 1), w19 = rol(s1[0] ^ w16, 1);
    r[3] = w16, r[2] = w17, r[1] = w18, r[0] = w19;
  });
}
// SHA256RNDS2 xmm1, xmm2/m128, <XMM0>: two rounds; XMM0 holds WK0 and WK1.
template <class W, bool M>
void sha256rnds2(Cpu& c, const DecodedInst& d) {
  uint32_t wk[2] = {c.v[0].u32[0], c.v[0].u32[1]};
  sha2<W, M>(c, d, [&wk](const uint32_t* s1, const uint32_t* s2, uint32_t* r) {
    uint32_t A = s2[3], B = s2[2], C = s1[3], D = s1[2], E = s2[1], F = s2[0], G = s1[1], H = s1[0];
    for (unsigned i = 0; i < 2; i++) {
      uint32_t ch = (E & F) ^ (~E & G), maj = (A & B) ^ (A & C) ^ (B & C);
      uint32_t s0 = ror(A, 2) ^ ror(A, 13) ^ ror(A, 22), s1e = ror(E, 6) ^ ror(E, 11) ^ ror(E, 25);
      uint32_t t = ch + s1e + wk[i] + H;
      uint32_t a = t + maj + s0, e = t + D;
      H = G, G = F, F = E, E = e, D = C, C = B, B = A, A = a;
    }
    r[3] = A, r[2] = B, r[1] = E, r[0] = F;
  });
}
template <class W, bool M>
void sha256msg1(Cpu& c, const DecodedInst& d) {
  sha2<W, M>(c, d, [](const uint32_t* s1, const uint32_t* s2, uint32_t* r) {
    auto sig0 = [](uint32_t w) { return ror(w, 7) ^ ror(w, 18) ^ (w >> 3); };
    r[3] = s1[3] + sig0(s2[0]), r[2] = s1[2] + sig0(s1[3]);
    r[1] = s1[1] + sig0(s1[2]), r[0] = s1[0] + sig0(s1[1]);
  });
}
template <class W, bool M>
void sha256msg2(Cpu& c, const DecodedInst& d) {
  sha2<W, M>(c, d, [](const uint32_t* s1, const uint32_t* s2, uint32_t* r) {
    auto sig1 = [](uint32_t w) { return ror(w, 17) ^ ror(w, 19) ^ (w >> 10); };
    uint32_t w16 = s1[0] + sig1(s2[2]), w17 = s1[1] + sig1(s2[3]);
    uint32_t w18 = s1[2] + sig1(w16), w19 = s1[3] + sig1(w17);
    r[3] = w19, r[2] = w18, r[1] = w17, r[0] = w16;
  });
}

const Binding kBindings[] = {
    NS_B_LEG(sha1rnds4_v_w_ib, sha1rnds4), NS_B_LEG(sha1nexte_v_w, sha1nexte),
    NS_B_LEG(sha1msg1_v_w, sha1msg1), NS_B_LEG(sha1msg2_v_w, sha1msg2),
    NS_B_LEG(sha256rnds2_v_w, sha256rnds2), NS_B_LEG(sha256msg1_v_w, sha256msg1),
    NS_B_LEG(sha256msg2_v_w, sha256msg2),
    NS_B_LEG(pcmpestri_v_w_ib, pcmpestri), NS_B_VEX(vpcmpestri_v_w_ib, pcmpestri),
    NS_B_LEG(pcmpestrm_v_w_ib, pcmpestrm), NS_B_VEX(vpcmpestrm_v_w_ib, pcmpestrm),
    NS_B_LEG(pcmpistri_v_w_ib, pcmpistri), NS_B_VEX(vpcmpistri_v_w_ib, pcmpistri),
    NS_B_LEG(pcmpistrm_v_w_ib, pcmpistrm), NS_B_VEX(vpcmpistrm_v_w_ib, pcmpistrm),
    NS_B_LEG(aesenc_v_w, aesenc), NS_B_VEX(vaesenc_v_h_w, aesenc),
    NS_B_LEG(aesenclast_v_w, aesenclast), NS_B_VEX(vaesenclast_v_h_w, aesenclast),
    NS_B_LEG(aesdec_v_w, aesdec), NS_B_VEX(vaesdec_v_h_w, aesdec),
    NS_B_LEG(aesdeclast_v_w, aesdeclast), NS_B_VEX(vaesdeclast_v_h_w, aesdeclast),
    NS_B_LEG(aesimc_v_w, aesimc), NS_B_VEX(vaesimc_v_w, aesimc),
    NS_B_LEG(aeskeygenassist_v_w_ib, aeskeygenassist), NS_B_VEX(vaeskeygenassist_v_w_ib, aeskeygenassist),
    NS_B_LEG(pclmulqdq_v_w_ib, pclmulqdq), NS_B_VEX(vpclmulqdq_v_h_w_ib, pclmulqdq),
};

}  // namespace

std::span<const Binding> sse_misc_bindings() { return kBindings; }

}  // namespace isa::simd
