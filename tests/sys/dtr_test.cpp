// Descriptor-table registers and the machine status word: LGDT/LIDT/SGDT/SIDT in
// every operand size, LLDT/SLDT, SMSW/LMSW, and the CPL/UMIP/mode checks
// (SDM Vol. 2A/2B, Vol. 3A 2.5 CR4.UMIP).
#include "tests/sys/seg_rig.h"

using namespace segtest;
using isa::VEC_GP;
using isa::VEC_NP;
using isa::VEC_UD;

namespace {

std::string to_cpl3(const std::string& body) {
  return "push dword 0x23\npush dword 0x70000\npush dword 0x1B\npush dword r3\nretf\nr3:\n" + body;
}

}  // namespace

TEST_CASE("LGDT/LIDT and SGDT/SIDT in 32-bit protected mode", "[dtr]") {
  SegRig r;
  r.pm32();
  r.asm32("lidt [src]\nsidt [0x600]\nsgdt [0x610]\no16 lidt [src2]\nhlt\n"
          "src: dw 0x3FF\ndd 0x12345678\nsrc2: dw 0x7FF\ndd 0xAABBCCDD\n");
  expect_halt(r.run());
  CHECK(r.r16(0x600) == 0x3FF);
  CHECK(r.r32(0x602) == 0x12345678);
  CHECK(r.r16(0x610) == 0x1FF);
  CHECK(r.r32(0x612) == kGdt);
  // 16-bit operand size: 24-bit base.
  CHECK(r.cpu().idtr.base == 0xBBCCDD);
  CHECK(r.cpu().idtr.limit == 0x7FF);
}

TEST_CASE("LGDT/SGDT in 64-bit mode use a 10-byte operand with a canonical base", "[dtr]") {
  SegRig r;
  SECTION("round trip") {
    r.lm64();
    r.asm64("sgdt [0x600]\nlidt [rel src]\nsidt [0x610]\nhlt\nsrc: dw 0xFFF\ndq 0xFFFF800000001000\n");
    expect_halt(r.run());
    CHECK(r.r16(0x600) == 0x1FF);
    CHECK(r.r64(0x602) == kGdt);
    CHECK(r.r16(0x610) == 0xFFF);
    CHECK(r.r64(0x612) == 0xFFFF800000001000ull);
  }
  SECTION("non-canonical base") {
    r.lm64();
    r.asm64("lgdt [rel src]\nhlt\nsrc: dw 0xFFF\ndq 0x0000800000001000\n");
    expect_exception(r.run(), VEC_GP, 0);
  }
}

TEST_CASE("LGDT, LIDT, LLDT, LTR and LMSW need CPL 0; stores are allowed without UMIP", "[dtr]") {
  SegRig r;
  SECTION("LGDT at CPL 3") {
    r.pm32();
    r.asm32(to_cpl3("lgdt [0x600]\n"));
    expect_exception(r.run(), VEC_GP, 0);
  }
  SECTION("LIDT at CPL 3") {
    r.pm32();
    r.asm32(to_cpl3("lidt [0x600]\n"));
    expect_exception(r.run(), VEC_GP, 0);
  }
  SECTION("LLDT at CPL 3") {
    r.pm32();
    r.asm32(to_cpl3("xor eax, eax\nlldt ax\n"));
    expect_exception(r.run(), VEC_GP, 0);
  }
  SECTION("LMSW at CPL 3") {
    r.pm32();
    r.asm32(to_cpl3("lmsw ax\n"));
    expect_exception(r.run(), VEC_GP, 0);
  }
  SECTION("stores at CPL 3 without UMIP") {
    r.pm32();
    r.asm32(to_cpl3("mov ax, 0x23\nmov ds, ax\nsgdt [0x600]\nsidt [0x610]\nsldt eax\nstr ebx\n"
                    "smsw ecx\nud2\n"));
    expect_exception(r.run(), VEC_UD, 0);
    CHECK(r.r32(0x602) == kGdt);
    CHECK(r.reg(isa::RBX) == kTssSel);
    CHECK(r.reg(isa::RCX) == uint32_t(r.cpu().cr0));
  }
}

TEST_CASE("CR4.UMIP: SGDT, SIDT, SLDT, SMSW and STR at CPL > 0 are #GP(0)", "[dtr]") {
  for (const char* insn : {"sgdt [0x600]", "sidt [0x600]", "sldt ax", "smsw ax", "str ax"}) {
    SegRig r;
    r.pm32();
    r.cpu().cr4 |= 1u << 11;
    r.asm32(to_cpl3(std::string(insn) + "\nud2\n"));
    INFO(insn);
    expect_exception(r.run(), VEC_GP, 0);
  }
  SegRig r;  // at CPL 0 they still work
  r.pm32();
  r.cpu().cr4 |= 1u << 11;
  r.asm32("sgdt [0x600]\nsmsw eax\nhlt\n");
  expect_halt(r.run());
  CHECK(r.r32(0x602) == kGdt);
}

TEST_CASE("SMSW stores CR0 at the operand size in registers, 16 bits in memory", "[dtr]") {
  SegRig r;
  r.lm64();
  r.cpu().cr0 |= 8;  // TS, so the low word is recognisable
  r.asm64("mov rax, -1\nmov rbx, -1\nmov rcx, -1\nsmsw ax\nsmsw ebx\nsmsw rcx\n"
          "mov dword [0x600], 0xFFFFFFFF\nsmsw [0x600]\nhlt\n");
  expect_halt(r.run());
  const uint64_t cr0 = r.cpu().cr0;
  CHECK(r.reg(isa::RAX) == (0xFFFFFFFFFFFF0000ull | (cr0 & 0xFFFF)));
  CHECK(r.reg(isa::RBX) == uint32_t(cr0));
  CHECK(r.reg(isa::RCX) == cr0);
  CHECK(r.r32(0x600) == (0xFFFF0000u | (cr0 & 0xFFFF)));
}

TEST_CASE("LMSW sets PE MP EM TS but cannot clear PE", "[dtr]") {
  SegRig r;
  SECTION("protected mode") {
    r.pm32();
    r.asm32("mov ax, 0x0C\nlmsw ax\nhlt\n");
    expect_halt(r.run());
    CHECK((r.cpu().cr0 & 0xF) == 0xD);  // PE stays set, MP cleared, EM TS set
    CHECK(r.cpu().protected_mode());
  }
  SECTION("real mode: LMSW can enter protected mode") {
    r.m.reset_real_mode(0x7C00, 0x7000);
    r.asm_at(0x7C00, "bits 16\norg 0x7C00\nmov ax, 1\nlmsw ax\nhlt\n");
    expect_halt(r.run());
    CHECK(r.cpu().protected_mode());
  }
}

TEST_CASE("LLDT and SLDT", "[dtr]") {
  SegRig r;
  SECTION("loads an LDT; LDT selectors then resolve through it") {
    r.pm32();
    r.gdt(0x80, seg_desc(kLdt, 0x17, 0x2, false, 0, true, 0));
    r.w64(kLdt + 0x10, seg_desc(0x40000, 0xFFFF, 0x3, true, 0, true, 0x4));
    r.w32(0x40020, 0xABCD);
    r.asm32("mov ax, 0x80\nlldt ax\nmov ax, 0x14\nmov es, ax\nmov eax, [es:0x20]\nsldt ebx\nhlt\n");
    expect_halt(r.run());
    CHECK(r.cpu().ldtr.base == kLdt);
    CHECK(r.cpu().ldtr.limit == 0x17);
    CHECK(r.reg(isa::RAX) == 0xABCD);
    CHECK(r.reg(isa::RBX) == 0x80);
  }
  SECTION("a selector beyond the LDT limit") {
    r.pm32();
    r.gdt(0x80, seg_desc(kLdt, 0x17, 0x2, false, 0, true, 0));
    r.asm32("mov ax, 0x80\nlldt ax\nmov ax, 0x1C\nmov es, ax\nhlt\n");
    expect_exception(r.run(), VEC_GP, 0x1C);
  }
  SECTION("null makes LDTR unusable") {
    r.pm32();
    r.asm32("xor eax, eax\nlldt ax\nmov ax, 0x0C\nmov ds, ax\nhlt\n");
    expect_exception(r.run(), VEC_GP, 0x0C);
  }
  SECTION("not an LDT descriptor") {
    r.pm32();
    r.asm32("mov ax, 0x28\nlldt ax\nhlt\n");
    expect_exception(r.run(), VEC_GP, 0x28);
  }
  SECTION("TI set") {
    r.pm32();
    r.asm32("mov ax, 0x84\nlldt ax\nhlt\n");
    expect_exception(r.run(), VEC_GP, 0x84);
  }
  SECTION("not present") {
    r.pm32();
    r.gdt(0x80, seg_desc(kLdt, 0x17, 0x2, false, 0, false, 0));
    r.asm32("mov ax, 0x80\nlldt ax\nhlt\n");
    expect_exception(r.run(), VEC_NP, 0x80);
  }
  SECTION("64-bit mode: 16-byte descriptor") {
    r.lm64();
    r.gdt(0x80, seg_desc(0x7000, 0x17, 0x2, false, 0, true, 0));
    r.w64(kGdt + 0x88, 0x2);
    r.asm64("mov ax, 0x80\nlldt ax\nhlt\n");
    expect_halt(r.run());
    CHECK(r.cpu().ldtr.base == 0x200007000ull);
  }
  SECTION("real mode: #UD") {
    r.m.reset_real_mode(0x7C00, 0x7000);
    r.cpu().idtr = {0, 0};
    r.asm_at(0x7C00, "bits 16\norg 0x7C00\nsldt ax\nhlt\n");
    expect_exception(r.run(), VEC_UD, 0);
  }
  SECTION("virtual-8086 mode: #UD") {
    r.pm32();
    isa::Cpu& c = r.cpu();
    c.rflags |= isa::FLAG_VM;
    for (unsigned s = 0; s < 6; s++) c.seg[s] = {0x1000, 0xF3, 0xFFFF, 0x10000};
    c.rip() = 0;
    c.update_mode();
    r.asm_at(0x10000, "bits 16\norg 0\nlldt ax\n");
    expect_exception(r.run(), VEC_UD, 0);
  }
}

TEST_CASE("SGDT/SIDT and SMSW work in real mode; LGDT with a 16-bit operand", "[dtr]") {
  SegRig r;
  r.m.reset_real_mode(0x7C00, 0x7000);
  r.asm_at(0x7C00, "bits 16\norg 0x7C00\nlgdt [src]\nsgdt [0x600]\nsmsw ax\nhlt\n"
                   "src: dw 0x27\ndd 0xFF012345\n");
  expect_halt(r.run());
  CHECK(r.cpu().gdtr.base == 0x012345);
  CHECK(r.r16(0x600) == 0x27);
  CHECK(r.r32(0x602) == 0x012345);
  CHECK((r.reg(isa::RAX) & 0xFFFF) == (r.cpu().cr0 & 0xFFFF));
}
