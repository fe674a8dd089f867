// nestsim-decode-diff: compares isa::decode() with Capstone 4 on random byte
// strings and prints every disagreement (hex bytes, both lengths, Capstone's text).
//   nestsim-decode-diff [--seed N] [--count N] [--mode 16|32|64|all] [--all]
//   nestsim-decode-diff --mode 64 --bytes "66 0f 38 00 c1"
// Mode m uses seed + m (16: +0, 32: +1, 64: +2); the defaults reproduce the ctest
// sample of capstone_test.cpp. --all also prints disagreements explained by capstone_known_errors.md; --bytes
// compares one given byte string (padded with zeros) and prints both results.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "tests/decoder/capstone_diff.h"

using namespace nestsim::test;

int main(int argc, char** argv) {
  uint64_t seed = kDefaultSeed, count = 1000000;
  std::string mode_arg = "all";
  bool print_known = false;
  std::string bytes_arg;
  for (int i = 1; i < argc; i++) {
    auto value = [&](const char* opt) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "nestsim-decode-diff: %s needs a value\n", opt);
        std::exit(2);
      }
      return argv[++i];
    };
    if (!std::strcmp(argv[i], "--seed")) seed = std::strtoull(value("--seed"), nullptr, 0);
    else if (!std::strcmp(argv[i], "--count")) count = std::strtoull(value("--count"), nullptr, 0);
    else if (!std::strcmp(argv[i], "--mode")) mode_arg = value("--mode");
    else if (!std::strcmp(argv[i], "--all")) print_known = true;
    else if (!std::strcmp(argv[i], "--bytes")) bytes_arg = value("--bytes");
    else {
      std::fprintf(stderr, "nestsim-decode-diff: unknown option %s\n"
                   "usage: nestsim-decode-diff [--seed N] [--count N] [--mode 16|32|64|all] [--all]"
                   " [--bytes HEX]\n",
                   argv[i]);
      return 2;
    }
  }
  struct M { const char* name; isa::CodeSize mode; };
  const M modes[3] = {{"16", isa::CodeSize::k16}, {"32", isa::CodeSize::k32}, {"64", isa::CodeSize::k64}};
  CapstoneDiff diff;
  if (!bytes_arg.empty()) {
    uint8_t buf[kWindow] = {};
    unsigned n = 0;
    for (const char* p = bytes_arg.c_str(); *p && n < kWindow;) {
      char* end;
      unsigned long v = std::strtoul(p, &end, 16);
      if (end == p) break;
      buf[n++] = uint8_t(v);
      p = end;
    }
    for (const M& m : modes) {
      if (mode_arg != "all" && mode_arg != m.name) continue;
      DiffResult r = diff.compare(buf, m.mode);
      Excuse e = classify(buf, m.mode, r);
      std::printf("%s-bit %s: ours=%s%u (status %d) capstone=%s%u %s [%s]\n", m.name, hex(buf, n).c_str(),
                  r.ours_valid ? "" : "invalid/", r.ours_len, int(r.status), r.cs_valid ? "" : "invalid/",
                  r.cs_len, r.cs_text.c_str(), r.agree() ? "agree" : e.id ? e.id : "UNEXPLAINED");
    }
    return 0;
  }
  uint64_t unexplained = 0;
  for (const M& m : modes) {
    if (mode_arg != "all" && mode_arg != m.name) continue;
    InstGenerator gen(seed + unsigned(m.mode));
    std::map<std::string, uint64_t> per_entry;
    uint64_t bad = 0, agree = 0, both_valid = 0;
    uint8_t buf[kWindow];
    for (uint64_t i = 0; i < count; i++) {
      gen.next(buf, m.mode);
      DiffResult r = diff.compare(buf, m.mode);
      if (r.agree()) {
        agree++;
        both_valid += r.ours_valid;
        continue;
      }
      Excuse e = classify(buf, m.mode, r);
      if (e.id) per_entry[e.id]++;
      else bad++;
      if (!e.id || print_known)
        std::printf("%s-bit %-44s ours=%s%u capstone=%s%u  %s  [%s]%s%s\n", m.name, hex(buf, kWindow).c_str(),
                    r.ours_valid ? "" : "invalid/", r.ours_len, r.cs_valid ? "" : "invalid/", r.cs_len,
                    r.cs_text.c_str(), e.id ? e.id : "UNEXPLAINED", r.mem_mismatch.empty() ? "" : " mem:",
                    r.mem_mismatch.c_str());
    }
    std::printf("mode %s: %llu samples, %llu agree (%llu valid in both), %llu unexplained", m.name,
                (unsigned long long)count, (unsigned long long)agree, (unsigned long long)both_valid,
                (unsigned long long)bad);
    for (auto& [id, n] : per_entry) std::printf(", %s=%llu", id.c_str(), (unsigned long long)n);
    std::printf("\n");
    unexplained += bad;
  }
  return unexplained ? 1 : 0;
}
