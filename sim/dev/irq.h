// Interrupt wiring of the PC (PLATFORM.md): how device interrupt lines reach the CPU.
//
//   device --ISA IRQ n--> IrqRouter --+--> i8259 pair, pin n (master 0-7, slave 8-15)
//                                     +--> I/O APIC pin (n, except IRQ 0 -> pin 2, as
//                                          the MADT's interrupt source override says)
//   i8259 INT output --> local APIC LINT0 (ExtINT; the BSP's LINT0 is ExtINT and
//                        unmasked at power-on, as QEMU's firmware leaves it) or, with
//                        the local APIC hardware-disabled, straight to INTR
//   I/O APIC --messages--> local APIC (fixed/lowest/NMI/ExtINT...), EOI back for
//                          level-triggered vectors (Remote-IRR)
//   local APIC --> CPU (sim::InterruptController, sim/interrupts.h)
//
// Lines are levels: an edge-triggered source (the PIT's OUT, the RTC's IRQ 8) drives
// the level it has, and edge-sensitive inputs act on the rising edge. Devices call
// set_isa_irq() only when their output changes (repeating a level is harmless).
#pragma once
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string_view>

namespace sim {

// An interrupt input with numbered pins (the PIC pair: 0-15; the I/O APIC: 0-23).
class IrqPins {
 public:
  virtual ~IrqPins() = default;
  virtual void set_pin(unsigned pin, bool level) = 0;
};

// The 8259 pair as the local APIC's LINT0 ExtINT source (and, with the APIC
// hardware-disabled, the CPU's INTR): the INT output and the acknowledge cycle.
class ExtIntSource {
 public:
  virtual ~ExtIntSource() = default;
  virtual bool int_output() const = 0;
  // INTA: the vector of the highest-priority request (moving it in service), or the
  // spurious vector (IRQ 7 / IRQ 15) if the request went away.
  virtual uint8_t acknowledge() = 0;
};

// The ISA interrupt lines 0-15, routed to the PIC pair and the I/O APIC.
class IrqRouter {
 public:
  static constexpr unsigned kIsaIrqs = 16;
  void connect(IrqPins* pic, IrqPins* ioapic) {
    pic_ = pic;
    ioapic_ = ioapic;
  }
  // GSI of ISA IRQ n (MADT interrupt source override: IRQ 0 -> GSI 2).
  static unsigned gsi_of(unsigned irq) { return irq == 0 ? 2 : irq; }

  // Trace hook for line changes (the machine points it at DeviceContext::trace).
  std::function<void(std::string_view kind, std::string_view detail)>* trace = nullptr;

  void set_isa_irq(unsigned irq, bool level) {
    if (irq >= kIsaIrqs) return;
    if (trace && *trace && level != level_[irq]) {
      char buf[48];
      std::snprintf(buf, sizeof buf, "isa irq %u %s", irq, level ? "high" : "low");
      (*trace)("irq", buf);
    }
    raised_[irq] += level && !level_[irq];
    level_[irq] = level;
    if (pic_) pic_->set_pin(irq, level);
    if (ioapic_) ioapic_->set_pin(gsi_of(irq), level);
  }
  // A rising then falling edge (an edge-triggered source's pulse).
  void pulse_isa_irq(unsigned irq) {
    set_isa_irq(irq, true);
    set_isa_irq(irq, false);
  }
  bool level(unsigned irq) const { return irq < kIsaIrqs && level_[irq]; }
  // Rising edges of each line (statistics: "irq.isa_raised[n]").
  const uint64_t* raised() const { return raised_; }

 private:
  IrqPins* pic_ = nullptr;
  IrqPins* ioapic_ = nullptr;
  bool level_[kIsaIrqs] = {};
  uint64_t raised_[kIsaIrqs] = {};
};

}  // namespace sim
