// Test rig for mmu/: a flat fake physical memory that counts references, and a
// builder that writes paging structures for any format into it.
#pragma once
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "mmu/paging.h"
#include "mmu/tlb.h"

namespace mmutest {

constexpr uint64_t P = 1, RW = 2, US = 4, A = 0x20, D = 0x40, PS = 0x80, G = 0x100;
constexpr uint64_t XD = 1ull << 63;

struct FlatMem final : mmu::PteMemory {
  std::vector<uint8_t> bytes = std::vector<uint8_t>(64u << 20);
  unsigned reads = 0, writes = 0;
  uint64_t read_pte(uint64_t pa, unsigned size) override {
    reads++;
    uint64_t v = 0;
    REQUIRE(pa + size <= bytes.size());
    std::memcpy(&v, &bytes[pa], size);
    return v;
  }
  void write_pte(uint64_t pa, uint64_t v, unsigned size) override {
    writes++;
    REQUIRE(pa + size <= bytes.size());
    std::memcpy(&bytes[pa], &v, size);
  }
  uint64_t get(uint64_t pa, unsigned size = 8) {
    uint64_t v = 0;
    std::memcpy(&v, &bytes[pa], size);
    return v;
  }
  void set(uint64_t pa, uint64_t v, unsigned size = 8) { std::memcpy(&bytes[pa], &v, size); }
};

// Builds one mapping at a time: tables are allocated from `next` upwards. `flags[i]`
// are the low/high attribute bits for the entry at level top-i (leaf last); the
// address bits are filled in. Returns the addresses the entries were stored at, root
// first, so tests can poke at them.
// `store` is added to every address the builder writes at (not to the addresses the
// entries hold): a guest's tables at guest-physical addresses, stored in host memory
// that EPT maps them to (tests/mmu/nested_test.cpp).
struct Builder {
  FlatMem& mem;
  mmu::PagingFormat fmt;
  uint64_t root;
  uint64_t next;
  uint64_t store;
  Builder(FlatMem& m, mmu::PagingFormat f, uint64_t root_pa = 0x100000, uint64_t pool = 0x200000,
          uint64_t store_offset = 0)
      : mem(m), fmt(f), root(root_pa), next(pool), store(store_offset) {}

  bool legacy() const { return fmt == mmu::PagingFormat::k32Bit; }
  unsigned entry_bytes() const { return legacy() ? 4 : 8; }
  unsigned index_bits() const { return legacy() ? 10 : 9; }
  int top() const {
    switch (fmt) {
      case mmu::PagingFormat::k32Bit: return 2;
      case mmu::PagingFormat::kPae: return 3;  // level 3 = the PDPT (in memory)
      case mmu::PagingFormat::k5Level:
      case mmu::PagingFormat::kEpt5: return 5;
      default: return 4;
    }
  }
  uint64_t index(uint64_t lin, int level) const {
    if (fmt == mmu::PagingFormat::kPae && level == 3) return (lin >> 30) & 3;
    return (lin >> (12 + index_bits() * (level - 1))) & ((1u << index_bits()) - 1);
  }
  // Maps `lin` to `pa` with a leaf at `leaf_level`; flags per level from the root.
  std::vector<uint64_t> map(uint64_t lin, uint64_t pa, int leaf_level, std::vector<uint64_t> flags) {
    std::vector<uint64_t> where;
    uint64_t table = root;
    for (int level = top(), i = 0; level >= leaf_level; level--, i++) {
      const uint64_t ea = table + index(lin, level) * entry_bytes() + store;
      where.push_back(ea);
      uint64_t e = mem.get(ea, entry_bytes());
      if (level == leaf_level) {
        mem.set(ea, pa | flags[i], entry_bytes());
        break;
      }
      const uint64_t addr_mask = legacy() ? 0xFFFFF000ull : 0x000FFFFFFFFFF000ull;
      if (!(e & addr_mask)) {
        e = next;
        next += 0x1000;
      }
      mem.set(ea, (e & addr_mask) | flags[i], entry_bytes());
      table = e & addr_mask;
    }
    return where;
  }
};

inline mmu::PagingControls controls(mmu::PagingFormat f, uint64_t cr3 = 0x100000) {
  mmu::PagingControls c;
  c.format = f;
  c.cr3 = cr3;
  c.maxphyaddr = 46;
  c.page1g = true;
  c.nxe = true;
  c.wp = true;
  c.pge = true;
  return c;
}

inline mmu::WalkAccess acc(isa::Access t, unsigned cpl = 0, bool implicit = false) {
  mmu::WalkAccess a;
  a.type = t;
  a.cpl = uint8_t(cpl);
  a.implicit = implicit;
  return a;
}

}  // namespace mmutest
