// An exception nobody expects is reported by the runtime's handler (vector, error code,
// CS:RIP, RSP, CR2) and ends the run with RT_EXIT_EXCEPTION (status 5): here a #PF from
// a write to a non-present page, and the stack is deliberately not used afterwards.
#include "rt.h"

int main(void) {
  rt_printf("rt_fault: writing to linear 0x0000700000000000 (not mapped)\n");
  *(volatile uint64_t*)0x0000700000000000ull = 1;
  rt_printf("rt_fault: still running after a page fault\n");
  return 0;
}
