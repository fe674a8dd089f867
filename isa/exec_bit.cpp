// Bit instructions: BT/BTS/BTR/BTC, BSF/BSR, TZCNT/LZCNT/POPCNT, the BMI1/BMI2
// bit-field forms (ANDN, BLSR, BLSMSK, BLSI, BEXTR, BZHI, PDEP, PEXT), ADCX/ADOX
// and CRC32 (SDM Vol. 2A/2B under each mnemonic).
#include "isa/exec_int.h"

namespace isa::exec {
namespace {

enum class Bt { BT, BTS, BTR, BTC };

// BT* with a register bit offset and a memory operand: the offset is signed and
// selects any bit relative to the operand's address (SDM Vol. 2A "BT": "bit base"
// addressing), so the accessed word may lie outside the operand.
template <Bt OP, bool IMM>
struct BitTest {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    constexpr unsigned B = kBits<T>;
    uint64_t off = IMM ? d.imm : uint64_t(int64_t(Signed<T>(c.reg<T>(d.reg))));
    unsigned bit = unsigned(off) & (B - 1);
    T v, mask = T(T(1) << bit);
    uint64_t lin = 0;
    if constexpr (M) {
      uint64_t a = c.ea(d);
      if (!IMM) a += uint64_t(int64_t(off) >> (B == 8 ? 3 : B == 16 ? 4 : B == 32 ? 5 : 6)) * sizeof(T);
      a = d.asize == 8 ? a : d.asize == 4 ? uint32_t(a) : uint16_t(a);
      if constexpr (OP == Bt::BT) {
        v = c.read<T>(d.seg, a);
      } else {
        lin = c.linear(d.seg, a, sizeof(T), Access::kWrite);
        v = c.read_lin<T>(lin);
      }
    } else {
      v = c.reg<T>(d.rm);
    }
    bool cf = v & mask;
    if constexpr (OP != Bt::BT) {
      T r = OP == Bt::BTS ? T(v | mask) : OP == Bt::BTR ? T(v & ~mask) : T(v ^ mask);
      if constexpr (M) c.write_lin<T>(lin, r);
      else c.set_reg<T>(d.rm, r);
    }
    update_flags(c, kCF, cf ? kCF : 0);  // OF, SF, AF, PF undefined: left unchanged
  }
};

// BSF/BSR: ZF = (source == 0), destination unchanged then (Intel leaves it as it
// was, the SDM calls it undefined). CF, OF, SF, AF, PF are undefined; the modelled
// core clears them except PF, the parity of the index (of 0 for a zero source).
template <bool REVERSE>
struct BitScan {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    T s = read_e<T, M>(c, d);
    if (s == 0) {
      set_flags_eager(c, kZF | kPF);
      return;
    }
    unsigned i = REVERSE ? 63 - __builtin_clzll(s) : __builtin_ctzll(s);
    c.set_reg<T>(d.reg, T(i));
    set_flags_eager(c, __builtin_parity(i) ? 0 : kPF);
  }
};
// TZCNT/LZCNT: CF = (source == 0), ZF = (result == 0); OF SF AF PF undefined
// (cleared, as the modelled core does).
template <bool LEAD>
struct Count0 {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    T s = read_e<T, M>(c, d);
    unsigned n = s == 0 ? kBits<T>
                        : LEAD ? unsigned(__builtin_clzll(s)) - (64 - kBits<T>) : unsigned(__builtin_ctzll(s));
    c.set_reg<T>(d.reg, T(n));
    set_flags_eager(c, (s == 0 ? kCF : 0) | (n == 0 ? kZF : 0));
  }
};
// POPCNT: ZF = (source == 0); OF SF AF CF PF cleared.
struct Popcnt {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    T s = read_e<T, M>(c, d);
    c.set_reg<T>(d.reg, T(__builtin_popcountll(s)));
    set_flags_eager(c, s == 0 ? kZF : 0);
  }
};

// BMI1 flag results: SF and ZF from the result, OF = 0, CF as given; AF and PF
// undefined (we clear them).
template <class T>
inline void bmi_flags(Cpu& c, T r, bool cf) {
  set_flags_eager(c, (szp<T>(r) & (kSF | kZF)) | (cf ? kCF : 0));
}
struct Andn {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    T r = T(~c.reg<T>(d.vvvv) & read_e<T, M>(c, d));
    c.set_reg<T>(d.reg, r);
    bmi_flags<T>(c, r, false);
  }
};
enum class Bls { BLSR, BLSMSK, BLSI };
template <Bls OP>
struct BlsX {  // destination is VEX.vvvv
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    T s = read_e<T, M>(c, d);
    T r;
    bool cf;
    if constexpr (OP == Bls::BLSR) r = T((s - 1) & s), cf = s == 0;
    else if constexpr (OP == Bls::BLSMSK) r = T((s - 1) ^ s), cf = s == 0;
    else r = T(T(0 - s) & s), cf = s != 0;
    c.set_reg<T>(d.vvvv, r);
    if constexpr (OP == Bls::BLSMSK) set_flags_eager(c, (szp<T>(r) & kSF) | (cf ? kCF : 0));  // ZF = 0
    else bmi_flags<T>(c, r, cf);
  }
};
// BEXTR: start = src2[7:0], length = src2[15:8]; ZF from the result, CF = OF = 0.
struct Bextr {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    T s = read_e<T, M>(c, d);
    uint64_t ctl = c.reg<T>(d.vvvv);
    unsigned start = ctl & 0xFF, len = (ctl >> 8) & 0xFF;
    uint64_t v = start < kBits<T> ? uint64_t(s) >> start : 0;
    if (len < 64) v &= (uint64_t(1) << len) - 1;
    T r = T(v);
    c.set_reg<T>(d.reg, r);
    set_flags_eager(c, r == 0 ? kZF : 0);
  }
};
// BZHI: clear bits from index src2[7:0] up; CF = (index > operand size - 1).
struct Bzhi {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    T s = read_e<T, M>(c, d);
    unsigned n = c.reg<T>(d.vvvv) & 0xFF;
    T r = n < kBits<T> ? T(s & ((uint64_t(1) << n) - 1)) : s;
    c.set_reg<T>(d.reg, r);
    bmi_flags<T>(c, r, n > kBits<T> - 1);
  }
};
template <bool DEPOSIT>
struct PdepPext {  // source = VEX.vvvv, mask = E; no flags
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    uint64_t mask = read_e<T, M>(c, d), src = c.reg<T>(d.vvvv), r = 0;
    unsigned k = 0;
    for (uint64_t m = mask; m; m &= m - 1, k++) {
      uint64_t bit = m & (0 - m);
      if (DEPOSIT) {
        if ((src >> k) & 1) r |= bit;
      } else if (src & bit) {
        r |= uint64_t(1) << k;
      }
    }
    c.set_reg<T>(d.reg, T(r));
  }
};

// ADCX/ADOX: unsigned add with carry in and out through CF (ADCX) or OF (ADOX)
// only; the other flags are unchanged.
template <bool OVERFLOW_FLAG>
struct Adcxo {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    constexpr uint32_t f = OVERFLOW_FLAG ? kOF : kCF;
    T b = read_e<T, M>(c, d), a = c.reg<T>(d.reg);
    uint32_t cur = lazy::arith(c.lf);
    uint64_t cin = (cur & f) ? 1 : 0;
    T r = T(a + b + cin);
    bool cout = cin ? r <= a : r < a;
    c.set_reg<T>(d.reg, r);
    set_flags_eager(c, (cur & ~f) | (cout ? f : 0));
  }
};

// CRC32 (SDM Vol. 2A "CRC32"): the iSCSI polynomial 11EDC6F41H, bit-reflected,
// accumulated over the source bytes in little-endian order; no complement steps.
struct Crc32Table {
  uint32_t t[256];
  constexpr Crc32Table() : t() {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t v = i;
      for (int k = 0; k < 8; k++) v = (v >> 1) ^ ((v & 1) ? 0x82F63B78u : 0);
      t[i] = v;
    }
  }
};
constexpr Crc32Table kCrc;
struct Crc32 {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    uint64_t s = read_e<T, M>(c, d);
    uint32_t crc = c.reg<uint32_t>(d.reg);
    for (unsigned i = 0; i < sizeof(T); i++) crc = (crc >> 8) ^ kCrc.t[(crc ^ (s >> (8 * i))) & 0xFF];
    c.set_reg<uint32_t>(d.reg, crc);  // 64-bit destination: zero-extended
  }
};

template <Bt OP>
void bind_bt(HandlerTable& t, Form gv, Form ib) {
  bind_v<BitTest<OP, false>>(t, gv);
  bind_v<BitTest<OP, true>>(t, ib);
}

}  // namespace

void register_bit(HandlerTable& t) {
  bind_bt<Bt::BT>(t, Form::bt_ev_gv, Form::bt_ev_ib);
  bind_bt<Bt::BTS>(t, Form::bts_ev_gv, Form::bts_ev_ib);
  bind_bt<Bt::BTR>(t, Form::btr_ev_gv, Form::btr_ev_ib);
  bind_bt<Bt::BTC>(t, Form::btc_ev_gv, Form::btc_ev_ib);
  bind_v<BitScan<false>>(t, Form::bsf_gv_ev);
  bind_v<BitScan<true>>(t, Form::bsr_gv_ev);
  bind_v<Count0<false>>(t, Form::tzcnt_gv_ev);
  bind_v<Count0<true>>(t, Form::lzcnt_gv_ev);
  bind_v<Popcnt>(t, Form::popcnt_gv_ev);
  bind_v<Andn>(t, Form::andn_gy_by_ey);
  bind_v<BlsX<Bls::BLSR>>(t, Form::blsr_by_ey);
  bind_v<BlsX<Bls::BLSMSK>>(t, Form::blsmsk_by_ey);
  bind_v<BlsX<Bls::BLSI>>(t, Form::blsi_by_ey);
  bind_v<Bextr>(t, Form::bextr_gy_ey_by);
  bind_v<Bzhi>(t, Form::bzhi_gy_ey_by);
  bind_v<PdepPext<true>>(t, Form::pdep_gy_by_ey);
  bind_v<PdepPext<false>>(t, Form::pext_gy_by_ey);
  bind_v<Adcxo<false>>(t, Form::adcx_gy_ey);
  bind_v<Adcxo<true>>(t, Form::adox_gy_ey);
  bind_b<Crc32>(t, Form::crc32_gd_eb);
  bind_v<Crc32>(t, Form::crc32_gd_ev);
}

}  // namespace isa::exec
