// The cascaded i8259A pair of the PC/AT (Intel 8259A datasheet) with the PIIX/ICH
// edge/level control registers (ELCR, ports 0x4D0-0x4D1).
//
//   ports 0x20 (command: ICW1/OCW2/OCW3; reads IRR/ISR/poll) 0x21 (data: ICW2-4/OCW1)
//         0xA0, 0xA1 the same for the slave; 0x4D0/0x4D1 ELCR (IRQ 0-7 / 8-15)
//   pins 0-7 -> master IR0-7, pins 8-15 -> slave IR0-7; the slave's INT drives the
//   master's IR2 (hard-wired on the AT, so pin 2 is not an ISA input); the master's INT
//   is int_output() (the local APIC's LINT0 / the CPU's INTR) and acknowledge() is INTA.
//
// Per chip state machine (datasheet "Initialization Command Words"):
//   ready --ICW1 (cmd, bit 4)--> wait ICW2 --data--> [wait ICW3 if not SNGL] -->
//   [wait ICW4 if IC4] --> ready. In ready, data writes are OCW1 (IMR), command writes
//   with bit 3 clear are OCW2 (EOI / rotation / priority), bit 3 set are OCW3 (read
//   register select, poll, special mask mode).
//
// Triggering. A pin in edge mode latches its IRR bit on a rising edge; the bit stays
// set until INTA (or ICW1) even if the line falls first. The datasheet asks the line to
// stay high until INTA (else the INTA answers IR7); we keep the latch as QEMU and the
// PIIX do, so that pulsed sources (a collapsed PIT pulse) are seen. A pin in level mode
// (its ELCR bit set) has IRR follow the line; a line that drops before INTA makes the
// INTA answer the spurious vector (IR7 of that chip). ICW1's LTIM bit is stored but
// ignored: the ELCR replaces it (PIIX3 datasheet 2.3.2, ICH datasheets "ICW1 bit 3").
// ELCR bits of IRQ 0, 1, 2, 8, 13 are read-only 0 (always edge).
//
// Priority. Level (line - highest) & 7 with `highest` = IR0 after ICW1, moved by the
// rotate commands. A request is presented if it is unmasked and of higher priority
// than every in-service level (fully nested mode); special mask mode ignores in-service
// levels that are masked; special fully nested mode (master) lets the cascade input
// through while it is itself in service.
//
// Not modelled: MCS-80/85 mode (ICW4 uPM = 0: the INTA answers the 8086 vector all
// the same), buffered mode (BUF, M/S: stored only), and the slave's ICW3 identity:
// the slave answers the master's cascade INTA whatever ID it was given.
//
// Port access sizes: a 16- or 32-bit access is split into byte accesses at consecutive
// ports, as QEMU does for these 8-bit devices; bytes that fall on ports this device
// does not decode read 0xFF and are not written.
#pragma once
#include <cstdint>
#include <functional>

#include "sim/dev/device.h"
#include "sim/dev/irq.h"

namespace sim {

class Pic8259 final : public Device, public IrqPins, public ExtIntSource {
 public:
  static constexpr uint16_t kMasterCmd = 0x20, kMasterData = 0x21;
  static constexpr uint16_t kSlaveCmd = 0xA0, kSlaveData = 0xA1;
  static constexpr uint16_t kElcr0 = 0x4D0, kElcr1 = 0x4D1;
  static constexpr unsigned kCascadePin = 2;

  explicit Pic8259(DeviceContext& ctx);

  // Power-on state as the PC firmware leaves it (SeaBIOS pic_setup, what kernels
  // booted by QEMU find): both chips initialized (ICW1 0x11, vectors 0x08 / 0x70,
  // cascade on IR2, 8086 mode), all IRQs masked but the cascade, all lines edge.
  void reset() override;

  // IrqPins: ISA IRQ lines 0-15 (2 is the cascade and ignored; >= 16 ignored).
  void set_pin(unsigned pin, bool level) override;
  // ExtIntSource: the master's INT output and the INTA cycle.
  bool int_output() const override;
  uint8_t acknowledge() override;
  // Called whenever int_output() changes value (also from within acknowledge()).
  // After acknowledge() a consumer re-reads int_output(): it may stay high.
  std::function<void()> on_output_change;

  // Master in bits 0-7, slave in bits 8-15.
  uint16_t irr() const { return uint16_t(chip_[0].irr | chip_[1].irr << 8); }
  uint16_t isr() const { return uint16_t(chip_[0].isr | chip_[1].isr << 8); }
  uint16_t imr() const { return uint16_t(chip_[0].imr | chip_[1].imr << 8); }
  uint16_t elcr() const { return uint16_t(chip_[0].elcr | chip_[1].elcr << 8); }
  // Vector base (ICW2 & 0xF8) of the master (0) or slave (1).
  uint8_t vector_base(unsigned chip) const { return chip_[chip & 1].icw2 & 0xF8; }
  // INTA cycles answered with a spurious vector (IR7 / IR15), for statistics.
  uint64_t spurious() const { return spurious_; }

 protected:
  uint64_t io_read(Space s, uint64_t addr, unsigned size) override;
  void io_write(Space s, uint64_t addr, unsigned size, uint64_t value) override;
  unsigned reg_of(Space s, uint64_t addr, bool write) const override;

 private:
  struct Chip {
    uint8_t irr = 0, isr = 0, imr = 0;
    uint8_t line = 0;        // input levels (edge detection, level-mode IRR)
    uint8_t elcr = 0;        // 1 = level-triggered
    uint8_t elcr_mask = 0;   // writable ELCR bits
    uint8_t icw1 = 0, icw2 = 0, icw3 = 0, icw4 = 0;
    uint8_t init_step = 0;   // 0 ready, 2/3/4: the ICW expected next
    uint8_t highest = 0;     // the IR line with the highest priority
    bool read_isr = false;   // OCW3 RR/RIS: command-port reads return ISR (else IRR)
    bool poll = false;       // OCW3 P: the next read is a poll
    bool special_mask = false;
    bool rotate_in_aeoi = false;

    bool aeoi() const { return icw4 & 0x02; }
    bool sfnm() const { return icw4 & 0x10; }
    unsigned prio(unsigned ir) const { return (ir - highest) & 7; }
    // The highest-priority line of `bits` (nonzero), by the current rotation.
    unsigned top(uint8_t bits) const;
  };

  bool cascaded() const;
  // The line the chip would present on INTA, or -1 (nothing outranks the ISR).
  int pending(unsigned c) const;
  // INTA on chip `c` for line `ir`: IRR -> ISR (or AEOI), rotation in AEOI.
  void ack_line(unsigned c, unsigned ir);
  void set_line(unsigned c, unsigned ir, bool level);
  void icw1(unsigned c, uint8_t v);
  void ocw2(unsigned c, uint8_t v);
  void ocw3(unsigned c, uint8_t v);
  void data_write(unsigned c, uint8_t v);
  uint8_t poll_read(unsigned c);
  uint8_t read_byte(uint16_t port);
  void write_byte(uint16_t port, uint8_t v);
  // Propagates the slave's INT to master IR2 and reports an INT output change.
  void update();

  Chip chip_[2];
  bool out_ = false;  // last reported int_output()
  uint64_t spurious_ = 0;
};

}  // namespace sim
