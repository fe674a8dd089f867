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
)" + std::string(kAdvanceGuestRip) + R"(
  cmp r15, 1000
  je done
  vmresume
  jmp fail
guest:
  mov eax, 1
  cpuid
  jmp guest
)" + kHostEnds + kHostData;

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

// vm_entry skips the 26.2 checks while no control or host-state field of the VMCS
// changed since they last passed without reading memory (Vmcs::ctl_host_gen). A VMWRITE
// that breaks a host field must still fail the next VMRESUME, and a check that reads
// memory (VTPR against the TPR threshold, 26.2.1.1) is made again at every entry.
TEST_CASE("VMX: entry checks are made again after a VMWRITE and whenever they read memory",
          "[vmx][flow]") {
  constexpr uint64_t kVapic = 0x204000;
  const std::string host = std::string(kHostPrologue) + R"(
exit_handler:
  inc r15
)" + std::string(kAdvanceGuestRip) + R"(
  cmp r15, 1
  je .stage1
  cmp r15, 2
  je .stage2
  jmp done
.stage1:                 ; HOST_TR_SELECTOR = 0 (26.2.3): VMfailValid(8), then fixed
  mov eax, 0x0C0C
  xor ebx, ebx
  vmwrite rax, rbx
  vmresume
  jnz fail               ; VMfailValid sets ZF
  mov eax, 0x4400        ; VM_INSTRUCTION_ERROR
  vmread rbx, rax
  cmp ebx, 8
  jne fail
  mov eax, 0x0C0C
  mov ebx, 0x18
  vmwrite rax, rbx
  vmresume
  jmp fail
.stage2:                 ; VTPR below the threshold, no VMWRITE: VMfailValid(7)
  mov byte [0x204080], 0x10
  vmresume
  jnz fail
  mov eax, 0x4400
  vmread rbx, rax
  cmp ebx, 7
  jne fail
  mov byte [0x204080], 0xF0
  vmresume
  jmp fail
guest:
  mov eax, 1
  cpuid
  jmp guest
)" + kHostEnds + kHostData;
  CHECK(enc(Field::HOST_TR_SELECTOR) == 0x0C0C);
  CHECK(enc(Field::VM_INSTRUCTION_ERROR) == 0x4400);
  systest::Rig r;
  r.m.reset_long_mode(kCode, kHostStack);
  const vmx::VmxCaps& k = r.m.vmx().caps();
  Fields f = baseline_fields(r.cpu(), k, r.cpu().cr3);
  set(f, Field::CPU_BASED_VM_EXEC_CONTROL, k.proc_must1() | vmx::CPU_TPR_SHADOW);
  set(f, Field::VIRTUAL_APIC_PAGE_ADDR, kVapic);
  set(f, Field::TPR_THRESHOLD, 3);
  load(r, f, host);
  r.w32(kVapic + 0x80, 0xF0);
  r.run(100000);
  isa::Cpu& c = r.cpu();
  INFO("r13 (rflags at failure) = " << std::hex << c.r[isa::R13] << ", stage " << c.r[isa::R15]);
  REQUIRE(c.r[isa::R14] == 0x600d);
  CHECK(c.r[isa::R15] == 3);
  const vmx::VmxCounters& n = r.m.vmx().counters;
  CHECK(n.entries == 3);
  CHECK(n.entry_fail_host == 1);
  CHECK(n.entry_fail_controls == 1);
}
