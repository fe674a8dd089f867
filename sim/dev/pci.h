// PCI configuration space through configuration mechanism #1 (PCI Local Bus
// Specification 3.0, 3.2.2.3.2), with an Intel 440FX host bridge at 00:00.0 as
// QEMU's `pc` machine has (PLATFORM.md: "PCI config (type 1), host bridge only").
//
// Ports (the platform maps 0xCF8-0xCFF to PciHost):
//   0xCF8-0xCFB  CONFIG_ADDRESS. Only a 32-bit access at 0xCF8 is the register: a
//                write latches it, a read returns it. Bits 30:24 are reserved and bits
//                1:0 read 0 (3.2.2.3.2). Byte and word accesses to 0xCF8-0xCFB are
//                not configuration cycles: they are ordinary I/O that nothing here
//                answers (reads all-ones, writes ignored), which is what Linux's
//                mechanism-#2 probe (byte writes to 0xCF8/0xCFA) relies on to find
//                no mechanism #2. (On a PIIX southbridge the byte at 0xCF9 is the
//                reset control register: sim::ResetControl, sim/dev/acpi.h, mapped
//                by the platform on port 0xCF9 over this range.)
//   0xCFC-0xCFF  CONFIG_DATA: a 1/2/4-byte access at port 0xCFC+n reaches the
//                configuration register (CONFIG_ADDRESS[7:2] << 2) + n of the
//                function CONFIG_ADDRESS selects. With the enable bit (31) clear,
//                or a function that does not exist, reads are all-ones and writes
//                are dropped (a master abort, 3.2.2.3.4). Bytes of an access that run
//                past 0xCFF are not CONFIG_DATA: they read all-ones, writes drop.
//
// Invariants: every configuration byte a guest can reach lives in a PciFunction's
// 256-byte space; each byte has a write mask (bits software may set) and a
// write-1-to-clear mask (status bits), so the read-only fields of a header hold
// whatever the function's constructor put there and nothing else changes them.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <memory>

#include "sim/dev/device.h"

namespace sim {

// One PCI function's 256-byte configuration space (type 0 or 1 header and the
// device-specific registers), with per-bit write and write-1-to-clear masks.
// Subclasses fill in their registers in the constructor (define()) and may react to
// writes (config_written()).
class PciFunction {
 public:
  virtual ~PciFunction() = default;

  // Little-endian configuration access of `size` (1, 2, 4) bytes at `offset`; bytes
  // past 0xFF read all-ones and ignore writes.
  uint32_t read(unsigned offset, unsigned size) const;
  void write(unsigned offset, unsigned size, uint32_t value);
  uint8_t byte(unsigned offset) const { return cfg_[offset & 0xFF]; }

  uint16_t vendor_id() const { return uint16_t(read(0x00, 2)); }
  uint16_t device_id() const { return uint16_t(read(0x02, 2)); }

  // Power-on (RST#) values of every register.
  virtual void reset() { cfg_ = reset_; }

 protected:
  // The standard header fields common to all functions (PCI 3.0 6.2.1).
  PciFunction(uint16_t vendor, uint16_t device, uint8_t revision, uint32_t class_code,
              uint8_t header_type);
  // Defines `size` (1-4) bytes at `offset`: power-on value, writable bits,
  // write-1-to-clear bits (little-endian, as the register appears in config space).
  void define(unsigned offset, unsigned size, uint32_t value, uint32_t wmask = 0,
              uint32_t w1c = 0);
  // After a guest write of `size` bytes at `offset` (the masks already applied).
  virtual void config_written(unsigned offset, unsigned size) {}

 private:
  void write_byte(unsigned offset, uint8_t v);
  std::array<uint8_t, 256> cfg_{}, reset_{}, wmask_{}, w1c_{};
};

// The 82441FX PCI and Memory Controller (PMC) of the Intel 440FX chipset, function 0
// of the host bridge: 8086:1237 revision 02, class 06:00:00 (host bridge), header
// type 0, as in the 82441FX datasheet's register summary (section 3.2) and QEMU's
// `pc`. The DRAM, PAM (shadow RAM) and SMRAM registers are plain storage here: the
// machine's memory map is fixed (sim/memmap.h: 0xC0000-0xFFFFF is always RAM, there
// is no SMM), so programming them changes nothing but what reads back.
class I440fxPmc final : public PciFunction {
 public:
  I440fxPmc();
  static constexpr uint16_t kVendor = 0x8086, kDevice = 0x1237;
  static constexpr uint8_t kRevision = 0x02;
};

class PciHost final : public Device {
 public:
  static constexpr uint16_t kConfigAddress = 0xCF8, kConfigData = 0xCFC;
  static constexpr uint16_t kPortBase = 0xCF8, kPortCount = 8;

  // A host bridge (I440fxPmc) at bus 0, device 0, function 0; nothing else.
  explicit PciHost(DeviceContext& ctx);

  // Adds (or replaces) the function at bus/device/function (device < 32, function < 8).
  void add_function(unsigned bus, unsigned device, unsigned function,
                    std::unique_ptr<PciFunction> f);
  PciFunction* function(unsigned bus, unsigned device, unsigned function) const;

  uint32_t config_address() const { return config_address_; }
  void reset() override;

 protected:
  uint64_t io_read(Space s, uint64_t addr, unsigned size) override;
  void io_write(Space s, uint64_t addr, unsigned size, uint64_t value) override;
  unsigned reg_of(Space s, uint64_t addr, bool write) const override;

 private:
  enum Reg : unsigned { kRegConfigAddress, kRegConfigData, kRegOther };
  // Writable bits of CONFIG_ADDRESS: enable, bus, device, function, register[7:2].
  static constexpr uint32_t kAddressMask = 0x80FF'FFFCu;
  static unsigned key(unsigned bus, unsigned device, unsigned function) {
    return (bus & 0xFF) << 8 | (device & 0x1F) << 3 | (function & 7);
  }
  // The function CONFIG_ADDRESS selects, or null (disabled, or nothing there).
  PciFunction* selected() const;
  // With tracing on: the configuration cycle in bus:device.function+register terms.
  void trace_config(bool write, unsigned lane, unsigned size, uint32_t value, bool present) const;

  uint32_t config_address_ = 0;
  std::map<unsigned, std::unique_ptr<PciFunction>> functions_;  // by key()
};

}  // namespace sim
