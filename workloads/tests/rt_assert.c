// A failing RT_ASSERT ends the run with RT_EXIT_ASSERT (status 3) after printing
// file:line and the expression. workload.rt_assert and workload.qemu_compat expect
// exactly that, on nestsim and on QEMU alike.
#include "rt.h"

int main(void) {
  volatile int two = 2;
  rt_printf("rt_assert: asserting something false\n");
  RT_ASSERT(two + two == 5);
  rt_printf("rt_assert: still running after a failed assert\n");
  return 0;
}
