// Stack instructions: PUSH/POP in every form, PUSHA/POPA, ENTER/LEAVE, PUSHF/POPF
// and the segment-register pushes (SDM Vol. 2A). Accesses go through SS with the
// stack-address size of Cpu::stack_size(); RSP is committed only after every
// access that can fault.
#include "isa/exec_int.h"

namespace isa::exec {
namespace {

struct PushZ {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) { push<T>(c, c.reg<T>(d.reg)); }  // PUSH rSP: old value
};
struct PopZ {  // POP rSP: the popped value wins over the increment
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    T v = pop<T>(c);
    c.set_reg<T>(d.reg, v);
  }
};
struct PushI {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) { push<T>(c, T(d.imm)); }
};
struct PushE {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) { push<T>(c, read_e<T, M>(c, d)); }
};
// POP r/m: with RSP as base the address is formed after the increment (SDM Vol. 2A
// "POP"); RSP is committed after the store.
struct PopE {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    uint64_t sp = get_sp(c);
    T v = c.read<T>(SS, sp);
    uint64_t old = c.r[RSP];
    set_sp(c, sp + sizeof(T));
    uint64_t nrsp = c.r[RSP];
    if constexpr (M) {
      uint64_t off = c.ea(d);
      c.r[RSP] = old;
      c.write<T>(d.seg, off, v);
      c.r[RSP] = nrsp;
    } else {
      c.set_reg<T>(d.rm, v);
    }
  }
};
// Segment register pushes: the SDM allows either a zero-extended selector or a
// 16-bit write for operand sizes above 16 (Vol. 2A "PUSH"); the host differential
// harness shows the modelled core zero-extends (64-bit PUSH FS/GS), so we do.
template <unsigned SEG>
struct PushSeg {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) { push<T>(c, T(c.seg[SEG].selector)); }
};
// PUSHA/PUSHAD: AX CX DX BX (original SP) BP SI DI; POPA skips the SP slot.
struct Pusha {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    uint64_t sp = get_sp(c);
    for (unsigned i = 1; i <= 8; i++) c.probe_write(SS, sp_wrap(c, sp - i * sizeof(T)), sizeof(T));
    for (unsigned i = 0; i < 8; i++) c.write<T>(SS, sp_wrap(c, sp - (i + 1) * sizeof(T)), c.reg<T>(i));
    set_sp(c, sp - 8 * sizeof(T));
  }
};
struct Popa {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    uint64_t sp = get_sp(c);
    T v[8];
    for (unsigned i = 0; i < 8; i++) v[7 - i] = c.read<T>(SS, sp_wrap(c, sp + i * sizeof(T)));
    for (unsigned i = 0; i < 8; i++)
      if (i != RSP) c.set_reg<T>(i, v[i]);
    set_sp(c, sp + 8 * sizeof(T));
  }
};
// ENTER imm16, imm8 (SDM Vol. 2A "ENTER"): nesting level mod 32. Stores and loads
// happen in the SDM's order (as on hardware, a fault on a frame-pointer load comes
// after the earlier stores below rSP); registers are committed only at the end.
// (Checked against the host by tests/hostdiff.)
struct Enter {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    unsigned alloc = uint16_t(d.imm), level = (d.imm >> 16) & 31;
    uint64_t sp = push_value<T>(c, c.reg<T>(RBP), get_sp(c));
    uint64_t frame_temp = sp;
    if (level > 0) {
      // The outer frame pointers are read through rBP of the stack-address size.
      uint64_t bp = sp_wrap(c, c.r[RBP]);
      for (unsigned i = 1; i < level; i++) {
        bp = sp_wrap(c, bp - sizeof(T));
        sp = push_value<T>(c, c.read<T>(SS, bp), sp);
      }
      sp = push_value<T>(c, T(frame_temp), sp);
    }
    // Hardware then checks that the new top of stack is writable (a #PF there
    // reports its address), before committing rBP and rSP.
    uint64_t top = sp_wrap(c, sp - alloc);
    c.probe_write(SS, top, sizeof(T));
    c.set_reg<T>(RBP, T(frame_temp));
    set_sp(c, top);
  }
};
// LEAVE: rSP <- rBP (stack-address size), then rBP <- POP (operand size).
struct Leave {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    uint64_t bp = sp_wrap(c, c.r[RBP]);
    T v = c.read<T>(SS, bp);
    set_sp(c, bp + sizeof(T));
    c.set_reg<T>(RBP, v);
  }
};

// PUSHF/POPF (SDM Vol. 2A "PUSHF", "POPF"; Vol. 3A 20.4 for VME). The pushed image
// has VM and RF clear. POPF never changes VM, VIP, VIF (except through VME), IOPL
// only at CPL 0, IF only when CPL <= IOPL; RF is cleared. In virtual-8086 mode with
// IOPL < 3 both are #GP(0) unless CR4.VME is set and the operand size is 16: then
// the image shows VIF as IF and IOPL as 3, and POPF moves IF into VIF.
inline bool v86(const Cpu& c) { return c.rflags & FLAG_VM; }
inline unsigned iopl(const Cpu& c) { return (c.rflags >> 12) & 3; }
inline bool vme16(const Cpu& c, unsigned osize) { return (c.cr4 & 1) && osize == 2; }

struct Pushf {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    uint64_t f = c.get_rflags() & ~uint64_t(FLAG_VM | FLAG_RF);
    if (v86(c) && iopl(c) < 3) {
      if (!vme16(c, sizeof(T))) raise_gp0();
      f = (f & ~uint64_t(FLAG_IF)) | FLAG_IOPL | ((f & FLAG_VIF) ? uint64_t(FLAG_IF) : 0);
    }
    push<T>(c, T(f));
  }
};
struct Popf {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    const bool vif_mode = v86(c) && iopl(c) < 3;
    if (vif_mode && !vme16(c, sizeof(T))) raise_gp0();
    const uint64_t sp = get_sp(c);
    const uint64_t v = c.read<T>(SS, sp);
    uint64_t changeable = FLAGS_ARITH | FLAG_TF | FLAG_DF | FLAG_OF | FLAG_NT | FLAG_AC | FLAG_ID;
    const bool real = !(c.cr0 & 1);
    if (!v86(c) && (real || c.cpl == 0)) changeable |= FLAG_IOPL;
    if (!vif_mode && (v86(c) || real || c.cpl <= iopl(c))) changeable |= FLAG_IF;
    if constexpr (sizeof(T) == 2) changeable &= 0xFFFF;
    uint64_t cur = c.get_rflags() & ~uint64_t(FLAG_RF);
    uint64_t nf = (cur & ~changeable) | (v & changeable);
    if (vif_mode) {
      // VME: an image that would enable interrupts while one is pending (VIP), or
      // sets TF, is #GP(0); otherwise IF goes to VIF (SDM Vol. 3A 20.4.4).
      if (((v & FLAG_IF) && (cur & FLAG_VIP)) || (v & FLAG_TF)) raise_gp0();
      nf = (v & FLAG_IF) ? (nf | FLAG_VIF) : (nf & ~uint64_t(FLAG_VIF));
    }
    set_sp(c, sp + sizeof(T));
    c.set_rflags(nf);
    // AC changes alignment checking and SMAP; TF or IF may need the run loop.
    if ((nf ^ cur) & FLAG_AC) c.update_mode();
    if (nf & (FLAG_TF | FLAG_IF)) c.attention = true;
  }
};

}  // namespace

void register_stack(HandlerTable& t) {
  bind_v<PushZ>(t, Form::push_zv);
  bind_v<PopZ>(t, Form::pop_zv);
  bind_v<PushI>(t, Form::push_iz);
  bind_v<PushI>(t, Form::push_ib);
  bind_v<PushE>(t, Form::push_ev);
  bind_v<PopE>(t, Form::pop_ev);
  bind_v<PushSeg<ES>>(t, Form::push_es);
  bind_v<PushSeg<CS>>(t, Form::push_cs);
  bind_v<PushSeg<SS>>(t, Form::push_ss);
  bind_v<PushSeg<DS>>(t, Form::push_ds);
  bind_v<PushSeg<FS>>(t, Form::push_fs);
  bind_v<PushSeg<GS>>(t, Form::push_gs);
  bind_v<Pusha>(t, Form::pusha);
  bind_v<Popa>(t, Form::popa);
  bind_v<Enter>(t, Form::enter_iw_ib);
  bind_v<Leave>(t, Form::leave);
  bind_v<Pushf>(t, Form::pushf);
  bind_v<Popf>(t, Form::popf);
}

}  // namespace isa::exec
