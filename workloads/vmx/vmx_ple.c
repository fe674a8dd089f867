// PAUSE-loop exiting (SDM Vol. 3C 25.1.3, secondary control bit 10, fields PLE_Gap 4020H
// and PLE_Window 4022H): at CPL 0 a PAUSE more than PLE_Gap after the previous one (or
// the first since VM entry) starts a loop, and a PAUSE more than PLE_Window after the
// start of its loop exits (reason 40, fault-like, qualification 0). Time runs at the
// TSC's rate. Cases: a tight loop exits after about the window and, resumed on the
// same PAUSE, runs on (VM entry starts a new loop); PAUSEs further apart than the gap
// never exit; at CPL 3 PAUSE-loop exiting does not apply; "PAUSE exiting" takes
// priority at CPL 0 and applies at CPL 3.
#include "paging.h"
#include "vmx_test.h"

// g_pause_loop: RCX PAUSEs back to back (RCX counts down; the TSC at the start in R8),
// then VMCALL. g_pause_gaps: RCX PAUSEs, each after RSI TSC ticks without a PAUSE.
void g_pause_loop(void);
void g_pause_gaps(void);
extern char a_loop_pause[], a_loop_end[], a_gaps_end[];
__asm__(".pushsection .text\n"
        ".globl g_pause_loop, a_loop_pause, a_loop_end, g_pause_gaps, a_gaps_end\n"
        "g_pause_loop:\n"
        "  rdtsc\n  shl $32, %rdx\n  or %rdx, %rax\n  mov %rax, %r8\n"
        "a_loop_pause:\n"
        "  pause\n  dec %rcx\n  jnz a_loop_pause\n"
        "a_loop_end:\n"
        "  vmcall\n"
        "g_pause_gaps:\n"
        "1: rdtsc\n  shl $32, %rdx\n  or %rdx, %rax\n  mov %rax, %r9\n"
        "2: rdtsc\n  shl $32, %rdx\n  or %rdx, %rax\n  sub %r9, %rax\n  cmp %rsi, %rax\n  jb 2b\n"
        "  pause\n  dec %rcx\n  jnz 1b\n"
        "a_gaps_end:\n"
        "  vmcall\n"
        ".popsection\n");

static inline uint64_t rdtsc(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}

enum { kWindow = 20000, kLoops = 2000000 };

static void setup(struct vmx_vcpu* v, void (*code)(void), uint32_t proc, uint32_t proc2,
                  uint32_t gap, uint32_t window) {
  vmx_vcpu_init_on(v, v->vmcs, code);
  vmx_set_bits(VMCS_PROC_CONTROLS, proc, 0);
  if (proc2) vmx_set_bits(VMCS_PROC_CONTROLS2, proc2, 0);
  if (vmx_has_proc2(PROC2_PAUSE_LOOP_EXITING)) {
    vmx_write(VMCS_PLE_GAP, gap);
    vmx_write(VMCS_PLE_WINDOW, window);
  }
}

// A tight loop at CPL 0: exits at a PAUSE once the loop has lasted longer than the
// window; the gap (large) never splits it.
static void test_tight_loop(struct vmx_vcpu* v) {
  unsigned before = vmx_test_failures;
  setup(v, g_pause_loop, 0, PROC2_PAUSE_LOOP_EXITING, 1000000, kWindow);
  v->regs.rcx = kLoops;
  uint32_t r = vmx_vcpu_run(v);
  uint64_t now = rdtsc();
  CHECK(r == EXIT_REASON_PAUSE, "tight loop: exit %u (%s), expected PAUSE", r, vmx_exit_name(r));
  if (r == EXIT_REASON_PAUSE) {
    CHECK_EQ(vmx_read(VMCS_GUEST_RIP), (uint64_t)a_loop_pause, "PLE exit: RIP at the PAUSE");
    CHECK_EQ(vmx_read(VMCS_EXIT_INSN_LEN), 2, "PLE exit: instruction length");
    CHECK_EQ(vmx_read(VMCS_EXIT_QUALIFICATION), 0, "PLE exit: qualification");
    uint64_t done = kLoops - v->regs.rcx, elapsed = now - v->regs.r8;
    CHECK(done > 1 && v->regs.rcx > 0, "PLE exit: after %lu PAUSEs of %u", done, kLoops);
    // The loop lasted longer than the window, and not much longer.
    CHECK(elapsed > kWindow && elapsed < 4 * kWindow + 100000,
          "PLE exit: %lu TSC ticks after the loop began (window %u)", elapsed, kWindow);
    rt_printf("vmx_ple: tight loop exits after %lu PAUSEs, %lu ticks (window %u)\n", done,
              elapsed, kWindow);
    // Resumed on the same PAUSE: the first PAUSE after VM entry starts a new loop (the
    // gap is larger than the time spent in the hypervisor), so the guest runs on and
    // exits again about a window later.
    uint64_t left = v->regs.rcx;
    r = vmx_vcpu_run(v);
    CHECK(r == EXIT_REASON_PAUSE, "resumed loop: exit %u (%s)", r, vmx_exit_name(r));
    if (r == EXIT_REASON_PAUSE)
      CHECK(left - v->regs.rcx > 1, "resumed loop: %lu PAUSEs before the next exit",
            left - v->regs.rcx);
  }
  rt_printf("vmx_ple: tight loop at CPL 0 %s\n", vmx_test_failures == before ? "pass" : "FAIL");
}

// PAUSEs further apart than the gap: each starts a new loop, none exits, though the
// whole run lasts many windows.
static void test_gaps(struct vmx_vcpu* v) {
  unsigned before = vmx_test_failures;
  const uint32_t gap = 500;
  setup(v, g_pause_gaps, 0, PROC2_PAUSE_LOOP_EXITING, gap, 2000);
  v->regs.rcx = 200;
  v->regs.rsi = 4 * gap;
  uint32_t r = vmx_vcpu_run(v);
  CHECK(r == EXIT_REASON_VMCALL, "PAUSEs apart by more than the gap: exit %u (%s), expected VMCALL",
        r, vmx_exit_name(r));
  if (r == EXIT_REASON_VMCALL) CHECK_EQ(vmx_read(VMCS_GUEST_RIP), (uint64_t)a_gaps_end, "gaps: all PAUSEs ran");
  rt_printf("vmx_ple: PAUSEs apart by more than the gap %s\n", vmx_test_failures == before ? "pass" : "FAIL");
}

// "PAUSE exiting" wins at CPL 0: the first PAUSE exits.
static void test_pause_exiting(struct vmx_vcpu* v) {
  unsigned before = vmx_test_failures;
  setup(v, g_pause_loop, PROC_PAUSE_EXITING, PROC2_PAUSE_LOOP_EXITING, 1000000, 1000000);
  v->regs.rcx = 100;
  uint32_t r = vmx_vcpu_run(v);
  CHECK(r == EXIT_REASON_PAUSE, "PAUSE exiting with PLE: exit %u (%s)", r, vmx_exit_name(r));
  if (r == EXIT_REASON_PAUSE) {
    CHECK_EQ(v->regs.rcx, 100, "PAUSE exiting: the first PAUSE exits");
    CHECK_EQ(vmx_read(VMCS_GUEST_RIP), (uint64_t)a_loop_pause, "PAUSE exiting: RIP");
  }
  rt_printf("vmx_ple: PAUSE exiting takes priority %s\n", vmx_test_failures == before ? "pass" : "FAIL");
}

// The guest at CPL 3: 64-bit user code and stack selectors of the runtime's GDT, on page
// tables of its own that make everything user-accessible.
static uint64_t* user_tables(void) {
  static uint64_t* pml4;
  if (pml4) return pml4;
  pml4 = pt_new_root();
  const uint64_t size = 4ull << 30;
  pt_identity(pml4, size);
  for (uint64_t lin = 0; lin < size; lin += 2ull << 20)
    for (int level = 4; level >= 2; level--) *pt_entry(pml4, lin, level) |= PTE_U;
  return pml4;
}

static void to_cpl3(void) {
  const uint32_t flat = 0xFFFFFFFF;
  vmx_write(VMCS_GUEST_CR3, (uint64_t)user_tables());
  vmx_write(VMCS_GUEST_SEL(SEG_CS), 0x2B);
  vmx_write(VMCS_GUEST_AR(SEG_CS), 0xB | AR_S | (3u << AR_DPL_SHIFT) | AR_P | AR_L | AR_G);
  vmx_write(VMCS_GUEST_LIMIT(SEG_CS), flat);
  vmx_write(VMCS_GUEST_SEL(SEG_SS), 0x23);
  vmx_write(VMCS_GUEST_AR(SEG_SS), 0x3 | AR_S | (3u << AR_DPL_SHIFT) | AR_P | AR_DB | AR_G);
  vmx_write(VMCS_GUEST_LIMIT(SEG_SS), flat);
}

// At CPL 3 PAUSE-loop exiting is ignored (a loop of many windows runs to its end), and
// "PAUSE exiting" still exits.
static void test_cpl3(struct vmx_vcpu* v) {
  unsigned before = vmx_test_failures;
  setup(v, g_pause_loop, 0, PROC2_PAUSE_LOOP_EXITING, 1000000, 1000);
  to_cpl3();
  v->regs.rcx = 20000;
  uint32_t r = vmx_vcpu_run(v);
  CHECK(r == EXIT_REASON_VMCALL, "CPL 3 loop with PLE: exit %u (%s), expected VMCALL", r, vmx_exit_name(r));
  if (r == EXIT_REASON_VMCALL) {
    CHECK_EQ(vmx_read(VMCS_GUEST_RIP), (uint64_t)a_loop_end, "CPL 3: every PAUSE ran");
    CHECK_EQ(vmx_read(VMCS_GUEST_CS_SEL) & 3, 3, "CPL 3: guest CS RPL");
  }
  setup(v, g_pause_loop, PROC_PAUSE_EXITING, 0, 0, 0);
  to_cpl3();
  v->regs.rcx = 100;
  r = vmx_vcpu_run(v);
  CHECK(r == EXIT_REASON_PAUSE && v->regs.rcx == 100, "CPL 3 with PAUSE exiting: exit %u (%s), RCX %lu",
        r, vmx_exit_name(r), v->regs.rcx);
  rt_printf("vmx_ple: CPL 3 %s\n", vmx_test_failures == before ? "pass" : "FAIL");
}

int main(void) {
  vmx_enable();
  if (!vmx_has_proc2(PROC2_PAUSE_LOOP_EXITING)) {
    rt_printf("vmx_ple: the CPU has no PAUSE-loop exiting\n");
    return 1;
  }
  struct vmx_vcpu v;
  vmx_vcpu_init(&v, g_pause_loop);
  test_tight_loop(&v);
  test_gaps(&v);
  test_pause_exiting(&v);
  test_cpl3(&v);
  return vmx_test_finish("vmx_ple");
}
