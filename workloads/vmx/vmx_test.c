#include "vmx_test.h"

unsigned vmx_test_failures, vmx_test_checks;

int vmx_test_finish(const char* name) {
  rt_report("checks", "%u", vmx_test_checks);
  rt_report("failures", "%u", vmx_test_failures);
  if (vmx_test_failures) {
    rt_printf("%s: %u of %u checks FAILED\n", name, vmx_test_failures, vmx_test_checks);
    return 1;
  }
  rt_printf("%s: all checks passed (%u checks)\n", name, vmx_test_checks);
  return 0;
}

static uint8_t legacy_stack[4096] __attribute__((aligned(4096)));

static void seg(int s, uint16_t sel, uint64_t base, uint32_t limit, uint32_t ar) {
  vmx_write(VMCS_GUEST_SEL(s), sel);
  vmx_write(VMCS_GUEST_BASE(s), base);
  vmx_write(VMCS_GUEST_LIMIT(s), limit);
  vmx_write(VMCS_GUEST_AR(s), ar);
}

void vmx_test_legacy_guest(bool real, uint64_t code) {
  vmx_set_bits(VMCS_ENTRY_CONTROLS, 0, ENTRY_IA32E_GUEST);
  if (vmx_allowed1(vmx_caps.entry, ENTRY_LOAD_EFER))
    vmx_write(VMCS_GUEST_EFER, vmx_read(VMCS_GUEST_EFER) & ~(uint64_t)(EFER_LMA | EFER_LME));
  uint64_t cr0 = vmx_read(VMCS_GUEST_CR0) & ~(uint64_t)(CR0_PG | CR0_WP | (real ? CR0_PE : 0));
  vmx_write(VMCS_GUEST_CR0, cr0);
  vmx_write(VMCS_CR0_READ_SHADOW, cr0);
  vmx_write(VMCS_GUEST_CR4, vmx_read(VMCS_GUEST_CR4) & ~(uint64_t)(CR4_PCIDE | CR4_PAE));
  vmx_write(VMCS_GUEST_RFLAGS, 0x2);
  if (real) {
    const uint32_t c = 0xB | AR_S | AR_P, d = 0x3 | AR_S | AR_P;
    seg(SEG_CS, 0, code, 0xFFFF, c);  // a "big real mode" base: allowed
    seg(SEG_SS, 0, (uint64_t)legacy_stack, 0xFFFF, d);
    seg(SEG_DS, 0, 0, 0xFFFF, d);
    seg(SEG_ES, 0, 0, 0xFFFF, d);
    seg(SEG_FS, 0, 0, 0xFFFF, d);
    seg(SEG_GS, 0, 0, 0xFFFF, d);
    vmx_write(VMCS_GUEST_RIP, 0);
    vmx_write(VMCS_GUEST_RSP, 0xFF0);
  } else {
    const uint32_t c = 0xB | AR_S | AR_P | AR_DB | AR_G, d = 0x3 | AR_S | AR_P | AR_DB | AR_G;
    seg(SEG_CS, 0x18, 0, 0xFFFFFFFF, c);
    seg(SEG_SS, 0x10, 0, 0xFFFFFFFF, d);
    seg(SEG_DS, 0x10, 0, 0xFFFFFFFF, d);
    seg(SEG_ES, 0x10, 0, 0xFFFFFFFF, d);
    vmx_write(VMCS_GUEST_RIP, code);
    vmx_write(VMCS_GUEST_RSP, (uint64_t)legacy_stack + 0xFF0);
  }
}
