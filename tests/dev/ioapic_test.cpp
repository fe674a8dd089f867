// I/O APIC against the 82093AA datasheet, delivering to a real local APIC.
#include <catch2/catch.hpp>

#include "sim/dev/ioapic.h"
#include "sim/dev/lapic.h"
#include "tests/dev/dev_rig.h"

using namespace sim;

namespace {

struct IoRig {
  test::DevRig rig;
  LocalApic apic{rig.ctx, nullptr, 25'000'000, nullptr};
  IoApic io{rig.ctx, &apic};
  unsigned nmis = 0;

  IoRig() {
    apic.on_eoi_broadcast = [this](uint8_t v) { io.eoi(v); };
    apic.raise_nmi = [this] { nmis++; };
    apic.mmio_write(0xF0, 4, 0x1FF);  // software-enable the local APIC
  }
  uint32_t rd(uint8_t index) {
    io.mmio_write(0, 4, index);
    return uint32_t(io.mmio_read(0x10, 4));
  }
  void wr(uint8_t index, uint32_t v) {
    io.mmio_write(0, 4, index);
    io.mmio_write(0x10, 4, v);
  }
  void program(unsigned pin, uint64_t e) {
    wr(uint8_t(0x11 + 2 * pin), uint32_t(e >> 32));
    wr(uint8_t(0x10 + 2 * pin), uint32_t(e));
  }
  uint8_t take() {
    REQUIRE(apic.intr_pending());
    return apic.acknowledge();
  }
  void eoi() { apic.mmio_write(0xB0, 4, 0); }
};

constexpr uint64_t kLevel = 1ull << 15, kActiveLow = 1ull << 13, kMasked = 1ull << 16,
                   kRemoteIrr = 1ull << 14;

}  // namespace

TEST_CASE("ioapic reset state, ID, version, arbitration", "[ioapic]") {
  IoRig r;
  CHECK(r.rd(0x01) == 0x00170011);
  CHECK(r.rd(0x00) == 0);
  r.wr(0x00, 0xFFFFFFFF);
  CHECK(r.rd(0x00) == 0x0F000000);
  CHECK(r.rd(0x02) == 0x0F000000);
  r.wr(0x01, 0);  // read-only
  CHECK(r.rd(0x01) == 0x00170011);
  for (unsigned pin = 0; pin < 24; pin++) {
    CHECK(r.rd(uint8_t(0x10 + 2 * pin)) == 0x00010000);
    CHECK(r.rd(uint8_t(0x11 + 2 * pin)) == 0);
  }
  CHECK(r.rd(0x03) == 0);     // no register
  CHECK(r.rd(0x40) == 0);     // past entry 23
  r.io.mmio_write(0, 1, 0x01);  // IOREGSEL by byte
  CHECK(r.io.mmio_read(0x10, 4) == 0x00170011);
  CHECK(r.io.mmio_read(0x10, 1) == 0x11);  // narrow reads see the low bytes
  CHECK(r.io.mmio_read(0x12, 1) == 0x17);
  CHECK(r.io.mmio_read(0, 4) == 0x01);
  CHECK(r.io.mmio_read(0x40, 4) == 0);  // version 0x11: no EOI register
  r.io.mmio_write(0x40, 4, 0x30);
  // Register writes: read-only delivery status and Remote-IRR, reserved bits.
  r.wr(0x10, 0xFFFFFFFF);
  CHECK(r.rd(0x10) == 0x0001AFFF);
  r.wr(0x11, 0xFFFFFFFF);
  CHECK(r.rd(0x11) == 0xFF000000);
  r.io.reset();
  CHECK(r.rd(0x10) == 0x00010000);
  // Counted by the register IOREGSEL selects.
  const auto& n = r.io.reg_names();
  auto idx = [&](const char* s) { return unsigned(std::find(n.begin(), n.end(), s) - n.begin()); };
  CHECK(r.io.reads(idx("version")) >= 3);
  CHECK(r.io.writes(idx("redir0_lo")) == 1);
  CHECK(r.io.writes(idx("redir0_hi")) == 1);
}

TEST_CASE("ioapic edge-triggered pins", "[ioapic]") {
  IoRig r;
  r.program(4, 0x34);  // fixed, physical dest 0, edge, active high, unmasked
  r.io.set_pin(4, true);
  CHECK(r.apic.irr(0x34));
  CHECK(!r.apic.tmr(0x34));
  r.io.set_pin(4, true);  // no new edge
  CHECK(r.io.delivered(4) == 1);
  r.io.set_pin(4, false);
  r.io.set_pin(4, true);
  CHECK(r.io.delivered(4) == 2);
  CHECK(r.take() == 0x34);
  r.eoi();
  // An edge on a masked pin is lost (82093AA: not held pending).
  r.program(5, 0x35 | kMasked);
  r.io.set_pin(5, true);
  r.io.set_pin(5, false);
  r.program(5, 0x35);
  CHECK(!r.apic.irr(0x35));
  CHECK(r.io.delivered(5) == 0);
  // Active low: the falling edge asserts.
  r.program(6, 0x36 | kActiveLow);
  r.io.set_pin(6, true);
  CHECK(!r.apic.irr(0x36));
  r.io.set_pin(6, false);
  CHECK(r.apic.irr(0x36));
  // Through the ISA router: IRQ 0 arrives on pin 2.
  r.rig.irq.connect(nullptr, &r.io);
  r.program(2, 0x30);
  r.rig.irq.pulse_isa_irq(0);
  CHECK(r.apic.irr(0x30));
}

TEST_CASE("ioapic level-triggered pins: Remote-IRR, EOI, redelivery", "[ioapic]") {
  IoRig r;
  r.program(9, 0x59 | kLevel);
  r.io.set_pin(9, true);
  CHECK(r.apic.irr(0x59));
  CHECK(r.apic.tmr(0x59));
  CHECK(r.rd(0x10 + 18) & kRemoteIrr);
  CHECK(r.io.remote_irr(9));
  r.io.set_pin(9, true);  // still in service: nothing new
  CHECK(r.io.delivered(9) == 1);
  CHECK(r.take() == 0x59);
  r.eoi();  // the line is still asserted: delivered again
  CHECK(r.io.delivered(9) == 2);
  CHECK(r.io.remote_irr(9));
  CHECK(r.apic.irr(0x59));
  CHECK(r.take() == 0x59);
  r.io.set_pin(9, false);  // the device is serviced
  r.eoi();
  CHECK(!r.io.remote_irr(9));
  CHECK(r.io.delivered(9) == 2);
  CHECK(!r.apic.intr_pending());
  // Writing the entry does not clear Remote-IRR (read-only).
  r.io.set_pin(9, true);
  CHECK(r.io.remote_irr(9));
  r.wr(0x10 + 18, 0x59 | kLevel);
  CHECK(r.io.remote_irr(9));
  CHECK(r.io.delivered(9) == 3);
  // Masked while asserted: unmasking delivers (after the EOI).
  CHECK(r.take() == 0x59);
  r.wr(0x10 + 18, uint32_t(0x59 | kLevel | kMasked));
  r.eoi();
  CHECK(!r.io.remote_irr(9));
  CHECK(r.io.delivered(9) == 3);
  r.wr(0x10 + 18, 0x59 | kLevel);
  CHECK(r.io.delivered(9) == 4);
  CHECK(r.io.remote_irr(9));
  // Switching to edge clears Remote-IRR.
  r.wr(0x10 + 18, 0x59);
  CHECK(!r.io.remote_irr(9));
  // Active-low level (PCI INTx style): electrical 0 = asserted.
  r.program(11, 0x5B | kLevel | kActiveLow | kMasked);
  r.io.set_pin(11, true);
  r.program(11, 0x5B | kLevel | kActiveLow);
  CHECK(r.io.delivered(11) == 0);
  r.io.set_pin(11, false);
  CHECK(r.io.delivered(11) == 1);
  CHECK(r.io.remote_irr(11));
}

TEST_CASE("ioapic shared vector EOI and destinations", "[ioapic]") {
  IoRig r;
  // Two level pins with one vector: one EOI clears both Remote-IRRs.
  r.program(16, 0x70 | kLevel);
  r.program(17, 0x70 | kLevel);
  r.io.set_pin(16, true);
  r.io.set_pin(17, true);
  CHECK(r.io.remote_irr(16));
  CHECK(r.io.remote_irr(17));
  r.io.set_pin(16, false);
  r.io.set_pin(17, false);
  CHECK(r.take() == 0x70);
  r.eoi();
  CHECK(!r.io.remote_irr(16));
  CHECK(!r.io.remote_irr(17));
  // A physical destination that is not this APIC: dropped, no Remote-IRR.
  r.program(3, (1ull << 56) | 0x43 | kLevel);
  r.io.set_pin(3, true);
  CHECK(!r.apic.irr(0x43));
  CHECK(!r.io.remote_irr(3));
  CHECK(r.io.dropped() == 1);
  // Broadcast 0xFF, and a logical flat destination.
  r.program(3, (0xFFull << 56) | 0x44);
  r.io.set_pin(3, false);
  r.io.set_pin(3, true);
  CHECK(r.apic.irr(0x44));
  r.apic.mmio_write(0xD0, 4, 0x01000000);
  r.program(7, (0x01ull << 56) | (1ull << 11) | 0x47);
  r.io.set_pin(7, true);
  CHECK(r.apic.irr(0x47));
  // x2APIC: 0xFF still broadcasts.
  r.apic.apic_base_written(LocalApic::kResetBase | LocalApic::kBaseExtd);
  r.program(8, (0xFFull << 56) | 0x48);
  r.io.set_pin(8, true);
  CHECK(r.apic.irr(0x48));
}

TEST_CASE("ioapic NMI and ExtINT delivery modes", "[ioapic]") {
  IoRig r;
  r.program(1, 0x400 | kLevel);  // NMI: no Remote-IRR whatever the trigger bit says
  r.io.set_pin(1, true);
  CHECK(r.nmis == 1);
  CHECK(!r.io.remote_irr(1));
  r.io.set_pin(1, true);
  CHECK(r.nmis == 1);
  r.io.set_pin(1, false);
  r.io.set_pin(1, true);
  CHECK(r.nmis == 2);
  r.program(12, 0x200);  // SMI: not modelled, nothing delivered to IRR
  r.io.set_pin(12, true);
  CHECK(!r.apic.intr_pending());
}
