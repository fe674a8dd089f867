// Segmentation (SDM Vol. 3A chapters 3 and 5, Vol. 2A/2B instruction pages):
// descriptor reads, segment-register loads with their privilege checks, far
// JMP/CALL/RET through code segments, call gates, task gates and TSSs, and the
// descriptor-probing instructions LAR, LSL, VERR, VERW and ARPL.
//
// Every check raises the exact vector and error code the SDM's "Operation" section
// gives; every access that can fault happens before any register is committed.
// Far transfers that change privilege commit CS/SS tentatively (so that the new
// stack is written at the new CPL, as hardware does) and roll back on a fault.
#include "isa/system.h"

#include "isa/exec_int.h"
#include "isa/sys_seg_util.h"

namespace isa {

using exec::get_sp;
using exec::set_sp;
using exec::sp_wrap;

namespace seg {

bool descriptor_address(const Cpu& c, uint16_t sel, unsigned bytes, uint64_t& lin) {
  uint64_t base;
  uint32_t limit;
  if (sel & 4) {
    if (!(c.ldtr.attr & kAttrP)) return false;  // null LDTR: LDT references fault
    base = c.ldtr.base;
    limit = c.ldtr.limit;
  } else {
    base = c.gdtr.base;
    limit = c.gdtr.limit;
  }
  const uint32_t off = sel & ~7u;
  if (uint64_t(off) + bytes - 1 > limit) return false;
  lin = base + off;
  if (!ia32e(c)) lin = uint32_t(lin);
  return true;
}

bool try_read_descriptor(Cpu& c, uint16_t sel, Descriptor& d) {
  uint64_t lin;
  if (!descriptor_address(c, sel, 8, lin)) return false;
  uint32_t w[2];
  c.sys_read(lin, w, 8);
  d.lo = w[0], d.hi = w[1], d.hi2 = 0;
  return true;
}

// A 16-byte system descriptor in IA-32e mode: bits 127:96 must have a zero type
// field (bits 108:104) for call gates, LDT and TSS descriptors (SDM Vol. 3A 5.8.3.1,
// 7.2.3). Returns bits 127:96.
uint32_t read_descriptor_top(Cpu& c, uint16_t sel) {
  uint64_t lin = 0;
  descriptor_address(c, sel, 16, lin);  // the caller checked that 16 bytes fit
  uint32_t top;
  c.sys_read(lin + 12, &top, 4);
  return top;
}

void null_segment(SegmentReg& r, uint16_t sel, unsigned dpl) {
  r.selector = sel;
  r.attr = uint16_t(dpl << 5);  // P = 0: unusable; DPL kept (SS: it is the CPL)
  r.base = 0;
  r.limit = 0;
}

void refresh_base(Cpu& c, unsigned s) {
  c.seg_base_eff[s] = (c.long64 && s != FS && s != GS) ? 0 : c.seg[s].base;
}

// SDM Vol. 2B MOV/POP: a stack segment must be a writable data segment with
// RPL = DPL = CPL; a missing one is #SS(selector). `vec` is #GP for MOV/POP/RETF,
// #TS for task switches and TSS stacks.
Descriptor check_stack_segment(Cpu& c, uint16_t sel, unsigned cpl, uint8_t vec) {
  Descriptor d = read_descriptor(c, sel, vec);
  if ((sel & 3) != cpl || !d.data() || !(d.type() & 2) || d.dpl() != cpl)
    raise_fault(vec, sel & 0xFFFC);
  if (!d.present()) raise_fault(VEC_SS, sel & 0xFFFC);
  return d;
}

// SDM Vol. 2B MOV: DS/ES/FS/GS take data or readable code segments; for data and
// non-conforming code, max(CPL, RPL) <= DPL. Missing: #NP(selector).
Descriptor check_data_segment(Cpu& c, uint16_t sel, unsigned cpl, uint8_t vec) {
  Descriptor d = read_descriptor(c, sel, vec);
  const bool readable_code = d.code() && (d.type() & 2);
  if (!d.data() && !readable_code) raise_fault(vec, sel & 0xFFFC);
  const bool conforming_code = d.code() && (d.type() & 4);
  if (!conforming_code && ((sel & 3u) > d.dpl() || cpl > d.dpl())) raise_fault(vec, sel & 0xFFFC);
  if (!d.present()) raise_fault(VEC_NP, sel & 0xFFFC);
  return d;
}

bool canonical_la(const Cpu& c, uint64_t a) { return c.canonical(a); }

}  // namespace seg

using namespace seg;

Descriptor read_descriptor(Cpu& c, uint16_t sel, uint8_t vector, bool wide) {
  uint64_t lin;
  if (!descriptor_address(c, sel, wide ? 16 : 8, lin)) raise_fault(vector, sel & 0xFFFC);
  uint32_t w[3];
  c.sys_read(lin, w, wide ? 12 : 8);
  Descriptor d;
  d.lo = w[0], d.hi = w[1], d.hi2 = wide ? w[2] : 0;
  return d;
}

// SDM Vol. 3A 3.4.5.1: the processor sets the accessed bit when it loads a segment
// register from a descriptor whose bit is clear (a locked write of byte 5).
void set_descriptor_accessed(Cpu& c, uint16_t sel, Descriptor& d) {
  if (!d.s() || (d.hi & 0x100)) return;
  uint64_t lin;
  if (!descriptor_address(c, sel, 8, lin)) return;
  d.hi |= 0x100;
  const uint8_t b = uint8_t(d.hi >> 8);
  c.sys_write(lin + 5, &b, 1);
}

void load_cache(SegmentReg& r, uint16_t sel, const Descriptor& d) {
  r.selector = sel;
  r.base = d.base32();
  r.limit = d.limit();
  r.attr = d.attr();
}

void load_data_segment(Cpu& c, unsigned s, uint16_t sel) {
  SegmentReg& r = c.seg[s];
  if (!c.protected_mode()) {
    // Real mode: only selector and base change; limit and attributes stay what the
    // last protected-mode load left (SDM Vol. 3A 9.9.2; "unreal mode" relies on it).
    r.selector = sel;
    r.base = uint32_t(sel) << 4;
  } else if (c.v86()) {
    // Virtual-8086 mode: 64 KiB read/write data, DPL 3 (SDM Vol. 3A 20.1.1; the VMCS
    // guest-state checks of 27.3.1.2 require exactly these attributes).
    r = SegmentReg{sel, 0xF3, 0xFFFF, uint64_t(sel) << 4};
  } else if ((sel & 0xFFFC) == 0) {
    // Null selector: allowed for DS/ES/FS/GS (the register becomes unusable), and for
    // SS only in 64-bit mode at CPL < 3 with RPL = CPL (SDM Vol. 2B MOV).
    if (s == SS && (!c.long64 || c.cpl == 3 || (sel & 3) != c.cpl)) raise_gp0();
    null_segment(r, sel, s == SS ? c.cpl : 0);
  } else {
    Descriptor d = s == SS ? check_stack_segment(c, sel, c.cpl, VEC_GP)
                           : check_data_segment(c, sel, c.cpl, VEC_GP);
    set_descriptor_accessed(c, sel, d);
    load_cache(r, sel, d);
  }
  refresh_base(c, s);
}

// ---- far transfers ------------------------------------------------------------------

namespace {

// Pushes/pops of `size` bytes at SS:sp (stack-address size of the current SS).
uint64_t push_sized(Cpu& c, unsigned size, uint64_t v, uint64_t sp) {
  switch (size) {
    case 2: return exec::push_value<uint16_t>(c, uint16_t(v), sp);
    case 4: return exec::push_value<uint32_t>(c, uint32_t(v), sp);
    default: return exec::push_value<uint64_t>(c, v, sp);
  }
}
uint64_t read_stack(Cpu& c, unsigned size, uint64_t sp) {
  sp = sp_wrap(c, sp);
  switch (size) {
    case 2: return c.read<uint16_t>(SS, sp);
    case 4: return c.read<uint32_t>(SS, sp);
    default: return c.read<uint64_t>(SS, sp);
  }
}

// The offset a far transfer lands on in the code segment `d`: canonical for 64-bit
// code, within the limit otherwise; #GP(0) if not (SDM Vol. 2A JMP/CALL, Vol. 2B RET).
uint64_t check_far_target(const Cpu& c, const Descriptor& d, uint64_t off) {
  if (ia32e(c) && d.l()) {
    if (!canonical_la(c, off)) raise_gp0();
  } else if (off > d.limit()) {
    raise_gp0();
  }
  return off;
}

// In IA-32e mode a code segment with L = 1 and D = 1 is reserved (SDM Vol. 3A 5.2.1).
bool bad_long_cs(const Cpu& c, const Descriptor& d) { return ia32e(c) && d.l() && d.db(); }

// Direct transfer to a code segment: the privilege rules shared by JMP and CALL
// (SDM Vol. 2A JMP "Operation": conforming DPL <= CPL, non-conforming RPL <= CPL
// and DPL = CPL), #NP(selector) last.
void check_direct_code(Cpu& c, uint16_t sel, const Descriptor& d) {
  const uint16_t err = sel & 0xFFFC;
  if (d.type() & 4) {
    if (d.dpl() > c.cpl) raise_fault(VEC_GP, err);
  } else if ((sel & 3u) > c.cpl || d.dpl() != c.cpl) {
    raise_fault(VEC_GP, err);
  }
  if (bad_long_cs(c, d)) raise_fault(VEC_GP, err);
  if (!d.present()) raise_fault(VEC_NP, err);
}

// Commits CS:RIP (RPL = `cpl`) and recomputes the mode.
void commit_cs(Cpu& c, uint16_t sel, const Descriptor& d, unsigned cpl, uint64_t rip) {
  load_cache(c.seg[CS], uint16_t((sel & ~3u) | cpl), d);
  c.rip() = rip;
  c.update_mode();
}

// Real and virtual-8086 mode far transfers: CS base = selector << 4, IP checked
// against the CS limit (SDM Vol. 2A JMP "real-address or virtual-8086 mode").
void real_cs(Cpu& c, uint16_t sel, uint64_t ip) {
  if (ip > c.seg[CS].limit) raise_gp0();
  if (c.v86()) c.seg[CS] = SegmentReg{sel, 0xF3, 0xFFFF, uint64_t(sel) << 4};
  else c.seg[CS].selector = sel, c.seg[CS].base = uint32_t(sel) << 4;
  c.rip() = ip;
  c.update_mode();
}

// A task gate or TSS descriptor named by far JMP/CALL (SDM Vol. 2A JMP "TASK-GATE",
// "TASK-STATE-SEGMENT"): DPL >= max(CPL, RPL), present, then the task switch.
void far_to_task(Cpu& c, uint16_t sel, const Descriptor& d, TaskSwitchSource src) {
  const uint16_t err = sel & 0xFFFC;
  if (d.dpl() < c.cpl || d.dpl() < (sel & 3u)) raise_fault(VEC_GP, err);
  if (!d.present()) raise_fault(VEC_NP, err);
  uint16_t tss_sel = sel;
  Descriptor tss = d;
  if (d.type() == 5) {  // task gate: the TSS it names must be in the GDT and available
    tss_sel = d.gate_selector();
    if (tss_sel & 4) raise_fault(VEC_GP, tss_sel & 0xFFFC);
    tss = read_descriptor(c, tss_sel, VEC_GP);
    if (tss.s() || (tss.type() != 1 && tss.type() != 9)) raise_fault(VEC_GP, tss_sel & 0xFFFC);
    if (!tss.present()) raise_fault(VEC_NP, tss_sel & 0xFFFC);
  }
  task_switch(c, tss_sel, tss, src);
}

// What a far JMP/CALL selector names, after the checks common to both.
struct FarTarget {
  uint16_t sel;
  Descriptor d;
};
FarTarget read_far_target(Cpu& c, uint16_t sel) {
  if ((sel & 0xFFFC) == 0) raise_gp0();
  Descriptor d = read_descriptor(c, sel, VEC_GP);
  if (!d.s()) {
    // System descriptors: call gates always; task gates and TSSs outside IA-32e mode
    // only, where 16-bit call gates do not exist either (SDM Vol. 3A 5.8.3.1, 7.7).
    const unsigned t = d.type();
    const bool ok = ia32e(c) ? t == 0xC : (t == 1 || t == 9 || t == 4 || t == 5 || t == 0xC);
    if (!ok) raise_fault(VEC_GP, sel & 0xFFFC);
    if (ia32e(c)) d = read_descriptor(c, sel, VEC_GP, true);
  }
  return {sel, d};
}

// A call gate and the code segment it names (SDM Vol. 2A CALL "CALL-GATE"):
// gate DPL >= max(CPL, RPL), gate present; target selector non-null, a code segment
// with DPL <= CPL (JMP: conforming DPL <= CPL, non-conforming DPL = CPL), present;
// in IA-32e mode a 64-bit code segment and a zero upper type field.
struct GateTarget {
  uint16_t cs_sel;
  Descriptor cs;
  uint64_t off;
};
GateTarget check_call_gate(Cpu& c, uint16_t sel, const Descriptor& g, bool is_jmp) {
  const uint16_t err = sel & 0xFFFC;
  if (g.dpl() < c.cpl || g.dpl() < (sel & 3u)) raise_fault(VEC_GP, err);
  if (!g.present()) raise_fault(VEC_NP, err);
  if (ia32e(c) && (read_descriptor_top(c, sel) & 0x1F00)) raise_fault(VEC_GP, err);
  GateTarget t;
  t.cs_sel = g.gate_selector();
  if ((t.cs_sel & 0xFFFC) == 0) raise_gp0();
  t.cs = read_descriptor(c, t.cs_sel, VEC_GP);
  const uint16_t cerr = t.cs_sel & 0xFFFC;
  if (!t.cs.code() || t.cs.dpl() > c.cpl) raise_fault(VEC_GP, cerr);
  if (is_jmp && !(t.cs.type() & 4) && t.cs.dpl() != c.cpl) raise_fault(VEC_GP, cerr);
  if (ia32e(c) && (!t.cs.l() || t.cs.db())) raise_fault(VEC_GP, cerr);
  if (!t.cs.present()) raise_fault(VEC_NP, cerr);
  t.off = ia32e(c) ? g.gate_offset() : g.type() == 4 ? (g.lo & 0xFFFF) : uint32_t(g.gate_offset());
  return t;
}

// Does [sp - bytes, sp) fit the stack segment `d` (stack-address size by its B bit)?
// (SDM Vol. 2A CALL: "IF new stack does not have room ... THEN #SS(SS selector)".)
bool stack_room(const Descriptor& d, uint64_t sp, unsigned bytes) {
  const uint64_t top = d.db() ? 0xFFFFFFFFull : 0xFFFF;
  const uint64_t lo = (sp - bytes) & top, hi = lo + bytes - 1;
  if (hi > top) return false;
  if (d.type() & 4) return lo > d.limit();  // expand-down
  return hi <= d.limit();
}

// Saved state for rolling back a tentatively committed privilege change.
struct SavedCsSs {
  SegmentReg cs, ss;
  uint64_t rsp, rip;
  explicit SavedCsSs(const Cpu& c) : cs(c.seg[CS]), ss(c.seg[SS]), rsp(c.r[RSP]), rip(c.r[kRegRip]) {}
  void restore(Cpu& c) const {
    c.seg[CS] = cs, c.seg[SS] = ss, c.r[RSP] = rsp, c.r[kRegRip] = rip;
    c.update_mode();
  }
};

// CALL through a call gate to a more privileged non-conforming segment (SDM Vol. 2A
// CALL "MORE-PRIVILEGE"): stack from the TSS, old SS:ESP, copied parameters and
// CS:EIP pushed on it with the gate's size. IA-32e: RSP from the 64-bit TSS, SS
// becomes a null selector with RPL = new CPL, and 8-byte pushes (no parameters).
void call_gate_inner(Cpu& c, const Descriptor& g, const GateTarget& t) {
  const unsigned ncpl = t.cs.dpl();
  const SavedCsSs old(c);
  const uint64_t old_sp = c.r[RSP];
  if (ia32e(c)) {
    uint64_t sp = tss64_stack(c, ncpl, 0);
    try {
      null_segment(c.seg[SS], uint16_t(ncpl), ncpl);
      commit_cs(c, t.cs_sel, t.cs, ncpl, t.off);
      sp = push_sized(c, 8, old.ss.selector, sp);
      sp = push_sized(c, 8, old_sp, sp);
      sp = push_sized(c, 8, old.cs.selector, sp);
      sp = push_sized(c, 8, old.rip, sp);
    } catch (const CpuFault&) {
      old.restore(c);
      throw;
    }
    c.r[RSP] = sp;
    return;
  }
  uint16_t ss_sel;
  uint32_t nsp;
  tss_legacy_stack(c, ncpl, ss_sel, nsp);
  Descriptor ssd = read_descriptor(c, ss_sel, VEC_TS);
  const unsigned gsz = (g.type() & 8) ? 4 : 2, n = g.gate_params();
  if (!stack_room(ssd, nsp, gsz * (4 + n))) raise_fault(VEC_SS, ss_sel & 0xFFFC);
  uint32_t params[32];
  const uint64_t osp = get_sp(c);
  for (unsigned i = 0; i < n; i++) params[i] = uint32_t(read_stack(c, gsz, osp + i * gsz));
  set_descriptor_accessed(c, ss_sel, ssd);
  uint64_t sp = nsp;
  try {
    load_cache(c.seg[SS], ss_sel, ssd);
    c.r[RSP] = nsp;
    commit_cs(c, t.cs_sel, t.cs, ncpl, t.off);
    sp = push_sized(c, gsz, old.ss.selector, sp);
    sp = push_sized(c, gsz, old_sp, sp);
    for (unsigned i = n; i-- > 0;) sp = push_sized(c, gsz, params[i], sp);
    sp = push_sized(c, gsz, old.cs.selector, sp);
    sp = push_sized(c, gsz, old.rip, sp);
  } catch (const CpuFault&) {
    old.restore(c);
    throw;
  }
  set_sp(c, sp);
}

void far_via_gate(Cpu& c, uint16_t sel, const Descriptor& g, bool is_call) {
  GateTarget t = check_call_gate(c, sel, g, !is_call);
  const unsigned gsz = ia32e(c) ? 8 : (g.type() & 8) ? 4 : 2;
  check_far_target(c, t.cs, t.off);
  if (is_call && !(t.cs.type() & 4) && t.cs.dpl() < c.cpl) {
    set_descriptor_accessed(c, t.cs_sel, t.cs);
    call_gate_inner(c, g, t);
    return;
  }
  // Same privilege (or conforming): CS:EIP pushed with the gate's size, RPL = CPL.
  uint64_t sp = get_sp(c);
  if (is_call) {
    sp = push_sized(c, gsz, c.seg[CS].selector, sp);
    sp = push_sized(c, gsz, c.rip(), sp);
  }
  set_descriptor_accessed(c, t.cs_sel, t.cs);
  if (is_call) set_sp(c, sp);
  commit_cs(c, t.cs_sel, t.cs, c.cpl, t.off);
}

uint64_t truncate_offset(uint64_t off, unsigned osize) {
  return osize == 2 ? uint16_t(off) : osize == 4 ? uint32_t(off) : off;
}

}  // namespace

void far_jmp(Cpu& c, uint16_t sel, uint64_t off, unsigned osize) {
  off = truncate_offset(off, osize);
  if (!c.protected_mode() || c.v86()) return real_cs(c, sel, off);
  FarTarget t = read_far_target(c, sel);
  if (t.d.s()) {
    if (!t.d.code()) raise_fault(VEC_GP, sel & 0xFFFC);
    check_direct_code(c, sel, t.d);
    check_far_target(c, t.d, off);
    set_descriptor_accessed(c, sel, t.d);
    return commit_cs(c, sel, t.d, c.cpl, off);
  }
  switch (t.d.type()) {
    case 4: case 0xC: return far_via_gate(c, sel, t.d, false);
    default: return far_to_task(c, sel, t.d, TaskSwitchSource::kJmp);
  }
}

void far_call(Cpu& c, uint16_t sel, uint64_t off, unsigned osize) {
  off = truncate_offset(off, osize);
  if (!c.protected_mode() || c.v86()) {
    // SDM Vol. 2A CALL, real-address mode: push CS then IP/EIP with the operand size.
    if (off > c.seg[CS].limit) raise_gp0();
    uint64_t sp = push_sized(c, osize, c.seg[CS].selector, get_sp(c));
    sp = push_sized(c, osize, c.rip(), sp);
    real_cs(c, sel, off);
    set_sp(c, sp);
    return;
  }
  FarTarget t = read_far_target(c, sel);
  if (t.d.s()) {
    if (!t.d.code()) raise_fault(VEC_GP, sel & 0xFFFC);
    check_direct_code(c, sel, t.d);
    uint64_t sp = push_sized(c, osize, c.seg[CS].selector, get_sp(c));
    sp = push_sized(c, osize, c.rip(), sp);
    check_far_target(c, t.d, off);
    set_descriptor_accessed(c, sel, t.d);
    set_sp(c, sp);
    return commit_cs(c, sel, t.d, c.cpl, off);
  }
  switch (t.d.type()) {
    case 4: case 0xC: return far_via_gate(c, sel, t.d, true);
    default: return far_to_task(c, sel, t.d, TaskSwitchSource::kCall);
  }
}

// SDM Vol. 2B RET (far): same privilege, or to an outer level with SS:ESP popped
// and the data segments the new CPL may not use made null.
void far_ret(Cpu& c, unsigned osize, uint16_t pop_bytes) {
  const uint64_t sp = get_sp(c);
  const uint64_t ip = read_stack(c, osize, sp);
  const uint16_t sel = uint16_t(read_stack(c, osize, sp + osize));
  if (!c.protected_mode() || c.v86()) {
    real_cs(c, sel, truncate_offset(ip, osize));
    set_sp(c, sp + 2 * osize + pop_bytes);
    return;
  }
  if ((sel & 0xFFFC) == 0) raise_gp0();
  const uint16_t err = sel & 0xFFFC;
  Descriptor d = read_descriptor(c, sel, VEC_GP);
  const unsigned rpl = sel & 3;
  if (!d.code() || rpl < c.cpl) raise_fault(VEC_GP, err);
  if ((d.type() & 4) ? d.dpl() > rpl : d.dpl() != rpl) raise_fault(VEC_GP, err);
  if (bad_long_cs(c, d)) raise_fault(VEC_GP, err);
  if (!d.present()) raise_fault(VEC_NP, err);
  if (rpl == c.cpl) {
    check_far_target(c, d, ip);
    set_descriptor_accessed(c, sel, d);
    set_sp(c, sp + 2 * osize + pop_bytes);
    return commit_cs(c, sel, d, rpl, ip);
  }
  // RETURN-TO-OUTER-PRIVILEGE-LEVEL.
  const uint64_t nsp = read_stack(c, osize, sp + 2 * osize + pop_bytes);
  const uint16_t ss_sel = uint16_t(read_stack(c, osize, sp + 3 * osize + pop_bytes));
  const bool to64 = ia32e(c) && d.l();
  Descriptor ssd;
  const bool null_ss = (ss_sel & 0xFFFC) == 0;
  if (null_ss) {
    // A null SS is only allowed returning to 64-bit code at CPL < 3 (SDM Vol. 2B RET).
    if (!to64 || rpl == 3) raise_gp0();
  } else {
    ssd = check_stack_segment(c, ss_sel, rpl, VEC_GP);
  }
  check_far_target(c, d, ip);
  set_descriptor_accessed(c, sel, d);
  if (!null_ss) set_descriptor_accessed(c, ss_sel, ssd);
  if (null_ss) null_segment(c.seg[SS], ss_sel, rpl);
  else load_cache(c.seg[SS], ss_sel, ssd);
  commit_cs(c, sel, d, rpl, ip);
  // The popped stack pointer (operand size) and the imm16 adjustment are applied in
  // the new stack's address size.
  set_sp(c, nsp);
  set_sp(c, get_sp(c) + pop_bytes);
  // Data segments the new CPL may not use become null (SDM Vol. 2B RET).
  for (unsigned s : {ES, FS, GS, DS}) {
    SegmentReg& r = c.seg[s];
    const unsigned type = r.attr & 0xF;
    const bool data_or_nc = (r.attr & 0x10) && (!(type & 8) || !(type & 4));
    if ((r.attr & kAttrP) && data_or_nc && c.cpl > ((r.attr >> 5) & 3u)) {
      r.selector = 0;
      r.attr &= uint16_t(~kAttrP);
    }
  }
  c.update_mode();
}

// ---- instruction handlers ----------------------------------------------------------

namespace {

using exec::bind_v;

// MOV Sreg, r/m16 (SDM Vol. 2B MOV): CS and the reserved encodings 6/7 are #UD.
struct MovSwEw {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    const unsigned s = d.reg & 7;
    if (s == CS || s > GS) raise_ud();
    load_data_segment(c, s, exec::read_e<uint16_t, M>(c, d));
    if (s == SS) {  // blocks interrupts and debug traps until after the next instruction
      c.ev.shadow |= SHADOW_MOV_SS;
      c.attention = true;
    }
  }
};

// POP Sreg: the stack pointer moves by the operand size in the stack-address size
// that was in force before the load (POP SS changes SS.B).
template <unsigned S>
struct PopSeg {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    const uint64_t sp = get_sp(c);
    const uint16_t sel = uint16_t(c.read<T>(SS, sp));
    const unsigned width = c.stack_size();
    load_data_segment(c, S, sel);
    const uint64_t nsp = sp + sizeof(T);
    if (width == 8) c.r[RSP] = nsp;
    else if (width == 4) c.r[RSP] = uint32_t(nsp);
    else c.set_reg<uint16_t>(RSP, uint16_t(nsp));
    if (S == SS) {
      c.ev.shadow |= SHADOW_MOV_SS;
      c.attention = true;
    }
  }
};

// LDS/LES/LSS/LFS/LGS r, m16:16/32/64: offset then selector; the register is written
// only after the segment load succeeded.
// The selector of an m16:xx far pointer follows the offset (address-size wrap).
uint64_t selector_offset(const DecodedInst& d, uint64_t ea, unsigned n) {
  return d.asize == 8 ? ea + n : d.asize == 4 ? uint32_t(ea + n) : uint16_t(ea + n);
}

template <unsigned S>
struct LoadFarPointer {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    if constexpr (!M) {
      raise_ud();
    } else {
      const uint64_t ea = c.ea(d);
      const T off = c.read<T>(d.seg, ea);
      const uint16_t sel = c.read<uint16_t>(d.seg, selector_offset(d, ea, sizeof(T)));
      load_data_segment(c, S, sel);
      c.set_reg<T>(d.reg, off);
    }
  }
};

template <bool CALL>
struct FarAp {  // JMP/CALL ptr16:16 / ptr16:32 (invalid in 64-bit mode)
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    const uint16_t sel = uint16_t(d.imm >> 32);
    if constexpr (CALL) far_call(c, sel, d.imm & 0xFFFFFFFF, sizeof(T));
    else far_jmp(c, sel, d.imm & 0xFFFFFFFF, sizeof(T));
  }
};

template <bool CALL>
struct FarEp {  // JMP/CALL m16:16 / m16:32 / m16:64 (REX.W)
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    if constexpr (!M) {
      raise_ud();
    } else {
      const uint64_t ea = c.ea(d);
      const T off = c.read<T>(d.seg, ea);
      const uint16_t sel = c.read<uint16_t>(d.seg, selector_offset(d, ea, sizeof(T)));
      if constexpr (CALL) far_call(c, sel, off, sizeof(T));
      else far_jmp(c, sel, off, sizeof(T));
    }
  }
};

template <bool IMM>
struct Retf {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    far_ret(c, sizeof(T), IMM ? uint16_t(d.imm) : 0);
  }
};

// ---- LAR, LSL, VERR, VERW, ARPL (SDM Vol. 2A LAR/LSL, Vol. 2B VERR/VERW, ARPL) ----
// They probe a selector without loading it: a null selector, one beyond the table,
// a type they do not accept or a privilege mismatch clears ZF instead of faulting.

// The descriptor a probing instruction examines, or false. In IA-32e mode system
// descriptors are 16 bytes and need a zero upper type field.
bool probe_descriptor(Cpu& c, uint16_t sel, Descriptor& d) {
  if ((sel & 0xFFFC) == 0 || !try_read_descriptor(c, sel, d)) return false;
  if (ia32e(c) && !d.s()) {
    uint64_t lin;
    if (!descriptor_address(c, sel, 16, lin)) return false;
    if (read_descriptor_top(c, sel) & 0x1F00) return false;
  }
  return true;
}

// LAR accepts gates and LSL does not (SDM Vol. 2A Tables 3-52 and 3-60); in IA-32e
// mode only LDT, 64-bit TSS and (LAR) 64-bit call gate system types remain.
bool probe_type_ok(const Cpu& c, const Descriptor& d, bool lsl) {
  if (d.s()) return true;
  const unsigned t = d.type();
  if (ia32e(c)) return t == 2 || t == 9 || t == 0xB || (!lsl && t == 0xC);
  switch (t) {
    case 1: case 2: case 3: case 9: case 0xB: return true;
    case 4: case 5: case 0xC: return !lsl;
    default: return false;
  }
}

// Conforming code segments are visible at every level; everything else needs
// DPL >= max(CPL, RPL).
bool probe_privilege_ok(const Cpu& c, uint16_t sel, const Descriptor& d) {
  if (d.code() && (d.type() & 4)) return true;
  return d.dpl() >= c.cpl && d.dpl() >= (sel & 3u);
}

void set_zf(Cpu& c, bool v) { update_flags(c, kZF, v ? kZF : 0); }

template <bool LSL>
struct LarLsl {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    protected_only(c);
    const uint16_t sel = exec::read_e<uint16_t, M>(c, d);
    Descriptor desc;
    const bool ok = probe_descriptor(c, sel, desc) && probe_type_ok(c, desc, LSL) &&
                    probe_privilege_ok(c, sel, desc);
    if (ok) {
      // LAR: bytes 5-6 of the descriptor masked by 00FxFF00H (16-bit: FF00H);
      // LSL: the byte-granular limit.
      const uint32_t v = LSL ? desc.limit() : desc.hi & (sizeof(T) == 2 ? 0xFF00u : 0x00FFFF00u);
      c.set_reg<T>(d.reg, T(v));
    }
    set_zf(c, ok);
  }
};

template <bool WRITE>
struct Verify {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    protected_only(c);
    const uint16_t sel = exec::read_e<uint16_t, M>(c, d);
    Descriptor desc;
    bool ok = probe_descriptor(c, sel, desc) && desc.s() && probe_privilege_ok(c, sel, desc);
    if (ok) ok = WRITE ? desc.data() && (desc.type() & 2) : desc.data() || (desc.type() & 2);
    set_zf(c, ok);
  }
};

struct Arpl {  // ARPL r/m16, r16: raise the destination's RPL to the source's
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    protected_only(c);
    exec::RmwE<uint16_t, M> dst(c, d);
    const uint16_t src = c.reg<uint16_t>(d.reg);
    const bool adjust = (dst.val & 3) < (src & 3);
    if (adjust) dst.store(c, d, uint16_t((dst.val & ~3) | (src & 3)));
    set_zf(c, adjust);
  }
};

void register_probe(HandlerTable& t) {
  bind_v<LarLsl<false>>(t, Form::lar_gv_ew);
  bind_v<LarLsl<true>>(t, Form::lsl_gv_ew);
  bind_v<Verify<false>>(t, Form::verr_ew);
  bind_v<Verify<true>>(t, Form::verw_ew);
  bind_v<Arpl>(t, Form::arpl_ew_gw);
}

}  // namespace

void register_sys_seg(HandlerTable& t) {
  bind_v<MovSwEw>(t, Form::mov_sw_ew);
  bind_v<PopSeg<ES>>(t, Form::pop_es);
  bind_v<PopSeg<SS>>(t, Form::pop_ss);
  bind_v<PopSeg<DS>>(t, Form::pop_ds);
  bind_v<PopSeg<FS>>(t, Form::pop_fs);
  bind_v<PopSeg<GS>>(t, Form::pop_gs);
  bind_v<LoadFarPointer<ES>>(t, Form::les_gz_mp);
  bind_v<LoadFarPointer<DS>>(t, Form::lds_gz_mp);
  bind_v<LoadFarPointer<SS>>(t, Form::lss_gv_mp);
  bind_v<LoadFarPointer<FS>>(t, Form::lfs_gv_mp);
  bind_v<LoadFarPointer<GS>>(t, Form::lgs_gv_mp);
  bind_v<FarAp<false>>(t, Form::jmp_far_ap);
  bind_v<FarAp<true>>(t, Form::call_far_ap);
  bind_v<FarEp<false>>(t, Form::jmp_far_ep);
  bind_v<FarEp<true>>(t, Form::call_far_ep);
  bind_v<Retf<false>>(t, Form::retf);
  bind_v<Retf<true>>(t, Form::retf_iw);
  register_probe(t);
}

}  // namespace isa
