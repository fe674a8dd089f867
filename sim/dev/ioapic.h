// The I/O APIC (Intel 82093AA datasheet, as the ICH9's integrated one behaves in
// QEMU's `pc` machine): 24 interrupt pins, each with a 64-bit redirection entry that
// turns the pin into a message to the local APIC.
//
// Registers, at the MMIO window (0xFEC00000, 4 KiB):
//   +0x00 IOREGSEL  index of the register IOWIN reaches (bits 7:0)
//   +0x10 IOWIN     the selected register, 32 bits
//   Index 0x00 ID (bits 27:24), 0x01 version (0x00170011: version 0x11, max
//   redirection entry 23), 0x02 arbitration ID (= the ID, read-only), 0x10 + 2n /
//   0x11 + 2n the low / high dword of redirection entry n. Other indexes read 0 and
//   ignore writes. Version 0x11 has no EOI register at +0x40 (that came with version
//   0x20): EOI reaches the I/O APIC only as the local APIC's EOI broadcast (eoi()).
// Access sizes: IOREGSEL takes any size (its low byte is used); IOWIN is a 32-bit
// register and narrower accesses reach it anyway (a narrow read returns its low
// bytes, a narrow write writes the low bytes zero-extended, as if a dword); any other
// offset reads 0 and ignores writes.
//
// Redirection entry (datasheet 3.2.4): vector 7:0, delivery mode 10:8, destination
// mode 11, delivery status 12 (read-only, always 0: delivery is instantaneous),
// polarity 13 (1 = active low), Remote-IRR 14 (read-only), trigger 15 (1 = level),
// mask 16, destination 63:56. Reset: every entry masked, everything else 0.
//
// Pins (set_pin) carry the line's electrical level; the entry's polarity gives the
// asserted state.
//   - edge: the assert edge of an unmasked pin sends one message; an edge on a
//     masked pin is lost (datasheet: "not delivered or held pending").
//   - level: while asserted, unmasked and Remote-IRR clear, a message is sent and
//     Remote-IRR set; the local APIC's EOI broadcast of the vector (eoi()) clears it
//     and a still-asserted line is delivered again. Unmasking an asserted line, or
//     reprogramming it, delivers too. Switching an entry to edge clears Remote-IRR
//     (as QEMU does).
//   - Remote-IRR is only used with fixed and lowest-priority delivery; NMI, SMI,
//     INIT and ExtINT entries are edge-like whatever their trigger bit says.
// Destinations are checked with LocalApic::matches(); an 8-bit 0xFF is the
// broadcast in either APIC mode. A message no APIC takes is dropped (counted).
#pragma once
#include <array>
#include <cstdint>

#include "sim/dev/device.h"
#include "sim/dev/irq.h"

namespace sim {

class LocalApic;

class IoApic final : public Device, public IrqPins {
 public:
  static constexpr unsigned kPins = 24;
  static constexpr uint32_t kVersion = 0x00170011;

  IoApic(DeviceContext& ctx, LocalApic* lapic);

  void reset() override;
  // IrqPins: the electrical level of pin `pin` (0-23).
  void set_pin(unsigned pin, bool level) override;
  // The local APIC's EOI broadcast for a level-triggered vector.
  void eoi(uint8_t vector);

  uint64_t entry(unsigned pin) const { return pin < kPins ? redir_[pin] : 0; }
  bool remote_irr(unsigned pin) const { return pin < kPins && (redir_[pin] & kRemoteIrr); }
  uint64_t delivered(unsigned pin) const { return pin < kPins ? delivered_[pin] : 0; }
  uint64_t dropped() const { return dropped_; }

 protected:
  uint64_t io_read(Space s, uint64_t addr, unsigned size) override;
  void io_write(Space s, uint64_t addr, unsigned size, uint64_t value) override;
  unsigned reg_of(Space s, uint64_t addr, bool write) const override;

 private:
  static constexpr uint64_t kStatus = 1ull << 12, kActiveLow = 1ull << 13,
                            kRemoteIrr = 1ull << 14, kLevel = 1ull << 15, kMasked = 1ull << 16;
  // Writable: vector, delivery mode, destination mode, polarity, trigger, mask
  // (low dword) and the destination byte (high dword).
  static constexpr uint64_t kWritable = 0xFF0000000001AFFFull;

  bool asserted(unsigned pin) const { return level_[pin] != bool(redir_[pin] & kActiveLow); }
  bool uses_remote_irr(unsigned pin) const;
  void service(unsigned pin);  // a level line: deliver if asserted, unmasked, not in service
  void send(unsigned pin);
  uint32_t read_window() const;
  void write_window(uint32_t v);

  LocalApic* lapic_;
  uint8_t sel_ = 0;
  uint32_t id_ = 0;
  std::array<uint64_t, kPins> redir_{};
  std::array<bool, kPins> level_{};
  std::array<uint64_t, kPins> delivered_{};
  uint64_t dropped_ = 0;
};

}  // namespace sim
