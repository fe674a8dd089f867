// i8259A pair against the Intel 8259A datasheet (and the PIIX ELCR).
#include <catch2/catch.hpp>

#include <algorithm>

#include "sim/dev/pic.h"
#include "tests/dev/dev_rig.h"

using namespace sim;

namespace {

struct PicRig {
  test::DevRig rig;
  Pic8259 pic{rig.ctx};
  unsigned changes = 0;
  PicRig() {
    pic.on_output_change = [this] { changes++; };
  }
  void out(uint16_t port, uint8_t v) { pic.port_out(port, 1, v); }
  uint8_t in(uint16_t port) { return uint8_t(pic.port_in(port, 1)); }
  // init_8259A() of Linux (arch/x86/kernel/i8259.c): mask all, ICW1-4 for both chips
  // with vectors 0x30/0x38, restore the masks.
  void linux_init(uint8_t master_mask = 0xFF, uint8_t slave_mask = 0xFF) {
    out(0x21, 0xFF);
    out(0xA1, 0xFF);
    out(0x20, 0x11);
    out(0x21, 0x30);
    out(0x21, 0x04);
    out(0x21, 0x01);
    out(0xA0, 0x11);
    out(0xA1, 0x38);
    out(0xA1, 0x02);
    out(0xA1, 0x01);
    out(0x21, master_mask);
    out(0xA1, slave_mask);
  }
  void pulse(unsigned pin) {
    pic.set_pin(pin, true);
    pic.set_pin(pin, false);
  }
};

}  // namespace

TEST_CASE("pic: power-on state is what the firmware leaves", "[pic]") {
  PicRig r;
  CHECK(r.pic.vector_base(0) == 0x08);
  CHECK(r.pic.vector_base(1) == 0x70);
  CHECK(r.pic.imr() == 0xFFFB);
  CHECK(r.pic.isr() == 0);
  CHECK(r.pic.elcr() == 0);
  CHECK(!r.pic.int_output());
  CHECK(r.in(0x21) == 0xFB);
  CHECK(r.in(0xA1) == 0xFF);
}

TEST_CASE("pic: Linux initialization, request, INTA, EOI", "[pic]") {
  PicRig r;
  r.linux_init(0xFA, 0xFF);  // IRQ 0 and the cascade unmasked
  CHECK(r.pic.imr() == 0xFFFA);
  r.pic.set_pin(0, true);
  CHECK(r.pic.int_output());
  CHECK(r.changes == 1);
  CHECK(r.pic.irr() == 0x0001);
  CHECK(r.pic.acknowledge() == 0x30);
  CHECK(r.pic.isr() == 0x0001);
  CHECK(r.pic.irr() == 0);  // edge: the latch is cleared by INTA
  CHECK(!r.pic.int_output());
  CHECK(r.changes == 2);
  // The line is still high: no new edge, no new request, even after EOI.
  r.out(0x20, 0x20);
  CHECK(r.pic.isr() == 0);
  CHECK(!r.pic.int_output());
  r.pic.set_pin(0, false);
  r.pic.set_pin(0, true);
  CHECK(r.pic.int_output());
  CHECK(r.pic.acknowledge() == 0x30);
}

TEST_CASE("pic: edge latch survives the line falling before INTA", "[pic]") {
  PicRig r;
  r.linux_init(0x00, 0x00);
  r.pulse(4);
  CHECK(r.pic.int_output());
  CHECK(r.pic.acknowledge() == 0x34);
}

TEST_CASE("pic: masks (OCW1) gate requests, IRR still latches", "[pic]") {
  PicRig r;
  r.linux_init(0xFF, 0xFF);
  r.pulse(3);
  CHECK(r.pic.irr() == 0x0008);
  CHECK(!r.pic.int_output());
  r.out(0x21, 0xF7);
  CHECK(r.pic.int_output());
  CHECK(r.pic.acknowledge() == 0x33);
}

TEST_CASE("pic: fully nested priority, specific and non-specific EOI", "[pic]") {
  PicRig r;
  r.linux_init(0x00, 0x00);
  r.pulse(3);
  CHECK(r.pic.acknowledge() == 0x33);
  r.pulse(5);  // lower priority than the in-service IR3
  CHECK(!r.pic.int_output());
  r.pulse(1);  // higher: nests
  CHECK(r.pic.int_output());
  CHECK(r.pic.acknowledge() == 0x31);
  CHECK(r.pic.isr() == 0x000A);
  r.out(0x20, 0x20);  // non-specific EOI ends the highest: IR1
  CHECK(r.pic.isr() == 0x0008);
  CHECK(!r.pic.int_output());
  r.out(0x20, 0x63);  // specific EOI for IR3
  CHECK(r.pic.isr() == 0);
  CHECK(r.pic.int_output());
  CHECK(r.pic.acknowledge() == 0x35);
  r.out(0x20, 0x65);
  CHECK(r.pic.isr() == 0);
}

TEST_CASE("pic: reading IRR and ISR through OCW3", "[pic]") {
  PicRig r;
  r.linux_init(0x00, 0x00);
  r.pulse(6);
  r.pulse(7);
  CHECK(r.in(0x20) == 0xC0);  // IRR after ICW1
  r.pic.acknowledge();
  r.out(0x20, 0x0B);
  CHECK(r.in(0x20) == 0x40);  // ISR
  CHECK(r.in(0x20) == 0x40);  // the selection sticks
  r.out(0x20, 0x0A);
  CHECK(r.in(0x20) == 0x80);  // IRR
  r.out(0x20, 0x08);          // RR = 0: no change
  CHECK(r.in(0x20) == 0x80);
}

TEST_CASE("pic: rotation commands", "[pic]") {
  PicRig r;
  r.linux_init(0x00, 0x00);
  SECTION("rotate on non-specific EOI makes the serviced level lowest") {
    r.pulse(3);
    CHECK(r.pic.acknowledge() == 0x33);
    r.out(0x20, 0xA0);  // IR3 lowest, IR4 highest
    r.pulse(1);
    r.pulse(4);
    CHECK(r.pic.acknowledge() == 0x34);
    CHECK(!r.pic.int_output());  // IR1 is now below the in-service IR4
    r.out(0x20, 0x20);
    CHECK(r.pic.acknowledge() == 0x31);
  }
  SECTION("set priority") {
    r.out(0x20, 0xC5);  // IR5 lowest -> IR6 highest
    r.pulse(2 + 0);     // pin 2 is the cascade: ignored
    r.pulse(0);
    r.pulse(6);
    CHECK(r.pic.acknowledge() == 0x36);
    r.out(0x20, 0x20);
    CHECK(r.pic.acknowledge() == 0x30);
  }
  SECTION("rotate on specific EOI") {
    r.pulse(0);
    CHECK(r.pic.acknowledge() == 0x30);
    r.out(0x20, 0xE0);  // end IR0 and make it lowest
    CHECK(r.pic.isr() == 0);
    r.pulse(0);
    r.pulse(7);
    CHECK(r.pic.acknowledge() == 0x37);
  }
  SECTION("rotate in automatic EOI mode") {
    r.out(0x20, 0x11);
    r.out(0x21, 0x30);
    r.out(0x21, 0x04);
    r.out(0x21, 0x03);  // AEOI
    r.out(0x21, 0x00);
    r.out(0x20, 0x80);  // rotate in AEOI on
    r.pulse(2 + 1);
    r.pulse(5);
    CHECK(r.pic.acknowledge() == 0x33);
    CHECK(r.pic.isr() == 0);  // AEOI: nothing in service
    r.pulse(3);
    // IR3 is now lowest: IR5 before it.
    CHECK(r.pic.acknowledge() == 0x35);
    CHECK(r.pic.acknowledge() == 0x33);
    r.out(0x20, 0x00);  // rotate in AEOI off
    r.pulse(1);
    r.pulse(7);
    // IR3 was serviced last and stays lowest: IR7 (prio 3) beats IR1 (prio 5).
    CHECK(r.pic.acknowledge() == 0x37);
  }
}

TEST_CASE("pic: special mask mode lets lower levels through", "[pic]") {
  PicRig r;
  r.linux_init(0x00, 0x00);
  r.pulse(1);
  CHECK(r.pic.acknowledge() == 0x31);
  r.pulse(5);
  CHECK(!r.pic.int_output());
  r.out(0x21, 0x02);  // mask the in-service level
  r.out(0x20, 0x68);  // ESMM + SMM
  CHECK(r.pic.int_output());
  CHECK(r.pic.acknowledge() == 0x35);
  // A non-specific EOI in SMM skips the masked in-service IR1.
  r.out(0x20, 0x20);
  CHECK(r.pic.isr() == 0x02);
  r.out(0x20, 0x48);  // reset SMM
  r.out(0x20, 0x61);
  CHECK(r.pic.isr() == 0);
}

TEST_CASE("pic: poll command", "[pic]") {
  PicRig r;
  r.linux_init(0x00, 0x00);
  r.out(0x20, 0x0C);
  CHECK(r.in(0x20) == 0x00);  // nothing pending: I = 0
  r.pulse(6);
  r.out(0x20, 0x0C);
  CHECK(r.in(0x20) == 0x86);
  CHECK(r.pic.isr() == 0x40);
  CHECK(r.in(0x20) == 0x00);  // the poll is one-shot: back to IRR
  // Slave through the cascade: poll the master, then the slave.
  r.pulse(12);
  r.out(0x20, 0x0C);
  CHECK(r.in(0x20) == 0x82);
  r.out(0xA0, 0x0C);
  CHECK(r.in(0xA1) == 0x84);
  CHECK(r.pic.isr() == 0x1044);
}

TEST_CASE("pic: cascade through master IR2", "[pic]") {
  PicRig r;
  r.linux_init(0xFB, 0x00);
  r.pulse(10);
  CHECK(r.pic.int_output());
  CHECK(r.pic.acknowledge() == 0x3A);
  CHECK(r.pic.isr() == 0x0404);
  r.pulse(9);  // higher priority on the slave, but IR2 is in service on the master
  CHECK(!r.pic.int_output());
  r.pulse(14);
  r.out(0xA0, 0x20);
  r.out(0x20, 0x20);
  CHECK(r.pic.isr() == 0);
  CHECK(r.pic.int_output());
  CHECK(r.pic.acknowledge() == 0x39);
  r.out(0xA0, 0x20);
  r.out(0x20, 0x20);
  CHECK(r.pic.acknowledge() == 0x3E);
  r.out(0xA0, 0x20);
  r.out(0x20, 0x20);
  CHECK(!r.pic.int_output());
  CHECK(r.pic.irr() == 0);
}

TEST_CASE("pic: a slave in AEOI with two requests presents both", "[pic]") {
  PicRig r;
  r.linux_init(0xFB, 0x00);
  r.out(0xA0, 0x11);
  r.out(0xA1, 0x38);
  r.out(0xA1, 0x02);
  r.out(0xA1, 0x03);
  r.out(0xA1, 0x00);
  r.pic.set_pin(8, true);
  r.pic.set_pin(11, true);
  CHECK(r.pic.acknowledge() == 0x38);
  r.out(0x20, 0x20);
  CHECK(r.pic.int_output());
  CHECK(r.pic.acknowledge() == 0x3B);
}

TEST_CASE("pic: special fully nested mode", "[pic]") {
  PicRig r;
  r.linux_init(0xFB, 0x00);
  r.out(0x20, 0x11);
  r.out(0x21, 0x30);
  r.out(0x21, 0x04);
  r.out(0x21, 0x11);  // SFNM
  r.out(0x21, 0xFB);
  r.pulse(12);
  CHECK(r.pic.acknowledge() == 0x3C);
  r.pulse(9);  // outranks the slave's in-service IR12: the master lets it through
  CHECK(r.pic.int_output());
  CHECK(r.pic.acknowledge() == 0x39);
  r.pulse(13);  // lower than IR12 on the slave: blocked by the slave itself
  CHECK(!r.pic.int_output());
}

TEST_CASE("pic: spurious IRQ 7 and 15", "[pic]") {
  PicRig r;
  r.linux_init(0x00, 0x00);
  SECTION("level request dropped before INTA") {
    r.out(0x4D0, 0x20);  // IRQ 5 level
    r.pic.set_pin(5, true);
    CHECK(r.pic.int_output());
    r.pic.set_pin(5, false);
    CHECK(!r.pic.int_output());
    CHECK(r.pic.acknowledge() == 0x37);
    CHECK(r.pic.isr() == 0);
    CHECK(r.pic.spurious() == 1);
  }
  SECTION("edge request masked before INTA") {
    r.pulse(4);
    r.out(0x21, 0x10);
    CHECK(r.pic.acknowledge() == 0x37);
    CHECK(r.pic.isr() == 0);
    CHECK(r.pic.irr() == 0x10);
  }
  SECTION("slave request vanishes: IRQ 15, master IR2 in service") {
    r.out(0x4D1, 0x08);  // IRQ 11 level
    r.pic.set_pin(11, true);
    CHECK(r.pic.int_output());
    r.pic.set_pin(11, false);
    CHECK(r.pic.int_output());  // the master latched the edge on IR2
    CHECK(r.pic.acknowledge() == 0x3F);
    CHECK(r.pic.isr() == 0x0004);
    CHECK(r.pic.spurious() == 1);
    r.out(0x20, 0x62);  // what Linux does for a spurious IRQ 15
    CHECK(r.pic.isr() == 0);
  }
}

TEST_CASE("pic: ELCR level mode", "[pic]") {
  PicRig r;
  r.linux_init(0x00, 0x00);
  r.out(0x4D0, 0xFF);
  r.out(0x4D1, 0xFF);
  CHECK(r.in(0x4D0) == 0xF8);  // IRQ 0, 1, 2 always edge
  CHECK(r.in(0x4D1) == 0xDE);  // IRQ 8, 13 always edge
  CHECK(r.pic.elcr() == 0xDEF8);
  r.pic.set_pin(9, true);
  CHECK(r.pic.acknowledge() == 0x39);
  CHECK(r.pic.irr() == 0x0200);  // IRR follows the line
  r.out(0xA0, 0x20);
  r.out(0x20, 0x20);
  CHECK(r.pic.int_output());  // still high: requested again after EOI
  CHECK(r.pic.acknowledge() == 0x39);
  r.pic.set_pin(9, false);
  r.out(0xA0, 0x20);
  r.out(0x20, 0x20);
  CHECK(!r.pic.int_output());
  CHECK(r.pic.irr() == 0);
  // Switching a high line to level mode presents it at once.
  r.out(0x4D0, 0x00);
  r.pic.set_pin(3, true);
  CHECK(r.pic.acknowledge() == 0x33);
  r.out(0x20, 0x20);
  CHECK(!r.pic.int_output());
  r.out(0x4D0, 0x08);
  CHECK(r.pic.int_output());
}

TEST_CASE("pic: ICW1 resets IMR, ISR, edge sense; without IC4 clears ICW4", "[pic]") {
  PicRig r;
  r.linux_init(0x00, 0x00);
  r.pulse(3);
  r.pic.acknowledge();
  r.pic.set_pin(6, true);
  r.out(0x20, 0x12);  // single, no ICW4
  r.out(0x21, 0x40);  // ICW2, then ready (no ICW3, no ICW4)
  CHECK(r.pic.isr() == 0);
  CHECK(r.pic.imr() == 0x0000);
  CHECK(!r.pic.int_output());  // the high IR6 needs a new edge
  r.out(0x21, 0xEF);           // OCW1 now, not ICW3
  CHECK(r.pic.imr() == 0x00EF);
  r.pulse(4);
  CHECK(r.pic.acknowledge() == 0x44);
  // Single mode: the master answers IR2 itself.
  r.out(0x21, 0x00);
  r.pulse(10);
  CHECK(r.pic.acknowledge() == 0x42);
}

TEST_CASE("pic: wide port accesses split into bytes", "[pic]") {
  PicRig r;
  r.linux_init(0x5A, 0xA5);
  r.pulse(7);
  CHECK(r.pic.port_in(0x20, 2) == 0x5A80);  // IRR, IMR
  r.pic.port_out(0x20, 2, 0x0F0B);          // OCW3 read ISR; IMR = 0x0F
  CHECK(r.pic.imr() == 0xA50F);
  CHECK(r.pic.port_in(0x21, 2) == 0xFF0F);  // 0x22 is not the PIC's
  CHECK(r.pic.port_in(0x4D0, 4) == 0xFFFF0000);
}

TEST_CASE("pic: accesses are counted by register", "[pic]") {
  PicRig r;
  r.linux_init();
  const auto& names = r.pic.reg_names();
  auto idx = [&](const char* n) {
    return unsigned(std::find(names.begin(), names.end(), n) - names.begin());
  };
  CHECK(r.pic.writes(idx("m.icw2")) == 1);
  CHECK(r.pic.writes(idx("s.icw4")) == 1);
  CHECK(r.pic.writes(idx("m.imr")) == 2);
  CHECK(r.pic.writes(idx("m.cmd")) == 1);
  r.in(0x20);
  CHECK(r.pic.reads(idx("m.irr")) == 1);
  r.out(0x4D1, 0x08);
  r.in(0x4D0);
  CHECK(r.pic.writes(idx("elcr1")) == 1);
  CHECK(r.pic.reads(idx("elcr0")) == 1);
  r.out(0xA0, 0x0C);
  r.in(0xA1);
  CHECK(r.pic.reads(idx("s.poll")) == 1);
}

TEST_CASE("pic: traces INTA", "[pic]") {
  PicRig r;
  r.rig.enable_trace();
  r.linux_init(0x00, 0x00);
  r.pulse(1);
  r.pic.acknowledge();
  REQUIRE(!r.rig.trace_lines.empty());
  CHECK(r.rig.trace_lines.back() == "irq pic: INTA irq 1 vector 0x31");
}

TEST_CASE("pic: Linux's mask_and_ack_8259A and spurious IRQ 7 check", "[pic]") {
  PicRig r;
  r.linux_init(0x00, 0x00);
  // A real IRQ 7: the ISR bit is set after INTA.
  r.pulse(7);
  CHECK(r.pic.acknowledge() == 0x37);
  r.out(0x20, 0x0B);
  CHECK((r.in(0x20) & 0x80) != 0);  // i8259A_irq_real(): in service
  r.out(0x20, 0x0A);
  r.out(0x21, 0x80);  // mask it (cached_irq_mask)
  r.out(0x20, 0x67);  // specific EOI
  CHECK(r.pic.isr() == 0);
  // A spurious IRQ 7: nothing in service.
  r.out(0x21, 0x00);
  r.out(0x4D0, 0x10);  // IRQ 4 level
  r.pic.set_pin(4, true);
  r.pic.set_pin(4, false);
  CHECK(r.pic.acknowledge() == 0x37);
  r.out(0x20, 0x0B);
  CHECK((r.in(0x20) & 0x80) == 0);
}

TEST_CASE("pic: automatic EOI on both chips (Linux init_8259A(1))", "[pic]") {
  PicRig r;
  r.out(0x21, 0xFF);
  r.out(0x20, 0x11);
  r.out(0x21, 0x30);
  r.out(0x21, 0x04);
  r.out(0x21, 0x03);  // MASTER_ICW4_DEFAULT | PIC_ICW4_AEOI
  r.out(0xA0, 0x11);
  r.out(0xA1, 0x38);
  r.out(0xA1, 0x02);
  r.out(0xA1, 0x01);
  r.out(0x21, 0xFA);
  r.out(0xA1, 0xFF);
  for (int i = 0; i < 3; ++i) {
    r.pulse(0);
    CHECK(r.pic.acknowledge() == 0x30);
    CHECK(r.pic.isr() == 0);  // no EOI needed
  }
}
