// What a CPU model's VMX offers, as data (the model's VMX feature set), and the
// capability MSRs derived from it (SDM Vol. 3C Appendix A). The MSRs are computed,
// never stored, so they cannot disagree with each other or with what VM entry
// accepts: every check that depends on "allowed settings" reads the same VmxCaps.
//
// Invariants (checked by tests/vmx/caps_test.cpp):
//   - the default-1 bits of each control class read as 1 in the allowed-0 half of the
//     non-TRUE MSR; the TRUE MSR clears those default-1 bits that may be 0 (A.2);
//   - every allowed-0 bit (must be 1) is also allowed-1;
//   - CR0/CR4 FIXED0 is a subset of FIXED1 (A.7, A.8);
//   - IA32_VMX_VMCS_ENUM[9:1] is the highest index of any field VMREAD accepts (A.9);
//   - a secondary, VMFUNC or EPT/VPID capability is reported only when the control that
//     activates it may be 1.
#pragma once
#include <cstdint>

namespace vmx {

// The features VMCS fields depend on (vmcs_fields.def "feature" column).
enum class Feature : uint8_t {
  NONE, SECONDARY, EPT, VPID, POSTED_INTR, VIRT_INTR_DELIVERY, PML, MSR_BITMAPS,
  TPR_SHADOW, APIC_ACCESS, VMFUNC, EPTP_SWITCHING, VMCS_SHADOWING, XSAVES, TSC_SCALING,
  PAUSE_LOOP, PREEMPTION_TIMER, PAT, EFER,  // EFER last (feature_mask, vmx/vmcs.h)
};

// IA32_VMX_* MSR indices (Appendix A).
enum : uint32_t {
  MSR_VMX_BASIC = 0x480, MSR_VMX_PINBASED_CTLS = 0x481, MSR_VMX_PROCBASED_CTLS = 0x482,
  MSR_VMX_EXIT_CTLS = 0x483, MSR_VMX_ENTRY_CTLS = 0x484, MSR_VMX_MISC = 0x485,
  MSR_VMX_CR0_FIXED0 = 0x486, MSR_VMX_CR0_FIXED1 = 0x487, MSR_VMX_CR4_FIXED0 = 0x488,
  MSR_VMX_CR4_FIXED1 = 0x489, MSR_VMX_VMCS_ENUM = 0x48A, MSR_VMX_PROCBASED_CTLS2 = 0x48B,
  MSR_VMX_EPT_VPID_CAP = 0x48C, MSR_VMX_TRUE_PINBASED_CTLS = 0x48D,
  MSR_VMX_TRUE_PROCBASED_CTLS = 0x48E, MSR_VMX_TRUE_EXIT_CTLS = 0x48F,
  MSR_VMX_TRUE_ENTRY_CTLS = 0x490, MSR_VMX_VMFUNC = 0x491, MSR_VMX_PROCBASED_CTLS3 = 0x492,
};

// IA32_VMX_EPT_VPID_CAP bits (A.10).
enum : uint64_t {
  EPT_CAP_EXEC_ONLY = 1ull << 0,
  EPT_CAP_WALK_4 = 1ull << 6,
  EPT_CAP_WALK_5 = 1ull << 7,
  EPT_CAP_MT_UC = 1ull << 8,
  EPT_CAP_MT_WB = 1ull << 14,
  EPT_CAP_2M = 1ull << 16,
  EPT_CAP_1G = 1ull << 17,
  EPT_CAP_INVEPT = 1ull << 20,
  EPT_CAP_AD = 1ull << 21,
  EPT_CAP_ADVANCED_INFO = 1ull << 22,
  EPT_CAP_INVEPT_SINGLE = 1ull << 25,
  EPT_CAP_INVEPT_ALL = 1ull << 26,
  VPID_CAP_INVVPID = 1ull << 32,
  VPID_CAP_ADDR = 1ull << 40,
  VPID_CAP_SINGLE = 1ull << 41,
  VPID_CAP_ALL = 1ull << 42,
  VPID_CAP_SINGLE_GLOBALS = 1ull << 43,
};

// IA32_VMX_MISC fields (A.6).
enum : uint64_t {
  MISC_PREEMPT_RATE_MASK = 0x1F,            // timer ticks every 2^X TSC cycles
  MISC_SAVE_LMA = 1ull << 5,                // exits store EFER.LMA in "IA-32e mode guest"
  MISC_ACTIVITY_HLT = 1ull << 6,
  MISC_ACTIVITY_SHUTDOWN = 1ull << 7,
  MISC_ACTIVITY_WAIT_SIPI = 1ull << 8,
  MISC_CR3_TARGETS_SHIFT = 16,              // bits 24:16
  MISC_MSR_LIST_SHIFT = 25,                 // bits 27:25: 512 * (N + 1) entries
  MISC_VMWRITE_ANY = 1ull << 29,            // VMWRITE to exit-information fields
  MISC_INJECT_ZERO_LEN = 1ull << 30,        // software events with instruction length 0
};

struct VmxCaps {
  uint32_t revision_id = 0;
  // Allowed-1 settings of each control class (bits that may be 1). Default-1 bits
  // (controls.h *_DEFAULT1) are added by the MSR computation; `*_default1_clearable`
  // lists those that the TRUE MSRs let software clear.
  uint32_t pin = 0, proc = 0, proc2 = 0, exit = 0, entry = 0;
  uint32_t pin_default1_clearable = 0, proc_default1_clearable = 0,
           exit_default1_clearable = 0, entry_default1_clearable = 0;
  uint64_t misc = 0;
  uint64_t ept_vpid = 0;
  uint64_t vmfunc = 0;
  uint64_t cr0_fixed0 = 0, cr0_fixed1 = 0, cr4_fixed0 = 0, cr4_fixed1 = 0;
  uint8_t maxphyaddr = 46;

  bool has(Feature f) const;
  // Bits that must be 1 (allowed-0 = 1) / may be 1, per the TRUE MSRs (A.3-A.5).
  uint32_t pin_must1() const;
  uint32_t proc_must1() const;
  uint32_t exit_must1() const;
  uint32_t entry_must1() const;
  uint32_t preemption_rate() const { return uint32_t(misc & MISC_PREEMPT_RATE_MASK); }
  unsigned cr3_targets() const { return unsigned((misc >> MISC_CR3_TARGETS_SHIFT) & 0x1FF); }
  uint32_t max_msr_list() const { return 512u * (uint32_t((misc >> MISC_MSR_LIST_SHIFT) & 7) + 1); }
  // IA32_VMX_VMCS_ENUM: bits 9:1 = the highest field index (vmcs.cpp computes it).
  uint64_t vmcs_enum() const;
};

// The value of capability MSR `index` (0x480-0x492); false when the MSR does not exist
// on this model (RDMSR then raises #GP(0)): 0x491 without VM functions, 0x48B without
// secondary controls, 0x48C without EPT or VPID, 0x492 always (no tertiary controls).
bool read_cap_msr(const VmxCaps& caps, uint32_t index, uint64_t& value);

// The VMX feature set of nestsim's models: what a recent Intel server core offers
// that nestsim implements (docs/VMX.md lists what is left out).
VmxCaps server_caps(uint8_t maxphyaddr, uint64_t cr4_supported);

}  // namespace vmx
