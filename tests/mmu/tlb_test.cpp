// The tagged TLB: lookups by PCID/global, capacity and LRU, and each invalidation of
// SDM Vol. 3A 4.10.4.1.
#include <functional>
#include <random>

#include "mmu/tlb_set.h"
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

namespace {

mmu::TlbTag tag(uint16_t pcid, uint16_t vpid, uint16_t ept) {
  mmu::TlbTag t;
  t.pcid = pcid;
  t.vpid = vpid;
  t.ept = ept;
  return t;
}

// One page at `lin` in each of: VPID 0/1/2 x EP4TA tag 0 (linear)/1/2 (combined), PCID
// 1, plus a global page at lin + 0x1000 in each.
void fill(mmu::Tlb& t, uint64_t lin) {
  for (uint16_t vpid = 0; vpid < 3; vpid++)
    for (uint16_t ept = 0; ept < 3; ept++) {
      t.insert(lin, tag(1, vpid, ept), tr(0xA000));
      t.insert(lin + 0x1000, tag(1, vpid, ept), tr(0xB000, true));
    }
}

bool has(mmu::Tlb& t, uint64_t lin, uint16_t vpid, uint16_t ept, uint16_t pcid = 1) {
  return t.lookup(lin, tag(pcid, vpid, ept)) != nullptr;
}

}  // namespace

TEST_CASE("TLB: VPID and EP4TA tags separate linear and combined mappings", "[mmu][tlb][vmx]") {
  mmu::Tlb t;
  fill(t, 0x10000);
  CHECK(t.valid_entries() == 18);
  for (uint16_t vpid = 0; vpid < 3; vpid++)
    for (uint16_t ept = 0; ept < 3; ept++) {
      CHECK(has(t, 0x10000, vpid, ept));
      CHECK(!has(t, 0x10000, vpid, ept, 2));  // another PCID
      CHECK(has(t, 0x11000, vpid, ept, 2));   // global: any PCID, same VPID and EP4TA
    }
  CHECK(!has(t, 0x10000, 3, 0));
  CHECK(!has(t, 0x10000, 0, 3));
}

TEST_CASE("TLB: INVLPG and INVPCID act on the current VPID, every EP4TA", "[mmu][tlb][vmx]") {
  mmu::Tlb t;
  fill(t, 0x10000);
  t.invlpg(0x10000, tag(1, 1, 2));
  for (uint16_t ept = 0; ept < 3; ept++) {
    CHECK(!has(t, 0x10000, 1, ept));
    CHECK(has(t, 0x10000, 0, ept));
    CHECK(has(t, 0x10000, 2, ept));
  }
  t.invpcid_single(tag(1, 2, 0));
  for (uint16_t ept = 0; ept < 3; ept++) {
    CHECK(!has(t, 0x10000, 2, ept));
    CHECK(has(t, 0x11000, 2, ept));  // globals stay
  }
  // A page fault or an EPT violation: only the entries the current tag would use.
  fill(t, 0x10000);
  t.invalidate_page(0x10000, tag(1, 1, 2));
  CHECK(!has(t, 0x10000, 1, 2));
  CHECK(has(t, 0x10000, 1, 1));
  CHECK(has(t, 0x10000, 1, 0));
}

TEST_CASE("TLB: INVVPID types 0-3", "[mmu][tlb][vmx]") {
  mmu::Tlb t;
  SECTION("individual address: every PCID, EP4TA and global entry of the VPID") {
    fill(t, 0x10000);
    t.insert(0x10000, tag(7, 1, 1), tr(0xC000));
    t.invvpid_address(1, 0x10000);
    for (uint16_t ept = 0; ept < 3; ept++) {
      CHECK(!has(t, 0x10000, 1, ept));
      CHECK(has(t, 0x11000, 1, ept));  // another page
      CHECK(has(t, 0x10000, 2, ept));
    }
    CHECK(!has(t, 0x10000, 1, 1, 7));
    t.invvpid_address(1, 0x11000);
    CHECK(!has(t, 0x11000, 1, 0));  // global entries go too
  }
  SECTION("single context") {
    fill(t, 0x10000);
    t.invvpid_single(1);
    for (uint16_t ept = 0; ept < 3; ept++) {
      CHECK(!has(t, 0x10000, 1, ept));
      CHECK(!has(t, 0x11000, 1, ept));
      CHECK(has(t, 0x10000, 0, ept));
      CHECK(has(t, 0x10000, 2, ept));
    }
    CHECK(t.valid_entries() == 12);
  }
  SECTION("all contexts: every VPID but 0000H") {
    fill(t, 0x10000);
    t.invvpid_all();
    CHECK(t.valid_entries() == 6);
    for (uint16_t ept = 0; ept < 3; ept++) CHECK(has(t, 0x10000, 0, ept));
  }
  SECTION("single context retaining globals") {
    fill(t, 0x10000);
    t.invvpid_single_retaining_globals(2);
    for (uint16_t ept = 0; ept < 3; ept++) {
      CHECK(!has(t, 0x10000, 2, ept));
      CHECK(has(t, 0x11000, 2, ept));
      CHECK(has(t, 0x10000, 1, ept));
    }
  }
  SECTION("VM entry/exit without VPID: VPID 0000H, every PCID and EP4TA") {
    fill(t, 0x10000);
    t.insert(0x10000, tag(9, 0, 2), tr(0xC000));
    t.vm_transition_without_vpid();
    for (uint16_t ept = 0; ept < 3; ept++) {
      CHECK(!has(t, 0x10000, 0, ept));
      CHECK(!has(t, 0x11000, 0, ept));
      CHECK(has(t, 0x10000, 1, ept));
    }
    CHECK(!has(t, 0x10000, 0, 2, 9));
  }
}

TEST_CASE("TLB: INVEPT single-context and global leave linear mappings", "[mmu][tlb][vmx]") {
  mmu::Tlb t;
  fill(t, 0x10000);
  t.invept_single(2);
  for (uint16_t vpid = 0; vpid < 3; vpid++) {
    CHECK(!has(t, 0x10000, vpid, 2));
    CHECK(!has(t, 0x11000, vpid, 2));
    CHECK(has(t, 0x10000, vpid, 1));
    CHECK(has(t, 0x10000, vpid, 0));
  }
  t.invept_single(0);  // tag 0 is not an EP4TA
  CHECK(t.valid_entries() == 12);
  t.invept_global();
  CHECK(t.valid_entries() == 6);
  for (uint16_t vpid = 0; vpid < 3; vpid++) CHECK(has(t, 0x10000, vpid, 0));
}

TEST_CASE("Guest-physical TLB: EP4TA-tagged mappings, rights, invalidation", "[mmu][tlb][vmx]") {
  mmu::GuestPhysTlb g;
  mmu::EptResult r;
  r.outcome = mmu::EptOutcome::kOk;
  r.page_base = 0x40000000;
  r.shift = 21;
  r.rwx = 5;  // R and X
  r.dirty = true;
  g.insert(0x200000, 1, r);
  g.insert(0x200000, 2, r);
  const mmu::TlbEntry* e = g.lookup(0x3ABCDE, 1);
  REQUIRE(e);
  CHECK(e->t.pa(0x3ABCDE) == 0x401ABCDE);
  CHECK(e->t.ept_rwx == 5);
  CHECK(e->t.rewalk == mmu::REWALK_WRITE);
  CHECK(!g.lookup(0x400000, 1));
  g.invalidate(0x3FF000, 1);  // an EPT violation in the page
  CHECK(!g.lookup(0x200000, 1));
  CHECK(g.lookup(0x200000, 2));
  g.insert(0x200000, 1, r);
  g.invept_single(2);
  CHECK(g.lookup(0x200000, 1));
  CHECK(!g.lookup(0x200000, 2));
  g.invept_global();
  CHECK(g.valid_entries() == 0);
}

TEST_CASE("EP4TA tags: identity by EPTP bits 51:12, LRU recycling", "[mmu][tlb][vmx]") {
  mmu::Ep4taTags tags(3);
  auto a = tags.acquire(0x100000 | 0x5E);  // WB, 4-level, A/D on
  CHECK(a.tag == 1);
  CHECK(!a.recycled);
  CHECK(tags.acquire(0x100000 | 0x1E).tag == 1);  // same EP4TA, other low bits
  CHECK(tags.acquire(0x200000 | 0x1E).tag == 2);
  CHECK(tags.acquire(0x300000 | 0x1E).tag == 3);
  CHECK(tags.find(0x200018) == 2);
  CHECK(tags.find(0x400018) == 0);
  tags.acquire(0x100000);  // 0x200000 is now the least recently acquired
  auto d = tags.acquire(0x400000);
  CHECK(d.tag == 2);
  CHECK(d.recycled);
  CHECK(tags.find(0x200000) == 0);
  CHECK(tags.find(0x400000) == 2);
  tags.clear();
  CHECK(tags.find(0x100000) == 0);
  CHECK(!tags.acquire(0x100000).recycled);
}

TEST_CASE("TlbSet: VMX invalidations over every cache, tags recycled clean", "[mmu][tlb][vmx]") {
  mmu::Tlb data, fetch;
  mmu::TlbSet set({&data, &fetch}, mmu::TlbGeometry{}, 2);
  mmu::EptResult w;
  w.outcome = mmu::EptOutcome::kOk;
  w.page_base = 0x9000;
  w.rwx = 7;
  w.dirty = true;
  const uint16_t t1 = set.ept_tag(0x100000 | 0x1E);
  const uint16_t t2 = set.ept_tag(0x200000 | 0x1E);
  CHECK(t1 != t2);
  CHECK(set.ept_tag(0x100000 | 0x5E) == t1);
  for (mmu::Tlb* t : {&data, &fetch}) {
    t->insert(0x1000, tag(0, 1, t1), tr(0xA000));
    t->insert(0x1000, tag(0, 1, t2), tr(0xA000));
    t->insert(0x1000, tag(0, 1, 0), tr(0xA000));
  }
  set.gpa().insert(0x5000, t1, w);
  set.gpa().insert(0x5000, t2, w);
  set.invept_single(0x100000);
  CHECK(!has(data, 0x1000, 1, t1, 0));
  CHECK(!has(fetch, 0x1000, 1, t1, 0));
  CHECK(has(data, 0x1000, 1, t2, 0));
  CHECK(has(data, 0x1000, 1, 0, 0));
  CHECK(!set.gpa().lookup(0x5000, t1));
  CHECK(set.gpa().lookup(0x5000, t2));
  set.invept_single(0x700000);  // an EP4TA without a tag: nothing to do
  CHECK(set.gpa().lookup(0x5000, t2));
  // INVVPID leaves guest-physical mappings alone.
  set.invvpid_single(1);
  CHECK(!has(data, 0x1000, 1, t2, 0));
  CHECK(!has(data, 0x1000, 1, 0, 0));
  CHECK(set.gpa().lookup(0x5000, t2));
  // Recycling: a third EP4TA takes the least recently used tag (t1 once t2 has been
  // acquired again) and finds it empty.
  for (mmu::Tlb* t : {&data, &fetch}) t->insert(0x2000, tag(0, 1, t1), tr(0xA000));
  set.gpa().insert(0x6000, t1, w);
  set.ept_tag(0x200000);  // t2 most recent
  const uint16_t t3 = set.ept_tag(0x300000);
  CHECK(t3 == t1);
  CHECK(!has(data, 0x2000, 1, t3, 0));
  CHECK(!has(fetch, 0x2000, 1, t3, 0));
  CHECK(!set.gpa().lookup(0x6000, t3));
  CHECK(set.tags().find(0x100000) == 0);
  set.invept_global();
  CHECK(!set.gpa().lookup(0x5000, t2));
  set.flush_all();
  CHECK(data.valid_entries() == 0);
  CHECK(set.tags().find(0x200000) == 0);
}

TEST_CASE("TLB: invalidations find every valid entry after random fills and evictions", "[mmu][tlb][vmx]") {
  std::mt19937 rng(5);
  mmu::TlbGeometry geo;
  geo.sets = 8;
  geo.ways = 4;
  geo.large = 4;
  mmu::Tlb t(geo);
  struct Put {
    uint64_t lin;
    mmu::TlbTag tag;
  };
  std::vector<Put> puts;
  for (unsigned round = 0; round < 2000; round++) {
    const unsigned n = rng() % 40;
    for (unsigned i = 0; i < n; i++) {
      const bool large = rng() % 8 == 0;
      const uint64_t lin = large ? uint64_t(rng() % 16) << 21 : uint64_t(rng() % 256) << 12;
      const mmu::TlbTag tg = tag(uint16_t(rng() % 2), uint16_t(rng() % 3), uint16_t(rng() % 3));
      t.insert(lin, tg, tr(0x1000, rng() % 4 == 0, large ? 21 : 12));
      puts.push_back({lin, tg});
    }
    const uint16_t v = uint16_t(rng() % 3), e = uint16_t(1 + rng() % 2);
    std::function<bool(const Put&)> gone;
    switch (rng() % 5) {
      case 0: t.invvpid_single(v); gone = [&](const Put& p) { return p.tag.vpid == v; }; break;
      case 1: t.invept_single(e); gone = [&](const Put& p) { return p.tag.ept == e; }; break;
      case 2: t.invvpid_all(); gone = [&](const Put& p) { return p.tag.vpid != 0; }; break;
      case 3: t.invept_global(); gone = [&](const Put& p) { return p.tag.ept != 0; }; break;
      default: t.flush_all(); gone = [](const Put&) { return true; }; break;
    }
    for (const Put& p : puts) {
      if (!gone(p)) continue;
      const mmu::TlbEntry* hit = t.lookup(p.lin, p.tag);
      // A hit may only come from an entry that the invalidation did not cover.
      if (hit) CHECK(!gone({hit->lin_base, hit->tag}));
    }
    unsigned found = 0;
    for (uint64_t lin = 0; lin < (1u << 20); lin += 0x1000)
      for (uint16_t p = 0; p < 2; p++)
        for (uint16_t vp = 0; vp < 3; vp++)
          for (uint16_t ep = 0; ep < 3; ep++) found += t.lookup(lin, tag(p, vp, ep)) != nullptr;
    if (t.valid_entries() == 0) CHECK(found == 0);
    if (round % 50 == 0) puts.clear();
  }
}
