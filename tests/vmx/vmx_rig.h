// What the machine-level VMX tests share (tests/vmx/*_test.cpp on the tests/sys rig):
// the memory layout, a VMCS for a 64-bit guest that shares the host's flat segments,
// the host code that enables VMX and loads that VMCS from an (encoding, value) table
// with VMWRITE, and the loading of all of it into a rig.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "tests/sys/harness.h"
#include "vmx/controls.h"
#include "vmx/vmcs.h"
#include "vmx/vmx.h"

namespace vmxrig {

constexpr uint64_t kCode = 0x100000, kVmxon = 0x200000, kVmcs = 0x201000, kFields = 0x202000,
                   kHostStack = 0x300000, kGuestStack = 0x310000;

using Fields = std::vector<std::pair<uint32_t, uint64_t>>;

inline uint32_t enc(vmx::Field f) { return vmx::field_info(f).encoding; }

// A 64-bit guest on the host's flat segments and CR0/CR4, with `guest_cr3`; controls
// at their minimal allowed settings (TRUE MSRs). GUEST_RIP is set by the host code.
inline Fields baseline_fields(const isa::Cpu& c, const vmx::VmxCaps& k, uint64_t guest_cr3) {
  using vmx::Field;
  Fields v = {
      {enc(Field::PIN_BASED_VM_EXEC_CONTROL), k.pin_must1()},
      {enc(Field::CPU_BASED_VM_EXEC_CONTROL), k.proc_must1()},
      {enc(Field::VM_EXIT_CONTROLS), k.exit_must1() | vmx::EXIT_HOST_ADDR_SPACE_SIZE},
      {enc(Field::VM_ENTRY_CONTROLS), k.entry_must1() | vmx::ENTRY_IA32E_MODE_GUEST},
      {enc(Field::VMCS_LINK_POINTER), ~0ull},
      {enc(Field::HOST_CR0), c.cr0}, {enc(Field::HOST_CR3), c.cr3}, {enc(Field::HOST_CR4), c.cr4},
      {enc(Field::HOST_CS_SELECTOR), 0x08}, {enc(Field::HOST_SS_SELECTOR), 0x10},
      {enc(Field::HOST_DS_SELECTOR), 0x10}, {enc(Field::HOST_ES_SELECTOR), 0x10},
      {enc(Field::HOST_TR_SELECTOR), 0x18},
      {enc(Field::GUEST_CR0), c.cr0}, {enc(Field::GUEST_CR3), guest_cr3},
      {enc(Field::GUEST_CR4), c.cr4},
      {enc(Field::GUEST_DR7), 0x400}, {enc(Field::GUEST_RFLAGS), 2},
      {enc(Field::GUEST_RSP), kGuestStack}, {enc(Field::GUEST_RIP), 0},
      {enc(Field::GUEST_CS_SELECTOR), 0x08}, {enc(Field::GUEST_CS_LIMIT), 0xFFFFFFFF},
      {enc(Field::GUEST_CS_AR_BYTES), 0xA09B},
      {enc(Field::GUEST_TR_SELECTOR), 0x18}, {enc(Field::GUEST_TR_LIMIT), 0x67},
      {enc(Field::GUEST_TR_AR_BYTES), 0x8B},
      {enc(Field::GUEST_LDTR_AR_BYTES), 0x10000},
      {enc(Field::GUEST_GDTR_LIMIT), 0xFFFF}, {enc(Field::GUEST_IDTR_LIMIT), 0xFFFF},
  };
  for (unsigned s : {0u, 2u, 3u, 4u, 5u}) {  // ES, SS, DS, FS, GS
    const vmx::GuestSegmentFields& f = vmx::kGuestSegments[s];
    v.push_back({enc(f.selector), 0x10});
    v.push_back({enc(f.limit), 0xFFFFFFFF});
    v.push_back({enc(f.ar), 0xC093});
  }
  return v;
}

// Sets `f` in the table (replacing an earlier value).
inline void set(Fields& v, vmx::Field f, uint64_t value) {
  for (auto& p : v)
    if (p.first == enc(f)) {
      p.second = value;
      return;
    }
  v.push_back({enc(f), value});
}

// The host code up to VMLAUNCH: enables VMX (feature control, CR4.VMXE), VMXON, VMCLEAR,
// VMPTRLD, the field table at kFields with VMWRITE, HOST_RSP, HOST_RIP = `exit_handler`,
// GUEST_RIP = `guest`, R15 = 0, VMLAUNCH (falling through to `fail`). The including
// test appends exit_handler, guest, fail and the data below.
inline const char* kHostPrologue = R"(
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
)";
// The host's step past the exiting instruction: GUEST_RIP += VM_EXIT_INSTRUCTION_LEN
// (clobbers RAX, RCX, RDX).
inline const char* kAdvanceGuestRip = R"(
  mov eax, 0x440C        ; VM_EXIT_INSTRUCTION_LEN
  vmread rcx, rax
  mov eax, 0x681E        ; GUEST_RIP
  vmread rdx, rax
  add rdx, rcx
  vmwrite rax, rdx
)";
// The host's two ends: `done` (R14 = 0x600d) and `fail` (R14 = 0xbad, R13 = RFLAGS).
inline const char* kHostEnds = R"(
done:
  mov r14, 0x600d
  hlt
fail:
  mov r14, 0xbad
  pushfq
  pop r13
  hlt
)";
inline const char* kHostData = R"(
align 8
vmxon_ptr: dq 0x200000
vmcs_ptr: dq 0x201000
)";

// Long mode at kCode, VMXON and VMCS regions with the revision id, the field table
// (CR4 fields with VMXE, as the host code sets it), and `host_src` assembled at kCode.
inline void load(systest::Rig& r, Fields fields, const std::string& host_src) {
  const vmx::VmxCaps& k = r.m.vmx().caps();
  r.w32(kVmxon, k.revision_id);
  r.w32(kVmcs, k.revision_id);
  for (auto& f : fields)
    if (f.first == enc(vmx::Field::HOST_CR4) || f.first == enc(vmx::Field::GUEST_CR4))
      f.second |= isa::CR4_VMXE;
  uint64_t a = kFields;
  for (auto& f : fields) {
    r.w64(a, f.first);
    r.w64(a + 8, f.second);
    a += 16;
  }
  r.w64(a, ~0ull);
  r.asm_at(kCode, host_src);
}

}  // namespace vmxrig
