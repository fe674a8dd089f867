// A one-line progress display for long runs: instructions, MIPS, simulated time and,
// when a run limit is set, the estimated time to reach it. It draws only when its
// stream is a terminal, rewriting one line with '\r' at most twice a second, and
// erases the line when the run ends, so logs and pipes never see it.
#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>

namespace sim {

class Progress {
 public:
  // max_insns/max_cycles: the run's limits (~0 = none); core_hz: simulated core
  // frequency for the simulated-time figure (0 = show cycles instead).
  Progress(std::FILE* out, uint64_t max_insns, uint64_t max_cycles, double core_hz);
  ~Progress() { finish(); }

  bool enabled() const { return enabled_; }
  // Called between run slices; draws when the last drawing is old enough.
  void update(uint64_t icount, uint64_t cycles);
  // Erases the line (idempotent).
  void finish();

 private:
  using Clock = std::chrono::steady_clock;
  std::FILE* out_;
  bool enabled_, drawn_ = false;
  uint64_t max_insns_, max_cycles_;
  double core_hz_;
  Clock::time_point start_, last_;
};

}  // namespace sim
