// Named CPU models as data: identity (CPUID), and base cycle costs per instruction
// class. Issue 3 extends this to MSR defaults and the full timing model.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "isa/forms.h"

namespace sim {

struct CpuidLeaf {
  uint32_t leaf, subleaf;
  bool has_subleaves;
  uint32_t eax, ebx, ecx, edx;
};

struct CpuModel {
  const char* name;
  const char* description;
  std::vector<CpuidLeaf> cpuid;
  uint8_t class_cycles[isa::C_COUNT];  // base cost of one instruction of each class
  uint8_t maxphyaddr;
};

const CpuModel& default_cpu_model();
const CpuModel* find_cpu_model(const std::string& name);
const std::vector<const CpuModel*>& cpu_models();

}  // namespace sim
