// The MSR table (isa/msr.def) and the instructions around it: RDMSR/WRMSR, RDTSC,
// RDTSCP, RDPID, RDPMC, RD/WRFSBASE, RD/WRGSBASE (SDM Vol. 4 chapter 2; Vol. 2B
// "RDMSR", "WRMSR", "RDTSC", "RDTSCP", "RDPID", "RDPMC", "RDFSBASE", "WRFSBASE").
//
// Time: the TSC is simulated cycles plus an offset (SDM Vol. 3B 18.17): WRMSR to
// IA32_TIME_STAMP_COUNTER or IA32_TSC_ADJUST moves the offset, and the two stay
// coupled as 18.17.3 describes. APERF/MPERF count cycles the same way.
#include "isa/bind.h"
#include "isa/cpu_features.h"
#include "isa/flags.h"
#include "isa/msr.h"
#include "isa/system.h"

namespace isa {
namespace {

constexpr CpuidBit NOFEAT{0, 0, kEax, 0xFF};

enum class MsrAccess : uint8_t { RW, RO, ADDR, FN, GP, BUS };

struct Row {
  uint32_t index, count;
  MsrAccess access;
  CpuidBit feature;
  uint64_t wmask;
  const char* name;
};

constexpr Row kRows[kMsrCount] = {
#define MSR(id, index, count, access, feature, wmask, slot) \
  {index, count, MsrAccess::access, feature, wmask, #id},
#include "isa/msr.def"
#undef MSR
};

uint64_t* slot(Cpu& c, MsrId id, uint32_t i) {
  (void)i;
  switch (id) {
#define MSR(id, index, count, access, feature, wmask, slot) \
  case MsrId::id:                                             \
    return slot;
#include "isa/msr.def"
#undef MSR
    default: return nullptr;
  }
}

bool present(Cpu& c, const Row& r) { return r.feature.bit == 0xFF || has_feature(c, r.feature); }

// Memory types (SDM Vol. 3A 11.3, 11.12.2): UC 0, WC 1, WT 4, WP 5, WB 6; PAT adds
// UC- 7. 2 and 3 are reserved everywhere.
bool mtrr_type(uint64_t t) { return t == 0 || t == 1 || (t >= 4 && t <= 6); }
bool bytes_valid(uint64_t v, bool pat) {
  for (unsigned b = 0; b < 8; b++) {
    uint64_t t = (v >> (b * 8)) & 0xFF;
    if (!(mtrr_type(t) || (pat && t == 7))) return false;
  }
  return true;
}
uint64_t phys_reserved(Cpu& c) { return ~0ull << maxphyaddr(c); }

enum : uint64_t {
  FC_LOCK = 1u << 0, FC_VMX_SMX = 1u << 1, FC_VMX = 1u << 2,
  APIC_BSP = 1u << 8, APIC_EXTD = 1u << 10, APIC_EN = 1u << 11,
};

uint64_t read_fn(Cpu& c, MsrId id, uint64_t* s) {
  switch (id) {
    case MsrId::TSC: return read_tsc_value(c);
    case MsrId::MPERF:
    case MsrId::APERF: return c.cycles + *s;
    case MsrId::PRED_CMD: raise_gp0();  // write-only (SDM Vol. 4 Table 2-2)
    case MsrId::TSC_AUX:
      if (!has_feature(c, feat::kRdtscp) && !has_feature(c, feat::kRdpid)) raise_gp0();
      return *s;
    default: return *s;
  }
}

void write_fn(Cpu& c, MsrId id, uint32_t i, uint64_t* s, uint64_t v) {
  switch (id) {
    case MsrId::TSC: {
      // SDM Vol. 3B 18.17.3: a write that moves the TSC by X adds X to TSC_ADJUST.
      const uint64_t old = read_tsc_value(c);
      c.msr.tsc_offset += v - old;
      c.msr.tsc_adjust += v - old;
      c.bus->tsc_changed(c);
      return;
    }
    case MsrId::TSC_ADJUST:
      c.msr.tsc_offset += v - c.msr.tsc_adjust;
      c.msr.tsc_adjust = v;
      c.bus->tsc_changed(c);
      return;
    case MsrId::MPERF:
    case MsrId::APERF: *s = v - c.cycles; return;
    case MsrId::APIC_BASE: {
      // SDM Vol. 3A 10.4.4, 10.12.5: base below MAXPHYADDR, BSP read-only, EXTD
      // only with x2APIC; no EN=0/EXTD=1, no x2APIC -> xAPIC, no disabled -> x2APIC.
      uint64_t ok = 0xFFFFFFFFFFFFF000ull & ~phys_reserved(c);
      ok |= APIC_EN | APIC_BSP | (has_feature(c, feat::kX2apic) ? uint64_t(APIC_EXTD) : 0);
      if ((v & ~ok) || ((v ^ *s) & APIC_BSP)) raise_gp0();
      const bool en = v & APIC_EN, x2 = v & APIC_EXTD;
      const bool was_en = *s & APIC_EN, was_x2 = *s & APIC_EXTD;
      if (x2 && !en) raise_gp0();
      if (was_x2 && en && !x2) raise_gp0();
      if (!was_en && x2) raise_gp0();
      *s = v;
      c.bus->apic_base_changed(c, v);
      return;
    }
    case MsrId::FEATURE_CONTROL: {
      // PLATFORM.md, SDM Vol. 3C 24.7: writable until the lock bit is set.
      if (*s & FC_LOCK) raise_gp0();
      uint64_t ok = FC_LOCK;
      if (has_feature(c, feat::kVmx)) {
        ok |= FC_VMX;
        if (has_feature(c, feat::kSmx)) ok |= FC_VMX_SMX;
      }
      if (v & ~ok) raise_gp0();
      *s = v;
      return;
    }
    case MsrId::SPEC_CTRL: {
      uint64_t ok = 1;  // IBRS (the row's feature)
      if (has_feature(c, feat::kStibp)) ok |= 2;
      if (has_feature(c, feat::kSsbd)) ok |= 4;
      if (v & ~ok) raise_gp0();
      *s = v;
      return;
    }
    case MsrId::PRED_CMD:
      if (v & ~1ull) raise_gp0();  // IBPB: no predictor state to discard here
      return;
    case MsrId::BIOS_SIGN_ID: return;  // SDM Vol. 3A 9.11.7.1: software writes 0; the
                                       // revision stays what the model reports
    case MsrId::MTRR_PHYS: {
      // Even indices PHYSBASEn: type 7:0, 11:8 reserved; odd PHYSMASKn: 10:0 reserved,
      // V bit 11 (SDM Vol. 3A 11.11.2.3). Bits at and above MAXPHYADDR reserved.
      const uint64_t res = phys_reserved(c) | ((i & 1) ? 0x7FFull : 0xF00ull);
      if ((v & res) || (!(i & 1) && !mtrr_type(v & 0xFF))) raise_gp0();
      *s = v;
      return;
    }
    case MsrId::MTRR_FIX64K_00000:
    case MsrId::MTRR_FIX16K_80000:
    case MsrId::MTRR_FIX16K_A0000:
    case MsrId::MTRR_FIX4K:
      if (!bytes_valid(v, false)) raise_gp0();
      *s = v;
      return;
    case MsrId::PAT:
      if (!bytes_valid(v, true)) raise_gp0();  // SDM Vol. 3A 11.12.2
      *s = v;
      return;
    case MsrId::MTRR_DEF_TYPE:
      if ((v & ~0xCFFull) || !mtrr_type(v & 0xFF)) raise_gp0();  // SDM Vol. 3A 11.11.2.1
      *s = v;
      return;
    case MsrId::XSS: {
      // Supervisor components the model enumerates (SDM Vol. 1 13.3).
      uint64_t ok = cpuid_reg(c, 0xD, 1, kEcx) | (uint64_t(cpuid_reg(c, 0xD, 1, kEdx)) << 32);
      if (v & ~ok) raise_gp0();
      *s = v;
      return;
    }
    case MsrId::EFER: write_efer(c, v); return;
    case MsrId::TSC_AUX:
      if (!has_feature(c, feat::kRdtscp) && !has_feature(c, feat::kRdpid)) raise_gp0();
      if (v >> 32) raise_gp0();
      *s = v;
      return;
    default: raise_gp0();
  }
}

}  // namespace

const char* msr_name(MsrId id) { return kRows[unsigned(id)].name; }
uint32_t msr_index(MsrId id) { return kRows[unsigned(id)].index; }
uint32_t msr_index_count(MsrId id) { return kRows[unsigned(id)].count; }

MsrId find_msr(uint32_t index) {
  for (unsigned k = 0; k < kMsrCount; k++)
    if (index - kRows[k].index < kRows[k].count) return MsrId(k);
  return MsrId::count;
}

bool set_msr_initial(Cpu& c, uint32_t index, uint64_t value) {
  MsrId id = find_msr(index);
  if (id == MsrId::count) return false;
  uint64_t* s = slot(c, id, index - kRows[unsigned(id)].index);
  if (!s) return false;
  *s = value;
  return true;
}

uint64_t read_msr(Cpu& c, uint32_t index) {
  const MsrId id = find_msr(index);
  if (id == MsrId::count) {
    uint64_t v;
    if (c.bus->platform_rdmsr(c, index, v)) return v;
    c.sys.msr_unknown++;
    raise_gp0();
  }
  c.sys.msr.reads[unsigned(id)]++;
  const Row& r = kRows[unsigned(id)];
  if (!present(c, r)) raise_gp0();
  uint64_t* s = slot(c, id, index - r.index);
  switch (r.access) {
    case MsrAccess::GP: raise_gp0();
    case MsrAccess::FN: return read_fn(c, id, s);
    case MsrAccess::BUS: {
      uint64_t v;
      if (!c.bus->platform_rdmsr(c, index, v)) raise_gp0();
      return v;
    }
    default: return *s;
  }
}

void write_msr(Cpu& c, uint32_t index, uint64_t v) {
  const MsrId id = find_msr(index);
  if (id == MsrId::count) {
    if (c.bus->platform_wrmsr(c, index, v)) return;
    c.sys.msr_unknown++;
    raise_gp0();
  }
  c.sys.msr.writes[unsigned(id)]++;
  const Row& r = kRows[unsigned(id)];
  if (!present(c, r)) raise_gp0();
  const uint32_t i = index - r.index;
  uint64_t* s = slot(c, id, i);
  switch (r.access) {
    case MsrAccess::GP:
    case MsrAccess::RO: raise_gp0();
    case MsrAccess::RW:
      if ((v ^ *s) & ~r.wmask) raise_gp0();
      *s = v;
      return;
    case MsrAccess::ADDR:
      if (!canonical_for_cpu(c, v)) raise_gp0();
      *s = v;
      if (id == MsrId::FS_BASE) c.seg_base_eff[FS] = v;
      if (id == MsrId::GS_BASE) c.seg_base_eff[GS] = v;
      return;
    case MsrAccess::FN: write_fn(c, id, i, s, v); return;
    case MsrAccess::BUS:
      if (!c.bus->platform_wrmsr(c, index, v)) raise_gp0();
      return;
  }
}

// In VMX non-root operation RDTSC, RDTSCP and RDMSR(IA32_TSC) see the TSC scaled by the
// TSC multiplier (a fixed-point 16.48 factor) and offset (SDM Vol. 3C 25.3, 24.6.5);
// outside it the view's offset is 0 and there is no multiplier.
uint64_t read_tsc_value(const Cpu& c) {
  uint64_t t = read_tsc(c);
  if (NS_UNLIKELY(c.vmx.tsc_multiplier))
    t = uint64_t((static_cast<unsigned __int128>(t) * c.vmx.tsc_multiplier) >> 48);
  return t + c.vmx.tsc_offset;
}

namespace {

// RDMSR/WRMSR (SDM Vol. 2B): CPL 0 only (virtual-8086 mode runs at CPL 3); ECX
// selects the MSR, EDX:EAX is the value (upper halves of RAX/RDX cleared).
// In non-root operation the exit (MSR bitmaps, SDM Vol. 3C 25.1.3) comes after the
// privilege check and before any other #GP (an unknown MSR exits, 25.1.1).
void rdmsr(Cpu& c, const DecodedInst& d) {
  if (c.cpl != 0) raise_gp0();
  if (intercepted(c, d, Intercept::kRdmsr, uint32_t(c.r[RCX]))) return;
  const uint64_t v = read_msr(c, uint32_t(c.r[RCX]));
  c.set_reg<uint32_t>(RAX, uint32_t(v));
  c.set_reg<uint32_t>(RDX, uint32_t(v >> 32));
}
void wrmsr(Cpu& c, const DecodedInst& d) {
  if (c.cpl != 0) raise_gp0();
  if (intercepted(c, d, Intercept::kWrmsr, uint32_t(c.r[RCX]))) return;
  write_msr(c, uint32_t(c.r[RCX]), (c.r[RDX] << 32) | uint32_t(c.r[RAX]));
}

// RDTSC/RDTSCP: #GP(0) when CR4.TSD = 1 outside CPL 0 (SDM Vol. 2B "RDTSC"). These
// forms start and end their own block (sim/machine.cpp), so c.cycles holds every
// cycle retired before them: the value is exact, not block-granular.
void check_tsd(const Cpu& c) {
  if ((c.cr4 & 4) && c.protected_mode() && c.cpl != 0) raise_gp0();
}
void rdtsc(Cpu& c, const DecodedInst& d) {
  check_tsd(c);
  if (d.form == Form::rdtsc && intercepted(c, d, Intercept::kRdtsc)) return;
  const uint64_t t = read_tsc_value(c);
  c.set_reg<uint32_t>(RAX, uint32_t(t));
  c.set_reg<uint32_t>(RDX, uint32_t(t >> 32));
}
void rdtscp(Cpu& c, const DecodedInst& d) {
  if (!has_feature(c, feat::kRdtscp)) raise_ud();
  check_tsd(c);
  // Non-root: #UD unless "enable RDTSCP"; exits with "RDTSC exiting" (25.3).
  if (intercepted(c, d, Intercept::kRdtscp)) return;
  rdtsc(c, d);
  c.set_reg<uint32_t>(RCX, uint32_t(c.tsc_aux));
}
// RDPID r (SDM Vol. 2B): IA32_TSC_AUX, 64-bit in 64-bit mode (zero-extended).
void rdpid(Cpu& c, const DecodedInst& d) {
  if (!has_feature(c, feat::kRdpid)) raise_ud();
  if (c.long64) c.r[d.rm] = c.tsc_aux;
  else c.set_reg<uint32_t>(d.rm, uint32_t(c.tsc_aux));
}
// RDPMC (SDM Vol. 2B): the platform has no performance counters (CPUID leaf 0xA is
// zero, PLATFORM.md), so every ECX names an invalid counter: #GP(0), as is CPL > 0
// with CR4.PCE = 0.
// In non-root operation RDPMC exiting comes after the CPL/PCE check (25.1.1).
void rdpmc(Cpu& c, const DecodedInst& d) {
  if (c.protected_mode() && c.cpl != 0 && !(c.cr4 & CR4_PCE)) raise_gp0();
  if (intercepted(c, d, Intercept::kRdpmc)) return;
  raise_gp0();
}

// RD/WRFSBASE, RD/WRGSBASE (SDM Vol. 2B): 64-bit mode only (the form is F_O64),
// #UD unless CR4.FSGSBASE; 32-bit forms zero-extend; WR*BASE r64 checks canonicity.
template <unsigned SEG, bool WIDE>
void rdbase(Cpu& c, const DecodedInst& d) {
  if (!(c.cr4 & (1u << 16))) raise_ud();
  c.r[d.rm] = WIDE ? c.seg[SEG].base : uint32_t(c.seg[SEG].base);
}
template <unsigned SEG, bool WIDE>
void wrbase(Cpu& c, const DecodedInst& d) {
  if (!(c.cr4 & (1u << 16))) raise_ud();
  const uint64_t v = WIDE ? c.r[d.rm] : uint32_t(c.r[d.rm]);
  if (!canonical_for_cpu(c, v)) raise_gp0();
  c.seg[SEG].base = v;
  c.seg_base_eff[SEG] = v;
}

template <unsigned SEG>
void bind_base(HandlerTable& t, Form rd, Form wr) {
  t.set(rd, 1, &rdbase<SEG, false>, &rdbase<SEG, false>);
  t.set(rd, 2, &rdbase<SEG, false>, &rdbase<SEG, false>);
  t.set(rd, 3, &rdbase<SEG, true>, &rdbase<SEG, true>);
  t.set(wr, 1, &wrbase<SEG, false>, &wrbase<SEG, false>);
  t.set(wr, 2, &wrbase<SEG, false>, &wrbase<SEG, false>);
  t.set(wr, 3, &wrbase<SEG, true>, &wrbase<SEG, true>);
}

}  // namespace

void register_sys_msr(HandlerTable& t) {
  t.set_all(Form::rdmsr, &rdmsr);
  t.set_all(Form::wrmsr, &wrmsr);
  t.set_all(Form::rdtsc, &rdtsc);
  t.set_all(Form::rdtscp, &rdtscp);
  t.set_all(Form::rdpid_ry, &rdpid);
  t.set_all(Form::rdpmc, &rdpmc);
  bind_base<FS>(t, Form::rdfsbase_ry, Form::wrfsbase_ry);
  bind_base<GS>(t, Form::rdgsbase_ry, Form::wrgsbase_ry);
}

}  // namespace isa
