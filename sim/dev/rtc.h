// The CMOS real-time clock and its 128 bytes of battery-backed RAM (Motorola
// MC146818A datasheet), with the CMOS layout the PC firmware leaves for bootloaders.
//
//   port 0x70: index (bits 6-0) and NMI disable (bit 7, kept for the platform);
//              reads 0xFF (write-only on the PC)
//   port 0x71: the byte at the index
//   0x00-0x09 seconds, alarm seconds, minutes, alarm minutes, hours, alarm hours,
//             day of week (1 = Sunday), day of month, month, year
//   0x0A A: UIP (7, read only), DV2-0 (6-4), RS3-0 (3-0)
//   0x0B B: SET, PIE, AIE, UIE, SQWE, DM (1 = binary), 24/12 (1 = 24 h), DSE
//   0x0C C: IRQF, PF, AF, UF (read only; a read clears them and lowers IRQ 8)
//   0x0D D: VRT = 1 (read only)
//   0x0E-0x7F RAM: 0x14 equipment, 0x15/0x16 base memory KiB, 0x17/0x18 and 0x30/0x31
//             extended memory KiB above 1 MiB, 0x34/0x35 memory above 16 MiB in 64 KiB,
//             0x5B-0x5D memory above 4 GiB in 64 KiB, 0x5F CPUs - 1, 0x32 century,
//             0x2E/0x2F checksum of 0x10-0x2D (big-endian) -- QEMU's pc_cmos_init layout.
//
// Time. The 32.768 kHz time base is derived from simulated cycles (ticks_at); the
// divider chain has a phase (`origin_`): update cycles happen at origin + k * 32768
// ticks, periodic-interrupt edges at origin + k * period. The clock is kept as whole
// seconds since the Unix epoch (`secs_base_` at update count `n_base_`); the time
// registers are encoded from it on read in the current format (DM, 24/12), so a
// format change while running re-encodes, as QEMU does. While updates are halted
// (SET = 1 or the divider in reset, DV = 11x) the register bytes themselves hold the
// time and read back as written; leaving that state reads them back into seconds
// (out-of-range fields are normalized: 61 seconds is a minute and one second).
// UIP reads 1 during the 244 us (8 time-base ticks) before each update, as QEMU;
// the update itself is instantaneous. Leaving divider reset starts the first update
// 500 ms later (datasheet "Divider Chain Control"). DV values other than 11x run
// from the 32.768 kHz crystal of the PC. The day-of-week register is derived from the
// date; DSE is stored but daylight saving is not applied (PCs keep DSE = 0).
//
// Interrupts. IRQ 8 (ctx.irq) is high while IRQF = (PF & PIE) | (AF & AIE) | (UF & UIE).
// Flags are computed lazily up to "now" when C or B is accessed; an EventQueue timer
// is armed only while IRQF is low and an enabled source can set it (the next
// periodic edge, update, or alarm match): an RTC with no interrupt enabled, or one
// whose IRQF waits for the guest to read C, schedules nothing.
//
// Port access sizes: wider accesses are split into byte accesses at consecutive ports
// (as QEMU does); bytes on ports this device does not decode read 0xFF.
#pragma once
#include <cstdint>

#include "sim/dev/device.h"

namespace sim {

class CmosRtc final : public Device {
 public:
  static constexpr uint16_t kIndexPort = 0x70, kDataPort = 0x71;
  static constexpr uint64_t kTimeBaseHz = 32768;
  static constexpr int64_t kDefaultStart = 1767225600;  // 2026-01-01T00:00:00Z

  CmosRtc(DeviceContext& ctx, uint64_t ram_bytes, int64_t start_unix_seconds = kDefaultStart);

  // RESET pin (datasheet "RESET"): clears PIE, AIE, UIE, SQWE and the flags of C and
  // lowers IRQ 8; the time, the alarm and the RAM are kept (battery-backed).
  void reset() override;

  // Port 0x70 bit 7, as last written (the platform gates NMI with it).
  bool nmi_disabled() const { return nmi_disabled_; }
  // CMOS byte 0x5F (number of CPUs - 1); the checksum does not cover it.
  void set_cpus(unsigned n);
  // The clock in seconds since the Unix epoch at ctx.now() (for tests and logs).
  int64_t unix_time() const;
  // A CMOS byte as a read of port 0x71 at `index` would return it, without the side
  // effects of reading C.
  uint8_t peek(uint8_t index) const;

 protected:
  uint64_t io_read(Space s, uint64_t addr, unsigned size) override;
  void io_write(Space s, uint64_t addr, unsigned size, uint64_t value) override;
  unsigned reg_of(Space s, uint64_t addr, bool write) const override;

 private:
  int64_t tick() const { return int64_t(ctx_.ticks_at(ctx_.now(), kTimeBaseHz)); }
  bool divider_running() const { return (cmos_[0x0A] & 0x60) != 0x60; }
  bool updating() const { return divider_running() && !(cmos_[0x0B] & 0x80); }
  int64_t updates_at(int64_t t) const;   // update cycles since origin_ at tick t
  int64_t period_ticks() const;          // periodic interrupt period, 0 = none
  int64_t secs_at(int64_t t) const;      // the clock at tick t (while updating)
  bool uip_at(int64_t t) const;
  // Time registers <-> seconds in the current format.
  uint8_t encode(unsigned v) const;
  unsigned decode(uint8_t b) const;
  uint8_t encode_hour(unsigned h) const;
  void store_time(int64_t secs);         // write 0x00, 02, 04, 06-09, 0x32
  void fill_time(int64_t secs, uint8_t* regs) const;
  int64_t load_time() const;             // read them back into seconds
  // The first second >= `from` the alarm matches (within a day), or INT64_MAX.
  int64_t next_alarm(int64_t from) const;
  // Flags of C up to tick t (without changing anything); catch_up() records them.
  uint8_t flags_at(int64_t t) const;
  void catch_up(int64_t t);
  void update_irq();
  void reschedule();
  void fire(uint64_t due);
  // Freezes the clock into the registers (before SET / divider reset / a write).
  void freeze(int64_t t);
  // Starts counting from the registers' time at update count updates_at(t).
  void thaw(int64_t t);
  uint8_t read_data();
  void write_data(uint8_t v);
  uint8_t read_byte(uint16_t port);
  void write_byte(uint16_t port, uint8_t v);

  uint8_t cmos_[128] = {};
  uint8_t index_ = 0;
  bool nmi_disabled_ = false;
  uint8_t flags_ = 0;       // PF, AF, UF (C bits 6-4) set so far
  int64_t checked_ = 0;     // flags_ cover every event up to this tick
  int64_t origin_ = 0;      // divider phase: update k at origin_ + 32768 k
  int64_t secs_base_ = 0;   // the clock at update count n_base_ (while updating)
  int64_t n_base_ = 0;
  bool irq_ = false;        // the level driven on IRQ 8
  EventQueue::Id timer_ = 0;
};

}  // namespace sim
