// Random VMX programs (tests/vmx/vmx_random.h) from fixed seeds: random VMCS content,
// controls, EPT tables, VMX instruction operands and guest code must only ever end in an
// architectural stop, and the same way when run again. The long version is the fuzz_vmx libFuzzer target
// (docs/FUZZING.md); its committed reproducers (tests/fuzz/corpus_vmx/) run here too.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "tests/vmx/vmx_random.h"

namespace {

sim::MachineConfig config() {
  sim::MachineConfig cfg;
  cfg.ram_bytes = vmxrand::kRam;
  cfg.serial_out = std::fopen("/dev/null", "w");
  return cfg;
}

bool architectural(sim::StopReason r) {
  return r != sim::StopReason::kNone && r != sim::StopReason::kError;
}

}  // namespace

TEST_CASE("random VMX programs end architecturally", "[vmx][random]") {
  sim::MachineConfig cfg = config();
  sim::Machine m(cfg);
  std::mt19937_64 rng(20261122);
  // 20,000 programs take about 5 s in RelWithDebInfo; a sanitizer build (the asan
  // preset, ~10 ms a program) runs a tenth of them.
#if defined(__SANITIZE_ADDRESS__)
  constexpr int kPrograms = 2000;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  constexpr int kPrograms = 2000;
#else
  constexpr int kPrograms = 20000;
#endif
#else
  constexpr int kPrograms = 20000;
#endif
  unsigned by_reason[16] = {};
  unsigned launched = 0, resumed_to_end = 0;
  uint64_t entries = 0, exits = 0;
  for (int i = 0; i < kPrograms; i++) {
    std::vector<uint8_t> in(64 + rng() % 4032);
    for (auto& b : in) b = uint8_t(rng());
    vmxrand::Stats st;
    sim::RunResult r = vmxrand::run(m, in.data(), in.size(), &st, 20000);
    INFO("program " << i << " ended " << sim::stop_reason_name(r.reason) << ": " << r.message);
    REQUIRE(architectural(r.reason));
    by_reason[unsigned(r.reason)]++;
    launched += st.launched;
    entries += st.entries;
    exits += st.exits;
    resumed_to_end += r.reason == sim::StopReason::kExitDevice && r.exit_value == 0;
    // Runs are reproducible to the cycle (simulated time only): every tenth program
    // runs again on the same machine and must end the same way at the same point.
    if (i % 10 == 0) {
      const uint64_t icount = m.cpu().icount, cycles = m.cpu().cycles, rip = m.cpu().rip();
      sim::RunResult again = vmxrand::run(m, in.data(), in.size(), nullptr, 20000);
      CHECK(again.reason == r.reason);
      CHECK(again.exit_value == r.exit_value);
      CHECK(m.cpu().icount == icount);
      CHECK(m.cpu().cycles == cycles);
      CHECK(m.cpu().rip() == rip);
    }
    // Non-root operation always has a current VMCS (the unit's invariant).
    REQUIRE((m.cpu().vmx.mode != isa::VmxMode::kNonRoot || m.vmx().current()));
  }
  std::fclose(cfg.serial_out);
  // The generator must reach non-root operation often, and the handler must get to
  // resume guests to the end of their budget in some programs; failures of every kind
  // (VMfail, entry-failure exits, host faults) make up the rest.
  INFO("launched " << launched << ", entries " << entries << ", exits " << exits
                   << ", resumed to the end " << resumed_to_end);
  CHECK(launched > kPrograms / 5);
  CHECK(exits >= entries);
  CHECK(resumed_to_end > kPrograms / 50);
  CHECK(by_reason[unsigned(sim::StopReason::kExitDevice)] > kPrograms / 10);
}

TEST_CASE("fuzz_vmx reproducers end architecturally", "[vmx][random]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(__FILE__).parent_path().parent_path() / "fuzz" / "corpus_vmx";
  if (!fs::is_directory(dir)) return;  // a build from a copy without the source tree
  sim::MachineConfig cfg = config();
  sim::Machine m(cfg);
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().extension() == ".md") continue;
    std::ifstream f(e.path(), std::ios::binary);
    std::vector<uint8_t> in((std::istreambuf_iterator<char>(f)), {});
    sim::RunResult r = vmxrand::run(m, in.data(), in.size());
    INFO(e.path().filename().string() << " ended " << sim::stop_reason_name(r.reason));
    CHECK(architectural(r.reason));
  }
  std::fclose(cfg.serial_out);
}
