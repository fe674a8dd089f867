#include "vmx/caps.h"

#include "isa/cpu_state.h"
#include "vmx/controls.h"

namespace vmx {

bool VmxCaps::has(Feature f) const {
  const bool sec = proc & CPU_SECONDARY_CONTROLS;
  switch (f) {
    case Feature::NONE: return true;
    case Feature::SECONDARY: return sec;
    case Feature::EPT: return sec && (proc2 & CPU2_EPT);
    case Feature::VPID: return sec && (proc2 & CPU2_VPID);
    case Feature::POSTED_INTR: return pin & PIN_POSTED_INTR;
    case Feature::VIRT_INTR_DELIVERY: return sec && (proc2 & CPU2_VIRT_INTR_DELIVERY);
    case Feature::PML: return sec && (proc2 & CPU2_PML);
    case Feature::MSR_BITMAPS: return proc & CPU_USE_MSR_BITMAPS;
    case Feature::TPR_SHADOW: return proc & CPU_TPR_SHADOW;
    case Feature::APIC_ACCESS: return sec && (proc2 & CPU2_VIRT_APIC_ACCESSES);
    case Feature::VMFUNC: return sec && (proc2 & CPU2_VMFUNC);
    case Feature::EPTP_SWITCHING:
      return sec && (proc2 & CPU2_VMFUNC) && (vmfunc & VMFUNC_EPTP_SWITCHING);
    case Feature::VMCS_SHADOWING: return sec && (proc2 & CPU2_VMCS_SHADOWING);
    case Feature::XSAVES: return sec && (proc2 & CPU2_XSAVES);
    case Feature::TSC_SCALING: return sec && (proc2 & CPU2_TSC_SCALING);
    case Feature::PAUSE_LOOP: return sec && (proc2 & CPU2_PAUSE_LOOP_EXITING);
    case Feature::PREEMPTION_TIMER: return pin & PIN_PREEMPTION_TIMER;
    case Feature::PAT: return (entry & ENTRY_LOAD_IA32_PAT) || (exit & (EXIT_SAVE_IA32_PAT | EXIT_LOAD_IA32_PAT));
    case Feature::EFER:
      return (entry & ENTRY_LOAD_IA32_EFER) || (exit & (EXIT_SAVE_IA32_EFER | EXIT_LOAD_IA32_EFER));
  }
  return false;
}

uint32_t VmxCaps::pin_must1() const { return PIN_DEFAULT1 & ~pin_default1_clearable; }
uint32_t VmxCaps::proc_must1() const { return CPU_DEFAULT1 & ~proc_default1_clearable; }
uint32_t VmxCaps::exit_must1() const { return EXIT_DEFAULT1 & ~exit_default1_clearable; }
uint32_t VmxCaps::entry_must1() const { return ENTRY_DEFAULT1 & ~entry_default1_clearable; }

namespace {
// A control MSR: allowed-0 settings (bits that must be 1) in 31:0, allowed-1 settings
// (bits that may be 1) in 63:32 (A.3). Default-1 bits may always be 1.
uint64_t ctl_msr(uint32_t must1, uint32_t may1) { return uint64_t(may1 | must1) << 32 | must1; }
}  // namespace

bool read_cap_msr(const VmxCaps& c, uint32_t index, uint64_t& value) {
  const bool sec = c.proc & CPU_SECONDARY_CONTROLS;
  switch (index) {
    case MSR_VMX_BASIC:
      // A.1: revision id 30:0; region size 44:32; bit 48 = 0 (addresses up to
      // MAXPHYADDR); WB memory type (6) in 53:50; INS/OUTS information (54); TRUE
      // control MSRs (55); hardware exceptions injected with or without error code
      // (56) is not offered: VM entry checks the error-code consistency.
      value = c.revision_id | (uint64_t(4096) << 32) | (6ull << 50) | (1ull << 54) | (1ull << 55);
      return true;
    case MSR_VMX_PINBASED_CTLS: value = ctl_msr(PIN_DEFAULT1, c.pin); return true;
    case MSR_VMX_PROCBASED_CTLS: value = ctl_msr(CPU_DEFAULT1, c.proc); return true;
    case MSR_VMX_EXIT_CTLS: value = ctl_msr(EXIT_DEFAULT1, c.exit); return true;
    case MSR_VMX_ENTRY_CTLS: value = ctl_msr(ENTRY_DEFAULT1, c.entry); return true;
    case MSR_VMX_TRUE_PINBASED_CTLS: value = ctl_msr(c.pin_must1(), c.pin); return true;
    case MSR_VMX_TRUE_PROCBASED_CTLS: value = ctl_msr(c.proc_must1(), c.proc); return true;
    case MSR_VMX_TRUE_EXIT_CTLS: value = ctl_msr(c.exit_must1(), c.exit); return true;
    case MSR_VMX_TRUE_ENTRY_CTLS: value = ctl_msr(c.entry_must1(), c.entry); return true;
    case MSR_VMX_MISC: value = c.misc; return true;
    case MSR_VMX_CR0_FIXED0: value = c.cr0_fixed0; return true;
    case MSR_VMX_CR0_FIXED1: value = c.cr0_fixed1; return true;
    case MSR_VMX_CR4_FIXED0: value = c.cr4_fixed0; return true;
    case MSR_VMX_CR4_FIXED1: value = c.cr4_fixed1; return true;
    case MSR_VMX_VMCS_ENUM: value = c.vmcs_enum(); return true;
    case MSR_VMX_PROCBASED_CTLS2:
      if (!sec) return false;
      value = ctl_msr(0, c.proc2);  // no secondary control is default-1
      return true;
    case MSR_VMX_EPT_VPID_CAP:
      if (!c.has(Feature::EPT) && !c.has(Feature::VPID)) return false;
      value = c.ept_vpid;
      return true;
    case MSR_VMX_VMFUNC:
      if (!c.has(Feature::VMFUNC)) return false;
      value = c.vmfunc;
      return true;
    default: return false;  // 0x492: no tertiary controls
  }
}

VmxCaps server_caps(uint8_t maxphyaddr, uint64_t cr4_supported) {
  VmxCaps c;
  c.maxphyaddr = maxphyaddr;
  c.revision_id = 0x4E53;  // "NS": any value works, software copies it from BASIC
  c.pin = PIN_EXTINT_EXITING | PIN_NMI_EXITING | PIN_VIRTUAL_NMIS | PIN_PREEMPTION_TIMER |
          PIN_POSTED_INTR;
  c.proc = CPU_INTR_WINDOW_EXITING | CPU_USE_TSC_OFFSETTING | CPU_HLT_EXITING |
           CPU_INVLPG_EXITING | CPU_MWAIT_EXITING | CPU_RDPMC_EXITING | CPU_RDTSC_EXITING |
           CPU_CR3_LOAD_EXITING | CPU_CR3_STORE_EXITING | CPU_CR8_LOAD_EXITING |
           CPU_CR8_STORE_EXITING | CPU_TPR_SHADOW | CPU_NMI_WINDOW_EXITING |
           CPU_MOV_DR_EXITING | CPU_UNCOND_IO_EXITING | CPU_USE_IO_BITMAPS |
           CPU_MONITOR_TRAP_FLAG | CPU_USE_MSR_BITMAPS | CPU_MONITOR_EXITING |
           CPU_PAUSE_EXITING | CPU_SECONDARY_CONTROLS;
  c.proc2 = CPU2_VIRT_APIC_ACCESSES | CPU2_EPT | CPU2_DESC_TABLE_EXITING | CPU2_RDTSCP |
            CPU2_VIRT_X2APIC_MODE | CPU2_VPID | CPU2_WBINVD_EXITING |
            CPU2_UNRESTRICTED_GUEST | CPU2_APIC_REG_VIRT | CPU2_VIRT_INTR_DELIVERY |
            CPU2_PAUSE_LOOP_EXITING | CPU2_RDRAND_EXITING | CPU2_INVPCID | CPU2_VMFUNC |
            CPU2_VMCS_SHADOWING | CPU2_RDSEED_EXITING | CPU2_PML | CPU2_XSAVES |
            CPU2_TSC_SCALING;
  c.exit = EXIT_SAVE_DEBUG_CONTROLS | EXIT_HOST_ADDR_SPACE_SIZE | EXIT_ACK_INTR_ON_EXIT |
           EXIT_SAVE_IA32_PAT | EXIT_LOAD_IA32_PAT | EXIT_SAVE_IA32_EFER |
           EXIT_LOAD_IA32_EFER | EXIT_SAVE_PREEMPTION_TIMER;
  c.entry = ENTRY_LOAD_DEBUG_CONTROLS | ENTRY_IA32E_MODE_GUEST | ENTRY_LOAD_IA32_PAT |
            ENTRY_LOAD_IA32_EFER;
  // TRUE MSRs (A.2): as on recent Intel cores, the CR3-load/store exiting defaults
  // (proc 15, 16) and "save debug controls"/"load debug controls" (exit 2, entry 2)
  // may be 0; pin-based default-1 bits may not.
  c.proc_default1_clearable = CPU_CR3_LOAD_EXITING | CPU_CR3_STORE_EXITING;
  c.exit_default1_clearable = EXIT_SAVE_DEBUG_CONTROLS;
  c.entry_default1_clearable = ENTRY_LOAD_DEBUG_CONTROLS;
  // MISC: preemption timer every 2^5 TSC cycles, LMA saved on exit, HLT/shutdown/
  // wait-for-SIPI activity states, 4 CR3 targets, MSR lists up to 512 entries, VMWRITE
  // to exit-information fields, zero-length software-event injection.
  c.misc = 5 | MISC_SAVE_LMA | MISC_ACTIVITY_HLT | MISC_ACTIVITY_SHUTDOWN |
           MISC_ACTIVITY_WAIT_SIPI | (4ull << MISC_CR3_TARGETS_SHIFT) | MISC_VMWRITE_ANY |
           MISC_INJECT_ZERO_LEN;
  c.ept_vpid = EPT_CAP_EXEC_ONLY | EPT_CAP_WALK_4 | EPT_CAP_WALK_5 | EPT_CAP_MT_UC |
               EPT_CAP_MT_WB | EPT_CAP_2M | EPT_CAP_1G | EPT_CAP_INVEPT | EPT_CAP_AD |
               EPT_CAP_ADVANCED_INFO | EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL |
               VPID_CAP_INVVPID | VPID_CAP_ADDR | VPID_CAP_SINGLE | VPID_CAP_ALL |
               VPID_CAP_SINGLE_GLOBALS;
  c.vmfunc = VMFUNC_EPTP_SWITCHING;
  // A.7/A.8: PE, NE, PG fixed to 1 in CR0 (unrestricted guest relaxes PE/PG for
  // guests); CR4.VMXE fixed to 1; every other CR4 bit the model supports may be 1.
  c.cr0_fixed0 = isa::CR0_PE | isa::CR0_NE | isa::CR0_PG;
  c.cr0_fixed1 = 0xFFFFFFFF;
  c.cr4_fixed0 = isa::CR4_VMXE;
  c.cr4_fixed1 = cr4_supported | isa::CR4_VMXE;
  return c;
}

}  // namespace vmx
