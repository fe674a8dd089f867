// libFuzzer target: random VMX programs (tests/vmx/vmx_random.h). The input chooses the
// VMCS (a valid 64-bit, 32-bit or real-mode baseline with controls inside and outside
// the allowed settings and any field mutated to any value), the EPT tables, bitmaps, MSR
// lists and shadow VMCS, random VMX instructions of the host before VMLAUNCH and in its
// exit handler (which resumes a bounded number of times), and the guest's code.
// Every run must end in an architectural stop; the sanitizers and the guard pages around
// guest RAM (mmu/phys_mem.cpp) catch the rest. docs/FUZZING.md says how to run it.
#include <cstdio>
#include <cstdlib>

#include "tests/vmx/vmx_random.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static sim::Machine* m = [] {
    sim::MachineConfig cfg;
    cfg.ram_bytes = vmxrand::kRam;
    cfg.serial_out = std::fopen("/dev/null", "w");
    return new sim::Machine(cfg);
  }();
  sim::RunResult r = vmxrand::run(*m, data, size);
  // kNone or kError would be a simulator bug, not a guest outcome.
  if (r.reason == sim::StopReason::kNone || r.reason == sim::StopReason::kError) {
    std::fprintf(stderr, "fuzz_vmx: run ended with %s: %s\n", sim::stop_reason_name(r.reason),
                 r.message.c_str());
    std::abort();
  }
  // Non-root operation always has a current VMCS (vmx/vmx.h).
  if (m->cpu().vmx.mode == isa::VmxMode::kNonRoot && !m->vmx().current()) {
    std::fprintf(stderr, "fuzz_vmx: non-root operation without a current VMCS\n");
    std::abort();
  }
  return 0;
}
