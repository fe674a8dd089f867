// Named CPU models as data: identity (CPUID), and base cycle costs per instruction
// class. Issue 3 extends this to MSR defaults and the full timing model.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "isa/decoded_inst.h"
#include "isa/forms.h"

namespace sim {

struct CpuidLeaf {
  uint32_t leaf, subleaf;
  bool has_subleaves;
  uint32_t eax, ebx, ecx, edx;
};

// Costs beyond the per-class base, in core cycles (docs/TIMING.md gives sources).
struct TimingParams {
  uint16_t mem_operand = 0;  // an instruction with a memory operand (L1 hit latency share)
  uint16_t tlb_miss = 0;     // a miss in the modelled TLB, before the walk
  uint16_t walk_ref = 0;     // each paging-structure reference of a walk
  uint16_t event = 0;        // delivering an exception or interrupt through the IDT
  uint16_t iret = 0;
  uint16_t mode_switch = 0;  // MOV CR0/CR4/EFER changes, far transfers to another mode
};

struct MsrDefault {
  uint32_t index;
  uint64_t value;
};

struct CpuModel {
  const char* name;
  const char* description;
  std::vector<CpuidLeaf> cpuid;
  uint8_t class_cycles[isa::C_COUNT];  // base cost of one instruction of each class
  uint8_t maxphyaddr;
  TimingParams timing;
  std::vector<MsrDefault> msr_defaults;  // applied at reset (isa/msr.def names them)

  // Cycles one execution of `d` costs, decided at decode time.
  uint32_t inst_cycles(const isa::DecodedInst& d) const {
    return class_cycles[d.info().iclass] + (d.is_mem() ? timing.mem_operand : 0);
  }
};

const CpuModel& default_cpu_model();
const CpuModel* find_cpu_model(const std::string& name);
const std::vector<const CpuModel*>& cpu_models();

}  // namespace sim
