// The tagged TLB: lookups by PCID/global, capacity and LRU, and each invalidation of
// SDM Vol. 3A 4.10.4.1.
#include "tests/mmu/mmu_rig.h"

namespace {

mmu::Translation tr(uint64_t pa, bool global = false, uint8_t shift = 12) {
  mmu::Translation t;
  t.page_base = pa;
  t.shift = shift;
  t.global = global;
  t.user = t.writable = true;
  return t;
}
mmu::TlbTag pcid(uint16_t p) {
  mmu::TlbTag t;
  t.pcid = p;
  return t;
}

}  // namespace

TEST_CASE("TLB: PCID tags, global entries match every PCID", "[mmu][tlb]") {
  mmu::Tlb t;
  t.insert(0x1000, pcid(1), tr(0xA000));
  t.insert(0x2000, pcid(1), tr(0xB000, true));
  REQUIRE(t.lookup(0x1234, pcid(1)));
  CHECK(t.lookup(0x1234, pcid(1))->t.pa(0x1234) == 0xA234);
  CHECK(!t.lookup(0x1234, pcid(2)));
  CHECK(t.lookup(0x2000, pcid(2)));  // global
  mmu::TlbTag other_vpid = pcid(1);
  other_vpid.vpid = 3;
  CHECK(!t.lookup(0x2000, other_vpid));  // globals do not cross VPIDs
  // Large pages: one entry covers the whole page.
  t.insert(0x40000000, pcid(1), tr(0x80000000, false, 30));
  REQUIRE(t.lookup(0x7FFFF123, pcid(1)));
  CHECK(t.lookup(0x7FFFF123, pcid(1))->t.pa(0x7FFFF123) == 0xBFFFF123);
}

TEST_CASE("TLB: capacity, associativity and LRU replacement", "[mmu][tlb]") {
  mmu::TlbGeometry g;
  g.sets = 4;
  g.ways = 2;
  g.large = 2;
  mmu::Tlb t(g);
  // Three pages in set 0 (page numbers 0, 4, 8): the least recently used goes.
  t.insert(0x0000, pcid(0), tr(0x10000));
  t.insert(0x4000, pcid(0), tr(0x20000));
  CHECK(t.lookup(0x0000, pcid(0)));  // touch page 0: page 4 is now LRU
  t.insert(0x8000, pcid(0), tr(0x30000));
  CHECK(t.lookup(0x0000, pcid(0)));
  CHECK(!t.lookup(0x4000, pcid(0)));
  CHECK(t.lookup(0x8000, pcid(0)));
  CHECK(t.counters.evictions == 1);
  CHECK(t.valid_entries() == 2);
  // Re-inserting the same page replaces its entry (a re-walk after a permission fault).
  t.insert(0x8000, pcid(0), tr(0x40000));
  CHECK(t.valid_entries() == 2);
  CHECK(t.lookup(0x8000, pcid(0))->t.page_base == 0x40000);
}

TEST_CASE("TLB: INVLPG, INVPCID types 0-3, MOV CR3 forms", "[mmu][tlb]") {
  auto fill = [](mmu::Tlb& t) {
    t.insert(0x1000, pcid(1), tr(0x11000));          // PCID 1
    t.insert(0x1000, pcid(2), tr(0x21000));          // PCID 2, same page
    t.insert(0x2000, pcid(1), tr(0x12000));
    t.insert(0x3000, pcid(1), tr(0x13000, true));    // global
    t.insert(0x200000, pcid(1), tr(0x400000, false, 21));  // 2M, PCID 1
  };
  SECTION("INVLPG: current PCID and globals for that page only") {
    mmu::Tlb t;
    fill(t);
    t.invlpg(0x1000, pcid(1));
    CHECK(!t.lookup(0x1000, pcid(1)));
    CHECK(t.lookup(0x1000, pcid(2)));
    CHECK(t.lookup(0x2000, pcid(1)));
    t.invlpg(0x3000, pcid(7));  // global entries go whatever the PCID
    CHECK(!t.lookup(0x3000, pcid(1)));
    t.invlpg(0x3FF000, pcid(1));  // any address inside a 2M page invalidates it
    CHECK(!t.lookup(0x200000, pcid(1)));
  }
  SECTION("INVPCID type 0: one address, one PCID, globals kept") {
    mmu::Tlb t;
    fill(t);
    t.invpcid_address(0x1000, pcid(2));
    CHECK(t.lookup(0x1000, pcid(1)));
    CHECK(!t.lookup(0x1000, pcid(2)));
    t.invpcid_address(0x3000, pcid(1));
    CHECK(t.lookup(0x3000, pcid(1)));
  }
  SECTION("INVPCID type 1 / MOV CR3 flushing: non-global entries of one PCID") {
    mmu::Tlb t;
    fill(t);
    t.invpcid_single(pcid(1));
    CHECK(!t.lookup(0x1000, pcid(1)));
    CHECK(!t.lookup(0x2000, pcid(1)));
    CHECK(!t.lookup(0x200000, pcid(1)));
    CHECK(t.lookup(0x3000, pcid(1)));  // global
    CHECK(t.lookup(0x1000, pcid(2)));  // other PCID
  }
  SECTION("INVPCID type 2: everything including globals") {
    mmu::Tlb t;
    fill(t);
    t.flush_all();
    CHECK(t.valid_entries() == 0);
  }
  SECTION("INVPCID type 3: every non-global entry") {
    mmu::Tlb t;
    fill(t);
    t.flush_all_non_global();
    CHECK(t.valid_entries() == 1);
    CHECK(t.lookup(0x3000, pcid(9)));
  }
}
