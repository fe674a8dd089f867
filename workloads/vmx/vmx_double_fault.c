// Exceptions during event delivery and the exception bitmap (SDM Vol. 3C 25.2, 27.2.3;
// Vol. 3A 6.15 Table 6-5). An injected #GP whose IDT gate is beyond the IDT limit
// raises a nested #GP, which Table 6-5 would make a double fault. The nested #GP goes
// through the exception bitmap first: with its bit set it exits as itself, with the
// injected #GP as IDT-vectoring information. Otherwise the #DF is formed; with bit 8
// set it exits directly, without IDT-vectoring information (27.2.3: not an exit during
// event delivery); otherwise it is delivered. An exception while delivering #DF exits
// through the bitmap with the #DF as IDT-vectoring information, else is a triple fault.
#include "vmx_test.h"

void g_df(void);
void h_df(void);
__asm__(".pushsection .text\n"
        ".globl g_df, h_df\n"
        "g_df:\n  vmcall\n"
        "h_df:\n  vmcall\n"
        ".popsection\n");

enum { VEC_DF = 8, VEC_GP = 13 };
static uint64_t* idt;  // the guest's IDT: only the #DF gate

#define INJECT_GP (INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR | VEC_GP)
#define INJECT_DF (INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR | VEC_DF)

// A guest whose IDT ends before gate `limit_vector`, with `inject` at entry and the
// exception bitmap `bitmap`.
static uint32_t run(struct vmx_vcpu* v, unsigned limit_vector, uint32_t inject, uint32_t bitmap) {
  vmx_vcpu_init_on(v, v->vmcs, g_df);
  vmx_write(VMCS_GUEST_IDTR_BASE, (uint64_t)idt);
  vmx_write(VMCS_GUEST_IDTR_LIMIT, limit_vector * 16 - 1);
  vmx_write(VMCS_ENTRY_INTR_INFO, inject);
  vmx_write(VMCS_ENTRY_EXCEPTION_ERROR, 0);
  vmx_write(VMCS_EXCEPTION_BITMAP, bitmap);
  return vmx_vcpu_run(v);
}

static void report(const char* what, unsigned before) {
  rt_printf("vmx_double_fault: %-58s %s\n", what, vmx_test_failures == before ? "pass" : "FAIL");
}

int main(void) {
  vmx_enable();
  idt = vmx_alloc_page();
  uint16_t cs;
  __asm__ volatile("mov %%cs, %0" : "=r"(cs));
  const uint64_t h = (uint64_t)h_df;
  idt[2 * VEC_DF] = (h & 0xFFFF) | ((uint64_t)cs << 16) | (0x8Eull << 40) | ((h >> 16 & 0xFFFF) << 48);
  idt[2 * VEC_DF + 1] = h >> 32;
  struct vmx_vcpu v;
  vmx_vcpu_init(&v, g_df);
  // The nested #GP: gate 13 beyond the limit (error code: IDT, EXT, vector 13).
  const uint32_t gp13 = VEC_GP * 8 + 2 + 1;

  unsigned before = vmx_test_failures;
  uint32_t r = run(&v, VEC_GP, INJECT_GP, 1u << VEC_GP);
  CHECK(r == EXIT_REASON_EXCEPTION_NMI, "nested #GP with bit 13: exit %u (%s)", r, vmx_exit_name(r));
  if (r == EXIT_REASON_EXCEPTION_NMI) {
    CHECK_EQ(vmx_read(VMCS_EXIT_INTR_INFO) & ~INTR_INFO_NMI_UNBLOCK_IRET,
             INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR | VEC_GP, "the nested #GP exits");
    CHECK_EQ(vmx_read(VMCS_EXIT_INTR_ERROR), gp13, "nested #GP error code");
    CHECK_EQ(vmx_read(VMCS_IDT_VECTORING_INFO), INJECT_GP, "IDT-vectoring information: the injected #GP");
    CHECK_EQ(vmx_read(VMCS_GUEST_RIP), (uint64_t)g_df, "guest RIP");
  }
  report("nested #GP exits before it becomes #DF", before);

  before = vmx_test_failures;
  r = run(&v, VEC_GP, INJECT_GP, 1u << VEC_DF);
  CHECK(r == EXIT_REASON_EXCEPTION_NMI, "#DF with bit 8: exit %u (%s)", r, vmx_exit_name(r));
  if (r == EXIT_REASON_EXCEPTION_NMI) {
    CHECK_EQ(vmx_read(VMCS_EXIT_INTR_INFO) & ~INTR_INFO_NMI_UNBLOCK_IRET,
             INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR | VEC_DF, "the #DF exits");
    CHECK_EQ(vmx_read(VMCS_EXIT_INTR_ERROR), 0, "#DF error code");
    CHECK(!(vmx_read(VMCS_IDT_VECTORING_INFO) & INTR_INFO_VALID),
          "a #DF exiting directly has no IDT-vectoring information (%lx)", vmx_read(VMCS_IDT_VECTORING_INFO));
  }
  report("the #DF exits directly, without IDT-vectoring information", before);

  before = vmx_test_failures;
  r = run(&v, VEC_GP, INJECT_GP, 0);
  CHECK(r == EXIT_REASON_VMCALL && vmx_read(VMCS_GUEST_RIP) == (uint64_t)h_df,
        "no bitmap bits: the #DF is delivered to the guest (exit %u, %s)", r, vmx_exit_name(r));
  report("without bitmap bits the guest gets the #DF", before);

  // An injected #DF whose own gate is beyond the limit.
  before = vmx_test_failures;
  r = run(&v, VEC_DF, INJECT_DF, 1u << VEC_GP);
  CHECK(r == EXIT_REASON_EXCEPTION_NMI, "#GP delivering #DF with bit 13: exit %u (%s)", r, vmx_exit_name(r));
  if (r == EXIT_REASON_EXCEPTION_NMI) {
    CHECK_EQ(vmx_read(VMCS_EXIT_INTR_INFO) & ~INTR_INFO_NMI_UNBLOCK_IRET,
             INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR | VEC_GP, "the #GP exits");
    CHECK_EQ(vmx_read(VMCS_EXIT_INTR_ERROR), VEC_DF * 8 + 2 + 1, "#GP error code");
    CHECK_EQ(vmx_read(VMCS_IDT_VECTORING_INFO), INJECT_DF, "IDT-vectoring information: the #DF");
  }
  r = run(&v, VEC_DF, INJECT_DF, 0);
  CHECK(r == EXIT_REASON_TRIPLE_FAULT, "#GP delivering #DF without bit 13: exit %u (%s)", r, vmx_exit_name(r));
  report("a fault delivering #DF: bitmap exit, else triple fault", before);
  return vmx_test_finish("vmx_double_fault");
}
