// bench_cycles: runs a benchmark kernel on nestsim with a named CPU model and checks
// its simulated cycle count against a golden value (docs/TIMING.md: a change to the
// timing model or to an instruction's cost shows up here and is updated on purpose).
//
// usage: bench_cycles IMAGE MODEL [EXPECTED_CYCLES]
//   prints "MODEL insns=N cycles=C"; with EXPECTED_CYCLES, exits 1 on a mismatch.
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "sim/loader.h"
#include "sim/machine.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_cycles IMAGE MODEL [EXPECTED_CYCLES]\n");
    return 2;
  }
  sim::MachineConfig cfg;
  cfg.model = sim::find_cpu_model(argv[2]);
  if (!cfg.model) {
    std::fprintf(stderr, "bench_cycles: unknown CPU model '%s'; models:\n%s", argv[2],
                 sim::cpu_model_help().c_str());
    return 2;
  }
  cfg.serial_out = stderr;
  sim::Machine m(cfg);
  try {
    sim::load_image(m, argv[1]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cycles: %s\n", e.what());
    return 2;
  }
  sim::RunLimits lim;
  lim.max_insns = 10'000'000'000ull;
  sim::RunResult r = m.run(lim);
  if (r.reason != sim::StopReason::kExitDevice || r.exit_value != 0) {
    std::fprintf(stderr, "bench_cycles: run ended with %s (value %u)\n",
                 sim::stop_reason_name(r.reason), r.exit_value);
    return 1;
  }
  const uint64_t cycles = m.cpu().cycles;
  std::printf("%s insns=%" PRIu64 " cycles=%" PRIu64 "\n", argv[2], m.cpu().icount, cycles);
  if (argc > 3) {
    const uint64_t want = std::strtoull(argv[3], nullptr, 10);
    if (cycles != want) {
      std::fprintf(stderr, "bench_cycles: %" PRIu64 " cycles, golden %" PRIu64 "\n", cycles, want);
      return 1;
    }
  }
  return 0;
}
