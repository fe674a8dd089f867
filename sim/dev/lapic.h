// The local APIC of the one simulated CPU (SDM Vol. 3A chapter 11, "Advanced
// Programmable Interrupt Controller"): xAPIC MMIO and x2APIC MSRs, interrupt
// acceptance and priority, the timer, LVT/LINT0 (the 8259's ExtINT), IPIs.
//
// Modes (IA32_APIC_BASE, 11.4.4, 11.12.5). The core validates the MSR write
// (isa/msr.cpp); the platform then calls apic_base_written(), which moves between
//
//   disabled (EN=0) --EN=1--> xAPIC (EN=1, EXTD=0) --EXTD=1--> x2APIC (EN=1, EXTD=1)
//        ^----------------EN=0-------------+---------------------------+
//
// Entering disabled resets the APIC to its power-up state except the APIC ID
// (11.4.3); xAPIC -> x2APIC keeps all state but makes the ID the initial APIC ID
// and derives the LDR from it (11.12.5.1). Hardware-disabled, the 8259's INT goes
// straight to the CPU's INTR (11.4.3) and intr_pending()/acknowledge() pass through.
// Software-disabled (SVR bit 8 = 0, 11.4.7.2) every LVT mask bit is set and stays
// set, and fixed interrupts are not accepted (NMI/INIT/SIPI would be).
//
// Register access:
//   - xAPIC: a 4 KiB MMIO page at base(); 32-bit accesses at 16-byte-aligned
//     offsets reach the registers (11.4.1). Any other size or offset reads 0 and
//     ignores writes (QEMU's choice). Reserved offsets read 0, ignore writes and set
//     ESR bit 7 (illegal register address). Read-only registers ignore writes;
//     write-only ones (EOI) read 0. With the page disabled (x2APIC or hardware-
//     disabled) an access that still arrives reads all-ones and writes are ignored.
//   - x2APIC: MSRs 0x800 + offset/16 through rdmsr()/wrmsr() (11.12.1.2); false
//     (#GP(0)) outside x2APIC mode, for absent registers (APR, RRD, DFR, ICR high),
//     writes to read-only ones, reads of write-only ones (EOI, SELF IPI), non-zero
//     EOI/ESR writes and reserved bits (a read-only status bit written back as read
//     is not an error). ICR is one 64-bit MSR (0x830).
//   - IA32_TSC_DEADLINE (0x6E0) in every mode (11.5.4.1).
//
// Version register: 0x00060015 (version 0x15, max LVT entry 6: seven LVTs including
// CMCI, as on Intel cores since Nehalem; bit 24 = 0: no EOI-broadcast suppression).
//
// Interrupt acceptance (11.8): IRR/ISR/TMR as 256-bit sets; TMR is set (level) or
// cleared (edge) when a vector is accepted into IRR (11.8.4); PPR from TPR and the
// highest ISR vector (11.8.3.1); the CPU gets the highest IRR vector whose priority
// class is above PPR's. Vectors 0-15 are never accepted (ESR bit 6, 11.5.3). EOI
// retires the highest ISR vector and, if its TMR bit was set, broadcasts the EOI
// (on_eoi_broadcast, the I/O APIC's Remote-IRR).
//
// Timer (11.5.4): counts the core crystal clock divided by DCR; one-shot and
// periodic from the initial count, or TSC-deadline. Time is ctx.now() only: the
// current count is computed on read and the expiry is one EventQueue timer.
// Timer phase: counting starts at the crystal tick at or before the cycle of the
// initial-count write and the count drops by one every `divide` crystal ticks, so
// expiry is at crystal tick start + count*divide, exact in cycles
// (DeviceContext::cycle_of_tick). A DCR write while counting re-bases: the current
// count continues from that moment at the new rate. Mode changes between
// one-shot and periodic keep counting; to or from TSC-deadline disarm (initial
// count and deadline cleared, as 11.5.4.1 and KVM do). Reserved timer mode 11b
// behaves as one-shot.
//
// IPIs (11.6): this machine has one CPU with APIC ID 0. An IPI is delivered to self
// when the shorthand or the destination selects this APIC (matches()); fixed and
// lowest-priority go to IRR, NMI calls raise_nmi. INIT to self (not the level
// de-assert form) calls raise_init: the CPU takes it as SDM Vol. 3A 9.1/Vol. 3C 23.8
// say (a VM exit in VMX non-root operation, blocked in root operation, otherwise the
// end of the run: there is no firmware to restart). INIT/SIPI to other (absent) CPUs
// and SIPI to self are accepted and dropped (counted in ipis_dropped()). SMI is
// dropped (no SMM). The ICR's delivery status
// always reads 0 (idle): delivery is instantaneous.
//
// Statistics (Device base): dev.lapic.reads/writes[<reg>] with <reg> one of id,
// version, tpr, apr, ppr, eoi, rrd, ldr, dfr, svr, isr0-7, tmr0-7, irr0-7, esr,
// lvt_cmci, icr_lo (also the 64-bit x2APIC ICR), icr_hi, lvt_timer, lvt_thermal,
// lvt_perf, lvt_lint0, lvt_lint1, lvt_error, initial_count, current_count, dcr,
// self_ipi, tsc_deadline, rsvd_<offset> (reserved xAPIC offsets) and invalid
// (unaligned offsets, offsets >= 0x400, x2APIC MSRs that #GP). An MMIO access of the
// wrong size is counted under the register at its offset. x2APIC MSR accesses are
// counted by the same names (Device::count()).
//
// Not modelled: LINT0 in a delivery mode other than ExtINT (the 8259 offers no edge
// notification; such a LINT0 is inert), thermal/perf/CMCI sources (raise_lvt() lets
// a future source fire them), remote read (RRD reads 0), SMI.
#pragma once
#include <array>
#include <cstdint>
#include <functional>

#include "sim/dev/device.h"
#include "sim/dev/irq.h"
#include "sim/interrupts.h"

namespace sim {

class LocalApic final : public Device, public InterruptController {
 public:
  static constexpr uint64_t kBaseEn = 1ull << 11, kBaseExtd = 1ull << 10, kBaseBsp = 1ull << 8;
  static constexpr uint64_t kResetBase = 0xFEE00000ull | kBaseEn | kBaseBsp;
  static constexpr uint32_t kVersion = 0x00060015;
  static constexpr uint32_t kMsrTscDeadline = 0x6E0;

  // The local vector table, in register order (offsets 0x2F0, 0x320-0x370).
  enum Lvt : unsigned { kCmci, kTimer, kThermal, kPerf, kLint0, kLint1, kError, kLvtCount };

  // `pic` may be null (no 8259). `tsc_of` maps a cycle count to the TSC the guest
  // sees (cycles + IA32_TSC_ADJUST-style offset: it must advance one per cycle).
  LocalApic(DeviceContext& ctx, ExtIntSource* pic, uint64_t crystal_hz,
            std::function<uint64_t(uint64_t cycles)> tsc_of);

  // Power-on: base 0xFEE00900, ID 0, SVR 0xFF (software-disabled), every LVT
  // masked except what QEMU's reset leaves for the firmware on the BSP: LINT0 ExtINT
  // unmasked (0x700, so the 8259 reaches the CPU until the OS programs the APIC;
  // an LVT write while software-disabled masks it as 11.4.7.2 says), LINT1 NMI
  // masked (0x10400).
  void reset() override;

  // IA32_APIC_BASE after the core accepted a write (also once at reset).
  void apic_base_written(uint64_t value);
  uint64_t apic_base() const { return apic_base_; }
  uint64_t base() const { return apic_base_ & 0x000FFFFFFFFFF000ull; }
  bool hw_enabled() const { return apic_base_ & kBaseEn; }
  bool xapic_mmio_enabled() const { return hw_enabled() && !x2apic(); }
  bool x2apic() const { return (apic_base_ & (kBaseEn | kBaseExtd)) == (kBaseEn | kBaseExtd); }
  bool sw_enabled() const { return svr_ & kSvrEnable; }
  std::function<void(uint64_t new_base)> on_relocate;  // xAPIC page moved

  // x2APIC MSRs (0x800-0x8FF) and IA32_TSC_DEADLINE; false = #GP(0) (or: not ours).
  bool rdmsr(uint32_t index, uint64_t& value);
  bool wrmsr(uint32_t index, uint64_t value);

  // CR8 is TPR[7:4] (SDM Vol. 3A 11.8.6): the platform maps MOV CR8 onto these.
  uint8_t tpr() const { return uint8_t(tpr_); }
  void set_tpr(uint8_t v);
  uint8_t ppr() const;
  uint8_t apr() const;
  uint32_t id() const { return id_; }

  // The guest's TSC moved (WRMSR IA32_TSC / TSC_ADJUST): re-aim a TSC deadline.
  void tsc_changed();

  // sim::InterruptController.
  bool intr_pending() override;
  uint8_t acknowledge() override;
  uint64_t next_event(uint64_t now) override;
  void eoi() override;  // the EOI register written (11.8.5), also by the processor itself

  // Messages from the I/O APIC (delivery mode as in the redirection entry; `level`
  // = level-triggered; `assert_` false is a level de-assert message, ignored).
  void accept(uint8_t vector, unsigned delivery_mode, bool level, bool assert_);
  // Does a message to `dest` (physical or logical) select this APIC? 0xFF (xAPIC)
  // and 0xFFFFFFFF (x2APIC) are broadcasts.
  bool matches(uint32_t dest, bool logical) const;

  // A local interrupt source fires an LVT entry (LINT1, thermal, perf, CMCI, error).
  void raise_lvt(Lvt which);
  // LINT1 as a pin (the chipset's NMI line): a rising edge fires the LVT entry.
  void set_lint1(bool level);

  std::function<void(uint8_t vector)> on_eoi_broadcast;
  std::function<void()> raise_nmi;
  std::function<void()> raise_init;
  std::function<void()> on_intr_change;

  // State for tests and statistics.
  uint32_t lvt(Lvt which) const { return lvt_[which]; }
  bool irr(uint8_t v) const { return get(irr_, v); }
  bool isr(uint8_t v) const { return get(isr_, v); }
  bool tmr(uint8_t v) const { return get(tmr_, v); }
  uint64_t ipis_sent() const { return ipis_sent_; }
  uint64_t ipis_dropped() const { return ipis_dropped_; }
  uint64_t spurious() const { return spurious_; }
  uint64_t timer_fired() const { return timer_fired_; }
  uint64_t timer_due() const;  // cycle of the next expiry, or EventQueue::kNever

 protected:
  uint64_t io_read(Space s, uint64_t addr, unsigned size) override;
  void io_write(Space s, uint64_t addr, unsigned size, uint64_t value) override;
  unsigned reg_of(Space s, uint64_t addr, bool write) const override;

 private:
  using Bits256 = std::array<uint32_t, 8>;
  static constexpr uint32_t kSvrEnable = 1u << 8;
  static constexpr uint32_t kLvtMask = 1u << 16;

  static bool get(const Bits256& b, uint8_t v) { return b[v >> 5] >> (v & 31) & 1; }
  static void put(Bits256& b, uint8_t v, bool on) {
    if (on) b[v >> 5] |= 1u << (v & 31);
    else b[v >> 5] &= ~(1u << (v & 31));
  }
  static int highest(const Bits256& b);  // -1 if empty

  // Register file by xAPIC offset / 16 (also x2APIC MSR - 0x800).
  enum class Access { kOk, kAbsent, kReadOnly, kWriteOnly, kReserved };
  Access read_reg(unsigned idx, uint64_t& value);
  Access write_reg(unsigned idx, uint64_t value, bool x2);

  void power_up_state();  // everything but apic_base_ and id_
  void write_svr(uint32_t v);
  void write_lvt(Lvt which, uint32_t v);
  void send_ipi(uint32_t lo, uint32_t dest);
  void error(uint32_t bits);  // an internal error (ESR bits), 11.5.3
  void accept_local(uint8_t vector, bool level);  // fixed delivery into IRR
  void deliver_lvt(Lvt which);
  void intr_changed() {
    if (on_intr_change) on_intr_change();
  }
  bool extint_active() const;  // LINT0 ExtINT unmasked, or an ExtINT message waits

  // Timer.
  enum TimerMode : unsigned { kOneShot = 0, kPeriodic = 1, kTscDeadline = 2 };
  TimerMode timer_mode() const;
  unsigned divide() const;
  uint32_t current_count() const;
  void start_count(uint32_t count);  // count from now (0 = stop)
  void arm_timer();                  // schedule the event from the counting state
  void arm_deadline();
  void timer_event(uint64_t due);

  ExtIntSource* pic_;
  uint64_t crystal_hz_;
  std::function<uint64_t(uint64_t)> tsc_of_;
  EventQueue::Id timer_ev_;

  uint64_t apic_base_ = kResetBase;
  uint32_t id_ = 0;  // the APIC ID (xAPIC: register bits 31:24)
  uint32_t tpr_ = 0, svr_ = 0xFF, ldr_ = 0, dfr_ = 0xFFFFFFFF;
  uint32_t esr_ = 0, esr_pending_ = 0;
  uint32_t icr_lo_ = 0, icr_hi_ = 0;
  uint32_t lvt_[kLvtCount] = {};
  uint32_t initial_count_ = 0, dcr_ = 0;
  Bits256 irr_{}, isr_{}, tmr_{};
  bool extint_msg_ = false;  // an ExtINT message from the I/O APIC waits for INTA
  bool lint1_level_ = false;

  // Counting state: `count_` counts remain at crystal tick `tick0_` (one-shot and
  // periodic; counting_ false when stopped or expired).
  bool counting_ = false;
  uint64_t tick0_ = 0;
  uint32_t count_ = 0;
  uint64_t deadline_ = 0;  // IA32_TSC_DEADLINE (0 = disarmed)

  uint64_t ipis_sent_ = 0, ipis_dropped_ = 0, spurious_ = 0, timer_fired_ = 0;
};

}  // namespace sim
