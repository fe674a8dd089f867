// Misc system instructions (WBINVD/INVD, MONITOR/MWAIT, CLAC/STAC, RDPKRU/WRPKRU,
// HLT, GETSEC, RSM, PAUSE's cost) and the CPU models as data.
#include "tests/sys/crmsr_rig.h"

#include <set>

using isa::VEC_GP;
using isa::VEC_UD;

namespace {
sim::RunResult run64(const std::string& body, bool user = false) {
  crmsr::Rig r;
  r.lm64();
  if (user) r.user();
  r.asm64(body);
  return r.run();
}
}  // namespace

TEST_CASE("privileged cache and halt instructions", "[misc]") {
  crmsr::expect_halt(run64("wbinvd\ninvd\nhlt\n"));
  for (const char* b : {"wbinvd\n", "invd\n", "hlt\n"}) {
    INFO(b);
    crmsr::expect_fault(run64(std::string(b) + "ud2\n", true), VEC_GP, 0);
  }
  crmsr::expect_fault(run64("getsec\nhlt\n"), VEC_UD);
  crmsr::expect_fault(run64("rsm\nhlt\n"), VEC_UD);
}

TEST_CASE("MONITOR/MWAIT: CPL 0, extensions, MISC_ENABLE gate", "[misc]") {
  crmsr::expect_halt(run64("mov eax, 0x20000\nxor ecx, ecx\nxor edx, edx\nmonitor\n"
                           "mov ecx, 1\nmwait\nhlt\n"));
  crmsr::expect_fault(run64("xor ecx, ecx\nmonitor\nud2\n", true), VEC_UD);
  crmsr::expect_fault(run64("xor ecx, ecx\nmwait\nud2\n", true), VEC_UD);
  crmsr::expect_fault(run64("mov ecx, 2\nmwait\nhlt\n"), VEC_GP, 0);
  crmsr::expect_fault(run64("mov eax, 0x20000\nmov ecx, 1\nmonitor\nhlt\n"), VEC_GP, 0);
  // Clearing IA32_MISC_ENABLE.MONITOR hides the feature and makes both #UD.
  crmsr::expect_fault(run64("mov ecx, 0x1A0\nrdmsr\nbtr eax, 18\nwrmsr\nmov eax, 1\ncpuid\n"
                            "mov r8d, ecx\nxor ecx, ecx\nmwait\nhlt\n"),
                      VEC_UD);
  crmsr::Rig r;
  r.lm64();
  r.asm64("mov ecx, 0x1A0\nrdmsr\nbtr eax, 18\nwrmsr\nmov eax, 1\ncpuid\nhlt\n");
  crmsr::expect_halt(r.run());
  CHECK(!(r.reg(isa::RCX) & 8));
}

TEST_CASE("CLAC/STAC: AC at CPL 0, #UD at CPL 3 and in real mode", "[misc]") {
  crmsr::Rig r;
  r.lm64();
  r.asm64("stac\npushfq\npop rax\nclac\npushfq\npop rbx\nhlt\n");
  crmsr::expect_halt(r.run());
  CHECK((r.reg(isa::RAX) & isa::FLAG_AC));
  CHECK(!(r.reg(isa::RBX) & isa::FLAG_AC));
  crmsr::expect_fault(run64("stac\nud2\n", true), VEC_UD);
  // Real mode delivers #UD through the IVT: vector 6 points at a marker.
  crmsr::Rig q;
  q.m.reset_real_mode(0x1000, 0x8000);
  q.asm_at(0x1000, "bits 16\norg 0x1000\nclac\nhlt\n");
  q.asm_at(0x2000, "bits 16\norg 0x2000\nmov ax, 0x66\nhlt\n");
  q.w32(6 * 4, 0x2000);
  crmsr::expect_halt(q.run());
  CHECK(q.reg(isa::RAX) == 0x66);
}

TEST_CASE("RDPKRU/WRPKRU: CR4.PKE, ECX/EDX rules, OSPKE", "[misc]") {
  crmsr::expect_fault(run64("xor ecx, ecx\nrdpkru\nhlt\n"), VEC_UD);
  crmsr::Rig r;
  r.lm64();
  isa::write_cr4(r.cpu(), r.cpu().cr4 | (1u << 22));
  r.user();  // both work at any CPL
  r.asm64("mov eax, 0x0000000C\nxor ecx, ecx\nxor edx, edx\nwrpkru\nmov rdx, -1\nrdpkru\n"
          "mov r8, rax\nmov r9, rdx\nmov eax, 7\nxor ecx, ecx\ncpuid\nmov r10, rcx\nud2\n");
  crmsr::expect_fault(r.run(), VEC_UD);
  CHECK(r.reg(isa::R8) == 0xC);
  CHECK(r.reg(isa::R9) == 0);
  CHECK((r.reg(isa::R10) & 0x18) == 0x18);  // PKU and OSPKE
  CHECK(r.cpu().pkru == 0xC);
  crmsr::Rig g;
  g.lm64();
  isa::write_cr4(g.cpu(), g.cpu().cr4 | (1u << 22));
  g.asm64("xor ecx, ecx\nmov edx, 1\nwrpkru\nhlt\n");
  crmsr::expect_fault(g.run(), VEC_GP, 0);
}

TEST_CASE("PAUSE costs the model's pause latency", "[misc]") {
  auto cycles = [](const char* body) {
    crmsr::Rig r;
    r.lm64();
    r.asm64(body);
    crmsr::expect_halt(r.run());
    return r.cpu().cycles;
  };
  const auto& m = sim::default_cpu_model();
  CHECK(cycles("pause\npause\nhlt\n") - cycles("hlt\n") == 2u * m.timing.pause);
  CHECK(cycles("nop\nnop\nhlt\n") - cycles("hlt\n") == 2u * m.class_cycles[isa::C_NOP]);
}

TEST_CASE("CPU models: listing, defaults, features consistent with the core", "[misc][model]") {
  const auto& all = sim::cpu_models();
  REQUIRE(all.size() >= 3);
  CHECK(std::string(sim::default_cpu_model().name) == "server");
  std::set<std::string> names;
  for (const auto* m : all) names.insert(m->name);
  CHECK(names.size() == all.size());
  CHECK(sim::cpu_model_names().size() == all.size());
  CHECK(sim::find_cpu_model("icelake-server"));
  CHECK(sim::find_cpu_model("skylake-server"));
  CHECK(!sim::find_cpu_model("pentium"));
  const std::string help = sim::cpu_model_help();
  for (const auto& n : names) CHECK(help.find(n) != std::string::npos);

  for (const auto* model : all) {
    INFO(model->name);
    sim::MachineConfig cfg;
    cfg.ram_bytes = 16 << 20;
    cfg.model = model;
    sim::Machine m(cfg);
    m.reset_long_mode(0x10000, 0x80000);
    isa::Cpu& c = m.cpu();
    // Every CR4 bit the model enumerates can be set (where the mode allows it).
    using namespace isa::feat;
    for (auto [f, bit] : {std::pair{kSmep, 20}, {kSmap, 21}, {kPku, 22}, {kUmip, 11},
                          {kFsgsbase, 16}, {kPcid, 17}, {kDe, 3}, {kPge, 7},
                          {kVme, 0}, {kVme, 1}}) {
      INFO(bit);
      REQUIRE(isa::has_feature(c, f));
      CHECK(crmsr::fault_of([&] { isa::write_cr4(c, c.cr4 | (1ull << bit)); }) == -1);
    }
    CHECK(isa::has_feature(c, kInvpcid));
    CHECK(isa::has_feature(c, kRdpid));
    CHECK(isa::has_feature(c, kPage1g));
    CHECK(isa::has_feature(c, kNx));
    CHECK(isa::has_feature(c, kVmx));      // vmx/ (issue 5)
    CHECK(isa::has_feature(c, kXsaves));
    CHECK(isa::cpuid_reg(c, 0xD, 1, isa::kEcx) == 0);  // no supervisor state components
    CHECK(isa::maxphyaddr(c) == model->maxphyaddr);
    // The linear width follows LA57.
    const bool la57 = isa::has_feature(c, kLa57);
    CHECK(((isa::cpuid_reg(c, 0x80000008, 0, isa::kEax) >> 8) & 0xFF) == (la57 ? 57u : 48u));
    // MSR defaults applied at reset.
    CHECK(c.msr.mtrr_cap == 0x50A);
    CHECK(c.msr.misc_enable == 0x41801);
    CHECK(c.msr.bios_sign_id != 0);
    // Timing: every class costs something, the long ones more than one cycle.
    for (unsigned k = 0; k < isa::C_COUNT; k++) CHECK(model->class_cycles[k] >= 1);
    CHECK(model->class_cycles[isa::C_DIV] > model->class_cycles[isa::C_MUL]);
    CHECK(model->timing.pause > 0);
    CHECK(model->timing.walk_ref > 0);
  }
}

TEST_CASE("XSAVES/XRSTORS: compacted format, CPL 0, XCOMP_BV[63]", "[misc]") {
  crmsr::Rig r;
  r.lm64();
  r.asm64(
      "mov rax, 0x1122334455667788\nmovq xmm3, rax\nmov eax, 3\nxor edx, edx\n"
      "xsaves [0x20000]\npxor xmm3, xmm3\nxrstors [0x20000]\nmovq rbx, xmm3\nhlt\n");
  crmsr::expect_halt(r.run());
  CHECK(r.reg(isa::RBX) == 0x1122334455667788ull);
  CHECK(r.r64(0x20000 + 520) == 0x8000000000000003ull);  // XCOMP_BV: compacted, RFBM
  CHECK((r.r64(0x20000 + 512) & 2));                      // XSTATE_BV: SSE in use
  crmsr::Rig u;
  u.lm64();
  u.user();
  u.asm64("mov eax, 3\nxor edx, edx\nxsaves [0x20000]\nud2\n");
  crmsr::expect_fault(u.run(), VEC_GP, 0);
  crmsr::Rig s;
  s.lm64();  // a standard-format area (XCOMP_BV = 0) is #GP for XRSTORS
  s.asm64("mov eax, 3\nxor edx, edx\nxrstors [0x20000]\nhlt\n");
  crmsr::expect_fault(s.run(), VEC_GP, 0);
  crmsr::Rig a;
  a.lm64();
  a.asm64("mov eax, 3\nxor edx, edx\nxsaves [0x20020]\nhlt\n");  // not 64-byte aligned
  crmsr::expect_fault(a.run(), VEC_GP, 0);
}
