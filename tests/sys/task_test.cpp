// Task state: LTR/STR, hardware task switches by JMP, CALL, IRET and task gates,
// and their checks (SDM Vol. 3A chapter 7).
#include "tests/sys/seg_rig.h"

using namespace segtest;
using isa::CS;
using isa::DS;
using isa::SS;
using isa::VEC_DB;
using isa::VEC_GP;
using isa::VEC_NP;
using isa::VEC_TS;
using isa::VEC_UD;

namespace {

constexpr uint16_t kNewTss = kFree;        // 0x70: available 32-bit TSS at kTss2
constexpr uint16_t kTaskGate = kFree + 8;  // 0x78
constexpr uint32_t kTaskCode = 0x30000, kTaskStack = 0x50000;

// A 32-bit TSS image at `base` for a flat CPL-0 task starting at `eip`.
void tss32(SegRig& r, uint32_t base, uint32_t eip, uint16_t cs = kCs0, uint16_t ds = kDs0,
           uint32_t eflags = 2) {
  std::memset(r.ram() + base, 0, 0x68);
  r.w32(base + 0x20, eip);
  r.w32(base + 0x24, eflags);
  for (unsigned i = 0; i < 8; i++) r.w32(base + 0x28 + 4 * i, 0x1000 * (i + 1));  // EAX..EDI
  r.w32(base + 0x38, kTaskStack);                                               // ESP
  r.w16(base + 0x48, ds), r.w16(base + 0x4C, cs), r.w16(base + 0x50, ds);
  r.w16(base + 0x54, ds), r.w16(base + 0x58, ds), r.w16(base + 0x5C, ds);
}

unsigned desc_type(SegRig& r, uint16_t sel) { return unsigned(r.gdt_entry(sel) >> 40) & 0xF; }

// Protected mode with a second task ready at kTss2 (selector kNewTss, task gate kTaskGate).
void two_tasks(SegRig& r, const std::string& main, const std::string& task) {
  r.pm32();
  r.gdt(kNewTss, tss_desc(kTss2, 0x67, 9));
  r.gdt(kTaskGate, gate32(kNewTss, 0, 0x5, 0));
  tss32(r, kTss2, kTaskCode);
  r.asm32(main);
  r.asm_at(kTaskCode, "bits 32\norg 0x30000\n" + task);
}

}  // namespace

TEST_CASE("LTR loads TR and marks the TSS busy; STR stores it", "[task]") {
  SegRig r;
  r.pm32();
  r.gdt(kNewTss, tss_desc(kTss2, 0x67, 9));
  r.asm32("mov ax, 0x70\nltr ax\nstr ebx\nstr [0x600]\nhlt\n");
  r.w32(0x600, 0xFFFFFFFF);
  expect_halt(r.run());
  CHECK(r.cpu().tr.selector == kNewTss);
  CHECK(r.cpu().tr.base == kTss2);
  CHECK(r.cpu().tr.limit == 0x67);
  CHECK((r.cpu().tr.attr & 0xF) == 0xB);
  CHECK(desc_type(r, kNewTss) == 0xB);
  CHECK(r.reg(isa::RBX) == kNewTss);
  CHECK(r.r32(0x600) == 0xFFFF0070);  // memory form: 16 bits
}

TEST_CASE("LTR checks", "[task]") {
  SegRig r;
  auto ltr = [&](uint16_t sel, uint64_t desc, bool cpl3 = false) {
    r.pm32();
    r.gdt(kNewTss, desc);
    std::string body = "mov ax, " + std::to_string(sel) + "\nltr ax\nhlt\n";
    if (cpl3) {
      body = "push dword 0x23\npush dword 0x70000\npush dword 0x1B\npush dword r3\nretf\nr3:\n" + body;
    }
    r.asm32(body);
    return r.run();
  };
  SECTION("null") { expect_exception(ltr(0, 0), VEC_GP, 0); }
  SECTION("CPL 3") { expect_exception(ltr(kNewTss, tss_desc(kTss2, 0x67, 9), true), VEC_GP, 0); }
  SECTION("LDT selector") { expect_exception(ltr(0x74, tss_desc(kTss2, 0x67, 9)), VEC_GP, 0x74); }
  SECTION("busy TSS") { expect_exception(ltr(kNewTss, tss_desc(kTss2, 0x67, 0xB)), VEC_GP, kNewTss); }
  SECTION("data segment") { expect_exception(ltr(kNewTss, data32()), VEC_GP, kNewTss); }
  SECTION("not present") {
    expect_exception(ltr(kNewTss, tss_desc(kTss2, 0x67, 9) & ~(1ull << 47)), VEC_NP, kNewTss);
  }
  SECTION("real mode") {
    r.m.reset_real_mode(0x7C00, 0x7000);
    r.cpu().idtr = {0, 0};
    r.asm_at(0x7C00, "bits 16\norg 0x7C00\nltr ax\nhlt\n");
    expect_exception(r.run(), VEC_UD, 0);
  }
}

TEST_CASE("LTR in IA-32e mode takes a 16-byte 64-bit TSS descriptor", "[task]") {
  SegRig r;
  r.lm64();
  r.gdt(kNewTss, tss_desc(0x9000, 0x67, 9));
  r.w64(kGdt + kNewTss + 8, 0x1);  // base bits 63:32
  SECTION("loads the 64-bit base") {
    r.asm64("mov ax, 0x70\nltr ax\nhlt\n");
    expect_halt(r.run());
    CHECK(r.cpu().tr.base == 0x100009000ull);
  }
  SECTION("non-canonical base") {
    r.w64(kGdt + kNewTss + 8, 0x80000000);
    r.asm64("mov ax, 0x70\nltr ax\nhlt\n");
    expect_exception(r.run(), VEC_GP, kNewTss);
  }
  SECTION("16-bit TSS type") {
    r.gdt(kNewTss, tss_desc(0x9000, 0x67, 1));
    r.asm64("mov ax, 0x70\nltr ax\nhlt\n");
    expect_exception(r.run(), VEC_GP, kNewTss);
  }
}

TEST_CASE("task switch by JMP to a TSS", "[task]") {
  SegRig r;
  two_tasks(r, "mov eax, 0xAAAA\nmov ebx, 0xBBBB\njmp 0x70:0\n", "mov esi, eax\nhlt\n");
  expect_halt(r.run());
  isa::Cpu& c = r.cpu();
  // Old task saved: EIP after the JMP, EAX, EBX, selectors; busy bit cleared.
  CHECK(r.r32(kTss + 0x20) == kCode + 17);
  CHECK(r.r32(kTss + 0x28) == 0xAAAA);
  CHECK(r.r32(kTss + 0x34) == 0xBBBB);
  CHECK(r.r16(kTss + 0x4C) == kCs0);
  CHECK(desc_type(r, kTssSel) == 0x9);
  // New task loaded and busy; JMP does not nest.
  CHECK(desc_type(r, kNewTss) == 0xB);
  CHECK(c.tr.selector == kNewTss);
  CHECK(r.reg(isa::RSI) == 0x1000);
  CHECK(r.reg(isa::RSP) == kTaskStack);
  CHECK((c.cr0 & 8) != 0);  // CR0.TS
  CHECK((c.rflags & isa::FLAG_NT) == 0);
  CHECK(r.r16(kTss2) == 0);  // no back link
}

TEST_CASE("task switch by CALL through a task gate, and back by IRET", "[task]") {
  SegRig r;
  two_tasks(r, "mov edx, 0xD0D0\ncall 0x78:0\nmov esi, 0x600D\nhlt\n",
            "mov edx, 0x5555\npushfd\npop edi\nmov [0x600], edi\niretd\n");
  expect_halt(r.run());
  isa::Cpu& c = r.cpu();
  CHECK((r.r32(0x600) & isa::FLAG_NT) != 0);  // the called task runs nested
  CHECK(r.r16(kTss2) == kTssSel);              // back link
  CHECK(r.r32(kTss2 + 0x30) == 0x5555);        // its state was saved by IRET
  CHECK(r.reg(isa::RDX) == 0xD0D0);            // the caller's state came back
  CHECK(r.reg(isa::RSI) == 0x600D);
  CHECK(c.tr.selector == kTssSel);
  CHECK(desc_type(r, kTssSel) == 0xB);
  CHECK(desc_type(r, kNewTss) == 0x9);  // IRET left the nested task available
  CHECK((c.rflags & isa::FLAG_NT) == 0);
}

TEST_CASE("task switch checks before the commit point", "[task]") {
  SegRig r;
  SECTION("busy TSS") {
    two_tasks(r, "jmp 0x70:0\n", "hlt\n");
    r.gdt(kNewTss, tss_desc(kTss2, 0x67, 0xB));
    expect_exception(r.run(), VEC_GP, kNewTss);
  }
  SECTION("TSS limit below 67H") {
    two_tasks(r, "jmp 0x70:0\n", "hlt\n");
    r.gdt(kNewTss, tss_desc(kTss2, 0x66, 9));
    expect_exception(r.run(), VEC_TS, kNewTss);
  }
  SECTION("TSS not present") {
    two_tasks(r, "call 0x70:0\n", "hlt\n");
    r.gdt(kNewTss, tss_desc(kTss2, 0x67, 9) & ~(1ull << 47));
    expect_exception(r.run(), VEC_NP, kNewTss);
  }
  SECTION("TSS DPL < CPL") {
    two_tasks(r, "push dword 0x23\npush dword 0x70000\npush dword 0x1B\npush dword r3\nretf\n"
                 "r3: jmp 0x70:0\n", "hlt\n");
    expect_exception(r.run(), VEC_GP, kNewTss);
  }
  SECTION("task gate to a TSS in the LDT") {
    two_tasks(r, "jmp 0x78:0\n", "hlt\n");
    r.gdt(kTaskGate, gate32(0x74, 0, 0x5, 0));
    expect_exception(r.run(), VEC_GP, 0x74);
  }
  SECTION("task gate to a non-TSS") {
    two_tasks(r, "jmp 0x78:0\n", "hlt\n");
    r.gdt(kTaskGate, gate32(kDs0, 0, 0x5, 0));
    expect_exception(r.run(), VEC_GP, kDs0);
  }
}

namespace {

// IDT at 0x8000: interrupt gates for #TS, #NP, #SS and #GP to stubs that record the
// vector, error code, EIP and CS the handler sees, then halt. #TS can instead be a
// task gate to a third task (TSS at 0x9800, selector 0x90) that pops its error code.
void recording_idt(SegRig& r, bool ts_task_gate) {
  r.cpu().idtr = {0x8000, 0xFF};
  std::memset(r.ram() + 0x8000, 0, 0x100);
  std::string stubs = "bits 32\norg 0x9000\n";
  for (unsigned v : {10u, 11u, 12u, 13u}) {
    // SS-relative: the faulting task's data segments may still be unusable.
    stubs += "v" + std::to_string(v) + ": mov dword [ss:0x700], " + std::to_string(v) +
             "\npop dword [ss:0x704]\npop dword [ss:0x708]\npop dword [ss:0x70C]\nhlt\nalign 64\n";
    r.w64(0x8000 + v * 8, gate32(kCs0, 0x9000 + (v - 10) * 64, 0xE, 0));
  }
  r.asm_at(0x9000, stubs);
  if (ts_task_gate) {
    r.gdt(0x90, tss_desc(0x9800, 0x67, 9));
    tss32(r, 0x9800, 0x38000);
    r.w32(0x9800 + 0x38, 0x58000);
    r.asm_at(0x38000, "bits 32\norg 0x38000\npop eax\nmov [0x704], eax\nhlt\n");
    r.w64(0x8000 + 10 * 8, gate32(0x90, 0, 0x5, 0));
  }
}

}  // namespace

TEST_CASE("faults after the commit point are raised in the new task", "[task]") {
  SegRig r;
  SECTION("bad CS: #TS(CS) with the new task's CS:EIP") {
    two_tasks(r, "jmp 0x70:0\n", "hlt\n");
    recording_idt(r, false);
    r.w16(kTss2 + 0x4C, kDs0);
    expect_halt(r.run());
    CHECK(r.r32(0x700) == isa::VEC_TS);
    CHECK(r.r32(0x704) == kDs0);
    CHECK(r.r32(0x708) == kTaskCode);
    CHECK(r.r32(0x70C) == kDs0);
    CHECK(r.cpu().tr.selector == kNewTss);
  }
  SECTION("DS not present: #NP(DS)") {
    two_tasks(r, "jmp 0x70:0\n", "hlt\n");
    recording_idt(r, false);
    r.gdt(0x80, seg_desc(0, 0xFFFFF, 0x3, true, 0, false));
    r.w16(kTss2 + 0x54, 0x80);
    expect_halt(r.run());
    CHECK(r.r32(0x700) == isa::VEC_NP);
    CHECK(r.r32(0x704) == 0x80);
    CHECK(r.r32(0x708) == kTaskCode);
  }
  SECTION("LDT selector that is not an LDT: #TS(LDT) (SS not loaded yet: task gate)") {
    two_tasks(r, "jmp 0x70:0\n", "hlt\n");
    recording_idt(r, true);
    r.w16(kTss2 + 0x60, kDs0);
    expect_halt(r.run());
    CHECK(r.r32(0x704) == kDs0);
    CHECK(r.cpu().tr.selector == 0x90);
  }
  SECTION("SS with RPL != CPL: #TS(SS) through a task gate") {
    two_tasks(r, "jmp 0x70:0\n", "hlt\n");
    recording_idt(r, true);
    r.w16(kTss2 + 0x50, kDs3 | 3);
    expect_halt(r.run());
    CHECK(r.r32(0x704) == kDs3);
    CHECK(r.cpu().tr.selector == 0x90);
    CHECK(r.r16(0x9800) == kNewTss);  // nested in the faulting task
  }
}

TEST_CASE("a task switch loads the LDT and LDT-relative segments", "[task]") {
  SegRig r;
  two_tasks(r, "jmp 0x70:0\n", "mov eax, [0x10]\nhlt\n");
  r.gdt(0x80, seg_desc(kLdt, 0x1F, 0x2, false, 0, true, 0));  // LDT descriptor
  r.w64(kLdt + 8, seg_desc(0x40000, 0xFFFF, 0x3, true, 0, true, 0x4));
  r.w16(kTss2 + 0x60, 0x80);
  r.w16(kTss2 + 0x54, 0x0C);  // DS = LDT entry 1
  r.w32(0x40010, 0x1D71D7);
  expect_halt(r.run());
  CHECK(r.cpu().ldtr.selector == 0x80);
  CHECK(r.cpu().ldtr.base == kLdt);
  CHECK(r.cpu().seg[DS].base == 0x40000);
  CHECK(r.reg(isa::RAX) == 0x1D71D7);
}

TEST_CASE("a task switch into virtual-8086 mode", "[task]") {
  SegRig r;
  two_tasks(r, "jmp 0x70:0\n", "");
  tss32(r, kTss2, 0x0010, 0x3000, 0x4000, 0x20002);  // EFLAGS.VM; CS:IP = 3000:0010
  r.asm_at(0x30010, "bits 16\norg 0x10\nmov ax, [0]\nlar ax, bx\n");
  r.w16(0x40000, 0x8086);
  expect_exception(r.run(), VEC_UD, 0);
  isa::Cpu& c = r.cpu();
  CHECK(c.v86());
  CHECK(c.cpl == 3);
  CHECK(c.seg[DS].base == 0x40000);
  CHECK(c.seg[CS].base == 0x30000);
  CHECK((r.reg(isa::RAX) & 0xFFFF) == 0x8086);
}

TEST_CASE("a task switch to a 16-bit TSS", "[task]") {
  SegRig r;
  two_tasks(r, "jmp 0x70:0\n", "");
  r.gdt(kNewTss, tss_desc(kTss2, 0x2B, 1));
  std::memset(r.ram() + kTss2, 0, 0x2C);
  r.w16(kTss2 + 0x0E, 0x0000);  // IP
  r.w16(kTss2 + 0x10, 0x0002);  // FLAGS
  r.w16(kTss2 + 0x12, 0x1234);  // AX
  r.w16(kTss2 + 0x1A, 0x7000);  // SP
  r.w16(kTss2 + 0x22, kDs16), r.w16(kTss2 + 0x24, 0x88), r.w16(kTss2 + 0x26, kDs16);
  r.w16(kTss2 + 0x28, kDs16);
  r.gdt(0x88, seg_desc(0x30000, 0xFFFF, 0xB, true, 0, true, 0));  // 16-bit code at 0x30000
  r.asm_at(0x30000, "bits 16\norg 0\nhlt\n");
  expect_halt(r.run());
  CHECK(r.reg(isa::RAX) == 0xFFFF1234);  // upper word FFFFH
  CHECK(r.reg(isa::RSP) == 0xFFFF7000);
  CHECK(r.cpu().seg[isa::FS].selector == 0);
  CHECK(r.cpu().code_size == isa::CodeSize::k16);
}

TEST_CASE("the TSS T flag raises a debug trap in the new task", "[task]") {
  SegRig r;
  two_tasks(r, "jmp 0x70:0\n", "hlt\n");
  r.w16(kTss2 + 0x64, 1);
  auto res = r.run();
  expect_exception(res, VEC_DB, 0);
  CHECK(res.fault_rip == kTaskCode);
  CHECK((r.cpu().dr[6] & 0x8000) != 0);  // DR6.BT
}

TEST_CASE("an exception through a task gate pushes its error code on the new task's stack",
          "[task]") {
  SegRig r;
  two_tasks(r, "mov ax, 0x28\nmov ds, ax\n", "pop eax\nhlt\n");
  // IDT entry 13 (#GP) is a task gate to the second task.
  r.cpu().idtr = {0x8000, 0xFF};
  std::memset(r.ram() + 0x8000, 0, 0x100);
  r.w64(0x8000 + 13 * 8, gate32(kNewTss, 0, 0x5, 0));
  expect_halt(r.run());
  CHECK(r.reg(isa::RAX) == kTssSel);     // #GP(0x28) error code
  CHECK(r.r32(kTss + 0x20) == kCode + 4);  // the faulting MOV DS is the saved EIP
  CHECK(r.r16(kTss2) == kTssSel);          // nested
}
