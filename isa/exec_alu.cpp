// ALU semantics: ADD/OR/ADC/SBB/AND/SUB/XOR/CMP/TEST in every encoding, INC/DEC,
// NOT/NEG, the flag instructions (CLC/STC/CMC/CLD/STD, LAHF/SAHF) and SETcc.
// Flags are recorded lazily (isa/lazy_flags.h). LOCK needs no extra work: one
// simulated processor executes each instruction atomically.
#include "isa/exec_int.h"

namespace isa::exec {
namespace {

enum class Op { ADD, OR, ADC, SBB, AND, SUB, XOR, CMP, TEST };

constexpr bool writes(Op op) { return op != Op::CMP && op != Op::TEST; }

// The operation with its flags (SDM Vol. 2A "ADD" ... "XOR": OF, SF, ZF, AF, CF, PF
// per the result; the logical ones clear OF and CF, AF undefined).
template <Op OP, class T>
inline T alu(Cpu& c, T a, T b) {
  T r;
  if constexpr (OP == Op::ADD) {
    r = T(a + b);
    set_lazy<T>(c, LF_ADD, r, a, b);
  } else if constexpr (OP == Op::ADC) {
    r = T(a + b + T(get_cf(c)));
    set_lazy<T>(c, LF_ADD, r, a, b);
  } else if constexpr (OP == Op::SUB || OP == Op::CMP) {
    r = T(a - b);
    set_lazy<T>(c, LF_SUB, r, a, b);
  } else if constexpr (OP == Op::SBB) {
    r = T(a - b - T(get_cf(c)));
    set_lazy<T>(c, LF_SUB, r, a, b);
  } else {
    if constexpr (OP == Op::OR) r = a | b;
    else if constexpr (OP == Op::XOR) r = a ^ b;
    else r = a & b;  // AND, TEST
    set_lazy<T>(c, LF_LOGIC, r, T(0), T(0));
  }
  return r;
}

// The flags must be committed only after the memory write: compute into a
// scratch copy of the lazy state, write, then publish.
template <Op OP, class T, bool M>
inline void alu_rmw(Cpu& c, const DecodedInst& d, T b) {
  if constexpr (!writes(OP)) {
    T a = read_e<T, M>(c, d);
    alu<OP, T>(c, a, b);
  } else if constexpr (!M) {
    T r = alu<OP, T>(c, c.reg<T>(d.rm), b);
    c.set_reg<T>(d.rm, r);
  } else {
    RmwE<T, M> e(c, d);
    LazyFlags saved = c.lf;
    T r = alu<OP, T>(c, e.val, b);
    LazyFlags out = c.lf;
    c.lf = saved;
    e.store(c, d, r);
    c.lf = out;
  }
}

template <Op OP>
struct AluEG {  // E op= G
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    alu_rmw<OP, T, M>(c, d, c.reg<T>(d.reg));
  }
};
template <Op OP>
struct AluGE {  // G op= E
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    T b = read_e<T, M>(c, d);
    T r = alu<OP, T>(c, c.reg<T>(d.reg), b);
    if constexpr (writes(OP)) c.set_reg<T>(d.reg, r);
  }
};
template <Op OP>
struct AluEI {  // E op= imm (imm already sign-extended by the decoder)
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    alu_rmw<OP, T, M>(c, d, T(d.imm));
  }
};
template <Op OP>
struct AluAI {  // AL/AX/EAX/RAX op= imm
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    T r = alu<OP, T>(c, c.reg<T>(RAX), T(d.imm));
    if constexpr (writes(OP)) c.set_reg<T>(RAX, r);
  }
};

// INC/DEC keep CF (SDM Vol. 2A "INC").
template <bool DEC, class T>
inline void incdec_flags(Cpu& c, bool cf, T a, T r) {
  set_lazy<T>(c, DEC ? LF_DEC : LF_INC, r, a, T(1));
  c.lf.eager = cf ? kCF : 0;
}
template <bool DEC>
struct IncDecE {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    RmwE<T, M> e(c, d);
    bool cf = get_cf(c);
    T r = DEC ? T(e.val - 1) : T(e.val + 1);
    e.store(c, d, r);
    incdec_flags<DEC, T>(c, cf, e.val, r);
  }
};
template <bool DEC>
struct IncDecZ {  // 40+r / 48+r outside 64-bit mode
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    T a = c.reg<T>(d.reg);
    bool cf = get_cf(c);
    T r = DEC ? T(a - 1) : T(a + 1);
    c.set_reg<T>(d.reg, r);
    incdec_flags<DEC, T>(c, cf, a, r);
  }
};

struct NotE {  // flags unaffected
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    RmwE<T, M> e(c, d);
    e.store(c, d, T(~e.val));
  }
};
struct NegE {  // flags of 0 - x: CF = (x != 0) (SDM Vol. 2A "NEG")
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    RmwE<T, M> e(c, d);
    T r = T(T(0) - e.val);
    e.store(c, d, r);
    set_lazy<T>(c, LF_SUB, r, T(0), e.val);
  }
};

struct SetccE {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    write_e<uint8_t, M>(c, d, cond(c, d.cc) ? 1 : 0);
  }
};

template <unsigned CC>
struct SetccC {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    write_e<uint8_t, M>(c, d, cond(c, CC) ? 1 : 0);
  }
};

// Flag instructions (SDM Vol. 2A "CLC", "STC", "CMC", "CLD", "STD").
struct Clc { static void run(Cpu& c, const DecodedInst&) { update_flags(c, kCF, 0); } };
struct Stc { static void run(Cpu& c, const DecodedInst&) { update_flags(c, kCF, kCF); } };
struct Cmc {
  static void run(Cpu& c, const DecodedInst&) { update_flags(c, FLAG_CF, get_cf(c) ? 0 : kCF); }
};
struct Cld { static void run(Cpu& c, const DecodedInst&) { c.rflags &= ~uint64_t(FLAG_DF); } };
struct Std { static void run(Cpu& c, const DecodedInst&) { c.rflags |= FLAG_DF; } };

// LAHF/SAHF: AH <-> SF:ZF:0:AF:0:PF:1:CF (SDM Vol. 2A "LAHF", "SAHF"). Valid in
// 64-bit mode when CPUID.80000001H:ECX.LAHF-SAHF[bit 0] = 1, which the modelled
// CPUs report.
struct Lahf {
  static void run(Cpu& c, const DecodedInst&) {
    c.set_reg<uint8_t>(16 + 0, uint8_t(lazy::arith(c.lf) | 2));
  }
};
struct Sahf {
  static void run(Cpu& c, const DecodedInst&) {
    constexpr uint32_t mask = kSF | kZF | kAF | kPF | kCF;
    update_flags(c, mask, c.reg<uint8_t>(16 + 0));
  }
};

template <Op OP>
void bind_alu(HandlerTable& t, Form eb_gb, Form ev_gv, Form gb_eb, Form gv_ev, Form al_ib,
              Form rax_iz, Form eb_ib, Form ev_iz, Form eb_ib_82, Form ev_ib) {
  bind_b<AluEG<OP>>(t, eb_gb);
  bind_v<AluEG<OP>>(t, ev_gv);
  bind_b<AluGE<OP>>(t, gb_eb);
  bind_v<AluGE<OP>>(t, gv_ev);
  bind_b<AluAI<OP>>(t, al_ib);
  bind_v<AluAI<OP>>(t, rax_iz);
  bind_b<AluEI<OP>>(t, eb_ib);
  bind_v<AluEI<OP>>(t, ev_iz);
  bind_b<AluEI<OP>>(t, eb_ib_82);
  bind_v<AluEI<OP>>(t, ev_ib);
}

}  // namespace

void register_alu(HandlerTable& t) {
#define NS_ALU(op, OP)                                                                      \
  bind_alu<Op::OP>(t, Form::op##_eb_gb, Form::op##_ev_gv, Form::op##_gb_eb, Form::op##_gv_ev, \
                   Form::op##_al_ib, Form::op##_rax_iz, Form::op##_eb_ib, Form::op##_ev_iz,   \
                   Form::op##_eb_ib_82, Form::op##_ev_ib)
  NS_ALU(add, ADD);
  NS_ALU(or, OR);
  NS_ALU(adc, ADC);
  NS_ALU(sbb, SBB);
  NS_ALU(and, AND);
  NS_ALU(sub, SUB);
  NS_ALU(xor, XOR);
  NS_ALU(cmp, CMP);
#undef NS_ALU
  bind_b<AluEG<Op::TEST>>(t, Form::test_eb_gb);
  bind_v<AluEG<Op::TEST>>(t, Form::test_ev_gv);
  bind_b<AluAI<Op::TEST>>(t, Form::test_al_ib);
  bind_v<AluAI<Op::TEST>>(t, Form::test_rax_iz);
  bind_b<AluEI<Op::TEST>>(t, Form::test_eb_ib);
  bind_b<AluEI<Op::TEST>>(t, Form::test1_eb_ib);
  bind_v<AluEI<Op::TEST>>(t, Form::test_ev_iz);
  bind_v<AluEI<Op::TEST>>(t, Form::test1_ev_iz);

  bind_b<IncDecE<false>>(t, Form::inc_eb);
  bind_b<IncDecE<true>>(t, Form::dec_eb);
  bind_v<IncDecE<false>>(t, Form::inc_ev);
  bind_v<IncDecE<true>>(t, Form::dec_ev);
  bind_v<IncDecZ<false>>(t, Form::inc_zv);
  bind_v<IncDecZ<true>>(t, Form::dec_zv);
  bind_b<NotE>(t, Form::not_eb);
  bind_v<NotE>(t, Form::not_ev);
  bind_b<NegE>(t, Form::neg_eb);
  bind_v<NegE>(t, Form::neg_ev);
  bind_b<SetccE>(t, Form::setcc_eb);
  bind_cc_b<SetccC>(t, Form::setcc_eb);

  bind_na<Clc>(t, Form::clc);
  bind_na<Stc>(t, Form::stc);
  bind_na<Cmc>(t, Form::cmc);
  bind_na<Cld>(t, Form::cld);
  bind_na<Std>(t, Form::std);
  bind_na<Lahf>(t, Form::lahf);
  bind_na<Sahf>(t, Form::sahf);
}

}  // namespace isa::exec
