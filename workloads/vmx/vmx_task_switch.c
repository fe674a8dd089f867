// Task switches (SDM Vol. 3C 26.4.2: not allowed in VMX non-root operation, any attempt
// exits, reason 9): a 32-bit protected-mode guest (unrestricted guest, EPT) does a far
// JMP and a far CALL to a TSS selector; the qualification has the selector and the
// source (28.2.1, Table 28-2), the guest RIP is the instruction's.
#include "vmx_test.h"

extern char pm_task_jmp[], pm_task_call[];

int main(void) {
  vmx_enable();
  if (!vmx_has_proc2(PROC2_UNRESTRICTED_GUEST) || !vmx_has_proc2(PROC2_EPT)) {
    rt_printf("vmx_task_switch: the CPU has no unrestricted guest\n");
    return 1;
  }
  struct vmx_ept ept;
  ept_init(&ept, false);
  ept_identity(&ept, 4ull << 30, (vmx_caps.ept_vpid & EPT_CAP_1G) ? 1ull << 30 : 1ull << 21);
  struct vmx_vcpu v;
  vmx_vcpu_init(&v, 0);
  ept_enable(&ept);
  vmx_set_bits(VMCS_PROC_CONTROLS2, PROC2_UNRESTRICTED_GUEST, 0);
  vmx_test_legacy_guest(false, (uint64_t)pm_task_jmp);
  // Should the switch not exit, the guest's faults exit instead of running the 64-bit
  // runtime's IDT in 32-bit mode.
  vmx_write(VMCS_EXCEPTION_BITMAP, 0xFFFFFFFF);
  vmx_write(VMCS_GUEST_IDTR_LIMIT, 0);
  static uint64_t gdt[8] __attribute__((aligned(16)));
  static uint8_t tss[0x68] __attribute__((aligned(16)));
  gdt[1] = 0x00CF9B000000FFFFull;  // code32
  gdt[2] = 0x00CF93000000FFFFull;  // data32
  gdt[3] = 0x00CF9B000000FFFFull;  // code32 (the CS selector 0x18 of the guest)
  uint64_t t = (uint64_t)tss;
  // 20H: a 32-bit TSS, available (SDM Vol. 3A 8.2.2).
  gdt[4] = 0x67 | ((t & 0xFFFFFF) << 16) | (0x89ull << 40) | ((t >> 24 & 0xFF) << 56);
  vmx_write(VMCS_GUEST_GDTR_BASE, (uint64_t)gdt);
  vmx_write(VMCS_GUEST_GDTR_LIMIT, sizeof gdt - 1);
  struct {
    const char* name;
    char* rip;
    uint32_t source;
  } k[] = {{"far JMP to a TSS", pm_task_jmp, 2}, {"far CALL to a TSS", pm_task_call, 0}};
  for (int i = 0; i < 2; i++) {
    vmx_write(VMCS_GUEST_RIP, (uint64_t)k[i].rip);
    uint32_t r = vmx_vcpu_run(&v);
    CHECK(r == EXIT_REASON_TASK_SWITCH, "%s: exit %u (%s)", k[i].name, r, vmx_exit_name(r));
    if (r == EXIT_REASON_TASK_SWITCH) {
      CHECK_EQ(v.exit_qual, 0x20 | (k[i].source << 30), k[i].name);
      CHECK_EQ(vmx_read(VMCS_GUEST_RIP), (uint64_t)k[i].rip, "task switch: guest RIP at the instruction");
    }
  }
  return vmx_test_finish("vmx_task_switch");
}
