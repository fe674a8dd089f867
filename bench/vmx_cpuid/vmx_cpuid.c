// The VMX round-trip benchmark of issue 5: a minimal hypervisor runs a 64-bit guest that
// executes CPUID N times (guest.asm). Every CPUID exits (SDM Vol. 3C 26.1.2); the
// hypervisor reads the exit reason and the instruction length, advances the guest RIP
// and resumes. N comes from the command line (nestsim --append N, QEMU -append N, the
// Bochs floppy's mkimg.py --append N), default VMX_CPUID_DEFAULT_N. Further words:
//   minimal  the exit loop in assembly (minimal.asm, 11 instructions per round trip);
//            by default it is C over the hypervisor library (vmx_enter: all guest GPRs
//            switched, every VMREAD/VMWRITE checked; ~110 instructions per round trip)
//   vpid     the guest runs with VPID 1
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

// The "minimal" variant (minimal.asm): the exit loop in assembly, GPRs not switched.
struct minimal_result {
  uint64_t reason;     // the exit that ended the loop
  uint64_t guest_r12;  // the guest's CPUIDs
  uint64_t status;     // 0, or 1/2: VMfailInvalid/VMfailValid of an entry
};
uint64_t vmx_cpuid_minimal(uint64_t n, struct minimal_result* out);

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

// The library variant (default): the loop in C over the hypervisor library, which
// switches all guest GPRs on every entry and exit (vmx_enter) and checks every VMREAD
// and VMWRITE. Returns the round trips, or ~0 after a failed entry.
static uint64_t vmx_cpuid_library(struct vmx_vcpu* v, uint32_t* reason) {
  uint64_t trips = 0;
  for (;;) {
    int r = vmx_enter(v, v->launched);
    if (r != VMX_SUCCEED) {
      rt_printf("vmx_cpuid: FAIL, VM entry failed (status %d, error %u)\n", r, vmx_insn_error());
      return ~0ull;
    }
    v->launched = true;
    *reason = (uint32_t)vmx_read(VMCS_EXIT_REASON);
    if (*reason != EXIT_REASON_CPUID) return trips;
    vmx_write(VMCS_GUEST_RIP, vmx_read(VMCS_GUEST_RIP) + vmx_read(VMCS_EXIT_INSN_LEN));
    trips++;
  }
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
  if (has_word(rt_cmdline_args(), "minimal")) {
    rt_printf("vmx_cpuid: minimal hypervisor\n");
    struct minimal_result res;
    trips = vmx_cpuid_minimal(n, &res);
    if (res.status) {
      rt_printf("vmx_cpuid: FAIL, VM entry failed (status %lu, error %u)\n", res.status,
                vmx_insn_error());
      return 1;
    }
    reason = (uint32_t)res.reason;
    v.regs.r12 = res.guest_r12;
    v.regs.rax = VMX_HC_DONE;  // the guest's VMCALL; its RAX is not saved by this loop
  } else {
    trips = vmx_cpuid_library(&v, &reason);
    if (trips == ~0ull) return 1;
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
