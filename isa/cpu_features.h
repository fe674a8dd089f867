// CPU features as the model's CPUID reports them. The CPU model (sim/cpu_model.*) is
// the one place that says which features a processor has; the core asks CPUID
// through the Bus rather than keeping a second list, so a CR4 bit, an MSR or an
// instruction is available exactly when CPUID enumerates it (SDM Vol. 2A CPUID,
// Tables 3-10, 3-11 and the leaf 7/0xD/0x80000001 descriptions). Queries are slow
// (a virtual call), so only system instructions and rare paths use them.
#pragma once
#include <cstdint>

#include "isa/cpu.h"

namespace isa {

enum CpuidReg : uint8_t { kEax = 0, kEbx, kEcx, kEdx };

struct CpuidBit {
  uint32_t leaf;
  uint8_t subleaf;
  CpuidReg reg;
  uint8_t bit;
};

namespace feat {
constexpr CpuidBit kVme{1, 0, kEdx, 1}, kDe{1, 0, kEdx, 2}, kPse{1, 0, kEdx, 3},
    kTsc{1, 0, kEdx, 4}, kPae{1, 0, kEdx, 6}, kMce{1, 0, kEdx, 7}, kApic{1, 0, kEdx, 9},
    kSep{1, 0, kEdx, 11}, kMtrr{1, 0, kEdx, 12}, kPge{1, 0, kEdx, 13}, kMca{1, 0, kEdx, 14},
    kPat{1, 0, kEdx, 16}, kClfsh{1, 0, kEdx, 19}, kFxsr{1, 0, kEdx, 24};
constexpr CpuidBit kMonitor{1, 0, kEcx, 3}, kVmx{1, 0, kEcx, 5}, kSmx{1, 0, kEcx, 6},
    kPcid{1, 0, kEcx, 17}, kX2apic{1, 0, kEcx, 21}, kXsave{1, 0, kEcx, 26};
constexpr CpuidBit kAperfMperf{6, 0, kEcx, 0};
constexpr CpuidBit kFsgsbase{7, 0, kEbx, 0}, kTscAdjust{7, 0, kEbx, 1}, kSmep{7, 0, kEbx, 7},
    kInvpcid{7, 0, kEbx, 10}, kSmap{7, 0, kEbx, 20}, kClflushopt{7, 0, kEbx, 23};
constexpr CpuidBit kUmip{7, 0, kEcx, 2}, kPku{7, 0, kEcx, 3}, kWaitpkg{7, 0, kEcx, 5},
    kLa57{7, 0, kEcx, 16}, kRdpid{7, 0, kEcx, 22};
constexpr CpuidBit kIbrs{7, 0, kEdx, 26}, kStibp{7, 0, kEdx, 27}, kArchCap{7, 0, kEdx, 29},
    kSsbd{7, 0, kEdx, 31};
constexpr CpuidBit kXsaves{0xD, 1, kEax, 3};
constexpr CpuidBit kSyscall{0x80000001, 0, kEdx, 11}, kNx{0x80000001, 0, kEdx, 20},
    kPage1g{0x80000001, 0, kEdx, 26}, kRdtscp{0x80000001, 0, kEdx, 27},
    kLm{0x80000001, 0, kEdx, 29};
}  // namespace feat

inline uint32_t cpuid_reg(Cpu& c, uint32_t leaf, uint32_t subleaf, CpuidReg reg) {
  uint32_t out[4];
  c.bus->cpuid(c, leaf, subleaf, out);
  return out[reg];
}
inline bool has_feature(Cpu& c, CpuidBit f) {
  return (cpuid_reg(c, f.leaf, f.subleaf, f.reg) >> f.bit) & 1;
}
// MAXPHYADDR (CPUID.80000008H:EAX[7:0]); 36 when the leaf is absent (SDM Vol. 3A 4.1.4).
inline unsigned maxphyaddr(Cpu& c) {
  unsigned m = cpuid_reg(c, 0x80000008, 0, kEax) & 0xFF;
  return m ? m : 36;
}

// Canonical with respect to the processor's linear-address width (CPUID.80000008H:
// EAX[15:8]: 48, or 57 with LA57), as WRMSR, INVPCID and WR*BASE check it
// whatever CR4.LA57 is (SDM Vol. 3A 3.3.7.1, Vol. 4 2.1).
inline bool canonical_for_cpu(Cpu& c, uint64_t a) {
  unsigned w = (cpuid_reg(c, 0x80000008, 0, kEax) >> 8) & 0xFF;
  if (w == 0) w = 48;
  const unsigned sh = 64 - w;
  return uint64_t(int64_t(a << sh) >> sh) == a;
}

}  // namespace isa
