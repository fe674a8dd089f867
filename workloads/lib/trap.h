// Exceptions, rings and probes for bare-metal tests (64-bit mode, CPL 0 at start).
//
// rt_start() calls rt_trap_init() before main, so every program has the runtime's own
// GDT, a 64-bit TSS (RSP0 on a runtime stack, IST1 on a separate stack for #DF so that
// a kernel stack overflow is still reported) and an IDT of 256 interrupt gates: every
// vector records the event and goes to its handler (rt_set_handler) or the default
// report, except vector 0x80 (DPL 3), which returns from ring 3 to the kernel
// (rt_user_probe). Calling rt_trap_init() again reloads the same tables and keeps the
// handlers.
//
// GDT: 0x08 kernel code64, 0x10 kernel data, 0x18 user code32, 0x20 user data,
//      0x28 user code64, 0x30 TSS (16 bytes). User selectors have RPL 3: 0x23, 0x2B.
//
// Faults are recoverable only inside the probes below: a probe returns -1 when the access
// completed and the vector when it faulted; rt_last_fault describes the last fault. A
// fault anywhere else prints the vector, error code, CS:RIP, RSP and CR2 on the serial
// port and ends the run with RT_EXIT_EXCEPTION (2; status 5); a fault while printing
// that ends it at once with the same value. An interrupt (vector 32-255) without a
// handler is reported and ends the run the same way.
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct rt_fault {
  uint64_t vector, error, rip, cs, cr2;
  uint64_t count;  // faults recorded since rt_trap_init
};
extern volatile struct rt_fault rt_last_fault;

void rt_trap_init(void);

// The register frame the common entry (trap_entry.asm) builds: pushed GPRs, then the
// vector and error code (0 for vectors without one, SDM Vol. 3A Table 6-1), then the
// CPU's frame. A handler may change it; IRETQ returns through it.
struct rt_frame {
  uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
  uint64_t vector, error, rip, cs, rflags, rsp, ss;
};
typedef void (*rt_handler)(struct rt_frame*);
// Runs fn for `vector` instead of the default report (NULL restores it); fn returns to
// the interrupted code (an interrupt handler sends its own EOI). For exceptions it runs
// before the probes' fix-ups. Vector 0x80 is taken by rt_user_probe's return gate.
void rt_set_handler(unsigned vector, rt_handler fn);
static inline void rt_sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void rt_cli(void) { __asm__ volatile("cli" ::: "memory"); }

// Supervisor probes (run at CPL 0): one access of 8 bytes at p (exec: a near CALL to p,
// which must hold a RET).
int rt_probe_read(const volatile void* p, uint64_t* out);
int rt_probe_write(volatile void* p, uint64_t v);
int rt_probe_exec(const void* p);

// User probes: the same accesses performed at CPL 3 by a small position-independent code
// blob that rt_user_init() copies to `code_page` (a page the caller maps user-accessible
// and executable at linear address `code_lin`), with its stack on `stack_lin` (user RW,
// 4 KiB, the stack top is stack_lin + 4096).
enum { RT_OP_READ = 0, RT_OP_WRITE = 1, RT_OP_EXEC = 2 };
void rt_user_init(void* code_page, uint64_t code_lin, uint64_t stack_lin);
int rt_user_probe(int op, uint64_t lin);

// Control registers and TLB instructions.
static inline uint64_t rt_read_cr0(void) {
  uint64_t v;
  __asm__ volatile("mov %%cr0, %0" : "=r"(v));
  return v;
}
static inline uint64_t rt_read_cr2(void) {
  uint64_t v;
  __asm__ volatile("mov %%cr2, %0" : "=r"(v));
  return v;
}
static inline uint64_t rt_read_cr3(void) {
  uint64_t v;
  __asm__ volatile("mov %%cr3, %0" : "=r"(v));
  return v;
}
static inline uint64_t rt_read_cr4(void) {
  uint64_t v;
  __asm__ volatile("mov %%cr4, %0" : "=r"(v));
  return v;
}
static inline void rt_write_cr0(uint64_t v) {
  __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}
static inline void rt_write_cr3(uint64_t v) {
  __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}
static inline void rt_write_cr4(uint64_t v) {
  __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}
static inline void rt_invlpg(const volatile void* p) {
  __asm__ volatile("invlpg (%0)" : : "r"(p) : "memory");
}
static inline void rt_invpcid(uint64_t type, uint64_t pcid, uint64_t lin) {
  struct { uint64_t pcid, lin; } d = {pcid, lin};
  __asm__ volatile("invpcid %0, %1" : : "m"(d), "r"(type) : "memory");
}
static inline void rt_stac(void) { __asm__ volatile("stac" ::: "memory", "cc"); }
static inline void rt_clac(void) { __asm__ volatile("clac" ::: "memory", "cc"); }
static inline uint64_t rt_rdmsr(uint32_t i) {
  uint32_t lo, hi;
  __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(i));
  return ((uint64_t)hi << 32) | lo;
}
static inline void rt_wrmsr(uint32_t i, uint64_t v) {
  __asm__ volatile("wrmsr" : : "c"(i), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}
static inline void rt_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
  __asm__ volatile("cpuid"
                   : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
                   : "a"(leaf), "c"(sub));
}

enum {
  RT_CR0_WP = 1u << 16,
  RT_CR4_PGE = 1u << 7, RT_CR4_PCIDE = 1u << 17, RT_CR4_SMEP = 1u << 20, RT_CR4_SMAP = 1u << 21,
  RT_PF_P = 1, RT_PF_W = 2, RT_PF_U = 4, RT_PF_RSVD = 8, RT_PF_I = 16,
};
