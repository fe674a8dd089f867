// Flag evaluators over the lazy representation (isa/lazy_flags.h), the condition
// codes of Jcc/SETcc/CMOVcc, and small helpers for handlers that set flags.
#pragma once
#include <cstdint>

#include "isa/cpu.h"

// The evaluators sit on the hottest paths (Jcc, ADC, INC/DEC): always inlined.
#define NS_FLAGS_INLINE [[gnu::always_inline]] inline

namespace isa {

// The arithmetic flags as 32-bit constants (the lazy state keeps them in 32 bits).
constexpr uint32_t kCF = uint32_t(FLAG_CF), kPF = uint32_t(FLAG_PF), kAF = uint32_t(FLAG_AF),
                   kZF = uint32_t(FLAG_ZF), kSF = uint32_t(FLAG_SF), kOF = uint32_t(FLAG_OF),
                   kArith = uint32_t(FLAGS_ARITH);

template <class T>
constexpr uint32_t kSizeIndex = sizeof(T) == 1 ? 0 : sizeof(T) == 2 ? 1 : sizeof(T) == 4 ? 2 : 3;
template <class T>
constexpr unsigned kBits = unsigned(sizeof(T) * 8);

namespace lazy {

NS_FLAGS_INLINE unsigned msb(uint32_t op) { return (8u << (op & 3)) - 1; }

NS_FLAGS_INLINE bool cf(const LazyFlags& f) {
  if (f.op & LF_CFOF) return f.eager & FLAG_CF;
  switch (f.op >> 2) {
    case LF_ADD >> 2:  // carry out of the MSB: majority(src1, src2, ~res)
      return (((f.src1 & f.src2) | ((f.src1 | f.src2) & ~f.res)) >> msb(f.op)) & 1;
    case LF_SUB >> 2:  // borrow out of the MSB: majority(~src1, src2, res)
      return (((~f.src1 & f.src2) | ((~f.src1 | f.src2) & f.res)) >> msb(f.op)) & 1;
    case LF_LOGIC >> 2:
      return false;
    default:  // LF_EAGER, LF_INC, LF_DEC: CF is bit 0 of `eager`
      return f.eager & FLAG_CF;
  }
}

NS_FLAGS_INLINE bool zf(const LazyFlags& f) { return f.op == LF_EAGER ? (f.eager & FLAG_ZF) : f.res == 0; }
NS_FLAGS_INLINE bool sf(const LazyFlags& f) {
  return f.op == LF_EAGER ? (f.eager & FLAG_SF) : (f.res >> msb(f.op)) & 1;
}
NS_FLAGS_INLINE bool pf(const LazyFlags& f) {
  return f.op == LF_EAGER ? (f.eager & FLAG_PF) : !__builtin_parity(unsigned(f.res & 0xFF));
}
NS_FLAGS_INLINE bool af(const LazyFlags& f) {
  switch ((f.op >> 2) & 7) {
    case LF_EAGER >> 2: return f.eager & FLAG_AF;
    case LF_LOGIC >> 2: return false;  // undefined (SDM "AND"); hardware clears it
    default: return (f.src1 ^ f.src2 ^ f.res) & 0x10;
  }
}
NS_FLAGS_INLINE bool of(const LazyFlags& f) {
  if (f.op & LF_CFOF) return f.eager & FLAG_OF;
  switch (f.op >> 2) {
    case LF_ADD >> 2:
    case LF_INC >> 2:  // operands of one sign, result of the other
      return (((f.src1 ^ f.res) & (f.src2 ^ f.res)) >> msb(f.op)) & 1;
    case LF_SUB >> 2:
    case LF_DEC >> 2:
      return (((f.src1 ^ f.src2) & (f.src1 ^ f.res)) >> msb(f.op)) & 1;
    case LF_LOGIC >> 2: return false;
    default: return f.eager & FLAG_OF;
  }
}

// All six arithmetic flags as RFLAGS bits.
inline uint32_t arith(const LazyFlags& f) {
  if (f.op == LF_EAGER) return f.eager;
  return (cf(f) ? kCF : 0) | (pf(f) ? kPF : 0) | (af(f) ? kAF : 0) | (f.res == 0 ? kZF : 0) |
         (sf(f) ? kSF : 0) | (of(f) ? kOF : 0);
}

}  // namespace lazy

NS_FLAGS_INLINE bool get_cf(const Cpu& c) { return lazy::cf(c.lf); }

// Condition codes (SDM Vol. 1 Appendix B, Table B-1): bit 0 negates.
NS_FLAGS_INLINE bool cond(const Cpu& c, unsigned cc) {
  const LazyFlags& f = c.lf;
  bool r;
  switch ((cc >> 1) & 7) {
    case 0: r = lazy::of(f); break;                          // O
    case 1: r = lazy::cf(f); break;                          // B/C
    case 2: r = lazy::zf(f); break;                          // Z/E
    case 3: r = lazy::cf(f) || lazy::zf(f); break;           // BE
    case 4: r = lazy::sf(f); break;                          // S
    case 5: r = lazy::pf(f); break;                          // P
    case 6: r = lazy::sf(f) != lazy::of(f); break;           // L
    default: r = lazy::zf(f) || lazy::sf(f) != lazy::of(f); break;  // LE
  }
  return r != bool(cc & 1);
}

// Records a lazily evaluated result.
template <class T>
inline void set_lazy(Cpu& c, uint32_t kind, T res, T s1, T s2) {
  c.lf.res = res;
  c.lf.src1 = s1;
  c.lf.src2 = s2;
  c.lf.op = kind | kSizeIndex<T>;
}

// Replaces CF and OF only (rotates), keeping the other four flags lazy.
inline void set_cf_of(Cpu& c, bool cf, bool of) {
  uint32_t bits = (cf ? kCF : 0) | (of ? kOF : 0);
  if (c.lf.op == LF_EAGER) {
    c.lf.eager = (c.lf.eager & ~(kCF | kOF)) | bits;
  } else {
    c.lf.op |= LF_CFOF;
    c.lf.eager = bits;
  }
}

// A result whose SF, ZF and PF follow it, with AF = 0 and CF/OF given (shifts,
// multiplies).
template <class T>
inline void set_result_cf_of(Cpu& c, T res, bool cf, bool of) {
  set_lazy<T>(c, LF_LOGIC | LF_CFOF, res, T(0), T(0));
  c.lf.eager = (cf ? kCF : 0) | (of ? kOF : 0);
}

// Sets all six arithmetic flags (FLAG_* bits; others ignored).
inline void set_flags_eager(Cpu& c, uint32_t flags) {
  c.lf.op = LF_EAGER;
  c.lf.eager = flags & uint32_t(FLAGS_ARITH);
}

// Replaces the arithmetic flags in `mask`, keeping the others.
inline void update_flags(Cpu& c, uint32_t mask, uint32_t flags) {
  uint32_t cur = lazy::arith(c.lf);
  set_flags_eager(c, (cur & ~mask) | (flags & mask));
}

// SF, ZF and PF of a result, as RFLAGS bits.
template <class T>
inline uint32_t szp(T r) {
  return (r == 0 ? kZF : 0) | ((r >> (kBits<T> - 1)) & 1 ? kSF : 0) |
         (__builtin_parity(unsigned(uint8_t(r))) ? 0 : kPF);
}

// Time-stamp counter as RDTSC/RDTSCP/RDMSR read it (SDM Vol. 3B 18.17): simulated
// cycles plus the offset WRMSR to IA32_TSC / IA32_TSC_ADJUST set (isa/msr.cpp).
// VMX TSC offsetting and scaling (issue 5) go here too.
inline uint64_t read_tsc(const Cpu& c) { return c.cycles + c.msr.tsc_offset; }

}  // namespace isa
