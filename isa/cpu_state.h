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

// Control-register and IA32_EFER bits (SDM Vol. 3A 2.5, 2.2.1).
enum : uint64_t {
  CR0_PE = 1u << 0, CR0_MP = 1u << 1, CR0_EM = 1u << 2, CR0_TS = 1u << 3, CR0_ET = 1u << 4,
  CR0_NE = 1u << 5, CR0_WP = 1u << 16, CR0_AM = 1u << 18, CR0_NW = 1u << 29, CR0_CD = 1u << 30,
  CR0_PG = 1u << 31,
};
enum : uint64_t {
  CR4_VME = 1u << 0, CR4_PVI = 1u << 1, CR4_TSD = 1u << 2, CR4_DE = 1u << 3, CR4_PSE = 1u << 4,
  CR4_PAE = 1u << 5, CR4_MCE = 1u << 6, CR4_PGE = 1u << 7, CR4_PCE = 1u << 8,
  CR4_OSFXSR = 1u << 9, CR4_OSXMMEXCPT = 1u << 10, CR4_UMIP = 1u << 11, CR4_LA57 = 1u << 12,
  CR4_VMXE = 1u << 13, CR4_SMXE = 1u << 14, CR4_FSGSBASE = 1u << 16, CR4_PCIDE = 1u << 17,
  CR4_OSXSAVE = 1u << 18, CR4_SMEP = 1u << 20, CR4_SMAP = 1u << 21, CR4_PKE = 1u << 22,
};
enum : uint64_t {
  EFER_SCE = 1u << 0, EFER_LME = 1u << 8, EFER_LMA = 1u << 10, EFER_NXE = 1u << 11,
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

// MSRs the core's own semantics read (SDM Vol. 4). The table that names every MSR,
// its access rules and its per-model default is isa/msr.def; MSRs that belong to
// the platform (local APIC, MTRR-less devices...) are answered by the Bus.
struct MsrState {
  uint64_t star = 0, lstar = 0, cstar = 0, fmask = 0;             // SYSCALL/SYSRET
  uint64_t sysenter_cs = 0, sysenter_esp = 0, sysenter_eip = 0;   // SYSENTER/SYSEXIT
  uint64_t pat = 0x0007040600070406ull;                          // power-up value (SDM 11.12.4)
  uint64_t tsc_offset = 0;    // TSC = cycles + tsc_offset (WRMSR IA32_TSC / TSC_ADJUST)
  uint64_t tsc_adjust = 0;
  uint64_t debugctl = 0;
  uint64_t misc_enable = 0;
  uint64_t feature_control = 0;
  uint64_t spec_ctrl = 0;
  uint64_t xss = 0;
  uint64_t mtrr_def_type = 0;
  uint64_t mtrr_fixed[11] = {};
  uint64_t mtrr_var[20] = {};   // base/mask pairs
  uint64_t mcg_status = 0;
  uint64_t umwait_control = 0;
  uint64_t apic_base = 0xFEE00900;   // BSP, xAPIC enabled, default base (SDM Vol. 3A 10.4.4)
  uint64_t aperf_offset = 0, mperf_offset = 0;  // APERF/MPERF = cycles + offset
  // Read-only identification MSRs: values from the CPU model (set at reset).
  uint64_t platform_id = 0, platform_info = 0, mtrr_cap = 0, arch_capabilities = 0;
  uint64_t mcg_cap = 0, bios_sign_id = 0;
};

// Event-related state (SDM Vol. 3A 6.8.3, 6.9, 6.7.1, 17.3.1; the VMCS's guest
// interruptibility and activity-state fields mirror these one to one).
enum class Activity : uint8_t { kActive = 0, kHlt = 1, kShutdown = 2, kWaitForSipi = 3 };
enum : uint8_t { SHADOW_STI = 1, SHADOW_MOV_SS = 2 };
struct EventState {
  uint8_t shadow = 0;           // SHADOW_* bits: blocks events for one instruction
  bool nmi_blocked = false;     // from NMI delivery until the next IRET
  bool nmi_pending = false;     // NMI latched, not yet delivered
  Activity activity = Activity::kActive;
  uint64_t pending_dbg = 0;     // DR6 bits of debug traps to deliver after this instruction
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
  uint32_t pkru = 0;
  uint64_t pdpte[4] = {};  // PAE paging's PDPTE registers (SDM Vol. 3A 4.4.1; VMCS GUEST_PDPTEn)
  MsrState msr;
  EventState ev;
};

}  // namespace isa
