// The VMX round-trip benchmark of issue 5: a minimal hypervisor runs a 64-bit guest that
// executes CPUID N times (guest.asm). Every CPUID exits (SDM Vol. 3C 26.1.2); the
// hypervisor reads the exit reason and the instruction length, advances the guest RIP
// and resumes. N comes from the command line (nestsim --append N, QEMU -append N, the
// Bochs floppy's mkimg.py --append N), default VMX_CPUID_DEFAULT_N.
//
// Output (fixed width, so that runs with different N differ only in the loop):
//   vmx_cpuid: round trips 000000100000
//   vmx_cpuid: result matches (host 000000100000, guest 000000100000)
#include "rt.h"
#include "vmx.h"

#ifndef VMX_CPUID_DEFAULT_N
#define VMX_CPUID_DEFAULT_N 100000
#endif

void vmx_cpuid_guest(void);

static bool has_word(const char* s, const char* w) {
  for (; *s; s++) {
    const char* a = s;
    const char* b = w;
    while (*b && *a == *b) a++, b++;
    if (!*b && (*a == 0 || *a == ' ')) return true;
  }
  return false;
}

static uint64_t parse_n(const char* s) {
  uint64_t n = 0;
  bool any = false;
  for (; *s >= '0' && *s <= '9'; s++, any = true) n = n * 10 + (uint64_t)(*s - '0');
  return any ? n : VMX_CPUID_DEFAULT_N;
}

int main(void) {
  uint64_t n = parse_n(rt_cmdline_args());
  vmx_enable();
  struct vmx_vcpu v;
  vmx_vcpu_init(&v, vmx_cpuid_guest);
  v.regs.rbx = n;
  if (has_word(rt_cmdline_args(), "vpid")) {
    if (!vmx_has_proc2(PROC2_VPID)) {
      rt_printf("vmx_cpuid: FAIL, VPID asked for but not supported\n");
      return 1;
    }
    vmx_write(VMCS_PROC_CONTROLS2, vmx_read(VMCS_PROC_CONTROLS2) | PROC2_VPID);
    vmx_write(VMCS_VPID, 1);
    rt_printf("vmx_cpuid: VPID 1\n");
  }
  rt_printf("vmx_cpuid: iterations %012lu\n", n);

  uint64_t trips = 0;
  uint32_t reason;
  for (;;) {
    int r = vmx_enter(&v, v.launched);
    if (r != VMX_SUCCEED) {
      rt_printf("vmx_cpuid: FAIL, VM entry failed (status %d, error %u)\n", r, vmx_insn_error());
      return 1;
    }
    v.launched = true;
    reason = (uint32_t)vmx_read(VMCS_EXIT_REASON);
    if (reason != EXIT_REASON_CPUID) break;
    vmx_write(VMCS_GUEST_RIP, vmx_read(VMCS_GUEST_RIP) + vmx_read(VMCS_EXIT_INSN_LEN));
    trips++;
  }
  rt_printf("vmx_cpuid: round trips %012lu\n", trips);
  if (reason != EXIT_REASON_VMCALL || v.regs.rax != VMX_HC_DONE) {
    rt_printf("vmx_cpuid: FAIL, unexpected exit %u (%s) at guest RIP %lx\n", reason,
              vmx_exit_name(reason), vmx_read(VMCS_GUEST_RIP));
    return 1;
  }
  if (trips != n || v.regs.r12 != n) {
    rt_printf("vmx_cpuid: FAIL, %lu round trips and %lu guest CPUIDs, expected %lu\n", trips,
              v.regs.r12, n);
    return 1;
  }
  rt_printf("vmx_cpuid: result matches (host %012lu, guest %012lu)\n", trips, v.regs.r12);
  vmx_disable();
  return 0;
}
