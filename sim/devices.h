// The minimal device set of part 1: a COM1 UART transmit path and the ways a guest
// ends a run (isa-debug-exit at 0xF4, the 0x8900 "Shutdown" port) plus the POST
// port. Issue 4 replaces the UART with a full 16550 and adds the rest of the PC.
#pragma once
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

#include "mmu/phys_mem.h"

namespace sim {

class Machine;

// COM1 (0x3F8-0x3FF), transmit side of a 16550: THR writes with LCR.DLAB=0 are
// printed, DLAB=1 writes to +0/+1 set the divisor latch; LSR reads THRE|TEMT (0x60).
class Uart final : public mmu::PortDevice {
 public:
  explicit Uart(std::FILE* out) : out_(out) {}
  uint32_t port_in(uint16_t port, unsigned size) override;
  void port_out(uint16_t port, unsigned size, uint32_t value) override;
  uint64_t bytes_out = 0;

 private:
  std::FILE* out_;
  uint8_t lcr_ = 0, ier_ = 0, mcr_ = 0, scr_ = 0, dll_ = 0x0C, dlm_ = 0;
};

// isa-debug-exit at 0xF4 and the Bochs/QEMU power-off port at 0x8900.
class ExitPorts final : public mmu::PortDevice {
 public:
  using StopFn = std::function<void(bool power_off, uint32_t value)>;
  explicit ExitPorts(StopFn stop) : stop_(std::move(stop)) {}
  uint32_t port_in(uint16_t port, unsigned size) override;
  void port_out(uint16_t port, unsigned size, uint32_t value) override;

 private:
  StopFn stop_;
  std::string shutdown_;
};

// Port 0x80: POST codes, ignored.
class PostPort final : public mmu::PortDevice {
 public:
  uint32_t port_in(uint16_t, unsigned size) override { return size == 4 ? ~0u : (1u << (8 * size)) - 1; }
  void port_out(uint16_t, unsigned, uint32_t v) override { last = v; }
  uint32_t last = 0;
};

struct Devices {
  Devices(std::FILE* out, ExitPorts::StopFn stop) : uart(out), exit(std::move(stop)) {}
  Uart uart;
  ExitPorts exit;
  PostPort post;
};

}  // namespace sim
