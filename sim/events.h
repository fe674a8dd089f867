// Simulated time for devices: a queue of timed events in CPU cycles.
//
// Everything in the machine that happens "later" (a PIT count reaching zero, the
// local APIC timer, an RTC update, a UART character leaving the shift register) is
// an event on this queue, due at a cycle count of the CPU clock. Nothing reads host
// time, so the same inputs give the same events at the same cycles (determinism).
//
// The run loop (sim/machine.cpp) stops its block loop when Cpu::cycles reaches
// next_due() and calls run_due(); a halted CPU skips its cycle counter straight to
// next_due() (HLT/MWAIT cost nothing while idle). Events therefore fire at the first
// block boundary at or after their due cycle: at most one block late, never early.
//
// Usage: a device registers a timer once (add) and (re)arms it with schedule();
// arming an armed timer moves it; cancel() disarms. Timers due at the same cycle fire
// in the order they were added. A callback may arm any timer, itself included; a
// timer armed for a cycle that has already passed fires in the same run_due() call.
// The callback gets the cycle the timer was due at (not the later cycle it ran at),
// so a periodic source re-arms at due + period and never drifts. Timers are added
// at construction, never from a callback.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace sim {

class EventQueue {
 public:
  using Id = unsigned;
  using Callback = std::function<void(uint64_t due)>;
  static constexpr uint64_t kNever = ~0ull;

  // Registers a timer (disarmed). `name` is for traces and statistics.
  Id add(std::string name, Callback fn);
  void schedule(Id id, uint64_t due);
  void cancel(Id id);
  bool armed(Id id) const { return timers_[id].due != kNever; }
  uint64_t due(Id id) const { return timers_[id].due; }
  const std::string& name(Id id) const { return timers_[id].name; }
  uint64_t fired(Id id) const { return timers_[id].fired; }
  size_t size() const { return timers_.size(); }

  // The earliest due cycle of an armed timer, or kNever.
  uint64_t next_due() const { return next_; }
  // Fires every timer due at or before `now`, earliest first. Returns how many fired.
  unsigned run_due(uint64_t now);

  // Called whenever next_due() may have changed (the machine recomputes the run
  // loop's deadline from it).
  void on_change(std::function<void()> fn) { changed_ = std::move(fn); }

 private:
  struct Timer {
    std::string name;
    Callback fn;
    uint64_t due = kNever;
    uint64_t fired = 0;
  };
  void recompute();
  std::vector<Timer> timers_;
  uint64_t next_ = kNever;
  std::function<void()> changed_;
};

}  // namespace sim
