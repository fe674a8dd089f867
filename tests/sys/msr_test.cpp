// The MSR table: every row's read/write/reserved behaviour, canonical checks,
// read-only and write-only MSRs, feature gating, TSC coupling, unknown MSRs and the
// per-row counters; RDMSR/WRMSR/RDTSC(P)/RDPID/RDPMC/RD*BASE/WR*BASE as instructions.
#include "tests/sys/crmsr_rig.h"

#include "isa/msr.h"

using crmsr::fault_of;
using isa::MsrId;
using isa::VEC_GP;
using isa::VEC_UD;

namespace {
int rd(isa::Cpu& c, uint32_t i, uint64_t* v = nullptr) {
  return fault_of([&] {
    uint64_t x = isa::read_msr(c, i);
    if (v) *v = x;
  });
}
int wr(isa::Cpu& c, uint32_t i, uint64_t v) { return fault_of([&] { isa::write_msr(c, i, v); }); }
}  // namespace

TEST_CASE("every MSR row is readable or faults as documented", "[msr]") {
  crmsr::Rig r;
  r.lm64();
  isa::Cpu& c = r.cpu();
  for (unsigned k = 0; k < isa::kMsrCount; k++) {
    const MsrId id = MsrId(k);
    INFO(isa::msr_name(id));
    const uint32_t first = isa::msr_index(id);
    CHECK(isa::find_msr(first) == id);
    CHECK(isa::find_msr(first + isa::msr_index_count(id) - 1) == id);
    // Not enumerated by the default model (APIC_BASE is, since the local APIC of
    // issue 4: CPUID.1:EDX.APIC; VMX_CAPS is, since VMX of issue 5).
    const bool absent = id == MsrId::UMWAIT_CONTROL;
    const bool write_only = id == MsrId::PRED_CMD;
    CHECK(rd(c, first) == (absent || write_only ? VEC_GP : -1));
  }
}

TEST_CASE("read-only MSRs, reserved bits and values read back", "[msr]") {
  crmsr::Rig r;
  r.lm64();
  isa::Cpu& c = r.cpu();
  // Model values applied at reset.
  uint64_t v = 0;
  CHECK(rd(c, 0xFE, &v) == -1);
  CHECK(v == 0x50A);
  CHECK(rd(c, 0x1A0, &v) == -1);
  CHECK(v == 0x41801);
  CHECK(rd(c, 0xCE, &v) == -1);
  CHECK(v == 0x1400);
  for (uint32_t ro : {0x17u, 0xCEu, 0xFEu, 0x10Au, 0x179u}) {
    INFO(std::hex << ro);
    CHECK(wr(c, ro, 0) == VEC_GP);
  }
  // MISC_ENABLE: writable bits change, read-only bits may not.
  CHECK(wr(c, 0x1A0, 0x41800) == -1);   // fast strings off
  CHECK(wr(c, 0x1A0, 0x40800) == VEC_GP);  // PEBS-unavailable is read-only
  CHECK(wr(c, 0x1A0, 0x41880) == VEC_GP);  // perfmon available is read-only
  // STAR: all bits; FMASK: 63:32 reserved; DEBUGCTL: BTF only, no LBR.
  CHECK(wr(c, 0xC0000081, ~0ull) == -1);
  CHECK(rd(c, 0xC0000081, &v) == -1);
  CHECK(v == ~0ull);
  CHECK(wr(c, 0xC0000084, 1ull << 32) == VEC_GP);
  CHECK(wr(c, 0xC0000084, 0x47700) == -1);
  CHECK(wr(c, 0x1D9, 2) == -1);
  CHECK(wr(c, 0x1D9, 1) == VEC_GP);
  CHECK(wr(c, 0x17A, 8) == VEC_GP);  // MCG_STATUS 63:3 reserved
  CHECK(wr(c, 0x49, 1) == -1);       // PRED_CMD: IBPB
  CHECK(wr(c, 0x49, 2) == VEC_GP);
  CHECK(wr(c, 0x48, 7) == -1);       // SPEC_CTRL: IBRS STIBP SSBD
  CHECK(wr(c, 0x48, 8) == VEC_GP);
  CHECK(wr(c, 0xC0000103, 1ull << 32) == VEC_GP);  // TSC_AUX 63:32 reserved
  CHECK(wr(c, 0xC0000103, 0x1234) == -1);
  CHECK(c.tsc_aux == 0x1234);
  CHECK(wr(c, 0x8B, 0) == -1);  // BIOS_SIGN_ID: accepted, the revision stays
  CHECK(rd(c, 0x8B, &v) == -1);
  CHECK(v == 0x2B000590ull << 32);
}

TEST_CASE("address MSRs are canonical-checked; FS/GS bases take effect", "[msr]") {
  crmsr::Rig r;
  r.lm64();
  isa::Cpu& c = r.cpu();
  // The default model has 57-bit linear addresses (LA57): canonical = bits 63:56 equal.
  for (uint32_t i : {0x175u, 0x176u, 0xC0000082u, 0xC0000083u, 0xC0000100u, 0xC0000101u,
                     0xC0000102u}) {
    INFO(std::hex << i);
    CHECK(wr(c, i, 0x0100000000000000ull) == VEC_GP);
    CHECK(wr(c, i, 0xFF80000000000000ull) == -1);
    CHECK(wr(c, i, 0x00FF800000001000ull) == -1);
    uint64_t v;
    CHECK(rd(c, i, &v) == -1);
    CHECK(v == 0x00FF800000001000ull);
  }
  CHECK(c.seg_base_eff[isa::FS] == 0x00FF800000001000ull);
  CHECK(c.seg[isa::GS].base == 0x00FF800000001000ull);
  CHECK(c.kernel_gs_base == 0x00FF800000001000ull);

  // 48-bit model: bit 47 set with zeros above is not canonical.
  sim::MachineConfig cfg;
  cfg.ram_bytes = 16 << 20;
  cfg.model = sim::find_cpu_model("skylake-server");
  sim::Machine m(cfg);
  m.reset_long_mode(0x10000, 0x80000);
  CHECK(wr(m.cpu(), 0xC0000082, 0x0000800000000000ull) == VEC_GP);
  CHECK(wr(m.cpu(), 0xC0000082, 0xFFFF800000000000ull) == -1);
}

TEST_CASE("PAT and MTRR memory types", "[msr]") {
  crmsr::Rig r;
  r.lm64();
  isa::Cpu& c = r.cpu();
  CHECK(wr(c, 0x277, 0x0007040600070406ull) == -1);
  CHECK(wr(c, 0x277, 0x0007040600070402ull) == VEC_GP);  // type 2 reserved
  CHECK(wr(c, 0x277, 0x0007040600070403ull) == VEC_GP);
  CHECK(wr(c, 0x277, 0x0007040600070408ull) == VEC_GP);  // bits 7:3 of an entry
  CHECK(wr(c, 0x277, 0x0707070707070707ull) == -1);      // UC- everywhere
  CHECK(c.msr.pat == 0x0707070707070707ull);
  // MTRR_DEF_TYPE: type, FE, E; 7 (UC-) is not an MTRR type.
  CHECK(wr(c, 0x2FF, 0xC06) == -1);
  CHECK(wr(c, 0x2FF, 0xC07) == VEC_GP);
  CHECK(wr(c, 0x2FF, 0x1006) == VEC_GP);
  // Variable ranges: PHYSBASE 11:8 reserved, PHYSMASK 10:0 reserved, bits >= 46.
  CHECK(wr(c, 0x200, 0x80000006) == -1);
  CHECK(wr(c, 0x200, 0x80000106) == VEC_GP);
  CHECK(wr(c, 0x200, (1ull << 46) | 6) == VEC_GP);
  CHECK(wr(c, 0x201, 0x3FFF80000800ull) == -1);
  CHECK(wr(c, 0x201, 0x3FFF80000801ull) == VEC_GP);
  CHECK(wr(c, 0x213, 0x800) == -1);  // the last PHYSMASK (pair 9)
  CHECK(c.msr.mtrr_var[19] == 0x800);
  CHECK(wr(c, 0x214, 0) == VEC_GP);  // beyond the 10 pairs: unknown
  // Fixed ranges: every byte a valid type.
  CHECK(wr(c, 0x250, 0x0606060606060606ull) == -1);
  CHECK(wr(c, 0x26F, 0x0000000000000005ull) == -1);
  CHECK(c.msr.mtrr_fixed[10] == 5);
  CHECK(wr(c, 0x258, 0x0200000000000000ull) == VEC_GP);
}

TEST_CASE("TSC, TSC_ADJUST, APERF/MPERF derive from cycles", "[msr]") {
  crmsr::Rig r;
  r.lm64();
  isa::Cpu& c = r.cpu();
  c.cycles = 5000;
  uint64_t v;
  CHECK(rd(c, 0x10, &v) == -1);
  CHECK(v == 5000);
  CHECK(wr(c, 0x10, 1000000) == -1);
  CHECK(isa::read_tsc_value(c) == 1000000);
  CHECK(rd(c, 0x3B, &v) == -1);
  CHECK(v == 1000000 - 5000);  // SDM 18.17.3: the TSC write moved TSC_ADJUST too
  c.cycles += 10;
  CHECK(isa::read_tsc_value(c) == 1000010);
  CHECK(wr(c, 0x3B, 0) == -1);  // TSC_ADJUST back to 0: TSC = cycles again
  CHECK(isa::read_tsc_value(c) == 5010);
  CHECK(wr(c, 0xE7, 100) == -1);
  c.cycles += 50;
  CHECK(rd(c, 0xE7, &v) == -1);
  CHECK(v == 150);
  CHECK(rd(c, 0xE8, &v) == -1);
  CHECK(v == 5060);
}

TEST_CASE("FEATURE_CONTROL lock semantics", "[msr]") {
  crmsr::Rig r;
  r.lm64();
  isa::Cpu& c = r.cpu();
  uint64_t v = 1;
  CHECK(rd(c, 0x3A, &v) == -1);
  CHECK(v == 0);                       // unlocked and zero (PLATFORM.md)
  CHECK(wr(c, 0x3A, 2) == VEC_GP);     // VMX inside SMX: no SMX
  CHECK(wr(c, 0x3A, 8) == VEC_GP);     // reserved
  CHECK(wr(c, 0x3A, 4) == -1);         // VMX outside SMX (the model has VMX)
  CHECK(wr(c, 0x3A, 5) == -1);         // lock
  CHECK(wr(c, 0x3A, 1) == VEC_GP);     // any write after lock
  CHECK(rd(c, 0x3A, &v) == -1);
  CHECK(v == 5);
}

TEST_CASE("EFER through WRMSR; VMX range, XSS, unknown MSRs #GP and are counted",
          "[msr]") {
  crmsr::Rig r;
  r.lm64();
  isa::Cpu& c = r.cpu();
  uint64_t v;
  CHECK(rd(c, 0xC0000080, &v) == -1);
  CHECK(v == c.efer);
  CHECK(wr(c, 0xC0000080, v | 2) == VEC_GP);
  CHECK(wr(c, 0xC0000080, v & ~(1ull << 11)) == -1);  // NXE off
  CHECK(c.efer == (v & ~(1ull << 11)));
  const uint64_t unknown = c.sys.msr_unknown;
  // The VMX capability MSRs are answered by the Bus (the machine's VMX unit); this
  // rig's flat test bus answers none of them.
  CHECK(rd(c, 0x480) == VEC_GP);
  CHECK(rd(c, 0x491) == VEC_GP);
  CHECK(wr(c, 0xDA0, 0) == -1);  // IA32_XSS: no supervisor component to enable
  CHECK(wr(c, 0xDA0, 1ull << 8) == VEC_GP);
  CHECK(c.sys.msr_unknown == unknown);  // table rows, not unknown
  CHECK(rd(c, 0x12345678) == VEC_GP);
  CHECK(wr(c, 0x4B564D00, 0) == VEC_GP);  // KVM's paravirt MSRs are not claimed
  CHECK(c.sys.msr_unknown == unknown + 2);
  CHECK(c.sys.msr.reads[unsigned(MsrId::VMX_CAPS)] == 2);
  CHECK(c.sys.msr.writes[unsigned(MsrId::EFER)] == 2);
}

TEST_CASE("RDMSR/WRMSR instructions: CPL 0, EDX:EAX", "[msr]") {
  SECTION("CPL 0") {
    crmsr::Rig r;
    r.lm64();
    r.asm64(
        "mov rax, -1\nmov rdx, -1\nmov ecx, 0xC0000080\nrdmsr\nmov r8, rax\nmov r9, rdx\n"
        "mov ecx, 0xC0000102\nmov eax, 0x5000\nmov edx, 0xFFFFFFFF\nmov rbx, -1\n"
        "shl rax, 0\nwrmsr\nhlt\n");
    crmsr::expect_halt(r.run());
    CHECK(r.reg(isa::R8) == r.cpu().efer);
    CHECK(r.reg(isa::R9) == 0);
    CHECK(r.cpu().kernel_gs_base == 0xFFFFFFFF00005000ull);
  }
  for (const char* body : {"mov ecx, 0x10\nrdmsr\n", "mov ecx, 0x10\nwrmsr\n", "rdpmc\n"}) {
    crmsr::Rig r;
    r.lm64();
    r.user();
    r.asm64(std::string(body) + "ud2\n");
    INFO(body);
    crmsr::expect_fault(r.run(), VEC_GP, 0);
  }
  {
    crmsr::Rig r;
    r.lm64();
    r.asm64("mov ecx, 0x12345678\nwrmsr\nhlt\n");
    crmsr::expect_fault(r.run(), VEC_GP, 0);
  }
}

TEST_CASE("RDTSC counts the cycles before it, exactly and deterministically", "[msr]") {
  auto run = [] {
    crmsr::Rig r;
    r.lm64();
    r.asm64(
        "rdtsc\nmov r8d, eax\nnop\nnop\nnop\nnop\nnop\nnop\nnop\nnop\nnop\nnop\n"
        "rdtsc\nsub eax, r8d\nmov r9d, eax\n"
        "mov ecx, 0xC0000103\nmov eax, 77\nxor edx, edx\nwrmsr\nrdtscp\nmov r10, rcx\n"
        "rdpid r11\nhlt\n");
    crmsr::expect_halt(r.run());
    return std::vector<uint64_t>{r.reg(isa::R8), r.reg(isa::R9), r.reg(isa::R10),
                                 r.reg(isa::R11), r.cpu().cycles};
  };
  auto a = run(), b = run();
  CHECK(a == b);
  const auto& m = sim::default_cpu_model();
  // First RDTSC, the MOV and ten NOPs retire between the two reads.
  CHECK(a[1] == uint64_t(m.class_cycles[isa::C_TSC] + m.class_cycles[isa::C_MOV] +
                             10 * m.class_cycles[isa::C_NOP]));
  CHECK(a[2] == 77);
  CHECK(a[3] == 77);
}

TEST_CASE("CR4.TSD and RDTSC at CPL 3", "[msr]") {
  for (bool tsd : {false, true}) {
    crmsr::Rig r;
    r.lm64();
    if (tsd) isa::write_cr4(r.cpu(), r.cpu().cr4 | 4);
    r.user();
    r.asm64("rdtsc\nud2\n");
    if (tsd) crmsr::expect_fault(r.run(), VEC_GP, 0);
    else crmsr::expect_fault(r.run(), VEC_UD);
  }
}

TEST_CASE("RD/WRFSBASE and GSBASE: CR4.FSGSBASE, sizes, canonical", "[msr]") {
  {
    crmsr::Rig r;
    r.lm64();
    r.asm64("rdfsbase rax\nhlt\n");
    crmsr::expect_fault(r.run(), VEC_UD);
  }
  {
    crmsr::Rig r;
    r.lm64();
    isa::write_cr4(r.cpu(), r.cpu().cr4 | (1u << 16));
    r.w64(crmsr::kData + 8, 0x1122334455667788ull);
    r.asm64(
        "mov rax, 0x20000\nwrfsbase rax\nrdfsbase rbx\nmov rdi, [fs:8]\n"
        "mov rdx, 0xFFFFFFFF00030000\nwrgsbase edx\nrdgsbase rsi\nrdgsbase ecx\n"
        "mov rdx, 0xFFFF800000000000\nwrgsbase rdx\nrdgsbase r8\nhlt\n");
    crmsr::expect_halt(r.run());
    CHECK(r.reg(isa::RBX) == 0x20000);
    CHECK(r.reg(isa::RDI) == 0x1122334455667788ull);
    CHECK(r.reg(isa::RSI) == 0x30000);  // the 32-bit form zero-extends
    CHECK(r.reg(isa::RCX) == 0x30000);
    CHECK(r.reg(isa::R8) == 0xFFFF800000000000ull);
  }
  {
    crmsr::Rig r;
    r.lm64();
    isa::write_cr4(r.cpu(), r.cpu().cr4 | (1u << 16));
    r.asm64("mov rax, 0x4000000000000000\nwrfsbase rax\nhlt\n");
    crmsr::expect_fault(r.run(), VEC_GP, 0);
  }
}

TEST_CASE("APIC_BASE and UMWAIT_CONTROL on a model that enumerates them", "[msr]") {
  // The default models leave the APIC (issue 4) and WAITPKG out; a model that has them
  // makes the rows appear, with their rules (SDM Vol. 3A 10.4.4, 10.12.5).
  sim::CpuModel model = sim::default_cpu_model();
  for (auto& l : model.cpuid) {
    if (l.leaf == 1) l.edx |= 1u << 9, l.ecx |= 1u << 21;  // APIC, x2APIC
    if (l.leaf == 7) l.ecx |= 1u << 5;                     // WAITPKG
  }
  sim::MachineConfig cfg;
  cfg.ram_bytes = 16 << 20;
  cfg.model = &model;
  sim::Machine m(cfg);
  m.reset_long_mode(0x10000, 0x80000);
  isa::Cpu& c = m.cpu();
  uint64_t v;
  CHECK(rd(c, 0x1B, &v) == -1);
  CHECK(v == 0xFEE00900);                             // BSP, enabled, default base
  CHECK(wr(c, 0x1B, 0xFEE00800) == VEC_GP);           // BSP is read-only
  CHECK(wr(c, 0x1B, 0xFEE00901) == VEC_GP);           // reserved 7:0
  CHECK(wr(c, 0x1B, (1ull << 46) | 0x900) == VEC_GP); // above MAXPHYADDR
  CHECK(wr(c, 0x1B, 0xFEE00D00) == -1);               // xAPIC -> x2APIC
  CHECK(wr(c, 0x1B, 0xFEE00900) == VEC_GP);           // x2APIC -> xAPIC is invalid
  CHECK(wr(c, 0x1B, 0xFEE00100) == -1);               // disable
  CHECK(wr(c, 0x1B, 0xFEE00500) == VEC_GP);           // EXTD without EN
  CHECK(wr(c, 0x1B, 0xFEE00D00) == VEC_GP);           // disabled -> x2APIC directly
  CHECK(wr(c, 0x1B, 0xFED00900) == -1);               // re-enable, moved base
  CHECK(c.msr.apic_base == 0xFED00900);
  CHECK(wr(c, 0xE1, 0x10000) == -1);
  CHECK(wr(c, 0xE1, 0x10002) == VEC_GP);  // bit 1 reserved
  CHECK(wr(c, 0xE1, 1ull << 32) == VEC_GP);
  CHECK(rd(c, 0xE1, &v) == -1);
  CHECK(v == 0x10000);
}
