// The 2-D walk (SDM Vol. 3C 28.3.2, 28.3.3.2): guest paging composed with EPT, its
// four outcomes, the exit qualification, A/D flags on both sides, page sizes, PDPTE
// loads, the guest-physical TLB and every reference counted.
#include <cstring>
#include <map>
#include <random>

#include "mmu/nested.h"
#include "mmu/tlb_set.h"
#include "tests/mmu/mmu_rig.h"

using namespace mmutest;
using isa::Access;
using mmu::NestedOutcome;
using mmu::PagingFormat;

namespace {

constexpr uint64_t R = 1, W = 2, X = 4, RWX = 7, WB = 6ull << 3, EA = 0x100, ED = 0x200;
constexpr uint64_t kOff = 0x1000000;  // guest-physical page p lives at host p + 16 MiB

// Host memory with EPT tables at 1 MiB and up, and a guest whose tables sit at
// guest-physical 64 KiB and up (stored at host + kOff). ept_map() maps guest-physical
// pages; publish() maps the guest's table pages with the given EPT leaf rights.
struct Rig {
  FlatMem host;
  PagingFormat gfmt;
  Builder ept;
  Builder gpt;
  mmu::NestedControls c;

  explicit Rig(PagingFormat guest = PagingFormat::k4Level, unsigned ept_levels = 4,
               bool ad = false)
      : gfmt(guest),
        ept(host, ept_levels == 5 ? PagingFormat::kEpt5 : PagingFormat::kEpt4),
        gpt(host, guest, 0x10000, 0x20000, kOff) {
    c.guest = controls(guest, 0x10000);
    c.ept.eptp = 0x100000 | (uint64_t(ept_levels - 1) << 3) | (ad ? 0x40 : 0) | 6;
    c.ept.maxphyaddr = 46;
  }
  std::vector<uint64_t> ept_map(uint64_t gpa, uint64_t hpa, uint64_t leaf = RWX | WB,
                                int level = 1) {
    std::vector<uint64_t> f(size_t(ept.top() - level + 1), RWX);
    f.back() = leaf | (level > 1 ? 0x80 : 0);
    auto where = ept.map(gpa, hpa, level, f);
    ept_leaf[gpa & ~0xFFFull] = where.back();
    return where;
  }
  std::map<uint64_t, uint64_t> ept_leaf;  // guest-physical page -> its EPT leaf entry
  // EPT-maps every guest table page allocated so far (gpa -> gpa + kOff).
  void publish(uint64_t leaf = RWX | WB) {
    ept_map(0x10000, 0x10000 + kOff, leaf);
    for (uint64_t p = 0x20000; p < gpt.next; p += 0x1000) ept_map(p, p + kOff, leaf);
  }
  mmu::NestedResult go(uint64_t lin, mmu::WalkAccess a, mmu::GuestPhysTlb* g = nullptr) {
    return mmu::nested_walk(host, c, lin, a, g);
  }
};

constexpr uint64_t GP = P | RW | US | A;         // guest upper entries, accessed
constexpr uint64_t GL = P | RW | US | A | D;     // guest leaf, accessed and dirty

}  // namespace

TEST_CASE("2-D walk: 4-level over 4-level EPT, every reference counted", "[mmu][nested]") {
  Rig g;
  g.gpt.map(0x00007F0000123000, 0x5000, 1, {GP, GP, GP, GL});
  g.publish();
  g.ept_map(0x5000, 0x800000);
  auto r = g.go(0x00007F0000123456, acc(Access::kRead));
  REQUIRE(r.outcome == NestedOutcome::kOk);
  CHECK(r.gpa == 0x5456);
  CHECK(r.t.pa(0x00007F0000123456) == 0x800456);
  CHECK(r.t.shift == 12);
  CHECK(r.t.ept_rwx == RWX);
  CHECK(r.t.user);
  CHECK(r.t.rewalk == 0);  // guest D = 1, EPT A/D off
  // The classic figure: 4 guest reads, 5 EPT walks of 4 reads each.
  CHECK(r.guest_refs == 4);
  CHECK(r.ept_walks == 5);
  CHECK(r.ept_refs == 20);
  CHECK(r.refs() == 24);
  CHECK(g.host.writes == 0);
}

TEST_CASE("2-D walk: guest A/D updates are EPT writes, counted", "[mmu][nested]") {
  Rig g;
  auto where = g.gpt.map(0x400000, 0x5000, 1, {P | RW, P | RW, P | RW, P | RW});
  g.publish();
  g.ept_map(0x5000, 0x800000);
  auto r = g.go(0x400000, acc(Access::kWrite));
  REQUIRE(r.outcome == NestedOutcome::kOk);
  for (uint64_t ea : where) CHECK((g.host.get(ea) & A));
  CHECK((g.host.get(where[3]) & D));
  // 4 reads + 4 A/D writes, each through its own EPT walk, then the final access.
  CHECK(r.guest_refs == 8);
  CHECK(r.guest_writes == 4);
  CHECK(r.ept_walks == 9);
  CHECK(r.ept_refs == 36);
  CHECK(r.ept_writes == 0);
  CHECK(r.t.dirty);
}

TEST_CASE("2-D walk: the guest-physical TLB serves repeated pages", "[mmu][nested]") {
  Rig g;
  g.gpt.map(0x400000, 0x5000, 1, {P | RW, P | RW, P | RW, P | RW});
  g.gpt.map(0x401000, 0x6000, 1, {P | RW, P | RW, P | RW, P | RW});
  g.publish();
  g.ept_map(0x5000, 0x800000);
  g.ept_map(0x6000, 0x801000);
  g.c.ept_tag = 1;
  mmu::GuestPhysTlb gtlb;
  auto r = g.go(0x400000, acc(Access::kRead), &gtlb);
  REQUIRE(r.ok());
  // Four table pages and the data page walked once; the A updates hit the cache.
  CHECK(r.ept_walks == 5);
  CHECK(r.gtlb_hits == 4);
  CHECK(r.guest_refs == 8);
  r = g.go(0x401000, acc(Access::kRead), &gtlb);
  REQUIRE(r.ok());
  CHECK(r.t.pa(0x401000) == 0x801000);
  CHECK(r.ept_walks == 1);  // only the new data page
  CHECK(r.ept_refs == 4);
  CHECK(r.guest_refs == 5);  // four reads, the new PTE's A flag
  // Another EP4TA tag does not see these mappings.
  g.c.ept_tag = 2;
  r = g.go(0x401000, acc(Access::kRead), &gtlb);
  CHECK(r.gtlb_hits == 0);
  // A probe caches nothing and writes nothing.
  mmu::GuestPhysTlb cold;
  g.host.writes = 0;
  mmu::WalkAccess probe = acc(Access::kWrite);
  probe.set_ad = false;
  r = g.go(0x400000, probe, &cold);
  CHECK(r.ok());
  CHECK(cold.valid_entries() == 0);
  CHECK(g.host.writes == 0);
}

TEST_CASE("2-D walk: EPT violation on a guest paging-structure entry", "[mmu][nested]") {
  Rig g;
  auto where = g.gpt.map(0x400000, 0x5000, 1, {GP, GP, GP, GL});
  g.publish();
  g.ept_map(0x5000, 0x800000);
  // The guest's page table (the page holding the PTE) is not mapped by EPT.
  const uint64_t pte_gpa = where[3] - kOff;
  g.ept_map(pte_gpa & ~0xFFFull, 0, 0);
  auto r = g.go(0x400000, acc(Access::kExec));
  REQUIRE(r.outcome == NestedOutcome::kEptViolation);
  CHECK(r.gpa == pte_gpa);  // the entry's own address
  // A data read (not the fetch), nothing granted, linear address valid, bit 8 = 0.
  CHECK(r.qualification == (mmu::EPTQ_READ | mmu::EPTQ_GLA_VALID));
  CHECK(r.guest_refs == 3);
  CHECK(r.ept_walks == 4);
}

TEST_CASE("2-D walk: with EPT A/D on, guest paging-structure reads are writes", "[mmu][nested]") {
  Rig g(PagingFormat::k4Level, 4, true);
  auto where = g.gpt.map(0x400000, 0x5000, 1, {GP, GP, GP, GL});
  g.publish();
  auto data = g.ept_map(0x5000, 0x800000);
  auto r = g.go(0x400000, acc(Access::kRead));
  REQUIRE(r.ok());
  // The EPT leaf of every guest table page is dirty; the data page (read) is not.
  for (uint64_t ea : where) CHECK((g.host.get(g.ept_leaf[(ea - kOff) & ~0xFFFull]) & ED));
  CHECK((g.host.get(data[3]) & EA));
  CHECK(!(g.host.get(data[3]) & ED));
  CHECK((r.t.rewalk & mmu::REWALK_WRITE));  // EPT D clear: a write must walk again

  // A read-only guest table page: the read faults as a write, bits 0 and 1 set.
  Rig h(PagingFormat::k4Level, 4, true);
  auto w2 = h.gpt.map(0x400000, 0x5000, 1, {GP, GP, GP, GL});
  h.publish();
  h.ept_map(0x5000, 0x800000);
  const uint64_t pd_gpa = w2[2] - kOff;
  h.ept_map(pd_gpa & ~0xFFFull, (pd_gpa & ~0xFFFull) + kOff, R | X | WB);
  r = h.go(0x400000, acc(Access::kRead));
  REQUIRE(r.outcome == NestedOutcome::kEptViolation);
  CHECK(r.gpa == pd_gpa);
  CHECK(r.qualification == (mmu::EPTQ_READ | mmu::EPTQ_WRITE | mmu::EPTQ_READABLE |
                            mmu::EPTQ_EXECUTABLE | mmu::EPTQ_GLA_VALID));
  // The same tables with A/D off: reads are reads, the walk succeeds.
  h.c.ept.eptp &= ~0x40ull;
  CHECK(h.go(0x400000, acc(Access::kRead)).ok());
}

TEST_CASE("2-D walk: an A/D update to a read-only guest table is an EPT write", "[mmu][nested]") {
  Rig g;
  auto where = g.gpt.map(0x400000, 0x5000, 1, {P | RW, P | RW, P | RW, P | RW});
  g.publish();
  g.ept_map(0x5000, 0x800000);
  const uint64_t pt_gpa = (where[3] - kOff) & ~0xFFFull;
  g.ept_map(pt_gpa, pt_gpa + kOff, R | X | WB);
  auto r = g.go(0x400000, acc(Access::kRead));
  REQUIRE(r.outcome == NestedOutcome::kEptViolation);
  CHECK(r.gpa == where[3] - kOff);
  CHECK(r.qualification == (mmu::EPTQ_WRITE | mmu::EPTQ_READABLE | mmu::EPTQ_EXECUTABLE |
                            mmu::EPTQ_GLA_VALID));
  // The upper entries' A flags were set before the PTE's update failed.
  CHECK((g.host.get(where[0]) & A));
  CHECK(!(g.host.get(where[3]) & A));
  // With A already set in the PTE there is nothing to write: success.
  g.host.set(where[3], g.host.get(where[3]) | A);
  CHECK(g.go(0x400000, acc(Access::kRead)).ok());
}

TEST_CASE("2-D walk: EPT violation on the final access, advanced information", "[mmu][nested]") {
  Rig g;
  g.gpt.map(0x400000, 0x5000, 1, {GP, GP, GP, GL});
  g.gpt.map(0x401000, 0x6000, 1, {GP, GP, GP, (P | A | D) | XD});  // supervisor, RO, NX
  g.publish();
  g.ept_map(0x5000, 0x800000, R | WB);
  g.ept_map(0x6000, 0, 0);  // not present
  mmu::GuestPhysTlb gtlb;
  g.c.ept_tag = 1;
  REQUIRE(g.go(0x400123, acc(Access::kRead), &gtlb).ok());
  REQUIRE(gtlb.lookup(0x5000, 1));
  auto r = g.go(0x400123, acc(Access::kWrite), &gtlb);
  REQUIRE(r.outcome == NestedOutcome::kEptViolation);
  CHECK(r.gpa == 0x5123);
  CHECK(r.qualification == (mmu::EPTQ_WRITE | mmu::EPTQ_READABLE | mmu::EPTQ_GLA_VALID |
                            mmu::EPTQ_GLA_TRANSLATION | mmu::EPTQ_USER_LA |
                            mmu::EPTQ_WRITABLE_LA));
  CHECK(!gtlb.lookup(0x5000, 1));  // the violation invalidated the guest-physical mapping
  r = g.go(0x401000, acc(Access::kRead));
  REQUIRE(r.outcome == NestedOutcome::kEptViolation);
  CHECK(r.qualification == (mmu::EPTQ_READ | mmu::EPTQ_GLA_VALID | mmu::EPTQ_GLA_TRANSLATION |
                            mmu::EPTQ_NX_LA));
  g.c.advanced_info = false;
  r = g.go(0x400123, acc(Access::kWrite));
  CHECK(r.qualification == (mmu::EPTQ_WRITE | mmu::EPTQ_READABLE | mmu::EPTQ_GLA_VALID |
                            mmu::EPTQ_GLA_TRANSLATION));
}

TEST_CASE("2-D walk: guest #PF, misconfiguration, suppress #VE", "[mmu][nested]") {
  Rig g;
  g.gpt.map(0x400000, 0x5000, 1, {GP, GP, GP, GL & ~P});
  g.gpt.map(0x401000, 0x6000, 1, {GP, GP, GP, GL});
  g.gpt.map(0x402000, 0x7000, 1, {GP, GP, GP, GL});
  g.publish();
  g.ept_map(0x6000, 0x801000, W | WB);  // write-only: misconfigured
  g.ept.map(0x7000, 0, 1, {RWX, RWX, RWX, 1ull << 63});  // not present, suppress #VE
  // The guest's own fault, error code as mmu::walk gives it.
  auto r = g.go(0x400000, acc(Access::kWrite, 3));
  REQUIRE(r.outcome == NestedOutcome::kPageFault);
  CHECK(r.error == (mmu::PFERR_W | mmu::PFERR_US));
  CHECK(r.guest_refs == 4);
  CHECK(r.ept_walks == 4);
  r = g.go(0x401234, acc(Access::kRead));
  REQUIRE(r.outcome == NestedOutcome::kEptMisconfig);
  CHECK(r.gpa == 0x6234);
  CHECK(r.qualification == 0);
  r = g.go(0x402000, acc(Access::kRead));
  REQUIRE(r.outcome == NestedOutcome::kEptViolation);
  CHECK(r.suppress_ve);
}

TEST_CASE("2-D walk: the combined page is the smaller of the two", "[mmu][nested]") {
  struct Case {
    int guest_level, ept_level;
    uint8_t want;
  };
  const Case cases[] = {{1, 1, 12}, {2, 1, 12}, {1, 2, 12}, {2, 2, 21},
                        {3, 2, 21}, {2, 3, 21}, {3, 3, 30}};
  for (const Case& k : cases) {
    Rig g;
    std::vector<uint64_t> f(size_t(4 - k.guest_level + 1), GP);
    f.back() = GL | (k.guest_level > 1 ? PS : 0);
    g.gpt.map(0x40000000, 0x80000000, k.guest_level, f);
    g.publish();
    g.ept_map(0x80000000, 0xC0000000, RWX | WB, k.ept_level);
    INFO("guest level " << k.guest_level << ", EPT level " << k.ept_level);
    const uint64_t lin = 0x40000000 + 0x234;
    auto r = g.go(lin, acc(Access::kRead));
    REQUIRE(r.ok());
    CHECK(r.t.shift == k.want);
    CHECK(r.t.pa(lin) == 0xC0000234);
  }
}

TEST_CASE("2-D walk: guest paging off, 32-bit, PAE and 5-level guests", "[mmu][nested]") {
  {  // paging off: linear = guest-physical, the EPT page is the combined page
    Rig g(PagingFormat::kNone);
    g.ept_map(0x200000, 0x600000, RWX | WB, 2);
    g.ept_map(0x1000, 0x9000, R | WB);
    auto r = g.go(0x212345, acc(Access::kWrite));
    REQUIRE(r.ok());
    CHECK(r.t.shift == 21);
    CHECK(r.t.pa(0x212345) == 0x612345);
    CHECK(r.refs() == 3);  // PML4E, PDPTE, PDE
    g.c.guest.smep = g.c.guest.smap = true;  // no effect with paging off
    CHECK(mmu::access_fault(r.t, g.c.guest, acc(Access::kExec)) == 0);
    r = g.go(0x1000, acc(Access::kWrite));
    REQUIRE(r.outcome == NestedOutcome::kEptViolation);
    CHECK(r.qualification == (mmu::EPTQ_WRITE | mmu::EPTQ_READABLE | mmu::EPTQ_GLA_VALID |
                              mmu::EPTQ_GLA_TRANSLATION | mmu::EPTQ_USER_LA |
                              mmu::EPTQ_WRITABLE_LA));
  }
  {  // 32-bit paging: 4-byte entries at guest-physical addresses
    Rig g(PagingFormat::k32Bit);
    g.gpt.map(0x00403000, 0x5000, 1, {GP, GL});
    g.publish();
    g.ept_map(0x5000, 0x800000);
    auto r = g.go(0x00403ABC, acc(Access::kRead));
    REQUIRE(r.ok());
    CHECK(r.t.pa(0x00403ABC) == 0x800ABC);
    CHECK(r.guest_refs == 2);
    CHECK(r.ept_walks == 3);
    // A 4 MiB page (PSE) over 2 MiB EPT pages: 2 MiB combined pages.
    g.c.guest.pse = true;
    g.gpt.map(0x00C00000, 0x01000000, 2, {GL | PS});
    g.ept_map(0x01200000, 0x02200000, RWX | WB, 2);
    r = g.go(0x00E12345, acc(Access::kRead));
    REQUIRE(r.ok());
    CHECK(r.t.shift == 21);
    CHECK(r.t.pa(0x00E12345) == 0x02212345);
  }
  {  // PAE: the PDPTEs are registers, not references
    Rig g(PagingFormat::kPae);
    auto where = g.gpt.map(0x40403000, 0x5000, 1, {P, GP, GL});
    g.publish();
    g.ept_map(0x5000, 0x800000);
    g.c.guest.pdpte[1] = g.host.get(where[0]);
    auto r = g.go(0x40403ABC, acc(Access::kRead));
    REQUIRE(r.ok());
    CHECK(r.t.pa(0x40403ABC) == 0x800ABC);
    CHECK(r.guest_refs == 2);
    CHECK(r.ept_walks == 3);
  }
  {  // 5-level over 5-level: 5 + 6 * 5 references
    Rig g(PagingFormat::k5Level, 5);
    g.gpt.map(0x00FF000000123000, 0x5000, 1, {GP, GP, GP, GP, GL});
    g.publish();
    g.ept_map(0x5000, 0x800000);
    auto r = g.go(0x00FF000000123000, acc(Access::kRead));
    REQUIRE(r.ok());
    CHECK(r.t.pa(0x00FF000000123008) == 0x800008);
    CHECK(r.refs() == 35);
  }
}

TEST_CASE("PDPTE loads through EPT", "[mmu][nested]") {
  Rig g(PagingFormat::kPae, 4, true);  // EPT A/D on: the loads are still reads
  const uint64_t cr3 = 0x3020;         // PDPT at guest-physical 0x3020
  g.ept_map(0x3000, 0x903000, R | WB);
  for (unsigned i = 0; i < 4; i++) g.host.set(0x903020 + 8 * i, (0x10000 + i * 0x1000) | P);
  uint64_t out[4] = {};
  auto r = mmu::load_pdptes_ept(g.host, g.c.ept, cr3, 46, out);
  REQUIRE(r.ok());
  CHECK(out[2] == (0x12000 | P));
  CHECK(r.guest_refs == 4);
  CHECK(r.ept_refs == 4 + 4);  // four reads, four A flags
  CHECK(r.ept_writes == 4);
  // A reserved bit in a present PDPTE: #GP, registers unchanged.
  g.host.set(0x903028, 0x11000 | P | 4);
  uint64_t keep[4] = {1, 2, 3, 4};
  r = mmu::load_pdptes_ept(g.host, g.c.ept, cr3, 46, keep);
  CHECK(r.outcome == NestedOutcome::kGeneralProtection);
  CHECK(keep[1] == 2);
  // Not mapped by EPT: a violation without a guest linear address (bit 7 = 0).
  r = mmu::load_pdptes_ept(g.host, g.c.ept, 0x7000, 46, keep);
  REQUIRE(r.outcome == NestedOutcome::kEptViolation);
  CHECK(r.gpa == 0x7000);
  CHECK(r.qualification == mmu::EPTQ_READ);
}

namespace {
struct Log final : mmu::PmlLog {
  bool is_full = false;
  std::vector<uint64_t> pages;
  bool full() override { return is_full; }
  void log(uint64_t gpa) override { pages.push_back(gpa); }
};
}  // namespace

TEST_CASE("Page-modification logging through the 2-D walk", "[mmu][nested]") {
  Rig g(PagingFormat::k4Level, 4, true);
  auto where = g.gpt.map(0x400000, 0x5000, 1, {GP, GP, GP, GL});
  g.publish();
  g.ept_map(0x5000, 0x800000);
  Log log;
  g.c.ept.pml = &log;
  log.is_full = true;
  auto r = g.go(0x400000, acc(Access::kWrite));
  REQUIRE(r.outcome == NestedOutcome::kPmlFull);
  CHECK(r.gpa == where[0] - kOff);  // the first flag to set: the PML4E's page
  CHECK(r.ept_refs == 4);           // read, nothing written
  log.is_full = false;
  r = g.go(0x400000, acc(Access::kWrite));
  REQUIRE(r.ok());
  // Each guest table page (treated as written) then the data page, 4 KiB aligned.
  REQUIRE(log.pages.size() == 5);
  for (unsigned i = 0; i < 4; i++) CHECK(log.pages[i] == ((where[i] - kOff) & ~0xFFFull));
  CHECK(log.pages[4] == 0x5000);
  // Nothing left to set: the log is not consulted.
  log.is_full = true;
  CHECK(g.go(0x400000, acc(Access::kWrite)).ok());
}

TEST_CASE("A TLB hit under EPT costs what it costs without", "[mmu][nested][tlb]") {
  // A combined mapping (EP4TA tag 1, VPID 1) and a linear mapping (tag 0) of the same
  // page: hits make no memory reference and take the same lookup and the same two
  // checks (tlb_serves, access_fault) whatever the tag.
  Rig g;
  g.gpt.map(0x400000, 0x5000, 1, {GP, GP, GP, GL});
  g.publish();
  g.ept_map(0x5000, 0x800000);
  mmu::Tlb tlb;
  mmu::TlbTag combined{0, 1, 1}, linear{0, 0, 0};
  auto n = g.go(0x400000, acc(Access::kRead));
  REQUIRE(n.ok());
  tlb.insert(0x400000, combined, n.t);
  tlb.insert(0x400000, linear, n.t);
  const mmu::PagingControls& plain = g.c.guest;
  const unsigned reads = g.host.reads;
  for (auto tag : {combined, linear}) {
    for (Access a : {Access::kRead, Access::kWrite, Access::kExec}) {
      mmu::TlbEntry* e = tlb.lookup(0x400123, tag);
      REQUIRE(e);
      CHECK(mmu::tlb_serves(e->t, acc(a)));
      CHECK(!mmu::access_fault(e->t, plain, acc(a)));
    }
  }
  CHECK(g.host.reads == reads);
  CHECK(tlb.counters.hits == 6);
  // EPT refusing writes: the hit does not serve writes, the walk reports the exit.
  Rig h;
  h.gpt.map(0x400000, 0x5000, 1, {GP, GP, GP, GL});
  h.publish();
  h.ept_map(0x5000, 0x800000, R | X | WB);
  n = h.go(0x400000, acc(Access::kRead));
  REQUIRE(n.ok());
  CHECK(mmu::tlb_serves(n.t, acc(Access::kRead)));
  CHECK(mmu::tlb_serves(n.t, acc(Access::kExec)));
  CHECK(!mmu::tlb_serves(n.t, acc(Access::kWrite)));
  CHECK(h.go(0x400000, acc(Access::kWrite)).outcome == NestedOutcome::kEptViolation);
}

namespace {

// Host memory of 64 KiB seen through every address (bits above 15 are dropped), so
// that random entries never leave it; counts every reference.
struct WrapMem final : mmu::PteMemory {
  std::vector<uint8_t> bytes = std::vector<uint8_t>(1u << 16);
  unsigned refs = 0;
  uint64_t read_pte(uint64_t pa, unsigned size) override {
    refs++;
    uint64_t v = 0;
    std::memcpy(&v, &bytes[pa & 0xFFF8], size);
    return v;
  }
  void write_pte(uint64_t pa, uint64_t v, unsigned size) override {
    refs++;
    std::memcpy(&bytes[pa & 0xFFF8], &v, size);
  }
};

}  // namespace

TEST_CASE("2-D walk over random tables: one outcome, exact counts, a result", "[mmu][nested]") {
  std::mt19937_64 rng(20261122);
  const PagingFormat formats[] = {PagingFormat::kNone, PagingFormat::k32Bit, PagingFormat::kPae,
                                  PagingFormat::k4Level, PagingFormat::k5Level};
  unsigned seen[6] = {};
  for (unsigned iter = 0; iter < 4000; iter++) {
    WrapMem m;
    // Entries: a page of the 1 MiB, random low flags, sometimes random high bits.
    for (size_t i = 0; i < m.bytes.size(); i += 8) {
      uint64_t e = ((rng() & 0xF) << 12) | (rng() & 0xFFF);
      if ((rng() & 7) == 0) e |= rng() & ~0xFFFull;
      if (rng() % 3) e = (e & 0xF000) | 7;  // valid at every level of both: RWX, UC / P+RW+US
      std::memcpy(&m.bytes[i], &e, 8);
    }
    mmu::NestedControls c;
    c.guest = controls(formats[rng() % 5], rng() & 0xFFFFF);
    c.guest.nxe = rng() & 1;
    c.guest.smep = rng() & 1;
    c.guest.pse = rng() & 1;
    for (uint64_t& p : c.guest.pdpte) p = rng() & 0x800FFFFF;
    c.ept.eptp = (rng() & 0xFF000) | ((3 + (rng() & 1)) << 3) | ((rng() & 1) << 6) | 6;
    c.ept.maxphyaddr = 46;
    c.ept.exec_only = rng() & 1;
    c.advanced_info = rng() & 1;
    mmu::WalkAccess a = acc(Access(rng() % 3), (rng() & 1) ? 3 : 0);
    a.set_ad = rng() % 4;
    mmu::GuestPhysTlb gtlb;
    const bool cached = rng() & 1;
    const uint64_t lin = rng() & 0x00FFFFFFFFFFFFFFull;
    const auto r = mmu::nested_walk(m, c, lin, a, cached ? &gtlb : nullptr);
    INFO("iteration " << iter);
    seen[unsigned(r.outcome)]++;
    CHECK(m.refs == r.guest_refs + r.ept_refs);
    CHECK(r.guest_refs <= 10);
    CHECK(r.ept_walks + r.gtlb_hits <= 11);
    CHECK(r.ept_refs <= 10 * r.ept_walks);
    switch (r.outcome) {
      case NestedOutcome::kOk:
        if (a.set_ad) CHECK(mmu::tlb_serves(r.t, a));
        CHECK(mmu::access_fault(r.t, c.guest, a) == 0);
        CHECK((r.t.page_base & (r.t.size() - 1)) == 0);
        CHECK(r.t.page_base < (1ull << 46));
        break;
      case NestedOutcome::kPageFault:
        CHECK(bool(r.error & mmu::PFERR_W) == a.write());
        CHECK(bool(r.error & mmu::PFERR_US) == a.user());
        break;
      case NestedOutcome::kEptViolation: {
        const uint64_t q = r.qualification;
        CHECK((q & 7) != 0);
        CHECK((q & mmu::EPTQ_GLA_VALID));
        CHECK(((q >> 3) & q & 7) != (q & 7));  // some access bit not granted
        if (q & mmu::EPTQ_GLA_TRANSLATION) CHECK((q & 7) == (1u << unsigned(a.type)));
        else CHECK((q & (mmu::EPTQ_USER_LA | mmu::EPTQ_WRITABLE_LA | mmu::EPTQ_NX_LA)) == 0);
        CHECK(q < (1u << 12));
        break;
      }
      case NestedOutcome::kEptMisconfig: CHECK(r.qualification == 0); break;
      default: FAIL("unexpected outcome"); break;
    }
  }
  // The generator reaches every outcome.
  for (unsigned o = 0; o < 4; o++) {
    INFO("outcome " << o);
    CHECK(seen[o] > 0);
  }
}

TEST_CASE("Cached mappings: stale until INVEPT; INVVPID spares gpa", "[mmu][nested][tlb]") {
  // The machine's miss path in miniature: look up under {PCID, VPID, EP4TA tag}, walk
  // on a miss, cache what a walk found.
  Rig g;
  g.gpt.map(0x400000, 0x5000, 1, {GP, GP, GP, GL});
  g.publish();
  auto leaf = g.ept_map(0x5000, 0x800000);
  mmu::Tlb tlb;
  mmu::TlbSet set({&tlb});
  g.c.ept_tag = set.ept_tag(g.c.ept.eptp);
  auto translate = [&](uint64_t lin, mmu::NestedResult* walked = nullptr) -> uint64_t {
    const mmu::TlbTag tag{0, 1, g.c.ept_tag};
    if (mmu::TlbEntry* e = tlb.lookup(lin, tag); e && mmu::tlb_serves(e->t, acc(Access::kRead)))
      return e->t.pa(lin);
    auto r = g.go(lin, acc(Access::kRead), &set.gpa());
    REQUIRE(r.ok());
    tlb.insert(lin, tag, r.t);
    if (walked) *walked = r;
    return r.t.pa(lin);
  };
  CHECK(translate(0x400010) == 0x800010);
  // The hypervisor moves the page without INVEPT: the combined mapping is stale.
  g.host.set(leaf[3], 0x900000 | RWX | WB);
  CHECK(translate(0x400010) == 0x800010);
  // INVVPID drops the combined mapping; the guest-physical one still says 0x800000.
  set.invvpid_single(1);
  mmu::NestedResult r;
  CHECK(translate(0x400010, &r) == 0x800010);
  CHECK(r.ept_walks == 0);
  CHECK(r.gtlb_hits == 5);
  // INVEPT single-context drops both: the walk sees the new EPT entry.
  set.invept_single(g.c.ept.eptp | 0x40);  // same EP4TA, other attribute bits
  CHECK(translate(0x400010, &r) == 0x900010);
  CHECK(r.ept_walks == 5);
  // Another EP4TA gets another tag: nothing cached for it.
  const uint16_t old_tag = g.c.ept_tag;
  g.c.ept_tag = set.ept_tag(0x300000 | 0x1E);
  CHECK(g.c.ept_tag != old_tag);
  CHECK(!tlb.lookup(0x400010, mmu::TlbTag{0, 1, g.c.ept_tag}));
}
