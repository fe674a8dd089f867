// Physical address space of the machine: guest RAM (one host mapping), MMIO regions
// and the I/O port space, each dispatched to a device or to "unassigned".
//
// Invariants:
//   - host pointers are only ever handed out for whole 4 KiB pages inside RAM, so a
//     guest can never reach host memory outside its own RAM;
//   - unassigned physical addresses read as all-ones and ignore writes; unassigned
//     ports likewise (PLATFORM.md); both are counted.
//   - pages holding decoded code are tracked here (code_pages) so that writes to them
//     can be routed to the code cache for invalidation.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mmu {

class PortDevice {
 public:
  virtual ~PortDevice() = default;
  virtual uint32_t port_in(uint16_t port, unsigned size) = 0;
  virtual void port_out(uint16_t port, unsigned size, uint32_t value) = 0;
};

class MmioDevice {
 public:
  virtual ~MmioDevice() = default;
  virtual uint64_t mmio_read(uint64_t offset, unsigned size) = 0;
  virtual void mmio_write(uint64_t offset, unsigned size, uint64_t value) = 0;
};

class PhysMem {
 public:
  static constexpr uint64_t kPage = 4096;

  explicit PhysMem(uint64_t ram_bytes);
  ~PhysMem();
  PhysMem(const PhysMem&) = delete;
  PhysMem& operator=(const PhysMem&) = delete;

  uint8_t* ram() { return ram_; }
  uint64_t ram_size() const { return ram_size_; }
  // True when [pa, pa+size) lies entirely in RAM.
  bool in_ram(uint64_t pa, uint64_t size) const {
    return pa < ram_size_ && size <= ram_size_ - pa;
  }

  // Accesses of any size/alignment at a physical address: RAM, MMIO or unassigned.
  void read(uint64_t pa, void* dst, unsigned size);
  void write(uint64_t pa, const void* src, unsigned size);

  void map_mmio(uint64_t base, uint64_t size, MmioDevice* dev);
  // Removes every range of `dev` (a device that moves, like the local APIC's page).
  void unmap_mmio(MmioDevice* dev);
  void map_ports(uint16_t first, uint16_t count, PortDevice* dev);
  uint32_t port_in(uint16_t port, unsigned size);
  void port_out(uint16_t port, unsigned size, uint32_t value);

  // Decoded-code tracking, one counter per RAM page.
  bool page_has_code(uint64_t pa) const { return code_pages_[pa / kPage] != 0; }
  void add_code_page(uint64_t pa) { code_pages_[pa / kPage] = 1; }
  void clear_code_page(uint64_t pa) { code_pages_[pa / kPage] = 0; }
  void clear_all_code_pages();

  struct Counters {
    uint64_t unassigned_reads = 0, unassigned_writes = 0;
    uint64_t unassigned_port_reads = 0, unassigned_port_writes = 0;
    uint64_t mmio_reads = 0, mmio_writes = 0, port_reads = 0, port_writes = 0;
  };
  const Counters& counters() const { return counters_; }

 private:
  struct MmioRange {
    uint64_t base, size;
    MmioDevice* dev;
  };
  const MmioRange* find_mmio(uint64_t pa) const;

  uint8_t* ram_ = nullptr;
  uint64_t ram_size_ = 0;
  std::vector<uint8_t> code_pages_;
  std::vector<MmioRange> mmio_;
  std::vector<PortDevice*> ports_;  // 65536 entries
  Counters counters_;
};

}  // namespace mmu
