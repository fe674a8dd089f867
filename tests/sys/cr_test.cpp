// Control registers: every #GP rule of MOV to CR0/CR3/CR4/CR8 and IA32_EFER, IA-32e
// activation, the instruction forms (MOV CR, CLTS, INVLPG, INVPCID) and privilege.
#include "tests/sys/crmsr_rig.h"

using crmsr::fault_of;
using isa::VEC_GP;
using isa::VEC_UD;

namespace {
constexpr uint64_t PE = 1, TS = 8, ET = 0x10, NE = 0x20, WP = 1u << 16, NW = 1u << 29,
                   CD = 1u << 30, PG = 1ull << 31;
constexpr uint64_t PAE = 1u << 5, PGE = 1u << 7, LA57 = 1u << 12, VMXE = 1u << 13,
                   PCIDE = 1u << 17, CET = 1u << 23;
constexpr uint64_t LME = 1u << 8, LMA = 1u << 10, NXE = 1u << 11;
}  // namespace

TEST_CASE("CR0 writes: reserved bits, invalid combinations, ET", "[cr]") {
  crmsr::Rig r;
  r.lm64();
  isa::Cpu& c = r.cpu();
  const uint64_t cr0 = c.cr0;
  CHECK(fault_of([&] { isa::write_cr0(c, cr0 | (1ull << 32)); }) == VEC_GP);  // 63:32
  CHECK(fault_of([&] { isa::write_cr0(c, cr0 & ~PG); }) == VEC_GP);  // PG off in 64-bit mode
  CHECK(fault_of([&] { isa::write_cr0(c, (cr0 | NW) & ~CD); }) == VEC_GP);
  CHECK(c.cr0 == cr0);
  isa::write_cr0(c, (cr0 | CD | NW | TS) & ~ET);  // ET hardwired, reserved 15:6 ignored
  CHECK(c.cr0 == (cr0 | CD | NW | TS | ET));
  isa::write_cr0(c, cr0 | (1u << 7));
  CHECK(c.cr0 == cr0);

  crmsr::Rig p;
  p.pm32();
  isa::Cpu& q = p.cpu();
  CHECK(fault_of([&] { isa::write_cr0(q, (q.cr0 | PG) & ~PE); }) == VEC_GP);  // PG without PE
  CHECK(fault_of([&] { isa::write_cr0(q, PG | PE); }) == -1);  // 32-bit paging, no LME
  CHECK(!(q.efer & LMA));
  CHECK(fault_of([&] { isa::write_cr0(q, q.cr0 & ~PE); }) == VEC_GP);  // clearing PE with PG
}

TEST_CASE("CR0.PG with EFER.LME activates IA-32e mode (SDM 9.8.5)", "[cr]") {
  crmsr::Rig r;
  r.pm32();
  isa::Cpu& c = r.cpu();
  // Identity tables the long-mode reset writes are reused: CR3 = its PML4.
  crmsr::Rig lm;
  lm.lm64();
  const uint64_t pml4 = lm.cpu().cr3;
  std::memcpy(r.ram() + pml4, lm.ram() + pml4, 0x2000);
  isa::write_cr3(c, pml4);
  isa::write_efer(c, LME);
  CHECK(c.efer == LME);
  // LME without PAE: #GP.
  CHECK(fault_of([&] { isa::write_cr0(c, c.cr0 | PG); }) == VEC_GP);
  isa::write_cr4(c, c.cr4 | PAE);
  // CS.L = 1 while activating: #GP.
  c.seg[isa::CS].attr |= 0x2000;
  CHECK(fault_of([&] { isa::write_cr0(c, c.cr0 | PG); }) == VEC_GP);
  c.seg[isa::CS].attr &= ~0x2000;
  CHECK(!(c.cr0 & PG));
  isa::write_cr0(c, c.cr0 | PG);
  CHECK((c.efer & LMA));
  CHECK(!c.long64);  // compatibility mode until CS.L = 1
  // LME cannot change while paging is on; LMA writes are ignored.
  CHECK(fault_of([&] { isa::write_efer(c, 0); }) == VEC_GP);
  isa::write_efer(c, LME | NXE);
  CHECK(c.efer == (LME | LMA | NXE));
  // PAE cannot be cleared in IA-32e mode; leaving it from compatibility mode works.
  CHECK(fault_of([&] { isa::write_cr4(c, c.cr4 & ~PAE); }) == VEC_GP);
  isa::write_cr0(c, c.cr0 & ~PG);
  CHECK(!(c.efer & LMA));
}

TEST_CASE("CR4 writes: features the model lacks, PCIDE and LA57 rules", "[cr]") {
  crmsr::Rig r;
  r.lm64();
  isa::Cpu& c = r.cpu();
  const uint64_t cr4 = c.cr4;
  // VMX is enumerated (issue 5): CR4.VMXE may be set and cleared outside VMX operation.
  CHECK(fault_of([&] { isa::write_cr4(c, cr4 | VMXE); }) == -1);
  CHECK(fault_of([&] { isa::write_cr4(c, cr4); }) == -1);
  CHECK(fault_of([&] { isa::write_cr4(c, cr4 | CET); }) == VEC_GP);
  CHECK(fault_of([&] { isa::write_cr4(c, cr4 | (1u << 15)); }) == VEC_GP);  // reserved
  CHECK(fault_of([&] { isa::write_cr4(c, cr4 | (1ull << 32)); }) == VEC_GP);
  CHECK(fault_of([&] { isa::write_cr4(c, cr4 & ~PAE); }) == VEC_GP);
  CHECK(fault_of([&] { isa::write_cr4(c, cr4 | LA57); }) == VEC_GP);  // LA57 change in IA-32e
  // PCIDE needs CR3[11:0] = 0.
  c.cr3 |= 5;
  CHECK(fault_of([&] { isa::write_cr4(c, cr4 | PCIDE); }) == VEC_GP);
  c.cr3 &= ~0xFFFull;
  isa::write_cr4(c, cr4 | PCIDE | PGE);
  CHECK(c.cr4 == (cr4 | PCIDE | PGE));
  // With PCIDE=1, clearing CR0.PG is #GP even outside 64-bit mode.
  c.seg[isa::CS].attr &= ~0x2000;
  c.update_mode();
  CHECK(fault_of([&] { isa::write_cr0(c, c.cr0 & ~PG); }) == VEC_GP);

  crmsr::Rig p;
  p.pm32();
  CHECK(fault_of([&] { isa::write_cr4(p.cpu(), p.cpu().cr4 | PCIDE); }) == VEC_GP);  // not IA-32e
  CHECK(fault_of([&] { isa::write_cr4(p.cpu(), p.cpu().cr4 | LA57); }) == -1);  // outside IA-32e
}

TEST_CASE("CR4.LA57 is reserved on a model without 5-level paging", "[cr]") {
  sim::MachineConfig cfg;
  cfg.ram_bytes = 16 << 20;
  cfg.model = sim::find_cpu_model("skylake-server");
  REQUIRE(cfg.model);
  sim::Machine m(cfg);
  m.reset_protected32(0x10000, 0x80000);
  CHECK(fault_of([&] { isa::write_cr4(m.cpu(), m.cpu().cr4 | LA57); }) == VEC_GP);
  CHECK(fault_of([&] { isa::write_cr4(m.cpu(), m.cpu().cr4 | PGE); }) == -1);
}

TEST_CASE("CR3 writes: reserved bits, the no-flush bit, 32-bit truncation", "[cr]") {
  crmsr::Rig r;
  r.lm64();
  isa::Cpu& c = r.cpu();
  const uint64_t cr3 = c.cr3;
  CHECK(fault_of([&] { isa::write_cr3(c, cr3 | (1ull << 46)); }) == VEC_GP);  // MAXPHYADDR 46
  CHECK(fault_of([&] { isa::write_cr3(c, cr3 | (1ull << 63)); }) == VEC_GP);  // PCIDE = 0
  CHECK(c.cr3 == cr3);
  isa::write_cr4(c, c.cr4 | PCIDE);
  isa::write_cr3(c, cr3 | (1ull << 63) | 3);
  CHECK(c.cr3 == (cr3 | 3));  // bit 63 is not stored

  crmsr::Rig p;
  p.pm32();
  isa::write_cr3(p.cpu(), 0x1234567812345000ull);
  CHECK(p.cpu().cr3 == 0x12345000);
}

TEST_CASE("EFER: reserved and unsupported bits", "[cr]") {
  crmsr::Rig r;
  r.lm64();
  isa::Cpu& c = r.cpu();
  const uint64_t efer = c.efer;
  CHECK(fault_of([&] { isa::write_efer(c, efer | 2); }) == VEC_GP);
  CHECK(fault_of([&] { isa::write_efer(c, efer | (1u << 12)); }) == VEC_GP);  // SVME (AMD)
  CHECK(fault_of([&] { isa::write_efer(c, efer | (1u << 14)); }) == VEC_GP);  // FFXSR (AMD)
  isa::write_efer(c, efer & ~NXE);
  CHECK(c.efer == (efer & ~NXE));
  isa::write_efer(c, (efer | NXE) & ~LMA);  // LMA as written is ignored
  CHECK(c.efer == efer);
}

TEST_CASE("MOV CR instructions: privilege, invalid registers, CR8, sizes", "[cr]") {
  SECTION("read and write at CPL 0 in 64-bit mode") {
    crmsr::Rig r;
    r.lm64();
    r.asm64(
        "mov rax, cr0\nmov rbx, cr4\nmov rcx, 5\nmov cr8, rcx\nmov rdx, cr8\n"
        "mov rsi, 0x1234\nmov cr2, rsi\nmov rdi, cr2\nclts\nmov r9, cr0\nhlt\n");
    r.cpu().cr0 |= TS;
    crmsr::expect_halt(r.run());
    CHECK(r.reg(isa::RAX) == r.cpu().cr0 + TS);
    CHECK(r.reg(isa::RBX) == r.cpu().cr4);
    CHECK(r.reg(isa::RDX) == 5);
    CHECK(r.reg(isa::RDI) == 0x1234);
    CHECK(!(r.reg(isa::R9) & TS));
  }
  SECTION("CR8 reserved bits") {
    crmsr::Rig r;
    r.lm64();
    r.asm64("mov rax, 0x10\nmov cr8, rax\nhlt\n");
    crmsr::expect_fault(r.run(), VEC_GP, 0);
  }
  SECTION("CR1 and CR9 are #UD") {
    crmsr::Rig r;
    r.lm64();
    r.asm64("db 0x0F, 0x22, 0xC8\nhlt\n");  // mov cr1, rax
    crmsr::expect_fault(r.run(), VEC_UD);
    crmsr::Rig s;
    s.lm64();
    s.asm64("db 0x44, 0x0F, 0x22, 0xC8\nhlt\n");  // mov cr9, rax
    crmsr::expect_fault(s.run(), VEC_UD);
  }
  SECTION("CPL 3: #GP(0)") {
    for (const char* body : {"mov rax, cr0\n", "mov cr3, rax\n", "clts\n", "invlpg [rax]\n"}) {
      crmsr::Rig r;
      r.lm64();
      r.user();
      r.asm64(std::string(body) + "hlt\n");
      INFO(body);
      crmsr::expect_fault(r.run(), VEC_GP, 0);
    }
  }
  SECTION("32-bit mode uses 32-bit operands") {
    crmsr::Rig r;
    r.pm32();
    r.asm32("mov eax, cr0\nmov ebx, 0xFFFFF000\nmov cr3, ebx\nmov ecx, cr3\nhlt\n");
    crmsr::expect_halt(r.run());
    CHECK(r.reg(isa::RAX) == r.cpu().cr0);
    CHECK(r.reg(isa::RCX) == 0xFFFFF000);
  }
}

TEST_CASE("INVPCID: types and #GP rules", "[cr]") {
  auto run = [](uint64_t type, uint64_t d0, uint64_t d1, bool pcide) {
    crmsr::Rig r;
    r.lm64();
    if (pcide) isa::write_cr4(r.cpu(), r.cpu().cr4 | PCIDE);
    r.w64(crmsr::kData, d0);
    r.w64(crmsr::kData + 8, d1);
    r.asm64("mov rax, " + std::to_string(type) + "\ninvpcid rax, [0x20000]\nhlt\n");
    return r.run();
  };
  crmsr::expect_halt(run(0, 0, 0x1000, false));
  crmsr::expect_halt(run(1, 0, 0, false));
  crmsr::expect_halt(run(2, 0, 0, false));
  crmsr::expect_halt(run(3, 0, 0, false));
  crmsr::expect_halt(run(1, 7, 0, true));
  crmsr::expect_fault(run(4, 0, 0, false), VEC_GP, 0);              // type > 3
  crmsr::expect_fault(run(2, 1ull << 12, 0, false), VEC_GP, 0);     // reserved descriptor bits
  crmsr::expect_fault(run(0, 0, 0x4000000000000000ull, false), VEC_GP, 0);  // non-canonical
  crmsr::expect_fault(run(1, 7, 0, false), VEC_GP, 0);              // PCID != 0, PCIDE = 0
  crmsr::expect_fault(run(0, 7, 0x1000, false), VEC_GP, 0);
}

TEST_CASE("invalid PAE PDPTEs make the CR write #GP(0) and leave no trace", "[cr]") {
  crmsr::Rig r;
  r.pm32();
  isa::Cpu& c = r.cpu();
  // Good PDPT at 0x3000 -> PD at 0x4000 mapping 0-2 MiB; bad PDPT at 0x5000 (bit 1 set).
  r.w64(0x3000, 0x4000 | 1);
  r.w64(0x4000, 0x83);
  r.w64(0x5000, 0x4000 | 1 | 2);
  isa::write_cr4(c, c.cr4 | PAE);
  isa::write_cr3(c, 0x5000);
  CHECK(fault_of([&] { isa::write_cr0(c, c.cr0 | PG); }) == VEC_GP);  // PDPTEs load on PG
  CHECK(!(c.cr0 & PG));
  isa::write_cr3(c, 0x3000);
  isa::write_cr0(c, c.cr0 | PG);
  CHECK((c.cr0 & PG));
  CHECK(fault_of([&] { isa::write_cr3(c, 0x5000); }) == VEC_GP);  // and on MOV CR3
  CHECK(c.cr3 == 0x3000);
  CHECK(c.pdpte[0] == (0x4000 | 1));
}
