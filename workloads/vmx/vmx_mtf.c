// The monitor trap flag (SDM Vol. 3C 25.5.2, 26.5.2, 26.7; exit reason 37): MTF exits
// after an instruction, after the delivery of a fault it raised (at the handler's first
// instruction), after INT n (at the handler), after an event injected by VM entry
// (before the first guest instruction), from the HLT state after HLT, after each
// iteration of a REP string instruction, before a pending single-step trap (which stays
// pending, saved in the pending-debug-exceptions field, and is delivered at the next
// entry, followed by an MTF exit at its handler), and for a pending MTF exit injected
// at VM entry (type 7) without the control. An instruction that exits has no MTF exit.
#include "vmx_test.h"

void g_nops(void), g_ud(void), g_int(void), g_hlt(void), g_rep(void), g_tf(void), g_cpuid(void);
void g_watch(void), h_ud(void), h_db(void), h_int(void);
extern char a_nop2[], a_after_hlt[], a_rep[], a_rep_end[], a_tf2[], a_after_cpuid[], a_write[],
    a_after_write[];
__asm__(".pushsection .text\n"
        ".globl g_nops, a_nop2, g_ud, g_int, g_hlt, a_after_hlt, g_rep, a_rep, a_rep_end\n"
        ".globl g_tf, a_tf2, g_cpuid, a_after_cpuid, h_ud, h_db, h_int\n"
        ".globl g_watch, a_write, a_after_write\n"
        "g_watch:\n  mov %rdi, %dr0\na_write:\n  movb $1, (%rdi)\na_after_write:\n  nop\n  vmcall\n"
        "g_nops:\n  nop\na_nop2:\n  nop\n  vmcall\n"
        "g_ud:\n  ud2\n"
        "g_int:\n  int $0x40\n  vmcall\n"
        "g_hlt:\n  hlt\na_after_hlt:\n  vmcall\n"
        "g_rep:\n  mov $3, %ecx\na_rep:\n  rep stosb\na_rep_end:\n  vmcall\n"
        "g_tf:\n  nop\na_tf2:\n  nop\n  vmcall\n"
        "g_cpuid:\n  cpuid\na_after_cpuid:\n  nop\n  vmcall\n"
        "h_ud:\n  vmcall\n"
        "h_db:\n  vmcall\n"
        "h_int:\n  vmcall\n"
        ".popsection\n");

enum { VEC_DB = 1, VEC_UD = 6, VEC_INT = 0x40 };
static uint64_t* idt;  // the guest's IDT: #DB, #UD and 40H
static uint8_t rep_buffer[16];

static void set_gate(unsigned vec, void (*fn)(void)) {
  uint16_t cs;
  __asm__ volatile("mov %%cs, %0" : "=r"(cs));
  const uint64_t h = (uint64_t)fn;
  idt[2 * vec] = (h & 0xFFFF) | ((uint64_t)cs << 16) | (0x8Eull << 40) | ((h >> 16 & 0xFFFF) << 48);
  idt[2 * vec + 1] = h >> 32;
}

// A guest at `code` on the guest IDT, with the monitor trap flag when `mtf`.
static void start(struct vmx_vcpu* v, void (*code)(void), bool mtf) {
  vmx_vcpu_init_on(v, v->vmcs, code);
  if (mtf) vmx_set_bits(VMCS_PROC_CONTROLS, PROC_MTF, 0);
  vmx_write(VMCS_GUEST_IDTR_BASE, (uint64_t)idt);
  vmx_write(VMCS_GUEST_IDTR_LIMIT, 0xFFF);
}

// Runs the guest to its next exit and checks that it is an MTF exit at `rip`.
static bool mtf_at(struct vmx_vcpu* v, const char* what, const void* rip) {
  uint32_t r = vmx_vcpu_run(v);
  CHECK(r == EXIT_REASON_MTF, "%s: exit %u (%s), expected MTF", what, r, vmx_exit_name(r));
  if (r != EXIT_REASON_MTF) return false;
  CHECK_EQ(vmx_read(VMCS_GUEST_RIP), (uint64_t)rip, what);
  CHECK_EQ(vmx_read(VMCS_EXIT_QUALIFICATION), 0, "MTF exit qualification");
  return true;
}

static void report(const char* what, unsigned before) {
  rt_printf("vmx_mtf: %-52s %s\n", what, vmx_test_failures == before ? "pass" : "FAIL");
}

static void test_basic(struct vmx_vcpu* v) {
  unsigned before = vmx_test_failures;
  start(v, g_nops, true);
  if (mtf_at(v, "after one instruction", a_nop2)) mtf_at(v, "after the next one", a_nop2 + 1);
  // An instruction that exits has no MTF exit; the one after it does.
  start(v, g_cpuid, true);
  uint32_t r = vmx_vcpu_run(v);
  CHECK(r == EXIT_REASON_CPUID, "CPUID with MTF: exit %u (%s)", r, vmx_exit_name(r));
  vmx_skip_insn();
  mtf_at(v, "after the instruction following an exit", a_after_cpuid + 1);
  report("after each instruction, none after an exit", before);
}

static void test_fault_and_int(struct vmx_vcpu* v) {
  unsigned before = vmx_test_failures;
  start(v, g_ud, true);
  mtf_at(v, "#UD delivered: MTF at the handler", h_ud);
  start(v, g_int, true);
  mtf_at(v, "INT 40H: MTF at the handler", h_int);
  report("after a delivered fault and after INT n", before);
}

// 25.5.2: with the control and an injected event, the MTF exit is pending before the
// first instruction (after the delivery); type 7 (pending MTF) needs no control.
static void test_injection(struct vmx_vcpu* v) {
  unsigned before = vmx_test_failures;
  start(v, g_nops, true);
  vmx_write(VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | VEC_UD);
  mtf_at(v, "injected #UD: MTF at the handler", h_ud);
  start(v, g_nops, true);
  vmx_write(VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_EXT_INTR | VEC_INT);
  vmx_write(VMCS_GUEST_RFLAGS, 0x202);
  mtf_at(v, "injected interrupt: MTF at the handler", h_int);
  start(v, g_nops, false);
  vmx_write(VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_OTHER);
  if (mtf_at(v, "pending MTF injected (type 7): before the first instruction", g_nops)) {
    uint64_t arg;
    uint32_t r = vmx_vcpu_run_guest(v, &arg);
    CHECK(r == EXIT_REASON_VMCALL, "type 7 without the control: no more MTF exits (exit %u, %s)", r,
          vmx_exit_name(r));
  }
  report("after injected events, pending MTF injection", before);
}

// 25.5.2: after HLT the MTF exit is taken from the HLT state, which is saved.
static void test_hlt(struct vmx_vcpu* v) {
  unsigned before = vmx_test_failures;
  start(v, g_hlt, true);
  if (mtf_at(v, "HLT: MTF after it", a_after_hlt))
    CHECK_EQ(vmx_read(VMCS_GUEST_ACTIVITY_STATE), ACTIVITY_HLT, "HLT: activity state saved as HLT");
  report("from the HLT state", before);
}

// 25.5.2: a REP string instruction exits after each iteration (RIP stays on it until
// the last, RCX counts down).
static void test_rep(struct vmx_vcpu* v) {
  unsigned before = vmx_test_failures;
  start(v, g_rep, true);
  v->regs.rdi = (uint64_t)rep_buffer;
  mtf_at(v, "MOV before REP STOSB", a_rep);
  for (int left = 2; left >= 0; left--) {
    if (!mtf_at(v, "REP STOSB iteration", left ? (const void*)a_rep : (const void*)a_rep_end)) break;
    CHECK_EQ(v->regs.rcx, left, "REP STOSB: RCX after the iteration");
    CHECK_EQ(v->regs.rdi, (uint64_t)rep_buffer + 3 - left, "REP STOSB: RDI after the iteration");
  }
  report("after each iteration of REP STOSB", before);
}

// MTF exits have priority over debug traps (25.5.2): with RFLAGS.TF the single-step
// trap stays pending (BS in the pending-debug-exceptions field); at the next entry it
// is delivered, and an MTF exit follows at the #DB handler.
static void test_single_step(struct vmx_vcpu* v) {
  unsigned before = vmx_test_failures;
  start(v, g_tf, true);
  vmx_write(VMCS_GUEST_RFLAGS, 0x102);
  if (mtf_at(v, "TF and MTF: MTF first", a_tf2)) {
    CHECK_EQ(vmx_read(VMCS_GUEST_PENDING_DBG), 1u << 14, "single-step trap pending (BS)");
    mtf_at(v, "pending #DB delivered at entry: MTF at the handler", h_db);
  }
  // The same priority for a pending MTF exit injected with pending debug exceptions.
  start(v, g_nops, false);
  vmx_write(VMCS_GUEST_RFLAGS, 0x102);
  vmx_write(VMCS_GUEST_PENDING_DBG, 1u << 14);
  vmx_write(VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_OTHER);
  if (mtf_at(v, "type 7 with a pending #DB: MTF first", g_nops))
    CHECK_EQ(vmx_read(VMCS_GUEST_PENDING_DBG), 1u << 14, "the #DB stays pending");
  // A data breakpoint (DR0, write, enabled in the guest's DR7 by VM entry): its trap
  // stays pending behind the MTF exit, saved as B0 with "enabled breakpoint" (27.3.4).
  start(v, g_watch, true);
  vmx_set_bits(VMCS_ENTRY_CONTROLS, ENTRY_LOAD_DEBUG, 0);
  vmx_write(VMCS_GUEST_DR7, 0x400 | 1u | (1u << 16));  // L0, R/W0 = 01 (writes), LEN0 = 1 byte
  v->regs.rdi = (uint64_t)rep_buffer;
  mtf_at(v, "MOV to DR0", a_write);
  if (mtf_at(v, "data breakpoint and MTF: MTF first", a_after_write))
    CHECK_EQ(vmx_read(VMCS_GUEST_PENDING_DBG), 1u | (1u << 12), "data breakpoint pending (B0, enabled breakpoint)");
  mtf_at(v, "pending data-breakpoint #DB delivered at entry: MTF at the handler", h_db);
  report("before pending debug traps", before);
}

int main(void) {
  vmx_enable();
  if (!vmx_allowed1(vmx_caps.proc, PROC_MTF)) {
    rt_printf("vmx_mtf: the CPU has no monitor trap flag: nothing to check\n");
    return vmx_test_finish("vmx_mtf");
  }
  idt = vmx_alloc_page();
  set_gate(VEC_DB, h_db);
  set_gate(VEC_UD, h_ud);
  set_gate(VEC_INT, h_int);
  struct vmx_vcpu v;
  vmx_vcpu_init(&v, g_nops);
  test_basic(&v);
  test_fault_and_int(&v);
  test_injection(&v);
  test_hlt(&v);
  test_rep(&v);
  test_single_step(&v);
  return vmx_test_finish("vmx_mtf");
}
