// String instructions: MOVS, CMPS, STOS, LODS, SCAS in every operand size, with
// REP/REPE/REPNE in 16-, 32- and 64-bit address sizes (SDM Vol. 2B "REP/REPE/REPZ/
// REPNE/REPNZ", and each mnemonic).
//
// - The address size selects CX/ECX/RCX and SI/ESI/RSI, DI/EDI/RDI; the handler
//   dispatches once on it into a template on the address type A.
// - The source segment may be overridden (d.seg); the destination is always ES.
// - A fault in the middle of a repeated string leaves the counter and pointers at
//   the iterations completed (SDM Vol. 3A 6.6, "Repeated string instructions");
//   the run loop keeps RIP on the instruction, so it restarts where it stopped.
// - REP MOVS/STOS with DF = 0 in 64-bit mode copy or fill page-sized chunks
//   directly through the host-pointer TLB when both pages hit; element-exact
//   (overlapping forward copies replicate as the sequential definition does). Not
//   while Cpu::attention is set: then each call does one element, so that boundary
//   events see every iteration (the monitor trap flag exits after each one, SDM Vol.
//   3C 25.5.2).
// - A repeated string runs at most kRepChunk elements per call. If more remain, the
//   registers are committed and RIP is put back on the instruction, which runs again
//   (SDM Vol. 2B "REP": the instruction may be interrupted between iterations and
//   resumes with the updated registers). It retires once, when it completes, as
//   hardware counts it; sim/ ends a decoded block after every REP string form so the
//   next call follows directly (and limits and interrupts are checked in between).
#include <algorithm>
#include <cstring>

#include "isa/exec_int.h"

namespace isa::exec {
namespace {

enum class Str { MOVS, CMPS, STOS, LODS, SCAS };

constexpr uint64_t kRepChunk = 4096;  // elements per call of a repeated string

template <class A>
struct Regs {  // pointer/counter state, committed on completion or fault
  A si, di, cx;
  void load(const Cpu& c) { si = A(c.r[RSI]), di = A(c.r[RDI]), cx = A(c.r[RCX]); }
  void commit(Cpu& c, Str op, bool rep) const {
    if (op != Str::STOS && op != Str::SCAS) c.set_reg<A>(RSI, si);
    if (op != Str::LODS) c.set_reg<A>(RDI, di);
    if (rep) c.set_reg<A>(RCX, cx);
  }
};

// One element: the accesses first, then the pointer updates in `g`.
template <Str OP, class T, class A>
inline void element(Cpu& c, const DecodedInst& d, Regs<A>& g, A step) {
  if constexpr (OP == Str::MOVS) {
    c.write<T>(ES, g.di, c.read<T>(d.seg, g.si));
    g.si = A(g.si + step), g.di = A(g.di + step);
  } else if constexpr (OP == Str::STOS) {
    c.write<T>(ES, g.di, c.reg<T>(RAX));
    g.di = A(g.di + step);
  } else if constexpr (OP == Str::LODS) {
    c.set_reg<T>(RAX, c.read<T>(d.seg, g.si));
    g.si = A(g.si + step);
  } else if constexpr (OP == Str::CMPS) {
    T a = c.read<T>(d.seg, g.si);
    T b = c.read<T>(ES, g.di);
    set_lazy<T>(c, LF_SUB, T(a - b), a, b);
    g.si = A(g.si + step), g.di = A(g.di + step);
  } else {
    T a = c.reg<T>(RAX);
    T b = c.read<T>(ES, g.di);
    set_lazy<T>(c, LF_SUB, T(a - b), a, b);
    g.di = A(g.di + step);
  }
}

inline void* tlb_host(Cpu& c, const TlbEntry* tlb, uint64_t lin) {
  const TlbEntry& e = tlb[(lin >> 12) & (kTlbSize - 1)];
  return e.vpn == (lin >> 12) ? reinterpret_cast<void*>(lin + e.addend) : nullptr;
}

// Bulk forward MOVS/STOS on RAM pages already in the TLB; returns the elements done
// (0 when the next element needs the slow path: TLB miss or page-crossing element).
template <Str OP, class T>
inline uint64_t bulk(Cpu& c, const DecodedInst& d, Regs<uint64_t>& g) {
  uint64_t dlin = c.seg_base_eff[ES] + g.di;
  uint64_t n = std::min<uint64_t>(g.cx, (kPageSize - (dlin & 0xFFF)) / sizeof(T));
  void* dst = tlb_host(c, c.tlb_write, dlin);
  if (!dst) return 0;
  if constexpr (OP == Str::MOVS) {
    uint64_t slin = c.seg_base_eff[d.seg] + g.si;
    n = std::min<uint64_t>(n, (kPageSize - (slin & 0xFFF)) / sizeof(T));
    const void* src = tlb_host(c, c.tlb_read, slin);
    if (!src || n == 0) return 0;
    auto* s = static_cast<const uint8_t*>(src);
    auto* t = static_cast<uint8_t*>(dst);
    uint64_t bytes = n * sizeof(T);
    if (t > s && t < s + bytes) {
      for (uint64_t i = 0; i < bytes; i += sizeof(T)) std::memcpy(t + i, s + i, sizeof(T));
    } else {
      std::memmove(t, s, bytes);
    }
    g.si += bytes;
  } else {
    if (n == 0) return 0;
    T v = c.reg<T>(RAX);
    if constexpr (sizeof(T) == 1) {
      std::memset(dst, v, n);
    } else {
      auto* t = static_cast<uint8_t*>(dst);
      for (uint64_t i = 0; i < n; i++) std::memcpy(t + i * sizeof(T), &v, sizeof(T));
    }
  }
  g.di += n * sizeof(T);
  g.cx -= n;
  return n;
}

template <Str OP, class T, class A>
void string_op(Cpu& c, const DecodedInst& d) {
  const bool forward = !(c.rflags & FLAG_DF);
  const A step = forward ? A(sizeof(T)) : A(0 - A(sizeof(T)));
  const bool rep = d.flags & (IF_REP | IF_REPNE);
  Regs<A> g;
  g.load(c);
  if (!rep) {
    element<OP, T, A>(c, d, g, step);
    g.commit(c, OP, false);
    return;
  }
  // CMPS/SCAS: F3 repeats while equal (REPE), F2 while not equal (REPNE).
  constexpr bool kCompare = OP == Str::CMPS || OP == Str::SCAS;
  const bool repne = d.flags & IF_REPNE;
  if (g.cx == 0) {
    // No iteration. Hardware still writes the counter (a 32-bit ECX zero-extends
    // into RCX) and, for MOVS/STOS, the pointers; LODS/CMPS/SCAS leave the
    // pointers alone (observed on the host, tests/hostdiff).
    if (OP == Str::MOVS || OP == Str::STOS) g.commit(c, OP, true);
    else c.set_reg<A>(RCX, 0);
    return;
  }
  uint64_t done = 0;
  try {
    while (g.cx != 0) {
      // Yield (run again from the same RIP) after a chunk, or as soon as an element
      // raised something the run loop must see between iterations: a data
      // breakpoint hit traps after that iteration with the registers part-way
      // (SDM Vol. 3A 17.3.1.2), and pending interrupts are taken there too (6.8.3).
      if (done >= kRepChunk || NS_UNLIKELY(c.attention && done)) {
        // One cycle per element beyond the base cost (docs/TIMING.md). This call
        // does not retire the instruction: the run loop counts it and charges its
        // base cost once per call, so take both back; the base is paid once, by the
        // call that completes it, however often the instruction yields (tracing and
        // pending events make it yield after every element).
        c.cycles += done - d.cycles;
        g.commit(c, OP, true);
        c.rip() -= d.len;
        c.icount--;
        return;
      }
      if constexpr ((OP == Str::MOVS || OP == Str::STOS) && sizeof(A) == 8) {
        if (c.long64 && forward && !c.attention) {  // (element by element otherwise)
          if (uint64_t n = bulk<OP, T>(c, d, g)) {
            done += n;
            continue;
          }
        }
      }
      element<OP, T, A>(c, d, g, step);
      g.cx = A(g.cx - 1);
      done++;
      if constexpr (kCompare) {
        if (lazy::zf(c.lf) == repne) break;
      }
    }
  } catch (...) {
    c.cycles += done;
    g.commit(c, OP, true);
    throw;
  }
  c.cycles += done;
  g.commit(c, OP, true);
}

template <Str OP>
struct StringOp {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    switch (d.asize) {
      case 8: string_op<OP, T, uint64_t>(c, d); break;
      case 4: string_op<OP, T, uint32_t>(c, d); break;
      default: string_op<OP, T, uint16_t>(c, d); break;
    }
  }
};

}  // namespace
}  // namespace isa::exec

namespace isa {

void register_string_handlers(HandlerTable& t) {
  using namespace exec;
  bind_b<StringOp<Str::MOVS>>(t, Form::movsb);
  bind_v<StringOp<Str::MOVS>>(t, Form::movsv);
  bind_b<StringOp<Str::CMPS>>(t, Form::cmpsb);
  bind_v<StringOp<Str::CMPS>>(t, Form::cmpsv);
  bind_b<StringOp<Str::STOS>>(t, Form::stosb);
  bind_v<StringOp<Str::STOS>>(t, Form::stosv);
  bind_b<StringOp<Str::LODS>>(t, Form::lodsb);
  bind_v<StringOp<Str::LODS>>(t, Form::lodsv);
  bind_b<StringOp<Str::SCAS>>(t, Form::scasb);
  bind_v<StringOp<Str::SCAS>>(t, Form::scasv);
}

}  // namespace isa
