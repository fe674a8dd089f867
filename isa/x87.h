// x87 FPU helpers shared by the exec_x87*.cpp and exec_xsave.cpp semantics files.
//
// Model (SDM Vol. 1 chapter 8):
//   - X87State.st[] holds the physical registers R0..R7; ST(i) = st[(TOP + i) & 7].
//   - X87State.ftw is the full tag word; x87 code keeps it canonical (a register's
//     tag is 11b empty or the class of its contents: 00 valid, 01 zero, 10 special)
//     by writing through set_st()/push(). Only empty/non-empty is architectural
//     state: FNSTENV/FNSAVE recompute the rest (full_tag()), FXSAVE stores the
//     abridged form, and MMX instructions may simply mark registers valid.
//   - FSW.ES and FSW.B are a summary: set iff some exception flag is set whose mask
//     bit in FCW is clear. A waiting instruction that finds ES set raises #MF
//     (CR0.NE is treated as 1: the MS-DOS FERR#/IGNNE# path is not modelled).
//   - FIP is updated by every non-control instruction. The modelled processor has
//     CPUID.(EAX=7,ECX=0):EBX[6] (FDP_EXCPTN_ONLY) and [13] (FCS/FDS deprecated), and
//     runs with FOP compatibility mode off, like current Intel cores: FDP and FOP are
//     written only when the instruction raises an unmasked exception, FCS and FDS are
//     always stored as 0.
//   - Numeric results come from running the very instruction on the host x87 under
//     the guest FCW (precision and rounding control, denormals, NaN propagation and
//     the rounded-up bit C1 are then exact); the stack, tags, TOP, condition codes,
//     stack faults, masking and #MF are modelled here.
#pragma once
#include <cstdint>

#include "isa/bind.h"
#include "isa/cpu.h"

namespace isa::x87 {

// FSW bits (SDM Vol. 1 8.1.3).
enum : uint16_t {
  SW_IE = 1u << 0, SW_DE = 1u << 1, SW_ZE = 1u << 2, SW_OE = 1u << 3, SW_UE = 1u << 4,
  SW_PE = 1u << 5, SW_SF = 1u << 6, SW_ES = 1u << 7, SW_C0 = 1u << 8, SW_C1 = 1u << 9,
  SW_C2 = 1u << 10, SW_TOP = 7u << 11, SW_C3 = 1u << 14, SW_B = 1u << 15,
  SW_EXC = 0x3F,  // the six exception flags (masks in FCW bits 0-5)
  SW_CC = SW_C0 | SW_C1 | SW_C2 | SW_C3,
};


// FCW: bit 6 reads as 1, bits 7 and 13-15 as 0 (SDM Vol. 1 8.1.5; checked on hardware).
constexpr uint16_t fcw_canonical(uint16_t v) { return uint16_t((v & 0x1F3F) | 0x40); }

constexpr X87Reg kIndefinite{0xC000000000000000ull, 0xFFFF, {}};  // QNaN floating-point indefinite

// Tags (SDM Vol. 1 8.1.7).
enum : unsigned { TAG_VALID = 0, TAG_ZERO = 1, TAG_SPECIAL = 2, TAG_EMPTY = 3 };

inline unsigned tag_of(const X87Reg& r) {
  unsigned exp = r.sign_exp & 0x7FFF;
  bool j = r.significand >> 63;
  if (exp == 0x7FFF) return TAG_SPECIAL;  // infinity, NaN, pseudo-NaN/infinity
  if (exp == 0) return r.significand == 0 ? TAG_ZERO : TAG_SPECIAL;  // denormal, pseudo-denormal
  return j ? TAG_VALID : TAG_SPECIAL;  // unnormal
}

inline unsigned top(const X87State& s) { return (s.fsw >> 11) & 7; }
inline void set_top(X87State& s, unsigned t) { s.fsw = uint16_t((s.fsw & ~SW_TOP) | ((t & 7) << 11)); }
inline unsigned phys(const X87State& s, unsigned i) { return (top(s) + i) & 7; }
inline unsigned phys_tag(const X87State& s, unsigned p) { return (s.ftw >> (2 * p)) & 3; }
inline void set_phys_tag(X87State& s, unsigned p, unsigned t) {
  s.ftw = uint16_t((s.ftw & ~(3u << (2 * p))) | (t << (2 * p)));
}
inline bool empty(const X87State& s, unsigned i) { return phys_tag(s, phys(s, i)) == TAG_EMPTY; }
inline const X87Reg& st(const X87State& s, unsigned i) { return s.st[phys(s, i)]; }
inline void set_st(X87State& s, unsigned i, const X87Reg& v) {
  unsigned p = phys(s, i);
  s.st[p].significand = v.significand;
  s.st[p].sign_exp = v.sign_exp;
  set_phys_tag(s, p, tag_of(v));
}
inline void free_st(X87State& s, unsigned i) { set_phys_tag(s, phys(s, i), TAG_EMPTY); }
inline void push(X87State& s, const X87Reg& v) {
  set_top(s, top(s) - 1);
  set_st(s, 0, v);
}
inline void pop(X87State& s) {
  free_st(s, 0);
  set_top(s, top(s) + 1);
}
inline void set_c1(X87State& s, bool v) { s.fsw = uint16_t(v ? s.fsw | SW_C1 : s.fsw & ~SW_C1); }
inline void set_cc(X87State& s, uint16_t mask, uint16_t bits) {
  s.fsw = uint16_t((s.fsw & ~mask) | (bits & mask));
}

// Recomputes the ES/B summary from the flags and masks.
inline void update_es(X87State& s) {
  if (s.fsw & ~s.fcw & SW_EXC) s.fsw |= SW_ES | SW_B;
  else s.fsw &= uint16_t(~(SW_ES | SW_B));
}

// Rebuilds a canonical full tag word: `nonempty` has bit p set for each physical
// register that holds a value (FLDENV/FRSTOR/FXRSTOR/XRSTOR load only that much).
inline void retag(X87State& s, unsigned nonempty) {
  for (unsigned p = 0; p < 8; p++) set_phys_tag(s, p, (nonempty >> p) & 1 ? tag_of(s.st[p]) : TAG_EMPTY);
}
// Full tag word as FNSTENV/FNSAVE store it: computed from the contents of each
// non-empty register (hardware keeps only the abridged tag; MMX instructions, which
// mark every register valid, rely on this).
inline uint16_t full_tag(const X87State& s) {
  uint16_t t = 0;
  for (unsigned p = 0; p < 8; p++)
    t |= uint16_t((phys_tag(s, p) == TAG_EMPTY ? TAG_EMPTY : tag_of(s.st[p])) << (2 * p));
  return t;
}
// Abridged tag (FXSAVE byte 4): bit p = 1 when R[p] is not empty.
inline uint8_t abridged_tag(const X87State& s) {
  uint8_t t = 0;
  for (unsigned p = 0; p < 8; p++) t |= uint8_t((phys_tag(s, p) != TAG_EMPTY) << p);
  return t;
}

// FNINIT values (SDM Vol. 2A "FINIT/FNINIT"; also the power-up state, Vol. 3A 9.1.1).
inline void init(X87State& s) {
  s.fcw = 0x037F;
  s.fsw = 0;
  s.ftw = 0xFFFF;
  s.fop = 0;
  s.fip = s.fdp = 0;
  s.fcs = s.fds = 0;
}

// ---- host execution ------------------------------------------------------------
// A kernel (x87_host.h) runs one x87 instruction on the host with ST(0) = a,
// ST(1) = b, FCW = fcw and no flags set; `mem` is the instruction's memory operand (a
// host buffer). Afterwards `st0`/`st1` are the host ST(0)/ST(1) and `sw` the host FSW
// (flags and C0-C3; TOP is meaningless). `fsw` supplies the starting C0-C3 for the
// kernels that need them.
struct HostResult {
  X87Reg st0, st1;
  uint16_t sw;
};
using HostKernel = void (*)(uint16_t fcw, uint16_t fsw, const X87Reg& a, const X87Reg& b, void* mem,
                            HostResult& o);
// The 28-byte protected-mode environment a kernel starts from (all registers empty).
struct HostEnv {
  uint32_t w[7];
  HostEnv(uint16_t fcw, uint16_t fsw)
      : w{0xFFFF0000u | fcw, 0xFFFF0000u | (fsw & SW_CC), 0xFFFFFFFFu, 0, 0, 0, 0xFFFF0000u} {}
};

// ---- instruction framing -----------------------------------------------------------
// #NM for every x87 instruction when CR0.EM or CR0.TS is set (SDM Vol. 3A 2.5,
// Table 2-2); then, for waiting instructions, #MF for a pending unmasked exception.
inline void check_nm(Cpu& c) {
  if (c.cr0 & (CR0_EM | CR0_TS)) raise_fault(VEC_NM);
}
inline void check_mf(Cpu& c) {
  if (c.x87.fsw & SW_ES) raise_fault(VEC_MF);
}
// Address of the instruction being executed (the run loop has moved RIP past it).
inline uint64_t inst_offset(Cpu& c, const DecodedInst& d) {
  uint64_t a = c.rip() - d.len;
  return c.code_size == CodeSize::k64 ? a : uint32_t(a);
}
bool real_or_v86(const Cpu& c);
// FIP value for the current instruction: the offset, or in real and virtual-8086
// mode the 32-bit linear address the real-mode environment layout holds.
uint64_t fip_of(Cpu& c, const DecodedInst& d);

// Checks made before a waiting instruction does anything: #NM, then #MF.
inline void checks(Cpu& c) {
  check_nm(c);
  check_mf(c);
}

// True when an exception in `e` is unmasked and stops the instruction before it
// writes its destination or moves the stack: invalid, denormal, divide-by-zero
// (SDM Vol. 1 4.9.2, 8.5), plus `extra` (overflow/underflow for memory destinations).
bool blocked(const X87State& s, uint16_t e, uint16_t extra = 0);

// Ends a non-control instruction (every path calls it once, after the last access
// that can fault): FIP, the exception flags `e`, and for an unmasked one ES/B, FOP
// and FDP (SDM Vol. 1 8.1.8, 8.5).
void record(Cpu& c, const DecodedInst& d, uint16_t e);

// For an instruction computed on the host: when an unmasked pre-computation exception
// stopped it, records that and returns true. C1 and the condition codes in `cc` that
// the instruction defines are still written, as the host left them (cleared, or
// "unordered" for comparisons; checked on hardware).
inline bool stopped(Cpu& c, const DecodedInst& d, const HostResult& r, uint16_t extra = 0,
                    uint16_t cc = SW_C1) {
  uint16_t exc = r.sw & SW_EXC;
  if (!blocked(c.x87, exc, extra)) return false;
  set_cc(c.x87, cc, r.sw);
  record(c, d, exc);
  return true;
}

// Stack underflow (an operand register is empty): IE|SF, C1=0. Returns true when IE
// is masked and the masked response (indefinite) must be carried out.
bool stack_underflow(Cpu& c, const DecodedInst& d);
// Stack overflow (a push onto a full register): IE|SF, C1=1. Same return value.
bool stack_overflow(Cpu& c, const DecodedInst& d);

// FCW/FSW writes that can change the ES summary.
void load_fcw(X87State& s, uint16_t v);

// Full x87 state serialisation used by FXSAVE/XSAVE (legacy region, bytes 0-159).
void fxsave_x87(const Cpu& c, uint8_t* area, bool rex_w);
void fxrstor_x87(Cpu& c, const uint8_t* area, bool rex_w);

// Registration (one function per semantics file).
void register_x87_data(HandlerTable& t);
void register_x87_arith(HandlerTable& t);
void register_x87_misc(HandlerTable& t);
void register_xsave(HandlerTable& t);

}  // namespace isa::x87
