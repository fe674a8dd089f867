// Data movement: MOV in every encoding, LEA, MOVZX/MOVSX/MOVSXD, CBW..CQO, CMOVcc,
// XCHG, XLAT, BSWAP, MOVBE, NOP/PAUSE, and the atomics XADD/CMPXCHG/CMPXCHG8B/16B.
#include <initializer_list>

#include "isa/exec_int.h"

namespace isa::exec {
namespace {

struct MovEG {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) { write_e<T, M>(c, d, c.reg<T>(d.reg)); }
};
struct MovGE {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) { c.set_reg<T>(d.reg, read_e<T, M>(c, d)); }
};
struct MovEI {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) { write_e<T, M>(c, d, T(d.imm)); }
};
struct MovZI {  // B0+r ib, B8+r iw/id/iq
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) { c.set_reg<T>(d.reg, T(d.imm)); }
};
// A0-A3: the moffs is address-size wide (SDM Vol. 2A "MOV", Table 3-?? "moffs").
inline uint64_t moffs(const DecodedInst& d) {
  return d.asize == 8 ? d.imm : d.asize == 4 ? uint32_t(d.imm) : uint16_t(d.imm);
}
struct MovAO {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) { c.set_reg<T>(RAX, c.read<T>(d.seg, moffs(d))); }
};
struct MovOA {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) { c.write<T>(d.seg, moffs(d), c.reg<T>(RAX)); }
};
// MOV r/m, Sreg: a register destination gets the selector zero-extended to the
// operand size; a memory destination is always 16 bits (SDM Vol. 2A "MOV").
struct MovESw {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    if ((d.reg & 7) > GS) raise_ud();
    uint16_t sel = c.seg[d.reg & 7].selector;
    if constexpr (M) c.write<uint16_t>(d.seg, c.ea(d), sel);
    else c.set_reg<T>(d.rm, T(sel));
  }
};
struct Lea {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) { c.set_reg<T>(d.reg, T(c.ea(d))); }
};
template <class S, bool SIGN>
struct MovX {  // MOVZX/MOVSX: source type S
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    S v = read_e<S, M>(c, d);
    if constexpr (SIGN) c.set_reg<T>(d.reg, T(std::make_signed_t<T>(std::make_signed_t<S>(v))));
    else c.set_reg<T>(d.reg, T(v));
  }
};
// MOVSXD: REX.W sign-extends a dword; without it the source has the operand size
// (SDM Vol. 2A "MOVSX/MOVSXD": 63 /r with 16/32-bit operand size).
struct Movsxd {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    if constexpr (sizeof(T) == 8) c.set_reg<T>(d.reg, T(int64_t(int32_t(read_e<uint32_t, M>(c, d)))));
    else c.set_reg<T>(d.reg, read_e<T, M>(c, d));
  }
};
struct Cbw {  // CBW/CWDE/CDQE
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    using H = std::conditional_t<sizeof(T) == 2, uint8_t, std::conditional_t<sizeof(T) == 4, uint16_t, uint32_t>>;
    H half = H(c.r[RAX]);
    c.set_reg<T>(RAX, T(Signed<T>(std::make_signed_t<H>(half))));
  }
};
struct Cwd {  // CWD/CDQ/CQO
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    T a = c.reg<T>(RAX);
    c.set_reg<T>(RDX, (a >> (kBits<T> - 1)) ? T(~T(0)) : T(0));
  }
};
// CMOVcc reads its source whatever the condition, and a 32-bit destination is
// zero-extended even when the condition is false (SDM Vol. 2A "CMOVcc").
struct Cmov {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    T v = read_e<T, M>(c, d);
    if (cond(c, d.cc)) c.set_reg<T>(d.reg, v);
    else if constexpr (sizeof(T) == 4) c.set_reg<T>(d.reg, c.reg<T>(d.reg));
  }
};
template <unsigned CC>
struct CmovC {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    T v = read_e<T, M>(c, d);
    if (cond(c, CC)) c.set_reg<T>(d.reg, v);
    else if constexpr (sizeof(T) == 4) c.set_reg<T>(d.reg, c.reg<T>(d.reg));
  }
};
struct XchgEG {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    RmwE<T, M> e(c, d);
    T g = c.reg<T>(d.reg);
    e.store(c, d, g);
    c.set_reg<T>(d.reg, e.val);
  }
};
struct XchgZA {  // 90+r with a register other than the NOP encoding
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    T a = c.reg<T>(RAX), b = c.reg<T>(d.reg);
    c.set_reg<T>(RAX, b);
    c.set_reg<T>(d.reg, a);
  }
};
struct Nop {
  static void run(Cpu&, const DecodedInst&) {}
};
// PAUSE: a NOP with a cost (docs/TIMING.md); exits with "PAUSE exiting" (SDM Vol. 3C
// 25.1.3).
struct Pause {
  static void run(Cpu& c, const DecodedInst& d) { intercepted(c, d, Intercept::kPause); }
};
struct NopE {  // 0F 1F /0 and the reserved hint NOPs: the operand is not accessed
  template <class T, bool M>
  static void run(Cpu&, const DecodedInst&) {}
};
// CLFLUSH/CLFLUSHOPT/CLWB: no caches are modelled; the access is checked like a
// byte read (SDM Vol. 2A "CLFLUSH": faults as a load would).
struct CacheLineOp {
  static void run(Cpu& c, const DecodedInst& d) { (void)c.read<uint8_t>(d.seg, c.ea(d)); }
};
// XLAT: AL <- [seg:rBX + zero-extended AL], address-size wide (SDM Vol. 2A "XLAT").
struct Xlat {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    uint64_t a = c.r[RBX] + c.reg<uint8_t>(RAX);
    a = d.asize == 8 ? a : d.asize == 4 ? uint32_t(a) : uint16_t(a);
    c.set_reg<uint8_t>(RAX, c.read<uint8_t>(d.seg, a));
  }
};
template <class T>
inline T bswap(T v) {
  if constexpr (sizeof(T) == 2) return __builtin_bswap16(v);
  else if constexpr (sizeof(T) == 4) return __builtin_bswap32(v);
  else return __builtin_bswap64(v);
}
// BSWAP with a 16-bit operand is undefined (SDM Vol. 2A "BSWAP"); hardware
// yields zero in the low word, which is what we do.
struct Bswap {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    if constexpr (sizeof(T) == 2) c.set_reg<T>(d.reg, 0);
    else c.set_reg<T>(d.reg, bswap(c.reg<T>(d.reg)));
  }
};
struct MovbeGM {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) { c.set_reg<T>(d.reg, bswap(read_e<T, true>(c, d))); }
};
struct MovbeMG {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) { write_e<T, true>(c, d, bswap(c.reg<T>(d.reg))); }
};

// XADD: TEMP <- SRC + DEST; SRC <- DEST; DEST <- TEMP (SDM Vol. 2A "XADD").
struct Xadd {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    RmwE<T, M> e(c, d);
    T g = c.reg<T>(d.reg);
    T sum = T(e.val + g);
    e.store(c, d, sum);
    c.set_reg<T>(d.reg, e.val);  // for a register destination equal to the source, DEST wins:
    if constexpr (!M) c.set_reg<T>(d.rm, sum);
    set_lazy<T>(c, LF_ADD, sum, e.val, g);
  }
};
// CMPXCHG: compare the accumulator with DEST; on failure the accumulator is loaded.
// A memory destination is always written (with its own value when unequal, SDM
// Vol. 2A "CMPXCHG"); a register destination is written only on success, so a
// failing 32-bit CMPXCHG keeps the upper half of the destination (as hardware does).
struct Cmpxchg {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    RmwE<T, M> e(c, d);
    T a = c.reg<T>(RAX);
    bool eq = a == e.val;
    if (eq) {
      e.store(c, d, c.reg<T>(d.reg));
    } else {
      if constexpr (M) e.store(c, d, e.val);
      c.set_reg<T>(RAX, e.val);
    }
    set_lazy<T>(c, LF_SUB, T(a - e.val), a, e.val);
  }
};
// CMPXCHG8B/16B m64/m128: EDX:EAX (RDX:RAX) against memory; ZF reports equality;
// the other flags are unaffected. 16B needs a 16-byte-aligned operand (#GP(0)).
struct Cmpxchg8b16b {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    uint64_t off = c.ea(d);
    if constexpr (sizeof(T) == 8) {
      if (off & 15) raise_gp0();
      uint64_t lin = c.linear(d.seg, off, 16, Access::kWrite);
      uint64_t lo = c.read_lin<uint64_t>(lin), hi = c.read_lin<uint64_t>(lin + 8);
      bool eq = lo == c.r[RAX] && hi == c.r[RDX];
      c.probe_write(d.seg, off, 16);
      if (eq) {
        c.write_lin<uint64_t>(lin, c.r[RBX]);
        c.write_lin<uint64_t>(lin + 8, c.r[RCX]);
      } else {
        c.write_lin<uint64_t>(lin, lo);
        c.write_lin<uint64_t>(lin + 8, hi);
        c.r[RAX] = lo;
        c.r[RDX] = hi;
      }
      update_flags(c, kZF, eq ? kZF : 0);
    } else {
      uint64_t lin = c.linear(d.seg, off, 8, Access::kWrite);
      uint64_t m = c.read_lin<uint64_t>(lin);
      uint64_t dxax = (uint64_t(uint32_t(c.r[RDX])) << 32) | uint32_t(c.r[RAX]);
      bool eq = m == dxax;
      if (eq) {
        c.write_lin<uint64_t>(lin, (uint64_t(uint32_t(c.r[RCX])) << 32) | uint32_t(c.r[RBX]));
      } else {
        c.write_lin<uint64_t>(lin, m);
        c.set_reg<uint32_t>(RAX, uint32_t(m));
        c.set_reg<uint32_t>(RDX, uint32_t(m >> 32));
      }
      update_flags(c, kZF, eq ? kZF : 0);
    }
  }
};

}  // namespace

void register_mov(HandlerTable& t) {
  bind_b<MovEG>(t, Form::mov_eb_gb);
  bind_v<MovEG>(t, Form::mov_ev_gv);
  bind_b<MovGE>(t, Form::mov_gb_eb);
  bind_v<MovGE>(t, Form::mov_gv_ev);
  bind_b<MovEI>(t, Form::mov_eb_ib);
  bind_v<MovEI>(t, Form::mov_ev_iz);
  bind_b<MovZI>(t, Form::mov_zb_ib);
  bind_v<MovZI>(t, Form::mov_zv_iv);
  bind_b<MovAO>(t, Form::mov_al_ob);
  bind_v<MovAO>(t, Form::mov_rax_ov);
  bind_b<MovOA>(t, Form::mov_ob_al);
  bind_v<MovOA>(t, Form::mov_ov_rax);
  bind_v<MovESw>(t, Form::mov_ev_sw);
  bind_v<Lea>(t, Form::lea_gv_m);
  bind_v<MovX<uint8_t, false>>(t, Form::movzx_gv_eb);
  bind_v<MovX<uint16_t, false>>(t, Form::movzx_gv_ew);
  bind_v<MovX<uint8_t, true>>(t, Form::movsx_gv_eb);
  bind_v<MovX<uint16_t, true>>(t, Form::movsx_gv_ew);
  bind_v<Movsxd>(t, Form::movsxd_gv_ed);
  bind_v<Cbw>(t, Form::cbw_cwde_cdqe);
  bind_v<Cwd>(t, Form::cwd_cdq_cqo);
  bind_v<Cmov>(t, Form::cmovcc_gv_ev);
  bind_cc_v<CmovC>(t, Form::cmovcc_gv_ev);
  bind_b<XchgEG>(t, Form::xchg_eb_gb);
  bind_v<XchgEG>(t, Form::xchg_ev_gv);
  bind_v<XchgZA>(t, Form::xchg_zv_rax);
  bind_na<Nop>(t, Form::nop_90);
  bind_na<Pause>(t, Form::pause);
  for (Form f : {Form::nop_ev, Form::nop_ev_18, Form::nop_ev_19, Form::nop_ev_1a, Form::nop_ev_1b,
                 Form::nop_ev_1c, Form::nop_ev_1d, Form::nop_ev_1e, Form::nop_ev_1f})
    bind_v<NopE>(t, f);
  for (Form f : {Form::prefetchw_m, Form::prefetchnta_m, Form::prefetcht0_m, Form::prefetcht1_m,
                 Form::prefetcht2_m, Form::endbr64, Form::endbr32, Form::lfence, Form::mfence,
                 Form::sfence})
    bind_na<Nop>(t, f);  // hints and fences: no architectural effect on one simulated CPU
  for (Form f : {Form::clflush_m, Form::clflushopt_m, Form::clwb_m}) bind_na<CacheLineOp>(t, f);
  bind_b<Xlat>(t, Form::xlat);
  bind_v<Bswap>(t, Form::bswap_zv);
  bind_v<MovbeGM>(t, Form::movbe_gv_mv);
  bind_v<MovbeMG>(t, Form::movbe_mv_gv);
  bind_b<Xadd>(t, Form::xadd_eb_gb);
  bind_v<Xadd>(t, Form::xadd_ev_gv);
  bind_b<Cmpxchg>(t, Form::cmpxchg_eb_gb);
  bind_v<Cmpxchg>(t, Form::cmpxchg_ev_gv);
  // CMPXCHG8B is osize 32 (or 16, which the SDM ignores); REX.W selects 16B.
  t.set(Form::cmpxchg8b_mq, 1, &Ud::run, &Cmpxchg8b16b::run<uint32_t, true>);
  t.set(Form::cmpxchg8b_mq, 2, &Ud::run, &Cmpxchg8b16b::run<uint32_t, true>);
  t.set(Form::cmpxchg8b_mq, 3, &Ud::run, &Cmpxchg8b16b::run<uint64_t, true>);
}

}  // namespace isa::exec
