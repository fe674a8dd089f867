// ACPI for the simulated PC (PLATFORM.md): the static tables an OS finds at boot and
// the fixed-hardware registers the FADT points to.
//
// Tables (build_acpi_tables), all in the firmware area of sim/memmap.h, at
// kAcpiRsdpAddr .. kAcpiTablesEnd (0xE0000-0xEFFFF; 0xF0000-0xFFFFF stays free for
// other firmware data):
//   RSDP (ACPI 6.4 5.2.5.3) revision 2 at 0xE0000, 16-byte aligned, both checksums
//    +-> RSDT (5.2.7) and XSDT (5.2.8), each listing FADT and MADT
//          FADT (5.2.9, revision 6, 276 bytes)
//            +-> FACS (5.2.10, 64-byte aligned; FIRMWARE_CTRL = X_FIRMWARE_CTRL)
//            +-> DSDT (5.2.11.1; DSDT = X_DSDT): \_S5 and the PCI root bridge
//                \_SB.PCI0 (PNP0A03, _CRS) over PciHost; no processor objects, no
//                _PRT, no ISA devices (Linux finds the UART, RTC, PIC and PIT at
//                their legacy ports)
//          MADT (5.2.12, revision 5): local APICs, the I/O APIC, ISA overrides, NMI
// OEM ID "NESTSM", OEM table ID "NESTSIM ", creator "NSIM". Not provided: HPET (not
// modelled), MCFG (no PCIe), SRAT/SLIT, and the MP specification's floating pointer
// and configuration table (so Linux with acpi=off finds no MP table and uses the PIC
// alone, as on a uniprocessor PC).
//
// Fixed hardware (AcpiPm), ports pm_base + (the platform maps pm_base..+0x2F):
//   +0x00  PM1a_STS  16 bits  (4.8.3.1.1) write-1-to-clear
//   +0x02  PM1a_EN   16 bits  (4.8.3.1.2)
//   +0x04  PM1a_CNT  16 bits  (4.8.3.2.1)   +0x06-0x07 reserved
//   +0x08  PM_TMR    32 bits  (4.8.3.3) 24-bit counter at 3.579545 MHz, read-only
//   +0x20  GPE0_STS  2 bytes, +0x22 GPE0_EN 2 bytes (GPE0_BLK_LEN = 4: GPEs 0-15)
//   other offsets in the range are reserved: they read all-ones, writes are ignored.
// Every register is byte-addressable: an access of any size is done as its bytes in
// ascending order (what QEMU does with a wide access to narrow registers), so a word
// read of PM1_STS and two byte reads give the same value and a 32-bit PM_TMR read is
// one snapshot. SMI_CMD is 0 (the machine is always in ACPI mode): PM1_CNT.SCI_EN
// reads 1 and cannot be cleared.
//
// The reset register (ResetControl, port 0xCF9): the PIIX3's reset control register,
// which the FADT's RESET_REG names (value 0x06) when AcpiConfig::reset_register is set.
#pragma once
#include <cstdint>
#include <functional>

#include "mmu/phys_mem.h"
#include "sim/dev/device.h"
#include "sim/memmap.h"

namespace sim {

struct AcpiConfig {
  // Guest RAM, 1 MiB..kRamLimit: the PCI0 memory window starts at its end (rounded up
  // to 1 MiB). No table lists RAM itself: e820 does.
  uint64_t ram_bytes = 0;
  unsigned cpus = 1;       // 1..255: local APIC IDs and ACPI processor UIDs 0..cpus-1
  uint32_t lapic_base = uint32_t(kLapicBase), ioapic_base = uint32_t(kIoApicBase);
  uint16_t pm_base = 0x600;    // AcpiPm's ports (4-byte aligned, pm_base + 0x2F <= 0xFFFF)
  unsigned sci_irq = 9;        // ISA IRQ of the SCI (1-15, not 2); MADT override level/high
  uint8_t ioapic_id = 0;       // the I/O APIC's ID register at reset (QEMU's pc: 0)
  bool reset_register = false;  // set when ResetControl is mapped at 0xCF9: FADT RESET_REG
                                // (0xCF9, value 0x06) and RESET_REG_SUP
};

constexpr uint64_t kAcpiRsdpAddr = kFirmwareBase;  // 0xE0000
constexpr uint64_t kAcpiTablesEnd = 0xF0000;

// Writes the tables for `cfg` into guest RAM (from 0xE0000 up to the end of the
// last table). Throws std::invalid_argument for a configuration outside the ranges
// above or RAM that does not cover the firmware area.
void build_acpi_tables(mmu::PhysMem& mem, const AcpiConfig& cfg);

// The ACPI fixed hardware of a PIIX4-like power-management function.
//
// PM timer: PM_TMR = ticks of the 3.579545 MHz ACPI clock since the last reset, mod
// 2^24 (FADT TMR_VAL_EXT clear), computed from DeviceContext::now() on each read; no
// per-tick events. TMR_STS is set each time bit 23 of the counter toggles (every 2^23
// ticks, about 2.34 s), whether or not TMR_EN is set; an event is scheduled for the
// next toggle only while TMR_EN is set and TMR_STS clear, to raise the SCI then.
//
// SCI: ISA IRQ sci_irq, level-triggered and active high, driven while any status bit
// is set together with its enable (PM1: TMR, GBL, PWRBTN, SLPBTN, RTC; GPE0).
// PM1_EN's bits are all read/write (ACPICA reads each enable back after writing it),
// but the only status sources are the timer and press_power_button(): GBL_STS,
// SLPBTN_STS, RTC_STS and WAK_STS are never set here (no global-lock firmware, no
// sleep button, no RTC alarm wake, no sleep states to wake from). GPE0_STS has no
// sources and reads 0; GPE0_EN is plain storage.
//
// PM1_CNT: SCI_EN reads 1; BM_RLD and SLP_TYP are read/write; GBL_RLS and SLP_EN
// read 0. Writing SLP_EN with SLP_TYP = kS5SlpTyp (the value the DSDT's \_S5 names)
// calls power_off (soft-off, G2/S5); other sleep types are not supported and are
// ignored (only \_S5 is in the DSDT, so an OS never asks for them).
class AcpiPm final : public Device {
 public:
  static constexpr uint64_t kTimerHz = 3'579'545;
  static constexpr unsigned kS5SlpTyp = 5;
  // Register offsets from pm_base (the FADT is built from these).
  static constexpr uint16_t kPm1Sts = 0x00, kPm1En = 0x02, kPm1Cnt = 0x04, kPmTmr = 0x08,
                            kGpe0 = 0x20, kPortCount = 0x30;
  static constexpr uint8_t kPm1EvtLen = 4, kPm1CntLen = 2, kPmTmrLen = 4, kGpe0Len = 4;
  // PM1_STS / PM1_EN bits (ACPI 6.4 Tables 4.16, 4.17).
  static constexpr uint16_t kTmr = 1u << 0, kBm = 1u << 4, kGbl = 1u << 5,
                            kPwrBtn = 1u << 8, kSlpBtn = 1u << 9, kRtc = 1u << 10,
                            kPciExpWake = 1u << 14, kWak = 1u << 15;
  // PM1_CNT bits (Table 4.18).
  static constexpr uint16_t kSciEn = 1u << 0, kBmRld = 1u << 1, kGblRls = 1u << 2,
                            kSlpTypShift = 10, kSlpTypMask = 7u << 10, kSlpEn = 1u << 13;

  AcpiPm(DeviceContext& ctx, uint16_t base, unsigned sci_irq,
         std::function<void()> power_off);

  void reset() override;

  uint32_t timer() const;  // PM_TMR now (24 bits)
  uint16_t pm1_sts() const;
  uint16_t pm1_en() const { return pm1_en_; }
  uint16_t pm1_cnt() const { return pm1_cnt_; }
  bool sci() const { return sci_; }
  // A press of the fixed-hardware power button (FADT PWR_BUTTON clear): sets
  // PWRBTN_STS; an OS with PWRBTN_EN set gets an SCI and usually powers off via S5.
  void press_power_button();

 protected:
  uint64_t io_read(Space s, uint64_t addr, unsigned size) override;
  void io_write(Space s, uint64_t addr, unsigned size, uint64_t value) override;
  unsigned reg_of(Space s, uint64_t addr, bool write) const override;

 private:
  enum Reg : unsigned { kRegSts, kRegEn, kRegCnt, kRegTmr, kRegGpeSts, kRegGpeEn, kRegReserved };
  static constexpr uint16_t kPm1EnMask = kTmr | kGbl | kPwrBtn | kSlpBtn | kRtc | kPciExpWake;
  // Status bits that raise the SCI when their enable (same bit in PM1_EN) is set.
  static constexpr uint16_t kSciSources = kTmr | kGbl | kPwrBtn | kSlpBtn | kRtc;
  static constexpr unsigned kTmrStsBit = 23;  // TMR_STS: bit 23 of the 24-bit counter toggles

  uint64_t ticks() const;  // ACPI clock ticks since reset
  uint8_t read_byte(unsigned off) const;
  void write_byte(unsigned off, uint8_t v);
  void update();  // re-evaluates the SCI and the timer event
  void on_timer_event(uint64_t due);

  uint16_t base_;
  unsigned sci_irq_;
  std::function<void()> power_off_;
  EventQueue::Id timer_event_;

  uint64_t tick_base_ = 0;     // ticks_at(now) at reset: PM_TMR counts from 0 there
  uint64_t tmr_sts_mark_ = 0;  // ticks() when TMR_STS was last cleared (or reset)
  uint16_t pm1_sts_ = 0;       // latched status bits other than TMR_STS
  uint16_t pm1_en_ = 0, pm1_cnt_ = kSciEn;
  uint8_t gpe0_en_[2] = {};
  bool sci_ = false;
};

// The reset control register at port 0xCF9 (Intel PIIX3 datasheet 4.1.17 "RC"):
// SRST (bit 1) and FULL_RST (bit 3) are read/write; writing RCPU (bit 2) as 1 resets
// the system (hard reset with SRST = 1, soft reset with SRST = 0: both mean a machine
// reset here; QEMU likewise) and RCPU reads 0. The FADT's RESET_REG points here with
// RESET_VALUE kResetValue (SRST|RCPU). Accesses wider than a byte: the first byte is
// the register, the others (0xCFA-) read all-ones and ignore writes. The platform maps
// it on port 0xCF9 after PciHost (which owns 0xCF8-0xCFF for dword accesses at 0xCF8).
class ResetControl final : public Device {
 public:
  static constexpr uint16_t kPort = 0xCF9;
  static constexpr uint8_t kSrst = 1u << 1, kRcpu = 1u << 2, kFullRst = 1u << 3;
  static constexpr uint8_t kResetValue = kSrst | kRcpu;

  ResetControl(DeviceContext& ctx, std::function<void()> reset);
  void reset() override { rc_ = 0; }
  uint8_t value() const { return rc_; }

 protected:
  uint64_t io_read(Space s, uint64_t addr, unsigned size) override;
  void io_write(Space s, uint64_t addr, unsigned size, uint64_t value) override;
  unsigned reg_of(Space, uint64_t, bool) const override { return 0; }

 private:
  std::function<void()> reset_;
  uint8_t rc_ = 0;
};

}  // namespace sim
