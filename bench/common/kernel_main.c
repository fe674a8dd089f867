// main() of every benchmark kernel: runs bench_run(BENCH_ITERS) once and reports.
//
// Output lines have a fixed width, so kernels built with different iteration counts
// retire nearly the same number of instructions outside bench_run (within a few dozen:
// digit loops and padding loops differ slightly); the peer harness (scripts/bench/)
// relies on that when it subtracts two runs.
//
// With BENCH_EXPECTED defined (the result of the same object code run natively on the
// host, computed at build time), the kernel checks its result and fails the run on a
// mismatch.
#include "rt.h"

#ifndef BENCH_NAME
#error "BENCH_NAME must be defined"
#endif
#ifndef BENCH_ITERS
#error "BENCH_ITERS must be defined"
#endif

uint64_t bench_run(uint64_t n);

int main(void) {
  rt_printf("bench %s: iterations %012llu\n", BENCH_NAME, (unsigned long long)BENCH_ITERS);
  uint64_t result = bench_run(BENCH_ITERS);
  rt_printf("bench %s: result 0x%016llx\n", BENCH_NAME, (unsigned long long)result);
#ifdef BENCH_EXPECTED
  if (result != (uint64_t)BENCH_EXPECTED) {
    rt_printf("bench %s: FAIL, the host computes 0x%016llx\n", BENCH_NAME,
              (unsigned long long)BENCH_EXPECTED);
    return 1;
  }
  rt_printf("bench %s: result matches the host\n", BENCH_NAME);
#endif
  return 0;
}
