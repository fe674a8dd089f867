// Cache control, monitor/wait, SMAP, protection keys, supervisor XSAVE, HLT and the
// forms that only exist to fault here (SDM Vol. 2: WBINVD, INVD, MONITOR, MWAIT, CLAC,
// STAC, RDPKRU, WRPKRU, XSAVES, XRSTORS, HLT, GETSEC, RSM). CLFLUSH/CLFLUSHOPT are bound in isa/exec_mov.cpp (they
// fault like a one-byte read and have no other architectural effect); PAUSE is a NOP
// whose cost the CPU model charges (docs/TIMING.md).
#include "isa/bind.h"
#include "isa/cpu_features.h"
#include "isa/system.h"

namespace isa {
namespace {

constexpr uint64_t kMiscEnableMonitor = 1ull << 18;  // IA32_MISC_ENABLE.ENABLE_MONITOR_FSM

// WBINVD/INVD: CPL 0 (#GP(0) otherwise, virtual-8086 mode included). Caches are not
// modelled, so there is nothing to write back or discard.
void wbinvd(Cpu& c, const DecodedInst& d) {
  if (c.cpl != 0) raise_gp0();
  // Non-root (SDM Vol. 3C 25.1.2/25.1.3): INVD always exits, WBINVD with its control.
  intercepted(c, d, d.form == Form::invd ? Intercept::kInvd : Intercept::kWbinvd);
}

// MONITOR/MWAIT (SDM Vol. 2B): #UD unless CPUID.1:ECX.MONITOR and IA32_MISC_ENABLE
// bit 18 (which also hides the CPUID bit), and #UD at CPL > 0 (this processor does
// not enable ring-3 MONITOR/MWAIT). ECX holds extensions: MONITOR accepts none;
// MWAIT accepts bit 0 (interrupts as break events, CPUID.5:ECX[1]).
void check_monitor(Cpu& c) {
  if (!has_feature(c, feat::kMonitor) || !(c.msr.misc_enable & kMiscEnableMonitor)) raise_ud();
  if (c.cpl != 0) raise_ud();
}

// MONITOR: arms the monitor at DS:rAX (segment overridable, address-size wide). The
// address is checked like a one-byte read (#GP/#SS, #PF); nothing is stored because
// MWAIT never waits for it (below).
void monitor(Cpu& c, const DecodedInst& d) {
  check_monitor(c);
  if (intercepted(c, d, Intercept::kMonitor)) return;
  if (uint32_t(c.r[RCX]) != 0) raise_gp0();
  uint64_t off = c.r[RAX];
  off = d.asize == 8 ? off : d.asize == 4 ? uint32_t(off) : uint16_t(off);
  (void)c.read<uint8_t>(d.flags & IF_SEGOVR ? unsigned(d.seg) : unsigned(DS), off);
}

// MWAIT: a hint. The SDM allows the processor to leave the optimised state at any
// time for implementation-specific reasons (Vol. 2B MWAIT, Vol. 3A 8.10.4), and a
// store to the monitored range cannot happen while the only CPU waits, so MWAIT
// returns at once: software re-checks its condition, as it must anyway. Waiting
// like HLT would end runs that have no interrupt source yet (issue 4).
void mwait(Cpu& c, const DecodedInst& d) {
  check_monitor(c);
  if (intercepted(c, d, Intercept::kMwait)) return;
  uint32_t ext = uint32_t(c.r[RCX]);
  uint32_t ok = (cpuid_reg(c, 5, 0, kEcx) & 2) ? 1 : 0;
  if (ext & ~ok) raise_gp0();
}

// CLAC/STAC (SDM Vol. 2A): #UD without SMAP, in real and virtual-8086 mode, and at
// CPL > 0. RFLAGS.AC decides SMAP's supervisor accesses: update_mode announces it.
template <bool Set>
void clac_stac(Cpu& c, const DecodedInst&) {
  if (!has_feature(c, feat::kSmap) || !c.protected_mode() || c.v86() || c.cpl != 0) raise_ud();
  if (Set) c.rflags |= FLAG_AC;
  else c.rflags &= ~uint64_t(FLAG_AC);
  c.update_mode();
}

// RDPKRU/WRPKRU (SDM Vol. 2B): #UD unless CR4.PKE; ECX (and EDX for WRPKRU) must be 0.
void rdpkru(Cpu& c, const DecodedInst&) {
  if (!(c.cr4 & (1u << 22))) raise_ud();
  if (uint32_t(c.r[RCX]) != 0) raise_gp0();
  c.set_reg<uint32_t>(RAX, c.pkru);
  c.set_reg<uint32_t>(RDX, 0);
}
void wrpkru(Cpu& c, const DecodedInst&) {
  if (!(c.cr4 & (1u << 22))) raise_ud();
  if (uint32_t(c.r[RCX]) != 0 || uint32_t(c.r[RDX]) != 0) raise_gp0();
  c.pkru = uint32_t(c.r[RAX]);
  c.bus->paging_event(c, PagingEvent::kPkruChange);
}

// HLT (SDM Vol. 2A): CPL 0; the machine decides what halting means (Bus::halt). RIP
// already points past HLT, which is where execution resumes after an interrupt.
void hlt(Cpu& c, const DecodedInst& d) {
  if (c.cpl != 0) raise_gp0();
  if (intercepted(c, d, Intercept::kHlt)) return;
  c.bus->halt(c);
}

// XSAVES/XRSTORS (SDM Vol. 1 13.11, 13.12; Vol. 2 "XSAVES", "XRSTORS"): the compacted
// format over XCR0 | IA32_XSS. The models enumerate no supervisor state component
// (IA32_XSS only accepts 0), so with the privilege and format checks done here the
// save and restore are exactly XSAVEC's and the compacted XRSTOR's, which
// isa/exec_xsave.cpp implements; their handlers are taken from the table.
Handler g_xsavec = nullptr, g_xrstor = nullptr;

void xsaves_checks(Cpu& c) {
  if (!has_feature(c, feat::kXsaves) || !(c.cr4 & (1u << 18))) raise_ud();
  if (c.cpl != 0) raise_gp0();
}
// Non-root operation (SDM Vol. 3C 25.3, 25.1.3): #UD unless "enable XSAVES/XRSTORS";
// an exit when the requested-feature bitmap meets the XSS-exiting bitmap.
uint64_t requested_features(const Cpu& c) {
  return ((c.r[RDX] << 32) | uint32_t(c.r[RAX])) & (c.xcr0 | c.msr.xss);
}
void xsaves(Cpu& c, const DecodedInst& d) {
  xsaves_checks(c);
  if (intercepted(c, d, Intercept::kXsaves, requested_features(c))) return;
  g_xsavec(c, d);
}
void xrstors(Cpu& c, const DecodedInst& d) {
  xsaves_checks(c);
  if (intercepted(c, d, Intercept::kXrstors, requested_features(c))) return;
  if (c.cr0 & 8) raise_fault(VEC_NM);  // CR0.TS
  const uint64_t off = c.ea(d);
  if ((c.seg_base_eff[d.seg] + off) & 63) raise_gp0();
  if (!(c.read<uint64_t>(d.seg, off + 520) >> 63)) raise_gp0();  // XCOMP_BV[63]: compacted
  g_xrstor(c, d);
}

// GETSEC: #UD when CR4.SMXE = 0, which is always here: no model enumerates SMX.
// RSM: #UD outside system-management mode, which is never entered.
void ud(Cpu&, const DecodedInst&) { raise_ud(); }

}  // namespace

void register_sys_misc(HandlerTable& t) {
  t.set_all(Form::wbinvd, &wbinvd);
  t.set_all(Form::invd, &wbinvd);
  t.set_all(Form::monitor, &monitor);
  t.set_all(Form::mwait, &mwait);
  t.set_all(Form::clac, &clac_stac<false>);
  t.set_all(Form::stac, &clac_stac<true>);
  t.set_all(Form::rdpkru, &rdpkru);
  t.set_all(Form::wrpkru, &wrpkru);
  t.set_all(Form::hlt, &hlt);
  g_xsavec = t.h[unsigned(Form::xsavec_m)][2][1];
  g_xrstor = t.h[unsigned(Form::xrstor_m)][2][1];
  if (g_xsavec && g_xrstor) {
    t.set_all(Form::xsaves_m, &xsaves);
    t.set_all(Form::xrstors_m, &xrstors);
  }
  t.set_all(Form::getsec, &ud);
  t.set_all(Form::rsm, &ud);
}

}  // namespace isa
