// Control registers and the TLB-control instructions: MOV to/from CR0/CR2/CR3/CR4/CR8,
// IA32_EFER, CLTS, INVLPG, INVPCID (SDM Vol. 3A 2.5, 2.7, 4.10.4, 9.8.5; Vol. 2B
// "MOV - Move to/from Control Registers", "INVPCID"; Vol. 2A "CLTS", "INVLPG").
//
// Every write checks all its #GP conditions before changing anything, then commits
// and announces the change to the Bus. The announcement may itself fault (loading
// the PAE PDPTE registers, SDM Vol. 3A 4.4.1): the old values are then restored and
// the fault propagates, so a failing MOV CR leaves no trace.
#include "isa/bind.h"
#include "isa/cpu_features.h"
#include "isa/system.h"

namespace isa {
namespace {

// The bits themselves are in isa/cpu_state.h; these are the sets this file checks.
constexpr uint64_t CR0_DEFINED = CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP |
                                 CR0_AM | CR0_NW | CR0_CD | CR0_PG;
// Bits whose change alters translation or its permissions (SDM Vol. 3A 4.10.4.1).
constexpr uint64_t CR4_PAGING =
    CR4_PSE | CR4_PAE | CR4_PGE | CR4_PCIDE | CR4_SMEP | CR4_SMAP | CR4_PKE | CR4_LA57;

bool ia32e(const Cpu& c) { return c.efer & EFER_LMA; }

// CR4 bits this model may set: each one needs its CPUID feature (SDM Vol. 3A 2.5,
// "CR4"; Vol. 2B MOV CR: "#GP(0) if an attempt is made to write a 1 to any reserved
// bit in CR4"; a bit for a feature the processor lacks is reserved).
uint64_t cr4_allowed(Cpu& c) {
  uint64_t ok = CR4_TSD | CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT;
  struct { CpuidBit f; uint64_t bits; } gated[] = {
      {feat::kVme, CR4_VME | CR4_PVI}, {feat::kDe, CR4_DE},         {feat::kPse, CR4_PSE},
      {feat::kPae, CR4_PAE},           {feat::kMce, CR4_MCE},       {feat::kPge, CR4_PGE},
      {feat::kUmip, CR4_UMIP},         {feat::kLa57, CR4_LA57},     {feat::kVmx, CR4_VMXE},
      {feat::kSmx, CR4_SMXE},          {feat::kFsgsbase, CR4_FSGSBASE},
      {feat::kPcid, CR4_PCIDE},        {feat::kXsave, CR4_OSXSAVE}, {feat::kSmep, CR4_SMEP},
      {feat::kSmap, CR4_SMAP},         {feat::kPku, CR4_PKE},
  };
  for (const auto& g : gated)
    if (has_feature(c, g.f)) ok |= g.bits;
  return ok;
}

// Commits new CR0/CR3/CR4/EFER values, recomputes the mode and announces `ev`; on a
// fault from the announcement (PDPTE loading) everything is put back.
void commit(Cpu& c, uint64_t cr0, uint64_t cr3, uint64_t cr4, uint64_t efer, bool announce,
            PagingEvent ev, uint64_t addr = 0) {
  const uint64_t o0 = c.cr0, o3 = c.cr3, o4 = c.cr4, oe = c.efer;
  c.cr0 = cr0, c.cr3 = cr3, c.cr4 = cr4, c.efer = efer;
  try {
    c.update_mode();
    if (announce) c.bus->paging_event(c, ev, addr);
  } catch (...) {
    c.cr0 = o0, c.cr3 = o3, c.cr4 = o4, c.efer = oe;
    c.update_mode();
    throw;
  }
}

}  // namespace

// SDM Vol. 2B MOV CR "Protected Mode Exceptions"/"64-Bit Mode Exceptions" and Vol. 3A
// 2.5, 9.8.5 (activating IA-32e mode), 4.10.1 (PCIDE).
void write_cr0(Cpu& c, uint64_t v) {
  if (v >> 32) raise_gp0();                       // bits 63:32 are reserved
  v = (v & CR0_DEFINED) | CR0_ET;                 // ET is hardwired to 1; other reserved bits ignored
  if (c.vmx.mode != VmxMode::kOff) {
    // VMX: in non-root operation bits set in the CR0 guest/host mask keep their value
    // (SDM Vol. 3C 25.3; the mask is 0 in root operation), and in VMX operation the
    // result must respect the fixed bits (23.8, with 26.3.1.1's unrestricted guest).
    v = (v & ~c.vmx.cr0_mask) | (c.cr0 & c.vmx.cr0_mask);
    if ((v & c.vmx.cr0_fixed0) != c.vmx.cr0_fixed0 || (v & ~c.vmx.cr0_fixed1)) raise_gp0();
  }
  if ((v & CR0_PG) && !(v & CR0_PE)) raise_gp0();  // paging without protection
  if ((v & CR0_NW) && !(v & CR0_CD)) raise_gp0();  // not-write-through without cache disable
  const bool pg_on = (v & CR0_PG) && !(c.cr0 & CR0_PG);
  const bool pg_off = !(v & CR0_PG) && (c.cr0 & CR0_PG);
  uint64_t efer = c.efer;
  if (pg_on && (c.efer & EFER_LME)) {
    // Activating IA-32e mode (SDM Vol. 3A 9.8.5): PAE must be on and CS.L clear.
    if (!(c.cr4 & CR4_PAE)) raise_gp0();
    if (c.seg[CS].attr & 0x2000) raise_gp0();
    efer |= EFER_LMA;
  }
  if (pg_off) {
    // In 64-bit mode paging cannot be turned off (leave through compatibility mode,
    // SDM Vol. 3A 9.8.5.4); with CR4.PCIDE=1 neither (4.10.1).
    if (c.long64 || (c.cr4 & CR4_PCIDE)) raise_gp0();
    efer &= ~EFER_LMA;
  }
  const uint64_t changed = v ^ c.cr0;
  const bool paging = (changed & (CR0_PG | CR0_WP | CR0_PE)) || efer != c.efer;
  commit(c, v, c.cr3, c.cr4, efer, paging, PagingEvent::kModeChange);
}

// CR3 (SDM Vol. 3A 4.5, 4.10.4.1): in IA-32e mode the bits above MAXPHYADDR are
// reserved, except bit 63 with CR4.PCIDE=1, which asks not to flush the PCID's
// entries and is not stored. Outside IA-32e mode only 32 bits are written.
void write_cr3(Cpu& c, uint64_t v) {
  uint64_t noflush = 0;
  if (ia32e(c)) {
    if ((c.cr4 & CR4_PCIDE) && (v >> 63)) {
      noflush = 1ull << 63;
      v &= ~(1ull << 63);
    }
    if (v >> maxphyaddr(c)) raise_gp0();
  } else {
    v = uint32_t(v);
  }
  commit(c, c.cr0, v, c.cr4, c.efer, true, PagingEvent::kCr3Write, noflush);
}

void write_cr4(Cpu& c, uint64_t v) {
  if (v & ~cr4_allowed(c)) raise_gp0();
  if (c.vmx.mode != VmxMode::kOff) {  // as for CR0 above (25.3, 23.8)
    v = (v & ~c.vmx.cr4_mask) | (c.cr4 & c.vmx.cr4_mask);
    if ((v & c.vmx.cr4_fixed0) != c.vmx.cr4_fixed0 || (v & ~c.vmx.cr4_fixed1)) raise_gp0();
  }
  if (ia32e(c)) {
    if (!(v & CR4_PAE)) raise_gp0();                       // SDM Vol. 3A 9.8.5.4
    if ((v ^ c.cr4) & CR4_LA57) raise_gp0();               // LA57 fixed in IA-32e mode (4.5)
  }
  if ((v & CR4_PCIDE) && !(c.cr4 & CR4_PCIDE)) {
    // SDM Vol. 3A 4.10.1: only in IA-32e mode and with CR3[11:0] = 0 (PCID 0).
    if (!ia32e(c) || (c.cr3 & 0xFFF)) raise_gp0();
  }
  const bool paging = (v ^ c.cr4) & CR4_PAGING;
  commit(c, c.cr0, c.cr3, v, c.efer, paging, PagingEvent::kModeChange);
}

// IA32_EFER (SDM Vol. 3A 2.2.1, 9.8.5; Vol. 4 MSR C000_0080H): SCE, LME, NXE are
// writable when enumerated; LMA is read-only (written values are ignored, as the
// processor keeps it from CR0.PG and LME); LME cannot change while paging is on.
void write_efer(Cpu& c, uint64_t v) {
  uint64_t ok = EFER_LMA;
  if (has_feature(c, feat::kSyscall)) ok |= EFER_SCE;
  if (has_feature(c, feat::kLm)) ok |= EFER_LME;
  if (has_feature(c, feat::kNx)) ok |= EFER_NXE;
  if (v & ~ok) raise_gp0();
  if (((v ^ c.efer) & EFER_LME) && (c.cr0 & CR0_PG)) raise_gp0();
  v = (v & ~EFER_LMA) | (c.efer & EFER_LMA);
  const bool paging = (v ^ c.efer) & EFER_NXE;
  commit(c, c.cr0, c.cr3, c.cr4, v, paging, PagingEvent::kModeChange);
}

namespace {

// MOV CR is CPL 0 only (SDM Vol. 2B MOV CR: #GP(0) at CPL > 0, which covers
// virtual-8086 mode); CR1, CR5-CR7 and CR9-CR15 are #UD.
void check_cr(Cpu& c, unsigned n) {
  if (n != 0 && n != 2 && n != 3 && n != 4 && n != 8) raise_ud();
  if (n == 8 && !c.long64) raise_ud();  // CR8 needs REX.R; no LOCK alias on Intel
  if (c.cpl != 0) raise_gp0();
}

// CR0/CR4 reads in VMX non-root operation: host-owned bits (set in the guest/host
// mask) come from the read shadow (SDM Vol. 3C 25.3); the identity otherwise.
uint64_t read_cr(Cpu& c, unsigned n) {
  switch (n) {
    case 0: return (c.cr0 & ~c.vmx.cr0_mask) | (c.vmx.cr0_shadow & c.vmx.cr0_mask);
    case 2: return c.cr2;
    case 3: return c.cr3;
    case 4: return (c.cr4 & ~c.vmx.cr4_mask) | (c.vmx.cr4_shadow & c.vmx.cr4_mask);
    default: return c.bus->read_cr8(c);  // CR8 = TPR[7:4] (SDM Vol. 3A 11.8.6.1)
  }
}

// MOV r, CRn: 64-bit in 64-bit mode, 32-bit otherwise (the operand size is ignored).
void mov_rd_cd(Cpu& c, const DecodedInst& d) {
  check_cr(c, d.reg);
  if (intercepted(c, d, Intercept::kMovFromCr, d.reg)) return;  // CR3/CR8 store exiting
  uint64_t v = read_cr(c, d.reg);
  c.r[d.rm] = c.long64 ? v : uint32_t(v);
}

void mov_cd_rd(Cpu& c, const DecodedInst& d) {
  check_cr(c, d.reg);
  if (intercepted(c, d, Intercept::kMovToCr, d.reg)) return;  // masks, CR3 targets, CR8
  uint64_t v = c.long64 ? c.r[d.rm] : uint32_t(c.r[d.rm]);
  switch (d.reg) {
    case 0: write_cr0(c, v); break;
    case 2: c.cr2 = v; break;
    case 3: write_cr3(c, v); break;
    case 4: write_cr4(c, v); break;
    default:
      if (v >> 4) raise_gp0();  // CR8 bits 63:4 are reserved
      c.bus->write_cr8(c, v);
      break;
  }
}

// CLTS (SDM Vol. 2A): CPL 0; clears CR0.TS only (no translation change). In VMX
// non-root operation a host-owned TS is left alone, or the instruction exits when
// the shadow's TS is 1 (SDM Vol. 3C 25.1.3, 25.3).
void clts(Cpu& c, const DecodedInst& d) {
  if (c.cpl != 0) raise_gp0();
  if (intercepted(c, d, Intercept::kClts)) return;
  c.cr0 &= ~(CR0_TS & ~c.vmx.cr0_mask);
}

// INVLPG m (SDM Vol. 2A): CPL 0. The operand is a linear address formed without
// limit or canonical checks (a non-canonical address invalidates nothing).
void invlpg(Cpu& c, const DecodedInst& d) {
  if (c.cpl != 0) raise_gp0();
  if (intercepted(c, d, Intercept::kInvlpg)) return;
  uint64_t lin = c.seg_base_eff[d.seg] + c.ea(d);
  if (!c.long64) lin = uint32_t(lin);
  c.bus->paging_event(c, PagingEvent::kInvlpg, lin);
}

// INVPCID r, m128 (SDM Vol. 2B "INVPCID"): the type in a register (64-bit in 64-bit
// mode), a 16-byte descriptor {PCID in bits 11:0, bits 63:12 reserved, linear
// address in bits 127:64} in memory.
void invpcid(Cpu& c, const DecodedInst& d) {
  if (!has_feature(c, feat::kInvpcid)) raise_ud();
  if (c.v86()) raise_ud();
  if (c.cpl != 0) raise_gp0();
  // Non-root: #UD unless "enable INVPCID", an exit with "INVLPG exiting" (25.3).
  if (intercepted(c, d, Intercept::kInvpcid)) return;
  uint64_t type = c.long64 ? c.r[d.reg] : uint32_t(c.r[d.reg]);
  uint64_t desc[2];
  c.read_bytes(d.seg, c.ea(d), desc, 16);
  if (type > 3) raise_gp0();
  if (desc[0] >> 12) raise_gp0();
  const uint64_t pcid = desc[0] & 0xFFF, lin = desc[1];
  switch (type) {
    case 0:
      if (!canonical_for_cpu(c, lin)) raise_gp0();
      if (pcid && !(c.cr4 & CR4_PCIDE)) raise_gp0();
      c.bus->paging_event(c, PagingEvent::kInvpcidAddress, lin, pcid);
      break;
    case 1:
      if (pcid && !(c.cr4 & CR4_PCIDE)) raise_gp0();
      c.bus->paging_event(c, PagingEvent::kInvpcidSingle, 0, pcid);
      break;
    case 2: c.bus->paging_event(c, PagingEvent::kInvpcidAllGlobal); break;
    default: c.bus->paging_event(c, PagingEvent::kInvpcidAllNonGlobal); break;
  }
}

}  // namespace

void register_sys_cr(HandlerTable& t) {
  t.set_all(Form::mov_rd_cd, &mov_rd_cd);
  t.set_all(Form::mov_cd_rd, &mov_cd_rd);
  t.set_all(Form::clts, &clts);
  t.set_all(Form::invlpg_m, &invlpg);
  t.set_all(Form::invpcid_gy_mdq, &invpcid);
}

}  // namespace isa
