// The VMX-preemption timer (SDM Vol. 3C 26.5.1 "VMX-Preemption Timer", 26.7.4, 27.5.1):
// it counts down by 1 every 2^X TSC ticks (X = IA32_VMX_MISC[4:0]) while the guest runs
// and exits (reason 52) when it reaches 0; with "save VMX-preemption timer value" the
// remaining count is saved at every exit and resumes from there, without it every entry
// starts from the field; a halted guest is woken by it (activity state saved HLT).
#include "vmx_test.h"

static unsigned rate;  // TSC ticks per timer tick = 1 << rate

static uint64_t rdtsc(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}

// Spins (long enough for any timer value used here) and then reports, so that a timer
// that never fires fails the check instead of hanging the run.
static void guest_spin(void) {
  for (uint64_t i = 0; i < (1u << 24); i++) __asm__ volatile("pause");
  vmx_guest_sync(0xDEAD);
}
// HLT with IF = 0: only an exit ends it; then RET (to the library's end of guest).
void guest_hlt(void);
__asm__(".pushsection .text\n"
        ".globl guest_hlt\n"
        "guest_hlt: hlt\n"
        "  ret\n"
        ".popsection\n");

// Reports 20 times, `gap` TSC ticks apart.
static volatile uint64_t gap;
static void guest_periodic(void) {
  for (int i = 0; i < 20; i++) {
    uint64_t t = rdtsc();
    while (rdtsc() - t < gap) __asm__ volatile("pause");
    vmx_guest_sync((uint64_t)i);
  }
}

static void timer_on(uint32_t value, bool save) {
  vmx_set_bits(VMCS_PIN_CONTROLS, PIN_PREEMPTION_TIMER, 0);
  vmx_set_bits(VMCS_EXIT_CONTROLS, save ? EXIT_SAVE_PREEMPTION_TIMER : 0,
               save ? 0 : EXIT_SAVE_PREEMPTION_TIMER);
  vmx_write(VMCS_PREEMPTION_TIMER_VALUE, value);
}

static void test_expiry(struct vmx_vcpu* v, bool save) {
  const uint32_t ticks = 1000;
  vmx_vcpu_init_on(v, v->vmcs, guest_spin);
  timer_on(ticks, save);
  uint64_t t0 = rdtsc();
  uint32_t r = vmx_vcpu_run(v);
  uint64_t dt = rdtsc() - t0;
  if (r == EXIT_REASON_VMCALL) r = VMX_EXIT_GUEST_SYNC;  // the spin ended: no timer exit
  CHECK(r == EXIT_REASON_PREEMPTION_TIMER, "spinning guest: exit %u (%s), expected 52", r,
        vmx_exit_name(r));
  // The timer ran for `ticks` timer ticks: at least (ticks - 1) << rate TSC ticks.
  uint64_t min = ((uint64_t)ticks - 1) << rate;
  CHECK(dt >= min, "timer expired after %lu TSC ticks, fewer than %lu", dt, min);
  CHECK_EQ(vmx_read(VMCS_EXIT_QUALIFICATION), 0, "timer exit qualification");
  if (save) CHECK_EQ(vmx_read(VMCS_PREEMPTION_TIMER_VALUE), 0, "saved timer value at expiry");
  else CHECK_EQ(vmx_read(VMCS_PREEMPTION_TIMER_VALUE), ticks, "timer field unchanged without save");
}

static void test_hlt(struct vmx_vcpu* v) {
  if (!(vmx_caps.misc & VMX_MISC_ACTIVITY_HLT)) {
    rt_printf("vmx_preemption: HLT activity state not supported: skipped\n");
    return;
  }
  vmx_vcpu_init_on(v, v->vmcs, guest_hlt);
  timer_on(500, vmx_allowed1(vmx_caps.exit, EXIT_SAVE_PREEMPTION_TIMER));
  uint32_t r = vmx_vcpu_run(v);
  CHECK(r == EXIT_REASON_PREEMPTION_TIMER, "halted guest: exit %u (%s), expected 52", r,
        vmx_exit_name(r));
  CHECK_EQ(vmx_read(VMCS_GUEST_ACTIVITY_STATE), ACTIVITY_HLT, "activity state saved as HLT");
  // The guest RIP is past the HLT (the instruction completed; 27.3.3 saves the state).
  CHECK_EQ(vmx_read(VMCS_GUEST_RIP), (uint64_t)guest_hlt + 1, "guest RIP after HLT");
}

// Without the save control every entry reloads the field: 20 reports, each within the
// timer's period, never expire. With it the count carries over and expires mid-way.
static void test_reload(struct vmx_vcpu* v, bool save) {
  uint32_t ticks = 4000;
  gap = ((uint64_t)ticks << rate) / 4;
  vmx_vcpu_init_on(v, v->vmcs, guest_periodic);
  timer_on(ticks, save);
  int reports = 0, timer_exits = 0;
  uint64_t last_saved = ticks;
  for (int i = 0; i < 40 && reports < 20; i++) {
    uint64_t arg;
    uint32_t r = vmx_vcpu_run_guest(v, &arg);
    if (r == VMX_EXIT_GUEST_SYNC) {
      reports++;
      if (save) {
        uint64_t now = vmx_read(VMCS_PREEMPTION_TIMER_VALUE);
        CHECK(now <= last_saved, "saved value %lu grew from %lu", now, last_saved);
        last_saved = now;
      }
    } else if (r == EXIT_REASON_PREEMPTION_TIMER) {
      timer_exits++;
      vmx_write(VMCS_PREEMPTION_TIMER_VALUE, ticks);  // rearm
      last_saved = ticks;
    } else {
      CHECK(false, "periodic guest: exit %u (%s)", r, vmx_exit_name(r));
      return;
    }
  }
  CHECK_EQ(reports, 20, "guest reports");
  if (save)
    CHECK(timer_exits >= 2, "with save: %d timer exits over 5 periods, expected at least 2", timer_exits);
  else
    CHECK_EQ(timer_exits, 0, "without save: timer exits (each entry reloads the field)");
}

int main(void) {
  vmx_enable();
  if (!vmx_allowed1(vmx_caps.pin, PIN_PREEMPTION_TIMER)) {
    rt_printf("vmx_preemption: the CPU has no VMX-preemption timer\n");
    return 1;
  }
  rate = VMX_MISC_PREEMPTION_RATE(vmx_caps.misc);
  bool can_save = vmx_allowed1(vmx_caps.exit, EXIT_SAVE_PREEMPTION_TIMER);
  rt_printf("vmx_preemption: rate %u (a tick every %u TSC ticks), save control %s\n", rate,
            1u << rate, can_save ? "yes" : "no");
  struct vmx_vcpu v;
  vmx_vcpu_init(&v, guest_spin);
  test_expiry(&v, false);
  if (can_save) test_expiry(&v, true);
  test_hlt(&v);
  test_reload(&v, false);
  if (can_save) test_reload(&v, true);
  return vmx_test_finish("vmx_preemption");
}
