// Properties of the execution engine: exact self-modifying code, precise faults,
// exact instruction limits, blocks across page boundaries, guest-memory isolation.
#include <catch2/catch.hpp>

#include <cstring>

#include "sim/loader.h"
#include "sim/machine.h"
#include "tests/sim/elf_builder.h"

namespace {

struct Rig {
  sim::Machine m;
  explicit Rig(const std::vector<uint8_t>& code, uint64_t at = 0x100000) : m(config()) {
    std::memcpy(m.mem().ram() + at, code.data(), code.size());
    m.reset_long_mode(at, sim::kLoaderStack);
  }
  static sim::MachineConfig config() {
    sim::MachineConfig c;
    c.ram_bytes = 4 << 20;
    return c;
  }
  sim::RunResult run(uint64_t max = 1000000) {
    sim::RunLimits l;
    l.max_insns = max;
    return m.run(l);
  }
  uint64_t reg(unsigned r) { return m.cpu().r[r]; }
};

}  // namespace

TEST_CASE("self-modifying code inside the executing block is exact", "[engine]") {
  // 0x100000: mov byte [rip+1], 0x05   ; patch the immediate of the next mov (C6 05 disp32 imm8)
  //           mov eax, 0x01             ; B8 01 00 00 00 -> after patch: mov eax, 5? no: patch imm
  //           hlt
  // The store rewrites the first immediate byte of the following instruction, which
  // is already decoded in the same block; the new value must be the one executed.
  std::vector<uint8_t> code = {
      0xC6, 0x05, 0x01, 0x00, 0x00, 0x00, 0x05,  // mov byte [rip+1], 5  (next insn + 1 = imm)
      0xB8, 0x01, 0x00, 0x00, 0x00,              // mov eax, 1
      0xF4};
  Rig r(code);
  auto res = r.run();
  CHECK(res.reason == sim::StopReason::kHalted);
  CHECK(r.reg(isa::RAX) == 5);
  CHECK(r.m.code().counters.invalidations >= 1);
}

// The rig has no IDT (IDTR base 0 over zeroed RAM): every exception is delivered
// through a not-present gate, which escalates to #DF and then a triple fault
// (SDM Vol. 3A 6.15). The shutdown reports the first exception of that chain, and
// the state is still the one before the faulting instruction.
TEST_CASE("a fault leaves the state as before the faulting instruction", "[engine]") {
  // mov eax, 7 ; mov ecx, 9 ; ud2 ; (never) mov eax, 1
  std::vector<uint8_t> code = {0xB8, 0x07, 0, 0, 0, 0xB9, 0x09, 0, 0, 0, 0x0F, 0x0B,
                               0xB8, 0x01, 0, 0, 0};
  Rig r(code);
  auto res = r.run();
  REQUIRE(res.reason == sim::StopReason::kShutdown);
  CHECK(res.fault.vector == isa::VEC_UD);
  CHECK(res.fault_rip == 0x10000A);
  CHECK(r.m.cpu().rip() == 0x10000A);
  CHECK(r.reg(isa::RAX) == 7);
  CHECK(r.reg(isa::RCX) == 9);
  CHECK(r.m.cpu().icount == 2);
}

TEST_CASE("a store to a non-canonical address faults precisely", "[engine]") {
  // mov rax, 0x0000800000000000 ; mov ecx, 3 ; mov [rax], ecx ; hlt
  std::vector<uint8_t> code = {0x48, 0xB8, 0, 0, 0, 0, 0, 0x80, 0, 0,
                               0xB9, 0x03, 0, 0, 0, 0x89, 0x08, 0xF4};
  Rig r(code);
  auto res = r.run();
  REQUIRE(res.reason == sim::StopReason::kShutdown);
  CHECK(res.fault.vector == isa::VEC_GP);
  CHECK(res.fault_rip == 0x10000F);
}

TEST_CASE("a non-canonical stack access is #SS(0), other data accesses #GP(0)", "[engine]") {
  // mov rsp, 0x0000800000000008 ; push rax   -> #SS(0) at the push
  std::vector<uint8_t> push = {0x48, 0xBC, 0x08, 0, 0, 0, 0, 0x80, 0, 0, 0x50, 0xF4};
  Rig r(push);
  auto res = r.run();
  REQUIRE(res.reason == sim::StopReason::kShutdown);
  CHECK(res.fault.vector == isa::VEC_SS);
  CHECK(res.fault.error == 0);
  CHECK(res.fault_rip == 0x10000A);
  CHECK(r.reg(isa::RSP) == 0x0000800000000008ull);  // precise: RSP not yet decremented
  // mov rbp, 0x0000800000000000 ; mov eax, [rbp]  (SS is the default segment of RBP)
  std::vector<uint8_t> viarbp = {0x48, 0xBD, 0, 0, 0, 0, 0, 0x80, 0, 0, 0x8B, 0x45, 0x00, 0xF4};
  Rig r2(viarbp);
  CHECK(r2.run().fault.vector == isa::VEC_SS);
  // mov rbx, 0x0000800000000000 ; inc dword [rbx] : #GP
  std::vector<uint8_t> viarbx = {0x48, 0xBB, 0, 0, 0, 0, 0, 0x80, 0, 0, 0xFF, 0x03, 0xF4};
  Rig r3(viarbx);
  CHECK(r3.run().fault.vector == isa::VEC_GP);
}

TEST_CASE("instruction limits are exact, also inside a block", "[engine]") {
  // An endless block of incs: inc eax x 10 ; jmp back.
  std::vector<uint8_t> code;
  for (int i = 0; i < 10; i++) code.insert(code.end(), {0xFF, 0xC0});
  code.insert(code.end(), {0xEB, 0xEA});  // jmp -22
  Rig r(code);
  auto res = r.run(1234);
  CHECK(res.reason == sim::StopReason::kLimit);
  CHECK(r.m.cpu().icount == 1234);
  // 1234 = 112 iterations of 11 instructions (1232) + 2 incs.
  CHECK(r.reg(isa::RAX) == 112 * 10 + 2);
}

TEST_CASE("an instruction straddling a page boundary executes and is tracked on both pages",
          "[engine]") {
  // mov eax, 0x11223344 placed so that it crosses 0x101000; then hlt.
  std::vector<uint8_t> code = {0xB8, 0x44, 0x33, 0x22, 0x11, 0xF4};
  Rig r(code, 0x100FFD);
  auto res = r.run();
  CHECK(res.reason == sim::StopReason::kHalted);
  CHECK(r.reg(isa::RAX) == 0x11223344);
  CHECK(r.m.mem().page_has_code(0x100000));
  CHECK(r.m.mem().page_has_code(0x101000));
}

TEST_CASE("accesses beyond RAM never reach host memory", "[engine]") {
  // mov rax, 0x40000000 (1 GiB, beyond the 4 MiB of RAM) ; mov ecx, [rax] ; mov [rax], ecx ; hlt
  std::vector<uint8_t> code = {0x48, 0xB8, 0, 0, 0, 0x40, 0, 0, 0, 0,
                               0x8B, 0x08, 0x89, 0x08, 0xF4};
  Rig r(code);
  auto res = r.run();
  CHECK(res.reason == sim::StopReason::kHalted);
  CHECK(uint32_t(r.reg(isa::RCX)) == 0xFFFFFFFFu);  // unassigned reads as all-ones
  CHECK(r.m.mem().counters().unassigned_reads == 1);
  CHECK(r.m.mem().counters().unassigned_writes == 1);
}

TEST_CASE("the exit device stops the run with the value written", "[engine]") {
  // mov eax, 0x2a ; out 0xf4, eax
  std::vector<uint8_t> code = {0xB8, 0x2A, 0, 0, 0, 0xE7, 0xF4, 0xF4};
  Rig r(code);
  auto res = r.run();
  CHECK(res.reason == sim::StopReason::kExitDevice);
  CHECK(res.exit_value == 0x2A);
}

TEST_CASE("a long REP string yields and resumes, retiring once", "[engine]") {
  // mov edi, 0x200000 ; mov ecx, 300000 ; mov al, 0x5A ; rep stosb ; mov ebx, 1 ; hlt
  std::vector<uint8_t> code = {0xBF, 0x00, 0x00, 0x20, 0x00, 0xB9, 0xE0, 0x93, 0x04, 0x00,
                               0xB0, 0x5A, 0xF3, 0xAA, 0xBB, 0x01, 0, 0, 0, 0xF4};
  SECTION("64-bit, fast path") {
    Rig r(code);
    auto res = r.run();
    CHECK(res.reason == sim::StopReason::kHalted);
    CHECK(r.m.cpu().icount == 6);  // HLT retires too
    CHECK(r.reg(isa::RCX) == 0);
    CHECK(r.reg(isa::RDI) == 0x200000 + 300000);
    CHECK(r.reg(isa::RBX) == 1);
    const uint8_t* ram = r.m.mem().ram();
    CHECK(ram[0x200000] == 0x5A);
    CHECK(ram[0x200000 + 299999] == 0x5A);
    CHECK(ram[0x200000 + 300000] == 0);
  }
  SECTION("a cycle limit stops inside the REP, which has not retired, and it resumes") {
    Rig r(code);
    sim::RunLimits l;
    l.max_cycles = 20000;  // elements cost a cycle each: a few chunks of 4096
    auto res = r.m.run(l);
    CHECK(res.reason == sim::StopReason::kLimit);
    CHECK(r.m.cpu().rip() == 0x10000C);  // still on the REP
    CHECK(r.m.cpu().icount == 3);         // the three movs
    CHECK(r.reg(isa::RCX) < 300000);
    CHECK(r.reg(isa::RCX) > 0);
    CHECK(r.reg(isa::RDI) == 0x200000 + (300000 - r.reg(isa::RCX)));
    auto res2 = r.run();  // and it resumes to completion
    CHECK(res2.reason == sim::StopReason::kHalted);
    CHECK(r.reg(isa::RCX) == 0);
    CHECK(r.reg(isa::RBX) == 1);
    CHECK(r.m.cpu().icount == 6);
  }
  SECTION("32-bit protected mode, element by element") {
    sim::MachineConfig cfg = Rig::config();
    sim::Machine m(cfg);
    std::memcpy(m.mem().ram() + 0x100000, code.data(), code.size());
    m.reset_protected32(0x100000, 0x80000);
    sim::RunLimits l;
    l.max_insns = 1000;
    auto res = m.run(l);
    CHECK(res.reason == sim::StopReason::kHalted);
    CHECK(m.cpu().icount == 6);
    CHECK(m.cpu().r[isa::RCX] == 0);
    CHECK(m.mem().ram()[0x200000 + 299999] == 0x5A);
  }
}

// ---- superblocks (sim/code_cache.h) ------------------------------------------------

namespace {

// mov ecx, 5 ; l: add eax, 2 ; test cl, 1 ; jz skip ; add eax, 10 ; skip: dec ecx ;
// jnz l ; call f ; jmp over ; ud2 x 3 ; over: add eax, 1000 ; hlt ; (0x100030) f: add
// eax, 100 ; ret. The forward JZ is taken for even ECX (side exits); the backward JNZ
// ends its block; CALL and JMP are followed, and so is f's RET (to the call's return).
std::vector<uint8_t> superblock_code() {
  std::vector<uint8_t> code = {
      0xB9, 0x05, 0x00, 0x00, 0x00,        // 0x100000 mov ecx, 5
      0x83, 0xC0, 0x02,                    // 0x100005 add eax, 2
      0xF6, 0xC1, 0x01,                    // 0x100008 test cl, 1
      0x74, 0x03,                          // 0x10000B jz 0x100010
      0x83, 0xC0, 0x0A,                    // 0x10000D add eax, 10
      0xFF, 0xC9,                          // 0x100010 dec ecx
      0x75, 0xF1,                          // 0x100012 jnz 0x100005
      0xE8, 0x17, 0x00, 0x00, 0x00,        // 0x100014 call 0x100030
      0xEB, 0x06,                          // 0x100019 jmp 0x100021
      0x0F, 0x0B, 0x0F, 0x0B, 0x0F, 0x0B,  // 0x10001B ud2 x 3 (jumped over)
      0x05, 0xE8, 0x03, 0x00, 0x00,        // 0x100021 add eax, 1000
      0xF4};                               // 0x100026 hlt
  code.resize(0x30, 0x90);
  code.insert(code.end(), {0x83, 0xC0, 0x64,  // 0x100030 add eax, 100
                           0xC3});            // 0x100033 ret
  return code;
}

uint64_t form_count(sim::Machine& m, isa::Form f) {
  m.code().fold_executions();
  return m.code().form_executions()[unsigned(f)];
}

uint64_t forms_total(sim::Machine& m) {
  m.code().fold_executions();
  uint64_t sum = 0;
  for (unsigned i = 0; i < isa::kFormCount; i++) sum += m.code().form_executions()[i];
  return sum;
}

}  // namespace

TEST_CASE("superblocks: on past branches, left at taken ones, as one instruction at a time",
          "[engine]") {
  Rig blocks(superblock_code());
  auto res = blocks.run();
  REQUIRE(res.reason == sim::StopReason::kHalted);
  CHECK(blocks.reg(isa::RAX) == 5 * 2 + 3 * 10 + 100 + 1000);
  // mov, 5 x (add, test, jz, dec, jnz) + 3 x add (odd ECX), call, add, ret, jmp, add,
  // hlt (HLT retires, then halts)
  const uint64_t expected = 1 + 25 + 3 + 3 + 1 + 1 + 1;
  CHECK(blocks.m.cpu().icount == expected);
  // Every retired instruction is attributed to its form, side exits included.
  CHECK(forms_total(blocks.m) == blocks.m.cpu().icount);
  CHECK(form_count(blocks.m, isa::Form::jcc_jb) == 10);
  CHECK(blocks.m.code().counters.side_exits == 2);  // JZ taken for ECX = 4 and 2
  CHECK(form_count(blocks.m, isa::Form::ud2) == 0);

  // The same program with an instruction limit at every boundary (execute_some).
  Rig steps(superblock_code());
  sim::RunResult r;
  for (uint64_t i = 1; i < 100; i++) {
    r = steps.run(i);
    if (r.reason != sim::StopReason::kLimit) break;
  }
  CHECK(r.reason == sim::StopReason::kHalted);
  CHECK(steps.reg(isa::RAX) == blocks.reg(isa::RAX));
  CHECK(steps.m.cpu().icount == blocks.m.cpu().icount);
  CHECK(steps.m.cpu().cycles == blocks.m.cpu().cycles);
  CHECK(forms_total(steps.m) == steps.m.cpu().icount);
}

TEST_CASE("superblocks: a fault after a not-taken branch is precise", "[engine]") {
  // xor ecx, ecx ; mov eax, 7 ; jnz +0 (not taken) ; mov eax, 8 ; ud2
  std::vector<uint8_t> code = {0x31, 0xC9, 0xB8, 0x07, 0, 0, 0, 0x75, 0x00,
                               0xB8, 0x08, 0, 0, 0, 0x0F, 0x0B};
  Rig r(code);
  auto res = r.run();
  REQUIRE(res.reason == sim::StopReason::kShutdown);
  CHECK(res.fault.vector == isa::VEC_UD);
  CHECK(res.fault_rip == 0x10000E);
  CHECK(r.reg(isa::RAX) == 8);
  CHECK(r.m.cpu().icount == 4);
  CHECK(forms_total(r.m) == 4);
}

TEST_CASE("superblocks: self-modifying code after a not-taken branch is exact", "[engine]") {
  // xor ecx, ecx ; jnz +0 (not taken) ; mov byte [rip+1], 5 ; mov eax, 1 ; hlt
  std::vector<uint8_t> code = {0x31, 0xC9, 0x75, 0x00, 0xC6, 0x05, 0x01, 0x00, 0x00, 0x00,
                               0x05, 0xB8, 0x01, 0x00, 0x00, 0x00, 0xF4};
  Rig r(code);
  auto res = r.run();
  CHECK(res.reason == sim::StopReason::kHalted);
  CHECK(r.reg(isa::RAX) == 5);
  CHECK(r.m.code().counters.invalidations >= 1);
  CHECK(forms_total(r.m) == r.m.cpu().icount);
}

TEST_CASE("superblocks: a JMP/CALL target on another page ends the block", "[engine]") {
  // 0x100FF0: call 0x101000 ; hlt ... 0x101000: mov eax, 9 ; ret
  std::vector<uint8_t> code(0x20, 0x90);
  const uint8_t call[] = {0xE8, 0x0B, 0x00, 0x00, 0x00, 0xF4};  // to 0x100FF5 + 0xB
  std::memcpy(code.data(), call, sizeof call);
  const uint8_t f[] = {0xB8, 0x09, 0x00, 0x00, 0x00, 0xC3};
  std::memcpy(code.data() + 0x10, f, sizeof f);
  Rig r(code, 0x100FF0);
  auto res = r.run();
  CHECK(res.reason == sim::StopReason::kHalted);
  CHECK(r.reg(isa::RAX) == 9);
  CHECK(r.m.cpu().icount == 4);  // call, mov, ret, hlt
  // The call's block is one instruction long: the target lies on the next page.
  // Blocks: call | mov, ret | hlt.
  CHECK(r.m.code().counters.insts_decoded == 4);
}
