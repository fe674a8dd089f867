// The jump-cache banks of VM entries and exits (sim/code_cache.h): decoded blocks
// banked when a context leaves come back only for pages translated afresh to the same
// physical page, and never once invalidated. Each case runs a guest that calls a
// routine on page T (linear 0x1F0000) before and after a VM exit; what happens
// between (the guest remaps T and invalidates, the host remaps T and executes INVVPID,
// the host rewrites T's code) must change what the second call returns. With and
// without VPID. The rig is tests/vmx/vmx_rig.h.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include "tests/vmx/vmx_rig.h"

namespace {

using vmx::Field;

using namespace vmxrig;
constexpr uint64_t kInvvpidDesc = 0x204000;
// The guest's own page tables: 4 KiB pages for 0-2 MiB, 2 MiB pages above.
constexpr uint64_t kGuestPml4 = 0x400000, kGuestPt = 0x403000;
constexpr uint64_t kPageT = 0x1F0000, kCodeA = 0x1F0000, kCodeB = 0x1E0000;

void guest_page_tables(systest::Rig& r) {
  r.w64(kGuestPml4, (kGuestPml4 + 0x1000) | 7);
  r.w64(kGuestPml4 + 0x1000, (kGuestPml4 + 0x2000) | 7);
  r.w64(kGuestPml4 + 0x2000, kGuestPt | 7);
  for (uint64_t i = 1; i < 8; i++) r.w64(kGuestPml4 + 0x2000 + i * 8, (i << 21) | 0x87);
  for (uint64_t i = 0; i < 512; i++) r.w64(kGuestPt + i * 8, (i << 12) | 7);
}

// The baseline VMCS with the guest's own page tables and, with `vpid`, VPID 1.
Fields guest_fields(const isa::Cpu& c, const vmx::VmxCaps& k, bool vpid) {
  Fields v = baseline_fields(c, k, kGuestPml4);
  if (vpid) {
    set(v, Field::CPU_BASED_VM_EXEC_CONTROL, k.proc_must1() | vmx::CPU_SECONDARY_CONTROLS);
    set(v, Field::SECONDARY_VM_EXEC_CONTROL, vmx::CPU2_VPID);
    set(v, Field::VIRTUAL_PROCESSOR_ID, 1);
  }
  return v;
}

// The host resumes the guest after each CPUID exit; after `rounds` CPUIDs (R15 counts
// them) it runs HOST_ACTION before resuming. VMCALL ends the run (R14 = 0x600d). The
// guest calls T `rounds + 1` times, once per visit, keeping the results in R8..R11,
// and runs GUEST_ACTION in its first visit after the first call.
const std::string kHostTemplate = std::string(kHostPrologue) + R"(
exit_handler:
  mov eax, 0x4402        ; VM_EXIT_REASON
  vmread rbx, rax
  cmp ebx, 18            ; VMCALL
  je done
  test ebx, ebx          ; exception (the exception bitmap): the CPL case's #PF
  je exception
  cmp ebx, 10            ; CPUID
  jne fail
  inc r15
)" + std::string(kAdvanceGuestRip) + R"(
  cmp r15, ROUNDS
  jne .resume
HOST_ACTION
.resume:
  vmresume
  jmp fail
guest:
  mov rbx, TADDR
  call rbx
  mov r8, rax
GUEST_ACTION
  cpuid
  mov rbx, TADDR
  call rbx
  mov r9, rax
  cpuid
  mov rbx, TADDR
  call rbx
  mov r10, rax
  mov eax, 0x564D0000
  vmcall
exception:
  mov eax, 0x4404        ; VM_EXIT_INTR_INFO
  vmread r12, rax
  mov r14, 0xe0e0
  hlt
)" + kHostEnds + kHostData;

std::string replace(std::string s, const std::string& what, const std::string& with) {
  s.replace(s.find(what), what.size(), with);
  return s;
}

struct Result {
  uint64_t first, second, third;
};

// Runs the guest with T mapped to code A (returns 1) and code B (returns 2) loaded.
Result run_case(bool vpid, unsigned rounds, const std::string& guest_action,
                const std::string& host_action, uint64_t* restored = nullptr,
                uint64_t t = kPageT, uint64_t code_a = kCodeA, uint64_t code_b = kCodeB,
                systest::Rig* out = nullptr) {
  systest::Rig own;
  systest::Rig& r = out ? *out : own;
  r.m.reset_long_mode(kCode, kHostStack);
  guest_page_tables(r);
  // INVVPID descriptor: VPID 1, linear address T.
  r.w64(kInvvpidDesc, 1);
  r.w64(kInvvpidDesc + 8, kPageT);
  std::string src = replace(kHostTemplate, "ROUNDS", std::to_string(rounds));
  for (int i = 0; i < 3; i++) src = replace(src, "TADDR", std::to_string(t));
  src = replace(src, "HOST_ACTION", host_action);
  src = replace(src, "GUEST_ACTION", guest_action);
  load(r, guest_fields(r.cpu(), r.m.vmx().caps(), vpid), src);
  // T calls f at T+0x80 twice: blocks of T's page are entered at several PCs per
  // visit. The first block's look-up translates the page; f's return goes alternately
  // to two PCs, so its chain (the last successor) misses in each later visit and the
  // block after the call comes from the bank when the bank is used. The calls are
  // indirect, so that the blocks do not go on into f (superblocks follow a direct
  // call on the same page, sim/code_cache.h).
  const char* kRoutine =
      "bits 64\nlea rax, [rel f]\ncall rax\nlea rax, [rel f]\ncall rax\nret\n"
      "times 0x80-($-$$) db 0xCC\nf: mov eax, %d\nret\n";
  char buf[128];
  std::snprintf(buf, sizeof buf, kRoutine, 1);
  r.asm_at(code_a, buf);
  std::snprintf(buf, sizeof buf, kRoutine, 2);
  r.asm_at(code_b, buf);
  if (out) r.w64(kGuestPt + (kPageT >> 12) * 8, kCodeA | 3);  // T supervisor-only
  r.run(100000);
  isa::Cpu& c = r.cpu();
  if (out) return {c.r[isa::R8], c.r[isa::R9], c.r[isa::R10]};  // the caller checks
  INFO("r13 (rflags at failure) = " << std::hex << c.r[isa::R13]);
  REQUIRE(c.r[isa::R14] == 0x600d);
  CHECK(c.r[isa::R15] == 2);
  CHECK(r.m.vmx().counters.exits == 3);
  if (restored) *restored = r.m.code().bank_counters.restored;
  return {c.r[isa::R8], c.r[isa::R9], c.r[isa::R10]};
}

const std::string kNone = "";
// PTE of T in the guest's page table.
const std::string kRemapT = "  mov rax, 0x1E0007\n  mov [0x403F80], rax\n";

}  // namespace

TEST_CASE("Host cache: banked blocks come back for a page the guest did not change",
          "[vmx][host_cache]") {
  for (bool vpid : {false, true}) {
    INFO("VPID " << vpid);
    uint64_t restored = 0;
    const Result res = run_case(vpid, 1, kNone, kNone, &restored);
    CHECK(res.first == 1);
    CHECK(res.second == 1);
    CHECK(res.third == 1);
    CHECK(restored > 0);  // the mechanism under test did run
  }
}

TEST_CASE("Host cache: a guest that remaps its code page and invalidates runs the new code",
          "[vmx][host_cache]") {
  for (bool vpid : {false, true}) {
    INFO("VPID " << vpid);
    const Result res = run_case(vpid, 1, kRemapT + "  invlpg [0x1F0000]\n", kNone);
    CHECK(res.first == 1);
    CHECK(res.second == 2);
    CHECK(res.third == 2);
  }
}

TEST_CASE("Host cache: a guest that remaps its code page without INVLPG", "[vmx][host_cache]") {
  // Without VPID the VM exit and entry flush VPID 0's mappings (SDM Vol. 3C 28.3.3.3):
  // the next call walks the new PTE, and no banked block of the old page may run.
  const Result nv = run_case(false, 1, kRemapT, kNone);
  CHECK(nv.first == 1);
  CHECK(nv.second == 2);
  CHECK(nv.third == 2);
  // With VPID the guest's translation of T survives (stale, SDM Vol. 3A 4.10.4.2):
  // the modelled TLB still maps T to code A, and so does every cache above it.
  const Result v = run_case(true, 1, kRemapT, kNone);
  CHECK(v.first == 1);
  CHECK(v.second == 1);
  CHECK(v.third == 1);
}

TEST_CASE("Host cache: the host remaps the guest's code page and executes INVVPID",
          "[vmx][host_cache]") {
  // Guest PTE rewritten by the host, then INVVPID type 0 (individual address) for
  // VPID 1 at T: the guest's second call runs code B.
  const std::string host =
      "  mov rax, 0x1E0007\n  mov [0x403F80], rax\n"
      "  xor eax, eax\n  invvpid rax, [0x204000]\n  jbe fail\n";
  const Result res = run_case(true, 1, kNone, host);
  CHECK(res.first == 1);
  CHECK(res.second == 2);
  CHECK(res.third == 2);
  // Without VPID the exit and the entry flush VPID 0 (SDM Vol. 3C 28.3.3.3): the
  // host's remap alone is seen.
  const Result nv = run_case(false, 1, kNone, "  mov rax, 0x1E0007\n  mov [0x403F80], rax\n");
  CHECK(nv.second == 2);
}

TEST_CASE("Host cache: the host rewrites the guest's code between exit and entry (SMC)",
          "[vmx][host_cache]") {
  for (bool vpid : {false, true}) {
    INFO("VPID " << vpid);
    // mov eax, 1 -> mov eax, 3 in code A, written by the host after the first exit.
    const Result res = run_case(vpid, 1, kNone, "  mov byte [0x1F0081], 3\n");
    CHECK(res.first == 1);
    CHECK(res.second == 3);
    CHECK(res.third == 3);
  }
}

TEST_CASE("Host cache: the guest rewrites its own routine, exits, and runs the new code",
          "[vmx][host_cache]") {
  for (bool vpid : {false, true}) {
    INFO("VPID " << vpid);
    const Result res = run_case(vpid, 1, "  mov byte [0x1F0081], 5\n", kNone);
    CHECK(res.first == 1);
    CHECK(res.second == 5);
    CHECK(res.third == 5);
  }
}

TEST_CASE("Host cache: a guest that remaps a 2 MiB code page without INVLPG",
          "[vmx][host_cache]") {
  // T in a 2 MiB page (guest PD[3], 0x600000): a fetch translation revalidates banked
  // blocks of the whole large page at once, each only where it now maps. Remapped to
  // 0x800000 (code B) without INVLPG: without VPID the transitions flush VPID 0.
  const std::string remap = "  mov rax, 0x800087\n  mov [0x402018], rax\n";
  uint64_t restored = 0;
  const Result same = run_case(false, 1, kNone, kNone, &restored, 0x600000, 0x600000, 0x800000);
  CHECK(same.second == 1);
  CHECK(same.third == 1);
  CHECK(restored > 0);
  const Result nv = run_case(false, 1, remap, kNone, nullptr, 0x600000, 0x600000, 0x800000);
  CHECK(nv.first == 1);
  CHECK(nv.second == 2);
  CHECK(nv.third == 2);
  const Result v = run_case(true, 1, remap, kNone, nullptr, 0x600000, 0x600000, 0x800000);
  CHECK(v.second == 1);  // VPID: the stale translation survives (SDM Vol. 3A 4.10.4.2)
}

TEST_CASE("Host cache: a guest resumed at CPL 3 cannot run banked supervisor code",
          "[vmx][host_cache]") {
  // T is a supervisor page. The guest calls it at CPL 0, exits; the host resumes it at
  // CPL 3 (CS, SS and data segments with DPL 3) with #PF in the exception bitmap. The
  // call to T must fault (user fetch from a supervisor page, SDM Vol. 3A 4.6) even
  // though T's blocks are banked: the fetch translation is made afresh at CPL 3.
  const std::string to_cpl3 =
      "  mov eax, 0x802\n  mov ebx, 0x1B\n  vmwrite rax, rbx\n"      // CS selector
      "  mov eax, 0x4816\n  mov ebx, 0xA0FB\n  vmwrite rax, rbx\n"   // CS AR: DPL 3
      "  mov ebx, 0x23\n"
      "  mov eax, 0x800\n  vmwrite rax, rbx\n  mov eax, 0x804\n  vmwrite rax, rbx\n"
      "  mov eax, 0x806\n  vmwrite rax, rbx\n  mov eax, 0x808\n  vmwrite rax, rbx\n"
      "  mov eax, 0x80A\n  vmwrite rax, rbx\n"
      "  mov ebx, 0xC0F3\n"
      "  mov eax, 0x4814\n  vmwrite rax, rbx\n  mov eax, 0x4818\n  vmwrite rax, rbx\n"
      "  mov eax, 0x481A\n  vmwrite rax, rbx\n  mov eax, 0x481C\n  vmwrite rax, rbx\n"
      "  mov eax, 0x481E\n  vmwrite rax, rbx\n"
      "  mov eax, 0x4004\n  mov ebx, 0x4000\n  vmwrite rax, rbx\n";  // #PF exits
  for (bool vpid : {false, true}) {
    INFO("VPID " << vpid);
    systest::Rig r;
    const Result res = run_case(vpid, 1, kNone, to_cpl3, nullptr, kPageT, kCodeA, kCodeB, &r);
    isa::Cpu& c = r.cpu();
    INFO("r13 (rflags at failure) = " << std::hex << c.r[isa::R13]);
    CHECK(res.first == 1);               // CPL 0: T runs
    REQUIRE(c.r[isa::R14] == 0xe0e0);    // CPL 3: the call to T faults, #PF exits
    CHECK((c.r[isa::R12] & 0xFF) == 14);  // VM_EXIT_INTR_INFO vector
    CHECK(c.r[isa::R15] == 1);
  }
}

TEST_CASE("Host cache: a VM exit from VMREAD inside a superblock leaves the block",
          "[vmx][host_cache]") {
  // The guest's page T maps to 0x1E0000 (kCodeB): VMREAD (exits: no shadowing), then
  // R8 = 1. The host's T is 0x1F0000 itself (kCodeA): R8 = 2 after VMREAD's length.
  // After the first exit the host points HOST_RIP at T+3, VMREAD's fall-through, and
  // resumes the guest at the VMREAD again: the second exit lands where the guest's
  // block would go on, but in the host's translation, so code B must run (the
  // separator after VMREAD stops at the new epoch, sim/code_cache.h).
  systest::Rig r;
  r.m.reset_long_mode(kCode, kHostStack);
  guest_page_tables(r);
  r.w64(kGuestPt + (kPageT >> 12) * 8, kCodeB | 7);  // the guest's T -> 0x1E0000
  const std::string src = std::string(kHostPrologue) + R"(
exit_handler:
  inc r15
  cmp r15, 1
  jne fail
  mov eax, 0x4402        ; VM_EXIT_REASON
  vmread rbx, rax
  cmp ebx, 23            ; VMREAD
  jne fail
  mov eax, 0x6C16        ; HOST_RIP = T + 3
  mov rbx, 0x1F0003
  vmwrite rax, rbx
  vmresume
  jmp fail
guest:
  mov rbx, 0x1F0000
  jmp rbx
)" + kHostEnds + kHostData;
  load(r, guest_fields(r.cpu(), r.m.vmx().caps(), false), src);
  r.asm_at(kCodeB, "bits 64\nvmread rax, rax\nmov r8d, 1\nmov r14, 0x600d\nhlt\n");
  r.asm_at(kCodeA, "bits 64\nnop\nnop\nnop\nmov r8d, 2\nmov r14, 0x600d\nhlt\n");
  r.run(100000);
  const isa::Cpu& c = r.cpu();
  REQUIRE(c.r[isa::R14] == 0x600d);
  CHECK(c.r[isa::R15] == 1);
  CHECK(c.r[isa::R8] == 2);
  CHECK(c.vmx.mode == isa::VmxMode::kRoot);
  CHECK(r.m.vmx().counters.exits == 2);
}
