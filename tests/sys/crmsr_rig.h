// Shared set-up for the control-register, MSR, I/O and misc system-instruction tests
// (cr_test.cpp, msr_test.cpp, io_test.cpp, misc_test.cpp): 64-bit or 32-bit flat
// mode with a GDT and TSS, an empty IDT (an exception ends the run as a triple fault
// that records the first exception), CPL 3 on demand, and direct calls into the
// isa/ system functions for the rules that need no instruction around them.
#pragma once
#include "tests/sys/harness.h"

#include "isa/cpu_features.h"
#include "isa/system.h"

namespace crmsr {

constexpr uint32_t kGdt = 0x5000, kTss = 0x6000, kCode = 0x10000, kData = 0x20000,
                   kStack0 = 0x80000;
enum : uint16_t { kCs0 = 0x08, kDs0 = 0x10, kCs3 = 0x18, kDs3 = 0x20, kCs64_3 = 0x28,
                  kTssSel = 0x30 };

// The vector of a CpuFault thrown by `f`, or -1 when none is.
template <class F>
int fault_of(F&& f, uint32_t* error = nullptr) {
  try {
    f();
  } catch (const isa::CpuFault& e) {
    if (error) *error = e.error;
    return e.vector;
  }
  return -1;
}

struct Rig : systest::Rig {
  void gdt(uint16_t sel, uint64_t d) { w64(kGdt + (sel & ~7u), d); }
  void fill_gdt(bool tss64) {
    using systest::seg_desc;
    std::memset(ram() + kGdt, 0, 0x100);
    gdt(kCs0, tss64 ? systest::code64(0) : systest::code32(0));
    gdt(kDs0, systest::data32(0));
    gdt(kCs3, systest::code32(3));
    gdt(kDs3, systest::data32(3));
    gdt(kCs64_3, systest::code64(3));
    std::memset(ram() + kTss, 0, 0x68);
    if (tss64) w64(kTss + 4, kStack0);
    else w32(kTss + 4, kStack0), w16(kTss + 8, kDs0);
    w16(kTss + 102, 0x68);  // I/O bitmap base right after the TSS; limit excludes it
    gdt(kTssSel, seg_desc(kTss, 0x67, 0xB, false, 0, true, 0));
  }
  void lm64() {
    m.reset_long_mode(kCode, kStack0);
    fill_gdt(true);
    isa::Cpu& c = cpu();
    c.gdtr = {kGdt, 0xFF};
    c.idtr = {0, 0};
    c.tr = {kTssSel, 0x8B, 0x67, kTss};
  }
  void pm32() {
    m.reset_protected32(kCode, kStack0);
    fill_gdt(false);
    isa::Cpu& c = cpu();
    c.gdtr = {kGdt, 0xFF};
    c.idtr = {0, 0};
    c.tr = {kTssSel, 0x8B, 0x67, kTss};
  }
  // CPL 3 in the current mode (64-bit code segment in IA-32e mode). With paging on
  // (the loader's identity map), its entries become user pages.
  void user() {
    isa::Cpu& c = cpu();
    if (c.cr0 & (1ull << 31)) {
      w64(c.cr3, r64(c.cr3) | 4);
      for (unsigned i = 0; i < 4; i++) w64(c.cr3 + 0x1000 + i * 8, r64(c.cr3 + 0x1000 + i * 8) | 4);
      isa::write_cr3(c, c.cr3);
    }
    const bool l = c.efer & (1u << 10);
    c.seg[isa::CS] = {uint16_t(l ? kCs64_3 | 3 : kCs3 | 3), uint16_t(l ? 0xA0FB : 0xC0FB),
                      0xFFFFFFFF, 0};
    for (unsigned s : {isa::SS, isa::DS, isa::ES, isa::FS, isa::GS})
      c.seg[s] = {uint16_t(kDs3 | 3), 0xC0F3, 0xFFFFFFFF, 0};
    c.update_mode();
  }
  void asm64(const std::string& body) { asm_at(kCode, "bits 64\norg 0x10000\n" + body); }
  void asm32(const std::string& body) { asm_at(kCode, "bits 32\norg 0x10000\n" + body); }
};

// The run ended on an exception nobody handled (empty IDT: a triple fault whose first
// exception is recorded), with this vector and error code.
inline void expect_fault(const sim::RunResult& r, uint8_t vector, uint32_t error = 0) {
  INFO("stop: " << sim::stop_reason_name(r.reason) << " " << r.message << " rip 0x" << std::hex
                << r.fault_rip);
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

}  // namespace crmsr
