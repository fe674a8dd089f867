// Miscellaneous user-level forms: CPUID, RDRAND/RDSEED, the BCD
// adjustments (DAA/DAS/AAA/AAS/AAM/AAD), SALC and BOUND (SDM Vol. 2A/2B).
#include "isa/exec_int.h"

namespace isa::exec {
namespace {

struct Cpuid {
  static void run(Cpu& c, const DecodedInst& d) {
    if (intercepted(c, d, Intercept::kCpuid)) return;  // SDM Vol. 3C 25.1.2
    uint32_t out[4];
    c.bus->cpuid(c, uint32_t(c.r[RAX]), uint32_t(c.r[RCX]), out);
    c.set_reg<uint32_t>(RAX, out[0]);
    c.set_reg<uint32_t>(RBX, out[1]);
    c.set_reg<uint32_t>(RCX, out[2]);
    c.set_reg<uint32_t>(RDX, out[3]);
  }
};
// RDRAND/RDSEED: a value is always available here: CF = 1, OF SF ZF AF PF = 0.
struct Rdrand {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    const bool seed = d.form == Form::rdseed_rv;
    if (intercepted(c, d, seed ? Intercept::kRdseed : Intercept::kRdrand)) return;
    c.set_reg<T>(d.rm, T(c.bus->random64(c)));
    set_flags_eager(c, kCF);
  }
};

// DAA/DAS (SDM Vol. 2A "DAA", "DAS"): SF ZF PF from AL, OF undefined (cleared).
template <bool SUB>
struct DecimalAdjust {
  static void run(Cpu& c, const DecodedInst&) {
    uint32_t f = lazy::arith(c.lf);
    uint8_t al = c.reg<uint8_t>(RAX), old_al = al;
    bool old_cf = f & kCF, cf = false, af = false;
    if ((al & 0xF) > 9 || (f & kAF)) {
      cf = old_cf || (SUB ? al < 6 : al > 0xF9);
      al = SUB ? uint8_t(al - 6) : uint8_t(al + 6);
      af = true;
    }
    if (old_al > 0x99 || old_cf) {
      al = SUB ? uint8_t(al - 0x60) : uint8_t(al + 0x60);
      cf = true;
    } else if (!SUB) {
      cf = false;
    }
    c.set_reg<uint8_t>(RAX, al);
    set_flags_eager(c, szp<uint8_t>(al) | (cf ? kCF : 0) | (af ? kAF : 0));
  }
};
// AAA/AAS (SDM Vol. 2A "AAA", "AAS"): OF SF ZF PF undefined (from AL here).
template <bool SUB>
struct AsciiAdjust {
  static void run(Cpu& c, const DecodedInst&) {
    uint32_t f = lazy::arith(c.lf);
    uint16_t ax = c.reg<uint16_t>(RAX);
    bool adj = (ax & 0xF) > 9 || (f & kAF);
    if (adj) {
      if (SUB) {
        ax = uint16_t(ax - 6);
        ax = uint16_t(ax - 0x100);
      } else {
        ax = uint16_t(ax + 0x106);
      }
    }
    ax = uint16_t((ax & 0xFF00) | (ax & 0x0F));
    c.set_reg<uint16_t>(RAX, ax);
    set_flags_eager(c, szp<uint8_t>(uint8_t(ax)) | (adj ? kCF | kAF : 0));
  }
};
// AAM imm8: #DE when imm8 = 0; AAD imm8. SF ZF PF from AL; OF AF CF undefined (0).
struct Aam {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    uint8_t base = uint8_t(d.imm), al = c.reg<uint8_t>(RAX);
    if (base == 0) raise_fault(VEC_DE);
    uint8_t q = al / base, r = al % base;
    c.set_reg<uint16_t>(RAX, uint16_t((q << 8) | r));
    set_flags_eager(c, szp<uint8_t>(r));
  }
};
struct Aad {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    uint8_t base = uint8_t(d.imm);
    uint8_t al = uint8_t(c.reg<uint8_t>(RAX) + c.reg<uint8_t>(16 + 0) * base);
    c.set_reg<uint16_t>(RAX, al);
    set_flags_eager(c, szp<uint8_t>(al));
  }
};
// SALC (undocumented D6): AL = CF ? FFh : 00h, flags unchanged.
struct Salc {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst&) { c.set_reg<uint8_t>(RAX, get_cf(c) ? 0xFF : 0); }
};
// BOUND r, m: #BR when the signed index is outside [lower, upper] (SDM Vol. 2A "BOUND").
struct Bound {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    uint64_t off = c.ea(d);
    uint64_t hi_off = d.asize == 4 ? uint32_t(off + sizeof(T)) : uint16_t(off + sizeof(T));
    Signed<T> lo = Signed<T>(c.read<T>(d.seg, off)), hi = Signed<T>(c.read<T>(d.seg, hi_off));
    Signed<T> idx = Signed<T>(c.reg<T>(d.reg));
    if (idx < lo || idx > hi) raise_fault(VEC_BR);
  }
};

}  // namespace

void register_misc(HandlerTable& t) {
  bind_na<Cpuid>(t, Form::cpuid);
  bind_v<Rdrand>(t, Form::rdrand_rv);
  bind_v<Rdrand>(t, Form::rdseed_rv);
  bind_na<DecimalAdjust<false>>(t, Form::daa);
  bind_na<DecimalAdjust<true>>(t, Form::das);
  bind_na<AsciiAdjust<false>>(t, Form::aaa);
  bind_na<AsciiAdjust<true>>(t, Form::aas);
  bind_b<Aam>(t, Form::aam_ib);
  bind_b<Aad>(t, Form::aad_ib);
  bind_b<Salc>(t, Form::salc);
  bind_v<Bound>(t, Form::bound_gv_ma);
}

}  // namespace isa::exec
