// Segment-register loads, far transfers, call gates, mode transitions and the
// descriptor probes (LAR/LSL/VERR/VERW/ARPL), with the exact vector and error code
// of every failing check (SDM Vol. 3A chapters 3 and 5, Vol. 2 instruction pages).
#include "tests/sys/seg_rig.h"

using namespace segtest;
using isa::CS;
using isa::DS;
using isa::ES;
using isa::FS;
using isa::GS;
using isa::SS;
using isa::VEC_GP;
using isa::VEC_NP;
using isa::VEC_SS;
using isa::VEC_TS;
using isa::VEC_UD;

namespace {

// Runs `body` (32-bit code at CPL 0) after `setup` customised the rig.
template <class F>
sim::RunResult run_pm32(SegRig& r, const std::string& body, F setup) {
  r.pm32();
  setup(r);
  r.asm32(body);
  return r.run();
}
sim::RunResult run_pm32(SegRig& r, const std::string& body) {
  return run_pm32(r, body, [](SegRig&) {});
}

// Drops to CPL 3 (flat ring-3 code and data) with RETF, then runs `body`.
std::string at_cpl3(const std::string& body) {
  return "push dword 0x23\npush dword 0x70000\npush dword 0x1B\npush dword ring3\nretf\n"
         "ring3:\n" + body;
}

}  // namespace

TEST_CASE("MOV DS loads the descriptor cache and sets the accessed bit", "[seg]") {
  SegRig r;
  auto res = run_pm32(r, "mov ax, 0x70\nmov ds, ax\nmov eax, [0x10]\nhlt\n", [](SegRig& r) {
    r.gdt(0x70, seg_desc(0x20000, 0xFF, 0x2, true, 0, true, 0x4));  // r/w data, not accessed
    r.w32(0x20010, 0xCAFEF00D);
  });
  expect_halt(res);
  const isa::SegmentReg& ds = r.cpu().seg[DS];
  CHECK(ds.selector == 0x70);
  CHECK(ds.base == 0x20000);
  CHECK(ds.limit == 0xFF);
  CHECK(ds.attr == 0x4093);
  CHECK(r.reg(isa::RAX) == 0xCAFEF00D);
  CHECK(((r.gdt_entry(0x70) >> 40) & 1) == 1);  // accessed
}

TEST_CASE("data-segment load checks: #GP(sel), #NP(sel), null selectors", "[seg]") {
  SegRig r;
  SECTION("null DS is allowed; using it is #GP(0)") {
    auto res = run_pm32(r, "xor eax, eax\nmov ds, ax\nmov ebx, 1\nmov eax, [0]\nhlt\n");
    expect_exception(res, VEC_GP, 0);
    CHECK(r.reg(isa::RBX) == 1);
    CHECK(r.cpu().seg[DS].selector == 0);
  }
  SECTION("beyond the GDT limit") {
    auto res = run_pm32(r, "mov ax, 0x203\nmov ds, ax\nhlt\n");
    expect_exception(res, VEC_GP, 0x200);
  }
  SECTION("LDT selector with a null LDTR") {
    auto res = run_pm32(r, "mov ax, 0x0C\nmov es, ax\nhlt\n");
    expect_exception(res, VEC_GP, 0x0C);
  }
  SECTION("system descriptor") {
    auto res = run_pm32(r, "mov ax, 0x28\nmov fs, ax\nhlt\n");
    expect_exception(res, VEC_GP, 0x28);
  }
  SECTION("execute-only code is #GP, readable code loads") {
    auto res = run_pm32(r, "mov ax, 0x78\nmov gs, ax\nmov ax, 0x70\nmov gs, ax\nhlt\n", [](SegRig& r) {
      r.gdt(0x70, seg_desc(0, 0xFFFFF, 0x8, true, 0));
      r.gdt(0x78, seg_desc(0, 0xFFFFF, 0xA, true, 0));
    });
    expect_exception(res, VEC_GP, 0x70);
    CHECK(r.cpu().seg[GS].selector == 0x78);
  }
  SECTION("RPL > DPL") {
    auto res = run_pm32(r, "mov ax, 0x13\nmov ds, ax\nhlt\n");
    expect_exception(res, VEC_GP, 0x10);
  }
  SECTION("CPL > DPL") {
    auto res = run_pm32(r, at_cpl3("mov ax, 0x10\nmov ds, ax\nhlt\n"));
    expect_exception(res, VEC_GP, 0x10);
  }
  SECTION("conforming readable code at any CPL") {
    auto res = run_pm32(r, at_cpl3("mov ax, 0x70\nmov ds, ax\nmov ax, 0x23\nmov ss, ax\nud2\n"),
                        [](SegRig& r) { r.gdt(0x70, seg_desc(0, 0xFFFFF, 0xE, true, 0)); });
    expect_exception(res, VEC_UD, 0);
    CHECK(r.cpu().seg[DS].selector == 0x70);
  }
  SECTION("not present") {
    auto res = run_pm32(r, "mov ax, 0x70\nmov es, ax\nhlt\n",
                        [](SegRig& r) { r.gdt(0x70, seg_desc(0, 0xFFFFF, 0x3, true, 0, false)); });
    expect_exception(res, VEC_NP, 0x70);
  }
  SECTION("MOV CS is #UD") {
    auto res = run_pm32(r, "db 0x8E, 0xC8\nhlt\n");
    expect_exception(res, VEC_UD, 0);
  }
}

TEST_CASE("stack-segment load checks: #GP(0), #GP(sel), #SS(sel)", "[seg]") {
  SegRig r;
  SECTION("null SS outside 64-bit mode") {
    auto res = run_pm32(r, "xor eax, eax\nmov ss, ax\nhlt\n");
    expect_exception(res, VEC_GP, 0);
  }
  SECTION("RPL != CPL") {
    auto res = run_pm32(r, "mov ax, 0x11\nmov ss, ax\nhlt\n");
    expect_exception(res, VEC_GP, 0x10);
  }
  SECTION("DPL != CPL") {
    auto res = run_pm32(r, "mov ax, 0x20\nmov ss, ax\nhlt\n");
    expect_exception(res, VEC_GP, 0x20);
  }
  SECTION("read-only data") {
    auto res = run_pm32(r, "mov ax, 0x70\nmov ss, ax\nhlt\n",
                        [](SegRig& r) { r.gdt(0x70, seg_desc(0, 0xFFFFF, 0x1, true, 0)); });
    expect_exception(res, VEC_GP, 0x70);
  }
  SECTION("code segment") {
    auto res = run_pm32(r, "mov ax, 0x08\nmov ss, ax\nhlt\n");
    expect_exception(res, VEC_GP, 0x08);
  }
  SECTION("not present") {
    auto res = run_pm32(r, "mov ax, 0x70\nmov ss, ax\nhlt\n",
                        [](SegRig& r) { r.gdt(0x70, seg_desc(0, 0xFFFFF, 0x3, true, 0, false)); });
    expect_exception(res, VEC_SS, 0x70);
  }
  SECTION("a 16-bit stack segment changes the stack-address size") {
    auto res = run_pm32(r, "mov ax, 0x38\nmov ss, ax\nmov esp, 0x12340010\npush eax\nhlt\n");
    expect_halt(res);
    CHECK(r.reg(isa::RSP) == 0x1234000C);
    CHECK(r.r32(0x000C) == 0x38);
  }
}

TEST_CASE("MOV SS and POP SS set the MOV-SS shadow", "[seg]") {
  SegRig r;
  r.pm32();
  r.asm32("mov ax, 0x10\nmov ss, ax\npop ss\nhlt\n");
  r.cpu().r[isa::RSP] = kStack0 - 4;
  r.w32(kStack0 - 4, 0x10);
  isa::Cpu& c = r.cpu();
  // Run the loads by hand: the shadow is consumed at the next instruction boundary.
  r.m.step_one();
  r.m.step_one();
  CHECK((c.ev.shadow & isa::SHADOW_MOV_SS) != 0);
}

TEST_CASE("null SS in 64-bit mode: allowed at CPL < 3 with RPL = CPL", "[seg]") {
  SegRig r;
  SECTION("RPL 0 at CPL 0") {
    r.lm64();
    r.asm64("xor eax, eax\nmov ss, ax\npush 5\npop rbx\nhlt\n");
    expect_halt(r.run());
    CHECK(r.reg(isa::RBX) == 5);
    CHECK(r.cpu().seg[SS].selector == 0);
    CHECK(r.cpu().cpl == 0);
  }
  SECTION("RPL 1 at CPL 0") {
    r.lm64();
    r.asm64("mov eax, 1\nmov ss, ax\nhlt\n");
    expect_exception(r.run(), VEC_GP, 0);
  }
}

TEST_CASE("POP Sreg and LDS/LES/LSS/LFS/LGS", "[seg]") {
  SegRig r;
  SECTION("POP DS/ES/FS/GS/SS") {
    auto res = run_pm32(r,
                        "push dword 0x10\npop ds\npush word 0x10\no16 pop es\npush dword 0x10\npop fs\n"
                        "push dword 0x70\npop gs\nmov ebx, esp\npush dword 0x10\npop ss\nhlt\n",
                        [](SegRig& r) { r.gdt(0x70, seg_desc(0x1000, 0xFFF, 0x3, true, 0)); });
    expect_halt(res);
    CHECK(r.cpu().seg[GS].base == 0x1000);
    CHECK(r.reg(isa::RSP) == r.reg(isa::RBX));
    CHECK(r.reg(isa::RSP) == kStack0);
  }
  SECTION("POP DS with a bad selector leaves ESP unchanged") {
    auto res = run_pm32(r, "push dword 0x28\nmov ebx, esp\npop ds\nhlt\n");
    expect_exception(res, VEC_GP, 0x28);
    CHECK(r.reg(isa::RSP) == r.reg(isa::RBX));
  }
  SECTION("LSS and LFS with 32-bit offsets") {
    auto res = run_pm32(r,
                        "lss esp, [ptr]\nlfs ebx, [ptr2]\nhlt\nptr: dd 0x7FF0\ndw 0x38\n"
                        "ptr2: dd 0x12345678\ndw 0x70\n",
                        [](SegRig& r) { r.gdt(0x70, seg_desc(0x3000, 0xFFF, 0x3, true, 0)); });
    expect_halt(res);
    CHECK(r.reg(isa::RSP) == 0x7FF0);
    CHECK(r.cpu().seg[SS].selector == 0x38);
    CHECK(r.reg(isa::RBX) == 0x12345678);
    CHECK(r.cpu().seg[FS].base == 0x3000);
  }
  SECTION("LES with a bad selector does not write the register") {
    auto res = run_pm32(r, "mov ebx, 7\nles ebx, [ptr]\nhlt\nptr: dd 0x11\ndw 0x28\n");
    expect_exception(res, VEC_GP, 0x28);
    CHECK(r.reg(isa::RBX) == 7);
  }
}

TEST_CASE("real mode: segment loads set base = selector << 4 and keep the limit", "[seg]") {
  SegRig r;
  r.m.reset_real_mode(0x7C00, 0x7000);
  r.asm_at(0x7C00, "bits 16\norg 0x7C00\nmov ax, 0x2000\nmov ds, ax\nmov bx, [0x10]\n"
                   "push word 0x3000\npop es\nlds si, [0x20]\nhlt\n");
  r.w16(0x20010, 0xBEEF);
  r.w16(0x20020, 0x1234);
  r.w16(0x20022, 0x4000);
  expect_halt(r.run());
  CHECK(r.reg(isa::RBX) == 0xBEEF);
  CHECK(r.cpu().seg[ES].base == 0x30000);
  CHECK(r.cpu().seg[DS].base == 0x40000);
  CHECK(r.cpu().seg[DS].selector == 0x4000);
  CHECK(r.cpu().seg[DS].limit == 0xFFFF);
  CHECK((r.reg(isa::RSI) & 0xFFFF) == 0x1234);
}

TEST_CASE("far JMP/CALL/RETF to code segments in protected mode", "[seg]") {
  SegRig r;
  SECTION("same privilege, 32-bit and 16-bit operand size") {
    auto res = run_pm32(r,
                        "call 0x08:f32\nmov ebx, eax\ncall word 0x70:(f16 - 0x10000)\n"
                        "f32: mov eax, [esp+4]\nretf\n"
                        "bits 16\nf16: mov cx, sp\nmov edx, [esp]\njmp dword 0x08:done\nbits 32\n"
                        "done: hlt\n",
                        [](SegRig& r) { r.gdt(0x70, seg_desc(0x10000, 0xFFFF, 0xB, true, 0, true, 0)); });
    expect_halt(res);
    CHECK(r.reg(isa::RBX) == 0x08);
    CHECK((r.reg(isa::RCX) & 0xFFFF) == ((kStack0 - 4) & 0xFFFF));
    CHECK((r.reg(isa::RDX) >> 16) == 0x08);  // 16-bit CS:IP pushed
    CHECK(r.reg(isa::RSP) == kStack0 - 4);
    CHECK(r.cpu().seg[CS].selector == 0x08);
  }
  SECTION("conforming code keeps CPL 3 and gets RPL 3") {
    auto res = run_pm32(r, at_cpl3("jmp 0x48:conf\nconf: mov eax, cs\nud2\n"));
    expect_exception(res, VEC_UD, 0);
    CHECK(r.cpu().cpl == 3);
    CHECK(r.reg(isa::RAX) == 0x4B);
  }
  SECTION("conforming DPL > CPL") {
    auto res = run_pm32(r, "jmp 0x70:0\n", [](SegRig& r) { r.gdt(0x70, code32(3, true)); });
    expect_exception(res, VEC_GP, 0x70);
  }
  SECTION("non-conforming DPL != CPL") {
    auto res = run_pm32(r, "jmp 0x18:0\n");
    expect_exception(res, VEC_GP, 0x18);
  }
  SECTION("non-conforming RPL > CPL") {
    auto res = run_pm32(r, "call 0x0B:0\n");
    expect_exception(res, VEC_GP, 0x08);
  }
  SECTION("data segment") {
    auto res = run_pm32(r, "jmp 0x10:0\n");
    expect_exception(res, VEC_GP, 0x10);
  }
  SECTION("null selector") {
    auto res = run_pm32(r, "jmp 0x03:0\n");
    expect_exception(res, VEC_GP, 0);
  }
  SECTION("not present") {
    auto res = run_pm32(r, "call 0x70:0\n",
                        [](SegRig& r) { r.gdt(0x70, seg_desc(0, 0xFFFFF, 0xB, true, 0, false)); });
    expect_exception(res, VEC_NP, 0x70);
  }
  SECTION("offset beyond the limit") {
    auto res = run_pm32(r, "mov ebx, esp\ncall 0x70:0x1000\n",
                        [](SegRig& r) { r.gdt(0x70, seg_desc(0, 0xFFF, 0xB, true, 0, true, 0x4)); });
    expect_exception(res, VEC_GP, 0);
    CHECK(r.reg(isa::RSP) == r.reg(isa::RBX));
  }
  SECTION("RETF to a lower-privileged RPL < CPL is #GP(sel)") {
    auto res = run_pm32(r, at_cpl3("push dword 0x08\npush dword 0\nretf\n"));
    expect_exception(res, VEC_GP, 0x08);
  }
}

TEST_CASE("RETF to an outer privilege level nulls inaccessible data segments", "[seg]") {
  SegRig r;
  auto res = run_pm32(r,
                      "mov ax, 0x10\nmov ds, ax\nmov ax, 0x23\nmov es, ax\nmov ax, 0x48\nmov fs, ax\n"
                      "push dword 0x23\npush dword 0x70000\npush dword 0x1B\npush dword ring3\n"
                      "retf 0\nring3: mov eax, ds\nmov ebx, es\nmov ecx, fs\nmov edx, ss\nud2\n");
  expect_exception(res, VEC_UD, 0);
  CHECK(r.cpu().cpl == 3);
  CHECK(r.reg(isa::RAX) == 0);      // DPL 0 data: nulled
  CHECK(r.reg(isa::RBX) == 0x23);   // DPL 3 data: kept
  CHECK(r.reg(isa::RCX) == 0x48);   // conforming code: kept
  CHECK(r.reg(isa::RDX) == 0x23);
  CHECK(r.reg(isa::RSP) == 0x70000);
}

TEST_CASE("RETF to an outer level: SS checks", "[seg]") {
  SegRig r;
  SECTION("null SS") {
    auto res = run_pm32(r, "push dword 0\npush dword 0x70000\npush dword 0x1B\npush dword 0\nretf\n");
    expect_exception(res, VEC_GP, 0);
  }
  SECTION("SS RPL != CS RPL") {
    auto res = run_pm32(r, "push dword 0x22\npush dword 0x70000\npush dword 0x1B\npush dword 0\nretf\n");
    expect_exception(res, VEC_GP, 0x20);
  }
  SECTION("SS DPL != RPL") {
    auto res = run_pm32(r, "push dword 0x13\npush dword 0x70000\npush dword 0x1B\npush dword 0\nretf\n");
    expect_exception(res, VEC_GP, 0x10);
  }
  SECTION("SS not present") {
    auto res = run_pm32(r, "push dword 0x73\npush dword 0x70000\npush dword 0x1B\npush dword 0\nretf\n",
                        [](SegRig& r) { r.gdt(0x70, seg_desc(0, 0xFFFFF, 0x3, true, 3, false)); });
    expect_exception(res, VEC_SS, 0x70);
  }
}

TEST_CASE("call gates: privilege change with stack switch and parameter copy", "[seg]") {
  SegRig r;
  // Gate 0x70 (DPL 3, 2 dword parameters) to ring-0 code at `kernel`; ring 3 calls it
  // with three values on its stack, ring 0 reads them and returns with RETF 8.
  const std::string body = at_cpl3(
      "mov ax, 0x23\nmov ds, ax\npush dword 0x11\npush dword 0x22\npush dword 0x33\n"
      "call 0x73:0\nmov edi, esp\nud2\n"
      "kernel: mov eax, [esp+8]\nmov ebx, [esp+12]\nmov ecx, [esp+16]\nmov edx, [esp+20]\n"
      "mov esi, ss\nmov ebp, esp\nretf 8\n");
  auto bytes = systest::nasm("bits 32\norg 0x10000\n" + body);
  const std::string sym = "kernel:";
  SECTION("32-bit gate") {
    r.pm32();
    r.load(kCode, bytes);
    // Find `kernel` by assembling the prefix: simpler to place the gate after assembling.
    auto prefix = systest::nasm("bits 32\norg 0x10000\n" + body.substr(0, body.find(sym)));
    r.gdt(0x70, gate32(kCs0, kCode + uint32_t(prefix.size()), 0xC, 3, 2));
    auto res = r.run();
    expect_exception(res, VEC_UD, 0);
    CHECK(r.reg(isa::RAX) == 0x33);      // parameters copied in the caller's order
    CHECK(r.reg(isa::RBX) == 0x22);
    CHECK(r.reg(isa::RCX) == kStack3 - 12);  // old ESP
    CHECK(r.reg(isa::RDX) == 0x23);          // old SS
    CHECK(r.reg(isa::RSI) == kDs0);          // SS from TSS.SS0
    CHECK(r.reg(isa::RBP) == kStack0 - 24);
    CHECK(r.reg(isa::RDI) == kStack3 - 4);   // RETF 8 dropped both parameters
    CHECK(r.cpu().cpl == 3);
  }
  SECTION("gate DPL < CPL") {
    r.pm32();
    r.load(kCode, bytes);
    r.gdt(0x70, gate32(kCs0, 0, 0xC, 0, 2));
    expect_exception(r.run(), VEC_GP, 0x70);
  }
  SECTION("gate not present") {
    r.pm32();
    r.load(kCode, bytes);
    r.gdt(0x70, gate32(kCs0, 0, 0xC, 3, 2) & ~(1ull << 47));
    expect_exception(r.run(), VEC_NP, 0x70);
  }
  SECTION("target not a code segment") {
    r.pm32();
    r.load(kCode, bytes);
    r.gdt(0x70, gate32(kDs0, 0, 0xC, 3, 2));
    expect_exception(r.run(), VEC_GP, kDs0);
  }
  SECTION("TSS SS0 invalid is #TS(SS0)") {
    r.pm32();
    r.load(kCode, bytes);
    r.gdt(0x70, gate32(kCs0, 0, 0xC, 3, 2));
    r.w16(kTss + 8, kDs3);
    expect_exception(r.run(), VEC_TS, kDs3);
  }
  SECTION("TSS SS0 null is #TS(0)") {
    r.pm32();
    r.load(kCode, bytes);
    r.gdt(0x70, gate32(kCs0, 0, 0xC, 3, 2));
    r.w16(kTss + 8, 0);
    expect_exception(r.run(), VEC_TS, 0);
  }
  SECTION("TSS too short for SS0:ESP0 is #TS(TR)") {
    r.pm32();
    r.load(kCode, bytes);
    r.gdt(0x70, gate32(kCs0, 0, 0xC, 3, 2));
    r.cpu().tr.limit = 8;
    expect_exception(r.run(), VEC_TS, kTssSel);
  }
}

TEST_CASE("16-bit call gate at the same privilege pushes 16-bit CS:IP", "[seg]") {
  SegRig r;
  // A 16-bit gate has a 16-bit offset: the target segment is based at kCode.
  auto res = run_pm32(r, "call 0x70:0\nhlt\nalign 16\ntarget: mov eax, [esp]\nmov ebx, esp\nhlt\n",
                      [](SegRig& r) {
                        r.gdt(0x78, seg_desc(kCode, 0xFFFF, 0xB, true, 0, true, 0x4));
                        r.gdt(0x70, gate32(0x78, 0x10, 0x4, 0));
                      });
  expect_halt(res);
  CHECK(r.reg(isa::RBX) == kStack0 - 4);
  CHECK(r.reg(isa::RAX) == ((uint32_t(kCs0) << 16) | ((kCode + 7) & 0xFFFF)));
}

TEST_CASE("IA-32e: far transfers between 64-bit and compatibility mode", "[seg]") {
  SegRig r;
  r.lm64();
  r.asm64(
      "mov rsp, 0x80000\n"
      "jmp dword far [rel p32]\n"        // to compatibility mode (m16:32)
      "bits 32\ncompat: mov eax, cs\nmov ebx, esp\n"
      "call 0x40:back64\n"         // far CALL from compat to 64-bit code
      "bits 64\nback64: mov rcx, [rsp]\nmov rdx, [rsp+4]\n"
      "mov rax, 0x123456789\n"
      "push qword 0x08\nlea r8, [rel compat2]\npush r8\no64 retf\n"  // RETF (64-bit) to compat
      "bits 32\ncompat2: mov esi, cs\nhlt\n"
      "bits 64\np32: dd compat\ndw 0x08\n");
  expect_halt(r.run());
  CHECK(r.reg(isa::RAX) == 0x123456789ull);
  CHECK(r.reg(isa::RBX) == 0x80000);
  CHECK(r.reg(isa::RCX) != 0);
  CHECK((r.reg(isa::RDX) & 0xFFFF) == 0x08);
  CHECK(r.reg(isa::RSI) == 0x08);
  CHECK(!r.cpu().long64);
  CHECK(r.cpu().code_size == isa::CodeSize::k32);
}

TEST_CASE("IA-32e: far JMP rules", "[seg]") {
  SegRig r;
  SECTION("L=1 D=1 code segment is #GP(sel)") {
    r.lm64();
    r.gdt(0x70, seg_desc(0, 0xFFFFF, 0xB, true, 0, true, 0xE));
    r.asm64("jmp dword far [rel p]\np: dd 0\ndw 0x70\n");
    expect_exception(r.run(), VEC_GP, 0x70);
  }
  SECTION("TSS selector is #GP(sel) in IA-32e mode") {
    r.lm64();
    r.asm64("jmp dword far [rel p]\np: dd 0\ndw 0x28\n");
    expect_exception(r.run(), VEC_GP, 0x28);
  }
  SECTION("REX.W far JMP with a non-canonical offset is #GP(0)") {
    r.lm64();
    r.asm64("o64 jmp far [rel p]\np: dq 0x0000800000000000\ndw 0x40\n");
    expect_exception(r.run(), VEC_GP, 0);
  }
  SECTION("REX.W far JMP with a 64-bit offset") {
    r.lm64();
    r.asm64("o64 jmp far [rel p]\np: dq 0x10100\ndw 0x40\n");
    r.asm_at(0x10100, "bits 64\nmov eax, 77\nhlt\n");
    expect_halt(r.run());
    CHECK(r.reg(isa::RAX) == 77);
  }
}

TEST_CASE("IA-32e: 64-bit call gate from CPL 3 switches to RSP0 with a null SS", "[seg]") {
  SegRig r;
  r.lm64();
  r.gdt(0x70, seg_desc(0, 0xFFFFF, 0xB, true, 3, true, 0xA));  // 64-bit ring-3 code
  auto g = systest::gate64(kCs64, kCode + 0x100, 0xC, 3);
  r.w64(kGdt + 0x78, g.lo);
  r.w64(kGdt + 0x80, g.hi);
  r.asm64(
      "push qword 0x23\npush qword 0x70000\npush qword 0x73\nlea rax, [rel user]\npush rax\n"
      "o64 retf\n"
      "user: mov rbx, 0x4242\ncall dword far [rel gp]\nhlt\ngp: dd 0\ndw 0x7B\n");
  r.asm_at(kCode + 0x100,
           "bits 64\nmov r8, [rsp]\nmov r9, [rsp+8]\nmov r10, [rsp+16]\nmov r11, [rsp+24]\n"
           "mov r12, ss\nmov r13, rsp\nmov r14, cs\nud2\n");
  expect_exception(r.run(), VEC_UD, 0);
  CHECK(r.reg(isa::R11) == 0x23);         // old SS
  CHECK(r.reg(isa::R10) == 0x70000);      // old RSP
  CHECK(r.reg(isa::R9) == 0x73);          // old CS
  CHECK(r.reg(isa::R12) == 0);            // SS: null selector with RPL = 0
  CHECK(r.reg(isa::R13) == kStack0 - 32);
  CHECK(r.reg(isa::R14) == kCs64);
  CHECK(r.cpu().cpl == 0);
}

TEST_CASE("mode transitions: real -> 16/32-bit protected -> IA-32e -> compatibility -> real",
          "[seg]") {
  SegRig r;
  r.m.reset_real_mode(0x8000, 0x7000);
  r.fill_gdt();
  // Paging structures for IA-32e: the long-mode loader's layout (identity, 1 GiB pages).
  r.w64(0x1000, 0x2003);
  for (uint64_t i = 0; i < 4; i++) r.w64(0x2000 + i * 8, (i << 30) | 0x83);
  r.asm_at(0x8000,
           "bits 16\norg 0x8000\n"
           "lgdt [gdtr]\n"
           "mov eax, cr0\nor al, 1\nmov cr0, eax\n"
           "jmp 0x30:pm16\n"                      // 16-bit protected mode
           "pm16: mov ax, 0x10\nmov ds, ax\nmov ss, ax\nmov sp, 0x7000\n"
           "mov word [0x600], 16\n"
           "jmp dword 0x08:pm32\n"                // 32-bit protected mode
           "bits 32\npm32: mov dword [0x604], 32\n"
           "mov eax, cr4\nor eax, 0x20\nmov cr4, eax\n"          // PAE
           "mov eax, 0x1000\nmov cr3, eax\n"
           "mov ecx, 0xC0000080\nrdmsr\nor eax, 0x100\nwrmsr\n"  // EFER.LME
           "mov eax, cr0\nor eax, 0x80000000\nmov cr0, eax\n"    // paging: IA-32e active
           "jmp 0x40:lm64\n"
           "bits 64\nlm64: mov rax, 0x1122334455667788\nmov [0x608], rax\n"
           "jmp dword far [rel to_compat]\n"
           "bits 32\ncompat: mov dword [0x610], 0xC0\n"
           // Leave IA-32e mode: paging off (LMA clears), then EFER.LME off, then PE off.
           "mov eax, cr0\nand eax, 0x7FFFFFFF\nmov cr0, eax\n"
           "mov ecx, 0xC0000080\nrdmsr\nand eax, ~0x100\nwrmsr\n"
           "jmp 0x30:pm16b\n"
           "bits 16\npm16b: mov eax, cr0\nand al, 0xFE\nmov cr0, eax\n"
           "jmp 0:real\nreal: xor ax, ax\nmov ds, ax\nmov word [0x614], 0x8086\nhlt\n"
           "bits 64\nto_compat: dd compat\ndw 0x08\n"
           "bits 16\ngdtr: dw 0x1FF\ndd 0x5000\n");
  expect_halt(r.run());
  CHECK(r.r16(0x600) == 16);
  CHECK(r.r32(0x604) == 32);
  CHECK(r.r64(0x608) == 0x1122334455667788ull);
  CHECK(r.r32(0x610) == 0xC0);
  CHECK(r.r16(0x614) == 0x8086);
  CHECK(!r.cpu().protected_mode());
  CHECK(r.cpu().code_size == isa::CodeSize::k16);
}

TEST_CASE("virtual-8086 mode far transfers and segment loads are real-mode style", "[seg]") {
  SegRig r;
  r.pm32();
  isa::Cpu& c = r.cpu();
  c.rflags |= isa::FLAG_VM;
  for (unsigned s = 0; s < 6; s++) c.seg[s] = {0x1000, 0xF3, 0xFFFF, 0x10000};
  c.rip() = 0;
  c.r[isa::RSP] = 0x8000;
  c.update_mode();
  r.asm_at(0x10000, "bits 16\norg 0\nmov ax, 0x2000\nmov ds, ax\ncall 0x1000:f\nmov cx, ds\n"
                    "lar ax, bx\nf: mov bx, [0]\nretf\n");
  r.w16(0x20000, 0x5A5A);
  expect_exception(r.run(), VEC_UD, 0);  // LAR is #UD in virtual-8086 mode
  CHECK((r.reg(isa::RBX) & 0xFFFF) == 0x5A5A);
  CHECK((r.reg(isa::RCX) & 0xFFFF) == 0x2000);
  CHECK(c.seg[DS].base == 0x20000);
  CHECK(c.seg[DS].attr == 0xF3);
}

TEST_CASE("LAR, LSL, VERR, VERW: ZF and results by type and privilege", "[seg]") {
  // A fresh machine per probe: the code is rewritten behind the decoded-code cache.
  auto probe = [&](const std::string& insn, uint16_t sel, uint64_t desc, unsigned cpl = 0) {
    SegRig r;
    r.pm32();
    r.gdt(0x70, desc);
    std::string body = "mov eax, 0xFFFFFFFF\nmov ebx, " + std::to_string(sel) + "\n" + insn +
                       "\nsetz cl\nmov edx, eax\nud2\n";
    if (cpl == 3) body = at_cpl3(body);
    r.asm32(body);
    auto res = r.run();
    expect_exception(res, VEC_UD, 0);
    return std::pair<bool, uint32_t>(r.reg(isa::RCX) & 1, uint32_t(r.reg(isa::RDX)));
  };
  SECTION("LAR of a data segment") {
    auto [zf, v] = probe("lar eax, bx", 0x70, seg_desc(0x12345678, 0xABCDE, 0x3, true, 0));
    CHECK(zf);
    CHECK(v == 0x00CA9300);  // G D/B, limit 19:16 = A, P DPL 0 S type 3
  }
  SECTION("LAR 16-bit operand") {
    auto [zf, v] = probe("lar ax, bx", 0x70, seg_desc(0, 0xFFFFF, 0xB, true, 2));
    CHECK(zf);
    CHECK(v == 0xFFFFDB00);
  }
  SECTION("LAR accepts call gates and TSSs, not interrupt gates") {
    CHECK(probe("lar eax, bx", 0x70, gate32(8, 0, 0xC, 0)).first);
    CHECK(probe("lar eax, bx", 0x28, 0).first);  // the rig's busy TSS at 0x28
    CHECK(!probe("lar eax, bx", 0x70, gate32(8, 0, 0xE, 0)).first);
    CHECK(!probe("lar eax, bx", 0x70, gate32(8, 0, 0xF, 0)).first);
  }
  SECTION("LAR: DPL < CPL clears ZF, leaves the destination") {
    auto [zf, v] = probe("lar eax, bx", 0x10, data32(0), 3);
    CHECK(!zf);
    CHECK(v == 0xFFFFFFFF);
  }
  SECTION("LAR: conforming code is visible at any CPL") {
    CHECK(probe("lar eax, bx", 0x48, 0, 3).first);
  }
  SECTION("LAR: RPL > DPL, null and out-of-limit selectors") {
    CHECK(!probe("lar eax, bx", 0x72, data32(1)).first);
    CHECK(!probe("lar eax, bx", 0x0, 0).first);
    CHECK(!probe("lar eax, bx", 0x400, 0).first);
  }
  SECTION("LSL: byte-granular limit; gates are not accepted") {
    auto [zf, v] = probe("lsl eax, bx", 0x70, seg_desc(0, 0x12, 0x3, true, 0, true, 0xC));
    CHECK(zf);
    CHECK(v == 0x12FFF);
    CHECK(!probe("lsl eax, bx", 0x70, gate32(8, 0, 0xC, 0)).first);
    CHECK(probe("lsl eax, bx", 0x28, 0).first);
  }
  SECTION("VERR/VERW") {
    CHECK(probe("verr bx", 0x10, 0).first);
    CHECK(probe("verw bx", 0x10, 0).first);
    CHECK(probe("verr bx", 0x08, 0).first);   // readable code
    CHECK(!probe("verw bx", 0x08, 0).first);  // code is never writable
    CHECK(!probe("verr bx", 0x70, seg_desc(0, 0xFFFF, 0x8, true, 0)).first);  // execute-only
    CHECK(!probe("verw bx", 0x70, seg_desc(0, 0xFFFF, 0x1, true, 0)).first);  // read-only
    CHECK(!probe("verr bx", 0x28, 0).first);  // system
    CHECK(!probe("verr bx", 0x10, 0, 3).first);  // DPL 0 at CPL 3
    CHECK(probe("verr bx", 0x48, 0, 3).first);   // conforming readable code
  }
}

TEST_CASE("LAR/LSL in 64-bit mode: only LDT, 64-bit TSS and call gate system types", "[seg]") {
  auto probe = [&](uint16_t sel, uint64_t lo, uint64_t hi, const char* insn) {
    SegRig r;
    r.lm64();
    r.w64(kGdt + 0x70, lo);
    r.w64(kGdt + 0x78, hi);
    r.asm64(std::string("mov ebx, ") + std::to_string(sel) + "\n" + insn + "\nsetz cl\nhlt\n");
    expect_halt(r.run());
    return bool(r.reg(isa::RCX) & 1);
  };
  CHECK(probe(0x70, tss_desc(0x1000, 0x67, 9), 0, "lar eax, bx"));
  CHECK(!probe(0x70, tss_desc(0x1000, 0x67, 1), 0, "lar eax, bx"));  // 16-bit TSS type
  CHECK(probe(0x70, gate32(8, 0, 0xC, 0), 0, "lar eax, bx"));
  CHECK(!probe(0x70, gate32(8, 0, 0xC, 0), 0, "lsl eax, bx"));
  CHECK(!probe(0x70, tss_desc(0x1000, 0x67, 9), 0x1F00ull << 32, "lar eax, bx"));  // upper type
  CHECK(!probe(0x70, gate32(8, 0, 0x4, 0), 0, "lar eax, bx"));
}

TEST_CASE("ARPL adjusts RPL and sets ZF; #UD in real mode", "[seg]") {
  SegRig r;
  SECTION("protected mode") {
    auto res = run_pm32(r, "mov ax, 0x10\nmov bx, 0x1B\narpl ax, bx\nsetz cl\n"
                           "mov dx, 0x13\narpl dx, bx\nsetz ch\nhlt\n");
    expect_halt(res);
    CHECK((r.reg(isa::RAX) & 0xFFFF) == 0x13);
    CHECK((r.reg(isa::RCX) & 0xFFFF) == 0x0001);
    CHECK((r.reg(isa::RDX) & 0xFFFF) == 0x13);
  }
  SECTION("real mode") {
    r.m.reset_real_mode(0x7C00, 0x7000);
    r.cpu().idtr = {0, 0};  // no IVT: the #UD ends the run
    r.asm_at(0x7C00, "bits 16\norg 0x7C00\narpl ax, bx\nhlt\n");
    expect_exception(r.run(), VEC_UD, 0);
  }
}

TEST_CASE("JMP through a call gate never changes privilege", "[seg]") {
  SegRig r;
  SECTION("to non-conforming code of another DPL: #GP(code selector)") {
    auto res = run_pm32(r, at_cpl3("jmp 0x73:0\n"),
                        [](SegRig& r) { r.gdt(0x70, gate32(kCs0, 0, 0xC, 3)); });
    expect_exception(res, VEC_GP, kCs0);
  }
  SECTION("to conforming code: CPL stays 3") {
    r.pm32();
    const std::string body = at_cpl3("jmp 0x73:0\ntarget: mov eax, cs\nud2\n");
    auto prefix = systest::nasm("bits 32\norg 0x10000\n" + body.substr(0, body.find("target:")));
    r.gdt(0x70, gate32(kCsConf, kCode + uint32_t(prefix.size()), 0xC, 3));
    r.asm32(body);
    expect_exception(r.run(), VEC_UD, 0);
    CHECK(r.reg(isa::RAX) == (kCsConf | 3));
    CHECK(r.cpu().cpl == 3);
  }
}

TEST_CASE("16-bit call gate to an inner level: 16-bit frame on the new stack", "[seg]") {
  SegRig r;
  r.pm32();
  // Ring-1 16-bit code at 0x30000 (base), reached from ring 3 through a 16-bit gate
  // with one word parameter; the TSS gives SS1:ESP1 = 0x58:0x60000.
  r.gdt(0x80, seg_desc(0x30000, 0xFFFF, 0xB, true, 1, true, 0));
  r.gdt(0x70, gate32(0x81, 0x0000, 0x4, 3, 1));
  r.asm32(at_cpl3("push word 0x7777\ncall 0x73:0\nud2\n"));
  r.asm_at(0x30000, "bits 16\norg 0\nmov eax, esp\nmov bx, [esp]\nmov cx, [esp+2]\n"
                    "mov dx, [esp+4]\nmov si, [esp+6]\nmov di, [esp+8]\nud2\n");
  expect_exception(r.run(), VEC_UD, 0);
  CHECK(r.reg(isa::RAX) == kStack1 - 10);
  CHECK((r.reg(isa::RCX) & 0xFFFF) == 0x1B);      // old CS
  CHECK((r.reg(isa::RDX) & 0xFFFF) == 0x7777);    // the parameter
  CHECK((r.reg(isa::RSI) & 0xFFFF) == ((kStack3 - 2) & 0xFFFF));  // old SP
  CHECK((r.reg(isa::RDI) & 0xFFFF) == 0x23);      // old SS
  CHECK(r.cpu().cpl == 1);
}

TEST_CASE("IA-32e: compatibility-mode CPL 3 through a 64-bit call gate and back by RETF",
          "[seg]") {
  SegRig r;
  r.lm64();
  auto g = systest::gate64(kCs64, kCode + 0x200, 0xC, 3);
  r.w64(kGdt + 0x78, g.lo);
  r.w64(kGdt + 0x80, g.hi);
  r.asm64("push qword 0x23\npush qword 0x70000\npush qword 0x1B\npush qword user\no64 retf\n"
          "bits 32\nuser: mov ebx, esp\ncall 0x7B:0\nmov ecx, cs\nmov edx, ss\nmov esi, esp\nud2\n");
  r.asm_at(kCode + 0x200, "bits 64\nmov r8, [rsp]\nmov r9, [rsp+8]\nmov r10, [rsp+16]\n"
                          "mov r11, [rsp+24]\nmov r12, rsp\no64 retf\n");
  expect_exception(r.run(), VEC_UD, 0);
  CHECK(r.reg(isa::RBX) == 0x70000);
  CHECK(r.reg(isa::R9) == 0x1B);      // compatibility-mode CS pushed as 8 bytes
  CHECK(r.reg(isa::R10) == 0x70000);
  CHECK(r.reg(isa::R11) == 0x23);
  CHECK(r.reg(isa::R12) == kStack0 - 32);
  CHECK(r.reg(isa::RCX) == 0x1B);
  CHECK(r.reg(isa::RDX) == 0x23);
  CHECK(r.reg(isa::RSI) == 0x70000);
  CHECK(r.cpu().cpl == 3);
  CHECK(r.cpu().code_size == isa::CodeSize::k32);
}

TEST_CASE("IA-32e: RETF to an outer level accepts a null SS only for 64-bit code at CPL < 3",
          "[seg]") {
  SegRig r;
  r.lm64();
  r.gdt(0x88, seg_desc(0, 0xFFFFF, 0xB, true, 1, true, 0xA));  // 64-bit code, DPL 1
  r.gdt(0x90, seg_desc(0, 0xFFFFF, 0xB, true, 3, true, 0xA));  // 64-bit code, DPL 3
  SECTION("to CPL 1 with SS = 1 (null, RPL 1)") {
    r.asm64("push qword 1\npush qword 0x60000\npush qword 0x89\npush qword ring1\no64 retf\n"
            "ring1: mov eax, ss\nmov rbx, rsp\nud2\n");
    expect_exception(r.run(), VEC_UD, 0);
    CHECK(r.cpu().cpl == 1);
    CHECK(r.reg(isa::RAX) == 1);
    CHECK(r.reg(isa::RBX) == 0x60000);
  }
  SECTION("to CPL 3 with a null SS") {
    r.asm64("push qword 3\npush qword 0x60000\npush qword 0x93\npush qword 0\no64 retf\n");
    expect_exception(r.run(), VEC_GP, 0);
  }
  SECTION("to compatibility mode with a null SS") {
    r.asm64("push qword 1\npush qword 0x60000\npush qword 0x51\npush qword 0\no64 retf\n");
    expect_exception(r.run(), VEC_GP, 0);
  }
}

TEST_CASE("call gate to an expand-down stack without room is #SS(SS selector)", "[seg]") {
  SegRig r;
  r.pm32();
  // SS0 = 0x80: expand-down, limit 0x7FFFF: valid offsets 0x80000..0xFFFFFFFF; ESP0 =
  // 0x80008 leaves 8 bytes, the 32-bit gate needs 16.
  r.gdt(0x80, seg_desc(0, 0x7FFFF, 0x7, true, 0, true, 0x4));
  r.w16(kTss + 8, 0x80);
  r.w32(kTss + 4, 0x80008);
  r.gdt(0x70, gate32(kCs0, 0, 0xC, 3));
  r.asm32(at_cpl3("call 0x73:0\n"));
  expect_exception(r.run(), isa::VEC_SS, 0x80);
  CHECK(r.cpu().cpl == 3);
}
