// Self-test of the workload runtime (lib/): formatting, memory functions, string
// instructions in both directions. Exits 0 when every check passes.
#include "rt.h"

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

int main(void) {
  test_format();
  test_memory();
  if (failures) {
    rt_printf("rt_test: %d failures\n", failures);
    return 1;
  }
  rt_printf("rt_test: all checks passed\n");
  return 0;
}
