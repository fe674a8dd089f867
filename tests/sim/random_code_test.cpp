// Random bytes executed as code in every mode: only architectural outcomes.
// (The long version of this is the fuzz_exec libFuzzer target, docs/FUZZING.md.)
#include <catch2/catch.hpp>

#include <cstdio>
#include <random>
#include <vector>

#include "tests/sim/random_code.h"

TEST_CASE("random code in 16/32/64-bit mode ends architecturally", "[engine][random]") {
  sim::MachineConfig cfg;
  cfg.ram_bytes = 1 << 20;
  cfg.serial_out = std::fopen("/dev/null", "w");
  sim::Machine m(cfg);
  std::mt19937_64 rng(20261122);
  unsigned by_reason[8] = {};
  uint64_t total_insns = 0;
  for (int i = 0; i < 30000; i++) {
    std::vector<uint8_t> in(1 + 16 + rng() % 512);
    for (auto& b : in) b = uint8_t(rng());
    in[0] = uint8_t(i % 3);
    sim::RunResult r = test::run_random_code(m, in.data(), in.size(), 5000);
    REQUIRE(r.reason != sim::StopReason::kNone);
    REQUIRE(r.reason != sim::StopReason::kError);
    by_reason[unsigned(r.reason)]++;
    total_insns += m.cpu().icount;
  }
  std::fclose(cfg.serial_out);
  CHECK(total_insns > 30000);  // they really executed code
  // Most random programs fault quickly; some run into the limit or halt.
  CHECK(by_reason[unsigned(sim::StopReason::kFault)] > 10000);
  CHECK(by_reason[unsigned(sim::StopReason::kFault)] < 30000);
}
