// Event delivery through the IDT and the instructions around it: INT n, INT3, INTO,
// INT1, IRET, CLI, STI (SDM Vol. 3A chapter 6, 20.1.4 and 20.2-20.3 for real and
// virtual-8086 mode; Vol. 2A "INT n/INTO/INT3/INT1", "IRET", "CLI", "STI").
//
// Delivery is written as the SDM's pseudo-code (Vol. 2A INT n "Operation"): every
// check that can fault runs before anything is committed, the frame is written to
// the (possibly new) stack, and only then are CS:RIP, SS:RSP and RFLAGS loaded. A
// fault inside delivery therefore leaves the state as it was, and deliver_event()
// combines it with the event being delivered per Table 6-5.
#include <cstring>

#include "isa/bind.h"
#include "isa/system.h"

namespace isa {
namespace {

constexpr uint64_t kCr4Vme = 1u << 0, kCr4Pvi = 1u << 1;

// Software interrupts are checked against the gate's DPL and report faults during
// delivery against the instruction (EXT = 0). INT1 is not one of them (SDM Vol. 2A
// INT n: "does not apply to INT1").
bool is_software(EventType t) {
  return t == EventType::kSoftwareInterrupt || t == EventType::kSoftwareException;
}
// Events raised by an instruction: a fault while delivering them is that
// instruction's fault (RIP restored to it by the run loop).
bool from_instruction(EventType t) {
  return is_software(t) || t == EventType::kPrivSoftwareException;
}

// The EXT bit of error codes for faults during delivery (SDM Vol. 3A 6.13).
uint32_t ext_bit(const Event& e) { return is_software(e.type) ? 0 : 1; }

// Fault-class exceptions save RF = 1 in the EFLAGS image so that the restarted
// instruction does not hit an instruction breakpoint again; instruction-breakpoint
// #DB is the exception (SDM Vol. 3A 17.3.1.1).
bool saves_rf(const Event& e) {
  if (e.type != EventType::kHardwareException) return false;
  switch (e.vector) {
    case VEC_DE: case VEC_BR: case VEC_UD: case VEC_NM: case VEC_TS: case VEC_NP:
    case VEC_SS: case VEC_GP: case VEC_PF: case VEC_MF: case VEC_AC: case VEC_XM:
    case VEC_VE: case VEC_CP:
      return true;
    default:
      return false;
  }
}

[[noreturn]] void fault(uint8_t v, uint32_t error) { raise_fault(v, error); }

// ---- the stack a frame is written to -------------------------------------------

// The stack a delivery (or the VME redirection) writes its frame to: the current
// one, or the inner-privilege stack from the TSS. Offsets wrap at the stack-address
// size (SS.B), each slot is checked against the segment limit, and all checks run
// before the first write.
struct FrameStack {
  SegmentReg ss;          // the segment the frame goes to
  uint64_t sp = 0;        // stack pointer (offset)
  unsigned width = 4;     // bytes per slot: 2, 4 or 8
  bool flat64 = false;    // IA-32e: no segmentation, canonical checks, 8-byte slots
  bool supervisor = false;  // a stack of another privilege: written at `cpl`
  unsigned cpl = 0;
  uint32_t ss_error = 0;  // #SS error code if the frame does not fit
  uint64_t slots[10];
  unsigned n = 0;

  void push(uint64_t v) { slots[n++] = v; }

  bool big() const { return ss.attr & 0x4000; }
  uint64_t wrap(uint64_t v) const {
    if (flat64) return v;
    return big() ? uint32_t(v) : uint16_t(v);
  }
  bool fits(uint64_t off) const {
    uint64_t last = off + width - 1;
    bool expand_down = (ss.attr & 0x1C) == 0x14;  // data segment with E = 1
    if (expand_down) return off > ss.limit && last <= (big() ? 0xFFFFFFFFull : 0xFFFFull);
    return last <= ss.limit;
  }

  // Checks every slot, then writes them (slots[0] highest); returns the new SP.
  uint64_t write(Cpu& c) {
    uint64_t lin[10], off = sp;
    for (unsigned i = 0; i < n; i++) {
      off = wrap(off - width);
      if (flat64) {
        lin[i] = off;
        if (!c.canonical(off)) fault(VEC_SS, ss_error);  // 48 or 57 bits (CR4.LA57)
      } else {
        if (!fits(off)) fault(VEC_SS, ss_error);
        lin[i] = uint32_t(ss.base + off);
      }
    }
    for (unsigned i = 0; i < n; i++) {
      uint64_t v = slots[i];
      if (supervisor) {
        c.bus->write_privileged(c, lin[i], &v, width, cpl);
      } else {
        switch (width) {
          case 2: c.write_lin<uint16_t>(lin[i], uint16_t(v), SS); break;
          case 4: c.write_lin<uint32_t>(lin[i], uint32_t(v), SS); break;
          default: c.write_lin<uint64_t>(lin[i], v, SS); break;
        }
      }
    }
    return off;
  }
};

void set_sp_sized(Cpu& c, uint64_t sp, bool big) {
  if (big) c.r[RSP] = uint32_t(sp);
  else c.set_reg<uint16_t>(RSP, uint16_t(sp));
}

// Real-mode and virtual-8086 style segment load: selector, base = selector * 16.
void load_real_segment(SegmentReg& r, uint16_t sel) {
  r.selector = sel;
  r.base = uint64_t(sel) << 4;
}
void load_v86_segment(SegmentReg& r, uint16_t sel) {
  r.selector = sel;
  r.base = uint64_t(sel) << 4;
  r.limit = 0xFFFF;
  r.attr = 0x00F3;  // present, DPL 3, read/write data, accessed (SDM Vol. 3A 20.1.1)
}

uint64_t flags_image(Cpu& c, const Event& e) {
  uint64_t f = c.get_rflags();
  if (saves_rf(e)) f |= FLAG_RF;
  return f;
}

void clear_flags(Cpu& c, uint64_t mask) { c.set_rflags(c.get_rflags() & ~mask); }

// ---- real-address mode (SDM Vol. 3A 20.1.4) -------------------------------------

void deliver_real(Cpu& c, const Event& e) {
  uint32_t idx = uint32_t(e.vector) * 4;
  if (idx + 3 > c.idtr.limit) fault(VEC_GP, 0);
  uint32_t ent;
  c.sys_read(uint32_t(c.idtr.base + idx), &ent, 4);
  FrameStack s;
  s.ss = c.seg[SS];
  s.width = 2;
  s.sp = s.wrap(c.r[RSP]);
  s.push(uint16_t(c.get_rflags()));
  s.push(c.seg[CS].selector);
  s.push(uint16_t(c.rip()));
  uint64_t sp = s.write(c);  // no error codes in real mode
  set_sp_sized(c, sp, s.big());
  load_real_segment(c.seg[CS], uint16_t(ent >> 16));
  c.rip() = uint16_t(ent);
  clear_flags(c, FLAG_IF | FLAG_TF | FLAG_AC);
  c.update_mode();
}

// ---- virtual-8086 mode interrupt redirection (SDM Vol. 3A 20.3.3) --------------------

// Bit `vector` of the software interrupt redirection bitmap: the 32 bytes below the
// I/O permission bitmap of the 32-bit TSS. A bitmap outside the TSS limit: #GP(0).
bool redirection_bit(Cpu& c, uint8_t vector) {
  if (c.tr.limit < 0x67) fault(VEC_GP, 0);
  uint16_t iomap;
  c.sys_read(uint32_t(c.tr.base + 0x66), &iomap, 2);
  uint32_t off = uint32_t(iomap) - 32 + vector / 8;
  if (iomap < 32 || off > c.tr.limit) fault(VEC_GP, 0);
  uint8_t b;
  c.sys_read(uint32_t(c.tr.base + off), &b, 1);
  return (b >> (vector & 7)) & 1;
}

// Method 5/6 of Table 20-2: the 8086 handler from the v86 task's own IVT (linear 0),
// with VIF standing in for IF when IOPL < 3.
void deliver_v86_redirected(Cpu& c, uint8_t vector) {
  uint32_t ent = c.read_lin<uint32_t>(uint32_t(vector) * 4);
  uint64_t fl = c.get_rflags();
  unsigned iopl = (fl >> 12) & 3;
  uint16_t image = uint16_t(fl);
  if (iopl < 3) {
    image = uint16_t((image & ~FLAG_IF) | FLAG_IOPL);
    if (fl & FLAG_VIF) image |= FLAG_IF;
  }
  FrameStack s;
  s.ss = c.seg[SS];
  s.width = 2;
  s.sp = s.wrap(c.r[RSP]);
  s.push(image);
  s.push(c.seg[CS].selector);
  s.push(uint16_t(c.rip()));
  uint64_t sp = s.write(c);
  set_sp_sized(c, sp, s.big());
  load_v86_segment(c.seg[CS], uint16_t(ent >> 16));
  c.rip() = uint16_t(ent);
  clear_flags(c, FLAG_TF | (iopl == 3 ? FLAG_IF : FLAG_VIF));
  c.update_mode();
}

// ---- gates ---------------------------------------------------------------------------

// The target code segment of an interrupt or trap gate, checked as in the SDM's
// TRAP-OR-INTERRUPT-GATE step.
Descriptor gate_code_segment(Cpu& c, uint16_t sel, uint32_t ext) {
  if ((sel & ~3) == 0) fault(VEC_GP, ext);
  Descriptor cs = read_descriptor(c, sel, VEC_GP);
  uint32_t err = (sel & ~3u) | ext;
  if (!cs.code() || cs.dpl() > c.cpl) fault(VEC_GP, err);
  if (!cs.present()) fault(VEC_NP, err);
  return cs;
}

// TASK-GATE (SDM Vol. 2A INT n): a task switch with nesting to the TSS the gate names.
void deliver_task_gate(Cpu& c, const Event& e, const Descriptor& gate, uint32_t ext) {
  uint16_t tss_sel = gate.gate_selector();
  uint32_t err = (tss_sel & ~3u) | ext;
  if (tss_sel & 4) fault(VEC_GP, err);  // must be in the GDT
  Descriptor t = read_descriptor(c, tss_sel, VEC_GP);
  if (t.s() || (t.type() != 1 && t.type() != 9)) fault(VEC_GP, err);  // available TSS only
  if (!t.present()) fault(VEC_NP, err);
  task_switch(c, tss_sel, t, TaskSwitchSource::kGate, e.has_error, e.error);
  if (c.rip() > c.seg[CS].limit) fault(VEC_GP, ext);
}

// Protected mode, IA-32e mode off (SDM Vol. 3A 6.12.1; Vol. 2A INT n Operation).
void deliver_protected(Cpu& c, const Event& e) {
  const uint32_t ext = ext_bit(e);
  const uint32_t idt_err = uint32_t(e.vector) * 8 + 2 + ext;
  const uint32_t idx = uint32_t(e.vector) * 8;
  if (idx + 7 > c.idtr.limit) fault(VEC_GP, idt_err);
  Descriptor g;
  uint32_t raw[2];
  c.sys_read(uint32_t(c.idtr.base + idx), raw, 8);
  g.lo = raw[0], g.hi = raw[1];
  unsigned type = g.type();
  if (g.s() || (type != 5 && type != 6 && type != 7 && type != 0xE && type != 0xF))
    fault(VEC_GP, idt_err);
  if (is_software(e.type) && g.dpl() < c.cpl) fault(VEC_GP, uint32_t(e.vector) * 8 + 2);
  if (!g.present()) fault(VEC_NP, idt_err);
  if (type == 5) return deliver_task_gate(c, e, g, ext);

  const uint16_t sel = g.gate_selector();
  const Descriptor cs = gate_code_segment(c, sel, ext);
  const uint32_t cs_err = (sel & ~3u) | ext;
  const bool v86 = c.v86();
  const bool conforming = cs.type() & 4;
  const bool gate32 = type & 8;
  const bool interrupt_gate = !(type & 1);
  unsigned new_cpl = c.cpl;
  if (!conforming && cs.dpl() < c.cpl) {
    if (v86 && cs.dpl() != 0) fault(VEC_GP, cs_err);
    new_cpl = cs.dpl();
  } else if (v86) {
    fault(VEC_GP, cs_err);  // a v86 task's handler must be at CPL 0
  } else if (!conforming && cs.dpl() != c.cpl) {
    fault(VEC_GP, cs_err);
  }

  FrameStack s;
  s.width = gate32 ? 4 : 2;
  const uint64_t mask = gate32 ? 0xFFFFFFFFull : 0xFFFFull;
  if (new_cpl != c.cpl) {
    // INTER-PRIVILEGE-LEVEL-INTERRUPT: SS:ESP for the new CPL from the TSS.
    uint16_t ss_sel;
    uint32_t esp;
    tss_legacy_stack(c, new_cpl, ss_sel, esp);
    Descriptor ssd = read_descriptor(c, ss_sel, VEC_TS);
    load_cache(s.ss, ss_sel, ssd);
    s.sp = s.wrap(esp);
    s.supervisor = true;
    s.cpl = new_cpl;
    s.ss_error = (ss_sel & ~3u) | ext;
    if (v86) {
      for (unsigned r : {GS, FS, DS, ES}) s.push(c.seg[r].selector);
    }
    s.push(c.seg[SS].selector);
    s.push(c.r[RSP] & mask);
  } else {
    s.ss = c.seg[SS];
    s.sp = s.wrap(c.r[RSP]);
    s.ss_error = ext;
  }
  s.push(flags_image(c, e) & mask);
  s.push(c.seg[CS].selector);
  s.push(c.rip() & mask);
  if (e.has_error) s.push(e.error & mask);
  const uint64_t target = g.gate_offset() & mask;
  if (target > cs.limit()) fault(VEC_GP, ext);
  const uint64_t sp = s.write(c);

  // Commit.
  if (new_cpl != c.cpl) c.seg[SS] = s.ss;
  set_sp_sized(c, sp, s.big());
  if (v86) {
    for (unsigned r : {ES, DS, FS, GS}) c.seg[r] = SegmentReg{0, 0, 0, 0};
  }
  Descriptor csd = cs;
  set_descriptor_accessed(c, sel, csd);
  load_cache(c.seg[CS], uint16_t((sel & ~3u) | new_cpl), csd);
  c.rip() = target;
  clear_flags(c, FLAG_TF | FLAG_NT | FLAG_RF | FLAG_VM | (interrupt_gate ? uint64_t(FLAG_IF) : 0));
  c.update_mode();
}

// IA-32e mode: 16-byte gates, IST, 64-bit frame, RSP aligned to 16 (SDM Vol. 3A 6.14).
void deliver_long(Cpu& c, const Event& e) {
  const uint32_t ext = ext_bit(e);
  const uint32_t idt_err = uint32_t(e.vector) * 8 + 2 + ext;
  const uint32_t idx = uint32_t(e.vector) * 16;
  if (idx + 15 > c.idtr.limit) fault(VEC_GP, idt_err);
  Descriptor g;
  uint32_t raw[4];
  c.sys_read(c.idtr.base + idx, raw, 16);
  g.lo = raw[0], g.hi = raw[1], g.hi2 = raw[2];
  if (g.s() || (g.type() != 0xE && g.type() != 0xF)) fault(VEC_GP, idt_err);
  if (is_software(e.type) && g.dpl() < c.cpl) fault(VEC_GP, uint32_t(e.vector) * 8 + 2);
  if (!g.present()) fault(VEC_NP, idt_err);

  const uint16_t sel = g.gate_selector();
  const Descriptor cs = gate_code_segment(c, sel, ext);
  if (!cs.l() || cs.db()) fault(VEC_GP, (sel & ~3u) | ext);  // must be a 64-bit code segment
  const bool conforming = cs.type() & 4;
  const unsigned new_cpl = conforming ? c.cpl : cs.dpl();
  const uint64_t target = g.gate_offset();
  if (!c.canonical(target)) fault(VEC_GP, ext);

  FrameStack s;
  s.flat64 = true;
  s.width = 8;
  s.ss_error = ext;
  uint64_t rsp = c.r[RSP];
  if (new_cpl != c.cpl || g.gate_ist()) rsp = tss64_stack(c, new_cpl, g.gate_ist());
  s.sp = rsp & ~0xFull;
  s.supervisor = new_cpl != c.cpl;
  s.cpl = new_cpl;
  s.push(c.seg[SS].selector);
  s.push(c.r[RSP]);
  s.push(flags_image(c, e));
  s.push(c.seg[CS].selector);
  s.push(c.rip());
  if (e.has_error) s.push(e.error);
  const uint64_t sp = s.write(c);

  if (new_cpl != c.cpl) {
    // A NULL SS with RPL = new CPL; the cache keeps DPL = CPL (SDM Vol. 3A 6.14.4).
    c.seg[SS] = SegmentReg{uint16_t(new_cpl), uint16_t(new_cpl << 5), 0, 0};
  }
  c.r[RSP] = sp;
  Descriptor csd = cs;
  set_descriptor_accessed(c, sel, csd);
  load_cache(c.seg[CS], uint16_t((sel & ~3u) | new_cpl), csd);
  c.rip() = target;
  clear_flags(c, FLAG_TF | FLAG_NT | FLAG_RF | FLAG_VM | (g.type() == 0xE ? uint64_t(FLAG_IF) : 0));
  c.update_mode();
}

void deliver_one(Cpu& c, const Event& e) {
  if (!c.protected_mode()) deliver_real(c, e);
  else if (c.efer & EFER_LMA) deliver_long(c, e);
  else deliver_protected(c, e);
  switch (e.type) {
    case EventType::kExternal:
    case EventType::kSoftwareInterrupt:
      c.sys.interrupts[e.vector]++;
      break;
    case EventType::kNmi:
      c.sys.nmis++;
      c.ev.nmi_blocked = true;  // until the next IRET (SDM Vol. 3A 6.7.1)
      break;
    default:
      if (e.vector < 32) c.sys.exceptions[e.vector]++;
      break;
  }
  // #DB delivery clears DR7.GD so the handler can use the debug registers (17.2.4).
  if (e.vector == VEC_DB && !is_software(e.type)) c.dr[7] &= ~uint64_t(1u << 13);
  c.ev.activity = Activity::kActive;
  c.ev.shadow = 0;
  c.cycles += c.event_cycles ? c.event_cycles : 1;
}

// Exception classes of SDM Vol. 3A Table 6-4 (interrupts and software events are
// benign for the purpose of Table 6-5).
enum class ExcClass { kBenign, kContributory, kPageFault, kDoubleFault };
ExcClass exc_class(const Event& e) {
  if (e.type != EventType::kHardwareException) return ExcClass::kBenign;
  switch (e.vector) {
    case VEC_DE: case VEC_TS: case VEC_NP: case VEC_SS: case VEC_GP:
      return ExcClass::kContributory;
    case VEC_PF:
      return ExcClass::kPageFault;
    case VEC_DF:
      return ExcClass::kDoubleFault;
    default:
      return ExcClass::kBenign;
  }
}

// Error codes in selector format get EXT when the fault interrupted the delivery of
// an event external to the program (SDM Vol. 3A 6.13).
bool selector_error(uint8_t v) {
  return v == VEC_TS || v == VEC_NP || v == VEC_SS || v == VEC_GP;
}

}  // namespace

// The state an exception writes when it is delivered (not when it exits, SDM Vol. 3C
// 27.1): CR2 for #PF, DR6 for #DB (B0-B3 replaced, BD/BS/BT added, 17.2.3).
void commit_payload(Cpu& c, const Event& e) {
  if (e.type != EventType::kHardwareException) return;
  if (e.vector == VEC_PF) c.cr2 = e.payload;
  if (e.vector == VEC_DB && (e.payload & DR6_PAYLOAD_VALID))
    c.dr[6] = (c.dr[6] & ~DR6_B0_B3) | (e.payload & (DR6_B0_B3 | DR6_BD | DR6_BS | DR6_BT)) |
              0xFFFF0FF0;
}

// In VMX non-root operation each event is offered to Bus::event_exit (exception bitmap,
// NMI exiting) before it is delivered, but for the one VM entry injects. A nested
// exception is offered as itself, with the event whose delivery raised it, before Table
// 6-5 makes it a double fault or a triple fault (SDM Vol. 3C 25.2, 27.2.3); a #DF made
// that way is offered without one (27.2.3: a double fault that exits directly is not
// an exit during event delivery).
void deliver_event(Cpu& c, const Event& first, bool injected) {
  Event e = first;
  bool offer = !injected;  // `e` still goes to event_exit (a nested one went there already)
  for (bool nested = false;; nested = true) {
    try {
      if (NS_UNLIKELY(c.vmx.mode == VmxMode::kNonRoot) && offer && c.bus->event_exit(c, e, nullptr))
        return;
      commit_payload(c, e);
      struct InDelivery {
        Cpu& c;
        explicit InDelivery(Cpu& cpu) : c(cpu) { c.in_delivery = true; }
        ~InDelivery() { c.in_delivery = false; }
      } guard(c);
      deliver_one(c, e);
      return;
    } catch (const CpuFault& f) {
      if (f.vector >= 32) {  // a VM exit raised inside the delivery (vmx/vmx.h kVecVmExit)
        c.bus->exit_during_delivery(c, e);
        throw;
      }
      CpuFault g = f;
      if (selector_error(g.vector) && g.has_error) g.error |= ext_bit(e);
      if (!nested && from_instruction(e.type) && !injected) throw g;
      Event next{g.vector, EventType::kHardwareException, g.has_error, g.error};
      if (g.vector == VEC_PF) next.payload = g.cr2;
      if (NS_UNLIKELY(c.vmx.mode == VmxMode::kNonRoot) && c.bus->event_exit(c, next, &e)) return;
      offer = false;
      const ExcClass a = exc_class(e), b = exc_class(next);
      if (a == ExcClass::kDoubleFault) {
        // Any exception while delivering #DF: shutdown (SDM Vol. 3A 6.15, Interrupt 8);
        // in VMX non-root operation a triple-fault VM exit (the machine decides).
        c.sys.triple_faults++;
        c.bus->shutdown(c, "triple fault");
        return;
      }
      if ((a == ExcClass::kContributory && b == ExcClass::kContributory) ||
          (a == ExcClass::kPageFault &&
           (b == ExcClass::kContributory || b == ExcClass::kPageFault))) {
        if (g.vector == VEC_PF) c.cr2 = g.cr2;  // the #PF that became #DF loaded CR2
        next = Event{VEC_DF, EventType::kHardwareException, true, 0};
        c.sys.double_faults++;
        offer = true;
      }
      e = next;
    }
  }
}

void deliver_fault(Cpu& c, const CpuFault& f) {
  Event e{f.vector, EventType::kHardwareException, f.has_error, f.error};
  if (f.vector == VEC_PF) e.payload = f.cr2;  // CR2 is loaded even if delivery fails
  if (f.vector == VEC_PF) c.cr2 = f.cr2;
  deliver_event(c, e);
}

namespace {

unsigned iopl(const Cpu& c) { return (c.rflags >> 12) & 3; }

// ---- INT n, INT3, INTO, INT1 (SDM Vol. 2A) ------------------------------------------

void int_ib(Cpu& c, const DecodedInst& d) {
  const uint8_t v = uint8_t(d.imm);
  if (c.v86()) {
    // Table 20-2: with CR4.VME the redirection bitmap decides (bit clear: the v86
    // task's own IVT); without it, or with the bit set, IOPL < 3 is #GP(0).
    if ((c.cr4 & kCr4Vme) && !redirection_bit(c, v)) return deliver_v86_redirected(c, v);
    if (iopl(c) < 3) fault(VEC_GP, 0);
  }
  deliver_event(c, Event{v, EventType::kSoftwareInterrupt, false, 0, d.len});
}

void int3(Cpu& c, const DecodedInst& d) {
  deliver_event(c, Event{VEC_BP, EventType::kSoftwareException, false, 0, d.len});
}

void into(Cpu& c, const DecodedInst& d) {
  if (c.get_rflags() & FLAG_OF)
    deliver_event(c, Event{VEC_OF, EventType::kSoftwareException, false, 0, d.len});
}

// INT1 (ICEBP): #DB as a privileged software exception: no gate-DPL check, EXT = 1,
// DR6 unchanged.
void int1(Cpu& c, const DecodedInst& d) {
  deliver_event(c, Event{VEC_DB, EventType::kPrivSoftwareException, false, 0, d.len});
}

// ---- IRET (SDM Vol. 2A "IRET/IRETD/IRETQ") -------------------------------------------

template <class T>
T pop_at(Cpu& c, uint64_t sp, unsigned i) {
  uint64_t off = sp + i * sizeof(T);
  if (!c.long64) off = c.stack_size() == 4 ? uint32_t(off) : uint16_t(off);
  return c.read<T>(SS, off);
}

uint64_t stack_top(const Cpu& c) {
  if (c.long64) return c.r[RSP];
  return c.stack_size() == 4 ? uint32_t(c.r[RSP]) : uint16_t(c.r[RSP]);
}

void set_sp_after_pops(Cpu& c, uint64_t sp, unsigned bytes) {
  uint64_t n = sp + bytes;
  if (c.long64) c.r[RSP] = n;
  else set_sp_sized(c, n, c.stack_size() == 4);
}

// RFLAGS bits IRET may load (outside virtual-8086 returns): VM never here; IOPL,
// VIF, VIP at CPL 0 only; IF when CPL <= IOPL (SDM Vol. 2A IRET Operation).
void load_iret_flags(Cpu& c, uint64_t v, unsigned osize, unsigned old_cpl) {
  uint64_t changeable = FLAGS_ARITH | FLAG_TF | FLAG_DF | FLAG_NT | FLAG_RF | FLAG_AC | FLAG_ID;
  if (old_cpl == 0) changeable |= FLAG_IOPL | FLAG_VIF | FLAG_VIP;
  if (old_cpl <= iopl(c)) changeable |= FLAG_IF;
  if (osize == 2) changeable &= 0xFFFF;
  uint64_t cur = c.get_rflags();
  c.set_rflags((cur & ~changeable) | (v & changeable) | FLAG_FIXED1);
}

template <class T>
void iret_real(Cpu& c) {
  uint64_t sp = stack_top(c);
  T ip = pop_at<T>(c, sp, 0);
  uint16_t cs = uint16_t(pop_at<T>(c, sp, 1));
  T fl = pop_at<T>(c, sp, 2);
  if (uint64_t(ip) > c.seg[CS].limit) fault(VEC_GP, 0);
  set_sp_after_pops(c, sp, 3 * sizeof(T));
  load_real_segment(c.seg[CS], cs);
  c.rip() = ip;
  uint64_t cur = c.get_rflags();
  uint64_t v;
  if constexpr (sizeof(T) == 2) {
    v = (cur & ~0xFFFFull) | fl;
  } else {
    // VM, VIF, VIP are not loaded by a real-mode IRETD (0x257FD5 mask).
    v = (uint64_t(fl) & 0x257FD5) | (cur & 0x1A0000);
  }
  c.set_rflags(v | FLAG_FIXED1);
  c.update_mode();
}

template <class T>
void iret_v86(Cpu& c) {
  const unsigned pl = iopl(c);
  const bool vme16 = sizeof(T) == 2 && (c.cr4 & kCr4Vme);
  if (pl < 3 && !vme16) fault(VEC_GP, 0);
  uint64_t sp = stack_top(c);
  T ip = pop_at<T>(c, sp, 0);
  uint16_t cs = uint16_t(pop_at<T>(c, sp, 1));
  T fl = pop_at<T>(c, sp, 2);
  uint64_t cur = c.get_rflags();
  uint64_t v;
  if (pl == 3) {
    // IOPL, VM, VIF, VIP stay (SDM Vol. 3A 20.2.7).
    uint64_t keep = FLAG_IOPL | FLAG_VM | FLAG_VIF | FLAG_VIP | FLAG_RF;
    if (sizeof(T) == 2) keep |= ~0xFFFFull;
    v = (cur & keep) | (uint64_t(fl) & ~keep);
  } else {
    // VME, 16-bit: IF goes to VIF; #GP if that would enable with VIP set, or TF set.
    if (((fl & FLAG_IF) && (cur & FLAG_VIP)) || (fl & FLAG_TF)) fault(VEC_GP, 0);
    uint64_t keep = ~0xFFFFull | FLAG_IOPL | FLAG_IF;
    v = (cur & keep) | (uint64_t(fl) & ~keep);
    v = (fl & FLAG_IF) ? (v | FLAG_VIF) : (v & ~FLAG_VIF);
  }
  if (uint64_t(ip) > c.seg[CS].limit) fault(VEC_GP, 0);
  set_sp_after_pops(c, sp, 3 * sizeof(T));
  load_v86_segment(c.seg[CS], cs);
  c.rip() = ip;
  c.set_rflags(v | FLAG_FIXED1);
  c.update_mode();
}

// IRET to virtual-8086 mode from CPL 0 (32-bit operand size, SDM Vol. 2A IRET
// RETURN-TO-VIRTUAL-8086-MODE): EIP CS EFLAGS ESP SS ES DS FS GS.
void iret_to_v86(Cpu& c, uint64_t sp) {
  uint32_t v[9];
  for (unsigned i = 0; i < 9; i++) v[i] = pop_at<uint32_t>(c, sp, i);
  c.set_rflags((uint64_t(v[2]) & 0x3F7FD7) | FLAG_FIXED1);
  load_v86_segment(c.seg[CS], uint16_t(v[1]));
  load_v86_segment(c.seg[SS], uint16_t(v[4]));
  load_v86_segment(c.seg[ES], uint16_t(v[5]));
  load_v86_segment(c.seg[DS], uint16_t(v[6]));
  load_v86_segment(c.seg[FS], uint16_t(v[7]));
  load_v86_segment(c.seg[GS], uint16_t(v[8]));
  c.r[RSP] = v[3];
  c.rip() = uint16_t(v[0]);
  c.update_mode();
}

// A task return: the back link of the current TSS names the task to resume.
void iret_task_return(Cpu& c) {
  uint16_t link;
  c.sys_read(c.tr.base, &link, 2);
  if (link & 4) fault(VEC_TS, link & ~3u);
  Descriptor t = read_descriptor(c, link, VEC_TS);
  if (t.s() || (t.type() != 3 && t.type() != 0xB)) fault(VEC_TS, link & ~3u);  // busy TSS
  if (!t.present()) fault(VEC_NP, link & ~3u);
  task_switch(c, link, t, TaskSwitchSource::kIret);
}

// Data segments the outer level may not use are nulled (SDM Vol. 2A IRET,
// RETURN-TO-OUTER-PRIVILEGE-LEVEL).
void null_inaccessible_segments(Cpu& c) {
  for (unsigned r : {ES, FS, GS, DS}) {
    SegmentReg& s = c.seg[r];
    if (!(s.attr & 0x80)) continue;  // already unusable
    bool code = s.attr & 0x8, conforming = code && (s.attr & 0x4);
    unsigned dpl = (s.attr >> 5) & 3;
    if (!conforming && dpl < c.cpl) {
      s.selector = 0;
      s.attr = 0;
    }
  }
}

template <class T>
void iret_protected(Cpu& c) {
  constexpr unsigned N = sizeof(T);
  const bool ia32e = c.efer & EFER_LMA;
  if ((c.rflags & FLAG_NT) && !ia32e) return iret_task_return(c);
  if (ia32e && (c.rflags & FLAG_NT)) fault(VEC_GP, 0);
  const uint64_t sp = stack_top(c);
  const uint64_t new_ip = pop_at<T>(c, sp, 0);
  const uint16_t cs_sel = uint16_t(pop_at<T>(c, sp, 1));
  const uint64_t new_fl = pop_at<T>(c, sp, 2);
  const unsigned old_cpl = c.cpl;
  if ((new_fl & FLAG_VM) && N == 4 && old_cpl == 0 && !ia32e) return iret_to_v86(c, sp);

  // PROTECTED-MODE-RETURN: the return code segment.
  if ((cs_sel & ~3) == 0) fault(VEC_GP, 0);
  const uint32_t cs_err = cs_sel & ~3u;
  Descriptor cs = read_descriptor(c, cs_sel, VEC_GP);
  const unsigned rpl = cs_sel & 3;
  if (rpl < old_cpl || !cs.code()) fault(VEC_GP, cs_err);
  if (ia32e && cs.l() && cs.db()) fault(VEC_GP, cs_err);
  const bool conforming = cs.type() & 4;
  if (conforming ? cs.dpl() > rpl : cs.dpl() != rpl) fault(VEC_GP, cs_err);
  if (!cs.present()) fault(VEC_NP, cs_err);
  const bool to64 = ia32e && cs.l();
  // 64-bit mode pops SS:RSP on every IRET; other modes only on a privilege change.
  const bool pop_stack = rpl > old_cpl || c.long64;
  uint64_t new_sp = 0;
  uint16_t ss_sel = 0;
  SegmentReg ss_cache;
  if (pop_stack) {
    new_sp = pop_at<T>(c, sp, 3);
    ss_sel = uint16_t(pop_at<T>(c, sp, 4));
    if ((ss_sel & ~3) == 0) {
      // A NULL SS is allowed only for a return to 64-bit mode below CPL 3.
      if (!to64 || rpl == 3 || (ss_sel & 3) != rpl) fault(VEC_GP, 0);
      ss_cache = SegmentReg{ss_sel, uint16_t(rpl << 5), 0, 0};
    } else {
      const uint32_t ss_err = ss_sel & ~3u;
      if ((ss_sel & 3) != rpl) fault(VEC_GP, ss_err);
      Descriptor ssd = read_descriptor(c, ss_sel, VEC_GP);
      if (!ssd.data() || !(ssd.type() & 2) || ssd.dpl() != rpl) fault(VEC_GP, ss_err);
      if (!ssd.present()) fault(VEC_SS, ss_err);
      set_descriptor_accessed(c, ss_sel, ssd);
      load_cache(ss_cache, ss_sel, ssd);
    }
  }
  uint64_t ip = new_ip;
  if (to64) {
    if (!c.canonical(ip)) fault(VEC_GP, 0);
  } else {
    if (N == 2) ip = uint16_t(ip);
    if (ip > cs.limit()) fault(VEC_GP, 0);
  }

  // Commit.
  set_descriptor_accessed(c, cs_sel, cs);
  load_cache(c.seg[CS], cs_sel, cs);
  c.rip() = ip;
  load_iret_flags(c, new_fl, N, old_cpl);
  if (pop_stack) {
    c.seg[SS] = ss_cache;
    if (to64 || c.long64) c.r[RSP] = new_sp;
    else set_sp_sized(c, new_sp, ss_cache.attr & 0x4000);
  } else {
    set_sp_after_pops(c, sp, 3 * N);
  }
  c.update_mode();
  if (c.cpl > old_cpl) null_inaccessible_segments(c);
}

struct Iret {
  template <class T>
  static void body(Cpu& c) {
    if (!c.protected_mode()) iret_real<T>(c);
    else if (c.v86()) iret_v86<T>(c);
    else iret_protected<T>(c);
  }
  template <class T>
  static void run(Cpu& c, const DecodedInst&) {
    c.attention = true;  // IF, TF, RF or a pending NMI may need the run loop
    // IRET unblocks NMIs even if it then faults (SDM Vol. 3A 6.7.1). In VMX non-root
    // operation the NMI controls decide what it unblocks, and a fault that ends it may
    // exit reporting that (Vol. 3C 25.3, 27.2.2): the Bus hears of both.
    if (NS_LIKELY(c.vmx.mode != VmxMode::kNonRoot)) {
      c.ev.nmi_blocked = false;
      return body<T>(c);
    }
    c.bus->iret_unblock_nmi(c);
    try {
      body<T>(c);
    } catch (const CpuFault& f) {
      c.bus->iret_faulted(c, f.vector);
      throw;
    }
  }
};

// ---- CLI, STI (SDM Vol. 2A; Vol. 3A 20.4 for VME and PVI) ---------------------------

// Who may change IF: real mode, CPL <= IOPL, v86 with IOPL = 3. Otherwise virtual
// interrupts: VIF at CPL 3 with CR4.PVI, or in v86 with CR4.VME. Else #GP(0).
enum class IfAccess { kIf, kVif };
IfAccess if_access(const Cpu& c) {
  if (!c.protected_mode()) return IfAccess::kIf;
  const unsigned pl = iopl(c);
  if (c.v86()) {
    if (pl == 3) return IfAccess::kIf;
    if (c.cr4 & kCr4Vme) return IfAccess::kVif;
  } else {
    if (c.cpl <= pl) return IfAccess::kIf;
    if (c.cpl == 3 && (c.cr4 & kCr4Pvi)) return IfAccess::kVif;
  }
  fault(VEC_GP, 0);
}

void cli(Cpu& c, const DecodedInst&) {
  if (if_access(c) == IfAccess::kIf) c.rflags &= ~uint64_t(FLAG_IF);
  else c.rflags &= ~uint64_t(FLAG_VIF);
}

void sti(Cpu& c, const DecodedInst&) {
  if (if_access(c) == IfAccess::kIf) {
    // Interrupts stay blocked until after the next instruction when STI sets IF
    // (SDM Vol. 3A 6.8.3).
    if (!(c.rflags & FLAG_IF)) {
      c.rflags |= FLAG_IF;
      c.ev.shadow |= SHADOW_STI;
      c.attention = true;
    }
  } else {
    if (c.rflags & FLAG_VIP) fault(VEC_GP, 0);
    c.rflags |= FLAG_VIF;
  }
}

template <class T, bool M>
void iret_fn(Cpu& c, const DecodedInst& d) {
  Iret::run<T>(c, d);
}

}  // namespace

void register_sys_int(HandlerTable& t) {
  t.set_all(Form::int_ib, &int_ib);
  t.set_all(Form::int3, &int3);
  t.set_all(Form::into, &into);
  t.set_all(Form::int1, &int1);
  t.set_all(Form::cli, &cli);
  t.set_all(Form::sti, &sti);
  NS_BIND_V(t, iret, iret_fn);
}

}  // namespace isa
