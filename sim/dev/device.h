// The device model: what every simulated device is and what it sees of the machine.
//
// A Device is a port and/or MMIO device (mmu::PortDevice, mmu::MmioDevice) with a
// name ("uart0", "pic", "lapic") and a table of register names. Every access that
// reaches it through the machine's dispatch is counted by register and traced by the
// base class before the device's own io_read()/io_write() runs, so the statistics
// "dev.<name>.reads[<reg>]" / "dev.<name>.writes[<reg>]" cover every device without
// a device having to remember to count. Paths that do not come through port/MMIO
// dispatch (the x2APIC MSRs) call count() themselves.
//
// DeviceContext is the machine as a device sees it: the clock (simulated CPU cycles,
// never host time), the event queue (sim/events.h), the ISA interrupt lines
// (IrqRouter, sim/dev/irq.h), and the tracer. Unit tests build a context of their own
// with a cycle counter they advance by hand (tests/dev).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "mmu/phys_mem.h"
#include "sim/events.h"

namespace sim {

class IrqRouter;

struct DeviceContext {
  EventQueue* events = nullptr;
  const uint64_t* cycles = nullptr;  // the CPU's cycle counter: "now"
  uint64_t cpu_hz = 2'000'000'000;   // cycles per second (CpuModel::tsc_hz)
  IrqRouter* irq = nullptr;
  // Trace hook: (kind, detail), e.g. ("dev", "uart0.thr w 0x41"). Null = off; the
  // machine sets it while a --trace window is open.
  std::function<void(std::string_view kind, std::string_view detail)> trace;

  uint64_t now() const { return *cycles; }
  // Conversions between cycles and a device clock of `hz` (128-bit intermediate:
  // exact for any run length). ticks_at(): whole ticks of that clock elapsed at cycle
  // `c`; cycle_of_tick(): the first cycle at which `t` ticks have elapsed.
  uint64_t ticks_at(uint64_t c, uint64_t hz) const {
    return uint64_t((unsigned __int128)c * hz / cpu_hz);
  }
  uint64_t cycle_of_tick(uint64_t t, uint64_t hz) const {
    return uint64_t(((unsigned __int128)t * cpu_hz + hz - 1) / hz);
  }
  bool tracing() const { return bool(trace); }
};

class Device : public mmu::PortDevice, public mmu::MmioDevice {
 public:
  Device(DeviceContext& ctx, std::string name, std::vector<std::string> regs);
  ~Device() override = default;

  const std::string& name() const { return name_; }
  const std::vector<std::string>& reg_names() const { return regs_; }
  uint64_t reads(unsigned reg) const { return reads_[reg]; }
  uint64_t writes(unsigned reg) const { return writes_[reg]; }
  const std::vector<uint64_t>& read_counts() const { return reads_; }
  const std::vector<uint64_t>& write_counts() const { return writes_; }

  // Machine reset (power-on state). Devices restore their datasheet reset values.
  virtual void reset() {}

  // mmu::PortDevice / mmu::MmioDevice: count and trace, then io_read()/io_write().
  uint32_t port_in(uint16_t port, unsigned size) final;
  void port_out(uint16_t port, unsigned size, uint32_t value) final;
  uint64_t mmio_read(uint64_t offset, unsigned size) final;
  void mmio_write(uint64_t offset, unsigned size, uint64_t value) final;

 protected:
  enum class Space : uint8_t { kPort, kMmio };
  // `addr` is the port number (kPort) or the offset into the mapped range (kMmio).
  virtual uint64_t io_read(Space s, uint64_t addr, unsigned size) = 0;
  virtual void io_write(Space s, uint64_t addr, unsigned size, uint64_t value) = 0;
  // The register an access addresses (index into reg_names()), for counting and
  // tracing. It may depend on device state (a UART's DLAB) and on the direction.
  virtual unsigned reg_of(Space s, uint64_t addr, bool write) const = 0;

  // Devices whose registers are bytes (8259, 8254, RTC, UART, ACPI PM): an access of
  // `size` bytes is split into byte accesses at consecutive addresses, low byte
  // first, as QEMU's memory core does for 8-bit regions. `read_byte(a)` returns the
  // byte at `a` (0xFF for one the device does not own); `write_byte(a, b)` ignores
  // such addresses.
  template <class ReadByte>
  static uint64_t split_read(uint64_t addr, unsigned size, ReadByte&& read_byte) {
    uint64_t v = 0;
    for (unsigned i = 0; i < size && i < 8; i++)
      v |= uint64_t(uint8_t(read_byte(addr + i))) << (8 * i);
    return v;
  }
  template <class WriteByte>
  static void split_write(uint64_t addr, unsigned size, uint64_t value, WriteByte&& write_byte) {
    for (unsigned i = 0; i < size && i < 8; i++) write_byte(addr + i, uint8_t(value >> (8 * i)));
  }

  // Counts (and traces) an access that did not come through port/MMIO dispatch.
  void count(unsigned reg, bool write, uint64_t value);
  // A trace line of kind "irq" or "dev" prefixed with the device name, if tracing.
  void trace(std::string_view kind, std::string_view detail) const;

  DeviceContext& ctx_;

 private:
  void note(Space s, uint64_t addr, unsigned reg, bool write, unsigned size, uint64_t value);
  std::string name_;
  std::vector<std::string> regs_;
  std::vector<uint64_t> reads_, writes_;
};

}  // namespace sim
