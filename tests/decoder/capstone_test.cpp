// The Capstone differential check as a test: a fixed-seed sample per mode must show
// no disagreement that capstone_known_errors.md does not explain.
#include <catch2/catch.hpp>

#include <cstdio>
#include <map>
#include <string>

#include "tests/decoder/capstone_diff.h"

using namespace nestsim::test;

namespace {

constexpr uint64_t kSamples = 1000000;  // per mode; about 2 s each

void run_mode(isa::CodeSize mode, const char* name) {
  CapstoneDiff diff;
  InstGenerator gen(kDefaultSeed + unsigned(mode));  // fixed seed per mode
  std::map<std::string, uint64_t> per_entry;
  uint64_t both_valid = 0, agree = 0, unexplained = 0;
  uint8_t buf[kWindow];
  for (uint64_t i = 0; i < kSamples; i++) {
    gen.next(buf, mode);
    DiffResult r = diff.compare(buf, mode);
    if (r.agree()) {
      agree++;
      both_valid += r.ours_valid;
      continue;
    }
    Excuse e = classify(buf, mode, r);
    if (e.id) {
      per_entry[e.id]++;
      continue;
    }
    unexplained++;
    if (unexplained <= 20)
      UNSCOPED_INFO(name << "-bit " << hex(buf, kWindow) << " ours=" << (r.ours_valid ? "" : "invalid/")
                         << r.ours_len << " capstone=" << (r.cs_valid ? "" : "invalid/") << r.cs_len << " "
                         << r.cs_text);
  }
  std::printf("decoder.capstone.%s: %llu samples, %llu agree (%llu valid in both), %llu unexplained", name,
              (unsigned long long)kSamples, (unsigned long long)agree, (unsigned long long)both_valid,
              (unsigned long long)unexplained);
  for (auto& [id, n] : per_entry) std::printf(", %s=%llu", id.c_str(), (unsigned long long)n);
  std::printf("\n");
  CHECK(unexplained == 0);
  // The generator must keep producing mostly real instructions, or the check is empty.
  CHECK(both_valid > kSamples / 2);
}

}  // namespace

TEST_CASE("decoder.capstone.16", "[decoder][capstone]") { run_mode(isa::CodeSize::k16, "16"); }
TEST_CASE("decoder.capstone.32", "[decoder][capstone]") { run_mode(isa::CodeSize::k32, "32"); }
TEST_CASE("decoder.capstone.64", "[decoder][capstone]") { run_mode(isa::CodeSize::k64, "64"); }
