// CMOS RTC against the MC146818A datasheet, and the PC's CMOS memory layout.
#include <catch2/catch.hpp>

#include "sim/dev/rtc.h"
#include "tests/dev/dev_rig.h"

using namespace sim;

namespace {

constexpr uint64_t kCpuHz = 2'000'000'000;
constexpr uint64_t kMiB = 1ull << 20;

struct RtcRig {
  test::DevRig rig{kCpuHz};
  CmosRtc rtc;
  explicit RtcRig(uint64_t ram = 512 * kMiB, int64_t start = CmosRtc::kDefaultStart)
      : rtc(rig.ctx, ram, start) {}
  uint8_t rd(uint8_t index) {
    rtc.port_out(0x70, 1, index);
    return uint8_t(rtc.port_in(0x71, 1));
  }
  void wr(uint8_t index, uint8_t v) {
    rtc.port_out(0x70, 1, index);
    rtc.port_out(0x71, 1, v);
  }
  uint64_t cycle(uint64_t tick) const { return rig.ctx.cycle_of_tick(tick, 32768); }
  void to_tick(uint64_t t) { rig.advance_to(cycle(t)); }
  void to_seconds(double s) { rig.advance_to(uint64_t(s * kCpuHz)); }
  bool irq8() const { return rig.irq.level(8); }
  unsigned rises() const { return rig.pic_pins.rises[8]; }
  bool armed() const {
    for (EventQueue::Id i = 0; i < rig.events.size(); ++i)
      if (rig.events.name(i) == "rtc") return rig.events.armed(i);
    return false;
  }
  // Hour:minute:second as read now (BCD or binary as programmed).
  std::vector<uint8_t> hms() { return {rd(4), rd(2), rd(0)}; }
  std::vector<uint8_t> date() { return {rd(0x32), rd(9), rd(8), rd(7), rd(6)}; }
};

}  // namespace

TEST_CASE("rtc: power-on registers and the default start time", "[rtc]") {
  RtcRig r;
  CHECK(r.rd(0x0A) == 0x26);
  CHECK(r.rd(0x0B) == 0x02);
  CHECK(r.rd(0x0C) == 0x00);
  CHECK(r.rd(0x0D) == 0x80);
  CHECK(r.hms() == std::vector<uint8_t>{0x00, 0x00, 0x00});
  // 2026-01-01 was a Thursday: day of week 5 (Sunday = 1).
  CHECK(r.date() == std::vector<uint8_t>{0x20, 0x26, 0x01, 0x01, 0x05});
  CHECK(r.rtc.unix_time() == 1767225600);
  CHECK(!r.armed());  // an idle RTC schedules nothing
}

TEST_CASE("rtc: time after N simulated seconds, BCD and binary, 24 and 12 hours", "[rtc]") {
  RtcRig r;
  r.to_seconds(13 * 3600 + 7 * 60 + 9.5);
  CHECK(r.hms() == std::vector<uint8_t>{0x13, 0x07, 0x09});
  r.wr(0x0B, 0x06);  // binary, 24 h
  CHECK(r.hms() == std::vector<uint8_t>{13, 7, 9});
  CHECK(r.date() == std::vector<uint8_t>{20, 26, 1, 1, 5});
  r.wr(0x0B, 0x04);  // binary, 12 h
  CHECK(r.hms() == std::vector<uint8_t>{0x80 | 1, 7, 9});
  r.wr(0x0B, 0x00);  // BCD, 12 h
  CHECK(r.hms() == std::vector<uint8_t>{0x81, 0x07, 0x09});
  r.to_seconds(24 * 3600 + 30);  // 00:00:30 next day is 12 AM
  CHECK(r.hms() == std::vector<uint8_t>{0x12, 0x00, 0x30});
  CHECK(r.date() == std::vector<uint8_t>{0x20, 0x26, 0x01, 0x02, 0x06});
  r.to_seconds(24 * 3600 + 12 * 3600);  // noon is 12 PM
  CHECK(r.rd(4) == 0x92);
  r.wr(0x0B, 0x02);
  CHECK(r.rtc.unix_time() == 1767225600 + 36 * 3600);
}

TEST_CASE("rtc: calendar rollovers", "[rtc]") {
  // 2028-02-28 23:59:59 UTC: a leap year.
  RtcRig r(512 * kMiB, 1835395199);
  CHECK(r.date() == std::vector<uint8_t>{0x20, 0x28, 0x02, 0x28, 0x02});  // Monday
  r.to_seconds(1);
  CHECK(r.hms() == std::vector<uint8_t>{0x00, 0x00, 0x00});
  CHECK(r.date() == std::vector<uint8_t>{0x20, 0x28, 0x02, 0x29, 0x03});
  // 2099-12-31 23:59:59 -> 2100-01-01 (a century rollover).
  RtcRig c(512 * kMiB, 4102444799);
  c.to_seconds(1);
  CHECK(c.date() == std::vector<uint8_t>{0x21, 0x00, 0x01, 0x01, 0x06});  // Friday
}

TEST_CASE("rtc: UIP is set for the 244 us before each update", "[rtc]") {
  RtcRig r;
  for (uint64_t s : {1ull, 2ull, 60ull}) {
    const uint64_t update = 32768 * s;
    r.to_tick(update - 9);
    CHECK((r.rd(0x0A) & 0x80) == 0);
    r.rig.advance_to(r.cycle(update - 8) - 1);
    CHECK((r.rd(0x0A) & 0x80) == 0);
    r.to_tick(update - 8);  // 8 / 32768 s = 244.14 us before the update
    CHECK((r.rd(0x0A) & 0x80) != 0);
    CHECK(r.rd(0) == uint8_t((s - 1) % 60 / 10 << 4 | (s - 1) % 10));
    r.rig.advance_to(r.cycle(update) - 1);
    CHECK((r.rd(0x0A) & 0x80) != 0);
    r.to_tick(update);
    CHECK((r.rd(0x0A) & 0x80) == 0);
    CHECK(r.rd(0) == uint8_t(s % 60 / 10 << 4 | s % 10));
  }
  CHECK(!r.armed());  // UIP is computed, not scheduled
}

TEST_CASE("rtc: SET halts updates; the set time runs on at the divider's phase", "[rtc]") {
  RtcRig r;
  r.to_seconds(10.25);
  r.wr(0x0B, 0x82);  // SET
  r.wr(0x04, 0x23);
  r.wr(0x02, 0x59);
  r.wr(0x00, 0x58);
  r.wr(0x07, 0x31);
  r.wr(0x08, 0x12);
  r.wr(0x09, 0x30);
  r.to_seconds(20);
  CHECK(r.hms() == std::vector<uint8_t>{0x23, 0x59, 0x58});  // held
  CHECK((r.rd(0x0A) & 0x80) == 0);                           // no UIP while SET
  r.wr(0x0B, 0x02);
  r.to_seconds(20.999);
  CHECK(r.rd(0) == 0x58);
  r.to_seconds(21);  // the divider kept its phase: the update is on the second
  CHECK(r.rd(0) == 0x59);
  r.to_seconds(22);
  CHECK(r.hms() == std::vector<uint8_t>{0x00, 0x00, 0x00});
  CHECK(r.date() == std::vector<uint8_t>{0x20, 0x31, 0x01, 0x01, 0x04});  // 2031-01-01 Wed
}

TEST_CASE("rtc: a time register written while running keeps the others", "[rtc]") {
  RtcRig r;
  r.to_seconds(5.5);
  r.wr(0x02, 0x42);
  CHECK(r.hms() == std::vector<uint8_t>{0x00, 0x42, 0x05});
  r.to_seconds(6);
  CHECK(r.hms() == std::vector<uint8_t>{0x00, 0x42, 0x06});
}

TEST_CASE("rtc: SET clears UIE; reset clears enables and flags", "[rtc]") {
  RtcRig r;
  r.wr(0x0B, 0x72);
  CHECK(r.rd(0x0B) == 0x72);
  r.wr(0x0B, 0xF2);
  CHECK(r.rd(0x0B) == 0xE2);
  r.wr(0x0B, 0x7A);
  r.to_seconds(1.5);
  CHECK(r.irq8());
  r.rtc.reset();
  CHECK(!r.irq8());
  CHECK(r.rd(0x0B) == 0x02);
  CHECK(r.rd(0x0C) == 0x00);
  CHECK(!r.armed());
}

TEST_CASE("rtc: update-ended interrupt each second; reading C clears it", "[rtc]") {
  RtcRig r;
  r.wr(0x0A, 0x20);  // no periodic rate
  r.wr(0x0B, 0x12);  // UIE
  CHECK(r.armed());
  r.rig.advance_to(r.cycle(32768) - 1);
  CHECK(!r.irq8());
  r.to_tick(32768);
  CHECK(r.irq8());
  CHECK(!r.armed());  // IRQF stays until C is read: nothing to schedule
  r.to_seconds(3.5);
  CHECK(r.rtc.peek(0x0C) == 0x90);  // peek does not clear
  CHECK(r.rd(0x0C) == 0x90);        // IRQF | UF
  CHECK(!r.irq8());
  CHECK(r.rd(0x0C) == 0x00);
  unsigned n = r.rises();
  for (int s = 4; s <= 10; ++s) {
    r.to_seconds(s);
    CHECK(r.irq8());
    CHECK(r.rd(0x0C) == 0x90);
  }
  CHECK(r.rises() - n == 7);
}

TEST_CASE("rtc: periodic interrupt at the rate-select frequency", "[rtc]") {
  struct Rate {
    uint8_t rs;
    unsigned per_second;
  };
  for (Rate rate : {Rate{6, 1024}, Rate{15, 2}, Rate{3, 8192}, Rate{1, 256}, Rate{2, 128}}) {
    RtcRig r;
    r.wr(0x0A, uint8_t(0x20 | rate.rs));
    r.wr(0x0B, 0x42);  // PIE
    unsigned seen = 0;
    // A guest's handler: on each IRQ 8, read C (which lowers the line).
    while (r.rig.skip_to_next() && r.rig.cycles <= kCpuHz) {
      REQUIRE(r.irq8());
      CHECK((r.rd(0x0C) & 0xC0) == 0xC0);
      seen++;
    }
    CHECK(seen == rate.per_second);
  }
}

TEST_CASE("rtc: PF is set without PIE; enabling PIE then raises IRQ 8", "[rtc]") {
  RtcRig r;  // rate 6 selected by the firmware's A = 0x26
  r.to_seconds(0.01);
  CHECK(!r.irq8());
  CHECK(!r.armed());
  r.wr(0x0B, 0x42);
  CHECK(r.irq8());
  CHECK(r.rd(0x0C) == 0xC0);  // IRQF | PF (no update yet)
}

TEST_CASE("rtc: alarm, exact and with don't-care bytes", "[rtc]") {
  SECTION("00:00:05") {
    RtcRig r;
    r.wr(0x01, 0x05);
    r.wr(0x03, 0x00);
    r.wr(0x05, 0x00);
    r.wr(0x0B, 0x22);  // AIE
    r.rig.advance_to(r.cycle(5 * 32768) - 1);
    CHECK(!r.irq8());
    r.to_tick(5 * 32768);
    CHECK(r.irq8());
    CHECK(r.rd(0x0C) == 0xF0);  // IRQF, AF, and PF/UF that were also set
    CHECK(r.armed());  // re-armed for tomorrow
    r.to_seconds(6);
    CHECK(!r.irq8());
  }
  SECTION("every minute at :30 (hour and minute don't care)") {
    RtcRig r;
    r.wr(0x01, 0x30);
    r.wr(0x03, 0xC0);
    r.wr(0x05, 0xFF);
    r.wr(0x0B, 0x22);
    unsigned seen = 0;
    while (r.rig.skip_to_next() && r.rig.cycles <= 300 * kCpuHz) {
      CHECK(r.rd(0) == 0x30);
      CHECK((r.rd(0x0C) & 0xA0) == 0xA0);
      seen++;
    }
    CHECK(seen == 5);
  }
  SECTION("an impossible alarm never fires, AF polled without AIE") {
    RtcRig r;
    r.wr(0x05, 0x25);  // hour 25
    r.wr(0x0B, 0x22);
    CHECK(!r.armed());
    r.wr(0x0B, 0x02);
    r.wr(0x05, 0x01);  // 01:00:00, polled
    r.wr(0x03, 0x00);
    r.wr(0x01, 0x00);
    r.rd(0x0C);
    r.to_seconds(3599);
    CHECK((r.rd(0x0C) & 0x20) == 0);
    r.to_seconds(3601);
    CHECK((r.rd(0x0C) & 0x20) == 0x20);
    CHECK(!r.irq8());
  }
}

TEST_CASE("rtc: divider reset stops the clock; release updates 500 ms later", "[rtc]") {
  RtcRig r;
  r.to_seconds(3.25);
  r.wr(0x0A, 0x70);  // divider in reset
  r.to_seconds(10);
  CHECK(r.rd(0) == 0x03);
  CHECK((r.rd(0x0A) & 0x80) == 0);
  r.wr(0x0A, 0x26);
  r.to_seconds(10.499);
  CHECK(r.rd(0) == 0x03);
  r.to_seconds(10.5);
  CHECK(r.rd(0) == 0x04);
  r.to_seconds(11.5);
  CHECK(r.rd(0) == 0x05);
}

TEST_CASE("rtc: CMOS memory-size bytes and checksum", "[rtc]") {
  auto word = [](RtcRig& r, uint8_t lo) { return r.rd(lo) | r.rd(uint8_t(lo + 1)) << 8; };
  auto checksum_ok = [](RtcRig& r) {
    unsigned sum = 0;
    for (uint8_t i = 0x10; i <= 0x2D; ++i) sum += r.rd(i);
    return (r.rd(0x2E) << 8 | r.rd(0x2F)) == int(sum & 0xFFFF);
  };
  SECTION("512 MiB") {
    RtcRig r(512 * kMiB);
    CHECK(word(r, 0x15) == 640);
    CHECK(word(r, 0x17) == 0xFFFF);  // capped
    CHECK(word(r, 0x30) == 0xFFFF);
    CHECK(word(r, 0x34) == (512 - 16) * 16);
    CHECK(r.rd(0x5B) == 0);
    CHECK(r.rd(0x5C) == 0);
    CHECK(r.rd(0x5D) == 0);
    CHECK(r.rd(0x14) == 0x06);
    CHECK(r.rd(0x32) == 0x20);
    CHECK(r.rd(0x5F) == 0);
    r.rtc.set_cpus(4);
    CHECK(r.rd(0x5F) == 3);
    CHECK(checksum_ok(r));
  }
  SECTION("8 MiB") {
    RtcRig r(8 * kMiB);
    CHECK(word(r, 0x17) == 7 * 1024);
    CHECK(word(r, 0x30) == 7 * 1024);
    CHECK(word(r, 0x34) == 0);
    CHECK(checksum_ok(r));
    CHECK(r.rd(0x2F) == 0x06 + 0x80 + 0x02 + 0x1C);
  }
  SECTION("RAM bytes are plain storage") {
    RtcRig r;
    r.wr(0x40, 0xA5);
    CHECK(r.rd(0x40) == 0xA5);
    r.wr(0x0D, 0x00);  // D is read-only
    CHECK(r.rd(0x0D) == 0x80);
    r.wr(0x0C, 0xFF);  // C too
    CHECK(r.rd(0x0C) == 0x00);
  }
}

TEST_CASE("rtc: NMI disable bit and port behaviour", "[rtc]") {
  RtcRig r;
  CHECK(!r.rtc.nmi_disabled());
  r.rtc.port_out(0x70, 1, 0x8F);
  CHECK(r.rtc.nmi_disabled());
  CHECK(r.rtc.port_in(0x70, 1) == 0xFF);  // the index port is write-only
  r.rtc.port_out(0x71, 1, 0x33);           // index 0x0F (shutdown status)
  CHECK(r.rd(0x8F) == 0x33);               // bit 7 is not part of the index
  r.rtc.port_out(0x70, 1, 0x0D);
  CHECK(!r.rtc.nmi_disabled());
  CHECK(r.rtc.port_in(0x70, 2) == 0x80FF);  // split: 0x70 then 0x71 (D)
}

TEST_CASE("rtc: invalid written values are normalized, never trusted", "[rtc]") {
  RtcRig r;
  r.wr(0x0B, 0x82);
  r.wr(0x00, 0x61);  // 61 seconds
  r.wr(0x08, 0x13);  // month 13
  r.wr(0x07, 0x00);  // day 0
  r.wr(0x0B, 0x02);
  // 2026-13-00 00:00:61 = 2026-12-31 + 1 year... normalized: 2027-01-00 = 2026-12-31.
  CHECK(r.date() == std::vector<uint8_t>{0x20, 0x26, 0x12, 0x31, 0x05});
  CHECK(r.hms() == std::vector<uint8_t>{0x00, 0x01, 0x01});
}
