// ACPI: the tables read back from guest memory the way an OS finds them (ACPI 6.4
// 5.2), the PM fixed hardware (4.8) and the 0xCF9 reset control register.
#include <catch2/catch.hpp>

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "mmu/phys_mem.h"
#include "sim/dev/acpi.h"
#include "tests/dev/dev_rig.h"

using namespace sim;

namespace {

// Guest memory as an OS reads it.
struct Mem {
  mmu::PhysMem& m;
  uint64_t u(uint64_t pa, unsigned size) {
    uint64_t v = 0;
    m.read(pa, &v, size);
    return v;
  }
  std::string str(uint64_t pa, unsigned n) {
    std::string s(n, '\0');
    m.read(pa, s.data(), n);
    return s;
  }
  uint8_t sum(uint64_t pa, uint64_t n) {
    uint8_t s = 0;
    for (uint64_t i = 0; i < n; i++) s = uint8_t(s + u(pa + i, 1));
    return s;
  }
  // A system description table: signature, the length it claims, a zero checksum.
  uint64_t table(uint64_t pa, const char* sig) {
    INFO("table " << sig << " at 0x" << std::hex << pa);
    REQUIRE(str(pa, 4) == sig);
    const uint64_t len = u(pa + 4, 4);
    REQUIRE(len >= 36);
    CHECK(sum(pa, len) == 0);
    CHECK(str(pa + 10, 6) == "NESTSM");
    CHECK(str(pa + 16, 8) == "NESTSIM ");
    CHECK(str(pa + 28, 4) == "NSIM");
    return len;
  }
};

// The RSDP scan of ACPI 6.4 5.2.5.1: "RSD PTR " on a 16-byte boundary in
// 0xE0000-0xFFFFF whose first 20 bytes sum to 0. Returns every hit.
std::vector<uint64_t> scan_rsdp(Mem& mem) {
  std::vector<uint64_t> hits;
  for (uint64_t pa = 0xE0000; pa < 0x100000; pa += 16)
    if (mem.str(pa, 8) == "RSD PTR " && mem.sum(pa, 20) == 0) hits.push_back(pa);
  return hits;
}

struct Tables {
  uint64_t rsdp, rsdt, xsdt, fadt, madt, facs, dsdt;
};

Tables walk(Mem& mem) {
  Tables t{};
  auto hits = scan_rsdp(mem);
  REQUIRE(hits.size() == 1);
  t.rsdp = hits[0];
  CHECK(t.rsdp == kAcpiRsdpAddr);
  CHECK(mem.u(t.rsdp + 15, 1) == 2);    // revision 2: XSDT present
  CHECK(mem.u(t.rsdp + 20, 4) == 36);   // length
  CHECK(mem.sum(t.rsdp, 36) == 0);      // extended checksum
  CHECK(mem.str(t.rsdp + 9, 6) == "NESTSM");
  t.rsdt = mem.u(t.rsdp + 16, 4);
  t.xsdt = mem.u(t.rsdp + 24, 8);
  const uint64_t rsdt_len = mem.table(t.rsdt, "RSDT");
  const uint64_t xsdt_len = mem.table(t.xsdt, "XSDT");
  REQUIRE((rsdt_len - 36) % 4 == 0);
  REQUIRE((xsdt_len - 36) % 8 == 0);
  REQUIRE((rsdt_len - 36) / 4 == (xsdt_len - 36) / 8);
  for (uint64_t i = 0; i < (xsdt_len - 36) / 8; i++) {
    const uint64_t p = mem.u(t.xsdt + 36 + 8 * i, 8);
    CHECK(mem.u(t.rsdt + 36 + 4 * i, 4) == p);  // RSDT and XSDT agree
    const std::string sig = mem.str(p, 4);
    if (sig == "FACP") t.fadt = p;
    else if (sig == "APIC") t.madt = p;
    else FAIL("unexpected table " << sig);
  }
  REQUIRE(t.fadt);
  REQUIRE(t.madt);
  mem.table(t.fadt, "FACP");
  mem.table(t.madt, "APIC");
  t.facs = mem.u(t.fadt + 132, 8);
  t.dsdt = mem.u(t.fadt + 140, 8);
  CHECK(mem.u(t.fadt + 36, 4) == t.facs);  // FIRMWARE_CTRL == X_FIRMWARE_CTRL
  CHECK(mem.u(t.fadt + 40, 4) == t.dsdt);  // DSDT == X_DSDT
  mem.table(t.dsdt, "DSDT");
  return t;
}

struct TableRig {
  mmu::PhysMem phys{16ull << 20};
  Mem mem{phys};
  AcpiConfig cfg;
  TableRig() { cfg.ram_bytes = phys.ram_size(); }
};

// AML integer data objects (ACPI 6.4 20.2.3): ZeroOp, OneOp, OnesOp, Byte/Word/
// DWord/QWordPrefix.
uint64_t aml_integer(Mem& mem, uint64_t& pc) {
  const uint8_t op = uint8_t(mem.u(pc++, 1));
  switch (op) {
    case 0x00: return 0;
    case 0x01: return 1;
    case 0xFF: return ~0ull;
    case 0x0A: pc += 1; return mem.u(pc - 1, 1);
    case 0x0B: pc += 2; return mem.u(pc - 2, 2);
    case 0x0C: pc += 4; return mem.u(pc - 4, 4);
    case 0x0E: pc += 8; return mem.u(pc - 8, 8);
  }
  FAIL("not an integer opcode: " << int(op));
  return 0;
}

// PkgLength (20.2.4): bits 7:6 of the lead byte count the following bytes.
uint64_t aml_pkglength(Mem& mem, uint64_t& pc) {
  const uint8_t lead = uint8_t(mem.u(pc++, 1));
  const unsigned follow = lead >> 6;
  if (follow == 0) return lead & 0x3F;
  uint64_t len = lead & 0x0F;
  for (unsigned i = 0; i < follow; i++) len |= mem.u(pc++, 1) << (4 + 8 * i);
  return len;
}

unsigned reg_index(const Device& d, const std::string& name) {
  for (unsigned i = 0; i < d.reg_names().size(); i++)
    if (d.reg_names()[i] == name) return i;
  FAIL("no register " << name);
  return 0;
}

}  // namespace

TEST_CASE("acpi tables: RSDP scan, checksums, RSDT/XSDT, FADT pointers", "[acpi]") {
  TableRig r;
  r.cfg.cpus = 2;
  build_acpi_tables(r.phys, r.cfg);
  Tables t = walk(r.mem);
  // Every table in the firmware area, below kAcpiTablesEnd; the FACS 64-byte aligned.
  for (uint64_t p : {t.rsdt, t.xsdt, t.fadt, t.madt, t.facs, t.dsdt}) {
    CHECK(p >= kFirmwareBase);
    CHECK(p + r.mem.u(p + 4, 4) <= kAcpiTablesEnd);
  }
  CHECK(t.facs % 64 == 0);
  CHECK(r.mem.str(t.facs, 4) == "FACS");
  CHECK(r.mem.u(t.facs + 4, 4) == 64);
  CHECK(r.mem.u(t.facs + 32, 1) == 2);  // version
  CHECK(r.mem.u(t.rsdt + 8, 1) == 1);
  CHECK(r.mem.u(t.xsdt + 8, 1) == 1);
}

TEST_CASE("acpi tables: FADT fields", "[acpi]") {
  TableRig r;
  r.cfg.reset_register = true;
  build_acpi_tables(r.phys, r.cfg);
  Tables t = walk(r.mem);
  Mem& m = r.mem;
  const uint64_t f = t.fadt;
  CHECK(m.u(f + 4, 4) == 276);  // revision 6 layout
  CHECK(m.u(f + 8, 1) == 6);
  CHECK(m.u(f + 131, 1) == 4);  // minor version
  CHECK(m.u(f + 46, 2) == 9);   // SCI_INT
  CHECK(m.u(f + 48, 4) == 0);   // SMI_CMD: always in ACPI mode
  CHECK(m.u(f + 52, 2) == 0);   // ACPI_ENABLE / ACPI_DISABLE
  CHECK(m.u(f + 56, 4) == 0x600);  // PM1a_EVT_BLK
  CHECK(m.u(f + 60, 4) == 0);      // no PM1b
  CHECK(m.u(f + 64, 4) == 0x604);  // PM1a_CNT_BLK
  CHECK(m.u(f + 72, 4) == 0);      // no PM2
  CHECK(m.u(f + 76, 4) == 0x608);  // PM_TMR_BLK
  CHECK(m.u(f + 80, 4) == 0x620);  // GPE0_BLK
  CHECK(m.u(f + 84, 4) == 0);      // no GPE1
  CHECK(m.u(f + 88, 1) == 4);      // PM1_EVT_LEN
  CHECK(m.u(f + 89, 1) == 2);      // PM1_CNT_LEN
  CHECK(m.u(f + 90, 1) == 0);      // PM2_CNT_LEN
  CHECK(m.u(f + 91, 1) == 4);      // PM_TMR_LEN
  CHECK(m.u(f + 92, 1) == 4);      // GPE0_BLK_LEN
  CHECK(m.u(f + 93, 1) == 0);      // GPE1_BLK_LEN
  CHECK(m.u(f + 96, 2) > 100);     // no C2
  CHECK(m.u(f + 98, 2) > 1000);    // no C3
  CHECK(m.u(f + 106, 2) == 0);     // no RTC day/month alarm registers
  CHECK(m.u(f + 108, 1) == 0x32);  // CMOS century index
  const uint64_t boot_arch = m.u(f + 109, 2);
  CHECK((boot_arch & 1) == 1);  // LEGACY_DEVICES
  CHECK((boot_arch & 2) == 0);  // no 8042
  CHECK((boot_arch & 0x20) == 0);  // CMOS RTC present
  const uint64_t flags = m.u(f + 112, 4);
  CHECK((flags & (1u << 0)) != 0);   // WBINVD
  CHECK((flags & (1u << 2)) != 0);   // PROC_C1
  CHECK((flags & (1u << 4)) == 0);   // fixed-hardware power button
  CHECK((flags & (1u << 5)) != 0);   // no sleep button
  CHECK((flags & (1u << 8)) == 0);   // TMR_VAL_EXT clear: 24-bit timer
  CHECK((flags & (1u << 10)) != 0);  // RESET_REG_SUP
  CHECK((flags & (1u << 20)) == 0);  // not hardware-reduced
  // RESET_REG: system I/O, 8 bits at offset 0, byte access, port 0xCF9; value 0x06.
  CHECK(m.u(f + 116, 4) == 0x01'00'08'01);
  CHECK(m.u(f + 120, 8) == 0xCF9);
  CHECK(m.u(f + 128, 1) == 0x06);
  // X_ blocks: system I/O, the same ports, widths = the _LEN fields x 8.
  struct Gas { unsigned off, bits, access; uint64_t addr; };
  for (Gas g : {Gas{148, 32, 2, 0x600}, Gas{172, 16, 2, 0x604}, Gas{208, 32, 3, 0x608},
                Gas{220, 32, 1, 0x620}}) {
    INFO("GAS at FADT+" << g.off);
    CHECK(m.u(f + g.off, 1) == 1);
    CHECK(m.u(f + g.off + 1, 1) == g.bits);
    CHECK(m.u(f + g.off + 2, 1) == 0);
    CHECK(m.u(f + g.off + 3, 1) == g.access);
    CHECK(m.u(f + g.off + 4, 8) == g.addr);
  }
  for (unsigned off : {160u, 184u, 196u, 232u, 244u, 256u})  // PM1b, PM2, GPE1, sleep regs
    CHECK(m.u(f + off + 4, 8) == 0);

  // Without the reset register the flag and the register are clear.
  r.cfg.reset_register = false;
  build_acpi_tables(r.phys, r.cfg);
  t = walk(r.mem);
  CHECK((m.u(t.fadt + 112, 4) & (1u << 10)) == 0);
  CHECK(m.u(t.fadt + 120, 8) == 0);
}

TEST_CASE("acpi tables: the DSDT's AML: \\_S5 and the PCI root bridge", "[acpi]") {
  TableRig r;
  build_acpi_tables(r.phys, r.cfg);  // 16 MiB of RAM
  Tables t = walk(r.mem);
  Mem& m = r.mem;
  CHECK(m.u(t.dsdt + 8, 1) == 2);  // revision 2: 64-bit integers
  const uint64_t end = t.dsdt + m.u(t.dsdt + 4, 4);
  uint64_t pc = t.dsdt + 36;

  // Name (_S5, Package (0x04) { 0x05, 0x05, Zero, Zero })
  REQUIRE(m.u(pc++, 1) == 0x08);  // NameOp
  CHECK(m.str(pc, 4) == "_S5_");
  pc += 4;
  REQUIRE(m.u(pc++, 1) == 0x12);  // PackageOp
  uint64_t at = pc;
  const uint64_t s5_end = at + aml_pkglength(m, pc);
  REQUIRE(m.u(pc++, 1) == 4);  // NumElements
  std::vector<uint64_t> elems;
  while (pc < s5_end) elems.push_back(aml_integer(m, pc));
  CHECK(pc == s5_end);
  CHECK(elems == std::vector<uint64_t>{AcpiPm::kS5SlpTyp, AcpiPm::kS5SlpTyp, 0, 0});

  // Scope (\_SB) { Device (PCI0) { _HID, _UID, _CRS } }
  REQUIRE(m.u(pc++, 1) == 0x10);  // ScopeOp
  at = pc;
  CHECK(at + aml_pkglength(m, pc) == end);  // the scope is the rest of the table
  CHECK(m.str(pc, 5) == "\\_SB_");
  pc += 5;
  REQUIRE(m.u(pc, 2) == 0x825B);  // ExtOpPrefix DeviceOp
  pc += 2;
  at = pc;
  CHECK(at + aml_pkglength(m, pc) == end);
  CHECK(m.str(pc, 4) == "PCI0");
  pc += 4;
  auto name = [&](const char* n) {
    REQUIRE(m.u(pc++, 1) == 0x08);
    CHECK(m.str(pc, 4) == n);
    pc += 4;
  };
  name("_HID");
  CHECK(aml_integer(m, pc) == 0x030A'D041);  // EisaId ("PNP0A03")
  name("_UID");
  CHECK(aml_integer(m, pc) == 0);
  name("_CRS");
  REQUIRE(m.u(pc++, 1) == 0x11);  // BufferOp
  at = pc;
  const uint64_t buf_end = at + aml_pkglength(m, pc);
  CHECK(buf_end == end);
  const uint64_t buf_size = aml_integer(m, pc);
  CHECK(pc + buf_size == buf_end);

  // The resource template (ACPI 6.4 6.4): {type, min, max, length} of each address
  // space descriptor, the I/O port descriptor, the end tag.
  struct Range { unsigned kind; uint64_t min, max, len; };
  std::vector<Range> ranges;
  bool end_tag = false;
  while (pc < buf_end && !end_tag) {
    const unsigned tag = unsigned(m.u(pc, 1));
    if (tag == 0x79) {  // End Tag
      end_tag = true;
      pc += 2;
    } else if (tag == 0x47) {  // I/O port: decode16, min, max, alignment, length
      CHECK(m.u(pc + 1, 1) == 1);
      ranges.push_back({0x47, m.u(pc + 2, 2), m.u(pc + 4, 2), m.u(pc + 7, 1)});
      pc += 8;
    } else if (tag == 0x88 || tag == 0x87) {  // Word / DWord address space
      const unsigned w = tag == 0x88 ? 2 : 4;
      const uint64_t len = m.u(pc + 1, 2);
      CHECK(len == 3 + 5 * w);
      const unsigned type = unsigned(m.u(pc + 3, 1));
      CHECK(m.u(pc + 4, 1) == 0x0C);  // producer, positive decode, min/max fixed
      const uint64_t f = pc + 6;
      CHECK(m.u(f, w) == 0);          // granularity
      CHECK(m.u(f + 3 * w, w) == 0);  // translation offset
      ranges.push_back({tag << 8 | type, m.u(f + w, w), m.u(f + 2 * w, w), m.u(f + 4 * w, w)});
      pc += 3 + len;
    } else {
      FAIL("unexpected resource descriptor " << tag);
    }
  }
  CHECK(end_tag);
  CHECK(pc == end);
  REQUIRE(ranges.size() == 6);
  auto check_range = [](const Range& g, unsigned kind, uint64_t min, uint64_t max) {
    CHECK(g.kind == kind);
    CHECK(g.min == min);
    CHECK(g.max == max);
    if (kind != 0x47) CHECK(g.len == max - min + 1);
  };
  check_range(ranges[0], 0x8802, 0x00, 0xFF);           // bus numbers
  CHECK(ranges[1].kind == 0x47);                        // the configuration ports
  CHECK(ranges[1].min == 0xCF8);
  CHECK(ranges[1].len == 8);
  check_range(ranges[2], 0x8801, 0x0000, 0x0CF7);       // I/O below them
  check_range(ranges[3], 0x8801, 0x0D00, 0xFFFF);       // and above
  check_range(ranges[4], 0x8700, 0xA0000, 0xBFFFF);     // legacy VGA window
  check_range(ranges[5], 0x8700, 16ull << 20, 0xFEBFFFFF);  // the hole above RAM

  // A RAM size that is not a MiB multiple: the hole starts at the next MiB.
  r.cfg.ram_bytes = (16ull << 20) - 4096;
  build_acpi_tables(r.phys, r.cfg);
  t = walk(r.mem);
  const uint64_t e = t.dsdt + m.u(t.dsdt + 4, 4);
  CHECK(m.u(e - 2 - 26 + 10, 4) == 16ull << 20);
}

TEST_CASE("acpi tables: MADT entries", "[acpi]") {
  TableRig r;
  r.cfg.cpus = 3;
  r.cfg.ioapic_id = 3;
  build_acpi_tables(r.phys, r.cfg);
  Tables t = walk(r.mem);
  Mem& m = r.mem;
  const uint64_t a = t.madt, len = m.u(a + 4, 4);
  CHECK(m.u(a + 8, 1) == 5);
  CHECK(m.u(a + 36, 4) == 0xFEE00000);  // local APIC address
  CHECK(m.u(a + 40, 4) == 1);           // PCAT_COMPAT
  std::vector<unsigned> lapic_ids, lapic_uids;
  unsigned ioapics = 0, nmis = 0;
  std::vector<std::vector<unsigned>> isos;  // {irq, gsi, flags}
  uint64_t p = a + 44;
  while (p < a + len) {
    const unsigned type = unsigned(m.u(p, 1)), elen = unsigned(m.u(p + 1, 1));
    REQUIRE(elen >= 2);
    switch (type) {
      case 0:
        CHECK(elen == 8);
        lapic_uids.push_back(unsigned(m.u(p + 2, 1)));
        lapic_ids.push_back(unsigned(m.u(p + 3, 1)));
        CHECK(m.u(p + 4, 4) == 1);  // enabled
        break;
      case 1:
        CHECK(elen == 12);
        ioapics++;
        CHECK(m.u(p + 2, 1) == 3);  // ID
        CHECK(m.u(p + 4, 4) == 0xFEC00000);
        CHECK(m.u(p + 8, 4) == 0);  // GSI base
        break;
      case 2:
        CHECK(elen == 10);
        CHECK(m.u(p + 2, 1) == 0);  // ISA bus
        isos.push_back({unsigned(m.u(p + 3, 1)), unsigned(m.u(p + 4, 4)), unsigned(m.u(p + 8, 2))});
        break;
      case 4:
        CHECK(elen == 6);
        nmis++;
        CHECK(m.u(p + 2, 1) == 0xFF);  // all processors
        CHECK(m.u(p + 5, 1) == 1);     // LINT1
        break;
      default: FAIL("unexpected MADT entry type " << type);
    }
    p += elen;
  }
  CHECK(p == a + len);  // the entries fill the table exactly
  CHECK(lapic_ids == std::vector<unsigned>{0, 1, 2});
  CHECK(lapic_uids == std::vector<unsigned>{0, 1, 2});
  CHECK(ioapics == 1);
  CHECK(nmis == 1);
  CHECK(isos == std::vector<std::vector<unsigned>>{{0, 2, 0x5}, {9, 9, 0xD}});
}

TEST_CASE("acpi tables: configuration follows, bad configuration is refused", "[acpi]") {
  TableRig r;
  r.cfg.sci_irq = 11;
  r.cfg.pm_base = 0xB000;
  r.cfg.cpus = 255;
  build_acpi_tables(r.phys, r.cfg);
  Tables t = walk(r.mem);
  CHECK(r.mem.u(t.fadt + 46, 2) == 11);
  CHECK(r.mem.u(t.fadt + 76, 4) == 0xB008);
  CHECK(r.mem.u(t.fadt + 208 + 4, 8) == 0xB008);
  CHECK(r.mem.u(t.madt + 4, 4) == 44 + 255 * 8 + 12 + 2 * 10 + 6);

  auto refused = [&](AcpiConfig c) {
    CHECK_THROWS_AS(build_acpi_tables(r.phys, c), std::invalid_argument);
  };
  AcpiConfig c = r.cfg;
  c.cpus = 0; refused(c);
  c.cpus = 256; refused(c);
  c = r.cfg; c.sci_irq = 2; refused(c);
  c.sci_irq = 0; refused(c);
  c.sci_irq = 16; refused(c);
  c = r.cfg; c.pm_base = 0x601; refused(c);
  c.pm_base = 0; refused(c);
  c.pm_base = 0xFFE0; refused(c);
  c = r.cfg; c.ram_bytes = 0x80000; refused(c);
  c.ram_bytes = kRamLimit + 1; refused(c);
  mmu::PhysMem small(0x80000);
  c = r.cfg;
  CHECK_THROWS_AS(build_acpi_tables(small, c), std::invalid_argument);
}

// --- PM fixed hardware ---------------------------------------------------------------

namespace {
struct PmRig {
  test::DevRig rig;
  unsigned power_offs = 0;
  AcpiPm pm{rig.ctx, 0x600, 9, [this] { power_offs++; }};
  uint64_t cycle_of(uint64_t tick) { return rig.ctx.cycle_of_tick(tick, AcpiPm::kTimerHz); }
  uint32_t in(unsigned off, unsigned size) { return pm.port_in(uint16_t(0x600 + off), size); }
  void out(unsigned off, unsigned size, uint32_t v) { pm.port_out(uint16_t(0x600 + off), size, v); }
};
}  // namespace

TEST_CASE("acpi pm: PM_TMR counts 3.579545 MHz ticks at exact cycles and wraps at 24 bits", "[acpi]") {
  PmRig r;
  CHECK(r.in(0x08, 4) == 0);
  for (uint64_t tick : {1ull, 1000ull, 3'579'545ull, (1ull << 24) - 1}) {
    r.rig.advance_to(r.cycle_of(tick) - 1);
    CHECK(r.in(0x08, 4) == ((tick - 1) & 0xFFFFFF));
    r.rig.advance_to(r.cycle_of(tick));
    CHECK(r.in(0x08, 4) == (tick & 0xFFFFFF));
  }
  // One simulated second at 2 GHz is 3579545 ticks.
  r.rig.advance_to(2'000'000'000ull * 10);
  CHECK(r.pm.timer() == (35'795'450ull & 0xFFFFFF));
  r.rig.advance_to(r.cycle_of((1ull << 24) * 5 + 7));
  CHECK(r.in(0x08, 4) == 7);  // wrapped; bits 31:24 read 0
  CHECK(r.in(0x0B, 1) == 0);
  // Byte and word reads give the bytes of the same value.
  r.rig.advance_to(r.cycle_of((1ull << 24) * 6 + 0x123456));
  CHECK(r.in(0x08, 1) == 0x56);
  CHECK(r.in(0x09, 2) == 0x1234);
  // The timer is read-only and needs no events.
  r.out(0x08, 4, 0);
  CHECK(r.in(0x08, 4) == 0x123456);
  CHECK(r.rig.events.next_due() == EventQueue::kNever);
}

TEST_CASE("acpi pm: TMR_STS sets when bit 23 toggles, write-1-to-clear", "[acpi]") {
  PmRig r;
  r.rig.advance_to(r.cycle_of(1u << 23) - 1);
  CHECK((r.in(0x00, 2) & 1) == 0);
  r.rig.advance_to(r.cycle_of(1u << 23));
  CHECK((r.in(0x00, 2) & 1) == 1);
  CHECK(!r.pm.sci());  // TMR_EN clear: status only
  r.out(0x00, 2, 0x0000);  // writing 0 leaves it
  CHECK((r.in(0x00, 2) & 1) == 1);
  r.out(0x00, 2, 0xFFFE);  // other bits: no effect on TMR_STS
  CHECK((r.in(0x00, 2) & 1) == 1);
  r.out(0x00, 1, 0x01);    // byte write of 1 clears it
  CHECK((r.in(0x00, 2) & 1) == 0);
  r.rig.advance_to(r.cycle_of(1u << 24) - 1);
  CHECK((r.in(0x00, 2) & 1) == 0);
  r.rig.advance_to(r.cycle_of(1u << 24));  // bit 23 toggles 1 -> 0 at the wrap
  CHECK((r.in(0x00, 2) & 1) == 1);
  // Several toggles while set: still just set.
  r.rig.advance_to(r.cycle_of(5u << 23));
  CHECK(r.pm.pm1_sts() == 1);
}

TEST_CASE("acpi pm: the timer's SCI", "[acpi]") {
  PmRig r;
  auto& pins = r.rig.ioapic_pins;
  r.out(0x02, 2, AcpiPm::kTmr);  // TMR_EN
  CHECK(r.in(0x02, 2) == AcpiPm::kTmr);
  CHECK(r.rig.events.next_due() == r.cycle_of(1u << 23));
  REQUIRE(r.rig.skip_to_next());
  CHECK(r.rig.cycles == r.cycle_of(1u << 23));
  CHECK(r.pm.sci());
  CHECK(pins.level[9]);
  CHECK(r.rig.pic_pins.level[9]);
  CHECK(r.rig.events.next_due() == EventQueue::kNever);  // level held: nothing to schedule
  // The handler clears TMR_STS: SCI drops, the next toggle is scheduled.
  r.out(0x00, 2, AcpiPm::kTmr);
  CHECK(!pins.level[9]);
  CHECK(r.rig.events.next_due() == r.cycle_of(2u << 23));
  REQUIRE(r.rig.skip_to_next());
  CHECK(pins.level[9]);
  CHECK(pins.rises[9] == 2);
  // Disabling TMR_EN drops the SCI (status stays) and disarms the event.
  r.out(0x02, 2, 0);
  CHECK(!pins.level[9]);
  CHECK(r.pm.pm1_sts() == AcpiPm::kTmr);
  r.out(0x00, 2, AcpiPm::kTmr);
  CHECK(r.rig.events.next_due() == EventQueue::kNever);
  // Enabling it with the status already set raises the SCI at once.
  r.rig.advance_to(r.cycle_of(3u << 23));
  CHECK(!pins.level[9]);
  r.out(0x02, 1, AcpiPm::kTmr);
  CHECK(pins.level[9]);
}

TEST_CASE("acpi pm: power button status and enable", "[acpi]") {
  PmRig r;
  r.out(0x02, 2, 0xFFFF);
  CHECK(r.in(0x02, 2) == 0x4721);  // TMR, GBL, PWRBTN, SLPBTN, RTC enables; PCIEXP_WAKE_DIS
  r.out(0x02, 2, 0);
  r.pm.press_power_button();
  CHECK(r.in(0x00, 2) == AcpiPm::kPwrBtn);
  CHECK(!r.pm.sci());
  r.out(0x03, 1, AcpiPm::kPwrBtn >> 8);  // PWRBTN_EN (byte write of the high half)
  CHECK(r.pm.sci());
  CHECK(r.rig.pic_pins.level[9]);
  r.out(0x01, 1, 0x01);  // write-1-to-clear PWRBTN_STS (bit 8)
  CHECK(r.in(0x00, 2) == 0);
  CHECK(!r.pm.sci());
  // Status bits with no source never set.
  r.out(0x00, 2, 0xFFFF);
  CHECK(r.in(0x00, 2) == 0);
}

TEST_CASE("acpi pm: PM1_CNT, SLP_EN with the _S5 type powers off", "[acpi]") {
  PmRig r;
  CHECK(r.in(0x04, 2) == AcpiPm::kSciEn);
  r.out(0x04, 2, 0);  // SCI_EN cannot be cleared (no SMI, always ACPI mode)
  CHECK(r.in(0x04, 2) == AcpiPm::kSciEn);
  r.out(0x04, 2, 0xFFFF & ~AcpiPm::kSlpEn);
  CHECK(r.in(0x04, 2) == (AcpiPm::kSciEn | AcpiPm::kBmRld | AcpiPm::kSlpTypMask));
  // Unsupported sleep types are ignored; SLP_EN reads 0.
  for (unsigned typ : {0u, 1u, 3u, 4u, 7u}) {
    r.out(0x04, 2, typ << AcpiPm::kSlpTypShift | AcpiPm::kSlpEn);
    CHECK(r.power_offs == 0);
    CHECK((r.in(0x04, 2) & AcpiPm::kSlpEn) == 0);
    CHECK(r.in(0x04, 2) == (AcpiPm::kSciEn | typ << AcpiPm::kSlpTypShift));
  }
  // ACPICA's order: SLP_TYP first, then SLP_TYP | SLP_EN.
  r.out(0x04, 2, AcpiPm::kS5SlpTyp << AcpiPm::kSlpTypShift);
  CHECK(r.power_offs == 0);
  r.out(0x04, 2, AcpiPm::kS5SlpTyp << AcpiPm::kSlpTypShift | AcpiPm::kSlpEn | AcpiPm::kSciEn);
  CHECK(r.power_offs == 1);
  // A byte write of the high half alone does it too.
  r.out(0x05, 1, (AcpiPm::kS5SlpTyp << AcpiPm::kSlpTypShift | AcpiPm::kSlpEn) >> 8);
  CHECK(r.power_offs == 2);
}

TEST_CASE("acpi pm: GPE0, reserved offsets, odd sizes, counting, reset", "[acpi]") {
  PmRig r;
  r.out(0x20, 2, 0xFFFF);  // GPE0_STS: no sources, write-1-to-clear of nothing
  CHECK(r.in(0x20, 2) == 0);
  r.out(0x22, 2, 0xA55A);  // GPE0_EN: storage
  CHECK(r.in(0x22, 2) == 0xA55A);
  CHECK(r.in(0x20, 4) == 0xA55A'0000);
  CHECK(!r.pm.sci());
  // Reserved offsets and bytes past the block read all-ones; writes are dropped.
  for (unsigned off : {0x06u, 0x07u, 0x0Cu, 0x10u, 0x1Fu, 0x24u, 0x2Fu}) {
    r.out(off, 1, 0);
    CHECK(r.in(off, 1) == 0xFF);
  }
  CHECK(r.in(0x2E, 4) == 0xFFFF'FFFF);
  CHECK(r.in(0x06, 4) == 0x0000'FFFF);  // 0x06-0x07 reserved, then PM_TMR = 0
  // A dword at PM1a_EVT reads STS and EN together.
  r.out(0x02, 2, AcpiPm::kPwrBtn);
  CHECK(r.in(0x00, 4) == uint32_t(AcpiPm::kPwrBtn) << 16);
  CHECK(r.pm.reads(reg_index(r.pm, "pm1_sts")) == 1);
  CHECK(r.pm.writes(reg_index(r.pm, "pm1_en")) == 1);
  CHECK(r.pm.reads(reg_index(r.pm, "pm_tmr")) == 0);
  r.in(0x08, 4);
  CHECK(r.pm.reads(reg_index(r.pm, "pm_tmr")) == 1);
  // Reset at a later time: the counter restarts from 0, enables clear.
  r.out(0x02, 2, AcpiPm::kTmr);
  r.rig.advance_to(r.cycle_of(12345));
  r.pm.reset();
  CHECK(r.pm.timer() == 0);
  CHECK(r.pm.pm1_en() == 0);
  CHECK(r.in(0x22, 2) == 0);
  CHECK(r.rig.events.next_due() == EventQueue::kNever);
  r.rig.advance_to(r.cycle_of(12345 + 100));
  CHECK(r.pm.timer() == 100);
  r.out(0x02, 2, AcpiPm::kTmr);
  CHECK(r.rig.events.next_due() == r.cycle_of(12345 + (1u << 23)));
}

TEST_CASE("acpi pm: tracing of SCI and power-off", "[acpi]") {
  PmRig r;
  r.rig.enable_trace();
  r.out(0x02, 2, AcpiPm::kTmr);
  r.rig.skip_to_next();
  r.out(0x04, 2, AcpiPm::kS5SlpTyp << AcpiPm::kSlpTypShift | AcpiPm::kSlpEn);
  std::string all;
  for (auto& l : r.rig.trace_lines) all += l + "\n";
  CHECK(all.find("acpi_pm.pm1_en w 0x1") != std::string::npos);
  CHECK(all.find("irq acpi_pm: SCI high") != std::string::npos);
  CHECK(all.find("power off (S5)") != std::string::npos);
}

// --- Reset control -------------------------------------------------------------------

TEST_CASE("reset control at 0xCF9", "[acpi]") {
  test::DevRig rig;
  unsigned resets = 0;
  ResetControl rc(rig.ctx, [&] { resets++; });
  CHECK(rc.port_in(0xCF9, 1) == 0);
  rc.port_out(0xCF9, 1, 0x02);  // SRST alone: selects the reset type, no reset
  CHECK(resets == 0);
  CHECK(rc.port_in(0xCF9, 1) == 0x02);
  rc.port_out(0xCF9, 1, 0xFF);  // RCPU: reset; reserved bits do not stick
  CHECK(resets == 1);
  CHECK(rc.port_in(0xCF9, 1) == 0x0A);
  // Linux's sequence (reboot=pci) and the FADT's RESET_VALUE.
  const uint8_t cf9 = uint8_t(rc.port_in(0xCF9, 1) & ~0x06);
  rc.port_out(0xCF9, 1, cf9 | 0x02);
  CHECK(resets == 1);
  rc.port_out(0xCF9, 1, cf9 | 0x06);
  CHECK(resets == 2);
  rc.port_out(0xCF9, 1, ResetControl::kResetValue);
  CHECK(resets == 3);
  rc.port_out(0xCF9, 1, 0x00);  // soft-reset type, no RCPU
  CHECK(resets == 3);
  rc.port_out(0xCF9, 1, 0x04);  // soft reset (INIT): a machine reset here too
  CHECK(resets == 4);
  CHECK(rc.port_in(0xCF9, 2) == 0xFF00);
  rc.reset();
  CHECK(rc.value() == 0);
  CHECK(rc.reads(0) == 5);
}
