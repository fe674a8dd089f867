// A stack that points at unmapped memory: the PUSH faults (#PF), the CPU cannot push the
// #PF frame on that stack either, so it delivers #DF (SDM Vol. 3A 6.15, "Interrupt 8"),
// which the runtime's IDT sends to its own IST1 stack: the run ends with the #DF report
// and RT_EXIT_EXCEPTION (status 5) instead of a triple fault.
#include "rt.h"

int main(void) {
  rt_printf("rt_double_fault: pushing onto a stack at 0x0000700000000000 (not mapped)\n");
  __asm__ volatile("mov $0x0000700000000000, %%rsp\n\tpush %%rax" ::: "memory");
  rt_printf("rt_double_fault: still running\n");
  return 0;
}
