#include "sim/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cinttypes>

namespace sim {

Progress::Progress(std::FILE* out, uint64_t max_insns, uint64_t max_cycles, double core_hz)
    : out_(out),
      enabled_(out && isatty(fileno(out))),
      max_insns_(max_insns),
      max_cycles_(max_cycles),
      core_hz_(core_hz),
      start_(Clock::now()),
      last_(start_) {}

void Progress::update(uint64_t icount, uint64_t cycles) {
  if (!enabled_) return;
  Clock::time_point now = Clock::now();
  if (now - last_ < std::chrono::milliseconds(500)) return;
  last_ = now;
  double secs = std::chrono::duration<double>(now - start_).count();
  if (secs <= 0) return;
  char sim_time[48];
  if (core_hz_ > 0)
    std::snprintf(sim_time, sizeof sim_time, "%.6f s simulated", cycles / core_hz_);
  else
    std::snprintf(sim_time, sizeof sim_time, "%" PRIu64 " cycles", cycles);
  // ETA: the nearer of the two limits at the rates so far.
  double eta = -1;
  if (max_insns_ != ~0ull && icount)
    eta = (max_insns_ - std::min(icount, max_insns_)) * secs / double(icount);
  if (max_cycles_ != ~0ull && cycles) {
    double e = (max_cycles_ - std::min(cycles, max_cycles_)) * secs / double(cycles);
    eta = eta < 0 ? e : std::min(eta, e);
  }
  char eta_text[32] = "";
  if (eta >= 0) std::snprintf(eta_text, sizeof eta_text, ", ETA %.0f s", eta);
  // \33[K erases the rest of the previous, possibly longer, line.
  std::fprintf(out_, "\r[nestsim] %" PRIu64 " instructions, %.1f MIPS, %s, %.1f s%s\33[K",
               icount, icount / secs / 1e6, sim_time, secs, eta_text);
  std::fflush(out_);
  drawn_ = true;
}

void Progress::finish() {
  if (!drawn_) return;
  std::fputs("\r\33[K", out_);
  std::fflush(out_);
  drawn_ = false;
}

}  // namespace sim
