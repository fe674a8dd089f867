// Random bytes executed as code in every mode: only architectural outcomes.
// (The long version of this is the fuzz_exec libFuzzer target, docs/FUZZING.md.)
#include <catch2/catch.hpp>

#include <cstdio>
#include <random>
#include <vector>

#include "tests/sim/random_code.h"

TEST_CASE("random code in every mode ends architecturally", "[engine][random]") {
  sim::MachineConfig cfg;
  cfg.ram_bytes = 1 << 20;
  cfg.serial_out = std::fopen("/dev/null", "w");
  sim::Machine m(cfg);
  std::mt19937_64 rng(20261122);
  unsigned by_reason[16] = {};
  uint64_t total_insns = 0;
  uint64_t insns_by_mode[test::kRandomModes] = {};
  for (int i = 0; i < 30000; i++) {
    std::vector<uint8_t> in(1 + 16 + rng() % 512);
    for (auto& b : in) b = uint8_t(rng());
    in[0] = uint8_t(i % test::kRandomModes);
    sim::RunResult r = test::run_random_code(m, in.data(), in.size(), 5000);
    REQUIRE(r.reason != sim::StopReason::kNone);
    REQUIRE(r.reason != sim::StopReason::kError);
    by_reason[unsigned(r.reason)]++;
    total_insns += m.cpu().icount;
    insns_by_mode[i % test::kRandomModes] += m.cpu().icount;
  }
  std::fclose(cfg.serial_out);
  CHECK(total_insns > 30000);  // they really executed code
  for (unsigned mode = 0; mode < test::kRandomModes; mode++) {
    INFO("mode " << mode);
    CHECK(insns_by_mode[mode] > 1000);
  }
  // Most random programs fault quickly (an exception delivered to the HLT handler,
  // an unhandled one, or a shutdown); some run into the limit or halt by themselves.
  unsigned ended = by_reason[unsigned(sim::StopReason::kFault)] +
                   by_reason[unsigned(sim::StopReason::kHalted)] +
                   by_reason[unsigned(sim::StopReason::kShutdown)];
  CHECK(ended > 10000);
  CHECK(by_reason[unsigned(sim::StopReason::kLimit)] < 30000);
}
