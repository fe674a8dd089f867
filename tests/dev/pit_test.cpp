// i8254 PIT and port 0x61 against the Intel 8254 datasheet, in simulated time.
#include <catch2/catch.hpp>

#include "sim/dev/pit.h"
#include "tests/dev/dev_rig.h"

using namespace sim;

namespace {

constexpr uint64_t kHz = Pit8254::kClockHz;

struct PitRig {
  test::DevRig rig;
  Pit8254 pit;
  explicit PitRig(uint64_t cpu_hz = 2'000'000'000) : rig(cpu_hz), pit(rig.ctx) {}
  void out(uint16_t port, uint8_t v) { pit.port_out(port, 1, v); }
  uint8_t in(uint16_t port) { return uint8_t(pit.port_in(port, 1)); }
  uint64_t cycle(uint64_t tick) const { return rig.ctx.cycle_of_tick(tick, kHz); }
  uint64_t tick() const { return rig.ctx.ticks_at(rig.cycles, kHz); }
  // Moves to the first cycle of CLK tick `t` (t pulses have occurred).
  void to_tick(uint64_t t) { rig.advance_to(cycle(t)); }
  // Moves to the last cycle before tick `t`.
  void before_tick(uint64_t t) { rig.advance_to(cycle(t) - 1); }
  void program(unsigned counter, uint8_t mode, uint16_t count, bool bcd = false) {
    out(0x43, uint8_t(counter << 6 | 0x30 | mode << 1 | (bcd ? 1 : 0)));
    out(uint16_t(0x40 + counter), uint8_t(count));
    out(uint16_t(0x40 + counter), uint8_t(count >> 8));
  }
  uint16_t read16(unsigned counter) {
    const uint8_t lo = in(uint16_t(0x40 + counter));
    return uint16_t(lo | in(uint16_t(0x40 + counter)) << 8);
  }
  bool out2() { return in(0x61) & 0x20; }
  unsigned irq0_rises() const { return rig.pic_pins.rises[0]; }
  EventQueue::Id timer() const {
    for (EventQueue::Id i = 0; i < rig.events.size(); ++i)
      if (rig.events.name(i) == "pit.irq0") return i;
    return ~0u;
  }
};

}  // namespace

TEST_CASE("pit: mode 0 count and OUT at exact cycles (Linux pit_calibrate_tsc)", "[pit]") {
  PitRig r;
  r.rig.advance_to(12345);  // not on a tick boundary
  const uint64_t t0 = r.tick();
  r.out(0x61, (r.in(0x61) & ~0x02) | 0x01);  // gate 2 high, speaker off
  r.program(2, 0, 1000);
  CHECK(!r.out2());
  r.to_tick(t0 + 1);  // the count is loaded on the next CLK
  CHECK(r.pit.count(2) == 1000);
  r.to_tick(t0 + 1 + 400);
  CHECK(r.read16(2) == 600);
  r.rig.advance(1);  // within the same tick: same count
  CHECK(r.pit.count(2) == 600);
  // OUT goes high N + 1 CLKs after the count was written.
  r.before_tick(t0 + 1001);
  CHECK(!r.out2());
  CHECK(r.pit.count(2) == 1);
  r.to_tick(t0 + 1001);
  CHECK(r.out2());
  CHECK(r.pit.count(2) == 0);
  r.to_tick(t0 + 1006);  // counting continues through 0 (wraps), OUT stays high
  CHECK(r.pit.count(2) == 0xFFFB);
  CHECK(r.out2());
}

TEST_CASE("pit: mode 0 on counter 0 raises IRQ 0 once", "[pit]") {
  PitRig r;
  r.program(0, 0, 100);
  const unsigned rises = r.irq0_rises();
  CHECK(!r.rig.irq.level(0));  // the control word drops OUT at once
  r.before_tick(101);
  CHECK(!r.rig.irq.level(0));
  r.to_tick(101);
  CHECK(r.rig.irq.level(0));
  CHECK(r.irq0_rises() == rises + 1);
  r.rig.advance(r.cycle(3 * 65536));
  CHECK(r.irq0_rises() == rises + 1);
  CHECK(!r.rig.events.armed(r.timer()));  // nothing left to do: no events
}

TEST_CASE("pit: mode 0 two-byte write stops counting at the first byte", "[pit]") {
  PitRig r;
  r.out(0x61, 1);
  r.program(2, 0, 10);
  r.to_tick(20);
  CHECK(r.out2());
  r.out(0x42, 50);  // first byte: OUT low, counting stops
  CHECK(!r.out2());
  const uint16_t held = r.pit.count(2);
  r.to_tick(40);
  CHECK(r.pit.count(2) == held);
  r.out(0x42, 0);  // second byte: loaded on the next CLK
  r.to_tick(41);
  CHECK(r.pit.count(2) == 50);
  r.to_tick(91);
  CHECK(r.out2());
}

TEST_CASE("pit: mode 0 gate low suspends counting", "[pit]") {
  PitRig r;
  r.out(0x61, 1);
  r.program(2, 0, 100);
  r.to_tick(11);
  CHECK(r.pit.count(2) == 90);
  r.out(0x61, 0);
  r.to_tick(50);
  CHECK(r.pit.count(2) == 90);
  r.out(0x61, 1);
  r.to_tick(140);
  CHECK(r.pit.count(2) == 0);
  CHECK(r.out2());
}

TEST_CASE("pit: mode 1 hardware-retriggerable one-shot on gate 2", "[pit]") {
  PitRig r;
  r.program(2, 1, 30);
  CHECK(r.out2());
  r.to_tick(10);
  CHECK(r.out2());  // no trigger yet
  r.out(0x61, 1);   // rising gate: load on the next CLK, OUT low
  r.to_tick(11);
  CHECK(!r.out2());
  CHECK(r.pit.count(2) == 30);
  r.to_tick(25);
  r.out(0x61, 0);  // gate low does not stop mode 1
  r.out(0x61, 1);  // retrigger: reloads 30 on the next CLK
  r.to_tick(26);
  CHECK(r.pit.count(2) == 30);
  r.before_tick(56);
  CHECK(!r.out2());
  r.to_tick(56);
  CHECK(r.out2());
}

TEST_CASE("pit: mode 2 rate generator waveform and counts", "[pit]") {
  PitRig r;
  r.out(0x61, 1);
  r.program(2, 2, 5);
  // Loaded at tick 1: CE 5 4 3 2 1 (OUT low at 1) then 5 again.
  const uint16_t ce[] = {5, 4, 3, 2, 1, 5, 4, 3, 2, 1, 5};
  for (unsigned j = 0; j < 11; ++j) {
    r.to_tick(1 + j);
    CHECK(r.pit.count(2) == ce[j]);
    CHECK(r.out2() == (ce[j] != 1));
  }
  // Gate low forces OUT high at once and stops counting; the rising edge reloads.
  r.to_tick(20);  // CE = 1 here: OUT low
  CHECK(!r.out2());
  r.out(0x61, 0);
  CHECK(r.out2());
  r.to_tick(30);
  CHECK(r.pit.count(2) == 1);
  r.out(0x61, 1);
  r.to_tick(31);
  CHECK(r.pit.count(2) == 5);
}

TEST_CASE("pit: mode 2 new count takes effect at the next reload", "[pit]") {
  PitRig r;
  r.out(0x61, 1);
  r.program(2, 2, 100);
  r.to_tick(11);  // CE 90
  r.out(0x42, 7);
  r.out(0x42, 0);
  r.out(0x43, 0xE8);  // read-back status of counter 2
  CHECK((r.in(0x42) & 0x40) != 0);  // NULL COUNT until the reload
  r.to_tick(100);
  CHECK(r.pit.count(2) == 1);
  r.to_tick(101);
  CHECK(r.pit.count(2) == 7);
  r.out(0x43, 0xE8);
  CHECK((r.in(0x42) & 0x40) == 0);
  r.to_tick(108);
  CHECK(r.pit.count(2) == 7);
}

TEST_CASE("pit: IRQ 0 at HZ 1000 over one simulated second", "[pit]") {
  for (uint64_t cpu_hz : {2'000'000'000ull, 3'100'000'000ull, 1'000'000'000ull}) {
    PitRig r(cpu_hz);
    r.program(0, 2, 1193);  // LATCH for HZ = 1000 (Linux: (1193182 + 500) / 1000)
    const unsigned rises = r.irq0_rises();
    const EventQueue::Id t = r.timer();
    const uint64_t fired = r.rig.events.fired(t);
    r.rig.advance_to(cpu_hz);  // one simulated second
    // Rising edges at the reloads, ticks 1 + 1193 k: 1000 of them in 1193182 ticks
    // (the period is 999.85 us, so the 1001st is 150 us later).
    CHECK(r.irq0_rises() - rises == 1000);
    // Two events per period (OUT low for one CLK, OUT high again), no more.
    CHECK(r.rig.events.fired(t) - fired <= 2 * 1000 + 2);
  }
}

TEST_CASE("pit: IRQ 0 rising edges fall on the exact reload cycles", "[pit]") {
  PitRig r;
  r.program(0, 2, 1193);
  const unsigned rises = r.irq0_rises();
  for (unsigned k = 1; k <= 3; ++k) {
    const uint64_t edge = 1 + 1193 * k;
    r.before_tick(edge - 1);
    CHECK(r.rig.irq.level(0));
    r.to_tick(edge - 1);  // CE = 1: OUT low for one CLK
    CHECK(!r.rig.irq.level(0));
    r.before_tick(edge);
    CHECK(!r.rig.irq.level(0));
    r.to_tick(edge);
    CHECK(r.rig.irq.level(0));
    CHECK(r.irq0_rises() - rises == k);
  }
}

TEST_CASE("pit: mode 3 square wave, even and odd counts", "[pit]") {
  PitRig r;
  r.out(0x61, 1);
  SECTION("even: N/2 high, N/2 low, CE steps by two") {
    r.program(2, 3, 6);
    const bool out[] = {1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1};
    const uint16_t ce[] = {6, 4, 2, 6, 4, 2, 6, 4, 2, 6, 4, 2, 6};
    for (unsigned j = 0; j < 13; ++j) {
      r.to_tick(1 + j);
      CHECK(r.out2() == out[j]);
      CHECK(r.pit.count(2) == ce[j]);
    }
  }
  SECTION("odd: (N+1)/2 high, (N-1)/2 low") {
    r.program(2, 3, 5);
    const bool out[] = {1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1};
    const uint16_t ce[] = {5, 4, 2, 5, 2, 5, 4, 2, 5, 2, 5};
    for (unsigned j = 0; j < 11; ++j) {
      r.to_tick(1 + j);
      CHECK(r.out2() == out[j]);
      CHECK(r.pit.count(2) == ce[j]);
    }
  }
  SECTION("a new count starts at the end of the half cycle") {
    r.program(2, 3, 100);
    r.to_tick(11);
    r.out(0x42, 10);
    r.out(0x42, 0);
    r.before_tick(51);
    CHECK(r.out2());
    r.to_tick(51);  // the high half of 100 ends; the low half of 10 begins
    CHECK(!r.out2());
    CHECK(r.pit.count(2) == 10);
    r.to_tick(56);
    CHECK(r.out2());
  }
  SECTION("mode 7 is mode 3") {
    r.out(0x43, 0xBE);
    r.out(0x42, 4);
    r.out(0x42, 0);
    r.to_tick(3);
    CHECK(!r.out2());
    r.out(0x43, 0xE8);
    CHECK((r.in(0x42) & 0x0E) == 0x0E);  // the status shows the mode bits as written
  }
}

TEST_CASE("pit: mode 3 on IRQ 0 costs two events per period", "[pit]") {
  PitRig r;
  r.program(0, 3, 11931);  // 100 Hz (odd: 5966 high, 5965 low)
  const unsigned rises = r.irq0_rises();
  const uint64_t fired = r.rig.events.fired(r.timer());
  r.rig.advance_to(2'000'000'000);
  CHECK(r.irq0_rises() - rises == 100);
  CHECK(r.rig.events.fired(r.timer()) - fired <= 201);
}

TEST_CASE("pit: mode 4 software-triggered strobe (Linux one-shot clockevent)", "[pit]") {
  PitRig r;
  r.out(0x43, 0x38);  // what Linux's pit_set_oneshot writes
  r.out(0x40, 50);
  r.out(0x40, 0);
  const unsigned rises = r.irq0_rises();
  CHECK(r.rig.irq.level(0));
  r.before_tick(51);
  CHECK(r.rig.irq.level(0));
  r.to_tick(51);  // CE reaches 0: OUT low for one CLK
  CHECK(!r.rig.irq.level(0));
  CHECK(r.pit.count(0) == 0);
  r.to_tick(52);
  CHECK(r.rig.irq.level(0));
  CHECK(r.irq0_rises() == rises + 1);
  r.rig.advance(r.cycle(70000));  // no second strobe after the counter wraps
  CHECK(r.irq0_rises() == rises + 1);
  // A new count re-arms it, loaded on the next CLK.
  const uint64_t t = r.tick();
  r.out(0x40, 10);
  r.out(0x40, 0);
  r.to_tick(t + 11);
  CHECK(!r.rig.irq.level(0));
  r.to_tick(t + 12);
  CHECK(r.irq0_rises() == rises + 2);
}

TEST_CASE("pit: mode 5 hardware-triggered strobe", "[pit]") {
  PitRig r;
  r.program(2, 5, 20);
  r.to_tick(100);
  CHECK(r.out2());
  r.out(0x61, 1);  // trigger
  r.to_tick(121);
  CHECK(!r.out2());
  r.to_tick(122);
  CHECK(r.out2());
  r.out(0x61, 0);
  r.out(0x61, 1);  // retrigger
  r.to_tick(143);
  CHECK(!r.out2());
}

TEST_CASE("pit: BCD counting and count 0", "[pit]") {
  PitRig r;
  r.out(0x61, 1);
  SECTION("BCD count 0x0100 = 100") {
    r.program(2, 2, 0x0100, true);
    r.to_tick(1);
    CHECK(r.read16(2) == 0x0100);
    r.to_tick(2);
    CHECK(r.read16(2) == 0x0099);
    r.to_tick(101);
    CHECK(r.read16(2) == 0x0100);
  }
  SECTION("BCD count 0 = 10000") {
    r.program(2, 0, 0, true);
    r.to_tick(2);
    CHECK(r.read16(2) == 0x9999);
    r.before_tick(10001);
    CHECK(!r.out2());
    r.to_tick(10001);
    CHECK(r.out2());
  }
  SECTION("binary count 0 = 65536") {
    r.program(2, 2, 0);
    r.to_tick(1);
    CHECK(r.read16(2) == 0);
    r.to_tick(2);
    CHECK(r.read16(2) == 0xFFFF);
    r.to_tick(65536);
    CHECK(!r.out2());
    r.to_tick(65537);
    CHECK(r.out2());
    CHECK(r.read16(2) == 0);
  }
}

TEST_CASE("pit: RW modes LSB only and MSB only", "[pit]") {
  PitRig r;
  r.out(0x61, 1);
  r.out(0x43, 0x90);  // counter 2, LSB only, mode 0
  r.out(0x42, 0x34);
  r.to_tick(1);
  CHECK(r.pit.count(2) == 0x34);
  CHECK(r.in(0x42) == 0x34);
  CHECK(r.in(0x42) == 0x34);
  r.out(0x43, 0xA0);  // MSB only
  r.out(0x42, 0x12);
  r.to_tick(2);
  CHECK(r.pit.count(2) == 0x1200);
  CHECK(r.in(0x42) == 0x12);
  r.to_tick(3);
  CHECK(r.in(0x42) == 0x11);  // 0x11FF
}

TEST_CASE("pit: counter latch command", "[pit]") {
  PitRig r;
  r.out(0x61, 1);
  r.program(2, 2, 1000);
  r.to_tick(101);
  r.out(0x43, 0x80);  // latch counter 2
  r.to_tick(201);
  r.out(0x43, 0x80);  // ignored: the first latch is not read yet
  CHECK(r.read16(2) == 900);
  CHECK(r.read16(2) == 800);  // live again
  r.out(0x43, 0x80);
  CHECK(r.in(0x42) == uint8_t(800));
  r.to_tick(301);
  CHECK(r.in(0x42) == 800 >> 8);  // the latch holds until both bytes are read
  CHECK(r.read16(2) == 700);
}

TEST_CASE("pit: read-back command, status and count", "[pit]") {
  PitRig r;
  r.out(0x61, 1);
  r.out(0x43, 0xB0);  // counter 2, LSB/MSB, mode 0, binary
  r.out(0x43, 0xE8);  // latch status of counter 2
  CHECK(r.in(0x42) == 0x70);  // OUT low, NULL COUNT, RW 3, mode 0
  r.out(0x42, 0x10);
  r.out(0x42, 0x00);
  r.out(0x43, 0xE8);
  CHECK(r.in(0x42) == 0x70);  // NULL COUNT until the load
  r.to_tick(1);
  r.out(0x43, 0xE8);
  CHECK(r.in(0x42) == 0x30);
  r.to_tick(11);
  // Count and status together: status first, then the count.
  r.out(0x43, 0xC8);
  r.to_tick(15);
  r.out(0x43, 0xE8);  // a second status latch before the read: ignored
  CHECK(r.in(0x42) == 0x30);
  CHECK(r.read16(2) == 6);
  r.to_tick(17);
  r.out(0x43, 0xD8);  // count only
  CHECK(r.read16(2) == 0);
  r.out(0x43, 0xE8);
  CHECK(r.in(0x42) == 0xB0);  // OUT high now
  // Several counters in one command.
  r.out(0x43, 0xCE);
  CHECK(r.in(0x40) == 0xB4);  // counter 0: firmware's mode 2, LSB/MSB, OUT high
  CHECK(r.in(0x41) == 0xB6);  // counter 1: mode 3, OUT high
  CHECK(r.in(0x42) == 0xB0);
}

TEST_CASE("pit: port 0x61 bits", "[pit]") {
  PitRig r;
  CHECK((r.in(0x61) & 0x0F) == 0);
  r.out(0x61, 0xFE);
  CHECK((r.in(0x61) & 0xCF) == 0x0E);  // bits 0-3 as written, 6-7 read 0
  CHECK(!r.pit.gate(2));
  r.out(0x61, 0x03);
  CHECK(r.pit.gate(2));
  // Refresh toggle: flips every 18 CLKs (15.085 us) of simulated time.
  for (uint64_t t : {18ull, 36ull, 54ull, 1800ull, 1818ull}) {
    r.before_tick(t);
    const bool before = r.in(0x61) & 0x10;
    r.to_tick(t);
    CHECK(bool(r.in(0x61) & 0x10) == !before);
    CHECK(bool(r.in(0x61) & 0x10) == bool(t / 18 & 1));
  }
}

TEST_CASE("pit: quick_pit_calibrate sees the MSB step every 256 CLKs", "[pit]") {
  PitRig r;
  r.out(0x61, (r.in(0x61) & ~0x02) | 0x01);
  r.out(0x43, 0xB0);
  r.out(0x42, 0xFF);
  r.out(0x42, 0xFF);
  r.to_tick(1);
  for (unsigned i = 0; i < 10; ++i) {
    r.to_tick(1 + 256 * i);
    r.in(0x42);
    CHECK(r.in(0x42) == 0xFF - i);
    r.before_tick(1 + 256 * (i + 1));
    r.in(0x42);
    CHECK(r.in(0x42) == 0xFF - i);
  }
}

TEST_CASE("pit: power-on IRQ 0 at 18.2 Hz", "[pit]") {
  PitRig r;
  const unsigned rises = r.irq0_rises();
  r.rig.advance_to(2'000'000'000);
  CHECK(r.irq0_rises() - rises == 18);  // 1193182 / 65536 = 18.2
  CHECK(r.pit.count(1) % 2 == 0);       // mode 3 counts by two
  CHECK(r.out2());                      // gate 2 low: mode 3 holds OUT high
}

TEST_CASE("pit: an event that runs late loses no IRQ 0 edge", "[pit]") {
  PitRig r;
  r.program(0, 2, 100);
  const unsigned rises = r.irq0_rises();
  // The CPU runs on past several periods before the block ends and a port write
  // to the PIT happens first: the due transitions are driven before it.
  r.rig.cycles = r.cycle(1 + 100 * 5 + 50);
  r.out(0x43, 0x30);
  CHECK(r.irq0_rises() - rises == 5);
  CHECK(!r.rig.irq.level(0));
}

TEST_CASE("pit: wide accesses split into bytes, control word reads 0xFF", "[pit]") {
  PitRig r;
  r.out(0x61, 1);
  r.program(2, 0, 0x1234);
  r.to_tick(1);
  CHECK(r.pit.port_in(0x42, 2) == 0xFF34);  // 0x42 LSB, then 0x43 (write-only)
  CHECK(r.in(0x42) == 0x12);
  CHECK(r.in(0x43) == 0xFF);
  r.pit.port_out(0x42, 2, 0xB0FF);  // 0x42 <- 0xFF (LSB), 0x43 <- 0xB0 (control)
  r.out(0x43, 0xE8);
  CHECK(r.in(0x42) == 0x70);
}

TEST_CASE("pit: same programming, same counts (determinism)", "[pit]") {
  auto run = [] {
    PitRig r;
    r.out(0x61, 1);
    r.program(2, 3, 777);
    r.program(0, 2, 333);
    std::vector<uint16_t> v;
    for (uint64_t c = 1; c < 5'000'000; c += 99'991) {
      r.rig.advance_to(c);
      v.push_back(r.pit.count(2));
      v.push_back(r.pit.count(0));
    }
    v.push_back(uint16_t(r.irq0_rises()));
    return v;
  };
  CHECK(run() == run());
}

TEST_CASE("pit: reset at a later time restarts the firmware programming", "[pit]") {
  PitRig r;
  r.program(0, 0, 5);
  r.rig.advance_to(123'456'789);
  const uint64_t t = r.tick();
  r.pit.reset();
  CHECK(r.rig.irq.level(0));  // mode 2: OUT high
  r.to_tick(t + 1);
  CHECK(r.pit.count(0) == 0);  // 65536 loaded on the next CLK
  r.to_tick(t + 2);
  CHECK(r.pit.count(0) == 0xFFFF);
  CHECK(r.rig.events.armed(r.timer()));
  CHECK(r.rig.events.due(r.timer()) == r.cycle(t + 1 + 65535));  // OUT low at CE = 1
}

TEST_CASE("pit: mode 3 on gate 2 - gate low forces OUT high and holds the count", "[pit]") {
  PitRig r;
  r.out(0x61, 1);
  r.program(2, 3, 10);
  r.to_tick(7);  // low half (ticks 6-10)
  CHECK(!r.out2());
  r.out(0x61, 0);
  CHECK(r.out2());
  const uint16_t held = r.pit.count(2);
  r.to_tick(100);
  CHECK(r.pit.count(2) == held);
  CHECK(r.out2());
  r.out(0x61, 1);  // reload on the next CLK, high half first
  r.to_tick(101);
  CHECK(r.pit.count(2) == 10);
  r.to_tick(106);
  CHECK(!r.out2());
}

TEST_CASE("pit: reprogramming counter 0 mid-period re-arms the single timer", "[pit]") {
  PitRig r;
  r.program(0, 2, 1000);
  r.to_tick(500);
  r.program(0, 2, 100);  // control word: restart, loaded at 501
  const unsigned rises = r.irq0_rises();
  r.to_tick(501 + 100);
  CHECK(r.irq0_rises() == rises + 1);
  r.to_tick(501 + 1000);
  CHECK(r.irq0_rises() == rises + 10);
  // Only one timer belongs to the PIT.
  unsigned pit_timers = 0;
  for (EventQueue::Id i = 0; i < r.rig.events.size(); ++i)
    pit_timers += r.rig.events.name(i).rfind("pit", 0) == 0;
  CHECK(pit_timers == 1);
}
