// Check macros shared by the VMX test kernels: a failed check prints its location and
// message and is counted; vmx_test_finish prints "<name>: all checks passed" and exits 0,
// or the failure count and exits 1.
#pragma once
#include "rt.h"
#include "trap.h"
#include "vmx.h"

extern unsigned vmx_test_failures, vmx_test_checks;

#define CHECK(cond, ...)                                            \
  do {                                                              \
    vmx_test_checks++;                                              \
    if (!(cond)) {                                                  \
      rt_printf("FAIL %s:%d: ", __FILE_NAME__, __LINE__);           \
      rt_printf(__VA_ARGS__);                                       \
      rt_printf("\n");                                              \
      vmx_test_failures++;                                          \
    }                                                               \
  } while (0)
#define CHECK_EQ(a, b, what)                                                              \
  do {                                                                                    \
    uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                                      \
    CHECK(a_ == b_, "%s: got 0x%lx, expected 0x%lx", what, a_, b_);                       \
  } while (0)
// An instruction's outcome: status, and for VMfailValid the VM-instruction error.
#define CHECK_STATUS(expr, status, error, what)                                         \
  do {                                                                                  \
    enum vmx_status s_ = (expr);                                                        \
    uint32_t e_ = s_ == VMX_FAIL_VALID ? vmx_insn_error() : 0;                          \
    CHECK(s_ == (status) && e_ == (uint32_t)(error),                                    \
          "%s: got %s(%u), expected %s(%u)", what, vmx_status_name(s_), e_,             \
          vmx_status_name(status), (unsigned)(error));                                  \
  } while (0)

static inline const char* vmx_status_name(enum vmx_status s) {
  return s == VMX_SUCCEED ? "VMsucceed" : s == VMX_FAIL_INVALID ? "VMfailInvalid" : "VMfailValid";
}

// MAXPHYADDR (CPUID.80000008H:EAX[7:0]).
static inline unsigned vmx_test_maxphyaddr(void) {
  uint32_t r[4];
  rt_cpuid(0x80000000u, 0, r);
  if (r[0] < 0x80000008u) return 36;
  rt_cpuid(0x80000008u, 0, r);
  return r[0] & 0xFF;
}

// Bochs with port_e9_hack reads 0xE9 from port 0xE9 (elsewhere an unassigned port reads
// all-ones): used to skip the few checks where Bochs 2.7 panics instead of following the
// SDM (each skip says so).
static inline bool vmx_test_on_bochs(void) { return rt_inb(0xE9) == 0xE9; }
#define SKIP_ON_BOCHS(what)                                                \
  (vmx_test_on_bochs() ? (rt_printf("skipped on Bochs: %s\n", what), true) : false)

int vmx_test_finish(const char* name);

// Turns the current VMCS's 64-bit guest into one without IA-32e mode or paging (SDM Vol.
// 3C 26.3.1.1: PE and PG may be 0 under "unrestricted guest", which the caller sets with
// EPT): real mode with CS base = code and IP = 0, or flat 32-bit protected mode at EIP =
// code (CS 18H, SS/DS/ES 10H); a 4 KiB stack of its own.
void vmx_test_legacy_guest(bool real, uint64_t code);
