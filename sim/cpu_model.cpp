#include "sim/cpu_model.h"

namespace sim {
namespace {

// CPUID.1:ECX / EDX and leaf 7 feature bits (SDM Vol. 2A, CPUID, tables 3-10/3-11).
constexpr uint32_t kEcx1 = (1u << 0)     // SSE3
                           | (1u << 1)   // PCLMULQDQ
                           | (1u << 9)   // SSSE3
                           | (1u << 12)  // FMA
                           | (1u << 13)  // CMPXCHG16B
                           | (1u << 19)  // SSE4.1
                           | (1u << 20)  // SSE4.2
                           | (1u << 22)  // MOVBE
                           | (1u << 23)  // POPCNT
                           | (1u << 25)  // AES
                           | (1u << 26)  // XSAVE (OSXSAVE, bit 27, tracks CR4 at run time)
                           | (1u << 28)  // AVX
                           | (1u << 29)  // F16C
                           | (1u << 30); // RDRAND
constexpr uint32_t kEdx1 = (1u << 0) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) |
                           (1u << 11) | (1u << 13) | (1u << 15) | (1u << 19) | (1u << 23) |
                           (1u << 24) | (1u << 25) | (1u << 26);
// FPU TSC MSR PAE CX8 SEP PGE CMOV CLFSH MMX FXSR SSE SSE2
constexpr uint32_t kEbx7 = (1u << 3)     // BMI1
                           | (1u << 5)   // AVX2
                           | (1u << 6)   // FDP_EXCPTN_ONLY (isa/x87.h models it)
                           | (1u << 8)   // BMI2
                           | (1u << 13)  // FCS/FDS deprecated (isa/x87.h stores them as 0)
                           | (1u << 18)  // RDSEED
                           | (1u << 19); // ADX

CpuModel make_server() {
  CpuModel m{};
  m.name = "server";
  m.description = "a recent Intel server core (Sapphire Rapids-like, AVX2, no AVX-512)";
  m.maxphyaddr = 46;
  m.cpuid = {
      {0x0, 0, false, 0xD, 0x756E6547, 0x6C65746E, 0x49656E69},  // GenuineIntel
      {0x1, 0, false, 0x000806F8, 0x00010800, kEcx1, kEdx1},
      {0x7, 0, true, 0, kEbx7, 0, 0},
      {0xA, 0, false, 0, 0, 0, 0},  // no PMU (PLATFORM.md)
      {0xD, 0, true, 0x7, 0x340, 0x340, 0},   // x87|SSE|AVX, sizes for XCR0=7
      {0xD, 1, true, 0x7, 0x340, 0, 0},       // XSAVEOPT, XSAVEC, XGETBV with ECX=1
      {0xD, 2, true, 0x100, 0x240, 0, 0},     // AVX state: 256 bytes at 576
      {0x80000000, 0, false, 0x80000008, 0, 0, 0},
      {0x80000001, 0, false, 0, 0, (1u << 0) | (1u << 5), (1u << 11) | (1u << 20) | (1u << 27) | (1u << 29)},
      // LAHF-SAHF, LZCNT / SYSCALL, NX, RDTSCP, LM
      {0x80000002, 0, false, 0x7473656E, 0x206D6973, 0x74726976, 0x206C6175},  // "nestsim virtual "
      {0x80000003, 0, false, 0x20555043, 0x20202020, 0x20202020, 0x20202020},  // "CPU"
      {0x80000004, 0, false, 0x20202020, 0x20202020, 0x20202020, 0x00202020},
      {0x80000008, 0, false, 0x302E, 0, 0, 0},  // 46-bit physical, 48-bit linear
  };
  // Base costs (cycles) per class: reciprocal-throughput-like figures for a
  // Golden Cove class core; docs/TIMING.md (issue 3) documents the full model.
  uint8_t* c = m.class_cycles;
  for (unsigned i = 0; i < isa::C_COUNT; i++) c[i] = 1;
  c[isa::C_MUL] = 3;
  c[isa::C_DIV] = 20;
  c[isa::C_CALL] = 2;
  c[isa::C_RET] = 2;
  c[isa::C_STRING] = 2;
  c[isa::C_ATOMIC] = 18;
  c[isa::C_CPUID] = 100;
  c[isa::C_TSC] = 25;
  c[isa::C_RAND] = 100;
  c[isa::C_X87_TRANS] = 40;
  c[isa::C_SSE_FPDIV] = 11;
  c[isa::C_XSAVE] = 60;
  c[isa::C_SYSTEM] = 30;
  c[isa::C_IO] = 100;
  return m;
}

}  // namespace

const std::vector<const CpuModel*>& cpu_models() {
  static const CpuModel server = make_server();
  static const std::vector<const CpuModel*> all = {&server};
  return all;
}

const CpuModel& default_cpu_model() { return *cpu_models()[0]; }

const CpuModel* find_cpu_model(const std::string& name) {
  for (const CpuModel* m : cpu_models())
    if (name == m->name) return m;
  return nullptr;
}

}  // namespace sim
