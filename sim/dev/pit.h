// The i8254 programmable interval timer (Intel 8254 datasheet) and the AT's system
// control port B (port 0x61), in simulated time.
//
//   ports 0x40-0x42 counters 0-2, 0x43 control word (write only; reads 0xFF),
//         0x61 port B: bit 0 gate of counter 2, bit 1 speaker data, bits 2-3 parity/
//         channel-check enables (stored), bit 4 refresh toggle (read only: flips every
//         18 PIT clocks = 15.085 us), bit 5 OUT of counter 2 (read only), bits 6-7 0.
//   counter 0: gate high, OUT -> ISA IRQ 0; counter 1: gate high, OUT unconnected
//   (the AT's refresh); counter 2: gate = port B bit 0, OUT -> port B bit 5.
//
// Time. The input clock is 1.193182 MHz derived from the CPU's cycle counter: after
// cycle c exactly ticks_at(c) CLK pulses have occurred (DeviceContext, no drift over
// any run length). A counter's state is kept as of one CLK tick (`ref`) and evaluated
// in closed form at any later tick: reads compute the count and OUT at ctx.now()
// without changing anything; writes first bring the state up to now. The CPU clock
// must be at least the PIT clock (every CLK tick then has a cycle of its own, so the
// timer below can land on the exact tick of each OUT change).
//
// IRQ 0. Counter 0's OUT is driven onto ISA IRQ 0 with its real waveform: one
// EventQueue timer, armed for the next CLK tick at which OUT changes and nothing
// else (mode 2: low for one CLK per period, the PIC sees the rising edge at the
// reload; mode 3: a square wave; modes 0/4: one change or a one-CLK strobe per count).
// A periodic tick therefore costs two events per period and an idle counter none.
// Counters 1 and 2 schedule nothing: their OUT is only ever read.
//
// Datasheet details kept: count 0 = 65536 (binary) / 10000 (BCD); modes 6/7 are 2/3;
// LSB-only / MSB-only writes clear the other byte; mode 0 stops counting and drops
// OUT on the first byte of a two-byte write; a new count in modes 2/3 takes effect
// at the next reload (end of the period / half period), in modes 1/5 at the next
// trigger, in modes 0/4 on the next CLK; gate low suspends modes 0/2/3/4 (2/3 also
// force OUT high), a gate rising edge (re)loads modes 1/2/3/5 on the next CLK; the
// counter latch and read-back commands (status: OUT, NULL COUNT, RW, mode, BCD; a
// latched status reads before a latched count; repeated latches are ignored until
// read). Guest nonsense is well defined: an invalid BCD count uses its digit values
// modulo 10000; count 1 in mode 2 leaves OUT low and in mode 3 leaves OUT high
// (no edges; the datasheet calls both illegal).
//
// Port access sizes: wider accesses are split into byte accesses at consecutive ports
// (as QEMU does); bytes on ports this device does not decode read 0xFF.
#pragma once
#include <cstdint>

#include "sim/dev/device.h"

namespace sim {

class Pit8254 final : public Device {
 public:
  static constexpr uint64_t kClockHz = 1'193'182;
  static constexpr uint16_t kCounter0 = 0x40, kControl = 0x43, kPortB = 0x61;
  static constexpr uint64_t kRefreshTicks = 18;  // 15.085 us

  explicit Pit8254(DeviceContext& ctx);

  // Power-on state as the PC firmware leaves it (QEMU's reset + SeaBIOS): counter 0
  // in mode 2 with count 65536 (IRQ 0 at 18.2 Hz), counters 1 and 2 in mode 3 with
  // count 65536, binary, LSB then MSB; port B 0 (gate 2 low, speaker off).
  void reset() override;

  // For tests and statistics, evaluated at ctx.now().
  bool out(unsigned counter) const;
  uint16_t count(unsigned counter) const;  // the counting element as a read returns it
  bool gate(unsigned counter) const { return c_[counter % 3].gate; }

 protected:
  uint64_t io_read(Space s, uint64_t addr, unsigned size) override;
  void io_write(Space s, uint64_t addr, unsigned size, uint64_t value) override;
  unsigned reg_of(Space s, uint64_t addr, bool write) const override;

 private:
  struct Counter {
    // Programming: control word and count register.
    uint8_t mode = 0;        // 0-5 (6/7 folded to 2/3)
    uint8_t mode_bits = 0;   // M2-M0 as written, for the status byte
    uint8_t rw = 3;          // 1 LSB, 2 MSB, 3 LSB then MSB
    bool bcd = false;
    uint16_t cr = 0;         // count register as written
    bool count_written = false;  // a complete count since the control word
    bool null_count = true;
    bool write_msb_next = false;
    uint8_t write_lsb = 0;
    bool read_msb_next = false;
    // Output latch and status latch.
    bool count_latched = false, latch_msb_next = false, status_latched = false;
    uint16_t latch = 0;
    uint8_t status = 0;
    bool gate = true;
    // Counting state as of CLK tick `ref`.
    uint64_t ref = 0;
    bool load_pending = false;  // CR -> CE on CLK pulse ref + 1
    bool loaded = false;        // CE holds a count (counts when gated on)
    uint32_t ce = 0;            // modes 0/1/4/5: 0..M-1; modes 2/3: 1..M (M reads 0)
    bool out = true;
    uint8_t tc = 0;             // modes 0/1/4/5: 0 done, 1 waiting for terminal count,
                                // 2 OUT low for this CLK (strobe, modes 4/5)

    uint32_t modulus() const { return bcd ? 10000 : 65536; }
    uint32_t initial() const;  // N: the count register in counting units, 1..M
    bool counting() const { return loaded && (gate || mode == 1 || mode == 5); }
    uint16_t read_value() const;  // CE as the bus sees it (BCD-encoded if BCD)
    uint8_t status_byte() const;
    void load();
    void advance(uint64_t t);        // state at tick t (t <= ref: no change)
    uint64_t next_change() const;    // first tick > ref at which OUT changes, or ~0
  };

  uint64_t now_tick() const { return ctx_.ticks_at(ctx_.now(), kClockHz); }
  // Counter `i` evaluated at now (a copy: reads change nothing).
  Counter at_now(unsigned i) const;
  // Brings counter `i` up to now before a change (firing IRQ 0 transitions that are
  // due, so no edge is lost when the event is late).
  Counter& touch(unsigned i);
  // After a change of counter `i`: drive IRQ 0 and re-arm its timer.
  void changed(unsigned i);
  void fire(uint64_t due);
  void drive_irq0(bool level);
  void control_word(uint8_t v);
  void latch_count(Counter& k);
  void write_counter(unsigned i, uint8_t v);
  uint8_t read_counter(unsigned i);
  void set_gate(unsigned i, bool g);
  uint8_t read_byte(uint16_t port);
  void write_byte(uint16_t port, uint8_t v);

  Counter c_[3];
  uint8_t port_b_ = 0;  // bits 0-3 as written
  bool irq0_ = false;   // the level driven on IRQ 0
  EventQueue::Id timer_ = 0;
};

}  // namespace sim
