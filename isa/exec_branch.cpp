// Near branches: Jcc, JMP, CALL, RET, LOOP/LOOPE/LOOPNE, JrCXZ (SDM Vol. 2A).
// The run loop has already set RIP to the next instruction; a taken branch writes
// the target truncated to the operand size (16/32-bit code) after checking it.
#include "isa/exec_int.h"

namespace isa::exec {
namespace {

template <class T>
inline void jump(Cpu& c, uint64_t target) {
  T t = T(target);
  check_target(c, t);
  c.rip() = t;
}

struct Jcc {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    if (cond(c, d.cc)) jump<T>(c, c.rip() + d.imm);
  }
};
template <unsigned CC>
struct JccC {  // condition known at compile time
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    if (cond(c, CC)) jump<T>(c, c.rip() + d.imm);
  }
};
struct JmpRel {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) { jump<T>(c, c.rip() + d.imm); }
};
struct JmpE {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) { jump<T>(c, read_e<T, M>(c, d)); }
};

template <class T>
inline void call(Cpu& c, uint64_t target) {
  T t = T(target);
  check_target(c, t);
  uint64_t nsp = push_value<T>(c, T(c.rip()), get_sp(c));
  set_sp(c, nsp);
  c.rip() = t;
}
struct CallRel {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) { call<T>(c, c.rip() + d.imm); }
};
struct CallE {  // the target is read before the push (RSP as base sees the old value)
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) { call<T>(c, read_e<T, M>(c, d)); }
};
template <bool IMM>
struct Ret {  // RET / RET imm16: pop, then release imm16 more bytes
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    uint64_t sp = get_sp(c);
    T t = c.read<T>(SS, sp);
    check_target(c, t);
    set_sp(c, sp + sizeof(T) + (IMM ? uint16_t(d.imm) : 0));
    c.rip() = t;
  }
};

// LOOPcc/JrCXZ: the address size selects CX, ECX or RCX (SDM Vol. 2A "LOOP/LOOPcc",
// "Jcc": JCXZ/JECXZ/JRCXZ). kind: 0 LOOPNE, 1 LOOPE, 2 LOOP, 3 JrCXZ.
template <unsigned KIND>
struct Loop {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    uint64_t count;
    if (KIND == 3) {
      count = d.asize == 8 ? c.r[RCX] : d.asize == 4 ? uint32_t(c.r[RCX]) : uint16_t(c.r[RCX]);
      if (count == 0) jump<T>(c, c.rip() + d.imm);
      return;
    }
    bool take;
    uint64_t next = c.rip() + d.imm;
    switch (d.asize) {
      case 8: count = c.r[RCX] - 1; break;
      case 4: count = uint32_t(c.r[RCX] - 1); break;
      default: count = uint16_t(c.r[RCX] - 1); break;
    }
    take = count != 0;
    if (KIND == 0) take = take && !lazy::zf(c.lf);
    if (KIND == 1) take = take && lazy::zf(c.lf);
    if (take) {
      T t = T(next);
      check_target(c, t);
      c.rip() = t;
    }
    switch (d.asize) {
      case 8: c.r[RCX] = count; break;
      case 4: c.set_reg<uint32_t>(RCX, uint32_t(count)); break;
      default: c.set_reg<uint16_t>(RCX, uint16_t(count)); break;
    }
  }
};

}  // namespace

void register_branch(HandlerTable& t) {
  bind_v<Jcc>(t, Form::jcc_jb);
  bind_v<Jcc>(t, Form::jcc_jz);
  bind_cc_v<JccC>(t, Form::jcc_jb);
  bind_cc_v<JccC>(t, Form::jcc_jz);
  bind_v<JmpRel>(t, Form::jmp_jb);
  bind_v<JmpRel>(t, Form::jmp_jz);
  bind_v<JmpE>(t, Form::jmp_ev);
  bind_v<CallRel>(t, Form::call_jz);
  bind_v<CallE>(t, Form::call_ev);
  bind_v<Ret<false>>(t, Form::ret);
  bind_v<Ret<true>>(t, Form::ret_iw);
  bind_v<Loop<0>>(t, Form::loopne_jb);
  bind_v<Loop<1>>(t, Form::loope_jb);
  bind_v<Loop<2>>(t, Form::loop_jb);
  bind_v<Loop<3>>(t, Form::jrcxz_jb);
}

}  // namespace isa::exec
