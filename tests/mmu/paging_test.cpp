// The page walker over a flat fake memory: every format and page size, rights at
// every level, A/D, reserved bits, exact #PF error codes (SDM Vol. 3A chapter 4).
#include "tests/mmu/mmu_rig.h"

using namespace mmutest;
using isa::Access;
using mmu::PagingFormat;

namespace {

constexpr uint32_t kP = mmu::PFERR_P, kW = mmu::PFERR_W, kU = mmu::PFERR_US,
                   kR = mmu::PFERR_RSVD, kI = mmu::PFERR_ID, kK = mmu::PFERR_PK;

mmu::WalkResult go(FlatMem& m, const mmu::PagingControls& c, uint64_t lin, mmu::WalkAccess a) {
  return mmu::walk(m, c, lin, a);
}

}  // namespace

TEST_CASE("4-level paging: 4K, 2M and 1G pages translate; A/D set; references counted", "[mmu]") {
  FlatMem m;
  Builder b(m, PagingFormat::k4Level);
  auto c = controls(PagingFormat::k4Level);
  auto e4k = b.map(0x00007F1234567000, 0x345000, 1, {P | RW, P | RW, P | RW, P | RW});
  b.map(0x0000000040200000, 0x1200000, 2, {P | RW, P | RW, P | RW | PS});
  b.map(0x0000008000000000 + (3ull << 30), 0xC0000000, 3, {P | RW, P | RW | PS});

  auto r = go(m, c, 0x00007F1234567ABC, acc(Access::kRead));
  REQUIRE(r.ok);
  CHECK(r.t.pa(0x00007F1234567ABC) == 0x345ABC);
  CHECK(r.t.shift == 12);
  CHECK(r.refs == 4 + 4);  // four reads, four A updates
  for (uint64_t ea : e4k) CHECK((m.get(ea) & A));
  CHECK(!(m.get(e4k[3]) & D));
  CHECK(!r.t.dirty);

  r = go(m, c, 0x00007F1234567ABC, acc(Access::kWrite));
  REQUIRE(r.ok);
  CHECK(r.refs == 4 + 1);  // only D changes
  CHECK((m.get(e4k[3]) & D));
  CHECK(r.t.dirty);
  r = go(m, c, 0x00007F1234567000, acc(Access::kRead));
  CHECK(r.refs == 4);

  r = go(m, c, 0x40212345, acc(Access::kRead));
  REQUIRE(r.ok);
  CHECK(r.t.shift == 21);
  CHECK(r.t.pa(0x40212345) == 0x1212345);
  r = go(m, c, 0x0000008000000000 + (3ull << 30) + 0x1234567, acc(Access::kExec));
  REQUIRE(r.ok);
  CHECK(r.t.shift == 30);
  CHECK(r.t.pa(0x0000008000000000 + (3ull << 30) + 0x1234567) == 0xC1234567);

  // 1 GiB pages without CPUID Page1GB: PS in a PDPTE is a reserved bit.
  c.page1g = false;
  r = go(m, c, 0x0000008000000000 + (3ull << 30), acc(Access::kRead));
  CHECK(!r.ok);
  CHECK(r.error == (kP | kR));
}

TEST_CASE("5-level paging walks five levels", "[mmu]") {
  FlatMem m;
  Builder b(m, PagingFormat::k5Level);
  auto c = controls(PagingFormat::k5Level);
  const uint64_t lin = 0x00FF801234567000;  // bits 56:48 select the PML5 entry
  auto w = b.map(lin, 0x777000, 1, {P | RW, P | RW, P | RW, P | RW, P | RW});
  auto r = go(m, c, lin + 5, acc(Access::kRead));
  REQUIRE(r.ok);
  CHECK(r.t.pa(lin + 5) == 0x777005);
  CHECK(r.refs == 10);
  CHECK(w.size() == 5);
  // The same address under 4-level paging uses a different (empty) path.
  c.format = PagingFormat::k4Level;
  r = go(m, c, lin, acc(Access::kRead));
  CHECK(!r.ok);
  CHECK(r.error == 0);
}

TEST_CASE("PAE paging uses the PDPTE registers; 4K and 2M pages; reserved bits", "[mmu]") {
  FlatMem m;
  Builder b(m, PagingFormat::kPae, 0x100020);  // CR3 needs only 32-byte alignment
  auto c = controls(PagingFormat::kPae, 0x100020);
  b.map(0xC0001000, 0x5000, 1, {P, P | RW | US, P | RW | US});
  b.map(0x40200000, 0x600000, 2, {P, P | RW | PS});
  REQUIRE(mmu::load_pdptes(m, c.cr3, c.maxphyaddr, c.pdpte));
  auto r = go(m, c, 0xC0001234, acc(Access::kWrite, 3));
  REQUIRE(r.ok);
  CHECK(r.t.pa(0xC0001234) == 0x5234);
  CHECK(r.refs == 2 + 2 + 0);  // PDE, PTE read; A+D set in PTE, A in PDE (PDPTE: register)
  r = go(m, c, 0x40212345, acc(Access::kRead));
  REQUIRE(r.ok);
  CHECK(r.t.shift == 21);
  CHECK(r.t.pa(0x40212345) == 0x612345);
  // A PDPTE register that is not present: #PF with P = 0, no memory reference.
  r = go(m, c, 0x80000000, acc(Access::kRead));
  CHECK(!r.ok);
  CHECK(r.error == 0);
  CHECK(r.refs == 0);
  // The registers, not memory, are used: clearing the PDPTE in memory changes nothing.
  m.set(0x100020 + 3 * 8, 0);
  CHECK(go(m, c, 0xC0001234, acc(Access::kRead)).ok);
  // PDPTE reserved bits (2:1, 8:5, 63:MAXPHYADDR) make loading fail.
  const uint64_t pdpte1 = 0x100020 + 8;
  m.set(pdpte1, m.get(pdpte1) | RW);
  uint64_t regs[4] = {1, 2, 3, 4};
  CHECK(!mmu::load_pdptes(m, c.cr3, c.maxphyaddr, regs));
  CHECK(regs[0] == 1);  // unchanged on failure
  m.set(pdpte1, (m.get(pdpte1) & ~RW) | (1ull << 46));
  CHECK(!mmu::load_pdptes(m, c.cr3, c.maxphyaddr, regs));
  m.set(pdpte1, m.get(pdpte1) & ~(1ull << 46));
  CHECK(mmu::load_pdptes(m, c.cr3, c.maxphyaddr, regs));
  m.set(0x100020, RW);  // reserved bits in a PDPTE that is not present do not matter
  CHECK(mmu::load_pdptes(m, c.cr3, c.maxphyaddr, regs));
  // PAE PDE/PTE: bits 62:MAXPHYADDR reserved (bit 52 included, unlike 4-level paging).
  auto w = b.map(0xC0002000, 0x7000, 1, {P, P | RW | US, P | RW | US | (1ull << 52)});
  m.set(0x100020, 0);
  REQUIRE(mmu::load_pdptes(m, c.cr3, c.maxphyaddr, c.pdpte));
  r = go(m, c, 0xC0002000, acc(Access::kRead));
  CHECK(r.error == (kP | kR));
}

TEST_CASE("32-bit paging: 4K pages, 4M pages with PSE, PSE-36, bit 21 reserved", "[mmu]") {
  FlatMem m;
  Builder b(m, PagingFormat::k32Bit);
  auto c = controls(PagingFormat::k32Bit);
  c.nxe = false;
  c.pse = true;
  auto w = b.map(0x00403000, 0x9000, 1, {P | RW, P | RW});
  auto r = go(m, c, 0x00403010, acc(Access::kWrite));
  REQUIRE(r.ok);
  CHECK(r.t.pa(0x00403010) == 0x9010);
  CHECK((m.get(w[1], 4) & (A | D)) == (A | D));
  // 4 MiB page with physical bits 39:32 = 0x12 in PDE bits 20:13.
  auto w4 = b.map(0x80000000, 0xC00000 | (0x12ull << 13), 2, {P | RW | PS});
  r = go(m, c, 0x80123456, acc(Access::kRead));
  REQUIRE(r.ok);
  CHECK(r.t.shift == 22);
  CHECK(r.t.pa(0x80123456) == ((0x12ull << 32) | 0xC00000 | 0x123456));
  // MAXPHYADDR 36: PDE bits 20:17 are reserved (only 35:32 fit), bit 21 always.
  c.maxphyaddr = 36;
  r = go(m, c, 0x80000000, acc(Access::kRead));
  CHECK(r.error == (kP | kR));
  c.maxphyaddr = 40;
  m.set(w4[0], m.get(w4[0], 4) | (1u << 21), 4);
  r = go(m, c, 0x80000000, acc(Access::kRead));
  CHECK(r.error == (kP | kR));
  // Without CR4.PSE, PS is ignored: the PDE points to a page table.
  c.pse = false;
  m.set(w[0], m.get(w[0], 4) | PS, 4);
  r = go(m, c, 0x00403010, acc(Access::kRead));
  REQUIRE(r.ok);
  CHECK(r.t.shift == 12);
  CHECK(r.t.pa(0x00403010) == 0x9010);
  // No XD in 32-bit paging: fetches report I/D only with SMEP.
  m.set(w[1], 0, 4);
  r = go(m, c, 0x00403000, acc(Access::kExec, 3));
  CHECK(r.error == kU);
  c.smep = true;
  r = go(m, c, 0x00403000, acc(Access::kExec, 3));
  CHECK(r.error == (kU | kI));
}

// Reference rights (SDM Vol. 3A 4.6.1), stated independently of the walker: given the
// combined U/S, R/W, XD, does the access fault?
static bool ref_fault(bool u, bool w, bool x, Access t, unsigned cpl, bool wp, bool smep) {
  const bool user = cpl == 3;
  if (t == Access::kExec) return x || (user ? !u : (u && smep));
  if (user) return !u || (t == Access::kWrite && !w);
  return t == Access::kWrite && !w && wp;
}

TEST_CASE("rights: U/S, R/W, XD at every level, every access, WP and SMEP", "[mmu]") {
  for (int level = 1; level <= 4; level++) {
    for (unsigned bits = 0; bits < 8; bits++) {  // bit0 U/S, bit1 R/W, bit2 XD at `level`
      FlatMem m;
      Builder b(m, PagingFormat::k4Level);
      std::vector<uint64_t> f(4, P | RW | US);
      uint64_t& e = f[4 - level];
      e = P | ((bits & 1) ? US : 0) | ((bits & 2) ? RW : 0) | ((bits & 4) ? XD : 0);
      b.map(0x12345000, 0x8000, 1, f);
      for (bool wp : {false, true})
        for (bool smep : {false, true})
          for (unsigned cpl : {0u, 3u})
            for (Access t : {Access::kRead, Access::kWrite, Access::kExec}) {
              auto c = controls(PagingFormat::k4Level);
              c.wp = wp;
              c.smep = smep;
              auto r = go(m, c, 0x12345000, acc(t, cpl));
              const bool fault = ref_fault(bits & 1, bits & 2, bits & 4, t, cpl, wp, smep);
              INFO("level " << level << " bits " << bits << " wp " << wp << " smep " << smep
                            << " cpl " << cpl << " access " << int(t));
              CHECK(r.ok == !fault);
              if (fault) {
                uint32_t want = kP | (t == Access::kWrite ? kW : 0) | (cpl == 3 ? kU : 0) |
                                (t == Access::kExec ? kI : 0);
                CHECK(r.error == want);
              }
            }
    }
  }
}

TEST_CASE("XD needs EFER.NXE: otherwise bit 63 is reserved", "[mmu]") {
  FlatMem m;
  Builder b(m, PagingFormat::k4Level);
  b.map(0x5000, 0x5000, 1, {P | RW, P | RW, P | RW, P | RW | XD});
  auto c = controls(PagingFormat::k4Level);
  c.nxe = false;
  auto r = go(m, c, 0x5000, acc(Access::kRead));
  CHECK(r.error == (kP | kR));
  r = go(m, c, 0x5000, acc(Access::kExec));
  CHECK(r.error == (kP | kR));  // no I/D: NXE = 0 and SMEP = 0
  c.nxe = true;
  CHECK(go(m, c, 0x5000, acc(Access::kRead)).ok);
  CHECK(go(m, c, 0x5000, acc(Access::kExec)).error == (kP | kI));
}

TEST_CASE("SMAP: AC, CPL and implicit accesses", "[mmu]") {
  FlatMem m;
  Builder b(m, PagingFormat::k4Level);
  b.map(0x7000, 0x7000, 1, {P | RW | US, P | RW | US, P | RW | US, P | RW | US});
  auto c = controls(PagingFormat::k4Level);
  c.smap = true;
  for (bool ac : {false, true})
    for (unsigned cpl : {0u, 3u})
      for (bool implicit : {false, true})
        for (Access t : {Access::kRead, Access::kWrite}) {
          c.ac = ac;
          auto a = acc(t, cpl, implicit);
          auto r = go(m, c, 0x7000, a);
          // User-mode accesses are unaffected; supervisor ones (explicit at CPL < 3,
          // implicit at any CPL) pass only with AC = 1 at CPL < 3.
          const bool supervisor = cpl < 3 || implicit;
          const bool fault = supervisor && !(ac && cpl < 3);
          INFO("ac " << ac << " cpl " << cpl << " implicit " << implicit);
          CHECK(r.ok == !fault);
          if (fault) CHECK(r.error == (kP | (t == Access::kWrite ? kW : 0)));
        }
  // SMAP does not apply to fetches (SMEP does) nor to supervisor pages.
  c.ac = false;
  CHECK(go(m, c, 0x7000, acc(Access::kExec, 0)).ok);
}

TEST_CASE("protection keys: AD and WD for user pages, data accesses only", "[mmu]") {
  FlatMem m;
  Builder b(m, PagingFormat::k4Level);
  const uint64_t key5 = 5ull << 59;
  b.map(0x9000, 0x9000, 1, {P | RW | US, P | RW | US, P | RW | US, P | RW | US | key5});
  b.map(0xA000, 0xA000, 1, {P | RW | US, P | RW | US, P | RW | US, P | RW | key5});  // supervisor
  auto c = controls(PagingFormat::k4Level);
  c.pke = true;
  c.pkru = 1u << (2 * 5);  // AD5
  auto r = go(m, c, 0x9000, acc(Access::kRead, 3));
  CHECK(r.error == (kP | kU | kK));
  CHECK(go(m, c, 0x9000, acc(Access::kExec, 3)).ok);  // fetches ignore keys
  CHECK(go(m, c, 0xA000, acc(Access::kRead, 0)).ok);  // supervisor pages ignore keys
  r = go(m, c, 0x9000, acc(Access::kRead, 0));          // supervisor access to a user page
  CHECK(r.error == (kP | kK));
  c.pkru = 2u << (2 * 5);  // WD5
  CHECK(go(m, c, 0x9000, acc(Access::kRead, 3)).ok);
  CHECK(go(m, c, 0x9000, acc(Access::kWrite, 3)).error == (kP | kW | kU | kK));
  CHECK(go(m, c, 0x9000, acc(Access::kWrite, 0)).error == (kP | kW | kK));
  c.wp = false;  // supervisor writes ignore WD when CR0.WP = 0
  CHECK(go(m, c, 0x9000, acc(Access::kWrite, 0)).ok);
  c.pke = false;
  c.wp = true;
  CHECK(go(m, c, 0x9000, acc(Access::kWrite, 3)).ok);
  CHECK(go(m, c, 0x9000, acc(Access::kWrite, 3)).t.pkey == 0);
  c.pke = true;
  c.pkru = 0;
  CHECK(go(m, c, 0x9000, acc(Access::kWrite, 3)).t.pkey == 5);
}

TEST_CASE("reserved bits at every level, MAXPHYADDR, exact error codes", "[mmu]") {
  struct Case {
    int level;
    uint64_t bit;
    bool reserved;
  };
  const Case cases[] = {
      {4, 1ull << 46, true},  {3, 1ull << 46, true}, {2, 1ull << 46, true},
      {1, 1ull << 46, true},  {1, 1ull << 51, true}, {1, 1ull << 52, false},  // 62:52 ignored
      {4, PS, true},          {1, PS, false},        // PAT bit in a PTE
      {1, 1ull << 47, true},
  };
  for (const Case& k : cases) {
    FlatMem m;
    Builder b(m, PagingFormat::k4Level);
    std::vector<uint64_t> f(4, P | RW | US);
    f[4 - k.level] |= k.bit;
    b.map(0x3000, 0x3000, 1, f);
    auto c = controls(PagingFormat::k4Level);
    INFO("level " << k.level << " bit " << std::hex << k.bit);
    auto r = go(m, c, 0x3000, acc(Access::kWrite, 3));
    if (k.reserved) {
      CHECK(!r.ok);
      CHECK(r.error == (kP | kR | kW | kU));
      // No A/D update on a faulting walk.
      CHECK(m.writes == 0);
    } else {
      CHECK(r.ok);
    }
  }
  // Large-page address bits below the page size are reserved (2M: 20:13, 1G: 29:13).
  FlatMem m;
  Builder b(m, PagingFormat::k4Level);
  b.map(0x40000000, 0x40000000 | (1u << 13), 3, {P | RW, P | RW | PS});
  b.map(0x80000000, 0x200000 | (1u << 20), 2, {P | RW, P | RW, P | RW | PS});
  auto c = controls(PagingFormat::k4Level);
  CHECK(go(m, c, 0x40000000, acc(Access::kRead)).error == (kP | kR));
  CHECK(go(m, c, 0x80000000, acc(Access::kExec)).error == (kP | kR | kI));
}

TEST_CASE("not-present at each level: P = 0, access bits exact, no A/D writes", "[mmu]") {
  for (int level = 1; level <= 4; level++) {
    FlatMem m;
    Builder b(m, PagingFormat::k4Level);
    std::vector<uint64_t> f(4, P | RW | US);
    f[4 - level] &= ~P;
    b.map(0x6000, 0x6000, 1, f);
    auto c = controls(PagingFormat::k4Level);
    auto r = go(m, c, 0x6000, acc(Access::kWrite, 3));
    CHECK(r.error == (kW | kU));
    CHECK(r.refs == unsigned(5 - level));
    CHECK(m.writes == 0);
    r = go(m, c, 0x6000, acc(Access::kExec, 0));
    CHECK(r.error == kI);
    r = go(m, c, 0x6000, acc(Access::kRead, 3, true));  // implicit: a supervisor access
    CHECK(r.error == 0);
  }
}

TEST_CASE("permission faults set no A/D; probes set none either", "[mmu]") {
  FlatMem m;
  Builder b(m, PagingFormat::k4Level);
  auto w = b.map(0x2000, 0x2000, 1, {P | RW | US, P | RW | US, P | RW | US, P | US});
  auto c = controls(PagingFormat::k4Level);
  auto r = go(m, c, 0x2000, acc(Access::kWrite, 3));
  CHECK(r.error == (kP | kW | kU));
  CHECK(m.writes == 0);
  auto a = acc(Access::kRead, 3);
  a.set_ad = false;
  CHECK(go(m, c, 0x2000, a).ok);
  CHECK(m.writes == 0);
  CHECK(!(m.get(w[0]) & A));
}

TEST_CASE("global bit needs CR4.PGE", "[mmu]") {
  FlatMem m;
  Builder b(m, PagingFormat::k4Level);
  b.map(0x2000, 0x2000, 1, {P | RW, P | RW, P | RW, P | RW | G});
  auto c = controls(PagingFormat::k4Level);
  CHECK(go(m, c, 0x2000, acc(Access::kRead)).t.global);
  c.pge = false;
  CHECK(!go(m, c, 0x2000, acc(Access::kRead)).t.global);
}

TEST_CASE("paging off is the identity", "[mmu]") {
  FlatMem m;
  mmu::PagingControls c;
  auto r = go(m, c, 0x12345678, acc(Access::kWrite, 3));
  CHECK(r.ok);
  CHECK(r.t.pa(0x12345678) == 0x12345678);
  CHECK(r.refs == 0);
}

// walk() has a loop of its own for 4-/5-level paging (mmu/paging.cpp, walk_long); it must
// decide exactly as the generic loop does: the same outcome, error code, translation,
// reference count, and the same A/D writes, over random tables, controls and accesses.
TEST_CASE("4-/5-level walk equals the generic walk on random tables and controls", "[mmu]") {
  struct SmallMem final : mmu::PteMemory {
    std::vector<uint8_t> bytes = std::vector<uint8_t>(16 * 4096);
    unsigned reads = 0, writes = 0;
    uint64_t read_pte(uint64_t pa, unsigned size) override {
      reads++;
      REQUIRE(size == 8);
      uint64_t v = 0;  // outside the tables (address bits below MAXPHYADDR): not present
      if (pa + 8 <= bytes.size()) std::memcpy(&v, &bytes[pa], 8);
      return v;
    }
    void write_pte(uint64_t pa, uint64_t v, unsigned size) override {
      writes++;
      REQUIRE(size == 8);
      REQUIRE(pa + 8 <= bytes.size());
      std::memcpy(&bytes[pa], &v, 8);
    }
  };
  uint64_t seed = 0x9E3779B97F4A7C15ull;
  auto rnd = [&seed]() {  // xorshift64*
    seed ^= seed >> 12, seed ^= seed << 25, seed ^= seed >> 27;
    return seed * 0x2545F4914F6CDD1Dull;
  };
  const uint8_t maxphy[] = {36, 39, 46, 52};
  unsigned oks = 0, rsvd = 0, notp = 0, rights = 0;
  for (unsigned universe = 0; universe < 40; universe++) {
    SmallMem base;
    // Tables in pages 1..15; entries point at tables, with random attribute bits and,
    // now and then, a bit of 63:36 (reserved below MAXPHYADDR's limit, XD, protection key).
    for (uint64_t pa = 0x1000; pa < base.bytes.size(); pa += 8) {
      uint64_t e = ((1 + rnd() % 15) << 12) | (rnd() & 0xFFF);
      if (rnd() % 10) e |= P;
      if (rnd() % 4 == 0) e &= ~PS;
      if (rnd() % 6 == 0) e |= 1ull << (36 + rnd() % 28);
      std::memcpy(&base.bytes[pa], &e, 8);
    }
    for (unsigned k = 0; k < 300; k++) {
      mmu::PagingControls c;
      c.format = rnd() % 2 ? PagingFormat::k4Level : PagingFormat::k5Level;
      c.cr3 = ((1 + rnd() % 15) << 12) | (rnd() & 0xFFF);
      c.maxphyaddr = maxphy[rnd() % 4];
      const uint64_t f = rnd();
      c.page1g = f & 1, c.wp = f & 2, c.pse = f & 4, c.pge = f & 8, c.nxe = f & 16;
      c.smep = f & 32, c.smap = f & 64, c.pke = f & 128, c.ac = f & 256;
      c.pkru = uint32_t(rnd());
      mmu::WalkAccess a;
      a.type = Access(rnd() % 3);
      a.cpl = rnd() % 2 ? 3 : 0;
      a.implicit = rnd() % 4 == 0;
      a.set_ad = rnd() % 4 != 0;
      const uint64_t lin = rnd();
      SmallMem m1 = base, m2 = base;
      const mmu::WalkResult r1 = mmu::walk(m1, c, lin, a);
      const mmu::WalkResult r2 = mmu::walk_generic(m2, c, lin, a);
      INFO("universe " << universe << " walk " << k);
      REQUIRE(r1.ok == r2.ok);
      REQUIRE(r1.error == r2.error);
      REQUIRE(r1.refs == r2.refs);
      REQUIRE(m1.reads == m2.reads);
      REQUIRE(m1.writes == m2.writes);
      REQUIRE(m1.bytes == m2.bytes);
      if (r1.ok) {
        oks++;
        const mmu::Translation &t1 = r1.t, &t2 = r2.t;
        CHECK(t1.page_base == t2.page_base);
        CHECK(t1.shift == t2.shift);
        CHECK(t1.user == t2.user);
        CHECK(t1.writable == t2.writable);
        CHECK(t1.nx == t2.nx);
        CHECK(t1.global == t2.global);
        CHECK(t1.dirty == t2.dirty);
        CHECK(t1.pkey == t2.pkey);
        CHECK(t1.ept_rwx == t2.ept_rwx);
        CHECK(t1.rewalk == t2.rewalk);
      } else if (r1.error & kR) {
        rsvd++;
      } else if (r1.error & kP) {
        rights++;
      } else {
        notp++;
      }
    }
  }
  // Every outcome was exercised.
  CHECK(oks > 500);
  CHECK(rsvd > 500);
  CHECK(rights > 500);
  CHECK(notp > 500);
}
