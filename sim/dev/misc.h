// The small devices of the PC platform (PLATFORM.md): the ways a guest ends a run,
// the POST port, QEMU's pc-testdev and fw_cfg, and nestsim's report channel.
//
// Odd access sizes follow one rule unless a device says otherwise: an access is split
// into byte accesses at consecutive ports; bytes that fall outside the device's ports
// read 0xFF and are ignored on writes.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "sim/dev/device.h"

namespace sim {

// isa-debug-exit at 0xF4-0xF7 (QEMU's `-device isa-debug-exit,iobase=0xf4,iosize=4`):
// a write of any size of v stops the machine with value v (the CLI exits with
// (v << 1) | 1). And the Bochs/QEMU power-off port 0x8900: the bytes "Shutdown"
// written in sequence (byte writes; only the low byte of a wider write is a byte at
// 0x8900) power the machine off. Reads return all-ones.
class ExitPorts final : public Device {
 public:
  using StopFn = std::function<void(bool power_off, uint32_t value)>;
  static constexpr uint16_t kDebugExitPort = 0xF4, kDebugExitPorts = 4;
  static constexpr uint16_t kShutdownPort = 0x8900;
  enum Reg : unsigned { kDebugExit, kShutdown };

  ExitPorts(DeviceContext& ctx, StopFn stop);
  void reset() override { shutdown_matched_ = 0; }

 protected:
  uint64_t io_read(Space s, uint64_t addr, unsigned size) override;
  void io_write(Space s, uint64_t addr, unsigned size, uint64_t value) override;
  unsigned reg_of(Space s, uint64_t addr, bool write) const override;

 private:
  StopFn stop_;
  unsigned shutdown_matched_ = 0;  // bytes of "Shutdown" seen in sequence
};

// Port 0x80, the POST code port: writes are kept in `last` (nothing else happens),
// reads return all-ones.
class PostPort final : public Device {
 public:
  static constexpr uint16_t kPort = 0x80;
  explicit PostPort(DeviceContext& ctx);
  uint8_t last = 0;

 protected:
  uint64_t io_read(Space s, uint64_t addr, unsigned size) override;
  void io_write(Space s, uint64_t addr, unsigned size, uint64_t value) override;
  unsigned reg_of(Space, uint64_t, bool) const override { return 0; }
};

// QEMU's pc-testdev (hw/misc/pc-testdev.c), used by kvm-unit-tests:
//   0xE0-0xE3  a 32-bit latch in four byte lanes: an access of 1, 2 or 4 bytes at
//              0xE0 + k reads/writes lanes k.. (lanes past 3 are dropped);
//   0xE4       "flush page": a 4-byte write of a guest address (QEMU re-protects
//              that host page to exercise KVM; a no-op here, counted in `flushes`);
//              other sizes are ignored, reads return all-ones;
//   0xE8-0xEB  the same latch through byte-wide accesses (QEMU's memory core splits
//              wider accesses into bytes): identical results for any size;
//   0x2000-0x2017  "set ISA IRQ line n": a byte write to 0x2000 + n raises (nonzero)
//              or lowers (zero) ISA IRQ n through the IrqRouter; wider writes are
//              ignored, reads return all-ones. n >= 16 has no ISA line (QEMU asserts
//              there) and is ignored;
//   MMIO 0xFF000000-0xFF00FFFF  64 KiB of scratch RAM, accesses of 1/2/4/8 bytes.
// A machine reset leaves the latch and the scratch RAM as they are (QEMU's device
// has no reset handler; like RAM, they survive). Map ports 0xE0 (12 ports) and 0x2000 (24 ports), and the MMIO range.
class PcTestDev final : public Device {
 public:
  static constexpr uint16_t kLatchPort = 0xE0, kFlushPort = 0xE4, kLatchBytePort = 0xE8;
  static constexpr uint16_t kIrqPort = 0x2000, kIrqPorts = 24;
  static constexpr uint64_t kScratchSize = 0x10000;
  enum Reg : unsigned { kLatch, kFlushPage, kLatchByte, kIrqLine, kScratch, kUnused };

  explicit PcTestDev(DeviceContext& ctx);

  uint32_t latch() const { return latch_; }
  uint64_t flushes = 0;
  uint64_t last_flush = 0;

 protected:
  uint64_t io_read(Space s, uint64_t addr, unsigned size) override;
  void io_write(Space s, uint64_t addr, unsigned size, uint64_t value) override;
  unsigned reg_of(Space s, uint64_t addr, bool write) const override;

 private:
  uint32_t latch_ = 0;
  std::vector<uint8_t> scratch_;
};

// QEMU's fw_cfg, legacy I/O interface (docs/specs/fw_cfg.txt in QEMU):
//   0x510  selector: a 16-bit write selects an item and resets its read offset;
//   0x511  data: byte reads return the item's bytes in order, then 0 past its end.
// A byte read of 0x510 reads data too (QEMU's combined region). Byte writes (data
// writes were removed in QEMU 2.4) and writes of other sizes are ignored; reads of
// 2 or 4 bytes return all-ones (QEMU accepts byte reads only). No DMA interface.
// Keys: bit 15 selects the architecture-local set, bit 14 (write channel) is ignored.
//   0x00 signature "QEMU"; 0x01 interface id (u32 1: traditional interface);
//   0x03 RAM size (u64 LE); 0x05 CPU count (u16); 0x0F max CPUs (u16);
//   0x19 file directory: u32 count, then per file {u32 size, u16 select, u16 0,
//        char name[56]}, all big-endian, sorted by name, selects from 0x20 in that
//        order (QEMU's layout). Unknown keys read 0.
class FwCfg final : public Device {
 public:
  static constexpr uint16_t kSelectorPort = 0x510, kDataPort = 0x511;
  static constexpr uint16_t kSignature = 0x00, kId = 0x01, kRamSize = 0x03, kNbCpus = 0x05,
                            kMaxCpus = 0x0F, kFileDir = 0x19, kFileFirst = 0x20;
  static constexpr size_t kMaxName = 55;  // plus the NUL, in 56 bytes
  enum Reg : unsigned { kSelector, kData };

  FwCfg(DeviceContext& ctx, uint64_t ram_bytes, unsigned cpus);
  void reset() override;  // selects key 0 (the items stay)

  // Publishes (or replaces) a named file; returns its current select key. Keys of
  // files sorting after it move up by one, as in QEMU: publish files before the
  // guest runs. Names longer than kMaxName characters are refused (returns 0).
  uint16_t add_file(const std::string& name, std::vector<uint8_t> bytes);
  // Sets a numbered item (key as the guest selects it, bit 15 included). Keys
  // 0x20-0x3FFF belong to the files and are rebuilt by add_file().
  void set_item(uint16_t key, std::vector<uint8_t> bytes);
  uint16_t selected() const { return key_; }

 protected:
  uint64_t io_read(Space s, uint64_t addr, unsigned size) override;
  void io_write(Space s, uint64_t addr, unsigned size, uint64_t value) override;
  unsigned reg_of(Space s, uint64_t addr, bool write) const override;

 private:
  static uint16_t normalize(uint16_t key) { return key & 0xBFFF; }
  void rebuild_files();

  std::map<uint16_t, std::vector<uint8_t>> items_;
  std::map<std::string, std::vector<uint8_t>> files_;  // sorted by name
  uint16_t key_ = 0;
  uint32_t offset_ = 0;
  const std::vector<uint8_t>* cur_ = nullptr;
};

// nestsim's report channel for its own bare-metal programs (workloads/lib).
//
// Protocol (this header is the specification):
//   - The guest builds a record in RAM: ASCII "key=value" followed by a NUL, at most
//     256 bytes including the NUL. Characters are printable ASCII (0x20-0x7E); the key
//     is the non-empty text before the first '='; the value is the rest (may be empty,
//     may contain '=').
//   - It writes the record's guest-PHYSICAL address (below 4 GiB, in RAM) with one
//     32-bit OUT to port 0x0B10 (`outl %eax, $0xb10`). The device reads the record
//     from guest memory during that OUT, so the buffer may be reused right after.
//   - Records are kept in order with the cycle of the OUT (no instruction count: the
//     record is the same whatever the CPU model's timing).
//   - A record that cannot be read (address outside RAM), has no NUL within 256
//     bytes, contains a byte outside 0x20-0x7E, or has no '=' or an empty key is
//     dropped and counted in bad_records; so is any OUT to 0x0B10-0x0B13 other than a
//     32-bit one at 0x0B10.
//   - A 32-bit IN from 0x0B10 returns kSignature (the bytes "NSIM" in memory order)
//     so a guest can tell it runs under nestsim; other reads return all-ones (as
//     absent ports do, e.g. on QEMU).
class ReportPort final : public Device {
 public:
  using ReadPhys = std::function<bool(uint64_t pa, void* dst, size_t len)>;
  static constexpr uint16_t kPort = 0x0B10, kPorts = 4;
  static constexpr uint32_t kSignature = 0x4D49534E;  // "NSIM"
  static constexpr size_t kMaxRecord = 256;           // bytes, including the NUL
  enum Reg : unsigned { kRecord };

  struct Record {
    uint64_t cycle;
    std::string key, value;
  };

  ReportPort(DeviceContext& ctx, ReadPhys read_phys);

  std::vector<Record> records;
  uint64_t bad_records = 0;
  // Called for every accepted record (optional).
  std::function<void(const Record&)> on_record;

 protected:
  uint64_t io_read(Space s, uint64_t addr, unsigned size) override;
  void io_write(Space s, uint64_t addr, unsigned size, uint64_t value) override;
  unsigned reg_of(Space, uint64_t, bool) const override { return kRecord; }

 private:
  void submit(uint64_t pa);
  ReadPhys read_phys_;
};

}  // namespace sim
