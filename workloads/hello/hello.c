// The bundled demo: `nestsim run build/<preset>/workloads/hello.elf`.
// Prints a greeting, the CPU vendor and a small table computed with integer math
// (multiplies, divides, shifts, calls, loops), checks a few known values and exits 0.
#include "rt.h"

static uint64_t fib(unsigned n) {
  uint64_t a = 0, b = 1;
  for (unsigned i = 0; i < n; ++i) {
    uint64_t t = a + b;
    a = b;
    b = t;
  }
  return a;
}

// Integer square root by Newton's method: floor(sqrt(x)).
static uint64_t isqrt(uint64_t x) {
  if (x < 2) return x;
  uint64_t r = x, y = (x >> 1) + 1;
  while (y < r) {
    r = y;
    y = (r + x / r) >> 1;
  }
  return r;
}

static unsigned collatz_steps(uint64_t n) {
  unsigned steps = 0;
  while (n != 1) {
    n = (n & 1) ? 3 * n + 1 : n >> 1;
    ++steps;
  }
  return steps;
}

static unsigned count_primes_below(unsigned limit) {
  static uint8_t composite[10000];
  RT_ASSERT(limit <= sizeof composite);
  unsigned count = 0;
  for (unsigned i = 2; i < limit; ++i) {
    if (composite[i]) continue;
    ++count;
    for (unsigned j = i * i; j < limit; j += i) composite[j] = 1;
  }
  return count;
}

static void cpu_vendor(char out[13]) {
  uint32_t eax = 0, ebx, ecx, edx;
  __asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx));
  memcpy(out, &ebx, 4);
  memcpy(out + 4, &edx, 4);
  memcpy(out + 8, &ecx, 4);
  out[12] = 0;
}

int main(void) {
  char vendor[13];
  cpu_vendor(vendor);
  rt_printf("Hello from a bare-metal x86-64 kernel!\n");
  rt_printf("CPU vendor: %s\n\n", vendor);

  rt_printf("  n  %20s  %12s  %11s  %8s\n", "fib(n)", "n^3", "isqrt(1e6n)", "collatz");
  for (unsigned n = 1; n <= 90; n += n < 10 ? 1 : 16) {
    uint64_t cube = (uint64_t)n * n * n;
    rt_printf("%3u  %20llu  %12llu  %11llu  %8u\n", n, (unsigned long long)fib(n),
              (unsigned long long)cube, (unsigned long long)isqrt(1000000ull * n),
              collatz_steps(n));
  }

  unsigned primes = count_primes_below(10000);
  rt_printf("\nprimes below 10000: %u\n", primes);

  // Known values: a wrong answer is a simulator bug, and the run must say so.
  RT_ASSERT(fib(90) == 2880067194370816120ull);
  RT_ASSERT(isqrt(1000000ull * 2) == 1414);
  RT_ASSERT(collatz_steps(27) == 111);
  RT_ASSERT(primes == 1229);

  rt_printf("hello: all checks passed\n");
  return 0;
}
