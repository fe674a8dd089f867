#include "sim/dev/acpi.h"

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/dev/irq.h"

namespace sim {

// --- Tables ------------------------------------------------------------------------

namespace {

// A table being built: little-endian fields at explicit offsets (the offsets are the
// spec's, so each field line can be checked against its table in the ACPI spec).
struct Table {
  std::vector<uint8_t> b;
  explicit Table(size_t n) : b(n, 0) {}
  void put(size_t off, unsigned size, uint64_t v) {
    for (unsigned i = 0; i < size; i++) b[off + i] = uint8_t(v >> (8 * i));
  }
  void put_str(size_t off, const char* s, size_t n) { std::memcpy(&b[off], s, n); }
  void append(std::initializer_list<uint8_t> bytes) { b.insert(b.end(), bytes); }
  size_t size() const { return b.size(); }
  // Generic Address Structure (ACPI 6.4 5.2.3.2): space, bit width, bit offset,
  // access size (1 byte, 2 word, 3 dword), address.
  void gas(size_t off, uint8_t space, uint8_t bits, uint8_t access, uint64_t addr) {
    put(off, 1, space);
    put(off + 1, 1, bits);
    put(off + 2, 1, 0);
    put(off + 3, 1, access);
    put(off + 4, 8, addr);
  }
  // Makes the bytes [off, off+n) sum to 0 mod 256 by setting the byte at `at`.
  void checksum(size_t at, size_t off, size_t n) {
    b[at] = 0;
    uint8_t sum = 0;
    for (size_t i = off; i < off + n; i++) sum = uint8_t(sum + b[i]);
    b[at] = uint8_t(-sum);
  }
};

constexpr uint8_t kSpaceIo = 1;  // GAS address space: system I/O
constexpr uint8_t kAccessByte = 1, kAccessWord = 2, kAccessDword = 3;

// The system description table header (ACPI 6.4 5.2.6, Table 5.4), 36 bytes; the
// length and checksum are set by finish().
constexpr size_t kHeaderLen = 36;
void header(Table& t, const char sig[4], uint8_t revision) {
  t.put_str(0, sig, 4);
  t.put(8, 1, revision);
  t.put_str(10, "NESTSM", 6);    // OEMID
  t.put_str(16, "NESTSIM ", 8);  // OEM Table ID
  t.put(24, 4, 1);               // OEM Revision
  t.put_str(28, "NSIM", 4);      // Creator ID
  t.put(32, 4, 1);               // Creator Revision
}
void finish(Table& t) {
  t.put(4, 4, t.size());
  t.checksum(9, 0, t.size());
}

// FACS (ACPI 6.4 5.2.10, Table 5.13): no checksum; no waking vector (no S1-S4), no
// global lock owner, version 2.
Table build_facs() {
  Table t(64);
  t.put_str(0, "FACS", 4);
  t.put(4, 4, 64);  // Length
  t.put(32, 1, 2);  // Version
  return t;
}

// --- AML (ACPI 6.4 chapter 20), just the encodings the DSDT uses ----------------------

using Aml = std::vector<uint8_t>;

Aml cat(std::initializer_list<Aml> parts) {
  Aml out;
  for (const Aml& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
// PkgLength (20.2.4) followed by `body`: the length counts its own bytes; one byte up
// to 63, else a lead byte (bits 7:6 = following bytes, bits 3:0 = low nibble) and
// the rest of the length 8 bits a byte.
Aml pkg(const Aml& body) {
  size_t n = body.size() + 1;
  Aml out;
  if (n <= 0x3F) {
    out.push_back(uint8_t(n));
  } else {
    unsigned follow = 1;
    while ((n + follow) >> (4 + 8 * follow)) follow++;
    n += follow;
    out.push_back(uint8_t(follow << 6 | (n & 0x0F)));
    for (unsigned i = 0; i < follow; i++) out.push_back(uint8_t(n >> (4 + 8 * i)));
  }
  out.insert(out.end(), body.begin(), body.end());
  return out;
}
Aml seg(const char s[4]) { return Aml(s, s + 4); }  // NameSeg (20.2.2)
// Integer data objects (20.2.3): ZeroOp, OneOp, Byte/Word/DWord/QWordPrefix.
Aml integer(uint64_t v) {
  if (v <= 1) return {uint8_t(v)};
  Aml out;
  unsigned n = v <= 0xFF ? 1 : v <= 0xFFFF ? 2 : v <= 0xFFFF'FFFF ? 4 : 8;
  out.push_back(n == 1 ? 0x0A : n == 2 ? 0x0B : n == 4 ? 0x0C : 0x0E);
  for (unsigned i = 0; i < n; i++) out.push_back(uint8_t(v >> (8 * i)));
  return out;
}
Aml name(const char s[4], const Aml& data) { return cat({{0x08}, seg(s), data}); }  // NameOp
Aml package(std::initializer_list<Aml> elems) {  // PackageOp, PkgLength, NumElements
  Aml body{uint8_t(elems.size())};
  for (const Aml& e : elems) body.insert(body.end(), e.begin(), e.end());
  return cat({{0x12}, pkg(body)});
}
Aml buffer(const Aml& bytes) { return cat({{0x11}, pkg(cat({integer(bytes.size()), bytes}))}); }
Aml scope(const Aml& path, const Aml& body) { return cat({{0x10}, pkg(cat({path, body}))}); }
Aml device(const char s[4], const Aml& body) {  // ExtOpPrefix DeviceOp
  return cat({{0x5B, 0x82}, pkg(cat({seg(s), body}))});
}
// EisaId("PNPxxxx") (19.6.35): three letters in 5 bits each, then four hex digits,
// stored big-endian in a DWord.
uint32_t eisa_id(const char id[8]) {
  auto hex = [](char c) { return uint32_t(c <= '9' ? c - '0' : c - 'A' + 10); };
  const uint32_t v = uint32_t(id[0] - '@') << 26 | uint32_t(id[1] - '@') << 21 |
                     uint32_t(id[2] - '@') << 16 | hex(id[3]) << 12 | hex(id[4]) << 8 |
                     hex(id[5]) << 4 | hex(id[6]);
  return (v >> 24) | ((v >> 8) & 0xFF00) | ((v << 8) & 0xFF'0000) | (v << 24);
}

// Resource descriptors (ACPI 6.4 6.4) of a ResourceTemplate.
Aml le(uint64_t v, unsigned n) {
  Aml out;
  for (unsigned i = 0; i < n; i++) out.push_back(uint8_t(v >> (8 * i)));
  return out;
}
// Address space descriptors (6.4.3.5): resource type 0 memory, 1 I/O, 2 bus number;
// general flags 0x0C = ResourceProducer, PosDecode, MinFixed, MaxFixed.
Aml word_space(uint8_t type, uint8_t type_flags, uint16_t min, uint16_t max) {
  return cat({{0x88}, le(13, 2), {type, 0x0C, type_flags}, le(0, 2), le(min, 2), le(max, 2),
              le(0, 2), le(uint32_t(max) - min + 1, 2)});
}
Aml dword_memory(uint32_t min, uint32_t max) {  // Cacheable, ReadWrite (flags 0x03)
  return cat({{0x87}, le(23, 2), {0, 0x0C, 0x03}, le(0, 4), le(min, 4), le(max, 4), le(0, 4),
              le(uint64_t(max) - min + 1, 4)});
}
Aml io16(uint16_t port, uint8_t len) {  // IO (Decode16, port, port, 1, len) (6.4.2.5)
  return cat({{0x47, 0x01}, le(port, 2), le(port, 2), {0x01, len}});
}
constexpr uint8_t kEntireRange = 0x03;  // WordIO type-specific flags: ISA and non-ISA ports

// DSDT (ACPI 6.4 5.2.11.1) revision 2 (64-bit AML integers), encoded by the helpers
// above (no ASL compiler here). In ASL:
//
//   Name (_S5, Package (0x04) { 0x05, 0x05, Zero, Zero })   // SLP_TYP a, b, reserved
//   Scope (\_SB) {
//     Device (PCI0) {
//       Name (_HID, EisaId ("PNP0A03"))   // PCI host bridge
//       Name (_UID, Zero)
//       Name (_CRS, ResourceTemplate () {
//         WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
//                        0x0000, 0x0000, 0x00FF, 0x0000, 0x0100)
//         IO (Decode16, 0x0CF8, 0x0CF8, 0x01, 0x08)
//         WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
//                 0x0000, 0x0000, 0x0CF7, 0x0000, 0x0CF8)
//         WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
//                 0x0000, 0x0D00, 0xFFFF, 0x0000, 0xF300)
//         DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable,
//                      ReadWrite, 0, 0x000A0000, 0x000BFFFF, 0, 0x00020000)
//         DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable,
//                      ReadWrite, 0, <RAM end, 1 MiB aligned>, 0xFEBFFFFF, 0, <size>)
//       })
//     }
//   }
//
// \_S5 gives the SLP_TYP that AcpiPm powers off on. PCI0 is the root of PCI bus 0
// (PciHost), the resources it forwards as QEMU's pc describes them: all buses, the
// ports but the configuration ports, the legacy VGA window and the 32-bit hole from
// the end of RAM to below the I/O APIC. With no PCI0, an OS in ACPI mode would not
// enumerate PCI at all. No _PRT: the host bridge uses no interrupt pin.
Table build_dsdt(const AcpiConfig& c) {
  static_assert(AcpiPm::kS5SlpTyp == 5, "the comment above shows SLP_TYP 5");
  const uint32_t hole = uint32_t((c.ram_bytes + 0xF'FFFF) & ~0xF'FFFFull);
  const Aml crs = cat({word_space(2, 0, 0x00, 0xFF), io16(0xCF8, 8),
                       word_space(1, kEntireRange, 0x0000, 0x0CF7),
                       word_space(1, kEntireRange, 0x0D00, 0xFFFF),
                       dword_memory(0xA0000, 0xBFFFF), dword_memory(hole, 0xFEBF'FFFF),
                       {0x79, 0x00}});  // End Tag (6.4.2.9), checksum 0: none
  const Aml aml = cat({
      name("_S5_", package({integer(AcpiPm::kS5SlpTyp), integer(AcpiPm::kS5SlpTyp),
                            integer(0), integer(0)})),
      scope({'\\', '_', 'S', 'B', '_'},
            device("PCI0", cat({name("_HID", integer(eisa_id("PNP0A03"))),
                                name("_UID", integer(0)), name("_CRS", buffer(crs))}))),
  });
  Table t(kHeaderLen);
  header(t, "DSDT", 2);
  t.b.insert(t.b.end(), aml.begin(), aml.end());
  finish(t);
  return t;
}

// FADT (ACPI 6.4 5.2.9, Table 5.9), revision 6 (276 bytes), minor version 4.
Table build_fadt(const AcpiConfig& c, uint64_t facs, uint64_t dsdt) {
  Table t(276);
  header(t, "FACP", 6);
  const uint32_t pm1_evt = c.pm_base + AcpiPm::kPm1Sts;
  const uint32_t pm1_cnt = c.pm_base + AcpiPm::kPm1Cnt;
  const uint32_t pm_tmr = c.pm_base + AcpiPm::kPmTmr;
  const uint32_t gpe0 = c.pm_base + AcpiPm::kGpe0;
  t.put(36, 4, facs);         // FIRMWARE_CTRL (same as X_FIRMWARE_CTRL: ACPICA warns on a mismatch)
  t.put(40, 4, dsdt);         // DSDT
  t.put(45, 1, 0);            // Preferred_PM_Profile: unspecified
  t.put(46, 2, c.sci_irq);    // SCI_INT: the ISA IRQ (8259 mode) = GSI (APIC mode, identity)
  t.put(48, 4, 0);            // SMI_CMD 0: no SMI, always in ACPI mode (ACPI_ENABLE/DISABLE 0)
  t.put(56, 4, pm1_evt);      // PM1a_EVT_BLK
  t.put(64, 4, pm1_cnt);      // PM1a_CNT_BLK
  t.put(76, 4, pm_tmr);       // PM_TMR_BLK
  t.put(80, 4, gpe0);         // GPE0_BLK
  t.put(88, 1, AcpiPm::kPm1EvtLen);  // PM1_EVT_LEN
  t.put(89, 1, AcpiPm::kPm1CntLen);  // PM1_CNT_LEN
  t.put(91, 1, AcpiPm::kPmTmrLen);   // PM_TMR_LEN
  t.put(92, 1, AcpiPm::kGpe0Len);    // GPE0_BLK_LEN (2 status + 2 enable bytes)
  t.put(96, 2, 101);          // P_LVL2_LAT > 100: C2 not supported
  t.put(98, 2, 1001);         // P_LVL3_LAT > 1000: C3 not supported
  t.put(108, 1, 0x32);        // CENTURY: the CMOS RTC's century byte (sim/dev/rtc.h), as on QEMU
  // IAPC_BOOT_ARCH (Table 5.11): LEGACY_DEVICES (ISA-style UART/PIC/PIT/RTC), VGA Not
  // Present; 8042 clear (there is no keyboard controller), CMOS RTC present.
  t.put(109, 2, (1u << 0) | (1u << 2));
  // Flags (Table 5.10): WBINVD, PROC_C1, SLP_BUTTON (no sleep button), FIX_RTC (no
  // RTC_STS), RESET_REG_SUP when ResetControl is there. PWR_BUTTON clear: the power
  // button is the fixed-hardware one (PM1 PWRBTN_STS/EN). TMR_VAL_EXT clear: 24 bits.
  uint32_t flags = (1u << 0) | (1u << 2) | (1u << 5) | (1u << 6);
  if (c.reset_register) flags |= 1u << 10;
  t.put(112, 4, flags);
  if (c.reset_register) {
    t.gas(116, kSpaceIo, 8, kAccessByte, ResetControl::kPort);  // RESET_REG
    t.put(128, 1, ResetControl::kResetValue);                    // RESET_VALUE
  }
  t.put(131, 1, 4);           // FADT Minor Version (ACPI 6.4)
  t.put(132, 8, facs);        // X_FIRMWARE_CTRL
  t.put(140, 8, dsdt);        // X_DSDT
  // X_ blocks: the same ports as the 32-bit fields, bit widths = the _LEN fields x 8
  // (ACPICA checks both and warns on a mismatch).
  t.gas(148, kSpaceIo, 8 * AcpiPm::kPm1EvtLen, kAccessWord, pm1_evt);   // X_PM1a_EVT_BLK
  t.gas(172, kSpaceIo, 8 * AcpiPm::kPm1CntLen, kAccessWord, pm1_cnt);   // X_PM1a_CNT_BLK
  t.gas(208, kSpaceIo, 8 * AcpiPm::kPmTmrLen, kAccessDword, pm_tmr);    // X_PM_TMR_BLK
  t.gas(220, kSpaceIo, 8 * AcpiPm::kGpe0Len, kAccessByte, gpe0);        // X_GPE0_BLK
  finish(t);
  return t;
}

// MADT (ACPI 6.4 5.2.12, Table 5.19), revision 5.
Table build_madt(const AcpiConfig& c) {
  Table t(44);
  header(t, "APIC", 5);
  t.put(36, 4, c.lapic_base);  // Local Interrupt Controller Address
  t.put(40, 4, 1);             // Flags: PCAT_COMPAT (a dual 8259 is present)
  // Processor Local APIC (5.2.12.2): type 0, length 8, UID, APIC ID, flags Enabled.
  for (unsigned i = 0; i < c.cpus; i++)
    t.append({0, 8, uint8_t(i), uint8_t(i), 1, 0, 0, 0});
  // I/O APIC (5.2.12.3): type 1, length 12, ID, reserved, address, GSI base 0.
  const uint32_t a = c.ioapic_base;
  t.append({1, 12, c.ioapic_id, 0, uint8_t(a), uint8_t(a >> 8), uint8_t(a >> 16),
            uint8_t(a >> 24), 0, 0, 0, 0});
  // Interrupt Source Overrides (5.2.12.5): type 2, length 10, bus 0 (ISA), source
  // IRQ, GSI (4 bytes), MPS INTI flags (Table 5.26: polarity bits 1:0, 01 = active
  // high; trigger mode bits 3:2, 01 = edge, 11 = level). As QEMU's pc: the PIT's IRQ
  // 0 is on pin 2 (IrqRouter::gsi_of), and the SCI is level-triggered, active high.
  auto iso = [&](unsigned irq, unsigned flags) {
    const unsigned gsi = IrqRouter::gsi_of(irq);
    t.append({2, 10, 0, uint8_t(irq), uint8_t(gsi), uint8_t(gsi >> 8), uint8_t(gsi >> 16),
              uint8_t(gsi >> 24), uint8_t(flags), uint8_t(flags >> 8)});
  };
  iso(0, 0x0005);
  iso(c.sci_irq, 0x000D);
  // Local APIC NMI (5.2.12.7): type 4, length 6, UID 0xFF (all processors), flags
  // edge/active high, LINT1.
  t.append({4, 6, 0xFF, 0x05, 0x00, 1});
  finish(t);
  return t;
}

// RSDT (5.2.7) with 32-bit and XSDT (5.2.8) with 64-bit entries.
Table build_sdt(const char sig[4], unsigned entry_size, const std::vector<uint64_t>& entries) {
  Table t(kHeaderLen + entry_size * entries.size());
  header(t, sig, 1);
  for (size_t i = 0; i < entries.size(); i++)
    t.put(kHeaderLen + entry_size * i, entry_size, entries[i]);
  finish(t);
  return t;
}

// RSDP (5.2.5.3, Table 5.3), revision 2: 36 bytes; the checksum covers the first 20
// (the ACPI 1.0 structure), the extended checksum all 36.
Table build_rsdp(uint64_t rsdt, uint64_t xsdt) {
  Table t(36);
  t.put_str(0, "RSD PTR ", 8);
  t.put_str(9, "NESTSM", 6);
  t.put(15, 1, 2);   // Revision
  t.put(16, 4, rsdt);
  t.put(20, 4, 36);  // Length
  t.put(24, 8, xsdt);
  t.checksum(8, 0, 20);
  t.checksum(32, 0, 36);
  return t;
}

void check(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("ACPI tables: " + what);
}

}  // namespace

void build_acpi_tables(mmu::PhysMem& mem, const AcpiConfig& c) {
  check(c.cpus >= 1 && c.cpus <= 255, "CPU count must be 1-255, got " + std::to_string(c.cpus));
  check(c.sci_irq >= 1 && c.sci_irq < 16 && c.sci_irq != 2,
        "the SCI must be on ISA IRQ 1-15 other than 2, got " + std::to_string(c.sci_irq));
  check(c.pm_base != 0 && c.pm_base % 4 == 0 && c.pm_base + AcpiPm::kPortCount <= 0x10000,
        "the PM register block base must be a nonzero multiple of 4 with 0x30 ports "
        "below 0x10000");
  check(c.ram_bytes >= kFirmwareEnd && mem.in_ram(kFirmwareBase, kFirmwareEnd - kFirmwareBase),
        "guest RAM must cover the firmware area 0xE0000-0xFFFFF");
  check(c.ram_bytes <= kRamLimit, "RAM above the 32-bit PCI hole is not described");

  // Placement: the RSDP first (its address is fixed), then each table at the next
  // 16-byte boundary (the FACS at a 64-byte one) in the order their addresses are
  // needed: FACS and DSDT before the FADT that points to them, FADT and MADT before
  // the RSDT/XSDT, and those before the RSDP.
  uint64_t next = kAcpiRsdpAddr + 64;
  auto place = [&](const Table& t, uint64_t align) {
    const uint64_t at = (next + align - 1) & ~(align - 1);
    check(at + t.size() <= kAcpiTablesEnd, "tables do not fit below 0xF0000");
    mem.write(at, t.b.data(), unsigned(t.size()));
    next = at + t.size();
    return at;
  };
  const uint64_t facs = place(build_facs(), 64);
  const uint64_t dsdt = place(build_dsdt(c), 16);
  const uint64_t fadt = place(build_fadt(c, facs, dsdt), 16);
  const uint64_t madt = place(build_madt(c), 16);
  const uint64_t rsdt = place(build_sdt("RSDT", 4, {fadt, madt}), 16);
  const uint64_t xsdt = place(build_sdt("XSDT", 8, {fadt, madt}), 16);
  const Table rsdp = build_rsdp(rsdt, xsdt);
  mem.write(kAcpiRsdpAddr, rsdp.b.data(), unsigned(rsdp.size()));
}

// --- AcpiPm ------------------------------------------------------------------------

AcpiPm::AcpiPm(DeviceContext& ctx, uint16_t base, unsigned sci_irq,
               std::function<void()> power_off)
    : Device(ctx, "acpi_pm",
             {"pm1_sts", "pm1_en", "pm1_cnt", "pm_tmr", "gpe0_sts", "gpe0_en", "reserved"}),
      base_(base),
      sci_irq_(sci_irq),
      power_off_(std::move(power_off)) {
  timer_event_ = ctx_.events->add("acpi_pm.tmr_sts", [this](uint64_t due) { on_timer_event(due); });
  reset();
}

void AcpiPm::reset() {
  tick_base_ = ctx_.ticks_at(ctx_.now(), kTimerHz);
  tmr_sts_mark_ = 0;
  pm1_sts_ = 0;
  pm1_en_ = 0;
  pm1_cnt_ = kSciEn;
  gpe0_en_[0] = gpe0_en_[1] = 0;
  ctx_.events->cancel(timer_event_);
  update();
}

uint64_t AcpiPm::ticks() const {
  // Time restarts only through reset() (sim/machine.cpp), which moves tick_base_ with
  // it; the guard keeps a clock moved backwards otherwise from wrapping the counter.
  const uint64_t t = ctx_.ticks_at(ctx_.now(), kTimerHz);
  return t >= tick_base_ ? t - tick_base_ : 0;
}

uint32_t AcpiPm::timer() const { return uint32_t(ticks() & 0xFF'FFFF); }

uint16_t AcpiPm::pm1_sts() const {
  // TMR_STS (4.8.3.1.1): set when bit 23 of the counter has toggled since it was
  // last cleared, i.e. a multiple of 2^23 ticks lies in (mark, now].
  const bool tmr = (ticks() >> kTmrStsBit) > (tmr_sts_mark_ >> kTmrStsBit);
  return uint16_t(pm1_sts_ | (tmr ? kTmr : 0));
}

void AcpiPm::press_power_button() {
  pm1_sts_ |= kPwrBtn;
  trace("dev", "power button pressed");
  update();
}

void AcpiPm::update() {
  const uint16_t sts = pm1_sts();
  const bool level = (sts & pm1_en_ & kSciSources) != 0;  // GPE0_STS has no sources
  if (level != sci_) {
    sci_ = level;
    trace("irq", level ? "SCI high" : "SCI low");
    if (ctx_.irq) ctx_.irq->set_isa_irq(sci_irq_, level);
  }
  // The next TMR_STS only matters (as an SCI) while TMR_EN is set and TMR_STS clear.
  if ((pm1_en_ & kTmr) && !(sts & kTmr)) {
    const uint64_t toggle = ((tmr_sts_mark_ >> kTmrStsBit) + 1) << kTmrStsBit;
    ctx_.events->schedule(timer_event_, ctx_.cycle_of_tick(tick_base_ + toggle, kTimerHz));
  } else {
    ctx_.events->cancel(timer_event_);
  }
}

void AcpiPm::on_timer_event(uint64_t) { update(); }

unsigned AcpiPm::reg_of(Space s, uint64_t addr, bool) const {
  const uint64_t off = addr - base_;
  if (s != Space::kPort || off >= kPortCount) return kRegReserved;
  if (off < kPm1En) return kRegSts;
  if (off < kPm1Cnt) return kRegEn;
  if (off < kPm1Cnt + kPm1CntLen) return kRegCnt;
  if (off >= kPmTmr && off < kPmTmr + kPmTmrLen) return kRegTmr;
  if (off >= kGpe0 && off < kGpe0 + 2) return kRegGpeSts;
  if (off >= kGpe0 + 2 && off < kGpe0 + kGpe0Len) return kRegGpeEn;
  return kRegReserved;
}

uint8_t AcpiPm::read_byte(unsigned off) const {
  switch (off) {
    case kPm1Sts: return uint8_t(pm1_sts());
    case kPm1Sts + 1: return uint8_t(pm1_sts() >> 8);
    case kPm1En: return uint8_t(pm1_en_);
    case kPm1En + 1: return uint8_t(pm1_en_ >> 8);
    case kPm1Cnt: return uint8_t(pm1_cnt_);
    case kPm1Cnt + 1: return uint8_t(pm1_cnt_ >> 8);
    case kPmTmr: case kPmTmr + 1: case kPmTmr + 2: case kPmTmr + 3:
      return uint8_t(timer() >> (8 * (off - kPmTmr)));
    case kGpe0: case kGpe0 + 1: return 0;
    case kGpe0 + 2: case kGpe0 + 3: return gpe0_en_[off - kGpe0 - 2];
    default: return 0xFF;
  }
}

void AcpiPm::write_byte(unsigned off, uint8_t v) {
  const unsigned sh = 8 * (off & 1);
  switch (off) {
    case kPm1Sts: case kPm1Sts + 1: {
      // Write-1-to-clear (4.8.3.1.1); writing 0 leaves a bit alone.
      const uint16_t clear = uint16_t(v << sh);
      if (clear & kTmr) tmr_sts_mark_ = ticks();
      pm1_sts_ &= uint16_t(~clear);
      break;
    }
    case kPm1En: case kPm1En + 1: {
      const uint16_t m = uint16_t(kPm1EnMask & (0xFFu << sh));
      pm1_en_ = uint16_t((pm1_en_ & ~m) | ((v << sh) & m));
      break;
    }
    case kPm1Cnt: case kPm1Cnt + 1: {
      const uint16_t w = uint16_t(v << sh), m = uint16_t((kBmRld | kSlpTypMask) & (0xFFu << sh));
      pm1_cnt_ = uint16_t((pm1_cnt_ & ~m) | (w & m));
      // GBL_RLS would raise an SMI to the firmware: there is none. SLP_EN (4.8.3.2.1):
      // enter the sleep state SLP_TYP names.
      if (w & kSlpEn) {
        const unsigned typ = (pm1_cnt_ & kSlpTypMask) >> kSlpTypShift;
        char buf[64];
        std::snprintf(buf, sizeof buf, "SLP_EN with SLP_TYP %u%s", typ,
                      typ == kS5SlpTyp ? ": power off (S5)" : ": unsupported, ignored");
        trace("dev", buf);
        if (typ == kS5SlpTyp && power_off_) power_off_();
      }
      break;
    }
    case kGpe0 + 2: case kGpe0 + 3: gpe0_en_[off - kGpe0 - 2] = v; break;
    default: break;  // GPE0_STS (no sources), PM_TMR (read-only), reserved
  }
}

uint64_t AcpiPm::io_read(Space s, uint64_t addr, unsigned size) {
  if (s != Space::kPort) return split_read(0, size, [](uint64_t) { return uint8_t(0xFF); });
  return split_read(addr - base_, size, [this](uint64_t off) {
    return off < kPortCount ? read_byte(unsigned(off)) : uint8_t(0xFF);
  });
}

void AcpiPm::io_write(Space s, uint64_t addr, unsigned size, uint64_t value) {
  if (s != Space::kPort) return;
  split_write(addr - base_, size, value, [this](uint64_t off, uint8_t b) {
    if (off < kPortCount) write_byte(unsigned(off), b);
  });
  update();
}

// --- ResetControl ------------------------------------------------------------------

ResetControl::ResetControl(DeviceContext& ctx, std::function<void()> reset)
    : Device(ctx, "reset_control", {"rc"}), reset_(std::move(reset)) {}

uint64_t ResetControl::io_read(Space s, uint64_t addr, unsigned size) {
  const uint64_t ones = size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
  if (s != Space::kPort || addr != kPort) return ones;
  return (ones & ~0xFFull) | rc_;
}

void ResetControl::io_write(Space s, uint64_t addr, unsigned size, uint64_t value) {
  if (s != Space::kPort || addr != kPort) return;
  const uint8_t v = uint8_t(value);
  rc_ = v & (kSrst | kFullRst);
  if (v & kRcpu) {
    trace("dev", v & kSrst ? "hard reset" : "soft reset");
    if (reset_) reset_();
  }
}

}  // namespace sim
