// SYSCALL/SYSRET, SYSENTER/SYSEXIT, SWAPGS (SDM Vol. 2B): round trips between CPL 0
// and CPL 3 with the fixed segment caches, RFLAGS masking and the #UD/#GP rules.
#include "sim/loader.h"
#include "tests/sys/harness.h"

namespace {

constexpr uint64_t kGdt = 0x4000, kIdt = 0x5000, kCode = 0x100000, kHandlers = 0x110000,
                   kUser = 0x120000, kStack = 0x80000;

struct FastRig : systest::Rig {
  explicit FastRig(bool long_mode) {
    if (long_mode) {
      m.reset_long_mode(kCode, kStack);
      // User pages: U/S in the loader's PML4E and 1 GiB PDPTEs.
      w64(sim::kLoaderPml4, r64(sim::kLoaderPml4) | 4);
      for (unsigned i = 0; i < 4; i++)
        w64(sim::kLoaderPml4 + 0x1000 + i * 8, r64(sim::kLoaderPml4 + 0x1000 + i * 8) | 4);
      cpu().idtr = {kIdt, 0xFFF};
      // A 64-bit TSS (selector 0x30) with RSP0 for faults taken at CPL 3.
      w64(kGdt + 0x30, systest::seg_desc(0x6000, 0x67, 0xB, false, 0, true, 0));
      w64(kGdt + 0x38, 0);
      w64(0x6004, 0x90000);
      cpu().tr = {0x30, 0x8B, 0x67, 0x6000};
    } else {
      m.reset_protected32(uint32_t(kCode), uint32_t(kStack));
      cpu().idtr = {kIdt, 0x7FF};
    }
    w64(kGdt + 0x08, long_mode ? systest::code64(0) : systest::code32(0));
    w64(kGdt + 0x10, systest::data32(0));
    w64(kGdt + 0x18, systest::code32(3));
    w64(kGdt + 0x20, systest::data32(3));
    w64(kGdt + 0x28, systest::code64(3));
    cpu().gdtr = {kGdt, 0x3F};
  }
  // #GP/#UD handlers that record the vector in R8 (64-bit) and halt.
  void fault_handlers64() {
    asm_at(kHandlers, "bits 64\norg 0x110000\nmov r8, 6\nhlt\nmov r8, 13\nmov r9, [rsp]\nhlt\n");
    for (auto [v, off] : {std::pair<unsigned, uint64_t>{6, 0}, {13, 7}}) {
      auto g = systest::gate64(0x08, kHandlers + off, 0xE, 0);
      w64(kIdt + v * 16, g.lo);
      w64(kIdt + v * 16 + 8, g.hi);
    }
  }
};

}  // namespace

TEST_CASE("SYSRET to 64-bit CPL 3, SYSCALL back with FMASK and the fixed caches", "[fast]") {
  FastRig r(true);
  auto& c = r.cpu();
  c.msr.star = (uint64_t(0x18) << 48) | (uint64_t(0x08) << 32);
  c.msr.lstar = kHandlers;
  c.msr.fmask = 0x200 | 0x100;  // IF, TF
  r.asm_at(kHandlers, "bits 64\norg 0x110000\nmov r14, rcx\nmov r13, r11\nmov r12, rsp\nhlt\n");
  r.asm_at(kUser, "bits 64\norg 0x120000\nmov rsp, 0x70000\nmov eax, 5\nsyscall\n");
  r.asm_at(kCode, "bits 64\norg 0x100000\nmov rcx, 0x120000\nmov r11, 0x202\no64 sysret\n");
  auto res = r.run(100);
  REQUIRE(res.reason == sim::StopReason::kHalted);
  CHECK(r.reg(isa::R14) == kUser + 12);  // after SYSCALL
  CHECK((r.reg(isa::R13) & 0x3FFFFF) == 0x202);
  CHECK(r.reg(isa::R12) == 0x70000);     // SYSCALL does not switch stacks
  CHECK(c.seg[isa::CS].selector == 0x08);
  CHECK(c.seg[isa::SS].selector == 0x10);
  CHECK(c.seg[isa::CS].attr == 0xA09B);
  CHECK(c.cpl == 0);
  CHECK((c.rflags & isa::FLAG_IF) == 0);  // masked by FMASK
}

TEST_CASE("SYSRET to compatibility mode; SYSCALL/SYSRET fault rules", "[fast]") {
  FastRig r(true);
  auto& c = r.cpu();
  r.fault_handlers64();
  c.msr.star = (uint64_t(0x18) << 48) | (uint64_t(0x08) << 32);
  SECTION("32-bit SYSRET: CS = STAR[63:48] | 3, 32-bit code") {
    r.asm_at(kUser, "bits 32\norg 0x120000\nmov ebx, 0x99\nhlt\n");  // HLT at CPL 3: #GP
    r.asm_at(kCode, "bits 64\norg 0x100000\nmov rcx, 0x120000\nmov r11, 0x2\nsysret\n");
    auto res = r.run(100);
    REQUIRE(res.reason == sim::StopReason::kHalted);
    CHECK((r.reg(isa::RBX) & 0xFF) == 0x99);
    CHECK(r.reg(isa::R8) == 13);
    CHECK(r.reg(isa::R9) == 0);  // #GP(0)
  }
  SECTION("non-canonical RCX: #GP(0) at CPL 0") {
    r.asm_at(kCode, "bits 64\norg 0x100000\nmov rcx, 0x800000000000\no64 sysret\n");
    auto res = r.run(100);
    REQUIRE(res.reason == sim::StopReason::kHalted);
    CHECK(r.reg(isa::R8) == 13);
    CHECK(c.cpl == 0);
  }
  SECTION("EFER.SCE = 0: #UD") {
    c.efer &= ~1ull;
    r.asm_at(kCode, "bits 64\norg 0x100000\nsyscall\n");
    auto res = r.run(100);
    REQUIRE(res.reason == sim::StopReason::kHalted);
    CHECK(r.reg(isa::R8) == 6);
  }
}

TEST_CASE("SYSEXIT to CPL 3 and SYSENTER back (32-bit protected mode)", "[fast]") {
  FastRig r(false);
  auto& c = r.cpu();
  c.msr.sysenter_cs = 0x08;
  c.msr.sysenter_esp = 0x90000;
  c.msr.sysenter_eip = kHandlers;
  r.asm_at(kHandlers, "bits 32\norg 0x110000\nmov edi, esp\nmov esi, ecx\nhlt\n");
  r.asm_at(kUser, "bits 32\norg 0x120000\nmov ebx, esp\nmov ecx, 0x77\nsysenter\n");
  r.asm_at(kCode, "bits 32\norg 0x100000\nsti\nmov ecx, 0x70000\nmov edx, 0x120000\nsysexit\n");
  auto res = r.run(100);
  REQUIRE(res.reason == sim::StopReason::kHalted);
  CHECK(uint32_t(r.reg(isa::RBX)) == 0x70000);  // ESP = ECX at CPL 3
  CHECK(uint32_t(r.reg(isa::RDI)) == 0x90000);  // ESP = IA32_SYSENTER_ESP
  CHECK(c.seg[isa::CS].selector == 0x08);
  CHECK(c.seg[isa::SS].selector == 0x10);
  CHECK(c.cpl == 0);
  CHECK((c.rflags & isa::FLAG_IF) == 0);  // SYSENTER clears IF
}

TEST_CASE("SYSENTER with a null IA32_SYSENTER_CS is #GP(0); SYSEXIT at CPL 3 too", "[fast]") {
  FastRig r(true);
  r.fault_handlers64();
  r.asm_at(kCode, "bits 64\norg 0x100000\nsysenter\n");
  auto res = r.run(100);
  REQUIRE(res.reason == sim::StopReason::kHalted);
  CHECK(r.reg(isa::R8) == 13);
}

TEST_CASE("SWAPGS exchanges GS.base and IA32_KERNEL_GS_BASE at CPL 0", "[fast]") {
  FastRig r(true);
  auto& c = r.cpu();
  c.seg[isa::GS].base = 0x200000;
  c.kernel_gs_base = 0x300000;
  c.update_mode();
  r.w64(0x300008, 0xABCD);
  r.asm_at(kCode, "bits 64\norg 0x100000\nswapgs\nmov rax, [gs:8]\nhlt\n");
  auto res = r.run(100);
  REQUIRE(res.reason == sim::StopReason::kHalted);
  CHECK(r.reg(isa::RAX) == 0xABCD);
  CHECK(c.kernel_gs_base == 0x200000);
  CHECK(c.seg[isa::GS].base == 0x300000);
}
