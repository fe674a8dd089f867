// A flat-memory isa::Bus for tests: a few linear regions backed by host buffers,
// linear == "physical", no paging. Accesses outside every region raise #PF (as an
// unmapped page would); non-canonical addresses in 64-bit mode raise #GP(0).
// Regions are page-granular for the TLB: a TLB entry is installed only for pages
// entirely inside one region, so a hit can never leave the test's buffers.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "isa/cpu.h"

namespace nstest {

class FlatBus : public isa::Bus {
 public:
  struct Region {
    uint64_t base;
    uint64_t size;
    uint8_t* host;
    bool writable;
  };

  void add_region(uint64_t base, uint64_t size, uint8_t* host, bool writable = true) {
    regions_.push_back({base, size, host, writable});
  }
  void clear_regions() { regions_.clear(); }
  // When false, no TLB entries are installed (every access takes the slow path).
  bool fill_tlb = true;
  uint64_t rand_state = 0x9E3779B97F4A7C15ull;
  uint32_t cpuid_out[4] = {};

  void read_slow(isa::Cpu& c, uint64_t lin, void* dst, unsigned size, isa::Access a) override {
    check(c, lin, size, false);
    auto* d = static_cast<uint8_t*>(dst);
    for (unsigned i = 0; i < size; i++) d[i] = *host(lin + i);
    install(c, lin, a);
  }
  void write_slow(isa::Cpu& c, uint64_t lin, const void* src, unsigned size) override {
    check(c, lin, size, true);
    auto* s = static_cast<const uint8_t*>(src);
    for (unsigned i = 0; i < size; i++) *host(lin + i) = s[i];
    install(c, lin, isa::Access::kWrite);
  }
  void probe_write(isa::Cpu& c, uint64_t lin, unsigned size) override { check(c, lin, size, true); }
  uint32_t port_in(isa::Cpu&, uint16_t, unsigned) override { isa::raise_gp0(); }
  void port_out(isa::Cpu&, uint16_t, unsigned, uint32_t) override { isa::raise_gp0(); }
  void cpuid(isa::Cpu&, uint32_t, uint32_t, uint32_t out[4]) override {
    std::memcpy(out, cpuid_out, sizeof(cpuid_out));
  }
  uint64_t random64(isa::Cpu&) override {
    rand_state ^= rand_state << 13, rand_state ^= rand_state >> 7, rand_state ^= rand_state << 17;
    return rand_state;
  }

  const Region* find(uint64_t lin) const {
    for (const Region& r : regions_)
      if (lin - r.base < r.size) return &r;
    return nullptr;
  }

 private:
  static bool canonical(uint64_t a) { return uint64_t(int64_t(a << 16) >> 16) == a; }

  void check(isa::Cpu& c, uint64_t lin, unsigned size, bool write) {
    if (c.long64 && (!canonical(lin) || !canonical(lin + size - 1))) isa::raise_gp0();
    for (unsigned i = 0; i < size; i++) {
      const Region* r = find(lin + i);
      // Error code: P=0 (not present) or P=1|W for a read-only region, U/S=1 (user).
      if (!r) isa::raise_page_fault(lin + i, (write ? 2u : 0u) | 4u);
      if (write && !r->writable) isa::raise_page_fault(lin + i, 1u | 2u | 4u);
    }
  }
  uint8_t* host(uint64_t lin) {
    const Region* r = find(lin);
    return r->host + (lin - r->base);
  }
  void install(isa::Cpu& c, uint64_t lin, isa::Access a) {
    if (!fill_tlb) return;
    uint64_t page = lin & ~0xFFFull;
    const Region* r = find(page);
    if (!r || page + isa::kPageSize - r->base > r->size) return;
    if (a == isa::Access::kWrite && !r->writable) return;
    isa::TlbEntry e;
    e.vpn = page >> 12;
    e.addend = uintptr_t(r->host + (page - r->base)) - page;
    unsigned i = e.vpn & (isa::kTlbSize - 1);
    (a == isa::Access::kWrite ? c.tlb_write : a == isa::Access::kExec ? c.tlb_exec : c.tlb_read)[i] = e;
  }

  std::vector<Region> regions_;
};

}  // namespace nstest
