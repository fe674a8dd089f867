#include "sim/cpu_model.h"

#include <algorithm>

namespace sim {
namespace {

// CPUID feature bits (SDM Vol. 2A CPUID, Tables 3-8 to 3-11 and the leaf 7, 0DH and
// 80000001H descriptions). A bit is set only when nestsim implements what it
// enumerates: the core gates CR4 bits, MSRs and instructions on these same bits.
constexpr uint32_t kEcx1 = (1u << 0)     // SSE3
                           | (1u << 1)   // PCLMULQDQ
                           | (1u << 3)   // MONITOR/MWAIT (isa/sys_misc.cpp)
                           | (1u << 5)   // VMX (vmx/)
                           | (1u << 9)   // SSSE3
                           | (1u << 12)  // FMA
                           | (1u << 13)  // CMPXCHG16B
                           | (1u << 17)  // PCID
                           | (1u << 19)  // SSE4.1
                           | (1u << 20)  // SSE4.2
                           | (1u << 21)  // x2APIC (sim/dev/lapic.h)
                           | (1u << 22)  // MOVBE
                           | (1u << 23)  // POPCNT
                           | (1u << 24)  // TSC-deadline timer mode of the local APIC
                           | (1u << 25)  // AES
                           | (1u << 26)  // XSAVE (OSXSAVE, bit 27, tracks CR4 at run time)
                           | (1u << 28)  // AVX
                           | (1u << 29)  // F16C
                           | (1u << 30); // RDRAND
// FPU VME DE PSE TSC MSR PAE MCE CX8 SEP MTRR PGE MCA CMOV PAT CLFSH MMX FXSR SSE SSE2
// APIC (VME covers CR4.VME and CR4.PVI, isa/sys_int.cpp; APIC is the on-chip local
// APIC, sim/dev/lapic.h). Not enumerated: PSE-36.
constexpr uint32_t kEdx1 = (1u << 0) | (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) |
                           (1u << 6) | (1u << 7) | (1u << 8) | (1u << 9) | (1u << 11) | (1u << 12) |
                           (1u << 13) | (1u << 14) | (1u << 15) | (1u << 16) | (1u << 19) |
                           (1u << 23) | (1u << 24) | (1u << 25) | (1u << 26);
constexpr uint32_t kEbx7 = (1u << 0)     // FSGSBASE
                           | (1u << 1)   // IA32_TSC_ADJUST
                           | (1u << 3)   // BMI1
                           | (1u << 5)   // AVX2
                           | (1u << 6)   // FDP_EXCPTN_ONLY (isa/x87.h models it)
                           | (1u << 7)   // SMEP
                           | (1u << 8)   // BMI2
                           | (1u << 9)   // enhanced REP MOVSB/STOSB
                           | (1u << 10)  // INVPCID
                           | (1u << 13)  // FCS/FDS deprecated (isa/x87.h stores them as 0)
                           | (1u << 18)  // RDSEED
                           | (1u << 19)  // ADX
                           | (1u << 20)  // SMAP
                           | (1u << 23)  // CLFLUSHOPT
                           | (1u << 24); // CLWB
constexpr uint32_t kEcx7 = (1u << 2)     // UMIP
                           | (1u << 3)   // PKU (OSPKE, bit 4, tracks CR4.PKE at run time)
                           | (1u << 22); // RDPID
constexpr uint32_t kEcx7La57 = 1u << 16;  // 5-level paging (Ice Lake and later)
// IA32_SPEC_CTRL IBRS/IBPB (26), STIBP (27), IA32_ARCH_CAPABILITIES (29), SSBD (31).
constexpr uint32_t kEdx7 = (1u << 26) | (1u << 27) | (1u << 29) | (1u << 31);

// Base costs (cycles) per instruction class: an in-order, one-instruction-per-cycle
// core plus the latency of the long-latency classes (docs/TIMING.md cites each).
struct ClassCosts {
  uint8_t mul, div, call, ret, string, atomic, cpuid, tsc, rand, x87_trans, fpdiv, xsave,
      system, io;
};

CpuModel make_model(const char* name, const char* description, uint32_t fms, uint32_t ecx7,
                    uint32_t linear_bits, const ClassCosts& k, const TimingParams& t,
                    uint64_t platform_info, uint64_t arch_caps, uint64_t ucode,
                    const mmu::TlbGeometry& tlb) {
  CpuModel m{};
  m.name = name;
  m.description = description;
  m.maxphyaddr = 46;
  m.cpuid = {
      {0x0, 0, false, 0xD, 0x756E6547, 0x6C65746E, 0x49656E69},  // GenuineIntel
      {0x1, 0, false, fms, 0x00010800, kEcx1, kEdx1},
      // MONITOR/MWAIT: 64-byte lines; ECX: enumeration of extensions (0), interrupts
      // as break events (1). No C-state sub-states.
      {0x5, 0, false, 64, 64, 0x3, 0},
      // EAX[2]: ARAT (the APIC timer runs in every C-state); ECX[0]: MPERF/APERF.
      {0x6, 0, false, 0x4, 0, 1, 0},
      {0x7, 0, true, 0, kEbx7, ecx7, kEdx7},
      {0xA, 0, false, 0, 0, 0, 0},  // no PMU (PLATFORM.md)
      {0xD, 0, true, 0x7, 0x340, 0x340, 0},   // x87|SSE|AVX, sizes for XCR0=7
      // XSAVEOPT, XSAVEC, XGETBV ECX=1, XSAVES; no supervisor components (ECX:EDX = 0).
      {0xD, 1, true, 0xF, 0x340, 0, 0},
      {0xD, 2, true, 0x100, 0x240, 0, 0},     // AVX state: 256 bytes at 576
      {0x80000000, 0, false, 0x80000008, 0, 0, 0},
      // LAHF-SAHF, LZCNT, PREFETCHW / SYSCALL, NX, 1-GByte pages, RDTSCP, LM.
      {0x80000001, 0, false, 0, 0, (1u << 0) | (1u << 5) | (1u << 8),
       (1u << 11) | (1u << 20) | (1u << 26) | (1u << 27) | (1u << 29)},
      {0x80000002, 0, false, 0x7473656E, 0x206D6973, 0x74726976, 0x206C6175},  // "nestsim virtual "
      {0x80000003, 0, false, 0x20555043, 0x20202020, 0x20202020, 0x20202020},  // "CPU"
      {0x80000004, 0, false, 0x20202020, 0x20202020, 0x20202020, 0x00202020},
      {0x80000007, 0, false, 0, 0, 0, 1u << 8},  // invariant TSC: cycles at a fixed rate
      {0x80000008, 0, false, (linear_bits << 8) | m.maxphyaddr, 0, 0, 0},
  };
  uint8_t* c = m.class_cycles;
  for (unsigned i = 0; i < isa::C_COUNT; i++) c[i] = 1;
  c[isa::C_MUL] = k.mul;
  c[isa::C_DIV] = k.div;
  c[isa::C_CALL] = k.call;
  c[isa::C_RET] = k.ret;
  c[isa::C_STRING] = k.string;
  c[isa::C_ATOMIC] = k.atomic;
  c[isa::C_CPUID] = k.cpuid;
  c[isa::C_TSC] = k.tsc;
  c[isa::C_RAND] = k.rand;
  c[isa::C_X87_TRANS] = k.x87_trans;
  c[isa::C_SSE_FPDIV] = k.fpdiv;
  c[isa::C_XSAVE] = k.xsave;
  c[isa::C_SYSTEM] = k.system;
  c[isa::C_IO] = k.io;
  m.timing = t;
  // Power-up MSR values (SDM Vol. 4 Table 2-2). MISC_ENABLE: fast strings (0), BTS
  // and PEBS unavailable (11, 12), MONITOR FSM enabled (18). MTRRCAP: 10 variable
  // ranges, fixed ranges, WC. MTRR_DEF_TYPE: enabled, fixed enabled, default WB, as
  // firmware leaves it for the multiboot entry (PLATFORM.md: QEMU's loader).
  m.msr_defaults = {
      {0x0CE, platform_info},  // MSR_PLATFORM_INFO: maximum non-turbo ratio in 15:8
      {0x0FE, 0x50A},
      {0x10A, arch_caps},
      {0x179, 0},              // IA32_MCG_CAP: no banks
      {0x1A0, 0x41801},
      {0x2FF, 0xC06},
      {0x08B, ucode << 32},    // IA32_BIOS_SIGN_ID: microcode revision
  };
  m.tlb = tlb;
  // VMX: every model offers the same VMX feature set (vmx/caps.h server_caps): CR4
  // bits the model supports (CPUID-gated, as isa/sys_cr.cpp allows them) may be 1.
  uint64_t cr4 = 0x00772FFF;  // VME..UMIP, VMXE, FSGSBASE, PCIDE, OSXSAVE, SMEP, SMAP, PKE
  if (ecx7 & kEcx7La57) cr4 |= 1u << 12;  // LA57
  m.vmx = vmx::server_caps(m.maxphyaddr, cr4);
  // Costs in cycles (docs/TIMING.md gives the sources).
  m.vmx_timing = vmx::VmxTiming{350, 400, 20, 20, 100, 100, 10, 200, 100, 150, 100, 100, 30};
  // Clocks from MSR_PLATFORM_INFO's maximum non-turbo ratio (bits 15:8) times the
  // 100 MHz bus clock, and a 25 MHz core crystal (SDM Vol. 3A 19.7.3 Table 19-91
  // lists 25 MHz for server parts). CPUID 15H: TSC = crystal * EBX / EAX; 16H: base,
  // maximum and bus frequencies in MHz (SDM Vol. 2A CPUID).
  const uint32_t ratio = uint32_t(platform_info >> 8) & 0xFF;
  m.tsc_hz = uint64_t(ratio) * 100'000'000;
  m.crystal_hz = 25'000'000;
  m.cpuid[0].eax = 0x16;
  m.cpuid.insert(m.cpuid.begin() + 9,
                 {{0x15, 0, false, 2, uint32_t(m.tsc_hz * 2 / m.crystal_hz),
                   uint32_t(m.crystal_hz), 0},
                  {0x16, 0, false, ratio * 100, ratio * 100, 100, 0}});
  return m;
}

// Golden Cove-class server core (Sapphire Rapids), without AVX-512.
CpuModel make_server() {
  return make_model(
      "server", "a recent Intel server core (Sapphire Rapids-like: LA57, AVX2, no AVX-512)",
      0x000806F8, kEcx7 | kEcx7La57, 57,
      ClassCosts{3, 15, 2, 2, 2, 18, 100, 25, 100, 40, 11, 60, 30, 100},
      TimingParams{1, 9, 16, 100, 60, 50, 140},
      0x1400,  // 2.0 GHz
      // RDCL_NO, IBRS_ALL, SKIP_L1DFL_VMENTRY, MDS_NO, PSCHANGE_MC_NO, TAA_NO,
      // SBDR_SSDP_NO, FBSDP_NO, PSDP_NO.
      0xE16B, 0x2B000590,
      // Second-level TLB: 2048 entries, 16-way; 32 large-page entries ([OPT], Golden Cove).
      mmu::TlbGeometry{128, 16, 32});
}

// Ice Lake-SP (Sunny Cove): LA57, the faster integer divider.
CpuModel make_icelake() {
  return make_model(
      "icelake-server", "Intel Xeon Ice Lake-SP class (Sunny Cove: LA57, AVX2, no AVX-512)",
      0x000606A6, kEcx7 | kEcx7La57, 57,
      ClassCosts{3, 15, 2, 2, 2, 20, 100, 25, 100, 40, 11, 60, 30, 100},
      TimingParams{1, 9, 14, 100, 60, 50, 140},
      0x1800,  // 2.4 GHz
      0x016B, 0x0D000390,
      mmu::TlbGeometry{128, 16, 32});  // STLB 2048 entries, 16-way ([OPT], Sunny Cove)
}

// Skylake-SP: 4-level paging only, the slow divider, no ARCH_CAPABILITIES immunity bits.
CpuModel make_skylake() {
  return make_model(
      "skylake-server", "Intel Xeon Skylake-SP class (4-level paging, AVX2, no AVX-512)",
      0x00050654, kEcx7, 48,
      ClassCosts{3, 26, 2, 2, 2, 18, 100, 25, 100, 40, 13, 60, 30, 100},
      TimingParams{1, 9, 14, 100, 60, 50, 140},
      0x1A00,  // 2.6 GHz
      0x0000, 0x02007006,
      mmu::TlbGeometry{128, 12, 32});  // STLB 1536 entries, 12-way ([OPT], Skylake)
}

}  // namespace

const std::vector<const CpuModel*>& cpu_models() {
  static const CpuModel server = make_server();
  static const CpuModel icelake = make_icelake();
  static const CpuModel skylake = make_skylake();
  static const std::vector<const CpuModel*> all = {&server, &icelake, &skylake};
  return all;
}

const CpuModel& default_cpu_model() { return *cpu_models()[0]; }

const CpuModel* find_cpu_model(const std::string& name) {
  for (const CpuModel* m : cpu_models())
    if (name == m->name) return m;
  return nullptr;
}

std::vector<std::string> cpu_model_names() {
  std::vector<std::string> v;
  for (const CpuModel* m : cpu_models()) v.emplace_back(m->name);
  return v;
}

std::string cpu_model_help() {
  std::string s;
  for (const CpuModel* m : cpu_models()) {
    s += m->name;
    s += std::string(16 - std::min<size_t>(15, std::string(m->name).size()), ' ');
    s += m->description;
    s += m == &default_cpu_model() ? " (default)\n" : "\n";
  }
  return s;
}

}  // namespace sim
