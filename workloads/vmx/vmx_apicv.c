// APIC virtualization (SDM Vol. 3C chapter 30): the TPR shadow through MOV CR8 and the
// TPR-below-threshold exit; the APIC-access page (exits with offset and access type,
// TPR virtualized, APIC-register virtualization, the APIC-write exit); virtualize-x2APIC-
// mode TPR accesses;
// virtual-interrupt delivery from RVI with a virtualized EOI and the EOI-induced exit.
// The APIC-access page is an ordinary RAM page: the real local APIC is never touched.
#include "vmx_test.h"

static uint8_t* vapic;        // virtual-APIC page
static uint8_t* access_page;  // APIC-access page (guest-physical = linear, no EPT)

static uint32_t vreg(unsigned off) { return *(volatile uint32_t*)(vapic + off); }
static void set_vreg(unsigned off, uint32_t v) { *(volatile uint32_t*)(vapic + off) = v; }

// ---- guests -----------------------------------------------------------------------------
static volatile uint64_t g_val;
static void guest_cr8(void) {
  __asm__ volatile("mov %0, %%cr8" : : "r"(g_val) : "memory");
  uint64_t back;
  __asm__ volatile("mov %%cr8, %0" : "=r"(back));
  vmx_guest_sync(back);
}
static volatile unsigned g_off;
static void guest_apic_read(void) { vmx_guest_sync(*(volatile uint32_t*)(access_page + g_off)); }
static void guest_apic_write(void) {
  *(volatile uint32_t*)(access_page + g_off) = (uint32_t)g_val;
  vmx_guest_sync(0);
}
static void guest_x2apic_tpr(void) {
  rt_wrmsr(MSR_X2APIC_TPR, g_val);
  vmx_guest_sync(rt_rdmsr(MSR_X2APIC_TPR));
}
static volatile unsigned vint_count, vint_vector;
static void guest_vint_handler(struct rt_frame* f) {
  vint_count++;
  vint_vector = (unsigned)f->vector;
  rt_wrmsr(0x80B, 0);  // x2APIC EOI: virtualized
}
static void guest_idle(void) {
  for (int i = 0; i < 100; i++) __asm__ volatile("pause");
  vmx_guest_sync(vint_count);
}

// A #GP in the guest (an x2APIC MSR access that was not virtualized) skips the 2-byte
// RDMSR/WRMSR and is counted, so that the checks fail and the run goes on.
static volatile unsigned guest_gps;
static void guest_gp_skip(struct rt_frame* f) {
  guest_gps++;
  f->rip += 2;
}

static void base(struct vmx_vcpu* v, void (*code)(void)) {
  vmx_vcpu_init_on(v, v->vmcs, code);
  memset(vapic, 0, 4096);
  vmx_set_bits(VMCS_PROC_CONTROLS, PROC_TPR_SHADOW, PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING);
  vmx_write(VMCS_VIRTUAL_APIC_ADDR, vmx_pa(vapic));
  vmx_write(VMCS_TPR_THRESHOLD, 0);
}
static void proc2(uint32_t bits) {
  vmx_set_bits(VMCS_PROC_CONTROLS, PROC_SECONDARY_CONTROLS, 0);
  vmx_set_bits(VMCS_PROC_CONTROLS2, bits, 0);
}

static uint64_t run_sync(struct vmx_vcpu* v, const char* what) {
  uint64_t got = 0;
  uint32_t r = vmx_vcpu_run_guest(v, &got);
  CHECK(r == VMX_EXIT_GUEST_SYNC, "%s: exit %u (%s) at %lx, qualification %lx", what, r,
        vmx_exit_name(r), vmx_read(VMCS_GUEST_RIP), v->exit_qual);
  return got;
}

// 30.1.1, 30.3: MOV to/from CR8 use VTPR (virtual-APIC page offset 80H, bits 7:4).
static void test_tpr_shadow(struct vmx_vcpu* v) {
  base(v, guest_cr8);
  g_val = 0x9;
  CHECK_EQ(run_sync(v, "MOV CR8 with the TPR shadow"), 0x9, "MOV from CR8 reads VTPR[7:4]");
  CHECK_EQ(vreg(0x80), 0x90, "MOV to CR8 wrote VTPR");
  // 30.1.2: a write that takes VTPR[7:4] below the threshold exits after the instruction.
  base(v, guest_cr8);
  vmx_write(VMCS_TPR_THRESHOLD, 5);
  set_vreg(0x80, 0x60);
  g_val = 0x3;
  uint32_t r = vmx_vcpu_run_guest(v, 0);
  CHECK(r == EXIT_REASON_TPR_BELOW_THRESHOLD, "TPR below threshold: exit %u (%s)", r, vmx_exit_name(r));
  CHECK_EQ(vreg(0x80), 0x30, "VTPR written before the trap-like exit");
  vmx_write(VMCS_TPR_THRESHOLD, 0);
  CHECK_EQ(run_sync(v, "guest continues after the TPR exit"), 0x3, "MOV from CR8 after the exit");
}

// 30.4: accesses to the APIC-access page.
static void test_apic_access(struct vmx_vcpu* v) {
  if (!vmx_has_proc2(PROC2_VIRT_APIC_ACCESSES)) {
    rt_printf("vmx_apicv: no APIC-access page: skipped\n");
    return;
  }
  struct {
    const char* name;
    void (*code)(void);
    unsigned off;
    uint64_t qual;  // offset | access type << 12 (0 linear read, 1 linear write)
  } k[] = {
      {"read of the version register", guest_apic_read, 0x30, 0x030},
      {"write of the ICR", guest_apic_write, 0x300, 0x300 | (1u << 12)},
  };
  for (int i = 0; i < 2; i++) {
    base(v, k[i].code);
    proc2(PROC2_VIRT_APIC_ACCESSES);
    vmx_write(VMCS_APIC_ACCESS_ADDR, vmx_pa(access_page));
    g_off = k[i].off;
    g_val = 0x4000;
    uint32_t r = vmx_vcpu_run_guest(v, 0);
    CHECK(r == EXIT_REASON_APIC_ACCESS, "APIC access (%s): exit %u (%s)", k[i].name, r, vmx_exit_name(r));
    if (r == EXIT_REASON_APIC_ACCESS)
      CHECK_EQ(v->exit_qual, k[i].qual, k[i].name);
  }
  // With the TPR shadow, a write of offset 80H is virtualized: VTPR, no exit (30.4.3).
  base(v, guest_apic_write);
  proc2(PROC2_VIRT_APIC_ACCESSES);
  vmx_write(VMCS_APIC_ACCESS_ADDR, vmx_pa(access_page));
  g_off = 0x80;
  g_val = 0x70;
  run_sync(v, "TPR write through the APIC-access page");
  CHECK_EQ(vreg(0x80), 0x70, "virtualized TPR write reaches VTPR");
  CHECK_EQ(*(uint32_t*)(access_page + 0x80), 0, "the APIC-access page itself is untouched");
  base(v, guest_apic_read);
  proc2(PROC2_VIRT_APIC_ACCESSES);
  vmx_write(VMCS_APIC_ACCESS_ADDR, vmx_pa(access_page));
  set_vreg(0x80, 0x50);
  g_off = 0x80;
  CHECK_EQ(run_sync(v, "TPR read through the APIC-access page"), 0x50, "virtualized TPR read");
  // APIC-register virtualization: reads come from the virtual-APIC page (30.4.1); a
  // write of the ICR goes to the virtual-APIC page and then exits (APIC write, 56,
  // trap-like, qualification = the offset; 30.4.3.3).
  if (vmx_has_proc2(PROC2_APIC_REG_VIRT)) {
    base(v, guest_apic_read);
    proc2(PROC2_VIRT_APIC_ACCESSES | PROC2_APIC_REG_VIRT);
    vmx_write(VMCS_APIC_ACCESS_ADDR, vmx_pa(access_page));
    set_vreg(0x30, 0x50014);
    g_off = 0x30;
    CHECK_EQ(run_sync(v, "version read with APIC-register virtualization"), 0x50014,
             "virtualized read of the version register");
    base(v, guest_apic_write);
    proc2(PROC2_VIRT_APIC_ACCESSES | PROC2_APIC_REG_VIRT);
    vmx_write(VMCS_APIC_ACCESS_ADDR, vmx_pa(access_page));
    g_off = 0x300;
    g_val = 0x4041;
    uint32_t r = vmx_vcpu_run_guest(v, 0);
    CHECK(r == EXIT_REASON_APIC_WRITE, "ICR write: exit %u (%s), expected APIC write", r, vmx_exit_name(r));
    if (r == EXIT_REASON_APIC_WRITE) {
      CHECK_EQ(v->exit_qual, 0x300, "APIC-write exit: the offset");
      CHECK_EQ(vreg(0x300), 0x4041, "ICR write landed in the virtual-APIC page");
      run_sync(v, "guest continues after the APIC-write exit");
    }
  }
}

// 30.5: RDMSR/WRMSR of the x2APIC TPR under "virtualize x2APIC mode".
static void test_x2apic(struct vmx_vcpu* v) {
  if (!vmx_has_proc2(PROC2_VIRT_X2APIC)) {
    rt_printf("vmx_apicv: no virtualize-x2APIC mode: skipped\n");
    return;
  }
  base(v, guest_x2apic_tpr);
  proc2(PROC2_VIRT_X2APIC);
  g_val = 0x20;
  CHECK_EQ(run_sync(v, "x2APIC TPR"), 0x20, "RDMSR 808H reads VTPR");
  CHECK_EQ(vreg(0x80), 0x20, "WRMSR 808H writes VTPR");
}

// 30.2: virtual-interrupt delivery of RVI, EOI virtualization and the EOI-induced exit.
static void test_vid(struct vmx_vcpu* v, bool eoi_exit) {
  if (!vmx_has_proc2(PROC2_VIRT_INTR_DELIVERY) || !vmx_has_proc2(PROC2_VIRT_X2APIC)) {
    rt_printf("vmx_apicv: no virtual-interrupt delivery: skipped\n");
    return;
  }
  const unsigned vec = 0x50;
  base(v, guest_idle);
  proc2(PROC2_VIRT_X2APIC | PROC2_VIRT_INTR_DELIVERY);
  vmx_set_bits(VMCS_PIN_CONTROLS, PIN_EXTINT_EXITING, 0);
  for (int i = 0; i < 4; i++) vmx_write(VMCS_EOI_EXIT_BITMAP0 + 2 * i, 0);
  if (eoi_exit) vmx_write(VMCS_EOI_EXIT_BITMAP0 + 2 * (vec / 64), 1ull << (vec % 64));
  set_vreg(0x200 + (vec / 32) * 0x10, 1u << (vec % 32));  // VIRR
  vmx_write(VMCS_GUEST_INTR_STATUS, vec);                  // RVI = 50H, SVI = 0
  vmx_write(VMCS_GUEST_RFLAGS, 0x202);
  vint_count = 0;
  rt_set_handler(vec, guest_vint_handler);
  uint32_t r = vmx_vcpu_run_guest(v, 0);
  if (eoi_exit) {
    CHECK(r == EXIT_REASON_EOI_INDUCED, "EOI-induced exit: exit %u (%s)", r, vmx_exit_name(r));
    if (r == EXIT_REASON_EOI_INDUCED) CHECK_EQ(v->exit_qual, vec, "EOI-induced exit: the vector");
    r = vmx_vcpu_run_guest(v, 0);
  }
  rt_set_handler(vec, 0);
  CHECK(r == VMX_EXIT_GUEST_SYNC, "virtual interrupt: exit %u (%s)", r, vmx_exit_name(r));
  CHECK_EQ(vint_count, 1, "the guest took the virtual interrupt once");
  CHECK_EQ(vint_vector, vec, "virtual interrupt vector");
  CHECK_EQ(vmx_read(VMCS_GUEST_INTR_STATUS), 0, "RVI and SVI cleared after delivery and EOI");
  CHECK_EQ(vreg(0x200 + (vec / 32) * 0x10), 0, "VIRR bit cleared at delivery");
  CHECK_EQ(vreg(0x100 + (vec / 32) * 0x10), 0, "VISR bit cleared by the EOI");
}

int main(void) {
  vmx_enable();
  if (!vmx_allowed1(vmx_caps.proc, PROC_TPR_SHADOW)) {
    rt_printf("vmx_apicv: the CPU has no TPR shadow\n");
    return 1;
  }
  rt_set_handler(13, guest_gp_skip);
  rt_outb(0x21, 0xFF);  // 8259 masked: guests run with RFLAGS.IF = 1 here
  rt_outb(0xA1, 0xFF);
  vapic = vmx_alloc_page();
  access_page = vmx_alloc_page();
  struct vmx_vcpu v;
  vmx_vcpu_init(&v, guest_idle);
  test_tpr_shadow(&v);
  test_apic_access(&v);
  test_x2apic(&v);
  test_vid(&v, false);
  test_vid(&v, true);
  rt_set_handler(13, 0);
  CHECK_EQ(guest_gps, 0, "#GP in the guest (x2APIC MSR access not virtualized)");
  return vmx_test_finish("vmx_apicv");
}
