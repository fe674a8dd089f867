#include "sim/platform.h"

#include <cstring>

#include "sim/machine.h"
#include "sim/memmap.h"
#include "sim/stats.h"

namespace sim {

Platform::Platform(Machine& m, const PlatformConfig& c)
    : machine(m),
      cfg(c),
      acpi_cfg{.ram_bytes = m.mem().ram_size(), .cpus = c.cpus, .reset_register = true},
      pic(m.device_context()),
      pit(m.device_context()),
      rtc(m.device_context(), m.mem().ram_size(), c.rtc_start),
      lapic(m.device_context(), &pic, m.model().crystal_hz,
            [&m](uint64_t cycles) { return cycles + m.cpu().msr.tsc_offset; }),
      ioapic(m.device_context(), &lapic),
      uart(m.device_context(), "uart0", 4, c.serial_out),
      exit(m.device_context(),
           [&m](bool power_off, uint32_t v) {
             m.request_stop(power_off ? StopReason::kPowerOff : StopReason::kExitDevice, v);
           }),
      post(m.device_context()),
      testdev(m.device_context()),
      fwcfg(m.device_context(), m.mem().ram_size(), c.cpus),
      report(m.device_context(),
             [&m](uint64_t pa, void* dst, size_t n) {
               if (!m.mem().in_ram(pa, n)) return false;
               std::memcpy(dst, m.mem().ram() + pa, n);
               return true;
             }),
      pci(m.device_context()),
      reset_control(m.device_context(), [&m] { m.request_stop(StopReason::kReset); }),
      acpi_pm(m.device_context(), acpi_cfg.pm_base, acpi_cfg.sci_irq,
              [&m] { m.request_stop(StopReason::kPowerOff); }) {
  all_ = {&pic, &pit, &rtc, &lapic, &ioapic, &uart, &exit, &post,
          &testdev, &fwcfg, &report, &pci, &reset_control, &acpi_pm};
  // Interrupt wiring (sim/dev/irq.h): ISA lines to the 8259 pair and the I/O APIC,
  // the 8259's INT to LINT0, the local APIC to the CPU, EOIs back to the I/O APIC.
  m.irq().connect(&pic, &ioapic);
  pic.on_output_change = [&m] { m.interrupt_changed(); };
  lapic.on_intr_change = [&m] { m.interrupt_changed(); };
  lapic.raise_nmi = [&m] { m.raise_nmi(); };
  lapic.raise_init = [&m] { m.raise_init(); };
  lapic.on_eoi_broadcast = [this](uint8_t v) { ioapic.eoi(v); };
  lapic.on_relocate = [this](uint64_t base) { map_lapic(base); };
  uart.set_input(c.serial_in, c.serial_interactive);
  uart.set_tx_paced(c.serial_paced);
  map();
  m.set_interrupt_controller(&lapic);
}

void Platform::map() {
  mmu::PhysMem& mem = machine.mem();
  mem.map_ports(0x20, 2, &pic);
  mem.map_ports(0xA0, 2, &pic);
  mem.map_ports(0x4D0, 2, &pic);
  mem.map_ports(0x40, 4, &pit);
  mem.map_ports(0x61, 1, &pit);
  mem.map_ports(0x70, 2, &rtc);
  mem.map_ports(0x80, 1, &post);
  mem.map_ports(0xE0, 12, &testdev);
  mem.map_ports(0x2000, 0x18, &testdev);
  mem.map_mmio(kTestDevMmioBase, kTestDevMmioSize, &testdev);
  mem.map_ports(0xF4, 4, &exit);
  mem.map_ports(0x8900, 1, &exit);
  mem.map_ports(0x3F8, 8, &uart);
  mem.map_ports(0x510, 2, &fwcfg);
  mem.map_ports(acpi_cfg.pm_base, 0x30, &acpi_pm);
  mem.map_ports(0xB10, 4, &report);
  mem.map_ports(0xCF8, 8, &pci);
  mem.map_ports(ResetControl::kPort, 1, &reset_control);
  mem.map_mmio(kIoApicBase, 0x1000, &ioapic);
  map_lapic(kLapicBase);
}

// The xAPIC page follows IA32_APIC_BASE (SDM Vol. 3A 11.4.5). RAM takes precedence
// over MMIO in mmu::PhysMem, so a base moved into RAM is not visible (documented in
// docs/DEVICES.md); the default and every base above RAM work.
void Platform::map_lapic(uint64_t base) {
  if (base == lapic_mapped_) return;
  machine.mem().unmap_mmio(&lapic);
  machine.mem().map_mmio(base, 0x1000, &lapic);
  lapic_mapped_ = base;
}

void Platform::apic_base_changed(uint64_t value) { lapic.apic_base_written(value); }

bool Platform::can_interrupt() const {
  constexpr uint32_t kMasked = 1u << 16;  // LVT and redirection-entry mask bit
  if (lapic.hw_enabled() && lapic.sw_enabled() && !(lapic.lvt(LocalApic::kTimer) & kMasked) &&
      lapic.timer_due() != EventQueue::kNever)
    return true;
  // The 8259 reaches INTR through LINT0 in ExtINT mode (or directly with the APIC
  // hardware-disabled): a master line, or a slave line behind an unmasked IR2.
  const uint32_t lint0 = lapic.lvt(LocalApic::kLint0);
  const bool lint0_open = !lapic.hw_enabled() || (!(lint0 & kMasked) && ((lint0 >> 8) & 7) == 7);
  const uint16_t imr = pic.imr();
  const bool master = (~imr & 0xFB) != 0;
  const bool slave = !(imr & 0x04) && (~imr & 0xFF00) != 0;
  if (lint0_open && (master || slave)) return true;
  for (unsigned pin = 0; pin < 24; pin++)
    if (!(ioapic.entry(pin) & kMasked)) return true;
  return false;
}

void Platform::reset() {
  for (Device* d : all_) d->reset();
  lapic.apic_base_written(machine.cpu().msr.apic_base);
  map_lapic(lapic.base());
  // Firmware tables need the firmware area in RAM; the tiny machines of some unit
  // tests (1 MiB) have none.
  if (machine.mem().ram_size() >= kFirmwareEnd) build_acpi_tables(machine.mem(), acpi_cfg);
}

void register_platform_stats(StatsRegistry& r, Platform& p) {
  for (Device* d : p.devices()) {
    const std::vector<std::string>* names = &d->reg_names();
    auto label = [names](size_t i) { return (*names)[i]; };
    r.vector("dev." + d->name() + ".reads", "accesses",
             "reads of " + d->name() + " registers (port, MMIO and MSR accesses)",
             d->read_counts().data(), names->size(), label);
    r.vector("dev." + d->name() + ".writes", "accesses",
             "writes to " + d->name() + " registers (port, MMIO and MSR accesses)",
             d->write_counts().data(), names->size(), label);
  }
  EventQueue& q = p.machine.events();
  r.vector("events.fired", "events", "device timer events fired, by timer", q.size(),
           [&q](size_t i) { return q.fired(EventQueue::Id(i)); },
           [&q](size_t i) { return q.name(EventQueue::Id(i)); });
  r.vector("irq.isa_raised", "edges", "rising edges of the ISA interrupt lines, by IRQ",
           p.machine.irq().raised(), IrqRouter::kIsaIrqs,
           [](size_t i) { return "irq" + std::to_string(i); });
}

}  // namespace sim
