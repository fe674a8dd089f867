// Shared set-up for the segmentation, task and descriptor-table tests
// (seg_test.cpp, task_test.cpp, dtr_test.cpp): a GDT with the usual flat segments,
// a TSS, code assembled at kCode, and one way to check an exception's outcome.
#pragma once
#include "tests/sys/harness.h"

#include "isa/system.h"

namespace segtest {

using systest::code32;
using systest::code64;
using systest::data32;
using systest::gate32;
using systest::seg_desc;

// Physical = linear layout (kept clear of the long-mode loader's tables at 0x1000-0x2FFF).
constexpr uint32_t kGdt = 0x5000, kTss = 0x6000, kTss2 = 0x6800, kLdt = 0x7000,
                   kCode = 0x10000, kData = 0x20000, kStack0 = 0x80000, kStack3 = 0x70000,
                   kStack1 = 0x60000;

// GDT selectors the rig sets up.
enum : uint16_t {
  kCs0 = 0x08, kDs0 = 0x10, kCs3 = 0x18, kDs3 = 0x20, kTssSel = 0x28, kCs16 = 0x30,
  kDs16 = 0x38, kCs64 = 0x40, kCsConf = 0x48, kCs1 = 0x50, kDs1 = 0x58,
  kTss64Sel = 0x60,  // 16 bytes: entries 12 and 13
  kFree = 0x70,      // first entry tests may use (up to 0x1F8)
};

inline uint64_t tss_desc(uint32_t base, uint32_t limit, unsigned type = 9, unsigned dpl = 0) {
  return seg_desc(base, limit, type, false, dpl, true, 0);
}

struct SegRig : systest::Rig {
  void gdt(uint16_t sel, uint64_t d) { w64(kGdt + (sel & ~7u), d); }
  uint64_t gdt_entry(uint16_t sel) { return r64(kGdt + (sel & ~7u)); }
  void fill_gdt() {
    std::memset(ram() + kGdt, 0, 0x200);
    gdt(kCs0, code32(0));
    gdt(kDs0, data32(0));
    gdt(kCs3, code32(3));
    gdt(kDs3, data32(3));
    gdt(kTssSel, tss_desc(kTss, 0x67));
    gdt(kCs16, seg_desc(0, 0xFFFF, 0xB, true, 0, true, 0));
    gdt(kDs16, seg_desc(0, 0xFFFF, 0x3, true, 0, true, 0));
    gdt(kCs64, code64(0));
    gdt(kCsConf, code32(0, true));
    gdt(kCs1, code32(1));
    gdt(kDs1, data32(1));
    // 32-bit TSS: ESP0/SS0, ESP1/SS1 for stack switches.
    std::memset(ram() + kTss, 0, 0x68);
    w32(kTss + 4, kStack0), w16(kTss + 8, kDs0);
    w32(kTss + 12, kStack1), w16(kTss + 16, kDs1 | 1);
  }
  // Flat 32-bit protected mode at CPL 0 with the rig's GDT and TR loaded; an empty
  // IDT (limit 0), so an exception ends the run (see expect_exception).
  void pm32() {
    m.reset_protected32(kCode, kStack0);
    fill_gdt();
    isa::Cpu& c = cpu();
    c.gdtr = {kGdt, 0x1FF};
    c.idtr = {0, 0};
    c.tr = {kTssSel, 0x8B, 0x67, kTss};
    gdt(kTssSel, tss_desc(kTss, 0x67, 0xB));
  }
  // 64-bit mode at CPL 0 (loader identity paging), the rig's GDT and a 64-bit TSS.
  void lm64() {
    m.reset_long_mode(kCode, kStack0);
    // The loader's identity map, made user-accessible for the CPL-3 tests.
    w64(0x1000, 0x2007);
    for (uint64_t i = 0; i < 4; i++) w64(0x2000 + i * 8, (i << 30) | 0x87);
    fill_gdt();
    isa::Cpu& c = cpu();
    c.gdtr = {kGdt, 0x1FF};
    c.idtr = {0, 0};
    std::memset(ram() + kTss, 0, 0x68);
    w64(kTss + 4, kStack0);   // RSP0
    w64(kTss + 12, kStack1);  // RSP1
    w64(kTss + 0x24, 0x50000);  // IST1
    gdt(kTss64Sel, tss_desc(kTss, 0x67, 0xB));
    w64(kGdt + kTss64Sel + 8, 0);
    c.tr = {kTss64Sel, 0x8B, 0x67, kTss};
  }
  void asm32(const std::string& body) { asm_at(kCode, "bits 32\norg 0x10000\n" + body); }
  void asm16(const std::string& body) { asm_at(kCode, "bits 16\norg 0x10000\n" + body); }
  void asm64(const std::string& body) { asm_at(kCode, "bits 64\norg 0x10000\n" + body); }
  void asm_real(const std::string& body) { asm_at(kCode, "bits 16\norg 0\n" + body); }
};

// An exception that nothing handles: with IDT delivery the empty IDT turns it into a
// triple fault whose first exception is recorded; before it, the run stops on it.
inline void expect_exception(const sim::RunResult& r, uint8_t vector, uint32_t error) {
  INFO("stop: " << sim::stop_reason_name(r.reason) << " " << r.message);
  REQUIRE((r.reason == sim::StopReason::kFault || r.reason == sim::StopReason::kShutdown));
  CHECK(unsigned(r.fault.vector) == vector);
  if (isa::vector_has_error(vector)) CHECK(r.fault.error == error);
}
inline void expect_halt(const sim::RunResult& r) {
  INFO("stop: " << sim::stop_reason_name(r.reason) << " " << r.message << " vector "
                << unsigned(r.fault.vector) << " error 0x" << std::hex << r.fault.error
                << " rip 0x" << r.fault_rip);
  REQUIRE(r.reason == sim::StopReason::kHalted);
}

}  // namespace segtest
