// The EPT format of the walker (SDM Vol. 3C 28.3): permissions, execute-only,
// misconfigurations against violations, large pages, accessed/dirty flags.
#include "tests/mmu/mmu_rig.h"

using namespace mmutest;
using mmu::EptOutcome;

namespace {

constexpr uint64_t R = 1, W = 2, X = 4, WB = 6ull << 3, EPS = 0x80, EA = 0x100, ED = 0x200;

mmu::EptControls ept(unsigned levels = 4, bool ad = false) {
  mmu::EptControls c;
  c.eptp = 0x100000 | (uint64_t(levels - 1) << 3) | (ad ? 0x40 : 0) | 6;
  c.maxphyaddr = 46;
  return c;
}
mmu::EptAccess rd() { mmu::EptAccess a; a.read = true; return a; }
mmu::EptAccess wr() { mmu::EptAccess a; a.write = true; return a; }
mmu::EptAccess ex() { mmu::EptAccess a; a.exec = true; return a; }

}  // namespace

TEST_CASE("EPT: 4-level 4K translation and the permission AND", "[mmu][ept]") {
  FlatMem m;
  Builder b(m, mmu::PagingFormat::kEpt4);
  b.map(0x12345000, 0xABC000, 1, {R | W | X, R | W | X, R | X, R | W | X | WB});
  auto c = ept();
  auto r = mmu::ept_walk(m, c, 0x12345678, rd());
  REQUIRE(r.outcome == EptOutcome::kOk);
  CHECK(r.hpa(0x12345678) == 0xABC678);
  CHECK(r.rwx == (R | X));
  CHECK(r.memtype == 6);
  CHECK(r.refs == 4);
  CHECK(m.writes == 0);  // A/D off in the EPTP
  r = mmu::ept_walk(m, c, 0x12345678, wr());
  CHECK(r.outcome == EptOutcome::kViolation);
  CHECK(r.rwx == (R | X));
  CHECK(mmu::ept_walk(m, c, 0x12345678, ex()).outcome == EptOutcome::kOk);
}

TEST_CASE("EPT: not present is a violation with rwx 0; 5-level walks", "[mmu][ept]") {
  FlatMem m;
  Builder b(m, mmu::PagingFormat::kEpt5);
  b.map(0x0001000000000000ull, 0x5000, 1, {R | W | X, R | W | X, R | W | X, R | W | X, R | W | WB});
  auto c = ept(5);
  auto r = mmu::ept_walk(m, c, 0x0001000000000123ull, wr());
  REQUIRE(r.outcome == EptOutcome::kOk);
  CHECK(r.hpa(0x0001000000000123ull) == 0x5123);
  CHECK(r.refs == 5);
  r = mmu::ept_walk(m, c, 0x2000, rd());
  CHECK(r.outcome == EptOutcome::kViolation);
  CHECK(r.rwx == 0);
  CHECK(!r.leaf);
}

TEST_CASE("EPT: misconfigurations", "[mmu][ept]") {
  struct Case {
    const char* what;
    int level;          // entry to modify (4 = PML4E .. 1 = PTE)
    uint64_t leaf_flags;  // flags of the modified entry
    bool exec_only;
    EptOutcome want;
  };
  const Case cases[] = {
      {"write without read", 1, W | WB, false, EptOutcome::kMisconfig},
      {"write without read, upper level", 3, W, false, EptOutcome::kMisconfig},
      {"execute-only unsupported", 1, X | WB, false, EptOutcome::kMisconfig},
      {"execute-only supported (read is a violation)", 1, X | WB, true, EptOutcome::kViolation},
      {"memory type 2", 1, R | (2ull << 3), false, EptOutcome::kMisconfig},
      {"memory type 3", 1, R | (3ull << 3), false, EptOutcome::kMisconfig},
      {"memory type 7", 1, R | (7ull << 3), false, EptOutcome::kMisconfig},
      {"memory type UC is fine", 1, R | 0, false, EptOutcome::kOk},
      {"PML4E bits 7:3", 4, R | W | X | (1u << 3), false, EptOutcome::kMisconfig},
      {"PML4E bit 7", 4, R | W | X | EPS, false, EptOutcome::kMisconfig},
      {"non-leaf PDE bits 6:3", 2, R | W | X | (1u << 6), false, EptOutcome::kMisconfig},
      {"address above MAXPHYADDR", 1, R | WB | (1ull << 46), false, EptOutcome::kMisconfig},
      {"bit 51", 2, R | W | X | (1ull << 51), false, EptOutcome::kMisconfig},
      {"bit 52 is ignored", 1, R | WB | (1ull << 52), false, EptOutcome::kOk},
  };
  for (const Case& k : cases) {
    FlatMem m;
    Builder b(m, mmu::PagingFormat::kEpt4);
    std::vector<uint64_t> f = {R | W | X, R | W | X, R | W | X, R | W | X | WB};
    f[4 - k.level] = k.leaf_flags;
    b.map(0x7000, 0x7000, 1, f);
    auto c = ept();
    c.exec_only = k.exec_only;
    INFO(k.what);
    CHECK(mmu::ept_walk(m, c, 0x7000, rd()).outcome == k.want);
  }
  // Execute-only supported: an execute-only leaf allows fetches.
  FlatMem m;
  Builder b(m, mmu::PagingFormat::kEpt4);
  b.map(0x7000, 0x7000, 1, {R | W | X, R | W | X, R | W | X, X | WB});
  auto c = ept();
  c.exec_only = true;
  CHECK(mmu::ept_walk(m, c, 0x7000, ex()).outcome == EptOutcome::kOk);
}

TEST_CASE("EPT: 2M and 1G pages, and their reserved bits", "[mmu][ept]") {
  FlatMem m;
  Builder b(m, mmu::PagingFormat::kEpt4);
  b.map(0x40000000, 0x80000000, 3, {R | W | X, R | W | X | EPS | WB});
  b.map(0x00200000, 0x00600000, 2, {R | W | X, R | W | X, R | W | X | EPS | WB});
  b.map(0x00400000, 0x00800000 | (1u << 12), 2, {R | W | X, R | W | X, R | W | X | EPS | WB});
  auto c = ept();
  auto r = mmu::ept_walk(m, c, 0x40012345, rd());
  REQUIRE(r.outcome == EptOutcome::kOk);
  CHECK(r.shift == 30);
  CHECK(r.hpa(0x40012345) == 0x80012345);
  r = mmu::ept_walk(m, c, 0x00212345, rd());
  REQUIRE(r.outcome == EptOutcome::kOk);
  CHECK(r.shift == 21);
  CHECK(r.hpa(0x00212345) == 0x00612345);
  CHECK(mmu::ept_walk(m, c, 0x00400000, rd()).outcome == EptOutcome::kMisconfig);  // bits 20:12
  c.page1g = false;
  CHECK(mmu::ept_walk(m, c, 0x40000000, rd()).outcome == EptOutcome::kMisconfig);
  c.page2m = false;
  CHECK(mmu::ept_walk(m, c, 0x00200000, rd()).outcome == EptOutcome::kMisconfig);
}

TEST_CASE("EPT: accessed and dirty flags when the EPTP enables them", "[mmu][ept]") {
  FlatMem m;
  Builder b(m, mmu::PagingFormat::kEpt4);
  auto w = b.map(0x9000, 0x9000, 1, {R | W | X, R | W | X, R | W | X, R | W | X | WB});
  auto c = ept(4, true);
  auto r = mmu::ept_walk(m, c, 0x9000, rd());
  REQUIRE(r.outcome == EptOutcome::kOk);
  for (uint64_t ea : w) CHECK((m.get(ea) & EA));
  CHECK(!(m.get(w[3]) & ED));
  CHECK(r.refs == 8);
  CHECK(r.writes == 4);
  r = mmu::ept_walk(m, c, 0x9000, wr());
  CHECK((m.get(w[3]) & ED));
  CHECK(r.refs == 5);
  // Not set on a violation.
  FlatMem m2;
  Builder b2(m2, mmu::PagingFormat::kEpt4);
  b2.map(0x9000, 0x9000, 1, {R | W | X, R | W | X, R | W | X, R | WB});
  CHECK(mmu::ept_walk(m2, c, 0x9000, wr()).outcome == EptOutcome::kViolation);
  CHECK(m2.writes == 0);
}

TEST_CASE("EPT: walk lengths other than 4 and 5 read nothing", "[mmu][ept]") {
  FlatMem m;
  Builder b(m, mmu::PagingFormat::kEpt4);
  b.map(0x7000, 0x7000, 1, {R | W | X, R | W | X, R | W | X, R | W | X | WB});
  for (unsigned pwl : {0u, 1u, 2u, 5u, 6u, 7u}) {  // EPTP bits 5:3
    auto c = ept();
    c.eptp = (c.eptp & ~0x38ull) | (pwl << 3);
    auto r = mmu::ept_walk(m, c, 0x7000, rd());
    INFO("EPTP[5:3] = " << pwl);
    CHECK(r.outcome == EptOutcome::kMisconfig);
    CHECK(r.refs == 0);
  }
  CHECK(m.reads == 0);
}

TEST_CASE("EPT: a 4-level walk ignores guest-physical bits above 47", "[mmu][ept]") {
  FlatMem m;
  Builder b(m, mmu::PagingFormat::kEpt4);
  b.map(0x7000, 0x9000, 1, {R | W | X, R | W | X, R | W | X, R | W | X | WB});
  auto r = mmu::ept_walk(m, ept(), 0x000F000000007123ull, rd());
  REQUIRE(r.outcome == EptOutcome::kOk);
  CHECK(r.hpa(0x000F000000007123ull) == 0x9123);
}

TEST_CASE("EPT: misconfiguration order and what is not checked", "[mmu][ept]") {
  struct Case {
    const char* what;
    std::vector<uint64_t> flags;  // PML4E, PDPTE, PDE, PTE
    mmu::EptAccess access;
    EptOutcome want;
    uint8_t rwx;
  };
  const Case cases[] = {
      {"write/execute (110b)", {R | W | X, R | W | X, R | W | X, W | X | WB}, rd(),
       EptOutcome::kMisconfig, 0},
      {"a lower misconfiguration beats an upper missing permission",
       {R | X, R | W | X, R | W | X, R | W | X | (2ull << 3)}, wr(), EptOutcome::kMisconfig, 0},
      {"not present stops the walk before a lower misconfiguration",
       {R | W | X, 0, R | W | X, W}, rd(), EptOutcome::kViolation, 0},
      {"a not-present entry's other bits are ignored", {R | W | X, (1ull << 51) | 0x78, 0, 0},
       rd(), EptOutcome::kViolation, 0},
      {"a non-leaf PDE with a memory type (bits 6:3 are reserved there)",
       {R | W | X, R | W | X, R | W | X | (6ull << 3), R | W | X | WB}, rd(),
       EptOutcome::kMisconfig, 0},
      {"PTE bit 7, bits 8-11 and 52-62 are ignored",
       {R | W | X, R | W | X, R | W | X | (0xFull << 8) | (0x7FFull << 52),
        R | W | X | WB | 0x80 | (0xFull << 8) | (0x7FFull << 52)},
       rd(), EptOutcome::kOk, 7},
      {"upper rights AND into the violation's bits 5:3", {R | X, R | W, R | W | X, R | W | X | WB},
       ex(), EptOutcome::kViolation, R},
  };
  for (const Case& k : cases) {
    FlatMem m;
    Builder b(m, mmu::PagingFormat::kEpt4);
    b.map(0x7000, 0x7000, 1, k.flags);
    INFO(k.what);
    auto r = mmu::ept_walk(m, ept(), 0x7000, k.access);
    CHECK(r.outcome == k.want);
    if (k.want != EptOutcome::kMisconfig) CHECK(r.rwx == k.rwx);
  }
}

TEST_CASE("EPT: dirty state, re-walk mask and suppress #VE", "[mmu][ept]") {
  FlatMem m;
  Builder b(m, mmu::PagingFormat::kEpt4);
  auto w = b.map(0x9000, 0x9000, 1, {R | W | X, R | W | X, R | W | X, R | W | WB | (1ull << 63)});
  b.map(0xA000, 0, 1, {R | W | X, R | W | X, R | W | X, 1ull << 63});
  auto c = ept(4, true);
  auto r = mmu::ept_walk(m, c, 0x9000, rd());
  REQUIRE(r.outcome == EptOutcome::kOk);
  CHECK(!r.dirty);
  CHECK(r.rewalk() == (mmu::REWALK_WRITE | mmu::REWALK_EXEC));  // D clear, X not granted
  r = mmu::ept_walk(m, c, 0x9000, wr());
  CHECK(r.dirty);
  CHECK(r.dirty_set);
  CHECK(r.rewalk() == mmu::REWALK_EXEC);
  r = mmu::ept_walk(m, c, 0x9000, wr());
  CHECK(!r.dirty_set);
  // A/D off: nothing to set, writes are never re-walked for D.
  CHECK(mmu::ept_walk(m, ept(), 0x9000, rd()).dirty);
  // A permission violation and a not-present entry report bit 63 of the entry, and
  // set no flag.
  const unsigned writes = m.writes;
  CHECK(mmu::ept_walk(m, c, 0x9000, ex()).suppress_ve);
  r = mmu::ept_walk(m, c, 0xA000, rd());
  CHECK(r.outcome == EptOutcome::kViolation);
  CHECK(r.suppress_ve);
  CHECK(m.writes == writes);
  CHECK((m.get(w[3]) & ED));
}

namespace {
struct Log final : mmu::PmlLog {
  bool is_full = false;
  std::vector<uint64_t> pages;
  bool full() override { return is_full; }
  void log(uint64_t gpa) override { pages.push_back(gpa); }
};
}  // namespace

TEST_CASE("EPT: page-modification logging", "[mmu][ept]") {
  FlatMem m;
  Builder b(m, mmu::PagingFormat::kEpt4);
  auto w = b.map(0x9000, 0x9000, 1, {R | W | X, R | W | X, R | W | X, R | W | X | WB});
  Log log;
  auto c = ept(4, true);
  c.pml = &log;
  log.is_full = true;
  auto r = mmu::ept_walk(m, c, 0x9123, rd());
  CHECK(r.outcome == EptOutcome::kPmlFull);  // A flags to set, log full: nothing set
  CHECK(m.writes == 0);
  log.is_full = false;
  REQUIRE(mmu::ept_walk(m, c, 0x9123, rd()).outcome == EptOutcome::kOk);
  CHECK(log.pages.empty());  // A flags are not logged
  log.is_full = true;
  CHECK(mmu::ept_walk(m, c, 0x9123, rd()).outcome == EptOutcome::kOk);  // nothing to set
  CHECK(mmu::ept_walk(m, c, 0x9123, wr()).outcome == EptOutcome::kPmlFull);  // D to set
  log.is_full = false;
  REQUIRE(mmu::ept_walk(m, c, 0x9123, wr()).outcome == EptOutcome::kOk);
  REQUIRE(log.pages.size() == 1);
  CHECK(log.pages[0] == 0x9000);
  CHECK((m.get(w[3]) & ED));
  // Without A/D the log is never consulted.
  log.is_full = true;
  c.eptp &= ~0x40ull;
  CHECK(mmu::ept_walk(m, c, 0x9123, wr()).outcome == EptOutcome::kOk);
}
