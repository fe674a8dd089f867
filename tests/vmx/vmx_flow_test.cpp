// The VMX unit end to end on the machine: a 64-bit host written in assembly enables
// VMX, builds a VMCS with VMWRITE, launches a guest that runs CPUID in a loop, and
// resumes it after each exit. Checks the exit information, the statistics and the
// instruction outcomes the flow depends on.
#include <catch2/catch.hpp>

#include "tests/vmx/vmx_rig.h"

namespace {

using vmx::Field;

using namespace vmxrig;

const std::string kHost = std::string(kHostPrologue) + R"(
exit_handler:
  mov eax, 0x4402        ; VM_EXIT_REASON
  vmread rbx, rax
  cmp ebx, 10            ; CPUID
  jne fail
  inc r15
  mov eax, 0x440C        ; VM_EXIT_INSTRUCTION_LEN
  vmread rcx, rax
  mov eax, 0x681E        ; GUEST_RIP
  vmread rdx, rax
  add rdx, rcx
  vmwrite rax, rdx
  cmp r15, 1000
  je done
  vmresume
  jmp fail
guest:
  mov eax, 1
  cpuid
  jmp guest
done:
  mov r14, 0x600d
  hlt
fail:
  mov r14, 0xbad
  pushfq
  pop r13
  hlt
)" + kHostData;

void setup(systest::Rig& r) {
  r.m.reset_long_mode(kCode, kHostStack);
  load(r, baseline_fields(r.cpu(), r.m.vmx().caps(), r.cpu().cr3), kHost);
}

}  // namespace

TEST_CASE("VMX: a guest's CPUID exits 1000 times and resumes each time", "[vmx][flow]") {
  systest::Rig r;
  setup(r);
  r.run(200000);
  isa::Cpu& c = r.cpu();
  INFO("r13 (rflags at failure) = " << std::hex << c.r[isa::R13]);
  REQUIRE(c.r[isa::R14] == 0x600d);
  CHECK(c.r[isa::R15] == 1000);
  const vmx::VmxCounters& n = r.m.vmx().counters;
  CHECK(n.launches == 1);
  CHECK(n.entries == 1000);
  CHECK(n.exits == 1000);
  CHECK(n.by_reason[10].count == 1000);
  CHECK(n.by_vmcs.at({kVmcs, 10}).count == 1000);
  CHECK(c.vmx.mode == isa::VmxMode::kRoot);
}

TEST_CASE("VMX: VMXON needs CR4.VMXE (#UD) and IA32_FEATURE_CONTROL (#GP)", "[vmx][flow]") {
  systest::Rig r;
  r.m.reset_long_mode(kCode, kHostStack);
  r.w32(kVmxon, r.m.vmx().caps().revision_id);
  r.asm_at(kCode, "bits 64\norg 0x100000\nvmxon [rel p]\nhlt\np: dq 0x200000\n");
  // No IDT here: the exception ends in a shutdown that reports it as the first fault.
  sim::RunResult res = r.run(100);
  CHECK(res.reason == sim::StopReason::kShutdown);
  CHECK(res.fault.vector == isa::VEC_UD);  // CR4.VMXE = 0
  systest::Rig g;
  g.m.reset_long_mode(kCode, kHostStack);
  g.asm_at(kCode,
           "bits 64\norg 0x100000\nmov rax, cr4\nor rax, 0x2000\nmov cr4, rax\n"
           "vmxon [rel p]\nhlt\np: dq 0x200000\n");
  res = g.run(100);
  CHECK(res.fault.vector == isa::VEC_GP);  // IA32_FEATURE_CONTROL not locked
}
