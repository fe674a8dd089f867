// The PC around the CPU (PLATFORM.md): every device, where it is mapped, and how the
// interrupt lines are wired (sim/dev/irq.h). Machine owns one Platform; reset() puts
// the devices in their power-on state and writes the firmware's tables (ACPI) to RAM.
//
//   I/O ports                                 MMIO
//   0x0020-0x0021, 0x00A0-0x00A1  8259 pair   0xFEC00000  I/O APIC
//   0x04D0-0x04D1                 ELCR        0xFEE00000  local APIC (xAPIC, movable)
//   0x0040-0x0043, 0x0061         8254, port B  0xFF000000  pc-testdev scratch (64 KiB)
//   0x0070-0x0071                 CMOS RTC
//   0x0080                        POST
//   0x00E0-0x00EB, 0x2000-0x2017  pc-testdev
//   0x00F4-0x00F7, 0x8900         exit / power-off
//   0x03F8-0x03FF                 COM1 (IRQ 4)
//   0x0510-0x0511                 fw_cfg
//   0x0600-0x062F                 ACPI PM (PM1a event/control, PM timer, GPE0; SCI = IRQ 9)
//   0x0B10-0x0B13                 nestsim report channel
//   0x0CF8-0x0CFF                 PCI configuration (host bridge 00:00.0), except
//   0x0CF9                        reset control (byte accesses; ends the run: kReset)
//   x2APIC MSRs 0x800-0x8FF and IA32_TSC_DEADLINE go to the local APIC.
#pragma once
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/dev/acpi.h"
#include "sim/dev/ioapic.h"
#include "sim/dev/lapic.h"
#include "sim/dev/misc.h"
#include "sim/dev/pci.h"
#include "sim/dev/pic.h"
#include "sim/dev/pit.h"
#include "sim/dev/rtc.h"
#include "sim/dev/uart.h"

namespace sim {

class Machine;
class StatsRegistry;

struct PlatformConfig {
  std::FILE* serial_out = stdout;
  std::FILE* serial_in = nullptr;   // null: nothing connected to COM1's receiver
  bool serial_interactive = false;  // serial_in is a terminal (not deterministic)
  // COM1 transmit at the programmed line rate (a polling guest waits ~87 us per
  // character at 115200 baud) or, by default, at once as on QEMU.
  bool serial_paced = false;
  int64_t rtc_start = 1767225600;   // 2026-01-01T00:00:00Z (deterministic)
  unsigned cpus = 1;
};

class Platform {
 public:
  Platform(Machine& m, const PlatformConfig& cfg);
  // Power-on state of every device and the firmware tables in RAM.
  void reset();
  // Every device, for statistics and resets.
  const std::vector<Device*>& devices() const { return all_; }
  // The x2APIC MSRs and IA32_TSC_DEADLINE (false: no such MSR in this state).
  bool rdmsr(uint32_t index, uint64_t& value) { return lapic.rdmsr(index, value); }
  bool wrmsr(uint32_t index, uint64_t value) { return lapic.wrmsr(index, value); }
  void apic_base_changed(uint64_t value);
  // Whether any device could still interrupt the CPU: some path from a source to
  // INTR is unmasked (an armed, unmasked local APIC timer; an unmasked 8259 line with
  // LINT0 open; an unmasked I/O APIC entry). A CPU halted with IF = 1 when this is
  // false can never wake (only it could unmask something): the run ends (kHalted).
  bool can_interrupt() const;

  Machine& machine;
  PlatformConfig cfg;
  // What the ACPI tables describe, and what AcpiPm and the mapping use: one place.
  AcpiConfig acpi_cfg;
  Pic8259 pic;
  Pit8254 pit;
  CmosRtc rtc;
  LocalApic lapic;
  IoApic ioapic;
  Uart16550 uart;
  ExitPorts exit;
  PostPort post;
  PcTestDev testdev;
  FwCfg fwcfg;
  ReportPort report;
  PciHost pci;
  ResetControl reset_control;
  AcpiPm acpi_pm;

 private:
  void map();
  void map_lapic(uint64_t base);
  std::vector<Device*> all_;
  uint64_t lapic_mapped_ = ~0ull;
};

// Statistics of every device: "dev.<name>.reads"/"writes" by register, events fired
// by timer, ISA IRQ lines raised.
void register_platform_stats(StatsRegistry& r, Platform& p);

}  // namespace sim
