// Debug registers and single-step (SDM Vol. 3A chapter 17): MOV DR rules, TF traps
// with the MOV-SS shadow, instruction breakpoints with RF, data and I/O breakpoints.
#include "sim/loader.h"
#include "tests/sys/harness.h"

namespace {

constexpr uint64_t kGdt = 0x4000, kIdt = 0x5000, kCode = 0x100000, kHandlers = 0x110000,
                   kLog = 0x200000, kStack = 0x80000;

// 64-bit rig whose #DB handler logs the return RIP and DR6 at [RBX], counts in R12,
// and returns with RF set in the image (so an instruction breakpoint is passed).
struct DbgRig : systest::Rig {
  DbgRig() {
    m.reset_long_mode(kCode, kStack);
    w64(kGdt + 0x08, systest::code64(0));
    w64(kGdt + 0x10, systest::data32(0));
    cpu().gdtr = {kGdt, 0x17};
    cpu().idtr = {kIdt, 0xFFF};
    asm_at(kHandlers,
           "bits 64\norg 0x110000\n"
           "push rax\nmov rax, [rsp+8]\nmov [rbx], rax\nmov rax, dr6\nmov [rbx+8], rax\n"
           "add rbx, 16\ninc r12\npop rax\nor qword [rsp+16], 0x10000\niretq\n"
           // #GP / #UD handlers at +0x100 / +0x200: record vector, error and halt.
           "times 0x100-($-$$) db 0x90\nmov r8, 13\nmov r9, [rsp]\nhlt\n"
           "times 0x200-($-$$) db 0x90\nmov r8, 6\nhlt\n");
    gate(isa::VEC_DB, kHandlers);
    gate(isa::VEC_GP, kHandlers + 0x100);
    gate(isa::VEC_UD, kHandlers + 0x200);
    cpu().r[isa::RBX] = kLog;
  }
  void gate(unsigned v, uint64_t off) {
    auto g = systest::gate64(0x08, off, 0xE, 0);
    w64(kIdt + v * 16, g.lo);
    w64(kIdt + v * 16 + 8, g.hi);
  }
  uint64_t log_rip(unsigned i) { return r64(kLog + i * 16); }
  uint64_t log_dr6(unsigned i) { return r64(kLog + i * 16 + 8); }
  void code(const std::string& body) { asm_at(kCode, "bits 64\norg 0x100000\n" + body + "\n"); }
};

}  // namespace

TEST_CASE("TF: a #DB trap with BS after each instruction; MOV SS holds it one instruction",
          "[debug]") {
  DbgRig r;
  r.code(
      "pushfq\nor qword [rsp], 0x100\npopfq\n"  // TF set by POPF: first trap after the NOP
      "nop\n"                                     // +0x0A
      "mov ax, ss\n"                              // +0x0B
      "mov ss, ax\n"                              // +0x0E: trap held by the MOV-SS shadow
      "nop\n"                                     // +0x10: one trap for both
      "pushfq\nand qword [rsp], ~0x100\npopfq\n"  // +0x11: POPF clears TF, still traps after it
      "nop\nhlt\n");
  auto res = r.run(200);
  REQUIRE(res.reason == sim::StopReason::kHalted);
  const uint64_t expect[] = {kCode + 0x0B, kCode + 0x0E, kCode + 0x11, kCode + 0x12,
                             kCode + 0x1A, kCode + 0x1B};
  for (unsigned i = 0; i < r.reg(isa::R12); i++) UNSCOPED_INFO("trap at " << std::hex << r.log_rip(i));
  REQUIRE(r.reg(isa::R12) == 6);
  for (unsigned i = 0; i < 6; i++) {
    INFO("trap " << i);
    CHECK(r.log_rip(i) == expect[i]);
    CHECK(r.log_dr6(i) & isa::DR6_BS);
  }
  CHECK(r.cpu().sys.exceptions[isa::VEC_DB] == 6);
}

TEST_CASE("instruction breakpoint: #DB fault before the instruction, RF passes it once",
          "[debug]") {
  DbgRig r;
  r.code("mov ecx, 1\nmov dr0, rax\nmov dr7, rdx\nnop\ninc ecx\ninc ecx\nhlt");
  r.cpu().r[isa::RAX] = kCode + 12;  // the first INC
  r.cpu().r[isa::RDX] = 0x1;         // L0, R/W = 00 (execute), LEN = 00
  auto res = r.run(200);
  REQUIRE(res.reason == sim::StopReason::kHalted);
  CHECK(r.reg(isa::R12) == 1);
  CHECK(r.log_rip(0) == kCode + 12);  // a fault: RIP of the INC, not yet executed
  CHECK((r.log_dr6(0) & 0xF) == 1);   // B0
  CHECK((r.reg(isa::RCX) & 0xFF) == 3);  // both INCs ran after the handler
}

TEST_CASE("data breakpoint: a trap after the writing instruction", "[debug]") {
  DbgRig r;
  r.code("mov dr1, rax\nmov dr7, rdx\nmov dword [0x300000], 5\nmov ecx, [0x300000]\nnop\nhlt");
  r.cpu().r[isa::RAX] = 0x300000;
  r.cpu().r[isa::RDX] = 0x4 | (1u << 20) | (3u << 22);  // L1, R/W = 01 (write), LEN = 4 bytes
  auto res = r.run(200);
  REQUIRE(res.reason == sim::StopReason::kHalted);
  CHECK(r.reg(isa::R12) == 1);                       // the read does not match
  CHECK(r.log_rip(0) == kCode + 6 + 11);             // after the store
  CHECK((r.log_dr6(0) & 0xF) == 2);                  // B1
}

TEST_CASE("I/O breakpoint with CR4.DE: a trap after OUT", "[debug]") {
  DbgRig r;
  r.cpu().cr4 |= 1u << 3;
  r.code("mov dr2, rax\nmov dr7, rdx\nmov al, 1\nout 0x80, al\nnop\nhlt");
  r.cpu().r[isa::RAX] = 0x80;
  r.cpu().r[isa::RDX] = 0x10 | (2u << 24);  // L2, R/W = 10 (I/O), LEN = 1
  auto res = r.run(200);
  REQUIRE(res.reason == sim::StopReason::kHalted);
  CHECK(r.reg(isa::R12) == 1);
  CHECK(r.log_rip(0) == kCode + 6 + 2 + 2);
  CHECK((r.log_dr6(0) & 0xF) == 4);  // B2
}

TEST_CASE("MOV DR: DR4/DR5 alias DR6/DR7 unless CR4.DE, reserved bits, general detect",
          "[debug]") {
  DbgRig r;
  SECTION("alias with CR4.DE = 0") {
    r.code("mov rax, dr5\nhlt");
    auto res = r.run(100);
    REQUIRE(res.reason == sim::StopReason::kHalted);
    CHECK(r.reg(isa::RAX) == 0x400);
  }
  SECTION("#UD with CR4.DE = 1") {
    r.cpu().cr4 |= 1u << 3;
    r.code("mov rax, dr4\nhlt");
    auto res = r.run(100);
    REQUIRE(res.reason == sim::StopReason::kHalted);
    CHECK(r.reg(isa::R8) == 6);
  }
  SECTION("upper half of DR7: #GP(0)") {
    r.code("mov rax, 0x100000000\nmov dr7, rax\nhlt");
    auto res = r.run(100);
    REQUIRE(res.reason == sim::StopReason::kHalted);
    CHECK(r.reg(isa::R8) == 13);
    CHECK(r.reg(isa::R9) == 0);
  }
  SECTION("DR7.GD: the next MOV DR is a #DB fault with BD, GD cleared for the handler") {
    r.code("mov eax, 0x2000\nmov dr7, rax\nmov rcx, dr0\nhlt");
    auto res = r.run(100);
    REQUIRE(res.reason == sim::StopReason::kHalted);
    CHECK(r.reg(isa::R12) == 1);
    CHECK(r.log_rip(0) == kCode + 5 + 3);  // the MOV from DR0, which then ran after IRET
    CHECK(r.log_dr6(0) & isa::DR6_BD);
    CHECK((r.cpu().dr[7] & 0x2000) == 0);
  }
  SECTION("CPL 3: #GP(0)") {
    // Reuse the fast path: a flat CPL 3 stack and code via IRETQ need user pages.
    r.w64(sim::kLoaderPml4, r.r64(sim::kLoaderPml4) | 4);
    for (unsigned i = 0; i < 4; i++)
      r.w64(sim::kLoaderPml4 + 0x1000 + i * 8, r.r64(sim::kLoaderPml4 + 0x1000 + i * 8) | 4);
    r.w64(kGdt + 0x18, systest::code64(3));
    r.w64(kGdt + 0x20, systest::data32(3));
    r.cpu().gdtr.limit = 0x27;
    r.cpu().kernel_gs_base = 0;
    r.w64(0x6004, 0x90000);  // RSP0 of a 64-bit TSS at 0x6000
    r.w64(kGdt + 0x28, systest::seg_desc(0x6000, 0x67, 0xB, false, 0, true, 0));
    r.cpu().gdtr.limit = 0x37;
    r.cpu().tr = {0x28, 0x8B, 0x67, 0x6000};
    r.code("push 0x23\npush 0x7ff00\npush 0x2\npush 0x1b\npush user\niretq\nuser: mov rax, dr7\n");
    auto res = r.run(100);
    REQUIRE(res.reason == sim::StopReason::kHalted);
    CHECK(r.reg(isa::R8) == 13);
  }
}
