// Private to vmx/entry_checks*.cpp: the one-line check macro and the address and
// value predicates the VM-entry checks of SDM Vol. 3C 26.2 and 26.3.1 share.
//
// A check is written as the condition the SDM requires, with its section:
//     CC("26.2.1.1", !(proc & CPU_USE_MSR_BITMAPS) || page_addr_ok(c, msr_bitmap));
// and returns `fail(text, section)` when the condition does not hold; `fail` is the
// Fail of the enclosing function, which knows the failure kind, the qualification and
// the register the check is applied to. The first failing check decides the outcome.
#pragma once
#include <cstdint>

#include "isa/cpu_state.h"
#include "vmx/entry_checks.h"

namespace vmx::entry_detail {

struct Fail {
  EntryFailure kind;
  uint32_t qualification = 0;
  const char* subject = nullptr;
  EntryCheckResult operator()(const char* check, const char* section) const {
    return {kind, qualification, check, section, subject};
  }
};

#define CC(section, ok)                               \
  do {                                                \
    if (!(ok)) [[unlikely]] return fail(#ok, section); \
  } while (0)

// Propagates the failure of a helper that checks one part (one segment register).
#define CC_TRY(expr)                                        \
  do {                                                      \
    if (const EntryCheckResult r_ = (expr); !r_.ok()) return r_; \
  } while (0)

// Bits beyond the processor's physical-address width are 0.
inline bool addr_ok(const VmxCaps& c, uint64_t a) {
  return c.maxphyaddr >= 64 || (a >> c.maxphyaddr) == 0;
}
// 4-KiB aligned and within the physical-address width (bitmaps, pages, 26.2.1.1).
inline bool page_addr_ok(const VmxCaps& c, uint64_t a) { return (a & 0xFFF) == 0 && addr_ok(c, a); }

// The processor's linear-address width: 57 with 5-level paging support, else 48.
// VM entry checks the canonicality of address fields (bases, SYSENTER MSRs) against it
// whatever CR4.LA57 is, as WRMSR does (SDM Vol. 3A 3.3.7.1, Vol. 3C 26.2.2, 26.3.1.1).
inline unsigned linear_width(const VmxCaps& c) { return (c.cr4_fixed1 & isa::CR4_LA57) ? 57 : 48; }
inline bool canonical(uint64_t a, unsigned width) {
  const unsigned sh = 64 - width;
  return uint64_t(int64_t(a << sh) >> sh) == a;
}
inline bool canonical(const VmxCaps& c, uint64_t a) { return canonical(a, linear_width(c)); }

// IA32_PAT: each of the eight entries is a valid memory type (0, 1, 4, 5, 6, 7; 2 and 3
// are reserved, SDM Vol. 3A 11.12.2), as 26.2.2 and 26.3.1.1 require when PAT is loaded.
inline bool pat_ok(uint64_t pat) {
  for (int i = 0; i < 8; i++) {
    const unsigned t = (pat >> (8 * i)) & 0xFF;
    if (t > 7 || t == 2 || t == 3) return false;
  }
  return true;
}

// IA32_EFER bits this processor defines (SCE, LME, LMA, NXE: the models' set, as WRMSR
// to EFER accepts it, isa/sys_cr.cpp); the others are reserved (26.2.2, 26.3.1.1).
constexpr uint64_t kEferDefined = isa::EFER_SCE | isa::EFER_LME | isa::EFER_LMA | isa::EFER_NXE;
// IA32_DEBUGCTL bits this processor defines: BTF (1) and FREEZE_WHILE_SMM (14); there
// is no LBR stack, BTS or PMU, so the rest is reserved (isa/msr.def, 26.3.1.1).
constexpr uint64_t kDebugctlDefined = 0x4002;
constexpr uint64_t DEBUGCTL_BTF = 1u << 1;

// An MSR-load/store area (26.2.1.2, 26.2.1.3): with a nonzero count, the address is
// 16-byte aligned and the last byte (address + 16 * count - 1) is within the
// physical-address width.
inline bool msr_area_aligned(uint32_t count, uint64_t a) { return count == 0 || (a & 0xF) == 0; }
inline bool msr_area_in_width(const VmxCaps& c, uint32_t count, uint64_t a) {
  return count == 0 || (addr_ok(c, a) && addr_ok(c, a + 16 * uint64_t(count) - 1));
}

// Physical reads for the checks that look at memory (VTPR, the VMCS link pointer's
// header, PDPTEs). Without memory (unit tests that give none) the bytes read as 1s,
// as reads of nonexistent memory do.
inline uint64_t phys_read(const EntryContext& ctx, uint64_t pa, unsigned n) {
  uint64_t x = ~0ull;
  ctx.mem_reads++;
  if (ctx.mem) {
    x = 0;
    ctx.mem->phys_read(pa, &x, n);
  }
  return n == 8 ? x : x & ((1ull << (8 * n)) - 1);
}

}  // namespace vmx::entry_detail
