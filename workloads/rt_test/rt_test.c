// Self-test of the workload runtime (lib/): formatting, memory functions, string
// instructions in both directions, the boot stub's machine state and the boot
// information. Exits 0 when every check passes.
#include "multiboot.h"
#include "rt.h"
#include "trap.h"

static int failures;

static void expect_str(const char* got, const char* want, int line) {
  if (strlen(got) != strlen(want) || memcmp(got, want, strlen(want)) != 0) {
    rt_printf("rt_test:%d: got \"%s\", want \"%s\"\n", line, got, want);
    ++failures;
  }
}

#define EXPECT_FMT(want, ...)                   \
  do {                                          \
    char buf_[64];                              \
    rt_snprintf(buf_, sizeof buf_, __VA_ARGS__); \
    expect_str(buf_, want, __LINE__);           \
  } while (0)

static void test_format(void) {
  EXPECT_FMT("0", "%d", 0);
  EXPECT_FMT("-42", "%d", -42);
  EXPECT_FMT("-2147483648", "%d", (int)0x80000000);
  EXPECT_FMT("-9223372036854775808", "%lld", (long long)(1ull << 63));
  EXPECT_FMT("18446744073709551615", "%llu", ~0ull);
  EXPECT_FMT("4294967295", "%u", ~0u);
  EXPECT_FMT("deadbeef DEADBEEF", "%x %X", 0xDEADBEEFu, 0xDEADBEEFu);
  EXPECT_FMT("ffffffffffffffff", "%lx", ~0ul);
  EXPECT_FMT("0x1000", "%p", (void*)0x1000);
  EXPECT_FMT("[   7][7   ][0007][-007][  -7]", "[%4d][%-4d][%04d][%04d][%4d]", 7, 7, 7, -7, -7);
  EXPECT_FMT("00000000cafe", "%012llx", 0xCAFEull);
  EXPECT_FMT("-1 255 65535", "%hhd %hhu %hu", 255, 255, 65535);
  const char* volatile null_str = 0;  // volatile: keep gcc's format checker out of it
  EXPECT_FMT("x|  ab|ab  |(null)", "%c|%4s|%-4s|%s", 'x', "ab", "ab", null_str);
  EXPECT_FMT("100%", "100%%");
  EXPECT_FMT("12345", "%zu", (size_t)12345);

  char small[5];
  int n = rt_snprintf(small, sizeof small, "%s", "truncated");
  RT_ASSERT(n == 9);
  expect_str(small, "trun", __LINE__);
}

static void test_memory(void) {
  static uint8_t a[300], b[300];
  for (int i = 0; i < 300; ++i) a[i] = (uint8_t)(i * 7);
  memcpy(b, a, sizeof a);
  RT_ASSERT(memcmp(a, b, sizeof a) == 0);
  b[299] ^= 1;
  RT_ASSERT(memcmp(a, b, sizeof a) != 0);
  // Overlapping moves in both directions (memmove uses DF=1 for the upward one).
  memmove(a + 10, a, 100);
  for (int i = 0; i < 100; ++i) RT_ASSERT(a[10 + i] == (uint8_t)(i * 7));
  memmove(b, b + 5, 50);
  for (int i = 0; i < 50; ++i) RT_ASSERT(b[i] == (uint8_t)((i + 5) * 7));
  memset(a, 0xA5, 17);
  for (int i = 0; i < 17; ++i) RT_ASSERT(a[i] == 0xA5);
  RT_ASSERT(a[17] == (uint8_t)(7 * 7));
  // DF must be clear again after memmove (SysV ABI).
  uint64_t flags;
  __asm__ volatile("pushfq; pop %0" : "=r"(flags));
  RT_ASSERT(!(flags & (1u << 10)));
  RT_ASSERT(strlen("") == 0 && strlen("abc") == 3);
}

// What lib/boot.asm and rt_start promise (see boot.asm's header).
static void test_boot_state(void) {
  uint64_t cr0 = rt_read_cr0(), cr4 = rt_read_cr4(), efer = rt_rdmsr(0xC0000080);
  RT_ASSERT((cr0 & 0x80010001u) == 0x80010001u);  // PG, WP, PE
  RT_ASSERT(cr4 & (1u << 5));                     // PAE
  RT_ASSERT((efer & 0x500) == 0x500);             // LME, LMA
  uint32_t r[4];
  rt_cpuid(0x80000001, 0, r);
  RT_ASSERT(!!(efer & (1u << 11)) == !!(r[3] & (1u << 20)));  // NXE iff CPUID says NX
  // Identity map: a few addresses read through it equal what we wrote through it.
  static volatile uint64_t probe = 0x1234;
  RT_ASSERT(*(volatile uint64_t*)(uintptr_t)&probe == 0x1234);
  struct __attribute__((packed)) { uint16_t limit; uint64_t base; } idtr, gdtr;
  __asm__ volatile("sidt %0; sgdt %1" : "=m"(idtr), "=m"(gdtr));
  RT_ASSERT(idtr.limit == 256 * 16 - 1);  // rt_trap_init ran
  RT_ASSERT(gdtr.limit == 8 * 8 - 1);
  uint16_t cs;
  __asm__ volatile("mov %%cs, %0" : "=r"(cs));
  RT_ASSERT(cs == 0x08);
  // 16-byte aligned stack at main's callees (SysV ABI).
  RT_ASSERT(((uintptr_t)__builtin_frame_address(0) & 15) == 0);
}

static volatile unsigned handler_calls;
static volatile uint64_t handler_vector;

static void count_handler(struct rt_frame* f) {
  handler_calls++;
  handler_vector = f->vector;
  f->rbx = 0xB0B;  // changes to the frame reach the interrupted code
}

// rt_set_handler: a software interrupt and a #BP go to the installed handler with the
// right vector, and IRETQ resumes after them with the frame's registers.
static void test_handlers(void) {
  rt_set_handler(0x41, count_handler);
  uint64_t rbx = 0;
  __asm__ volatile("int $0x41" : "+b"(rbx) : : "memory");
  RT_ASSERT(handler_calls == 1 && handler_vector == 0x41 && rbx == 0xB0B);
  rt_set_handler(3, count_handler);
  rbx = 0;
  __asm__ volatile("int3" : "+b"(rbx) : : "memory");
  RT_ASSERT(handler_calls == 2 && handler_vector == 3 && rbx == 0xB0B);
  rt_set_handler(3, 0);
  rt_set_handler(0x41, 0);
  // A probe still reports a fault once the handler is gone.
  uint64_t v;
  RT_ASSERT(rt_probe_read((void*)0x8000000000000000ull, &v) == 13);  // non-canonical: #GP
}

static void test_boot_info(void) {
  const struct mb_info* mb = rt_mbi();
  RT_ASSERT(mb != 0);
  RT_ASSERT(mb->flags & MB_INFO_MEMORY);
  RT_ASSERT(rt_mem_bytes() >= 2u << 20);
  // QEMU and nestsim pass "<image path> <append>": the first word is the image.
  const char* cl = rt_cmdline();
  RT_ASSERT(mb->flags & MB_INFO_CMDLINE ? cl[0] != 0 : cl[0] == 0);
  RT_ASSERT(rt_cmdline_args() >= cl && rt_cmdline_args() <= cl + strlen(cl));
  rt_printf("rt_test: %llu MiB usable, arguments \"%s\"\n",
            (unsigned long long)(rt_mem_bytes() >> 20), rt_cmdline_args());
  rt_report("rt_test.mem_mib", "%llu", (unsigned long long)(rt_mem_bytes() >> 20));
  rt_report("rt_test.nestsim", "%d", rt_on_nestsim());
}

int main(void) {
  test_format();
  test_memory();
  test_boot_state();
  test_boot_info();
  test_handlers();
  if (failures) {
    rt_printf("rt_test: %d failures\n", failures);
    return 1;
  }
  rt_printf("rt_test: all checks passed\n");
  return 0;
}
