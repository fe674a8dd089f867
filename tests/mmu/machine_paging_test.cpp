// The machine under paging: code assembled with nasm runs on its own page tables
// (tests/sys rig). Checks the SDM's TLB semantics as software sees them: stale
// translations until INVLPG / MOV CR3, PCID tagging, #PF error codes and CR2, A/D
// bits in guest memory, PAE PDPTE registers, 32-bit paging with 4 MiB pages, #AC.
#include <string>

#include "tests/sys/harness.h"

namespace {

// Guest physical layout.
constexpr uint64_t kCode = 0x100000, kStack = 0x80000, kIdt = 0x10000, kGdt = 0x12000;
constexpr uint64_t kPml4 = 0x200000, kPdpt = 0x201000, kPd = 0x202000, kPt0 = 0x203000;
constexpr uint64_t kData = 0x400000;  // 4 MiB: mapped by the second page table (kPt0 + 0x1000)

std::string hex(uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
  return b;
}

// 4-level tables identity-mapping the first 8 MiB with 4 KiB pages (P, RW, US as
// `flags`), a 64-bit IDT whose every vector points at `handler` (which records
// vector-specific state: see kHandler), and a GDT with ring-0 and ring-3 segments.
struct PagedRig : systest::Rig {
  uint64_t pte_addr(uint64_t lin) { return kPt0 + (lin >> 12) * 8; }
  void build(uint64_t flags = 0x7) {
    w64(kPml4, kPdpt | 0x7);
    w64(kPdpt, kPd | 0x7);
    for (uint64_t i = 0; i < 4; i++) w64(kPd + i * 8, (kPt0 + i * 0x1000) | 0x7);
    for (uint64_t p = 0; p < 2048; p++) w64(kPt0 + p * 8, (p << 12) | flags);
    // GDT: null, ring-0 code64 (0x08), ring-0 data (0x10), ring-3 data (0x1B),
    // ring-3 code64 (0x23).
    w64(kGdt + 0x00, 0);
    w64(kGdt + 0x08, systest::code64(0));
    w64(kGdt + 0x10, systest::data32(0));
    w64(kGdt + 0x18, systest::data32(3));
    w64(kGdt + 0x20, systest::code64(3));
  }
  // Vector v's gate -> handler + 16 * v (a table of 16-byte stubs).
  void idt(uint64_t handlers) {
    for (unsigned v = 0; v < 32; v++) {
      auto g = systest::gate64(0x08, handlers + 16 * v, 0xE, 0);
      w64(kIdt + v * 16, g.lo);
      w64(kIdt + v * 16 + 8, g.hi);
    }
  }
};

// Prologue: load GDT, IDT, our CR3. Stubs: vector in R15, error code (if any) in R14,
// CR2 in R13, then HLT.
std::string prologue() {
  return "bits 64\norg " + hex(kCode) + "\n"
         "jmp start\n"
         "align 16\n"
         "stubs:\n"
         "%assign v 0\n"
         "%rep 32\n"
         "  align 16\n"
         "  mov r15d, v\n"
         "  jmp stubcommon\n"
         "%assign v v+1\n"
         "%endrep\n"
         "stubcommon:\n"
         "  cmp r15d, 8\n  je .err\n  cmp r15d, 10\n  jb .noerr\n  cmp r15d, 14\n  jbe .err\n"
         "  cmp r15d, 17\n  je .err\n"
         ".noerr:\n  mov r14, -1\n  jmp .out\n"
         ".err:\n  pop r14\n"
         ".out:\n  mov r13, cr2\n  hlt\n"
         "gdtr: dw 0x37\n dq " + hex(kGdt) + "\n"
         "idtr: dw 0x1FF\n dq " + hex(kIdt) + "\n"
         "start:\n"
         "  lgdt [gdtr]\n  lidt [idtr]\n"
         "  mov rax, " + hex(kPml4) + "\n  mov cr3, rax\n"
         "  mov r15, -1\n";
}

uint64_t stubs_addr() { return kCode + 16; }

std::string why(const sim::RunResult& res) {
  return std::string(sim::stop_reason_name(res.reason)) + " fault " +
         isa::vector_name(res.fault.vector) + " error " + hex(res.fault.error) + " at " +
         hex(res.fault_rip) + " " + res.message;
}

void boot(PagedRig& r, const std::string& body, uint64_t flags = 0x7) {
  r.m.reset_long_mode(kCode, kStack);
  r.build(flags);
  r.idt(stubs_addr());
  r.asm_at(kCode, prologue() + body);
}

}  // namespace

TEST_CASE("a changed PTE is not seen until INVLPG (stale TLB entries are kept)", "[mmu][machine]") {
  PagedRig r;
  boot(r,
       "  mov rbx, [" + hex(kData) + "]\n"
       "  mov rax, " + hex((kData + 0x1000) | 0x7) + "\n"
       "  mov [" + hex(r.pte_addr(kData)) + "], rax\n"
       "  mov rcx, [" + hex(kData) + "]\n"
       "  invlpg [" + hex(kData) + "]\n"
       "  mov rdx, [" + hex(kData) + "]\n"
       "  hlt\n");
  r.w64(kData, 0x1111);
  r.w64(kData + 0x1000, 0x2222);
  auto res = r.run();
  INFO(why(res));
  CHECK(res.reason == sim::StopReason::kHalted);
  CHECK(r.reg(isa::R15) == uint64_t(-1));
  CHECK(r.reg(isa::RBX) == 0x1111);
  CHECK(r.reg(isa::RCX) == 0x1111);  // stale translation still used
  CHECK(r.reg(isa::RDX) == 0x2222);  // after INVLPG the new one
  CHECK(r.m.counters.page_walks > 0);
}

TEST_CASE("MOV CR3 flushes non-global entries; global ones survive", "[mmu][machine]") {
  PagedRig r;
  boot(r,
       "  mov rax, cr4\n  or rax, 0x80\n  mov cr4, rax\n"  // CR4.PGE
       "  mov rbx, [" + hex(kData) + "]\n"                   // global page, cached
       "  mov rsi, [" + hex(kData + 0x2000) + "]\n"          // non-global page, cached
       "  mov rax, " + hex((kData + 0x1000) | 0x107) + "\n"
       "  mov [" + hex(r.pte_addr(kData)) + "], rax\n"
       "  mov rax, " + hex((kData + 0x3000) | 0x7) + "\n"
       "  mov [" + hex(r.pte_addr(kData + 0x2000)) + "], rax\n"
       "  mov rax, cr3\n  mov cr3, rax\n"
       "  mov rcx, [" + hex(kData) + "]\n"                   // global: still the old page
       "  mov rdi, [" + hex(kData + 0x2000) + "]\n"          // non-global: the new page
       "  mov rax, cr4\n  and rax, ~0x80\n  mov cr4, rax\n"  // PGE toggle flushes globals
       "  mov rdx, [" + hex(kData) + "]\n"
       "  hlt\n");
  r.w64(r.pte_addr(kData), kData | 0x107);  // G
  r.w64(kData, 0x1111);
  r.w64(kData + 0x1000, 0x2222);
  r.w64(kData + 0x2000, 0x3333);
  r.w64(kData + 0x3000, 0x4444);
  auto res = r.run();
  INFO(why(res));
  CHECK(res.reason == sim::StopReason::kHalted);
  CHECK(r.reg(isa::R15) == uint64_t(-1));
  CHECK(r.reg(isa::RBX) == 0x1111);
  CHECK(r.reg(isa::RSI) == 0x3333);
  CHECK(r.reg(isa::RCX) == 0x1111);
  CHECK(r.reg(isa::RDI) == 0x4444);
  CHECK(r.reg(isa::RDX) == 0x2222);
}

TEST_CASE("#PF: error code and CR2 for not-present, write to read-only, reserved bit", "[mmu][machine]") {
  struct Case {
    const char* what;
    uint64_t pte;
    const char* insn;
    uint64_t want_error;
  };
  const Case cases[] = {
      {"read of a not-present page", 0, "mov rax, [rbx]", 0x0},
      {"write to a not-present page", 0, "mov [rbx], rax", 0x2},
      {"write to a read-only page (CR0.WP = 1)", kData | 0x5, "mov [rbx], rax", 0x3},
      {"reserved bit 51", kData | 0x7 | (1ull << 51), "mov rax, [rbx]", 0x9},
      {"fetch from an XD page", kData | 0x7 | (1ull << 63), "call rbx", 0x11},
  };
  for (const Case& k : cases) {
    PagedRig r;
    boot(r, "  mov rbx, " + hex(kData + 0x18) + "\n  " + k.insn + "\n  hlt\n");
    r.w64(r.pte_addr(kData), k.pte);
    r.w32(kData, 0xF4F4F4F4);
    INFO(k.what);
    auto res = r.run();
  INFO(why(res));
    CHECK(res.reason == sim::StopReason::kHalted);
    CHECK(r.reg(isa::R15) == 14);
    CHECK(r.reg(isa::R14) == k.want_error);
    CHECK(r.reg(isa::R13) == kData + 0x18);
  }
}

TEST_CASE("accessed and dirty bits are set in guest memory", "[mmu][machine]") {
  PagedRig r;
  boot(r,
       "  mov rax, [" + hex(kData) + "]\n"
       "  mov [" + hex(kData + 0x1000) + "], rax\n"
       "  hlt\n");
  auto res = r.run();
  INFO(why(res));
  CHECK(res.reason == sim::StopReason::kHalted);
  CHECK((r.r64(r.pte_addr(kData)) & 0x60) == 0x20);           // A only
  CHECK((r.r64(r.pte_addr(kData + 0x1000)) & 0x60) == 0x60);  // A and D
  CHECK((r.r64(r.pte_addr(kData + 0x2000)) & 0x60) == 0);     // untouched
  CHECK((r.r64(kPml4) & 0x20) == 0x20);
}

TEST_CASE("PAE paging from 32-bit protected mode: PDPTE registers", "[mmu][machine]") {
  systest::Rig r;
  r.m.reset_protected32(0x100000, 0x80000);
  // PDPT at 0x200000 (4 entries), PD for the first GiB at 0x201000 with 2 MiB pages.
  r.w64(0x200000, 0x201000 | 1);
  for (uint64_t i = 0; i < 8; i++) r.w64(0x201000 + i * 8, (i << 21) | 0x83);
  r.w64(0x201000 + 2 * 8, (6ull << 21) | 0x83);  // 4 MiB -> 12 MiB
  r.w32(0xC00000, 0xABCD);
  r.asm_at(0x100000,
           "bits 32\norg 0x100000\n"
           "  mov eax, cr4\n  or eax, 0x20\n  mov cr4, eax\n"
           "  mov eax, 0x200000\n  mov cr3, eax\n"
           "  mov eax, cr0\n  or eax, 0x80000000\n  mov cr0, eax\n"
           "  mov ebx, [0x400000]\n"
           // Change the PDPTE in memory: the register keeps the old value until CR3 is
           // written again.
           "  mov dword [0x200000], 0\n"
           "  mov ecx, [0x400000]\n"
           "  mov eax, cr3\n  mov cr3, eax\n"  // reload: PDPTE 0 not present now
           "  mov edx, 1\n"
           "  hlt\n");
  auto res = r.run();
  INFO(why(res));
  // After the reload every fetch faults (no IDT mapped): the run ends in a fault chain.
  CHECK(r.reg(isa::RBX) == 0xABCD);
  CHECK(r.reg(isa::RCX) == 0xABCD);
  CHECK(r.cpu().pdpte[0] == 0);
  CHECK(res.reason != sim::StopReason::kHalted);
}

TEST_CASE("32-bit paging with 4 MiB pages (CR4.PSE)", "[mmu][machine]") {
  systest::Rig r;
  r.m.reset_protected32(0x100000, 0x80000);
  for (uint32_t i = 0; i < 4; i++) r.w32(0x200000 + i * 4, (i << 22) | 0x83);
  r.w32(0x200000 + 0x300 * 4, (2u << 22) | 0x83);  // 0xC0000000 -> 8 MiB
  r.w32(0x800010, 0x5A5A);
  r.asm_at(0x100000,
           "bits 32\norg 0x100000\n"
           "  mov eax, cr4\n  or eax, 0x10\n  mov cr4, eax\n"
           "  mov eax, 0x200000\n  mov cr3, eax\n"
           "  mov eax, cr0\n  or eax, 0x80000000\n  mov cr0, eax\n"
           "  mov ebx, [0xC0000010]\n"
           "  mov dword [0xC0000020], 7\n"
           "  hlt\n");
  auto res = r.run();
  INFO(why(res));
  CHECK(res.reason == sim::StopReason::kHalted);
  CHECK(r.reg(isa::RBX) == 0x5A5A);
  CHECK(r.r32(0x800020) == 7);
  CHECK((r.r32(0x200000 + 0x300 * 4) & 0x60) == 0x60);
}

TEST_CASE("PCIDs tag translations: MOV CR3 with and without bit 63, INVPCID", "[mmu][machine]") {
  PagedRig r;
  const std::string data = hex(kData);
  boot(r,
       "  mov rax, cr4\n  or rax, 1 << 17\n  mov cr4, rax\n"  // CR4.PCIDE (CR3[11:0] = 0)
       "  mov rbx, [" + data + "]\n"                           // PCID 0 caches frame A
       "  mov rax, " + hex((kData + 0x1000) | 0x7) + "\n"
       "  mov [" + hex(r.pte_addr(kData)) + "], rax\n"          // PTE -> frame B
       "  mov rax, " + hex(kPml4 | 1) + "\n  bts rax, 63\n  mov cr3, rax\n"  // PCID 1, no flush
       "  mov rcx, [" + data + "]\n"                           // B: PCID 1 had nothing
       "  mov rax, " + hex(kPml4) + "\n  bts rax, 63\n  mov cr3, rax\n"      // PCID 0, no flush
       "  mov rdx, [" + data + "]\n"                           // A: PCID 0's stale entry
       "  mov rax, " + hex((kData + 0x2000) | 0x7) + "\n"
       "  mov [" + hex(r.pte_addr(kData)) + "], rax\n"          // PTE -> frame C
       "  sub rsp, 16\n  mov qword [rsp], 0\n  mov qword [rsp + 8], " + data + "\n"
       "  mov eax, 1\n  invpcid rax, [rsp]\n"                 // type 1, PCID 0: all non-global
       "  mov rsi, [" + data + "]\n"                           // C
       "  mov rax, " + hex(kPml4 | 1) + "\n  bts rax, 63\n  mov cr3, rax\n"
       "  mov rdi, [" + data + "]\n"                           // B: INVPCID left PCID 1 alone
       "  mov rax, " + hex(kPml4 | 1) + "\n  mov cr3, rax\n"  // flush PCID 1
       "  mov rbp, [" + data + "]\n"                           // C
       "  hlt\n");
  r.w64(kData, 0xA);
  r.w64(kData + 0x1000, 0xB);
  r.w64(kData + 0x2000, 0xC);
  auto res = r.run();
  INFO(why(res));
  CHECK(res.reason == sim::StopReason::kHalted);
  CHECK(r.reg(isa::R15) == uint64_t(-1));
  CHECK(r.reg(isa::RBX) == 0xA);
  CHECK(r.reg(isa::RCX) == 0xB);
  CHECK(r.reg(isa::RDX) == 0xA);
  CHECK(r.reg(isa::RSI) == 0xC);
  CHECK(r.reg(isa::RDI) == 0xB);
  CHECK(r.reg(isa::RBP) == 0xC);
}

// Enters ring 3 at `user` with RFLAGS = `rflags` through IRETQ (64-bit TSS for the
// way back), after setting CR0.AM.
static std::string to_ring3(uint64_t rflags) {
  return "  mov ax, 0x28\n  ltr ax\n"
         "  mov rax, cr0\n  or rax, 1 << 18\n  mov cr0, rax\n"
         "  push 0x1B\n  push 0x70000\n  push " + hex(rflags) + "\n  push 0x23\n"
         "  lea rax, [rel user]\n  push rax\n  iretq\n"
         "user:\n";
}

static void tss(PagedRig& r) {
  const uint64_t kTss = 0x13000;
  r.w64(kTss + 4, 0x90000);  // RSP0
  r.w64(kGdt + 0x28, systest::seg_desc(uint32_t(kTss), 0x67, 0x9, false, 0, true, 0));
  r.w64(kGdt + 0x30, 0);
}

TEST_CASE("#AC(0) for misaligned data at CPL 3 with CR0.AM and RFLAGS.AC", "[mmu][machine]") {
  for (bool ac : {true, false}) {
    PagedRig r;
    boot(r, to_ring3(0x2 | (ac ? 0x40000 : 0)) +
                "  mov eax, [" + hex(kData + 4) + "]\n"  // aligned: fine
                "  mov ax, [" + hex(kData + 2) + "]\n"   // aligned word: fine
                "  mov eax, [" + hex(kData + 1) + "]\n"  // misaligned dword
                "  hlt\n");                              // #GP at CPL 3
    tss(r);
    auto res = r.run();
    INFO(why(res));
    INFO("AC " << ac);
    CHECK(res.reason == sim::StopReason::kHalted);
    CHECK(r.reg(isa::R15) == (ac ? isa::VEC_AC : isa::VEC_GP));
    CHECK(r.reg(isa::R14) == 0);
  }
}
