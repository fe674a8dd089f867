// Unrestricted guests (SDM Vol. 3C 25.6.2, 26.3.1.1, 26.3.1.2): with EPT, a guest may
// run in real mode (CR0.PE = PG = 0) and in protected mode without paging; VM exits
// from both save the guest's state as it is (16-bit IP, CR0 without PE). Without the
// control, the same CR0 fails the entry (exit 33). The 32-bit guest also attempts task
// switches, which exit.
#include "vmx_test.h"

extern char rm_guest[], pm_guest[], pm_vmcall[], pm_task_jmp[], pm_task_call[];
static uint8_t rm_stack[4096] __attribute__((aligned(4096)));

static void seg(int s, uint16_t sel, uint64_t base, uint32_t limit, uint32_t ar) {
  vmx_write(VMCS_GUEST_SEL(s), sel);
  vmx_write(VMCS_GUEST_BASE(s), base);
  vmx_write(VMCS_GUEST_LIMIT(s), limit);
  vmx_write(VMCS_GUEST_AR(s), ar);
}

// A guest without IA-32e mode or paging (26.3.1.1: PE and PG may be 0 with the control).
static void legacy_guest(bool real) {
  vmx_set_bits(VMCS_ENTRY_CONTROLS, 0, ENTRY_IA32E_GUEST);
  if (vmx_allowed1(vmx_caps.entry, ENTRY_LOAD_EFER))
    vmx_write(VMCS_GUEST_EFER, vmx_read(VMCS_GUEST_EFER) & ~(uint64_t)(EFER_LMA | EFER_LME));
  uint64_t cr0 = vmx_read(VMCS_GUEST_CR0) & ~(uint64_t)(CR0_PG | CR0_WP | (real ? CR0_PE : 0));
  vmx_write(VMCS_GUEST_CR0, cr0);
  vmx_write(VMCS_CR0_READ_SHADOW, cr0);
  vmx_write(VMCS_GUEST_CR4, vmx_read(VMCS_GUEST_CR4) & ~(uint64_t)(CR4_PCIDE | CR4_PAE));
  vmx_write(VMCS_GUEST_RFLAGS, 0x2);
  if (real) {
    const uint32_t code = 0xB | AR_S | AR_P, data = 0x3 | AR_S | AR_P;
    seg(SEG_CS, 0, (uint64_t)rm_guest, 0xFFFF, code);  // "big real mode" base: allowed
    seg(SEG_SS, 0, (uint64_t)rm_stack, 0xFFFF, data);
    seg(SEG_DS, 0, 0, 0xFFFF, data);
    seg(SEG_ES, 0, 0, 0xFFFF, data);
    seg(SEG_FS, 0, 0, 0xFFFF, data);
    seg(SEG_GS, 0, 0, 0xFFFF, data);
    vmx_write(VMCS_GUEST_RIP, 0);
    vmx_write(VMCS_GUEST_RSP, 0xFF0);
  } else {
    const uint32_t code = 0xB | AR_S | AR_P | AR_DB | AR_G, data = 0x3 | AR_S | AR_P | AR_DB | AR_G;
    seg(SEG_CS, 0x18, 0, 0xFFFFFFFF, code);
    seg(SEG_SS, 0x10, 0, 0xFFFFFFFF, data);
    seg(SEG_DS, 0x10, 0, 0xFFFFFFFF, data);
    seg(SEG_ES, 0x10, 0, 0xFFFFFFFF, data);
    vmx_write(VMCS_GUEST_RIP, (uint64_t)pm_guest);
    vmx_write(VMCS_GUEST_RSP, (uint64_t)rm_stack + 0xFF0);
  }
}

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
  legacy_guest(true);
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
  legacy_guest(false);
  r = vmx_vcpu_run(&v);
  CHECK(r == EXIT_REASON_VMCALL && (uint32_t)v.regs.rax == VMX_HC_DONE,
        "protected mode without paging: exit %u (%s)", r, vmx_exit_name(r));
  if (r == EXIT_REASON_VMCALL) {
    CHECK((v.regs.rbx & (CR0_PE | CR0_PG)) == CR0_PE, "protected mode: CR0 PE = 1, PG = 0 (%lx)", v.regs.rbx);
    CHECK_EQ(v.regs.rdx, 0x5A5A, "protected mode: push/pop on the flat stack");
    CHECK_EQ(vmx_read(VMCS_GUEST_RIP), (uint64_t)pm_vmcall, "protected mode: EIP of the VMCALL");
  }
  // Task switches cause VM exits (26.4.2 "task switches are not allowed in VMX non-root
  // operation"); the qualification has the selector and the source (28.2.1, Table 28-2).
  static uint64_t gdt[8] __attribute__((aligned(16)));
  static uint8_t tss[0x68] __attribute__((aligned(16)));
  gdt[1] = 0x00CF9B000000FFFFull;  // code32
  gdt[2] = 0x00CF93000000FFFFull;  // data32
  gdt[3] = 0x00CF9B000000FFFFull;  // code32 (the CS selector 0x18 of the guest)
  uint64_t t = (uint64_t)tss;
  gdt[4] = 0x67 | ((t & 0xFFFFFF) << 16) | (0x89ull << 40) | ((t >> 24 & 0xFF) << 56);  // 32-bit TSS, available
  vmx_write(VMCS_GUEST_GDTR_BASE, (uint64_t)gdt);
  vmx_write(VMCS_GUEST_GDTR_LIMIT, sizeof gdt - 1);
  struct {
    const char* name;
    char* rip;
    uint32_t source;
  } k[] = {{"far JMP to a TSS", pm_task_jmp, 2}, {"far CALL to a TSS", pm_task_call, 0}};
  for (int i = 0; i < 2; i++) {
    vmx_write(VMCS_GUEST_RIP, (uint64_t)k[i].rip);
    r = vmx_vcpu_run(&v);
    CHECK(r == EXIT_REASON_TASK_SWITCH, "%s: exit %u (%s)", k[i].name, r, vmx_exit_name(r));
    if (r == EXIT_REASON_TASK_SWITCH) {
      CHECK_EQ(v.exit_qual, 0x20 | (k[i].source << 30), k[i].name);
      CHECK_EQ(vmx_read(VMCS_GUEST_RIP), (uint64_t)k[i].rip, "task switch: guest RIP at the instruction");
    }
  }
  return vmx_test_finish("vmx_unrestricted");
}
