// Hosted driver of a benchmark (see host_entry.asm): `NAME-host N` runs bench_run(N)
// natively and prints the result as 0x%016x. No libc: it is built with the kernel's
// flags and linked with -nostdlib, so bench_run is the very same object code.
#include <stddef.h>
#include <stdint.h>

uint64_t bench_run(uint64_t n);

static long sys_write(int fd, const void* buf, size_t n) {
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(1), "D"(fd), "S"(buf), "d"(n)
                   : "rcx", "r11", "memory");
  return ret;
}

int host_main(int argc, char** argv) {
  if (argc != 2) {
    static const char kUsage[] = "usage: BENCH-host ITERATIONS\n";
    sys_write(2, kUsage, sizeof kUsage - 1);
    return 2;
  }
  uint64_t n = 0;
  for (const char* p = argv[1]; *p; ++p) {
    if (*p < '0' || *p > '9') return 2;
    n = n * 10 + (uint64_t)(*p - '0');
  }
  uint64_t r = bench_run(n);
  char out[19] = "0x";
  for (int i = 0; i < 16; ++i) out[2 + i] = "0123456789abcdef"[(r >> (60 - 4 * i)) & 15];
  out[18] = '\n';
  sys_write(1, out, sizeof out);
  return 0;
}
