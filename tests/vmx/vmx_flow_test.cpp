// The VMX unit end to end on the machine: a 64-bit host written in assembly enables
// VMX, builds a VMCS with VMWRITE, launches a guest that runs CPUID in a loop, and
// resumes it after each exit. Checks the exit information, the statistics and the
// instruction outcomes the flow depends on.
#include <catch2/catch.hpp>

#include "tests/sys/harness.h"
#include "vmx/controls.h"
#include "vmx/vmcs.h"
#include "vmx/vmx.h"

namespace {

using vmx::Field;

constexpr uint64_t kCode = 0x100000, kVmxon = 0x200000, kVmcs = 0x201000, kFields = 0x202000,
                   kHostStack = 0x300000, kGuestStack = 0x310000;

// A VMCS for a 64-bit guest that shares the host's address space, controls at their
// minimal allowed settings (TRUE MSRs).
std::vector<std::pair<uint32_t, uint64_t>> guest_fields(const isa::Cpu& c, const vmx::VmxCaps& k) {
  auto enc = [](Field f) { return vmx::field_info(f).encoding; };
  std::vector<std::pair<uint32_t, uint64_t>> v = {
      {enc(Field::PIN_BASED_VM_EXEC_CONTROL), k.pin_must1()},
      {enc(Field::CPU_BASED_VM_EXEC_CONTROL), k.proc_must1()},
      {enc(Field::VM_EXIT_CONTROLS), k.exit_must1() | vmx::EXIT_HOST_ADDR_SPACE_SIZE},
      {enc(Field::VM_ENTRY_CONTROLS), k.entry_must1() | vmx::ENTRY_IA32E_MODE_GUEST},
      {enc(Field::VMCS_LINK_POINTER), ~0ull},
      {enc(Field::HOST_CR0), c.cr0}, {enc(Field::HOST_CR3), c.cr3}, {enc(Field::HOST_CR4), c.cr4},
      {enc(Field::HOST_CS_SELECTOR), 0x08}, {enc(Field::HOST_SS_SELECTOR), 0x10},
      {enc(Field::HOST_DS_SELECTOR), 0x10}, {enc(Field::HOST_ES_SELECTOR), 0x10},
      {enc(Field::HOST_TR_SELECTOR), 0x18},
      {enc(Field::GUEST_CR0), c.cr0}, {enc(Field::GUEST_CR3), c.cr3}, {enc(Field::GUEST_CR4), c.cr4},
      {enc(Field::GUEST_DR7), 0x400}, {enc(Field::GUEST_RFLAGS), 2},
      {enc(Field::GUEST_RSP), kGuestStack}, {enc(Field::GUEST_RIP), 0},  // patched below
      {enc(Field::GUEST_CS_SELECTOR), 0x08}, {enc(Field::GUEST_CS_LIMIT), 0xFFFFFFFF},
      {enc(Field::GUEST_CS_AR_BYTES), 0xA09B},
      {enc(Field::GUEST_TR_SELECTOR), 0x18}, {enc(Field::GUEST_TR_LIMIT), 0x67},
      {enc(Field::GUEST_TR_AR_BYTES), 0x8B},
      {enc(Field::GUEST_LDTR_AR_BYTES), 0x10000},
      {enc(Field::GUEST_GDTR_LIMIT), 0xFFFF}, {enc(Field::GUEST_IDTR_LIMIT), 0xFFFF},
  };
  for (Field s : {Field::GUEST_ES_SELECTOR, Field::GUEST_SS_SELECTOR, Field::GUEST_DS_SELECTOR,
                  Field::GUEST_FS_SELECTOR, Field::GUEST_GS_SELECTOR}) {
    const unsigned i = unsigned(s) - unsigned(Field::GUEST_ES_SELECTOR);
    v.push_back({enc(s), 0x10});
    v.push_back({enc(Field(unsigned(Field::GUEST_ES_LIMIT) + i)), 0xFFFFFFFF});
    v.push_back({enc(Field(unsigned(Field::GUEST_ES_AR_BYTES) + i)), 0xC093});
  }
  return v;
}

const char* kHost = R"(
bits 64
org 0x100000
  mov ecx, 0x3a          ; IA32_FEATURE_CONTROL: lock + VMX outside SMX
  mov eax, 5
  xor edx, edx
  wrmsr
  mov rax, cr4
  or rax, 0x2000         ; CR4.VMXE
  mov cr4, rax
  vmxon [rel vmxon_ptr]
  jbe fail
  vmclear [rel vmcs_ptr]
  jbe fail
  vmptrld [rel vmcs_ptr]
  jbe fail
  mov rsi, 0x202000      ; (encoding, value) pairs, encoding -1 ends
.fields:
  mov rax, [rsi]
  cmp rax, -1
  je .host
  vmwrite rax, [rsi + 8]
  jbe fail
  add rsi, 16
  jmp .fields
.host:
  mov eax, 0x6C14        ; HOST_RSP
  vmwrite rax, rsp
  mov eax, 0x6C16        ; HOST_RIP
  lea rbx, [rel exit_handler]
  vmwrite rax, rbx
  mov eax, 0x681E        ; GUEST_RIP
  lea rbx, [rel guest]
  vmwrite rax, rbx
  xor r15d, r15d
  vmlaunch
  jmp fail
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
align 8
vmxon_ptr: dq 0x200000
vmcs_ptr: dq 0x201000
)";

void setup(systest::Rig& r) {
  r.m.reset_long_mode(kCode, kHostStack);
  const vmx::VmxCaps& k = r.m.vmx().caps();
  r.w32(kVmxon, k.revision_id);
  r.w32(kVmcs, k.revision_id);
  auto fields = guest_fields(r.cpu(), k);
  // CR4 as the host will have it (VMXE set by the code).
  for (auto& f : fields)
    if (f.first == vmx::field_info(Field::HOST_CR4).encoding ||
        f.first == vmx::field_info(Field::GUEST_CR4).encoding)
      f.second |= isa::CR4_VMXE;
  uint64_t a = kFields;
  for (auto& f : fields) {
    r.w64(a, f.first);
    r.w64(a + 8, f.second);
    a += 16;
  }
  r.w64(a, ~0ull);
  r.asm_at(kCode, kHost);
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
