// The MSR table (isa/msr.def) as an enum, for statistics and CPU-model defaults.
// RDMSR/WRMSR semantics are isa::read_msr/write_msr (isa/system.h).
#pragma once
#include <cstdint>

namespace isa {

struct Cpu;

enum class MsrId : uint8_t {
#define MSR(id, index, count, access, feature, wmask, slot) id,
#include "isa/msr.def"
#undef MSR
  count
};
constexpr unsigned kMsrCount = unsigned(MsrId::count);

// Per table row: RDMSR and WRMSR executions (successful or faulting).
struct MsrCounters {
  uint64_t reads[kMsrCount] = {};
  uint64_t writes[kMsrCount] = {};
};

// Name for statistics ("IA32_EFER", "IA32_MTRR_PHYS"), first index, index count.
const char* msr_name(MsrId id);
uint32_t msr_index(MsrId id);
uint32_t msr_index_count(MsrId id);
// The row holding `index`, or MsrId::count.
MsrId find_msr(uint32_t index);
// Sets an MSR's power-up value without WRMSR's checks (CPU-model defaults at reset,
// including read-only MSRs). Returns false when the index has no storage here.
bool set_msr_initial(Cpu& c, uint32_t index, uint64_t value);

}  // namespace isa
