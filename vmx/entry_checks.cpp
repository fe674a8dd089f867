// VM-entry checks on the VMX controls and the host-state area (SDM Vol. 3C 26.2), in
// the SDM's order: 26.2.1.1 execution controls, 26.2.1.2 exit controls, 26.2.1.3 entry
// controls (VMfailValid(7)); 26.2.2 host control registers and MSRs, 26.2.3 host
// segment and descriptor-table registers, 26.2.4 address-space size (VMfailValid(8)).
// The guest-state checks (26.3.1) are in entry_checks_guest.cpp.
//
// Not modelled, so their controls are reserved (the allowed-1 checks reject them) and
// their checks cannot apply: tertiary controls, EPT-violation #VE, sub-page write
// permissions, mode-based execute control, Intel PT, SGX (ENCLS exiting), user
// wait/pause, load IA32_PERF_GLOBAL_CTRL, CET, PKRS, the dual-monitor treatment of SMIs
// (the processor is never in SMM). The XSS-exiting bitmap has no entry check.
#include "vmx/entry_checks.h"

#include "vmx/controls.h"
#include "vmx/entry_checks_util.h"

namespace vmx {

using namespace entry_detail;
using F = Field;
using isa::CR4_PAE, isa::CR4_PCIDE, isa::CR4_LA57, isa::CR0_PE, isa::EFER_LMA, isa::EFER_LME;

namespace {

// Control bits that may be 1: the allowed-1 settings of the capability MSRs (A.3-A.5;
// default-1 bits are always allowed to be 1).
bool allowed(uint32_t value, uint32_t must1, uint32_t may1) {
  return (value & must1) == must1 && (value & ~(may1 | must1)) == 0;
}

// An EPTP memory type the processor supports (26.2.1.1, A.10): UC (0) or WB (6).
bool ept_memtype_ok(const VmxCaps& c, uint64_t eptp) {
  const unsigned t = eptp & 7;
  return (t == 0 && (c.ept_vpid & EPT_CAP_MT_UC)) || (t == 6 && (c.ept_vpid & EPT_CAP_MT_WB));
}
// Bits 5:3 are the page-walk length minus 1: 4 or 5 levels when supported.
bool ept_walk_ok(const VmxCaps& c, uint64_t eptp) {
  const unsigned l = (eptp >> 3) & 7;
  return (l == 3 && (c.ept_vpid & EPT_CAP_WALK_4)) || (l == 4 && (c.ept_vpid & EPT_CAP_WALK_5));
}

// Deliver-error-code rule of 26.2.1.3: the bit is 1 exactly for hardware exceptions
// that push an error code (#DF, #TS, #NP, #SS, #GP, #PF, #AC), when the guest will be
// in protected mode or "unrestricted guest" is 0 (IA32_VMX_BASIC[56] is 0 here).
bool needs_error_code(bool unrestricted, uint64_t guest_cr0, unsigned type, unsigned vector) {
  if (unrestricted && !(guest_cr0 & CR0_PE)) return false;
  if (type != INTR_TYPE_HW_EXCEPTION) return false;
  return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17;
}

// 26.2.1.1: VM-execution control fields.
EntryCheckResult execution_controls(const Vmcs& v, const VmxCaps& c, const EntryContext& ctx) {
  const Fail fail{EntryFailure::kControls};
  const uint32_t pin = uint32_t(v.get(F::PIN_BASED_VM_EXEC_CONTROL));
  const uint32_t proc = uint32_t(v.get(F::CPU_BASED_VM_EXEC_CONTROL));
  // With "activate secondary controls" 0 the secondary controls are not checked and
  // act as 0 (24.6.2).
  const bool secondary = proc & CPU_SECONDARY_CONTROLS;
  const uint32_t proc2 = secondary ? uint32_t(v.get(F::SECONDARY_VM_EXEC_CONTROL)) : 0;
  const uint32_t exit = uint32_t(v.get(F::VM_EXIT_CONTROLS));
  const bool tpr_shadow = proc & CPU_TPR_SHADOW;
  const bool ept = proc2 & CPU2_EPT;

  CC("26.2.1.1", allowed(pin, c.pin_must1(), c.pin | PIN_DEFAULT1));
  CC("26.2.1.1", allowed(proc, c.proc_must1(), c.proc | CPU_DEFAULT1));
  CC("26.2.1.1", (proc2 & ~c.proc2) == 0);
  CC("26.2.1.1", v.get(F::CR3_TARGET_COUNT) <= c.cr3_targets());
  CC("26.2.1.1", !(proc & CPU_USE_IO_BITMAPS) || page_addr_ok(c, v.get(F::IO_BITMAP_A)));
  CC("26.2.1.1", !(proc & CPU_USE_IO_BITMAPS) || page_addr_ok(c, v.get(F::IO_BITMAP_B)));
  CC("26.2.1.1", !(proc & CPU_USE_MSR_BITMAPS) || page_addr_ok(c, v.get(F::MSR_BITMAP)));

  // TPR shadow and the virtual-APIC page.
  const uint64_t vapic = v.get(F::VIRTUAL_APIC_PAGE_ADDR);
  const uint64_t threshold = v.get(F::TPR_THRESHOLD);
  CC("26.2.1.1", !tpr_shadow || page_addr_ok(c, vapic));
  CC("26.2.1.1", !tpr_shadow || (proc2 & CPU2_VIRT_INTR_DELIVERY) || (threshold >> 4) == 0);
  // Without APIC-access virtualization and virtual-interrupt delivery, TPR threshold
  // bits 3:0 must not exceed VTPR bits 7:4 (VTPR: offset 80H of the virtual-APIC page).
  const bool vtpr_rule =
      tpr_shadow && !(proc2 & (CPU2_VIRT_APIC_ACCESSES | CPU2_VIRT_INTR_DELIVERY));
  CC("26.2.1.1", !vtpr_rule || (threshold & 0xF) <= (phys_read(ctx, vapic + 0x80, 1) >> 4));
  CC("26.2.1.1", tpr_shadow || !(proc2 & (CPU2_VIRT_X2APIC_MODE | CPU2_APIC_REG_VIRT |
                                          CPU2_VIRT_INTR_DELIVERY)));

  // NMIs.
  CC("26.2.1.1", (pin & PIN_NMI_EXITING) || !(pin & PIN_VIRTUAL_NMIS));
  CC("26.2.1.1", (pin & PIN_VIRTUAL_NMIS) || !(proc & CPU_NMI_WINDOW_EXITING));

  // APIC virtualization.
  CC("26.2.1.1", !(proc2 & CPU2_VIRT_APIC_ACCESSES) || page_addr_ok(c, v.get(F::APIC_ACCESS_ADDR)));
  CC("26.2.1.1", !(proc2 & CPU2_VIRT_X2APIC_MODE) || !(proc2 & CPU2_VIRT_APIC_ACCESSES));
  CC("26.2.1.1", !(proc2 & CPU2_VIRT_INTR_DELIVERY) || (pin & PIN_EXTINT_EXITING));

  // Posted interrupts.
  const bool posted = pin & PIN_POSTED_INTR;
  const uint64_t pi_desc = v.get(F::POSTED_INTR_DESC_ADDR);
  CC("26.2.1.1", !posted || (proc2 & CPU2_VIRT_INTR_DELIVERY));
  CC("26.2.1.1", !posted || (exit & EXIT_ACK_INTR_ON_EXIT));
  CC("26.2.1.1", !posted || (v.get(F::POSTED_INTR_NV) & 0xFF00) == 0);
  CC("26.2.1.1", !posted || (pi_desc & 0x3F) == 0);
  CC("26.2.1.1", !posted || addr_ok(c, pi_desc));

  // VPID.
  CC("26.2.1.1", !(proc2 & CPU2_VPID) || v.get(F::VIRTUAL_PROCESSOR_ID) != 0);

  // EPT pointer (24.6.11): memory type, walk length, A/D flags, reserved bits 11:7
  // (bit 7, supervisor shadow-stack control, is not supported) and 63:MAXPHYADDR.
  const uint64_t eptp = v.get(F::EPT_POINTER);
  CC("26.2.1.1", !ept || ept_memtype_ok(c, eptp));
  CC("26.2.1.1", !ept || ept_walk_ok(c, eptp));
  CC("26.2.1.1", !ept || !(eptp & (1u << 6)) || (c.ept_vpid & EPT_CAP_AD));
  CC("26.2.1.1", !ept || (eptp & 0xF80) == 0);
  CC("26.2.1.1", !ept || addr_ok(c, eptp));

  // Page-modification logging and unrestricted guest need EPT.
  CC("26.2.1.1", !(proc2 & CPU2_PML) || ept);
  CC("26.2.1.1", !(proc2 & CPU2_PML) || page_addr_ok(c, v.get(F::PML_ADDRESS)));
  CC("26.2.1.1", !(proc2 & CPU2_UNRESTRICTED_GUEST) || ept);

  // VM functions (24.6.14) and the EPTP list of EPTP switching.
  const bool vmfunc = proc2 & CPU2_VMFUNC;
  const uint64_t funcs = v.get(F::VM_FUNCTION_CONTROL);
  const bool eptp_switching = vmfunc && (funcs & VMFUNC_EPTP_SWITCHING);
  CC("26.2.1.1", !vmfunc || (funcs & ~c.vmfunc) == 0);
  CC("26.2.1.1", !eptp_switching || ept);
  CC("26.2.1.1", !eptp_switching || page_addr_ok(c, v.get(F::EPTP_LIST_ADDRESS)));

  // VMCS shadowing: the VMREAD and VMWRITE bitmaps.
  CC("26.2.1.1", !(proc2 & CPU2_VMCS_SHADOWING) || page_addr_ok(c, v.get(F::VMREAD_BITMAP)));
  CC("26.2.1.1", !(proc2 & CPU2_VMCS_SHADOWING) || page_addr_ok(c, v.get(F::VMWRITE_BITMAP)));
  return {};
}

// 26.2.1.2: VM-exit control fields.
EntryCheckResult exit_controls(const Vmcs& v, const VmxCaps& c) {
  const Fail fail{EntryFailure::kControls};
  const uint32_t pin = uint32_t(v.get(F::PIN_BASED_VM_EXEC_CONTROL));
  const uint32_t exit = uint32_t(v.get(F::VM_EXIT_CONTROLS));
  const uint32_t store_n = uint32_t(v.get(F::VM_EXIT_MSR_STORE_COUNT));
  const uint64_t store = v.get(F::VM_EXIT_MSR_STORE_ADDR);
  const uint32_t load_n = uint32_t(v.get(F::VM_EXIT_MSR_LOAD_COUNT));
  const uint64_t load = v.get(F::VM_EXIT_MSR_LOAD_ADDR);

  CC("26.2.1.2", allowed(exit, c.exit_must1(), c.exit | EXIT_DEFAULT1));
  CC("26.2.1.2", (pin & PIN_PREEMPTION_TIMER) || !(exit & EXIT_SAVE_PREEMPTION_TIMER));
  CC("26.2.1.2", msr_area_aligned(store_n, store));
  CC("26.2.1.2", msr_area_in_width(c, store_n, store));
  CC("26.2.1.2", msr_area_aligned(load_n, load));
  CC("26.2.1.2", msr_area_in_width(c, load_n, load));
  return {};
}

// 26.2.1.3: VM-entry control fields, including the event to inject (24.8.3).
EntryCheckResult entry_controls(const Vmcs& v, const VmxCaps& c) {
  const Fail fail{EntryFailure::kControls};
  const uint32_t entry = uint32_t(v.get(F::VM_ENTRY_CONTROLS));
  CC("26.2.1.3", allowed(entry, c.entry_must1(), c.entry | ENTRY_DEFAULT1));

  const uint32_t info = uint32_t(v.get(F::VM_ENTRY_INTR_INFO_FIELD));
  if (info & INTR_INFO_VALID) {
    const unsigned type = (info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT;
    const unsigned vector = info & INTR_INFO_VECTOR_MASK;
    const bool has_code = info & INTR_INFO_DELIVER_CODE;
    const uint32_t proc = uint32_t(v.get(F::CPU_BASED_VM_EXEC_CONTROL));
    const bool unrestricted = (proc & CPU_SECONDARY_CONTROLS) &&
                              (v.get(F::SECONDARY_VM_EXEC_CONTROL) & CPU2_UNRESTRICTED_GUEST);
    const bool software = type == INTR_TYPE_SW_INTR || type == INTR_TYPE_PRIV_SW_EXCEPTION ||
                          type == INTR_TYPE_SW_EXCEPTION;
    const uint64_t length = v.get(F::VM_ENTRY_INSTRUCTION_LEN);
    // Type 1 is reserved; type 7 (other event: pending MTF) needs the MTF control.
    CC("26.2.1.3", type != 1);
    CC("26.2.1.3", type != INTR_TYPE_OTHER_EVENT || (c.proc & CPU_MONITOR_TRAP_FLAG));
    CC("26.2.1.3", type != INTR_TYPE_NMI || vector == 2);
    CC("26.2.1.3", type != INTR_TYPE_HW_EXCEPTION || vector <= 31);
    CC("26.2.1.3", type != INTR_TYPE_OTHER_EVENT || vector == 0);
    CC("26.2.1.3", has_code == needs_error_code(unrestricted, v.get(F::GUEST_CR0), type, vector));
    CC("26.2.1.3", (info & 0x7FFFF000) == 0);  // reserved bits 30:12
    CC("26.2.1.3", !has_code || (v.get(F::VM_ENTRY_EXCEPTION_ERROR_CODE) >> 16) == 0);
    CC("26.2.1.3", !software || length <= 15);
    CC("26.2.1.3", !software || length != 0 || (c.misc & MISC_INJECT_ZERO_LEN));
  }

  const uint32_t load_n = uint32_t(v.get(F::VM_ENTRY_MSR_LOAD_COUNT));
  const uint64_t load = v.get(F::VM_ENTRY_MSR_LOAD_ADDR);
  CC("26.2.1.3", msr_area_aligned(load_n, load));
  CC("26.2.1.3", msr_area_in_width(c, load_n, load));

  // SMM: the processor is never in SMM here, so both controls must be 0 (they are not
  // offered either, so the allowed-1 check above already rejects them).
  CC("26.2.1.3", !((entry & ENTRY_SMM) && (entry & ENTRY_DEACT_DUAL_MONITOR)));
  CC("26.2.1.3", !(entry & ENTRY_SMM));
  CC("26.2.1.3", !(entry & ENTRY_DEACT_DUAL_MONITOR));
  return {};
}

// 26.2.2: host control registers and MSRs.
EntryCheckResult host_control_registers(const Vmcs& v, const VmxCaps& c) {
  const Fail fail{EntryFailure::kHostState};
  const uint64_t cr0 = v.get(F::HOST_CR0), cr4 = v.get(F::HOST_CR4);
  const uint32_t exit = uint32_t(v.get(F::VM_EXIT_CONTROLS));
  const bool host64 = exit & EXIT_HOST_ADDR_SPACE_SIZE;

  CC("26.2.2", (cr0 & c.cr0_fixed0) == c.cr0_fixed0);
  CC("26.2.2", (cr0 & ~c.cr0_fixed1) == 0);
  CC("26.2.2", (cr4 & c.cr4_fixed0) == c.cr4_fixed0);
  CC("26.2.2", (cr4 & ~c.cr4_fixed1) == 0);
  CC("26.2.2", addr_ok(c, v.get(F::HOST_CR3)));
  CC("26.2.2", canonical(c, v.get(F::HOST_IA32_SYSENTER_ESP)));
  CC("26.2.2", canonical(c, v.get(F::HOST_IA32_SYSENTER_EIP)));
  CC("26.2.2", !(exit & EXIT_LOAD_IA32_PAT) || pat_ok(v.get(F::HOST_IA32_PAT)));

  const uint64_t efer = v.get(F::HOST_IA32_EFER);
  const bool load_efer = exit & EXIT_LOAD_IA32_EFER;
  CC("26.2.2", !load_efer || (efer & ~kEferDefined) == 0);
  CC("26.2.2", !load_efer || bool(efer & EFER_LMA) == host64);
  CC("26.2.2", !load_efer || bool(efer & EFER_LME) == host64);
  return {};
}

// 26.2.3: host segment and descriptor-table registers.
EntryCheckResult host_segments(const Vmcs& v, const VmxCaps& c) {
  const Fail fail{EntryFailure::kHostState};
  const bool host64 = v.get(F::VM_EXIT_CONTROLS) & EXIT_HOST_ADDR_SPACE_SIZE;
  // RPL (bits 1:0) and TI (bit 2) of every selector are 0.
  CC("26.2.3", (v.get(F::HOST_ES_SELECTOR) & 7) == 0);
  CC("26.2.3", (v.get(F::HOST_CS_SELECTOR) & 7) == 0);
  CC("26.2.3", (v.get(F::HOST_SS_SELECTOR) & 7) == 0);
  CC("26.2.3", (v.get(F::HOST_DS_SELECTOR) & 7) == 0);
  CC("26.2.3", (v.get(F::HOST_FS_SELECTOR) & 7) == 0);
  CC("26.2.3", (v.get(F::HOST_GS_SELECTOR) & 7) == 0);
  CC("26.2.3", (v.get(F::HOST_TR_SELECTOR) & 7) == 0);
  CC("26.2.3", v.get(F::HOST_CS_SELECTOR) != 0);
  CC("26.2.3", v.get(F::HOST_TR_SELECTOR) != 0);
  CC("26.2.3", host64 || v.get(F::HOST_SS_SELECTOR) != 0);
  CC("26.2.3", canonical(c, v.get(F::HOST_FS_BASE)));
  CC("26.2.3", canonical(c, v.get(F::HOST_GS_BASE)));
  CC("26.2.3", canonical(c, v.get(F::HOST_GDTR_BASE)));
  CC("26.2.3", canonical(c, v.get(F::HOST_IDTR_BASE)));
  CC("26.2.3", canonical(c, v.get(F::HOST_TR_BASE)));
  return {};
}

// 26.2.4: address-space size. The processor's IA32_EFER.LMA at VMLAUNCH/VMRESUME
// (ctx.host_ia32e) must agree with "host address-space size"; a guest in IA-32e mode
// needs an IA-32e host. Host RIP is canonical for the paging the host will use: 57
// bits with host CR4.LA57, else 48.
EntryCheckResult address_space_size(const Vmcs& v, const EntryContext& ctx) {
  const Fail fail{EntryFailure::kHostState};
  const bool host64 = v.get(F::VM_EXIT_CONTROLS) & EXIT_HOST_ADDR_SPACE_SIZE;
  const bool guest64 = v.get(F::VM_ENTRY_CONTROLS) & ENTRY_IA32E_MODE_GUEST;
  const uint64_t cr4 = v.get(F::HOST_CR4), rip = v.get(F::HOST_RIP);
  CC("26.2.4", ctx.host_ia32e || !guest64);
  CC("26.2.4", ctx.host_ia32e || !host64);
  CC("26.2.4", !ctx.host_ia32e || host64);
  // "IA-32e mode guest" 0 with "host address-space size" 0 follows from the three
  // checks above.
  CC("26.2.4", host64 || !(cr4 & CR4_PCIDE));
  CC("26.2.4", host64 || (rip >> 32) == 0);
  CC("26.2.4", !host64 || (cr4 & CR4_PAE));
  CC("26.2.4", !host64 || canonical(rip, (cr4 & CR4_LA57) ? 57 : 48));
  return {};
}

}  // namespace

EntryCheckResult check_controls(const Vmcs& v, const VmxCaps& caps, const EntryContext& ctx) {
  CC_TRY(execution_controls(v, caps, ctx));
  CC_TRY(exit_controls(v, caps));
  return entry_controls(v, caps);
}

EntryCheckResult check_host_state(const Vmcs& v, const VmxCaps& caps, const EntryContext& ctx) {
  CC_TRY(host_control_registers(v, caps));
  CC_TRY(host_segments(v, caps));
  return address_space_size(v, ctx);
}

}  // namespace vmx
