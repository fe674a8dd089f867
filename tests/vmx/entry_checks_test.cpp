// VM-entry checks (SDM Vol. 3C 26.2, 26.3.1): the valid baselines of the rig
// (entry_checks_rig.h) pass all three check functions, and random mutations of them
// never crash and always give a well-formed result. One row per check is in
// entry_checks_{controls,host,guest}_test.cpp.
#include "tests/vmx/entry_checks_rig.h"

using namespace entrytest;  // NOLINT: the rig, and vmx/isa names through it

TEST_CASE("Entry checks: the baselines pass", "[entry]") {
  SECTION("64-bit host and guest") {
    Rig r;
    INFO(describe(r.run()));
    CHECK(r.run().ok());
    CHECK(r.pdpte[0] == ~0ull);  // no PAE paging: PDPTEs untouched
  }
  SECTION("unrestricted real-mode guest") {
    Rig r;
    r.real_mode();
    INFO(describe(r.run()));
    CHECK(r.run().ok());
  }
  SECTION("32-bit PAE guest with EPT (PDPTE fields)") {
    Rig r;
    r.pae32(true);
    INFO(describe(r.run()));
    CHECK(r.run().ok());
    CHECK(r.pdpte[0] == ~0ull);  // with EPT the fields are loaded, not memory
  }
  SECTION("32-bit PAE guest without EPT (PDPTEs from guest CR3)") {
    Rig r;
    r.pae32(false);
    INFO(describe(r.run()));
    CHECK(r.run().ok());
    CHECK(r.pdpte[0] == 0x30001);
    CHECK(r.pdpte[1] == 0x31001);
    CHECK(r.pdpte[2] == 0x32001);
    CHECK(r.pdpte[3] == 0);
  }
  SECTION("virtual-8086 guest") {
    Rig r;
    r.v86();
    INFO(describe(r.run()));
    CHECK(r.run().ok());
  }
  SECTION("a minimal VMCS: no optional controls, no link pointer") {
    Rig r;
    r.set(F::PIN_BASED_VM_EXEC_CONTROL, PIN_DEFAULT1);
    r.set(F::CPU_BASED_VM_EXEC_CONTROL,
          CPU_DEFAULT1 & ~(CPU_CR3_LOAD_EXITING | CPU_CR3_STORE_EXITING));
    r.set(F::VM_EXIT_CONTROLS,
          (EXIT_DEFAULT1 & ~EXIT_SAVE_DEBUG_CONTROLS) | EXIT_HOST_ADDR_SPACE_SIZE);
    r.set(F::VM_ENTRY_CONTROLS,
          (ENTRY_DEFAULT1 & ~ENTRY_LOAD_DEBUG_CONTROLS) | ENTRY_IA32E_MODE_GUEST);
    r.set(F::VMCS_LINK_POINTER, ~0ull);
    r.set(F::VM_EXIT_MSR_STORE_COUNT, 0), r.set(F::VM_EXIT_MSR_STORE_ADDR, 3);
    r.set(F::VM_EXIT_MSR_LOAD_COUNT, 0), r.set(F::VM_EXIT_MSR_LOAD_ADDR, kFar);
    r.set(F::VM_ENTRY_MSR_LOAD_COUNT, 0), r.set(F::VM_ENTRY_MSR_LOAD_ADDR, ~0ull);
    INFO(describe(r.run()));
    CHECK(r.run().ok());
  }
}

// Random mutations of the baselines: whatever the VMCS holds, the checks return a
// well-formed result (a kind, a section of the right chapter, a check text, a
// qualification that belongs to the section) and read no memory beyond MAXPHYADDR.
TEST_CASE("Entry checks: random VMCS contents give well-formed results", "[entry]") {
  std::mt19937_64 rng(20261122);
  const int kIterations = 300000;
  int failures[4] = {};
  // The five baselines, built once; each iteration mutates a copy of one's VMCS.
  std::vector<Rig> bases(5);
  bases[1].real_mode();
  bases[2].pae32(true);
  bases[3].pae32(false);
  bases[4].v86();
  for (int it = 0; it < kIterations; it++) {
    Rig& b = bases[rng() % bases.size()];
    struct {
      Vmcs v;
      EntryContext ctx;
      uint64_t pdpte[4];
      EntryCheckResult run(const VmxCaps& caps) {
        EntryCheckResult r = check_controls(v, caps, ctx);
        if (r.ok()) r = check_host_state(v, caps, ctx);
        if (r.ok()) r = check_guest_state(v, caps, ctx, pdpte);
        return r;
      }
    } r{b.v, b.ctx, {}};
    const int n = 1 + int(rng() % 4);
    for (int k = 0; k < n; k++) {
      const F f = F(rng() % kFieldCount);
      const uint64_t old = r.v.get(f);
      uint64_t x;
      switch (rng() % 6) {
        case 0: x = rng(); break;
        case 1: x = old ^ (1ull << (rng() % 64)); break;
        case 2: x = old ^ (1ull << (rng() % 32)); break;
        case 3: x = rng() % 16; break;
        case 4: x = ~0ull; break;
        default: x = 0; break;
      }
      r.v.set(f, x);
    }
    if (rng() % 8 == 0) r.ctx.host_ia32e = !r.ctx.host_ia32e;
    const bool bad_header = rng() % 16 == 0;
    if (bad_header) b.mem.put32(SHADOW_VMCS, uint32_t(rng()));
    // Now and then another model: fewer features, another MAXPHYADDR.
    VmxCaps caps = b.caps;
    if (rng() % 8 == 0) {
      caps.maxphyaddr = uint8_t(36 + rng() % 17);
      caps.misc &= rng();
      caps.ept_vpid &= rng();
      caps.cr4_fixed1 &= ~(rng() & CR4_LA57);
      caps.entry |= uint32_t(rng()) & (ENTRY_SMM | ENTRY_DEACT_DUAL_MONITOR);
    }
    b.mem.max_read = 0;
    const EntryCheckResult res = r.run(caps);
    INFO("highest address read " << b.mem.max_read);
    REQUIRE(b.mem.max_read < (1ull << caps.maxphyaddr));
    if (bad_header) b.mem.put32(SHADOW_VMCS, b.caps.revision_id | VMCS_SHADOW_INDICATOR);
    failures[int(res.failure)]++;
    if (res.ok()) {
      REQUIRE(res.check == nullptr);
      REQUIRE(res.section == nullptr);
      REQUIRE(res.qualification == 0);
      continue;
    }
    REQUIRE(res.check != nullptr);
    REQUIRE(res.section != nullptr);
    const std::string sec = res.section;
    switch (res.failure) {
      case EntryFailure::kControls:
        REQUIRE(sec.rfind("26.2.1.", 0) == 0);
        REQUIRE(res.qualification == 0);
        break;
      case EntryFailure::kHostState:
        REQUIRE((sec == "26.2.2" || sec == "26.2.3" || sec == "26.2.4"));
        REQUIRE(res.qualification == 0);
        break;
      case EntryFailure::kGuestState:
        REQUIRE(sec.rfind("26.3.1.", 0) == 0);
        if (sec == "26.3.1.6")
          REQUIRE(res.qualification == ENTRY_QUAL_PDPTE);
        else
          REQUIRE((res.qualification == ENTRY_QUAL_DEFAULT ||
                   res.qualification == ENTRY_QUAL_LINK_PTR));
        if (res.qualification == ENTRY_QUAL_LINK_PTR) REQUIRE(sec == "26.3.1.5");
        break;
      default: FAIL("unknown failure kind");
    }
  }
  INFO("passed " << failures[0] << ", controls " << failures[1] << ", host " << failures[2]
                 << ", guest " << failures[3]);
  // Each outcome occurs: the mutations reach every stage of the checks.
  CHECK(failures[0] > 0);
  CHECK(failures[1] > 0);
  CHECK(failures[2] > 0);
  CHECK(failures[3] > 0);
}
