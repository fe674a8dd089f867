// The bits of the VM-execution, VM-exit and VM-entry control fields (SDM Vol. 3C 24.6,
// 24.7, 24.8), of the interruption-information fields (24.8.3, 24.9.2) and of the
// guest-state fields with a structure (24.4.2), named once. Everything in vmx/ and the
// tests use these names; the capability MSRs (vmx/caps.h) say which a model supports.
#pragma once
#include <cstdint>

namespace vmx {

// Pin-based VM-execution controls (24.6.1, Table 24-5).
enum : uint32_t {
  PIN_EXTINT_EXITING = 1u << 0,
  PIN_NMI_EXITING = 1u << 3,
  PIN_VIRTUAL_NMIS = 1u << 5,
  PIN_PREEMPTION_TIMER = 1u << 6,
  PIN_POSTED_INTR = 1u << 7,
  PIN_DEFAULT1 = 0x16,  // bits 1, 2, 4 (Appendix A.3.1)
};

// Primary processor-based VM-execution controls (24.6.2, Table 24-6).
enum : uint32_t {
  CPU_INTR_WINDOW_EXITING = 1u << 2,
  CPU_USE_TSC_OFFSETTING = 1u << 3,
  CPU_HLT_EXITING = 1u << 7,
  CPU_INVLPG_EXITING = 1u << 9,
  CPU_MWAIT_EXITING = 1u << 10,
  CPU_RDPMC_EXITING = 1u << 11,
  CPU_RDTSC_EXITING = 1u << 12,
  CPU_CR3_LOAD_EXITING = 1u << 15,
  CPU_CR3_STORE_EXITING = 1u << 16,
  CPU_CR8_LOAD_EXITING = 1u << 19,
  CPU_CR8_STORE_EXITING = 1u << 20,
  CPU_TPR_SHADOW = 1u << 21,
  CPU_NMI_WINDOW_EXITING = 1u << 22,
  CPU_MOV_DR_EXITING = 1u << 23,
  CPU_UNCOND_IO_EXITING = 1u << 24,
  CPU_USE_IO_BITMAPS = 1u << 25,
  CPU_MONITOR_TRAP_FLAG = 1u << 27,
  CPU_USE_MSR_BITMAPS = 1u << 28,
  CPU_MONITOR_EXITING = 1u << 29,
  CPU_PAUSE_EXITING = 1u << 30,
  CPU_SECONDARY_CONTROLS = 1u << 31,
  CPU_DEFAULT1 = 0x0401E172,  // bits 1, 4-6, 8, 13-16, 26 (A.3.2)
};

// Secondary processor-based VM-execution controls (24.6.2, Table 24-7).
enum : uint32_t {
  CPU2_VIRT_APIC_ACCESSES = 1u << 0,
  CPU2_EPT = 1u << 1,
  CPU2_DESC_TABLE_EXITING = 1u << 2,
  CPU2_RDTSCP = 1u << 3,
  CPU2_VIRT_X2APIC_MODE = 1u << 4,
  CPU2_VPID = 1u << 5,
  CPU2_WBINVD_EXITING = 1u << 6,
  CPU2_UNRESTRICTED_GUEST = 1u << 7,
  CPU2_APIC_REG_VIRT = 1u << 8,
  CPU2_VIRT_INTR_DELIVERY = 1u << 9,
  CPU2_PAUSE_LOOP_EXITING = 1u << 10,
  CPU2_RDRAND_EXITING = 1u << 11,
  CPU2_INVPCID = 1u << 12,
  CPU2_VMFUNC = 1u << 13,
  CPU2_VMCS_SHADOWING = 1u << 14,
  CPU2_ENCLS_EXITING = 1u << 15,
  CPU2_RDSEED_EXITING = 1u << 16,
  CPU2_PML = 1u << 17,
  CPU2_EPT_VE = 1u << 18,
  CPU2_XSAVES = 1u << 20,
  CPU2_TSC_SCALING = 1u << 25,
  CPU2_USER_WAIT_PAUSE = 1u << 26,
};

// Primary VM-exit controls (24.7.1, Table 24-13).
enum : uint32_t {
  EXIT_SAVE_DEBUG_CONTROLS = 1u << 2,
  EXIT_HOST_ADDR_SPACE_SIZE = 1u << 9,
  EXIT_LOAD_PERF_GLOBAL_CTRL = 1u << 12,
  EXIT_ACK_INTR_ON_EXIT = 1u << 15,
  EXIT_SAVE_IA32_PAT = 1u << 18,
  EXIT_LOAD_IA32_PAT = 1u << 19,
  EXIT_SAVE_IA32_EFER = 1u << 20,
  EXIT_LOAD_IA32_EFER = 1u << 21,
  EXIT_SAVE_PREEMPTION_TIMER = 1u << 22,
  EXIT_DEFAULT1 = 0x00036DFF,  // bits 0-8, 10, 11, 13, 14, 16, 17 (A.4)
};

// VM-entry controls (24.8.1, Table 24-15).
enum : uint32_t {
  ENTRY_LOAD_DEBUG_CONTROLS = 1u << 2,
  ENTRY_IA32E_MODE_GUEST = 1u << 9,
  ENTRY_SMM = 1u << 10,
  ENTRY_DEACT_DUAL_MONITOR = 1u << 11,
  ENTRY_LOAD_PERF_GLOBAL_CTRL = 1u << 13,
  ENTRY_LOAD_IA32_PAT = 1u << 14,
  ENTRY_LOAD_IA32_EFER = 1u << 15,
  ENTRY_DEFAULT1 = 0x000011FF,  // bits 0-8, 12 (A.5)
};

// VM-function controls (24.6.14).
enum : uint64_t { VMFUNC_EPTP_SWITCHING = 1u << 0 };

// Interruption-information format: VM-entry (24.8.3), VM-exit (24.9.2) and
// IDT-vectoring information (24.9.3) share it.
enum : uint32_t {
  INTR_INFO_VECTOR_MASK = 0xFF,
  INTR_INFO_TYPE_SHIFT = 8,
  INTR_INFO_TYPE_MASK = 7u << 8,
  INTR_INFO_DELIVER_CODE = 1u << 11,
  INTR_INFO_NMI_UNBLOCKED_IRET = 1u << 12,  // exit information only
  INTR_INFO_VALID = 1u << 31,
};
// Interruption types (Table 24-17); 7 is "other event" (MTF on entry).
enum : uint8_t {
  INTR_TYPE_EXT_INTR = 0, INTR_TYPE_NMI = 2, INTR_TYPE_HW_EXCEPTION = 3,
  INTR_TYPE_SW_INTR = 4, INTR_TYPE_PRIV_SW_EXCEPTION = 5, INTR_TYPE_SW_EXCEPTION = 6,
  INTR_TYPE_OTHER_EVENT = 7,
};

// Guest interruptibility state (24.4.2, Table 24-3).
enum : uint32_t {
  INTERRUPTIBILITY_STI = 1u << 0,
  INTERRUPTIBILITY_MOV_SS = 1u << 1,
  INTERRUPTIBILITY_SMI = 1u << 2,
  INTERRUPTIBILITY_NMI = 1u << 3,
  INTERRUPTIBILITY_ENCLAVE = 1u << 4,
};
// Guest activity states (24.4.2).
enum : uint32_t {
  ACTIVITY_ACTIVE = 0, ACTIVITY_HLT = 1, ACTIVITY_SHUTDOWN = 2, ACTIVITY_WAIT_SIPI = 3,
};
// Pending debug exceptions (24.4.2, Table 24-4): B0-B3, enabled breakpoint, BS, RTM.
enum : uint64_t {
  PENDING_DBG_B0_B3 = 0xF, PENDING_DBG_ENABLED_BP = 1u << 12, PENDING_DBG_BS = 1u << 14,
  PENDING_DBG_RTM = 1u << 16,
};

// Exit reason field (24.9.1): the basic reason in bits 15:0, flags above.
enum : uint32_t {
  EXIT_REASON_ENCLAVE = 1u << 27,
  EXIT_REASON_PENDING_MTF = 1u << 28,
  EXIT_REASON_FROM_ROOT = 1u << 29,
  EXIT_REASON_ENTRY_FAILURE = 1u << 31,
};

// VMCS region header (24.2): revision identifier in bits 30:0 of the first dword, the
// shadow-VMCS indicator in bit 31; the VMX-abort indicator in the second dword.
enum : uint32_t { VMCS_SHADOW_INDICATOR = 1u << 31 };

}  // namespace vmx
