// A DeviceContext driven by hand for device unit tests: the test owns the clock
// (advance() moves time and fires due events, as the run loop would), records the
// ISA interrupt lines through a recording IrqPins, and can capture trace lines.
#pragma once
#include <string>
#include <vector>

#include "sim/dev/device.h"
#include "sim/dev/irq.h"
#include "sim/events.h"

namespace sim::test {

struct RecordingPins final : IrqPins {
  bool level[24] = {};
  unsigned rises[24] = {};
  void set_pin(unsigned pin, bool l) override {
    if (pin >= 24) return;
    if (l && !level[pin]) rises[pin]++;
    level[pin] = l;
  }
};

struct DevRig {
  uint64_t cycles = 0;
  EventQueue events;
  IrqRouter irq;
  RecordingPins pic_pins, ioapic_pins;
  DeviceContext ctx;
  std::vector<std::string> trace_lines;

  explicit DevRig(uint64_t cpu_hz = 2'000'000'000) {
    ctx.events = &events;
    ctx.cycles = &cycles;
    ctx.cpu_hz = cpu_hz;
    ctx.irq = &irq;
    irq.connect(&pic_pins, &ioapic_pins);
  }
  void enable_trace() {
    ctx.trace = [this](std::string_view k, std::string_view d) {
      trace_lines.push_back(std::string(k) + " " + std::string(d));
    };
  }
  // Moves time to `c` cycles, firing events in order at their due cycles.
  void advance_to(uint64_t c) {
    while (events.next_due() <= c) {
      cycles = std::max(cycles, events.next_due());
      events.run_due(cycles);
    }
    cycles = c;
  }
  void advance(uint64_t dc) { advance_to(cycles + dc); }
  // Skips to the next event (as a halted CPU does); false if none is armed.
  bool skip_to_next() {
    if (events.next_due() == EventQueue::kNever) return false;
    advance_to(std::max(cycles, events.next_due()));
    return true;
  }
};

}  // namespace sim::test
