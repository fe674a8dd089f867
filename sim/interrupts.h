// The external-interrupt interface between devices and the CPU (SDM Vol. 3A 6.3.1,
// 6.8): an interrupt controller (i8259 pair, local APIC) drives the processor's INTR
// line and answers the interrupt-acknowledge cycle with a vector; NMI is a separate
// edge (Machine::raise_nmi).
//
// Protocol (Machine, sim/machine.cpp):
//   - a device whose output may have changed calls Machine::interrupt_changed(), which
//     makes the run loop look at the CPU's events at the next instruction boundary it
//     checks (at most one block later);
//   - at an instruction boundary with RFLAGS.IF = 1 and no STI/MOV-SS shadow, the CPU
//     calls intr_pending() and, if true, acknowledge() once, then delivers the vector
//     through the IDT as an external interrupt (EventType::kExternal);
//   - a CPU in the HLT state with nothing to deliver asks next_event() when time may
//     next change the controller's state and skips its cycle counter ahead to it; with
//     no controller, or ~0 ("never"), the run ends with StopReason::kHalted.
#pragma once
#include <cstdint>

namespace sim {

class InterruptController {
 public:
  virtual ~InterruptController() = default;
  // INTR: an unmasked interrupt is waiting for the CPU.
  virtual bool intr_pending() = 0;
  // The interrupt-acknowledge cycle: the controller moves its highest-priority
  // request in service and returns its vector. Only called after intr_pending().
  virtual uint8_t acknowledge() = 0;
  // The cycle count at which the controller may next raise INTR by itself (a timer),
  // or ~0 for never. `now` is the CPU's current cycle count.
  virtual uint64_t next_event(uint64_t now) {
    (void)now;
    return ~0ull;
  }
  // An EOI the processor sends itself: VMX posted-interrupt processing writes 0 to the
  // local APIC's EOI register (SDM Vol. 3C 29.6). A controller without one ignores it.
  virtual void eoi() {}
};

}  // namespace sim
