// Shared helpers for the MMX/SSE/AVX semantics (exec_sse_*.cpp, exec_avx*.cpp).
//
// One handler template per form, `template <class W, bool M>`: W is the encoding and
// width tag (Mmx, Sse = legacy 128-bit, V128, V256), M says the ModRM.rm operand is
// memory. The same template serves the MMX, legacy SSE and VEX forms of an operation,
// so the encoding rules live here, once:
//   - legacy SSE writes leave bits 255:128 of the destination unchanged, VEX.128 zeroes
//     them (SDM Vol. 1 14.1.3 / Vol. 2A 2.3.10 "AVX instruction length encoding");
//   - legacy SSE 128-bit memory operands must be 16-byte aligned unless the form is an
//     explicitly unaligned one; VEX forms only for the explicitly aligned moves
//     (SDM Vol. 1 14.9 "Memory alignment");
//   - #UD/#NM rules per encoding (SDM Vol. 2A 2.5 / Table 2-21, Vol. 3A 13.1, 2.8);
//   - MMX forms alias the x87 significands and set TOP=0, all tags valid
//     (SDM Vol. 1 9.5 "Compatibility with x87 FPU architecture").
//
// Floating point is computed by the host with the guest's MXCSR rounding/DAZ/FTZ
// loaded and all exceptions masked (HostFp), running the very instruction the guest
// asked for (inline asm, so no compiler reassociation, commutation or constant
// folding can change NaN propagation or flags). The flags the host raised are then
// merged into the guest MXCSR by fp_commit(), which raises #XM/#UD for unmasked
// exceptions before the destination is written (SDM Vol. 1 11.5.1, 11.5.2).
// The files that include this header are compiled for an x86-64-v3 host (AVX2, FMA,
// F16C), see isa/CMakeLists.txt.
#pragma once
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "isa/bind.h"
#include "isa/cpu.h"

namespace isa::simd {

// ---- control bits (SDM Vol. 3A 2.5, Vol. 1 10.2.3) ----------------------------------
constexpr uint64_t kCr0Em = 1u << 2, kCr0Ts = 1u << 3;
constexpr uint64_t kCr4Osfxsr = 1u << 9, kCr4Osxmmexcpt = 1u << 10, kCr4Osxsave = 1u << 18;
constexpr uint32_t kMxIE = 0x01, kMxDE = 0x02, kMxZE = 0x04, kMxOE = 0x08, kMxUE = 0x10,
                   kMxPE = 0x20, kMxFlags = 0x3F, kMxDaz = 0x40, kMxMasks = 0x1F80;
// MXCSR bits this CPU supports (MXCSR_MASK as FXSAVE reports it): DAZ included.
constexpr uint32_t kMxcsrMask = 0xFFFF;

// ---- encoding / width tags ---------------------------------------------------------
struct Mmx { static constexpr unsigned kBytes = 8; static constexpr bool kVex = false, kMmx = true; };
struct Sse { static constexpr unsigned kBytes = 16; static constexpr bool kVex = false, kMmx = false; };
struct V128 { static constexpr unsigned kBytes = 16; static constexpr bool kVex = true, kMmx = false; };
struct V256 { static constexpr unsigned kBytes = 32; static constexpr bool kVex = true, kMmx = false; };
// Number of 128-bit lanes (MMX counts as one lane of 8 bytes).
template <class W> constexpr unsigned kLanes = W::kBytes == 32 ? 2 : 1;

// ---- #UD / #NM -----------------------------------------------------------------------
[[noreturn]] void sse_check_slow(Cpu& c);
[[noreturn]] void avx_check_slow(Cpu& c);
void mmx_check_slow(Cpu& c);

// Legacy SSE: #UD if CR0.EM or !CR4.OSFXSR, then #NM if CR0.TS (SDM Vol. 2A Table 2-21).
inline void sse_check(Cpu& c) {
  if (NS_UNLIKELY((c.cr0 & (kCr0Em | kCr0Ts)) | (~c.cr4 & kCr4Osfxsr))) sse_check_slow(c);
}
// VEX: #UD unless CR4.OSXSAVE and XCR0 enables SSE and AVX state; #NM if CR0.TS
// (SDM Vol. 2A 2.8, Table 2-22). VEX in real/V86 mode and with LOCK/66/F2/F3/REX
// prefixes is rejected by the decoder.
inline void avx_check(Cpu& c) {
  if (NS_UNLIKELY((c.cr0 & kCr0Ts) | (~c.cr4 & kCr4Osxsave) | ((c.xcr0 & 6) ^ 6)))
    avx_check_slow(c);
}
// MMX: #UD if CR0.EM, #NM if CR0.TS, #MF if an unmasked x87 exception is pending
// (FSW.ES) (SDM Vol. 2A Table 22-? "MMX instruction exceptions", Vol. 1 9.5.3).
inline void mmx_check(Cpu& c) {
  if (NS_UNLIKELY((c.cr0 & (kCr0Em | kCr0Ts)) | (c.x87.fsw & 0x80))) mmx_check_slow(c);
}
template <class W>
inline void check(Cpu& c) {
  if constexpr (W::kMmx) mmx_check(c);
  else if constexpr (W::kVex) avx_check(c);
  else sse_check(c);
}

// ---- register file ---------------------------------------------------------------------
// Element view of a vector value.
template <class E>
inline E* lanes(VecReg& v) {
  if constexpr (std::is_same_v<E, uint8_t>) return v.u8;
  else if constexpr (std::is_same_v<E, int8_t>) return v.i8;
  else if constexpr (std::is_same_v<E, uint16_t>) return v.u16;
  else if constexpr (std::is_same_v<E, int16_t>) return v.i16;
  else if constexpr (std::is_same_v<E, uint32_t>) return v.u32;
  else if constexpr (std::is_same_v<E, int32_t>) return v.i32;
  else if constexpr (std::is_same_v<E, uint64_t>) return v.u64;
  else if constexpr (std::is_same_v<E, int64_t>) return v.i64;
  else if constexpr (std::is_same_v<E, float>) return v.f32;
  else return v.f64;
}
template <class E>
inline const E* lanes(const VecReg& v) { return lanes<E>(const_cast<VecReg&>(v)); }

inline VecReg zero_vec() {
  VecReg z;
#if defined(__AVX2__)
  _mm256_store_si256(reinterpret_cast<__m256i*>(z.u8), _mm256_setzero_si256());
#else
  std::memset(&z, 0, 32);
#endif
  return z;
}

// The MMX transition every MMX instruction but EMMS makes: TOP=0, all tags valid (00b).
inline void mmx_enter(Cpu& c) {
  c.x87.fsw &= uint16_t(~(7u << 11));
  c.x87.ftw = 0;
}
inline void mmx_write(Cpu& c, unsigned i, uint64_t v) {
  c.x87.st[i & 7].significand = v;
  c.x87.st[i & 7].sign_exp = 0xFFFF;  // bits 79:64 set to all ones (SDM Vol. 1 9.5.1)
}

// Whole-vector copies are single 32-byte (or 16-byte) moves: copying a VecReg member
// by member makes the compiler split it into halves, and a 32-byte load of data just
// stored as two halves (or the reverse) defeats store forwarding (~15 cycles each).
inline void copy32(VecReg& d, const VecReg& s) {
#if defined(__AVX2__)
  _mm256_store_si256(reinterpret_cast<__m256i*>(d.u8), _mm256_load_si256(reinterpret_cast<const __m256i*>(s.u8)));
#else
  std::memcpy(&d, &s, 32);
#endif
}

// Reads register `i` of W's register file (MMX: mm(i&7) in the low 8 bytes).
template <class W>
inline VecReg get(const Cpu& c, unsigned i) {
  VecReg x;
  if constexpr (W::kMmx) {
    x = zero_vec();
    x.u64[0] = c.x87.st[i & 7].significand;
  } else {
    copy32(x, c.v[i]);
  }
  return x;
}
// Writes the destination with the encoding's rule for the bits above the operation.
template <class W>
inline void put(Cpu& c, unsigned i, const VecReg& x) {
  if constexpr (W::kMmx) {
    mmx_write(c, i, x.u64[0]);
    mmx_enter(c);
  } else if constexpr (W::kBytes == 32) {
    copy32(c.v[i], x);
  } else {
#if defined(__AVX2__)
    __m128i lo = _mm_load_si128(reinterpret_cast<const __m128i*>(x.u8));
    if constexpr (W::kVex) _mm256_store_si256(reinterpret_cast<__m256i*>(c.v[i].u8), _mm256_zextsi128_si256(lo));
    else _mm_store_si128(reinterpret_cast<__m128i*>(c.v[i].u8), lo);
#else
    std::memcpy(&c.v[i], &x, 16);
    if constexpr (W::kVex) std::memset(c.v[i].u8 + 16, 0, 16);
#endif
  }
}
// Scalar and other VEX.LIG forms ignore VEX.L: the 256-bit binding behaves as VEX.128.
template <class W>
using Lig = std::conditional_t<W::kVex, V128, W>;

// ---- memory operands -------------------------------------------------------------------
enum Align : unsigned { kUnaligned = 0, kLegacyAligned = 1, kAligned = 2 };

// #GP(0) for a misaligned operand that must be aligned (the linear address is checked).
inline void check_align(Cpu& c, const DecodedInst& d, uint64_t off, unsigned bytes) {
  if (NS_UNLIKELY((c.seg_base_eff[d.seg] + off) & (bytes - 1))) raise_gp0();
}
template <class W, Align A>
constexpr bool kNeedsAlign = (A == kAligned || (A == kLegacyAligned && !W::kVex)) && !W::kMmx;

// Reads N bytes at the ModRM memory operand into the low bytes of a zeroed vector.
template <unsigned N, bool Aligned = false>
inline VecReg load_mem(Cpu& c, const DecodedInst& d) {
  VecReg x = zero_vec();
  uint64_t off = c.ea(d);
  if constexpr (Aligned) check_align(c, d, off, N);
  c.read_bytes(d.seg, off, &x, N);
  return x;
}
template <unsigned N, bool Aligned = false>
inline void store_mem(Cpu& c, const DecodedInst& d, const void* src) {
  uint64_t off = c.ea(d);
  if constexpr (Aligned) check_align(c, d, off, N);
  c.write_bytes(d.seg, off, src, N);
}

// The "w"/"q" operand at full width W: a register (ModRM.rm) or W::kBytes of memory.
template <class W, bool M, Align A = kLegacyAligned>
inline VecReg src_w(Cpu& c, const DecodedInst& d) {
  if constexpr (M) return load_mem<W::kBytes, kNeedsAlign<W, A>>(c, d);
  else return get<W>(c, d.rm);
}
// The "w" operand of a scalar/partial form: N bytes of memory (never aligned), or the
// whole register.
template <class W, bool M, unsigned N>
inline VecReg src_wn(Cpu& c, const DecodedInst& d) {
  if constexpr (M) return load_mem<N>(c, d);
  else return get<W>(c, d.rm);
}
// First source: VEX.vvvv for VEX forms, the destination register for legacy forms.
template <class W>
inline VecReg src1(const Cpu& c, const DecodedInst& d) {
  return get<W>(c, W::kVex ? d.vvvv : d.reg);
}

// ---- GPR operands ------------------------------------------------------------------------
inline bool rexw(const DecodedInst& d) { return d.flags & IF_REXW; }
// Reads the "e" operand as 32 or 64 bits (REX.W/VEX.W).
template <bool M>
inline uint64_t src_e(Cpu& c, const DecodedInst& d, bool wide) {
  if constexpr (M) {
    return wide ? c.read<uint64_t>(d.seg, c.ea(d)) : c.read<uint32_t>(d.seg, c.ea(d));
  } else {
    return wide ? c.r[d.rm] : uint32_t(c.r[d.rm]);
  }
}
// 32-bit GPR writes zero-extend (SDM Vol. 1 3.4.1.1).
inline void put_gpr(Cpu& c, unsigned i, uint64_t v, bool wide) { c.r[i] = wide ? v : uint32_t(v); }

// ---- arithmetic flags (COMISS, PTEST, PCMPxSTRx ...) -------------------------------------
inline void set_eflags(Cpu& c, uint32_t arith) {
  c.lf.op = 0;
  c.lf.eager = arith & uint32_t(FLAGS_ARITH);
}

// ---- host floating point ----------------------------------------------------------------
// (Only for the files built for an AVX2 host; the rest of this header is portable.)
#if defined(__AVX2__)
// Brackets one host FP operation: runs it with every exception masked under the
// guest's RC/DAZ/FTZ, and done() returns the exception flags, ready to be ORed into
// the guest MXCSR. No guest memory access (which may throw) may happen in between.
//
// Cost: an LDMXCSR that changes the flag bits followed by an STMXCSR costs hundreds
// of cycles on current Intel cores (measured ~250 ns here), against ~10 ns for an
// unchanged value. So while the guest masks every exception (the usual case) the host
// MXCSR keeps the guest's sticky flags: the operation just adds to them and done()
// returns old | new, which is exactly the guest's new flag state, and in a steady state
// no LDMXCSR executes at all. When the guest unmasks some exception the flags are
// cleared first, so done() returns only what this operation raised (fp_commit needs
// that to decide on #XM). The host's control bits are restored afterwards; its own
// flag bits are left as the guest's (nothing in the simulator reads them).
class HostFp {
 public:
  explicit HostFp(uint32_t guest_mxcsr) {
    uint32_t want = (guest_mxcsr | kMxMasks) & 0xFFFF;
    if ((guest_mxcsr & kMxMasks) != kMxMasks) want &= ~kMxFlags;
    asm volatile("stmxcsr %0" : "=m"(host_));
    if (want != host_) asm volatile("ldmxcsr %0" : : "m"(want));
  }
  uint32_t done() {
    uint32_t f;
    asm volatile("stmxcsr %0" : "=m"(f));
    uint32_t restore = (host_ & ~kMxFlags) | (f & kMxFlags);
    if (restore != f) asm volatile("ldmxcsr %0" : : "m"(restore));
    return f & kMxFlags;
  }

 private:
  uint32_t host_;
};

[[noreturn]] void fp_raise(Cpu& c, uint32_t flags);
// Merges the flags the operation raised into MXCSR; unmasked ones raise #XM (or #UD
// when CR4.OSXMMEXCPT=0) with the destination untouched (SDM Vol. 1 11.5.2).
inline void fp_commit(Cpu& c, uint32_t flags) {
  if (NS_UNLIKELY(flags & ~(c.mxcsr >> 7))) fp_raise(c, flags);
  c.mxcsr |= flags;
}

inline __m128 x128(const VecReg& v) { return _mm_load_ps(v.f32); }
inline __m256 y256(const VecReg& v) { return _mm256_load_ps(v.f32); }
inline VecReg vec(__m128 x) { VecReg v = zero_vec(); _mm_store_ps(v.f32, x); return v; }
inline VecReg vec(__m256 x) { VecReg v; _mm256_store_ps(v.f32, x); return v; }

constexpr uint32_t kMxOM = 0x400, kMxUM = 0x800, kMxFtz = 0x8000;

// Exact flags when the guest unmasks #O or #U (SDM Vol. 1 11.5.2.4, 11.5.2.5):
//  - with #U unmasked every tiny result signals underflow, exact ones included, and
//    FTZ does not apply; the masked host run reports only inexact tiny results;
//  - an element raising an unmasked #O or #U reports #P as the inexactness of its
//    result rounded with an unbounded exponent range (the scaled result the x87
//    would deliver), not of the overflowed/denormalised one.
// Both are per-element facts, so each element is computed alone (its inputs broadcast
// to every position, which raises exactly that element's flags). `in` holds the NIn
// inputs, IE is their element size, TE the result element size, TN the number of
// elements computed (0 = all). `run(x)` executes the operation on inputs x under the
// MXCSR HostFp loaded. Only for operations computed element by element; K says how
// to recompute #P with an unbounded exponent (kPeKeep: keep the masked run's #P).
enum class PeKind : uint8_t { kPeKeep, kPeAdd, kPeMul };  // kPeMul: MUL, DIV, conversions

template <class T>
inline bool is_tiny(T v) {
  if constexpr (sizeof(T) == 4) {
    uint32_t u;
    std::memcpy(&u, &v, 4);
    return (u & 0x7F800000u) == 0 && (u & 0x7FFFFFu) != 0;
  } else {
    uint64_t u;
    std::memcpy(&u, &v, 8);
    return (u & 0x7FF0000000000000ull) == 0 && (u & 0xFFFFFFFFFFFFFull) != 0;
  }
}
// Inputs rescaled so the operation neither overflows nor underflows but rounds the
// same significand: MUL/DIV/CVT take each input's significand (frexp, exact); ADD/SUB
// scale both by the larger exponent, exact unless the smaller input is so small that
// the sum is inexact anyway (returned through `inexact`).
template <class T, unsigned NIn>
void pe_rescale(PeKind k, T (&v)[NIn], bool& inexact) {
  int e;
  if (k == PeKind::kPeMul) {
    for (unsigned i = 0; i < NIn; i++) v[i] = std::frexp(v[i], &e);
    return;
  }
  int ea, eb;
  std::frexp(v[0], &ea);
  std::frexp(v[1], &eb);
  int big = ea > eb ? ea : eb, small = ea > eb ? eb : ea;
  constexpr int kDigits = sizeof(T) == 4 ? 24 : 53;
  if (big - small > kDigits + 2 && v[0] != 0 && v[1] != 0) inexact = true;
  v[0] = std::ldexp(v[0], -big);
  v[1] = std::ldexp(v[1], -big);
}

template <unsigned Bytes, unsigned IE, unsigned TE, unsigned TN, PeKind K, unsigned NIn, class Run>
uint32_t fp_flags_per_element(Cpu& c, const VecReg (&in)[NIn], Run run) {
  using T = std::conditional_t<IE == 4, float, double>;
  using R = std::conditional_t<TE == 4, float, double>;
  bool ue_unmasked = !(c.mxcsr & kMxUM);
  uint32_t mx = ue_unmasked ? c.mxcsr & ~kMxFtz : c.mxcsr;
  constexpr unsigned n = TN ? TN : Bytes / IE;
  uint32_t total = 0;
  for (unsigned i = 0; i < n; i++) {
    T v[NIn];
    for (unsigned k = 0; k < NIn; k++) std::memcpy(&v[k], in[k].u8 + i * IE, IE);
    auto broadcast_run = [&](const T (&val)[NIn], uint32_t csr, R& r0) {
      VecReg x[NIn];
      for (unsigned k = 0; k < NIn; k++)
        for (unsigned j = 0; j < Bytes / IE; j++) std::memcpy(x[k].u8 + j * IE, &val[k], IE);
      HostFp env(csr);
      VecReg r = run(x);
      uint32_t f = env.done();
      std::memcpy(&r0, r.u8, TE);
      return f;
    };
    R r0;
    uint32_t f = broadcast_run(v, mx, r0);
    if (ue_unmasked && is_tiny(r0)) f |= kMxUE;
    if (K != PeKind::kPeKeep && (f & ~(c.mxcsr >> 7) & (kMxOE | kMxUE))) {
      bool inexact = false;
      bool daz = c.mxcsr & kMxDaz;
      for (unsigned k = 0; k < NIn; k++)
        if (daz && is_tiny(v[k])) v[k] = v[k] < 0 ? T(-0.0) : T(0.0);
      pe_rescale(K, v, inexact);
      uint32_t g = broadcast_run(v, mx & ~kMxDaz, r0);
      f = (f & ~kMxPE) | ((inexact || (g & kMxPE)) ? kMxPE : 0);
    }
    total |= f;
  }
  return total;
}

// Runs the host operation Op::run on a and b at W's width under the guest MXCSR and
// commits the flags. Op::run is overloaded for __m128 and __m256. For operations
// computed element by element that can overflow or underflow, IE/TE are the input and
// result element sizes and TN the number of elements computed (0 = all); IE = 0 when
// the operation cannot overflow or underflow.
template <class W, class Op, unsigned IE = 0, unsigned TE = IE, unsigned TN = 0,
          PeKind K = PeKind::kPeKeep>
inline VecReg host_fp2(Cpu& c, const VecReg& a, const VecReg& b) {
  VecReg r;
  HostFp env(c.mxcsr);
  if constexpr (W::kBytes == 32) r = vec(Op::run(y256(a), y256(b)));
  else r = vec(Op::run(x128(a), x128(b)));
  uint32_t fl = env.done();
  if constexpr (IE != 0) {
    if (NS_UNLIKELY((c.mxcsr & (kMxOM | kMxUM)) != (kMxOM | kMxUM))) {
      const VecReg in[2] = {a, b};
      fl = fp_flags_per_element<W::kBytes, IE, TE, TN, K>(c, in, [](const VecReg* x) {
        if constexpr (W::kBytes == 32) return vec(Op::run(y256(x[0]), y256(x[1])));
        else return vec(Op::run(x128(x[0]), x128(x[1])));
      });
    }
  }
  fp_commit(c, fl);
  return r;
}

// Host instruction wrappers: one struct per instruction, `run` for xmm and ymm.
// The VEX three-operand encoding computes what the legacy two-operand form computes
// with a = destination, so every encoding uses the VEX instruction on the host.
#define NS_HOST2(NAME, INSN)                                                        \
  struct NAME {                                                                     \
    static __m128 run(__m128 a, __m128 b) {                                         \
      __m128 r;                                                                     \
      asm volatile(INSN " %[b], %[a], %[r]" : [r] "=x"(r) : [a] "x"(a), [b] "x"(b)); \
      return r;                                                                     \
    }                                                                               \
    static __m256 run(__m256 a, __m256 b) {                                         \
      __m256 r;                                                                     \
      asm volatile(INSN " %[b], %[a], %[r]" : [r] "=x"(r) : [a] "x"(a), [b] "x"(b)); \
      return r;                                                                     \
    }                                                                               \
  }
// One-source instructions (the a operand is ignored).
#define NS_HOST1(NAME, INSN)                                                        \
  struct NAME {                                                                     \
    static __m128 run(__m128, __m128 b) {                                           \
      __m128 r;                                                                     \
      asm volatile(INSN " %[b], %[r]" : [r] "=x"(r) : [b] "x"(b));                  \
      return r;                                                                     \
    }                                                                               \
    static __m256 run(__m256, __m256 b) {                                           \
      __m256 r;                                                                     \
      asm volatile(INSN " %[b], %[r]" : [r] "=x"(r) : [b] "x"(b));                  \
      return r;                                                                     \
    }                                                                               \
  }

#endif  // __AVX2__

// ---- bindings --------------------------------------------------------------------------
// The form table is written in parallel with these semantics: a binding names its
// form, and a name the table does not (yet) declare resolves to Form::invalid and is
// listed by missing_forms() instead of breaking the build.
#define NS_FORM_OPT(name)                                                   \
  ([]<class E = ::isa::Form>() constexpr {                                  \
    if constexpr (requires { E::name; }) return E::name;                    \
    else return E::invalid;                                                 \
  }())

struct Binding {
  const char* name;
  Form form;
  Handler h[2][2];  // [VEX.L][M]; legacy and MMX forms use [0]
  bool vex;
};

#define NS_B_LEG(name, FN) \
  ::isa::simd::Binding{#name, NS_FORM_OPT(name), {{&FN<::isa::simd::Sse, false>, &FN<::isa::simd::Sse, true>}, {nullptr, nullptr}}, false}
#define NS_B_MMX(name, FN) \
  ::isa::simd::Binding{#name, NS_FORM_OPT(name), {{&FN<::isa::simd::Mmx, false>, &FN<::isa::simd::Mmx, true>}, {nullptr, nullptr}}, false}
#define NS_B_VEX(name, FN)                                                                  \
  ::isa::simd::Binding{#name, NS_FORM_OPT(name),                                            \
                       {{&FN<::isa::simd::V128, false>, &FN<::isa::simd::V128, true>},     \
                        {&FN<::isa::simd::V256, false>, &FN<::isa::simd::V256, true>}}, true}
// A plain handler (no width): form without operands or with fixed ones.
#define NS_B_FN(name, fn) \
  ::isa::simd::Binding{#name, NS_FORM_OPT(name), {{&fn, &fn}, {&fn, &fn}}, false}

// Per-file tables (defined in the exec_sse_*.cpp / exec_avx*.cpp files).
std::span<const Binding> sse_mov_bindings();
std::span<const Binding> sse_int_bindings();
std::span<const Binding> sse_fp_bindings();
std::span<const Binding> sse_misc_bindings();
std::span<const Binding> avx_bindings();

// Every binding, in registration order; the one with `name`, or null.
std::vector<const Binding*> all_bindings();
const Binding* find_binding(const char* name);
// Names bound here that the form table does not declare.
std::vector<const char*> missing_forms();

}  // namespace isa::simd
