// Runs arbitrary bytes as code in every processor mode (shared by the random-code
// test and the fuzz_exec libFuzzer target).
//
// Input layout: byte 0 selects the mode (kRandomModes), byte 1 adds paging features
// (bits 0-4: CR0.WP, CR4.PGE/SMEP/SMAP, EFER.NXE; bit 5: user pages) to the modes
// that page; the rest is code
// placed at 0x10000 and also copied to 0x20000 as data; the GPRs are seeded from the
// same bytes (so short inputs still execute code).
//
// Physical layout (1 MiB of RAM or more), set up fresh for every input:
//   0x00000  real-mode IVT: every vector -> 6500:0000
//   0x10000  code (up to 32 KiB)       0x20000  a copy of it as data
//   0x30000  64 KiB of zeroes (data; the CPL 3 stack top 0x3E000)
//   0x60000  GDT   0x61000  IDT   0x62000  TSS + I/O bitmap (to 0x64070)
//   0x65000  HLT page (every handler)
//   0x66000  paging structures: 32-bit PD/PT, PAE PDPT/PD/PT, 4-level, 5-level
//   0x6F000  ring-0 stack (top 0x70000: the initial stack at CPL 0 and RSP0/ESP0)
// The 0x60000-0x6FFFF system area is mapped supervisor-only. The other pages are
// user pages in the CPL 3 mode and, when input feature bit 5 is set, in the others
// too (so that SMEP/SMAP have something to refuse).
// Every exception handler is the HLT page, so a delivered event ends the run halted.
// Everything else in RAM is HLT (0xF4) too. The code may rewrite any of it.
#pragma once
#include <cstdint>
#include <cstring>

#include "sim/machine.h"

namespace test {

enum RandomMode : unsigned {
  kRmReal, kRmProt32, kRmProt16, kRmProt32Paging, kRmProt32Pae, kRmLong64, kRmCompat,
  kRmLong64User, kRmV8086, kRmLong64La57, kRandomModes
};

namespace detail {

constexpr uint64_t kGdt = 0x60000, kIdt = 0x61000, kTss = 0x62000, kHandler = 0x65000;
constexpr uint64_t kPd32 = 0x66000, kPt32 = 0x67000, kPdpt = 0x68000, kPdPae = 0x69000,
                   kPt64 = 0x6A000, kPml4 = 0x6B000, kPdpt64 = 0x6C000, kPd64 = 0x6D000,
                   kPml5 = 0x6E000;
constexpr uint64_t kSysLo = 0x60000, kSysHi = 0x70000;  // supervisor-only pages
constexpr uint64_t kStack0 = 0x70000;

inline void put64(sim::Machine& m, uint64_t pa, uint64_t v) { std::memcpy(m.mem().ram() + pa, &v, 8); }
inline void put32(sim::Machine& m, uint64_t pa, uint32_t v) { std::memcpy(m.mem().ram() + pa, &v, 4); }
inline void put16(sim::Machine& m, uint64_t pa, uint16_t v) { std::memcpy(m.mem().ram() + pa, &v, 2); }

// An 8-byte descriptor from a VMCS-style attribute word (SegmentReg::attr).
inline uint64_t desc(uint32_t base, uint32_t limit, uint16_t attr) {
  uint32_t raw_limit = (attr & 0x8000) ? limit >> 12 : limit;
  return (raw_limit & 0xFFFFull) | (uint64_t(base & 0xFFFFFF) << 16) |
         (uint64_t(attr & 0xFF) << 40) | (uint64_t((raw_limit >> 16) & 0xF) << 48) |
         (uint64_t((attr >> 12) & 0xF) << 52) | (uint64_t(base >> 24) << 56);
}

struct Seg {
  uint16_t sel, attr;
  uint32_t limit;
  uint64_t base;
};
constexpr Seg kCode32{0x08, 0xC09B, 0xFFFFFFFF, 0}, kData32{0x10, 0xC093, 0xFFFFFFFF, 0},
    kCode64{0x18, 0xA09B, 0xFFFFFFFF, 0}, kCode16{0x20, 0x009B, 0xFFFF, 0x10000},
    kData16{0x28, 0x0093, 0xFFFF, 0x30000}, kCode32U{0x33, 0xC0FB, 0xFFFFFFFF, 0},
    kData32U{0x3B, 0xC0F3, 0xFFFFFFFF, 0}, kCode64U{0x43, 0xA0FB, 0xFFFFFFFF, 0};

inline void load(isa::SegmentReg& r, const Seg& s) { r = {s.sel, s.attr, s.limit, s.base}; }

inline void write_tables(sim::Machine& m, bool long_idt, bool user_pages) {
  std::memset(m.mem().ram() + kSysLo, 0, kSysHi - kSysLo);
  std::memset(m.mem().ram() + kHandler, 0xF4, 4096);
  // GDT: the descriptors above, then a TSS descriptor at 0x48 (16 bytes in IA-32e).
  for (const Seg& s : {kCode32, kData32, kCode64, kCode16, kData16, kCode32U, kData32U, kCode64U})
    put64(m, kGdt + (s.sel & ~7u), desc(uint32_t(s.base), s.limit, s.attr));
  put64(m, kGdt + 0x48, desc(uint32_t(kTss), 0x2069, 0x008B));  // busy, as TR says
  put64(m, kGdt + 0x50, 0);
  // IDT: interrupt gates (DPL 3, so INT n works from every ring) to the HLT page.
  for (unsigned v = 0; v < 256; v++) {
    uint16_t sel = long_idt ? kCode64.sel : kCode32.sel;
    uint64_t lo = (kHandler & 0xFFFF) | (uint64_t(sel) << 16) | (0xEEull << 40) |
                  (uint64_t(kHandler >> 16) << 48);
    if (long_idt) {
      put64(m, kIdt + v * 16, lo);
      put64(m, kIdt + v * 16 + 8, 0);
    } else {
      put64(m, kIdt + v * 8, lo);
    }
  }
  // TSS with an all-zero I/O bitmap at +0x68 (every port allowed). ESP0/RSP0 is at
  // +4 in both layouts; SS0 at +8 exists only in the 32-bit one (in the 64-bit one
  // that is RSP0's upper half).
  put64(m, kTss + 4, kStack0);
  if (!long_idt) put16(m, kTss + 8, kData32.sel);
  put16(m, kTss + 0x66, 0x68);
  m.mem().ram()[kTss + 0x2068] = 0xFF;
  // Real-mode IVT.
  for (unsigned v = 0; v < 256; v++) put32(m, v * 4, uint32_t(kHandler >> 4) << 16);
  // Paging structures: identity maps of the first 1 MiB with 4 KiB pages.
  auto pte_flags = [&](uint64_t pa) -> uint64_t {
    return (!user_pages || (pa >= kSysLo && pa < kSysHi)) ? 0x3 : 0x7;
  };
  for (uint64_t pa = 0; pa < (1u << 20); pa += 4096) {
    put32(m, kPt32 + (pa >> 12) * 4, uint32_t(pa | pte_flags(pa)));
    put64(m, kPt64 + (pa >> 12) * 8, pa | pte_flags(pa));
  }
  put32(m, kPd32, uint32_t(kPt32 | 7));
  put64(m, kPdpt, kPdPae | 1);  // PAE PDPTEs have no R/W or U/S bits
  put64(m, kPdPae, kPt64 | 7);
  put64(m, kPml4, kPdpt64 | 7);
  put64(m, kPdpt64, kPd64 | 7);
  put64(m, kPd64, kPt64 | 7);
  put64(m, kPml5, kPml4 | 7);
}

inline void set_system_registers(isa::Cpu& c, bool long_tss) {
  c.gdtr = {kGdt, 0x57};
  c.idtr = {kIdt, uint16_t(long_tss ? 0xFFF : 0x7FF)};
  c.tr = {0x48, 0x008B, 0x2069, kTss};
  c.ldtr = {0, 0x0082, 0xFFFF, 0};
}

}  // namespace detail

// Puts the machine in `mode` (kRandomModes) at the code address, with the tables above.
inline void enter_random_mode(sim::Machine& m, unsigned mode, uint8_t features) {
  using namespace detail;
  isa::Cpu& c = m.cpu();
  const bool is_long = mode == kRmLong64 || mode == kRmCompat || mode == kRmLong64User ||
                       mode == kRmLong64La57;
  write_tables(m, is_long, mode == kRmLong64User || (features & 32));
  if (mode == kRmReal) {
    m.reset_real_mode(0x0000, 0xFFF0);
    c.seg[isa::CS].base = 0x10000;
    c.seg[isa::CS].selector = 0x1000;
    c.update_mode();
    return;
  }
  if (is_long) m.reset_long_mode(0x10000, kStack0);
  else m.reset_protected32(0x10000, uint32_t(kStack0));
  set_system_registers(c, is_long);
  for (unsigned s = 0; s < 6; s++) load(c.seg[s], kData32);
  load(c.seg[isa::CS], is_long ? kCode64 : kCode32);
  switch (mode) {
    case kRmProt16:
      load(c.seg[isa::CS], kCode16);
      c.rip() = 0;
      for (unsigned s : {isa::SS, isa::DS, isa::ES}) load(c.seg[s], kData16);
      c.r[isa::RSP] = 0xE000;
      break;
    case kRmProt32Paging:
      c.cr3 = kPd32;
      c.cr4 |= 0x10;  // PSE
      c.cr0 |= 0x80000000u;
      break;
    case kRmProt32Pae:
      c.cr3 = kPdpt;
      c.cr4 |= 0x20;
      c.cr0 |= 0x80000000u;
      break;
    case kRmLong64:
      c.cr3 = kPml4;
      break;
    case kRmCompat:
      c.cr3 = kPml4;
      load(c.seg[isa::CS], kCode32);
      break;
    case kRmLong64User:
      c.cr3 = kPml4;
      load(c.seg[isa::CS], kCode64U);
      for (unsigned s = 0; s < 6; s++)
        if (s != isa::CS) load(c.seg[s], kData32U);
      c.r[isa::RSP] = 0x3E000;
      break;
    case kRmV8086:
      c.rflags |= isa::FLAG_VM | isa::FLAG_IOPL;
      for (unsigned s = 0; s < 6; s++) c.seg[s] = {0x3000, 0x00F3, 0xFFFF, 0x30000};
      c.seg[isa::CS] = {0x1000, 0x00FB, 0xFFFF, 0x10000};
      c.rip() = 0;
      c.r[isa::RSP] = 0xE000;
      break;
    case kRmLong64La57:
      c.cr3 = kPml5;
      c.cr4 |= 1u << 12;
      break;
    default:
      break;
  }
  if (c.cr0 & 0x80000000u) {
    // Paging features from the input: CR0.WP, CR4.PGE/SMEP/SMAP, EFER.NXE.
    if (features & 1) c.cr0 |= 1u << 16;
    if (features & 2) c.cr4 |= 1u << 7;
    if (features & 4) c.cr4 |= 1u << 20;
    if (features & 8) c.cr4 |= 1u << 21;
    if (features & 16) c.efer |= 1u << 11;
    else if (!is_long) c.efer &= ~(1ull << 11);
  }
  c.update_mode();
  c.bus->paging_event(c, isa::PagingEvent::kModeChange);  // loads PAE PDPTEs
}

inline sim::RunResult run_random_code(sim::Machine& m, const uint8_t* data, size_t size,
                                      uint64_t max_insns = 20000) {
  // HLT everywhere else, so a program ends soon after its own bytes instead of
  // sliding through zeros (ADD [RAX], AL) for the whole budget.
  std::memset(m.mem().ram(), 0xF4, m.mem().ram_size());
  m.code().flush();
  m.mem().clear_all_code_pages();
  unsigned mode = size ? data[0] % kRandomModes : kRmLong64;
  uint8_t features = size > 1 ? data[1] : 0;
  const uint8_t* code = size > 2 ? data + 2 : data;
  size_t code_len = size > 2 ? size - 2 : 0;
  size_t regs = code_len < 128 ? code_len : 128;
  if (code_len > 0x8000) code_len = 0x8000;
  std::memcpy(m.mem().ram() + 0x10000, code, code_len);
  std::memcpy(m.mem().ram() + 0x20000, code, code_len);
  std::memset(m.mem().ram() + 0x30000, 0, 0x10000);  // zeroed data and stack area
  try {
    enter_random_mode(m, mode, features);
  } catch (const isa::CpuFault&) {
    // Not expected (the tables are valid); a harness bug would show as kNone.
    return {};
  }
  uint64_t seed[16] = {};
  if (regs) std::memcpy(seed, code, regs);
  for (unsigned i = 0; i < 16; i++)
    if (i != isa::RSP) m.cpu().r[i] = seed[i];
  sim::RunLimits lim;
  lim.max_insns = max_insns;
  // A repeated string retires only when it completes, so an instruction limit alone
  // does not bound the work (REP STOSB with ECX = 4G); its elements cost cycles.
  lim.max_cycles = max_insns * 20;
  return m.run(lim);
}

}  // namespace test
