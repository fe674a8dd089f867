// Architectural register state of one logical processor: plain data, no behaviour.
// One table of registers serves trace dumps, tests, the future KVM sync and Python.
// Simulator bookkeeping (TLB, lazy-flag helpers, counters) lives in isa::Cpu.
#pragma once
#include <cstdint>

namespace isa {

enum Gpr : uint8_t {
  RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15,
};

// RFLAGS bits (SDM Vol. 1 3.4.3).
enum : uint64_t {
  FLAG_CF = 1u << 0, FLAG_FIXED1 = 1u << 1, FLAG_PF = 1u << 2, FLAG_AF = 1u << 4,
  FLAG_ZF = 1u << 6, FLAG_SF = 1u << 7, FLAG_TF = 1u << 8, FLAG_IF = 1u << 9,
  FLAG_DF = 1u << 10, FLAG_OF = 1u << 11, FLAG_IOPL = 3u << 12, FLAG_NT = 1u << 14,
  FLAG_RF = 1u << 16, FLAG_VM = 1u << 17, FLAG_AC = 1u << 18, FLAG_VIF = 1u << 19,
  FLAG_VIP = 1u << 20, FLAG_ID = 1u << 21,
  FLAGS_ARITH = FLAG_CF | FLAG_PF | FLAG_AF | FLAG_ZF | FLAG_SF | FLAG_OF,
};

// Segment register with its hidden descriptor cache (SDM Vol. 3A 3.4.3).
struct SegmentReg {
  uint16_t selector = 0;
  uint16_t attr = 0;     // descriptor bits 40-47 (type,S,DPL,P) and 52-55 (AVL,L,D/B,G) as in VMCS AR
  uint32_t limit = 0xFFFF;  // byte-granular (G already applied)
  uint64_t base = 0;
};

struct DescriptorTableReg {
  uint64_t base = 0;
  uint16_t limit = 0xFFFF;
};

// One 256-bit vector register (XMM is the low half).
union alignas(32) VecReg {
  uint8_t u8[32];
  uint16_t u16[16];
  uint32_t u32[8];
  uint64_t u64[4];
  int8_t i8[32];
  int16_t i16[16];
  int32_t i32[8];
  int64_t i64[4];
  float f32[8];
  double f64[4];
};

// One x87 register in its 80-bit memory layout (significand, sign+exponent).
struct X87Reg {
  uint64_t significand = 0;
  uint16_t sign_exp = 0;
  uint16_t pad[3] = {};
};

struct X87State {
  X87Reg st[8];     // physical registers R0..R7 (ST(i) = st[(top + i) & 7])
  uint16_t fcw = 0x037F;
  uint16_t fsw = 0;   // TOP in bits 11-13
  uint16_t ftw = 0xFFFF;  // full tag word: 2 bits per physical register, 11 = empty
  uint16_t fop = 0;
  uint64_t fip = 0, fdp = 0;
  uint16_t fcs = 0, fds = 0;
};

struct CpuState {
  // GPRs 0-15, then r[16] = constant zero (base/index "none"), r[17] = RIP.
  // Keeping RIP in the same array makes RIP-relative addressing an ordinary base.
  uint64_t r[18] = {};
  uint64_t rflags = FLAG_FIXED1;  // non-arithmetic bits; arithmetic ones live in Cpu's lazy flags
  SegmentReg seg[6];
  SegmentReg ldtr, tr;
  DescriptorTableReg gdtr, idtr;
  uint64_t cr0 = 0x60000010, cr2 = 0, cr3 = 0, cr4 = 0, cr8 = 0;
  uint64_t dr[8] = {0, 0, 0, 0, 0xFFFF0FF0, 0x400, 0xFFFF0FF0, 0x400};
  uint64_t efer = 0;
  uint64_t xcr0 = 1;
  X87State x87;
  uint32_t mxcsr = 0x1F80;
  VecReg v[16];
  uint64_t tsc_aux = 0;
  uint64_t kernel_gs_base = 0;
};

}  // namespace isa
