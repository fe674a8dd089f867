// Local APIC against SDM Vol. 3A chapter 11.
#include <catch2/catch.hpp>

#include "sim/dev/lapic.h"
#include "tests/dev/dev_rig.h"

using namespace sim;

namespace {

struct FakePic final : ExtIntSource {
  bool out = false;
  uint8_t vector = 0x20;
  unsigned acks = 0;
  bool int_output() const override { return out; }
  uint8_t acknowledge() override {
    acks++;
    out = false;
    return vector;
  }
};

// 2 GHz core, 25 MHz crystal: one crystal tick = 80 cycles.
struct ApicRig {
  test::DevRig rig{2'000'000'000};
  FakePic pic;
  uint64_t tsc_offset = 0;
  LocalApic apic{rig.ctx, &pic, 25'000'000, [this](uint64_t c) { return c + tsc_offset; }};
  unsigned nmis = 0, changes = 0, inits = 0;
  std::vector<uint8_t> eois;

  ApicRig() {
    apic.raise_nmi = [this] { nmis++; };
    apic.raise_init = [this] { inits++; };
    apic.on_intr_change = [this] { changes++; };
    apic.on_eoi_broadcast = [this](uint8_t v) { eois.push_back(v); };
    apic.apic_base_written(LocalApic::kResetBase);
  }
  uint32_t rd(uint64_t off) { return uint32_t(apic.mmio_read(off, 4)); }
  void wr(uint64_t off, uint32_t v) { apic.mmio_write(off, 4, v); }
  void enable() { wr(0xF0, 0x1FF); }
  void to_x2apic() { apic.apic_base_written(LocalApic::kResetBase | LocalApic::kBaseExtd); }
  uint64_t msr(uint32_t i) {
    uint64_t v = 0xDEAD;
    REQUIRE(apic.rdmsr(i, v));
    return v;
  }
  uint32_t esr() {
    wr(0x280, 0);
    return rd(0x280);
  }
  // Acknowledge the pending vector (checking there is one).
  uint8_t take() {
    REQUIRE(apic.intr_pending());
    return apic.acknowledge();
  }
};

}  // namespace

TEST_CASE("lapic power-on state", "[lapic]") {
  ApicRig r;
  CHECK(r.apic.apic_base() == 0xFEE00900);
  CHECK(r.apic.base() == 0xFEE00000);
  CHECK(r.apic.xapic_mmio_enabled());
  CHECK(!r.apic.x2apic());
  CHECK(r.rd(0x20) == 0);
  CHECK(r.rd(0x30) == 0x00060015);
  CHECK(r.rd(0xF0) == 0xFF);
  CHECK(r.rd(0xE0) == 0xFFFFFFFF);
  CHECK(r.rd(0x350) == 0x700);      // LINT0 ExtINT, unmasked (firmware)
  CHECK(r.rd(0x360) == 0x10400);    // LINT1 NMI, masked
  for (uint64_t off : {0x2F0, 0x320, 0x330, 0x340, 0x370}) CHECK(r.rd(off) == 0x10000);
  CHECK(r.rd(0x80) == 0);
  CHECK(r.rd(0xA0) == 0);
  CHECK(r.rd(0x390) == 0);
  uint64_t v;
  CHECK(!r.apic.rdmsr(0x802, v));  // x2APIC MSRs do not exist in xAPIC mode
  CHECK(!r.apic.wrmsr(0x808, 0));
  CHECK(r.apic.rdmsr(0x6E0, v));   // TSC_DEADLINE exists in every mode
  CHECK(v == 0);
}

TEST_CASE("lapic xAPIC register masks and odd accesses", "[lapic]") {
  ApicRig r;
  r.enable();
  r.wr(0x80, 0xFFFFFFFF);
  CHECK(r.rd(0x80) == 0xFF);
  r.wr(0x80, 0);
  r.wr(0xD0, 0xFFFFFFFF);
  CHECK(r.rd(0xD0) == 0xFF000000);
  r.wr(0xE0, 0);
  CHECK(r.rd(0xE0) == 0x0FFFFFFF);
  r.wr(0xF0, 0xFFFFFFFF);
  CHECK(r.rd(0xF0) == 0x3FF);
  r.wr(0x320, 0xFFFFFFFF);
  CHECK(r.rd(0x320) == 0x700FF);
  r.wr(0x320, 0x10000);
  r.wr(0x350, 0xFFFFFFFF);
  CHECK(r.rd(0x350) == 0x1A7FF);
  r.wr(0x370, 0xFFFFFFFF);
  CHECK(r.rd(0x370) == 0x100FF);
  r.wr(0x2F0, 0xFFFFFFFF);
  CHECK(r.rd(0x2F0) == 0x107FF);
  r.wr(0x3E0, 0xFFFFFFFF);
  CHECK(r.rd(0x3E0) == 0xB);
  r.wr(0x310, 0xFFFFFFFF);
  CHECK(r.rd(0x310) == 0xFF000000);
  r.wr(0x20, 0x05000000);  // the xAPIC ID is writable (as in QEMU)
  CHECK(r.rd(0x20) == 0x05000000);
  CHECK(r.apic.id() == 5);
  // Read-only registers ignore writes.
  r.wr(0x30, 0);
  CHECK(r.rd(0x30) == 0x00060015);
  r.wr(0x100, 0xFFFFFFFF);
  CHECK(r.rd(0x100) == 0);
  // Other sizes and offsets: read 0, writes ignored.
  CHECK(r.apic.mmio_read(0x80, 1) == 0);
  CHECK(r.apic.mmio_read(0x84, 4) == 0);
  CHECK(r.apic.mmio_read(0x30, 8) == 0);
  r.apic.mmio_write(0x80, 1, 0x55);
  r.apic.mmio_write(0x84, 4, 0x55);
  CHECK(r.rd(0x80) == 0);
  CHECK(r.esr() == 0);
  // A reserved register: reads 0, sets ESR bit 7 (illegal register address).
  CHECK(r.rd(0x40) == 0);
  CHECK(r.esr() == 0x80);
  CHECK(r.esr() == 0);  // cleared by the next write
  // EOI and RRD read 0.
  CHECK(r.rd(0xB0) == 0);
  CHECK(r.rd(0xC0) == 0);
  // Counted by register name.
  const auto& names = r.apic.reg_names();
  auto idx = [&](const char* n) { return unsigned(std::find(names.begin(), names.end(), n) - names.begin()); };
  CHECK(r.apic.writes(idx("tpr")) == 3);
  CHECK(r.apic.reads(idx("version")) == 1 + 1);
  CHECK(r.apic.reads(idx("invalid")) == 1);
}

TEST_CASE("lapic software disable masks every LVT", "[lapic]") {
  ApicRig r;
  r.wr(0x320, 0x40);  // SVR is 0xFF: the mask cannot be cleared
  CHECK(r.rd(0x320) == 0x10040);
  r.enable();
  r.wr(0x320, 0x40);
  r.wr(0x370, 0xEE);
  CHECK(r.rd(0x320) == 0x40);
  r.wr(0xF0, 0xFF);  // software disable
  CHECK(r.rd(0x320) == 0x10040);
  CHECK(r.rd(0x370) == 0x100EE);
  CHECK(r.rd(0x350) == 0x10700);
  // Fixed interrupts are not accepted while software-disabled.
  r.apic.accept(0x40, 0, false, true);
  CHECK(!r.apic.irr(0x40));
  CHECK(!r.apic.intr_pending());
}

TEST_CASE("lapic mode transitions: xAPIC, x2APIC, disabled", "[lapic]") {
  ApicRig r;
  std::vector<uint64_t> relocs;
  r.apic.on_relocate = [&](uint64_t b) { relocs.push_back(b); };
  r.enable();
  r.wr(0x80, 0x20);
  r.wr(0x20, 0x03000000);
  r.wr(0xD0, 0x01000000);
  r.apic.accept(0x70, 0, false, true);
  r.to_x2apic();
  CHECK(r.apic.x2apic());
  CHECK(!r.apic.xapic_mmio_enabled());
  CHECK(r.apic.mmio_read(0x30, 4) == 0xFFFFFFFF);  // the page is gone
  CHECK(r.msr(0x802) == 0);     // x2APIC ID = initial APIC ID
  CHECK(r.msr(0x80D) == 0x1);   // LDR: cluster 0, bit 0
  CHECK(r.msr(0x808) == 0x20);  // state kept
  CHECK(r.msr(0x80F) == 0x1FF);
  CHECK(r.msr(0x803) == 0x00060015);
  CHECK(r.apic.irr(0x70));
  // x2APIC -> disabled: power-up state.
  r.apic.apic_base_written(0xFEE00000 | LocalApic::kBaseBsp);
  CHECK(!r.apic.hw_enabled());
  uint64_t v;
  CHECK(!r.apic.rdmsr(0x808, v));
  CHECK(!r.apic.irr(0x70));
  CHECK(r.apic.mmio_read(0x80, 4) == 0xFFFFFFFF);
  // disabled -> xAPIC at a new base.
  r.apic.apic_base_written(0xFED00000 | LocalApic::kBaseBsp | LocalApic::kBaseEn);
  REQUIRE(relocs.size() == 1);
  CHECK(relocs[0] == 0xFED00000);
  CHECK(r.rd(0x80) == 0);
  CHECK(r.rd(0xF0) == 0xFF);
  CHECK(r.rd(0x350) == 0x10000);  // power-up LVT, not the firmware's
  CHECK(r.rd(0xD0) == 0);
  // Moving the xAPIC page.
  r.apic.apic_base_written(0xFEE00000 | LocalApic::kBaseBsp | LocalApic::kBaseEn);
  CHECK(relocs.size() == 2);
}

TEST_CASE("lapic x2APIC MSR #GP rules", "[lapic]") {
  ApicRig r;
  r.to_x2apic();
  uint64_t v;
  // Absent registers.
  for (uint32_t i : {0x800u, 0x801u, 0x804u, 0x809u, 0x80Cu, 0x80Eu, 0x831u, 0x83Au, 0x840u, 0x8FFu})
    CHECK(!r.apic.rdmsr(i, v));
  // Write-only ones.
  CHECK(!r.apic.rdmsr(0x80B, v));
  CHECK(!r.apic.rdmsr(0x83F, v));
  // Read-only ones.
  for (uint32_t i : {0x802u, 0x803u, 0x80Au, 0x80Du, 0x810u, 0x818u, 0x827u, 0x839u})
    CHECK(!r.apic.wrmsr(i, 0));
  // Reserved bits and non-zero EOI/ESR.
  CHECK(!r.apic.wrmsr(0x808, 0x100));
  CHECK(!r.apic.wrmsr(0x808, 1ull << 32));
  CHECK(!r.apic.wrmsr(0x80B, 1));
  CHECK(r.apic.wrmsr(0x80B, 0));
  CHECK(!r.apic.wrmsr(0x828, 1));
  CHECK(r.apic.wrmsr(0x828, 0));
  CHECK(!r.apic.wrmsr(0x80F, 0x1000));
  CHECK(!r.apic.wrmsr(0x83E, 4));
  CHECK(!r.apic.wrmsr(0x832, 1u << 19));
  CHECK(!r.apic.wrmsr(0x837, 0x700));  // no delivery mode in the error LVT
  CHECK(!r.apic.wrmsr(0x830, 1u << 12));
  CHECK(!r.apic.wrmsr(0x83F, 0x100));
  // A read-only status bit written back is fine.
  CHECK(r.apic.wrmsr(0x835, 0x10000 | (1u << 12) | (1u << 14) | 0x700));
  CHECK(r.msr(0x835) == 0x10700);
  CHECK(r.apic.wrmsr(0x808, 0xFF));
  CHECK(r.msr(0x808) == 0xFF);
  CHECK(r.apic.wrmsr(0x80F, 0x3FF));
  CHECK(r.msr(0x80F) == 0x3FF);
}

TEST_CASE("lapic priority: TPR, PPR, ISR, EOI", "[lapic]") {
  ApicRig r;
  r.enable();
  r.apic.accept(0x31, 0, false, true);
  r.apic.accept(0x45, 0, false, true);
  CHECK(r.rd(0x200 + 0x10) == (1u << 0x11));  // IRR1 holds 0x31
  CHECK(r.rd(0x200 + 0x20) == (1u << 0x05));  // IRR2 holds 0x45
  r.wr(0x80, 0x40);  // class 4 blocks 0x45 (not above)
  CHECK(!r.apic.intr_pending());
  r.wr(0x80, 0x3F);
  CHECK(r.rd(0xA0) == 0x3F);
  CHECK(r.take() == 0x45);
  CHECK(r.apic.isr(0x45));
  CHECK(!r.apic.irr(0x45));
  CHECK(r.rd(0xA0) == 0x40);  // PPR = ISRV class
  CHECK(r.rd(0x90) == 0x40);  // APR
  CHECK(!r.apic.intr_pending());  // 0x31 is below
  r.wr(0xB0, 0);
  CHECK(!r.apic.isr(0x45));
  CHECK(r.rd(0xA0) == 0x3F);
  CHECK(!r.apic.intr_pending());  // class 3 not above TPR class 3
  r.wr(0x80, 0);
  CHECK(r.take() == 0x31);
  // Nested: a higher vector preempts the one in service, EOI retires the highest.
  r.apic.accept(0x80, 0, false, true);
  CHECK(r.take() == 0x80);
  CHECK(r.apic.isr(0x31));
  r.wr(0xB0, 0);
  CHECK(!r.apic.isr(0x80));
  CHECK(r.apic.isr(0x31));
  r.wr(0xB0, 0);
  CHECK(!r.apic.isr(0x31));
  r.wr(0xB0, 0);  // EOI with nothing in service: harmless
  CHECK(r.eois.empty());
}

TEST_CASE("lapic TMR and EOI broadcast", "[lapic]") {
  ApicRig r;
  r.enable();
  r.apic.accept(0x60, 0, true, true);
  r.apic.accept(0x61, 0, false, true);
  CHECK(r.apic.tmr(0x60));
  CHECK(!r.apic.tmr(0x61));
  CHECK(r.rd(0x180 + 0x30) == 1u);
  CHECK(r.take() == 0x61);
  r.wr(0xB0, 0);
  CHECK(r.eois.empty());  // edge: no broadcast
  CHECK(r.take() == 0x60);
  r.wr(0xB0, 0);
  CHECK(r.eois == std::vector<uint8_t>{0x60});
  // A level de-assert message does nothing.
  r.apic.accept(0x62, 0, true, false);
  CHECK(!r.apic.irr(0x62));
}

TEST_CASE("lapic illegal vectors, ESR and the error LVT", "[lapic]") {
  ApicRig r;
  r.enable();
  r.apic.accept(5, 0, false, true);
  CHECK(!r.apic.irr(5));
  CHECK(r.esr() == 0x40);  // received illegal vector
  r.wr(0x370, 0xEE);       // error interrupts on
  r.wr(0x300, 0x00040003); // fixed, vector 3, to self
  CHECK(r.esr() == 0x60);  // send + receive illegal vector
  CHECK(r.apic.irr(0xEE));
  // An illegal error vector reports itself once and stops.
  r.wr(0x370, 0x02);
  r.apic.accept(7, 0, false, true);
  CHECK(r.esr() == 0x40);
  // ESR is write-then-read: errors stay invisible until the write.
  r.apic.accept(8, 0, false, true);
  CHECK(r.rd(0x280) == 0x40);  // still the latched value of the last write
  CHECK(r.esr() == 0x40);
}

TEST_CASE("lapic spurious interrupt when the request vanishes", "[lapic]") {
  ApicRig r;
  r.wr(0xF0, 0x1F7);
  r.apic.accept(0x40, 0, false, true);
  CHECK(r.apic.intr_pending());
  r.wr(0x80, 0xF0);  // the OS raises TPR between INTR and INTA
  CHECK(r.apic.acknowledge() == 0xF7);
  CHECK(!r.apic.isr(0xF7));
  CHECK(r.apic.irr(0x40));
  CHECK(r.apic.spurious() == 1);
}

TEST_CASE("lapic LINT0 ExtINT and the hardware-disabled pass-through", "[lapic]") {
  ApicRig r;
  // Power-on: LINT0 ExtINT unmasked, the 8259 reaches INTR although SVR is 0xFF.
  CHECK(!r.apic.intr_pending());
  r.pic.out = true;
  r.pic.vector = 0x28;
  CHECK(r.apic.intr_pending());
  CHECK(r.apic.acknowledge() == 0x28);
  CHECK(r.pic.acks == 1);
  CHECK(!r.apic.isr(0x28));  // no ISR bit for ExtINT
  // Masking LINT0 cuts the 8259 off.
  r.enable();
  r.wr(0x350, 0x10700);
  r.pic.out = true;
  CHECK(!r.apic.intr_pending());
  // ExtINT has precedence over a pending fixed interrupt.
  r.wr(0x350, 0x700);
  r.apic.accept(0x90, 0, false, true);
  CHECK(r.apic.acknowledge() == 0x28);
  CHECK(r.take() == 0x90);
  // An ExtINT message from the I/O APIC also asks the 8259 for the vector.
  r.wr(0x350, 0x10700);
  r.pic.out = true;
  CHECK(!r.apic.intr_pending());
  r.apic.accept(0, 7, false, true);
  CHECK(r.take() == 0x28);
  CHECK(r.pic.acks == 3);
  // Hardware-disabled: INTR is the 8259's INT whatever LINT0 says.
  r.apic.apic_base_written(0xFEE00000 | LocalApic::kBaseBsp);
  r.pic.out = true;
  CHECK(r.apic.intr_pending());
  CHECK(r.apic.acknowledge() == 0x28);
  CHECK(!r.apic.intr_pending());
}

TEST_CASE("lapic LINT1 NMI", "[lapic]") {
  ApicRig r;
  r.enable();
  r.apic.set_lint1(true);
  CHECK(r.nmis == 0);  // masked at power-on
  r.apic.set_lint1(false);
  r.wr(0x360, 0x400);
  r.apic.set_lint1(true);
  r.apic.set_lint1(true);  // no new edge
  CHECK(r.nmis == 1);
}

TEST_CASE("lapic timer one-shot: exact expiry for every divide value", "[lapic]") {
  const std::pair<uint32_t, unsigned> divs[] = {{0x0, 2}, {0x1, 4},  {0x2, 8},  {0x3, 16},
                                                {0x8, 32}, {0x9, 64}, {0xA, 128}, {0xB, 1},
                                                {0x4, 2}};  // bit 2 is reserved (ignored)
  for (auto [dcr, div] : divs) {
    ApicRig r;
    r.enable();
    r.rig.advance_to(1000);  // tick 12.5: counting starts at tick 12
    r.wr(0x3E0, dcr);
    r.wr(0x320, 0x40);
    r.wr(0x380, 100);
    const uint64_t due = (12 + 100ull * div) * 80;
    CHECK(r.apic.timer_due() == due);
    r.rig.advance_to(12 * 80 + 30 * div * 80);
    CHECK(r.rd(0x390) == 70);
    CHECK(r.rd(0x380) == 100);
    r.rig.advance_to(due - 1);
    CHECK(!r.apic.irr(0x40));
    CHECK(r.rd(0x390) == 1);
    r.rig.advance_to(due);
    CHECK(r.apic.irr(0x40));
    CHECK(r.rd(0x390) == 0);
    CHECK(r.apic.timer_due() == EventQueue::kNever);
    r.rig.advance(1'000'000);
    CHECK(r.apic.timer_fired() == 1);
  }
}

TEST_CASE("lapic timer periodic, stop, mask, divide change", "[lapic]") {
  ApicRig r;
  r.enable();
  r.wr(0x3E0, 0xB);
  r.wr(0x320, 0x20041);  // periodic, vector 0x41
  r.wr(0x380, 10);       // 800 cycles per period
  for (uint64_t k = 1; k <= 5; k++) {
    REQUIRE(r.rig.skip_to_next());
    CHECK(r.rig.cycles == 800 * k);
    CHECK(r.apic.timer_fired() == k);
    CHECK(r.rd(0x390) == 10);
  }
  r.rig.advance(80 * 3);
  CHECK(r.rd(0x390) == 7);
  CHECK(r.take() == 0x41);
  // Late events do not drift: run 3.5 periods in one step.
  r.rig.advance(2800);
  CHECK(r.apic.timer_fired() == 8);
  CHECK(r.apic.timer_due() == 800 * 9);
  // Initial count 0 stops the timer.
  r.wr(0x380, 0);
  CHECK(r.apic.timer_due() == EventQueue::kNever);
  CHECK(r.rd(0x390) == 0);
  // A masked timer still counts but delivers nothing.
  r.wr(0xB0, 0);
  CHECK(r.take() == 0x41);  // the later periods' request
  r.wr(0xB0, 0);
  r.wr(0x320, 0x10041);  // one-shot, masked
  r.wr(0x380, 5);
  r.rig.advance(10'000);
  CHECK(r.apic.timer_fired() == 9);
  CHECK(!r.apic.irr(0x41));
  // DCR change mid-count: the remaining count continues at the new rate.
  r.wr(0x320, 0x41);
  const uint64_t t0 = r.rig.cycles;  // a tick boundary (80 | t0)
  REQUIRE(t0 % 80 == 0);
  r.wr(0x380, 1000);
  r.rig.advance(80 * 400);
  CHECK(r.rd(0x390) == 600);
  r.wr(0x3E0, 0x0);  // divide by 2
  CHECK(r.apic.timer_due() == t0 + 80 * (400 + 1200));
  r.rig.advance(80 * 200);
  CHECK(r.rd(0x390) == 500);
  // One-shot -> periodic keeps counting.
  r.wr(0x320, 0x20041);
  CHECK(r.apic.timer_due() == t0 + 80 * 1600);
}

TEST_CASE("lapic TSC-deadline timer with an offset TSC", "[lapic]") {
  ApicRig r;
  r.enable();
  r.tsc_offset = 1'000'000;
  uint64_t v;
  // Not in TSC-deadline mode: writes ignored, reads 0.
  CHECK(r.apic.wrmsr(0x6E0, 1'005'000));
  CHECK(r.msr(0x6E0) == 0);
  r.wr(0x380, 50);  // one-shot armed, then cleared by the mode change
  r.wr(0x320, 0x40050);
  CHECK(r.rd(0x380) == 0);
  CHECK(r.apic.timer_due() == EventQueue::kNever);
  r.wr(0x380, 50);  // ignored in TSC-deadline mode
  CHECK(r.rd(0x380) == 0);
  CHECK(r.rd(0x390) == 0);
  r.rig.advance_to(100);
  CHECK(r.apic.wrmsr(0x6E0, 1'005'000));
  CHECK(r.msr(0x6E0) == 1'005'000);
  CHECK(r.apic.timer_due() == 5000);
  r.rig.advance_to(4999);
  CHECK(!r.apic.irr(0x50));
  r.rig.advance_to(5000);
  CHECK(r.apic.irr(0x50));
  CHECK(r.msr(0x6E0) == 0);  // cleared on expiry
  // A deadline in the past fires at once.
  r.take();
  r.wr(0xB0, 0);
  CHECK(r.apic.wrmsr(0x6E0, 10));
  r.rig.advance(0);
  CHECK(r.apic.irr(0x50));
  // Writing 0 disarms.
  CHECK(r.apic.wrmsr(0x6E0, 1'100'000));
  CHECK(r.apic.wrmsr(0x6E0, 0));
  CHECK(r.apic.timer_due() == EventQueue::kNever);
  // The guest moves its TSC: the deadline follows the TSC, not the cycle.
  CHECK(r.apic.wrmsr(0x6E0, 1'100'000));
  CHECK(r.apic.timer_due() == 100'000);
  r.tsc_offset += 50'000;
  r.apic.tsc_changed();
  CHECK(r.apic.timer_due() == 1'100'000 - r.tsc_offset);
  // Moved back without telling: the event re-aims when it finds the TSC short.
  r.tsc_offset -= 20'000;
  r.rig.advance_to(1'100'000 - 1'030'000 - 1);
  CHECK(r.msr(0x6E0) == 1'100'000);
  CHECK(r.apic.timer_due() == 1'100'000 - r.tsc_offset);
  // Leaving TSC-deadline mode disarms and clears the MSR.
  r.wr(0x320, 0x50);
  CHECK(r.msr(0x6E0) == 0);
  CHECK(r.apic.timer_due() == EventQueue::kNever);
  (void)v;
}

TEST_CASE("lapic ICR: self, broadcasts, NMI, INIT/SIPI to absent CPUs", "[lapic]") {
  ApicRig r;
  r.enable();
  r.wr(0x300, 0x00040031);  // self
  CHECK(r.apic.irr(0x31));
  CHECK((r.rd(0x300) & (1u << 12)) == 0);  // delivery status idle
  r.wr(0x300, 0x00080032);  // all including self
  CHECK(r.apic.irr(0x32));
  r.wr(0x300, 0x000C0033);  // all excluding self
  CHECK(!r.apic.irr(0x33));
  CHECK(r.apic.ipis_dropped() == 1);
  r.wr(0x310, 0x00000000);
  r.wr(0x300, 0x00000034);  // physical, destination 0 = us
  CHECK(r.apic.irr(0x34));
  r.wr(0x310, 0x01000000);
  r.wr(0x300, 0x00000035);  // physical, destination 1: absent
  CHECK(!r.apic.irr(0x35));
  CHECK(r.apic.ipis_dropped() == 2);
  r.wr(0x300, 0x00008036);  // level-triggered fixed IPI to self: TMR
  CHECK(!r.apic.irr(0x36));
  r.wr(0x310, 0);
  r.wr(0x300, 0x00008036);
  CHECK(r.apic.tmr(0x36));
  r.wr(0x300, 0x00040400);  // NMI to self
  CHECK(r.nmis == 1);
  r.wr(0x300, 0x000C4500);  // INIT assert, all excluding self (the AP start-up)
  r.wr(0x300, 0x000C8500);  // INIT level de-assert
  r.wr(0x300, 0x000C0608);  // SIPI vector 8
  r.wr(0x300, 0x000C0608);
  CHECK(r.apic.ipis_dropped() == 7);
  CHECK(r.inits == 0);
  r.wr(0x300, 0x00044500);  // INIT to self: an INIT signal to this CPU
  CHECK(r.inits == 1);
  r.wr(0x300, 0x00048500);  // INIT level de-assert to self: no signal (11.6.1)
  CHECK(r.inits == 1);
  CHECK(r.apic.ipis_sent() == 14);
  // Logical flat destination.
  r.wr(0xD0, 0x02000000);
  r.wr(0x310, 0x03000000);
  r.wr(0x300, 0x00000837);
  CHECK(r.apic.irr(0x37));
  r.wr(0x310, 0x04000000);
  r.wr(0x300, 0x00000838);
  CHECK(!r.apic.irr(0x38));
}

TEST_CASE("lapic destination matching: physical, flat, cluster, x2APIC", "[lapic]") {
  ApicRig r;
  r.enable();
  CHECK(r.apic.matches(0, false));
  CHECK(r.apic.matches(0xFF, false));
  CHECK(!r.apic.matches(1, false));
  r.wr(0xD0, 0x21000000);  // cluster 2, member bit 0 (cluster model)
  r.wr(0xE0, 0x0FFFFFFF);
  CHECK(r.apic.matches(0x21, true));
  CHECK(r.apic.matches(0x23, true));
  CHECK(!r.apic.matches(0x11, true));
  CHECK(!r.apic.matches(0x22, true));
  CHECK(r.apic.matches(0xFF, true));
  r.wr(0xE0, 0xFFFFFFFF);  // flat
  CHECK(r.apic.matches(0x01, true));
  CHECK(r.apic.matches(0x20, true));
  CHECK(!r.apic.matches(0x40, true));
  r.to_x2apic();
  CHECK(r.apic.matches(0, false));
  CHECK(!r.apic.matches(0xFF, false));  // an x2APIC ID, not a broadcast
  CHECK(r.apic.matches(0xFFFFFFFF, false));
  CHECK(r.apic.matches(0x00000001, true));
  CHECK(r.apic.matches(0x00000003, true));
  CHECK(!r.apic.matches(0x00010001, true));
  CHECK(!r.apic.matches(0x00000002, true));
}

TEST_CASE("lapic x2APIC ICR and SELF IPI", "[lapic]") {
  ApicRig r;
  r.to_x2apic();
  REQUIRE(r.apic.wrmsr(0x80F, 0x1FF));
  CHECK(r.apic.wrmsr(0x830, 0x0000000000000051ull));  // physical, destination 0
  CHECK(r.apic.irr(0x51));
  CHECK(r.apic.wrmsr(0x830, 0x0000000100000052ull));  // destination 1: absent
  CHECK(!r.apic.irr(0x52));
  CHECK(r.msr(0x830) == 0x0000000100000052ull);
  CHECK(r.apic.wrmsr(0x830, 0xFFFFFFFF00000053ull));  // broadcast
  CHECK(r.apic.irr(0x53));
  CHECK(r.apic.wrmsr(0x83F, 0x54));
  CHECK(r.apic.irr(0x54));
  CHECK(r.apic.wrmsr(0x83F, 0x04));
  CHECK(r.apic.wrmsr(0x828, 0));
  CHECK(r.msr(0x828) == 0x60);
  CHECK(r.take() == 0x54);
  CHECK(r.apic.wrmsr(0x80B, 0));
  CHECK(!r.apic.isr(0x54));
  // The timer through MSRs.
  CHECK(r.apic.wrmsr(0x83E, 0xB));
  CHECK(r.apic.wrmsr(0x832, 0x60));
  CHECK(r.apic.wrmsr(0x838, 4));
  r.rig.advance(80 * 4);
  CHECK(r.apic.irr(0x60));
  CHECK(r.msr(0x839) == 0);
}

TEST_CASE("lapic trace and counts of MSR accesses", "[lapic]") {
  ApicRig r;
  r.rig.enable_trace();
  r.to_x2apic();
  uint64_t v;
  r.apic.rdmsr(0x808, v);
  r.apic.wrmsr(0x808, 0x10);
  r.apic.rdmsr(0x809, v);  // absent: counted as invalid
  const auto& names = r.apic.reg_names();
  auto idx = [&](const char* n) { return unsigned(std::find(names.begin(), names.end(), n) - names.begin()); };
  CHECK(r.apic.reads(idx("tpr")) == 1);
  CHECK(r.apic.writes(idx("tpr")) == 1);
  CHECK(r.apic.reads(idx("invalid")) == 1);
  bool seen = false;
  for (auto& l : r.rig.trace_lines) seen |= l.find("lapic.tpr w 0x10") != std::string::npos;
  CHECK(seen);
}

TEST_CASE("lapic random register traffic: no crash, invariants hold", "[lapic]") {
  ApicRig r;
  uint64_t s = 0x9E3779B97F4A7C15ull;
  auto rnd = [&s] {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    return s;
  };
  const uint64_t bases[] = {LocalApic::kResetBase, 0xFEE00000 | LocalApic::kBaseBsp,
                            LocalApic::kResetBase | LocalApic::kBaseExtd};
  for (int i = 0; i < 200'000; i++) {
    const uint64_t x = rnd();
    switch (x % 8) {
      case 0: r.apic.mmio_read((x >> 8) & 0xFFF, 1u << ((x >> 20) & 3)); break;
      case 1:
      case 2: r.apic.mmio_write((x >> 8) & 0x3FF, (x >> 20) & 1 ? 4 : 1u << ((x >> 21) & 3), rnd()); break;
      case 3: {
        uint64_t v;
        r.apic.rdmsr(0x7F0 + uint32_t((x >> 8) % 0x120), v);
        r.apic.wrmsr((x >> 30) & 1 ? 0x6E0 : 0x800 + uint32_t((x >> 8) & 0x3F), rnd() >> ((x >> 40) & 63));
        break;
      }
      case 4: {
        // Only transitions the core accepts (isa/msr.cpp).
        const uint64_t nb = bases[(x >> 8) % 3];
        const bool x2_to_x = r.apic.x2apic() && nb == LocalApic::kResetBase;
        const bool dis_to_x2 = !r.apic.hw_enabled() && (nb & LocalApic::kBaseExtd);
        if (!x2_to_x && !dis_to_x2) r.apic.apic_base_written(nb);
        break;
      }
      case 5: r.apic.accept(uint8_t(x >> 8), unsigned(x >> 16) & 7, (x >> 20) & 1, (x >> 21) & 1); break;
      case 6: r.rig.advance((x >> 8) & 0xFFFF); break;
      case 7:
        if (r.apic.intr_pending()) r.apic.acknowledge();
        break;
    }
    bool low = false;  // vectors 0-15 never reach IRR (11.5.3)
    for (unsigned v = 0; v < 16; v++) low |= r.apic.irr(uint8_t(v));
    REQUIRE(!low);
  }
  CHECK(r.apic.timer_fired() + r.apic.ipis_sent() > 0);
}
