// Named CPU models as data: identity and features (CPUID leaves: the core asks CPUID
// whether a CR4 bit, an MSR or an instruction exists, isa/cpu_features.h), power-up
// MSR values, TLB geometry and the timing model (docs/TIMING.md gives every figure's
// source). `nestsim --cpu-model NAME` picks one; cpu_models() lists them.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "isa/decoded_inst.h"
#include "isa/forms.h"
#include "mmu/tlb.h"
#include "vmx/vmx.h"

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
  uint16_t pause = 0;        // PAUSE (a NOP architecturally; a long stall on the core)
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
  mmu::TlbGeometry tlb;  // modelled TLB capacity and associativity (mmu/tlb.h)
  // VMX: the feature set the capability MSRs report (vmx/caps.h) and the costs of VMX
  // operations (vmx/vmx.h VmxTiming: the instructions' costs are charged at decode time
  // below, VM entry/exit and MSR-list entries by vmx/ when they happen).
  vmx::VmxCaps vmx;
  vmx::VmxTiming vmx_timing;
  // Clocks. One simulated cycle is one core clock at the nominal (non-turbo)
  // frequency, which is also the TSC's (invariant TSC). The core crystal clock drives
  // the local APIC timer (SDM Vol. 3A 11.5.4: the timer counts the crystal clock on
  // processors that enumerate it in CPUID leaf 15H). Both are enumerated in CPUID
  // 15H/16H, so software needs no calibration (it still may: the PIT and the ACPI PM
  // timer count in the same simulated time).
  uint64_t tsc_hz = 0;
  uint64_t crystal_hz = 0;

  // Cycles one execution of `d` costs, decided at decode time: the class base, the
  // memory operand, and the few forms whose cost the class does not capture. At most
  // 255 (DecodedInst::cycles is a byte).
  // The model's answer to CPUID leaf/subleaf (zeros for a leaf it does not list;
  // subleaf ignored for leaves without subleaves). Dynamic bits (OSXSAVE, APIC ID)
  // are the machine's business (Machine::cpuid).
  void cpuid_leaf(uint32_t leaf, uint32_t subleaf, uint32_t out[4]) const {
    out[0] = out[1] = out[2] = out[3] = 0;
    for (const CpuidLeaf& l : cpuid)
      if (l.leaf == leaf && (!l.has_subleaves || l.subleaf == subleaf)) {
        out[0] = l.eax, out[1] = l.ebx, out[2] = l.ecx, out[3] = l.edx;
        return;
      }
  }

  uint32_t inst_cycles(const isa::DecodedInst& d) const {
    uint32_t n = class_cycles[d.info().iclass] + (d.is_mem() ? timing.mem_operand : 0);
    switch (d.form) {
      case isa::Form::pause: n = timing.pause; break;
      case isa::Form::iret: n += timing.iret; break;
      case isa::Form::mov_cd_rd:  // CR0/CR4 writes flush and re-derive the mode
        if (d.reg == 0 || d.reg == 4) n += timing.mode_switch;
        break;
      case isa::Form::wrmsr: n += timing.mode_switch; break;  // serialising, may switch modes
      // VMX instructions: their whole cost from the VMX timing table.
      case isa::Form::vmread_ey_gy: n = vmx_timing.vmread; break;
      case isa::Form::vmwrite_gy_ey: n = vmx_timing.vmwrite; break;
      case isa::Form::vmptrld_mq: n = vmx_timing.vmptrld; break;
      case isa::Form::vmclear_mq: n = vmx_timing.vmclear; break;
      case isa::Form::vmptrst_mq: n = vmx_timing.vmptrst; break;
      case isa::Form::vmxon_mq: n = vmx_timing.vmxon; break;
      case isa::Form::vmxoff: n = vmx_timing.vmxoff; break;
      case isa::Form::invept_gy_mdq: n = vmx_timing.invept; break;
      case isa::Form::invvpid_gy_mdq: n = vmx_timing.invvpid; break;
      case isa::Form::vmfunc: n = vmx_timing.vmfunc; break;
      default: break;
    }
    return n < 255 ? n : 255;
  }
};

// The models, default ("server") first; find_cpu_model returns null for an unknown
// name. cpu_model_help() is "name  description" per line, for --help and errors.
const CpuModel& default_cpu_model();
const CpuModel* find_cpu_model(const std::string& name);
const std::vector<const CpuModel*>& cpu_models();
std::vector<std::string> cpu_model_names();
std::string cpu_model_help();

}  // namespace sim
