// Fast system calls: SYSCALL/SYSRET, SYSENTER/SYSEXIT, SWAPGS (SDM Vol. 2B; Vol. 3A
// 5.8.7-5.8.8). These load CS and SS with fixed flat caches derived from MSRs
// (c.msr, written by WRMSR in isa/msr.cpp) instead of reading descriptors.
#include "isa/bind.h"
#include "isa/system.h"

namespace isa {
namespace {


// The fixed caches (SDM Vol. 2B SYSCALL/SYSRET/SYSENTER/SYSEXIT "Operation"): base 0,
// limit 4 GiB, accessed, present; code execute/read, data read/write.
void load_flat(SegmentReg& r, uint16_t sel, unsigned dpl, bool code, bool l64) {
  r.selector = sel;
  r.base = 0;
  r.limit = 0xFFFFFFFF;
  uint16_t attr = 0x8000 | 0x0080 | 0x0010 | uint16_t(dpl << 5);  // G, P, S, DPL
  if (code) attr |= 0x000B | (l64 ? 0x2000 : 0x4000);              // exec/read, L or D
  else attr |= 0x0003 | 0x4000;                                      // read/write, B
  r.attr = attr;
}

// SYSCALL: 64-bit mode only (F_O64; #UD elsewhere on Intel), #UD when EFER.SCE = 0.
void syscall(Cpu& c, const DecodedInst&) {
  if (!(c.efer & EFER_SCE)) raise_ud();
  const uint64_t fl = c.get_rflags() & ~uint64_t(FLAG_RF);
  const uint16_t sel = uint16_t(c.msr.star >> 32);
  c.r[RCX] = c.rip();
  c.r[R11] = fl;
  c.rip() = c.msr.lstar;
  c.set_rflags((fl & ~c.msr.fmask & ~uint64_t(FLAG_RF | FLAG_VM)) | FLAG_FIXED1);
  load_flat(c.seg[CS], sel & 0xFFFC, 0, true, true);
  load_flat(c.seg[SS], uint16_t(sel + 8), 0, false, false);
  c.attention = true;  // TF may have been left set by FMASK
  c.update_mode();
}

// SYSRET: CPL 0 in 64-bit mode; REX.W returns to 64-bit mode at RCX, otherwise to
// compatibility mode at ECX. RFLAGS from R11 (RF, VM cleared).
template <class T, bool M>
void sysret(Cpu& c, const DecodedInst&) {
  if (!(c.efer & EFER_SCE)) raise_ud();
  if (c.cpl != 0) raise_gp0();
  constexpr bool q = sizeof(T) == 8;
  if (q && !c.canonical(c.r[RCX])) raise_gp0();  // 48 or 57 bits (CR4.LA57)
  const uint16_t sel = uint16_t(c.msr.star >> 48);
  c.rip() = q ? c.r[RCX] : uint32_t(c.r[RCX]);
  c.set_rflags((c.r[R11] & 0x3C7FD7) | FLAG_FIXED1);
  load_flat(c.seg[CS], uint16_t((q ? sel + 16 : sel) | 3), 3, true, q);
  load_flat(c.seg[SS], uint16_t((sel + 8) | 3), 3, false, false);
  c.attention = true;
  c.update_mode();
}

// SYSENTER: #GP(0) in real mode or with a null IA32_SYSENTER_CS; to CPL 0 with IF,
// VM, RF cleared; a 64-bit target in IA-32e mode.
void sysenter(Cpu& c, const DecodedInst&) {
  if (!c.protected_mode() || (c.msr.sysenter_cs & 0xFFFC) == 0) raise_gp0();
  const bool ia32e = c.efer & EFER_LMA;
  const uint16_t sel = uint16_t(c.msr.sysenter_cs) & 0xFFFC;
  c.set_rflags(c.get_rflags() & ~uint64_t(FLAG_VM | FLAG_IF | FLAG_RF));
  c.r[RSP] = ia32e ? c.msr.sysenter_esp : uint32_t(c.msr.sysenter_esp);
  c.rip() = ia32e ? c.msr.sysenter_eip : uint32_t(c.msr.sysenter_eip);
  load_flat(c.seg[CS], sel, 0, true, ia32e);
  load_flat(c.seg[SS], uint16_t(sel + 8), 0, false, false);
  c.update_mode();
}

// SYSEXIT: CPL 0 in protected mode; REX.W returns to 64-bit mode (CS = SYSENTER_CS +
// 32), otherwise to 32-bit code (+16); SS follows CS; RSP = RCX, RIP = RDX.
template <class T, bool M>
void sysexit(Cpu& c, const DecodedInst&) {
  if (!c.protected_mode() || (c.msr.sysenter_cs & 0xFFFC) == 0 || c.cpl != 0) raise_gp0();
  constexpr bool q = sizeof(T) == 8;
  if (q && (!c.canonical(c.r[RCX]) || !c.canonical(c.r[RDX]))) raise_gp0();
  const uint16_t base = uint16_t(c.msr.sysenter_cs);
  const uint16_t cs = uint16_t((base + (q ? 32 : 16)) | 3);
  c.r[RSP] = q ? c.r[RCX] : uint32_t(c.r[RCX]);
  c.rip() = q ? c.r[RDX] : uint32_t(c.r[RDX]);
  load_flat(c.seg[CS], cs, 3, true, q);
  load_flat(c.seg[SS], uint16_t(cs + 8), 3, false, false);
  c.update_mode();
}

// SWAPGS: 64-bit mode (F_O64), CPL 0: exchanges GS.base and IA32_KERNEL_GS_BASE.
void swapgs(Cpu& c, const DecodedInst&) {
  if (c.cpl != 0) raise_gp0();
  const uint64_t t = c.seg[GS].base;
  c.seg[GS].base = c.kernel_gs_base;
  c.kernel_gs_base = t;
  c.seg_base_eff[GS] = c.seg[GS].base;
}

}  // namespace

void register_sys_fast(HandlerTable& t) {
  t.set_all(Form::syscall, &syscall);
  NS_BIND_V(t, sysret, sysret);
  t.set_all(Form::sysenter, &sysenter);
  NS_BIND_V(t, sysexit, sysexit);
  t.set_all(Form::swapgs, &swapgs);
}

}  // namespace isa
