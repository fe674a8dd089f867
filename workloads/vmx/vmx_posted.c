// Posted-interrupt processing (SDM Vol. 3C 29.6) with the real local APIC: the
// notification vector, sent as a physical self-IPI through the ICR while the host runs
// with RFLAGS.IF = 0, is pending at VM entry and processed right after it (ON cleared,
// PIR moved to VIRR, RVI raised, the local APIC's in-service bit retired by the
// processor's own EOI) and the posted vectors are delivered as virtual interrupts; any
// other vector is an ordinary external-interrupt exit (acknowledged); the local APIC
// timer firing the notification vector while the guest runs, and while it is halted,
// is processed without a VM exit; a notification with an empty PIR changes nothing.
#include "vmx_test.h"

#define APIC_BASE 0xFEE00000ull
static uint32_t apic_read(unsigned reg) { return *(volatile uint32_t*)(APIC_BASE + reg); }
static void apic_write(unsigned reg, uint32_t v) { *(volatile uint32_t*)(APIC_BASE + reg) = v; }
static bool apic_bit(unsigned base, unsigned vec) { return apic_read(base + (vec / 32) * 16) >> (vec % 32) & 1; }
enum { APIC_ISR = 0x100, APIC_IRR = 0x200, PINV = 0xF2, VEC_OTHER = 0x33 };

static uint8_t* vapic;
static uint64_t* desc;  // posted-interrupt descriptor: PIR (bits 255:0), ON (bit 256)
static void post(unsigned vec) { desc[vec / 64] |= 1ull << (vec % 64); }
static bool on_bit(void) { return desc[4] & 1; }
static bool pir_empty(void) { return !(desc[0] | desc[1] | desc[2] | desc[3]); }

static volatile unsigned nlog;
static volatile unsigned log_vec[8];
static void vint_handler(struct rt_frame* f) {
  if (nlog < 8) log_vec[nlog] = (unsigned)f->vector;
  nlog = nlog + 1;
  rt_wrmsr(0x80B, 0);  // virtualized EOI
}
static void guest_idle(void) {
  for (int i = 0; i < 50; i++) __asm__ volatile("pause");
  vmx_guest_sync(nlog);
}
// Waits for a virtual interrupt, running or halted (bounded: a lost one ends the wait).
static volatile bool halt_wait;
static void guest_wait(void) {
  for (long i = 0; i < 2000000 && nlog == 0; i++) {
    if (halt_wait) __asm__ volatile("sti; hlt" ::: "memory");
    else __asm__ volatile("pause");
  }
  vmx_guest_sync(nlog);
}

static void setup(struct vmx_vcpu* v, void (*code)(void)) {
  vmx_vcpu_init_on(v, v->vmcs, code);
  memset(vapic, 0, 4096);
  memset(desc, 0, 64);
  vmx_set_bits(VMCS_PIN_CONTROLS, PIN_EXTINT_EXITING | PIN_POSTED_INTERRUPTS, 0);
  vmx_set_bits(VMCS_EXIT_CONTROLS, EXIT_ACK_INTR, 0);
  vmx_set_bits(VMCS_PROC_CONTROLS, PROC_TPR_SHADOW | PROC_SECONDARY_CONTROLS,
               PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING);
  vmx_set_bits(VMCS_PROC_CONTROLS2, PROC2_VIRT_X2APIC | PROC2_VIRT_INTR_DELIVERY, 0);
  vmx_write(VMCS_VIRTUAL_APIC_ADDR, vmx_pa(vapic));
  vmx_write(VMCS_TPR_THRESHOLD, 0);
  for (int i = 0; i < 4; i++) vmx_write(VMCS_EOI_EXIT_BITMAP0 + 2 * i, 0);
  vmx_write(VMCS_GUEST_INTR_STATUS, 0);
  vmx_write(VMCS_POSTED_INTR_NV, PINV);
  vmx_write(VMCS_POSTED_INTR_DESC, vmx_pa(desc));
  vmx_write(VMCS_GUEST_RFLAGS, 0x202);
  nlog = 0;
  halt_wait = false;
}
static void self_ipi(unsigned vec) { apic_write(0x300, (1u << 18) | vec); }  // self, fixed, edge

// The notification vector pending at VM entry.
static void test_pending_at_entry(struct vmx_vcpu* v) {
  setup(v, guest_idle);
  post(0x55);
  post(0x91);
  desc[4] |= 1;
  self_ipi(PINV);
  CHECK(apic_bit(APIC_IRR, PINV), "the notification vector waits in the local APIC's IRR");
  uint64_t got = 0;
  uint32_t r = vmx_vcpu_run_guest(v, &got);
  CHECK(r == VMX_EXIT_GUEST_SYNC, "notification at entry: exit %u (%s)", r, vmx_exit_name(r));
  CHECK_EQ(got, 2, "both posted vectors delivered");
  CHECK(log_vec[0] == 0x91 && log_vec[1] == 0x55, "order %x %x, expected 91 55", log_vec[0], log_vec[1]);
  CHECK(!on_bit(), "outstanding-notification bit cleared");
  CHECK(pir_empty(), "PIR cleared");
  CHECK_EQ(vmx_read(VMCS_GUEST_INTR_STATUS), 0, "RVI and SVI 0 after delivery and EOI");
  CHECK(!apic_bit(APIC_IRR, PINV) && !apic_bit(APIC_ISR, PINV),
        "the processor acknowledged the notification and sent the EOI");
}

// Another vector: an external-interrupt exit, acknowledged; the descriptor is untouched.
static void test_other_vector(struct vmx_vcpu* v) {
  setup(v, guest_idle);
  post(0x56);
  desc[4] |= 1;
  self_ipi(VEC_OTHER);
  uint32_t r = vmx_vcpu_run_guest(v, 0);
  CHECK(r == EXIT_REASON_EXTERNAL_INTERRUPT, "other vector: exit %u (%s)", r, vmx_exit_name(r));
  CHECK_EQ(vmx_read(VMCS_EXIT_INTR_INFO), INTR_INFO_VALID | VEC_OTHER, "exit interruption information");
  CHECK(apic_bit(APIC_ISR, VEC_OTHER), "acknowledged: in service at the local APIC");
  apic_write(0xB0, 0);
  CHECK(on_bit() && (desc[1] >> (0x56 - 64) & 1), "descriptor untouched");
  CHECK_EQ(nlog, 0, "nothing delivered to the guest");
}

// The local APIC timer fires the notification vector while the guest runs (or halts).
static void test_while_running(struct vmx_vcpu* v, bool halted) {
  setup(v, guest_wait);
  halt_wait = halted;
  post(0x66);
  desc[4] |= 1;
  apic_write(0x3E0, 0xB);     // divide by 1
  apic_write(0x320, PINV);    // LVT timer: one-shot, the notification vector
  apic_write(0x380, 20000);   // initial count
  uint64_t got = 0;
  uint32_t r = vmx_vcpu_run_guest(v, &got);
  apic_write(0x320, 1u << 16);  // masked
  apic_write(0x380, 0);
  const char* how = halted ? "timer while halted" : "timer while running";
  CHECK(r == VMX_EXIT_GUEST_SYNC, "%s: exit %u (%s)", how, r, vmx_exit_name(r));
  CHECK_EQ(got, 1, halted ? "posted vector wakes the halted guest" : "posted vector delivered while running");
  CHECK_EQ(log_vec[0], 0x66, "vector 66H");
  CHECK(!on_bit() && pir_empty(), "%s: ON and PIR cleared", how);
  CHECK(!apic_bit(APIC_ISR, PINV), "%s: notification retired at the local APIC", how);
}

// ON set but PIR empty: processed (ON cleared), RVI unchanged, nothing delivered.
static void test_empty_pir(struct vmx_vcpu* v) {
  setup(v, guest_idle);
  desc[4] |= 1;
  self_ipi(PINV);
  uint64_t got = 0;
  uint32_t r = vmx_vcpu_run_guest(v, &got);
  CHECK(r == VMX_EXIT_GUEST_SYNC, "empty PIR: exit %u (%s)", r, vmx_exit_name(r));
  CHECK_EQ(got, 0, "nothing delivered");
  CHECK(!on_bit(), "ON cleared");
  CHECK_EQ(vmx_read(VMCS_GUEST_INTR_STATUS), 0, "RVI unchanged");
  CHECK(!apic_bit(APIC_ISR, PINV) && !apic_bit(APIC_IRR, PINV), "notification retired");
}

int main(void) {
  vmx_enable();
  if (!vmx_allowed1(vmx_caps.pin, PIN_POSTED_INTERRUPTS) || !vmx_has_proc2(PROC2_VIRT_INTR_DELIVERY)) {
    rt_printf("vmx_posted: no posted-interrupt processing\n");
    return 1;
  }
  rt_outb(0x21, 0xFF);  // 8259 masked: only the local APIC interrupts
  rt_outb(0xA1, 0xFF);
  apic_write(0xF0, 0x100 | 0xFF);  // SVR: software enable, spurious vector FFH
  apic_write(0x80, 0);             // TPR 0
  vapic = vmx_alloc_page();
  desc = vmx_alloc_page();
  for (unsigned vec = 0x20; vec < 0x100; vec++)
    if (vec != 0x80 && vec != PINV && vec != VEC_OTHER) rt_set_handler(vec, vint_handler);
  struct vmx_vcpu v;
  vmx_vcpu_init(&v, guest_idle);
  test_pending_at_entry(&v);
  test_other_vector(&v);
  test_while_running(&v, false);
  test_while_running(&v, true);
  test_empty_pir(&v);
  return vmx_test_finish("vmx_posted");
}
