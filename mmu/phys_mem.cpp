#include "mmu/phys_mem.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>

namespace mmu {

PhysMem::PhysMem(uint64_t ram_bytes) : ram_size_((ram_bytes + kPage - 1) & ~(kPage - 1)) {
  if (ram_size_ == 0) throw std::invalid_argument("RAM size must be at least 4 KiB");
  // MAP_NORESERVE: guests touch only what they use; untouched RAM reads as zero.
  // One inaccessible guard page on each side turns any host-side overrun of guest
  // RAM into an immediate crash instead of silent corruption (fuzzing relies on it).
  void* p = mmap(nullptr, ram_size_ + 2 * kPage, PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  ram_ = static_cast<uint8_t*>(p) + kPage;
  if (mprotect(ram_, ram_size_, PROT_READ | PROT_WRITE) != 0) {
    munmap(p, ram_size_ + 2 * kPage);
    throw std::bad_alloc();
  }
  code_pages_.assign(ram_size_ / kPage, 0);
  ports_.assign(65536, nullptr);
}

PhysMem::~PhysMem() { munmap(ram_ - kPage, ram_size_ + 2 * kPage); }

const PhysMem::MmioRange* PhysMem::find_mmio(uint64_t pa) const {
  for (const auto& r : mmio_)
    if (pa - r.base < r.size) return &r;
  return nullptr;
}

// Accesses are split at RAM/MMIO boundaries byte-wise only in the rare case of a
// straddling access; devices see naturally sized accesses otherwise.
void PhysMem::read(uint64_t pa, void* dst, unsigned size) {
  if (in_ram(pa, size)) {
    std::memcpy(dst, ram_ + pa, size);
    return;
  }
  if (const MmioRange* r = find_mmio(pa); r && pa + size - r->base <= r->size && size <= 8) {
    counters_.mmio_reads++;
    uint64_t v = r->dev->mmio_read(pa - r->base, size);
    std::memcpy(dst, &v, size);
    return;
  }
  if (size > 1 && (in_ram(pa, 1) || find_mmio(pa) || find_mmio(pa + size - 1) ||
                   in_ram(pa + size - 1, 1))) {
    auto* d = static_cast<uint8_t*>(dst);
    for (unsigned i = 0; i < size; i++) read(pa + i, d + i, 1);
    return;
  }
  counters_.unassigned_reads++;
  std::memset(dst, 0xFF, size);
}

void PhysMem::write(uint64_t pa, const void* src, unsigned size) {
  if (in_ram(pa, size)) {
    std::memcpy(ram_ + pa, src, size);
    return;
  }
  if (const MmioRange* r = find_mmio(pa); r && pa + size - r->base <= r->size && size <= 8) {
    counters_.mmio_writes++;
    uint64_t v = 0;
    std::memcpy(&v, src, size);
    r->dev->mmio_write(pa - r->base, size, v);
    return;
  }
  if (size > 1 && (in_ram(pa, 1) || find_mmio(pa) || find_mmio(pa + size - 1) ||
                   in_ram(pa + size - 1, 1))) {
    auto* s = static_cast<const uint8_t*>(src);
    for (unsigned i = 0; i < size; i++) write(pa + i, s + i, 1);
    return;
  }
  counters_.unassigned_writes++;
}

void PhysMem::map_mmio(uint64_t base, uint64_t size, MmioDevice* dev) {
  mmio_.push_back({base, size, dev});
}

void PhysMem::unmap_mmio(MmioDevice* dev) {
  std::erase_if(mmio_, [dev](const MmioRange& r) { return r.dev == dev; });
}

void PhysMem::map_ports(uint16_t first, uint16_t count, PortDevice* dev) {
  for (unsigned i = 0; i < count; i++) ports_[uint16_t(first + i)] = dev;
}

uint32_t PhysMem::port_in(uint16_t port, unsigned size) {
  if (PortDevice* d = ports_[port]) {
    counters_.port_reads++;
    return d->port_in(port, size);
  }
  counters_.unassigned_port_reads++;
  return size == 4 ? 0xFFFFFFFFu : (1u << (size * 8)) - 1;
}

void PhysMem::port_out(uint16_t port, unsigned size, uint32_t value) {
  if (PortDevice* d = ports_[port]) {
    counters_.port_writes++;
    d->port_out(port, size, value);
    return;
  }
  counters_.unassigned_port_writes++;
}

void PhysMem::clear_all_code_pages() { std::fill(code_pages_.begin(), code_pages_.end(), 0); }

}  // namespace mmu
