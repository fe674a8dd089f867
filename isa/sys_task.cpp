// Task state (SDM Vol. 3A chapter 7): the TSS stacks used on privilege changes,
// hardware task switches (JMP/CALL to a TSS or task gate, IRET with NT, task gates
// in the IDT), and LTR/STR.
//
// TSS layouts (SDM Vol. 3A Figures 7-2, 7-11 and 7-1 for the 16-bit TSS):
//   32-bit: 00 link, 04+8n ESPn/SSn (n = 0..2), 1C CR3, 20 EIP, 24 EFLAGS,
//           28-44 EAX..EDI, 48-5C ES CS SS DS FS GS, 60 LDT, 64 T bit, 66 I/O map.
//   16-bit: 00 link, 02+4n SPn/SSn, 0E IP, 10 FLAGS, 12-20 AX..DI, 22-28 ES CS SS DS,
//           2A LDT.
//   64-bit: 04+8n RSPn, 24+8(n-1) ISTn (n = 1..7), 66 I/O map.
#include <cstring>

#include "isa/exec_int.h"
#include "isa/sys_seg_util.h"

namespace isa {

using namespace seg;

void tss_legacy_stack(Cpu& c, unsigned new_cpl, uint16_t& ss, uint32_t& sp) {
  const bool tss32 = c.tr.attr & 8;
  const uint32_t off = tss32 ? 4 + 8 * new_cpl : 2 + 4 * new_cpl;
  const uint32_t last = off + (tss32 ? 5 : 3);
  if (last > c.tr.limit) raise_fault(VEC_TS, c.tr.selector & 0xFFFC);
  const uint64_t base = uint32_t(c.tr.base);
  if (tss32) {
    c.sys_read(base + off, &sp, 4);
    c.sys_read(base + off + 4, &ss, 2);
  } else {
    uint16_t sp16;
    c.sys_read(base + off, &sp16, 2);
    c.sys_read(base + off + 2, &ss, 2);
    sp = sp16;
  }
  // The new stack segment (SDM Vol. 2A CALL "MORE-PRIVILEGE", Vol. 3A 6.12.1):
  // null -> #TS(0); RPL, DPL and type -> #TS(SS selector); not present -> #SS.
  if ((ss & 0xFFFC) == 0) raise_fault(VEC_TS, 0);
  check_stack_segment(c, ss, new_cpl, VEC_TS);
}

uint64_t tss64_stack(Cpu& c, unsigned new_cpl, unsigned ist) {
  const uint32_t off = ist ? 0x1C + 8 * ist : 4 + 8 * new_cpl;
  if (off + 7 > c.tr.limit) raise_fault(VEC_TS, c.tr.selector & 0xFFFC);
  uint64_t sp;
  c.sys_read(c.tr.base + off, &sp, 8);
  return sp;
}

namespace {

enum : uint32_t { kTssBusy = 0x200 };  // descriptor type bit 1 (in the high dword)

// Sets or clears the busy bit of the TSS descriptor `sel` in the GDT.
void set_busy(Cpu& c, uint16_t sel, bool busy) {
  uint64_t lin;
  if (!descriptor_address(c, sel, 8, lin)) return;
  uint32_t hi;
  c.sys_read(lin + 4, &hi, 4);
  hi = busy ? hi | kTssBusy : hi & ~kTssBusy;
  c.sys_write(lin + 4, &hi, 4);
}

// The dynamic state a task switch saves and loads.
struct TaskImage {
  uint32_t eip = 0, eflags = 0, gpr[8] = {}, cr3 = 0;
  uint16_t sel[6] = {}, ldt = 0;
  bool trap = false;
};

TaskImage read_tss(Cpu& c, uint64_t base, bool tss32) {
  TaskImage t;
  if (tss32) {
    uint8_t b[0x68];
    c.sys_read(base, b, sizeof b);
    std::memcpy(&t.cr3, b + 0x1C, 4);
    std::memcpy(&t.eip, b + 0x20, 4);
    std::memcpy(&t.eflags, b + 0x24, 4);
    std::memcpy(t.gpr, b + 0x28, 32);
    for (unsigned s = 0; s < 6; s++) std::memcpy(&t.sel[s], b + 0x48 + 4 * s, 2);
    std::memcpy(&t.ldt, b + 0x60, 2);
    t.trap = b[0x64] & 1;
  } else {
    uint8_t b[0x2C];
    c.sys_read(base, b, sizeof b);
    uint16_t w;
    std::memcpy(&w, b + 0x0E, 2), t.eip = w;
    std::memcpy(&w, b + 0x10, 2), t.eflags = w;  // upper EFLAGS bits become 0
    // A 16-bit TSS leaves the upper words of the general registers set to FFFFH
    // (as the 80386 and its successors do) and FS/GS null.
    for (unsigned i = 0; i < 8; i++) std::memcpy(&w, b + 0x12 + 2 * i, 2), t.gpr[i] = 0xFFFF0000u | w;
    for (unsigned s = 0; s < 4; s++) std::memcpy(&t.sel[s], b + 0x22 + 2 * s, 2);
    std::memcpy(&t.ldt, b + 0x2A, 2);
  }
  return t;
}

// Saves the current task's dynamic fields (SDM Vol. 3A 7.3 step 7).
void save_tss(Cpu& c, uint64_t base, bool tss32, uint32_t eflags) {
  if (tss32) {
    uint8_t b[0x40];
    const uint32_t eip = uint32_t(c.rip());
    std::memcpy(b, &eip, 4);
    std::memcpy(b + 4, &eflags, 4);
    for (unsigned i = 0; i < 8; i++) {
      const uint32_t v = uint32_t(c.r[i]);
      std::memcpy(b + 8 + 4 * i, &v, 4);
    }
    for (unsigned s = 0; s < 6; s++) {
      const uint32_t v = c.seg[s].selector;  // the upper word of each slot is reserved (0)
      std::memcpy(b + 0x28 + 4 * s, &v, 4);
    }
    c.sys_write(base + 0x20, b, sizeof b);
  } else {
    uint8_t b[0x1C];
    const uint16_t ip = uint16_t(c.rip()), fl = uint16_t(eflags);
    std::memcpy(b, &ip, 2);
    std::memcpy(b + 2, &fl, 2);
    for (unsigned i = 0; i < 8; i++) std::memcpy(b + 4 + 2 * i, &c.r[i], 2);
    for (unsigned s = 0; s < 4; s++) std::memcpy(b + 0x14 + 2 * s, &c.seg[s].selector, 2);
    c.sys_write(base + 0x0E, b, sizeof b);
  }
}

// Code segment of the new task (SDM Vol. 3A Table 7-1): #TS(selector) unless a
// present code segment with (conforming) DPL <= RPL or (non-conforming) DPL = RPL.
Descriptor check_task_cs(Cpu& c, uint16_t sel) {
  const uint16_t err = sel & 0xFFFC;
  if (err == 0) raise_fault(VEC_TS, 0);
  Descriptor d = read_descriptor(c, sel, VEC_TS);
  const unsigned rpl = sel & 3;
  if (!d.code() || ((d.type() & 4) ? d.dpl() > rpl : d.dpl() != rpl)) raise_fault(VEC_TS, err);
  if (!d.present()) raise_fault(VEC_NP, err);
  return d;
}

// Qualifies and loads the new task's LDTR and segment registers. Faults here are
// raised in the context of the new task (SDM Vol. 3A 7.3 step 13).
void load_task_segments(Cpu& c, const TaskImage& t) {
  // LDT: null is allowed (unusable); otherwise an LDT descriptor in the GDT.
  if (t.ldt & 0xFFFC) {
    const uint16_t err = t.ldt & 0xFFFC;
    if (t.ldt & 4) raise_fault(VEC_TS, err);
    Descriptor d;
    if (!try_read_descriptor(c, t.ldt, d)) raise_fault(VEC_TS, err);
    if (d.s() || d.type() != 2 || !d.present()) raise_fault(VEC_TS, err);
    load_cache(c.ldtr, t.ldt, d);
  }
  if (c.rflags & FLAG_VM) {  // the new task runs in virtual-8086 mode
    for (unsigned s = 0; s < 6; s++) {
      c.seg[s] = SegmentReg{t.sel[s], 0xF3, 0xFFFF, uint64_t(t.sel[s]) << 4};
    }
    return;
  }
  // SS first (its DPL must be the new CPL = CS.RPL), so that a fault on a later
  // selector can be delivered on the new task's stack; then CS, then the data segments.
  const unsigned cpl = t.sel[CS] & 3;
  if ((t.sel[SS] & 0xFFFC) == 0) raise_fault(VEC_TS, 0);
  Descriptor ss = check_stack_segment(c, t.sel[SS], cpl, VEC_TS);
  set_descriptor_accessed(c, t.sel[SS], ss);
  load_cache(c.seg[SS], t.sel[SS], ss);
  c.update_mode();
  Descriptor cs = check_task_cs(c, t.sel[CS]);
  set_descriptor_accessed(c, t.sel[CS], cs);
  load_cache(c.seg[CS], t.sel[CS], cs);
  c.update_mode();
  for (unsigned s : {DS, ES, FS, GS}) {
    if ((t.sel[s] & 0xFFFC) == 0) continue;  // stays null (unusable)
    Descriptor d = check_data_segment(c, t.sel[s], cpl, VEC_TS);
    set_descriptor_accessed(c, t.sel[s], d);
    load_cache(c.seg[s], t.sel[s], d);
    refresh_base(c, s);
  }
}

}  // namespace

// SDM Vol. 3A 7.3 "Task Switching", steps 1-13.
void task_switch(Cpu& c, uint16_t sel, const Descriptor& nd, TaskSwitchSource src, bool has_error,
                 uint32_t error) {
  // VMX non-root operation: every task switch exits before it starts (SDM Vol. 3C
  // 25.1.2; qualification source: 0 CALL, 1 IRET, 2 JMP, 3 task gate in the IDT).
  if (NS_UNLIKELY(c.vmx.mode == VmxMode::kNonRoot)) {
    static constexpr unsigned kSource[] = {0, 2, 1, 3};  // kCall, kJmp, kIret, kGate
    c.bus->task_switch_exit(c, sel, kSource[unsigned(src)]);
  }
  const uint16_t err = sel & 0xFFFC;
  const unsigned type = nd.type();
  // Step 3: IRET returns to a busy TSS (#TS), the other sources need an available one.
  if (src == TaskSwitchSource::kIret) {
    if (nd.s() || (type != 3 && type != 0xB)) raise_fault(VEC_TS, err);
  } else if (nd.s() || (type != 1 && type != 9)) {
    raise_fault(VEC_GP, err);
  }
  if (!nd.present()) raise_fault(VEC_NP, err);
  const bool new32 = type & 8;
  if (nd.limit() < (new32 ? 0x67u : 0x2Bu)) raise_fault(VEC_TS, err);

  // Step 4: every access that can fault before the commit point: read the new TSS,
  // save the old task's state.
  const uint64_t nbase = nd.base32();
  const TaskImage t = read_tss(c, nbase, new32);
  uint32_t old_flags = uint32_t(c.get_rflags());
  if (src == TaskSwitchSource::kIret) old_flags &= ~uint32_t(FLAG_NT);  // step 6
  const bool old32 = c.tr.attr & 8;
  const uint16_t old_tr = c.tr.selector;
  save_tss(c, uint32_t(c.tr.base), old32, old_flags);
  if (src == TaskSwitchSource::kJmp || src == TaskSwitchSource::kIret) set_busy(c, old_tr, false);
  if (src == TaskSwitchSource::kCall || src == TaskSwitchSource::kGate) {
    c.sys_write(nbase, &old_tr, 2);  // back link (step 8)
  }
  if (src != TaskSwitchSource::kIret) set_busy(c, sel, true);  // step 9

  // Commit point (step 10): TR, CR0.TS, then the new task's state.
  load_cache(c.tr, sel, nd);
  c.tr.attr |= 2;  // busy
  c.cr0 |= 8;      // CR0.TS
  c.dr[7] &= ~0x155ull;  // a task switch clears the local breakpoint enables (SDM 17.2.4)
  if (new32 && (c.cr0 & (1ull << 31))) write_cr3(c, t.cr3);
  uint32_t eflags = t.eflags | uint32_t(FLAG_FIXED1);
  if (src == TaskSwitchSource::kCall || src == TaskSwitchSource::kGate) eflags |= FLAG_NT;
  c.set_rflags(eflags);
  c.rip() = t.eip;
  for (unsigned i = 0; i < 8; i++) c.r[i] = t.gpr[i];
  // Selectors first with unusable caches (SS keeps the new CPL as its DPL), so that a
  // fault while qualifying them shows the new task's selectors.
  const unsigned new_cpl = (eflags & FLAG_VM) ? 3 : t.sel[CS] & 3;
  for (unsigned s = 0; s < 6; s++) null_segment(c.seg[s], t.sel[s], s == SS ? new_cpl : 0);
  null_segment(c.ldtr, t.ldt, 0);
  c.update_mode();
  try {
    load_task_segments(c, t);
    c.update_mode();
    if (src == TaskSwitchSource::kGate && has_error) {
      // The error code goes on the new task's stack, sized by the TSS type (SDM 6.12.2).
      exec::set_sp(c, new32 ? exec::push_value<uint32_t>(c, error, exec::get_sp(c))
                            : exec::push_value<uint16_t>(c, uint16_t(error), exec::get_sp(c)));
    }
    if (c.rip() > c.seg[CS].limit) raise_gp0();  // EIP beyond the new CS limit
  } catch (const CpuFault& f) {
    c.update_mode();
    deliver_fault(c, f);
    return;
  }
  if (new32 && t.trap) {  // T flag: debug trap (BT) before the new task's first instruction
    c.ev.pending_dbg |= 1u << 15;
    c.attention = true;
  }
}

// ---- LTR, STR (SDM Vol. 2A LTR, STR) -------------------------------------------------

namespace {

using exec::bind_v;

struct Ltr {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    protected_only(c);
    if (c.cpl != 0) raise_gp0();
    if (intercepted(c, d, Intercept::kDescTable)) return;  // SDM Vol. 3C 25.1.3
    const uint16_t sel = exec::read_e<uint16_t, M>(c, d);
    const uint16_t err = sel & 0xFFFC;
    if (err == 0) raise_gp0();
    if (sel & 4) raise_fault(VEC_GP, err);  // the TSS must be in the GDT
    const bool wide = ia32e(c);
    Descriptor desc = read_descriptor(c, sel, VEC_GP, wide);
    const unsigned type = desc.type();
    if (desc.s() || (wide ? type != 9 : (type != 1 && type != 9))) raise_fault(VEC_GP, err);
    if (!desc.present()) raise_fault(VEC_NP, err);
    if (wide) {
      if ((read_descriptor_top(c, sel) & 0x1F00) || !canonical_la(c, desc.base64()))
        raise_fault(VEC_GP, err);
    }
    set_busy(c, sel, true);
    load_cache(c.tr, sel, desc);
    c.tr.base = desc.base64();
    c.tr.attr |= 2;
  }
};

struct Str {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    protected_only(c);
    check_umip(c);
    if (intercepted(c, d, Intercept::kDescTable)) return;
    // Memory destinations are 16 bits; registers get the selector zero-extended.
    if constexpr (M) c.write<uint16_t>(d.seg, c.ea(d), c.tr.selector);
    else c.set_reg<T>(d.rm, T(c.tr.selector));
  }
};

}  // namespace

void register_sys_task(HandlerTable& t) {
  bind_v<Ltr>(t, Form::ltr_ew);
  bind_v<Str>(t, Form::str_ew);
}

}  // namespace isa
