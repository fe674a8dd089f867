// GDT, TSS, IDT and the exception handler of bare-metal tests. See trap.h.
#include "trap.h"

#include "rt.h"

volatile struct rt_fault rt_last_fault;

extern char rt_trap_stubs[], rt_trap_user_return[];
extern char rt_probe_read_insn[], rt_probe_write_insn[], rt_probe_fixup[], rt_probe_exec_fixup[];
extern char rt_user_blob_start[], rt_user_blob_fixup[], rt_user_blob_end[];
int rt_probe_exec_raw(const void* p);
int rt_user_enter(uint64_t rip, uint64_t rsp, int op, uint64_t lin);

static uint64_t gdt[8] __attribute__((aligned(16)));
static struct {
  uint64_t lo, hi;
} idt[256] __attribute__((aligned(16)));
static struct __attribute__((packed)) {
  uint32_t reserved0;
  uint64_t rsp[3];
  uint64_t reserved1;
  uint64_t ist[7];
  uint64_t reserved2;
  uint16_t reserved3, iomap_base;
} tss __attribute__((aligned(16)));
static uint8_t ring0_stack[16384] __attribute__((aligned(16)));
static uint8_t df_stack[4096] __attribute__((aligned(16)));  // IST1: #DF

static uint64_t exec_probe_target;
static rt_handler handlers[256];
static uint64_t user_code_lin, user_fixup_lin, user_stack_top;

// A 64-bit interrupt gate (SDM Vol. 3A 6.14.1, Figure 6-8): IF is cleared on entry.
static void set_gate(unsigned v, void* handler, unsigned dpl, unsigned ist) {
  uint64_t off = (uint64_t)handler;
  idt[v].lo = (off & 0xFFFF) | (0x08ull << 16) | ((uint64_t)ist << 32) |
              ((0x8Eull | (dpl << 5)) << 40) | (((off >> 16) & 0xFFFF) << 48);
  idt[v].hi = off >> 32;
}

void rt_trap_init(void) {
  gdt[1] = 0x00AF9A000000FFFFull;  // 0x08 kernel code64
  gdt[2] = 0x00CF92000000FFFFull;  // 0x10 kernel data
  gdt[3] = 0x00CFFA000000FFFFull;  // 0x18 user code32
  gdt[4] = 0x00CFF2000000FFFFull;  // 0x20 user data
  gdt[5] = 0x00AFFA000000FFFFull;  // 0x28 user code64
  uint64_t t = (uint64_t)&tss;
  gdt[6] = (sizeof tss - 1) | ((t & 0xFFFFFF) << 16) | (0x89ull << 40) | ((t >> 24 & 0xFF) << 56);
  gdt[7] = t >> 32;
  tss.rsp[0] = (uint64_t)(ring0_stack + sizeof ring0_stack);
  // #DF on its own stack (SDM Vol. 3A 6.14.5): a #PF from an overflowing stack cannot
  // push its frame, becomes #DF, and would triple-fault on the same stack.
  tss.ist[0] = (uint64_t)(df_stack + sizeof df_stack);
  tss.iomap_base = sizeof tss;  // no I/O bitmap: CPL 3 port I/O faults (IOPL = 0)
  for (unsigned v = 0; v < 256; v++) set_gate(v, rt_trap_stubs + 16 * v, 0, v == 8 ? 1 : 0);
  set_gate(0x80, rt_trap_user_return, 3, 0);

  struct __attribute__((packed)) {
    uint16_t limit;
    uint64_t base;
  } gdtr = {sizeof gdt - 1, (uint64_t)gdt}, idtr = {sizeof idt - 1, (uint64_t)idt};
  __asm__ volatile(
      "lgdt %0\n\t"
      "pushq $0x08\n\t"
      "leaq 1f(%%rip), %%rax\n\t"
      "pushq %%rax\n\t"
      "lretq\n"
      "1:\n\t"
      "movw $0x10, %%ax\n\t"
      "movw %%ax, %%ds\n\t"
      "movw %%ax, %%es\n\t"
      "movw %%ax, %%ss\n\t"
      "movw $0x30, %%ax\n\t"
      "ltr %%ax\n\t"
      "lidt %1"
      :
      : "m"(gdtr), "m"(idtr)
      : "rax", "memory");
}

// SDM Vol. 3A Table 6-1.
static const char* vector_name(uint64_t v) {
  static const char* const kNames[32] = {
      "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "coprocessor overrun",
      "#TS", "#NP", "#SS", "#GP", "#PF", "reserved", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP"};
  return v < 32 && kNames[v] ? kNames[v] : "reserved";
}

void rt_set_handler(unsigned vector, rt_handler fn) {
  if (vector < 256) handlers[vector] = fn;
}

void rt_trap_handle(struct rt_frame* f) {
  if (handlers[f->vector]) {
    handlers[f->vector](f);
    return;
  }
  rt_last_fault.vector = f->vector;
  rt_last_fault.error = f->error;
  rt_last_fault.rip = f->rip;
  rt_last_fault.cs = f->cs;
  rt_last_fault.cr2 = rt_read_cr2();
  rt_last_fault.count++;
  if ((f->cs & 3) == 3 && user_fixup_lin) {
    f->rip = user_fixup_lin;
    f->rax = f->vector;
    return;
  }
  if (f->rip == (uint64_t)rt_probe_read_insn || f->rip == (uint64_t)rt_probe_write_insn) {
    f->rip = (uint64_t)rt_probe_fixup;
    f->rax = f->vector;
    return;
  }
  if (exec_probe_target && f->rip == exec_probe_target) {
    f->rip = (uint64_t)rt_probe_exec_fixup;
    f->rax = f->vector;
    return;
  }
  // Not expected: report and end the run. A fault while reporting (a broken UART path,
  // a smashed stack) ends it at once.
  static bool reporting;
  if (reporting) rt_exit(RT_EXIT_EXCEPTION);
  reporting = true;
  if (f->vector >= 32)
    rt_printf("unexpected interrupt, vector %lu, at %lx:%lx rsp %lx\n", f->vector, f->cs,
              f->rip, f->rsp);
  else
    rt_printf("unexpected exception %lu (%s) error 0x%lx at %lx:%lx rsp %lx cr2 %lx\n",
              f->vector, vector_name(f->vector), f->error, f->cs, f->rip, f->rsp,
              rt_last_fault.cr2);
  rt_exit(RT_EXIT_EXCEPTION);
}

int rt_probe_exec(const void* p) {
  exec_probe_target = (uint64_t)p;
  int r = rt_probe_exec_raw(p);
  exec_probe_target = 0;
  return r;
}

void rt_user_init(void* code_page, uint64_t code_lin, uint64_t stack_lin) {
  memcpy(code_page, rt_user_blob_start, (size_t)(rt_user_blob_end - rt_user_blob_start));
  user_code_lin = code_lin;
  user_fixup_lin = code_lin + (uint64_t)(rt_user_blob_fixup - rt_user_blob_start);
  user_stack_top = stack_lin + 4096;
}

int rt_user_probe(int op, uint64_t lin) {
  return rt_user_enter(user_code_lin, user_stack_top, op, lin);
}
