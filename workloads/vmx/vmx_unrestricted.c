// Unrestricted guests (SDM Vol. 3C 25.6.2, 26.3.1.1, 26.3.1.2): with EPT, a guest may
// run in real mode (CR0.PE = PG = 0) and in protected mode without paging; VM exits
// from both save the guest's state as it is (16-bit IP, CR0 without PE). Without the
// control, the same CR0 fails the entry (exit 33).
#include "vmx_test.h"

extern char rm_guest[], pm_guest[], pm_vmcall[];

int main(void) {
  vmx_enable();
  if (!vmx_has_proc2(PROC2_UNRESTRICTED_GUEST) || !vmx_has_proc2(PROC2_EPT)) {
    rt_printf("vmx_unrestricted: the CPU has no unrestricted guest\n");
    return 1;
  }
  struct vmx_ept ept;
  ept_init(&ept, false);
  ept_identity(&ept, 4ull << 30, (vmx_caps.ept_vpid & EPT_CAP_1G) ? 1ull << 30 : 1ull << 21);
  struct vmx_vcpu v;
  vmx_vcpu_init(&v, 0);

  // Without the control: PE = 0 is a CR0 fixed-bit violation.
  vmx_test_legacy_guest(true, (uint64_t)rm_guest);
  ept_enable(&ept);
  uint32_t r = vmx_vcpu_run(&v);
  CHECK(r == (EXIT_REASON_ENTRY_FAILURE | EXIT_REASON_INVALID_GUEST_STATE),
        "real mode without unrestricted guest: exit %x", r);

  // Real mode.
  vmx_set_bits(VMCS_PROC_CONTROLS2, PROC2_UNRESTRICTED_GUEST, 0);
  r = vmx_vcpu_run(&v);
  CHECK(r == EXIT_REASON_VMCALL, "real mode: VMCALL exit, got %u (%s)", r, vmx_exit_name(r));
  if (r == EXIT_REASON_VMCALL) {
    CHECK_EQ(v.regs.rax & 0xFFFF, 0x1234, "real mode: AX");
    CHECK_EQ(vmx_read(VMCS_GUEST_RIP), 3, "real mode: IP of the VMCALL");
    CHECK_EQ(vmx_read(VMCS_EXIT_INSN_LEN), 3, "real mode: VMCALL length");
    CHECK_EQ(vmx_read(VMCS_GUEST_CS_BASE), (uint64_t)rm_guest, "real mode: CS base saved");
    CHECK(!(vmx_read(VMCS_GUEST_CR0) & CR0_PE), "real mode: guest CR0.PE saved as 0");
    vmx_skip_insn();
    r = vmx_vcpu_run(&v);
    CHECK(r == EXIT_REASON_CPUID, "real mode: CPUID exit, got %u (%s)", r, vmx_exit_name(r));
    CHECK_EQ(vmx_read(VMCS_EXIT_INSN_LEN), 2, "real mode: CPUID length");
    vmx_skip_insn();
    r = vmx_vcpu_run(&v);
    CHECK(r == EXIT_REASON_VMCALL && (uint32_t)v.regs.rax == VMX_HC_DONE, "real mode: end, exit %u", r);
    CHECK(!(v.regs.rbx & CR0_PE), "real mode: MOV from CR0 has PE = 0 (%lx)", v.regs.rbx);
  }

  // 32-bit protected mode without paging.
  vmx_vcpu_init_on(&v, v.vmcs, 0);
  ept_enable(&ept);
  vmx_set_bits(VMCS_PROC_CONTROLS2, PROC2_UNRESTRICTED_GUEST, 0);
  vmx_test_legacy_guest(false, (uint64_t)pm_guest);
  r = vmx_vcpu_run(&v);
  CHECK(r == EXIT_REASON_VMCALL && (uint32_t)v.regs.rax == VMX_HC_DONE,
        "protected mode without paging: exit %u (%s)", r, vmx_exit_name(r));
  if (r == EXIT_REASON_VMCALL) {
    CHECK((v.regs.rbx & (CR0_PE | CR0_PG)) == CR0_PE, "protected mode: CR0 PE = 1, PG = 0 (%lx)", v.regs.rbx);
    CHECK_EQ(v.regs.rdx, 0x5A5A, "protected mode: push/pop on the flat stack");
    CHECK_EQ(vmx_read(VMCS_GUEST_RIP), (uint64_t)pm_vmcall, "protected mode: EIP of the VMCALL");
  }
  return vmx_test_finish("vmx_unrestricted");
}
