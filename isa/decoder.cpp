// The instruction decoder: bytes -> DecodedInst (SDM Vol. 2A chapter 2).
//
// Decoding runs in four steps:
//   1. legacy prefixes and REX (2.1.1, 2.2.1), or a VEX prefix (2.3);
//   2. the opcode, which with the map (1-byte, 0F, 0F38, 0F3A) and the VEX/legacy
//      encoding selects a candidate list built once from kForms;
//   3. the candidates are filtered by mandatory prefix, mode, REX/VEX bits and then
//      ModRM.mod/reg/rm; the first one left is the form (lists are sorted so that the
//      more specific rows come first: pause before nop_90 before xchg_zv_rax);
//   4. ModRM/SIB/displacement and the immediate of that form, then isa::bind().
//
// Conventions of the fields we fill (decoded_inst.h documents the rest):
//   - imm: IB and IZ immediates and branch offsets are sign-extended to 64 bits; a
//     handler that needs an unsigned imm8 (port, INT n, shift count, SSE imm8) reads
//     uint8_t(imm). IW, IV and moffs are zero-extended.
//   - an instruction that is not valid here returns kDecodeUd with form invalid (the
//     bound handler raises #UD) and, where the encoding allows, the full length.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "isa/bind.h"
#include "isa/cpu_state.h"
#include "isa/decoded_inst.h"

namespace isa {
namespace {

constexpr unsigned kMaxLen = 15;  // SDM Vol. 2A 2.3.11: longer is #GP(0)
constexpr unsigned kMaxCandidates = 128;  // forms per (encoding, map, opcode); checked at build

// Per-form operand traits, derived once from the operand codes of the form's name.
// Byte-register operands (eb/gb/zb/rb) name AH..BH for 4-7 without REX (2.1.5).
// Gathers (v[p]gather*) address memory through a VSIB byte (2.3.12): the index is
// a vector register and 100b is xmm4/ymm4, not "no index".
// Segment-register operands (operand code "sw", MOV Sreg): ModRM.reg names a segment
// register (REX.R ignored, 2.2.1.2); 6 and 7 are #UD, and so is a load of CS (MOV).
enum : uint8_t { kByteReg = 1, kByteRm = 2, kVsib = 4, kSregSrc = 8, kSregDst = 16 };

// What candidate filtering reads of a form, packed so that one opcode's candidates
// sit together in one array (the 40-byte FormInfo rows are touched only for the winner).
struct Candidate {
  uint16_t form;
  PrefixClass prefix;
  ModrmKind modrm;
  int8_t reg, rm;
  uint32_t flags;
};

struct Tables {
  // Candidates of slot s = [vex][map][opcode] are cands[begin[s] .. begin[s + 1]),
  // most specific first.
  std::vector<Candidate> cands;
  uint32_t begin[2 * 4 * 256 + 1] = {};
  uint8_t traits[kFormCount] = {};  // kByteReg | kByteRm | kVsib | kSreg*

  static unsigned slot(bool vex, unsigned map, unsigned op) { return (unsigned(vex) * 4 + map) * 256 + op; }
};

uint8_t operand_traits(const char* name) {
  uint8_t r = 0;
  const char* p = std::strchr(name, '_');
  for (bool first = true; p; first = false) {
    const char* tok = p + 1;
    p = std::strchr(tok, '_');
    size_t n = p ? size_t(p - tok) : std::strlen(tok);
    if (n == 2 && tok[0] == 's' && tok[1] == 'w') r |= first ? kSregDst : kSregSrc;
    if (n != 2 || tok[1] != 'b') continue;
    if (tok[0] == 'g' || tok[0] == 'z') r |= kByteReg;
    if (tok[0] == 'e' || tok[0] == 'r') r |= kByteRm;
  }
  return r;
}

// Higher sorts first. A mandatory prefix beats NP beats PX; a ModRM constraint beats
// none; F_NOREX rows (90 as NOP) beat the +r row they overlap, and a VEX.W-constrained
// row beats the unconstrained one it overlaps.
int specificity(const FormInfo& f) {
  int s = 0;
  if (f.prefix == P66 || f.prefix == PF3 || f.prefix == PF2) s += 32;
  else if (f.prefix == NP) s += 16;
  if (f.rm >= 0) s += 8;
  if (f.reg >= 0) s += 4;
  if (f.modrm == REG || f.modrm == MEM) s += 2;
  if (f.flags & (F_NOREX | F_W0 | F_W1)) s += 1;
  return s;
}

Tables* build_tables() {
  auto* t = new Tables;
  std::vector<std::vector<uint16_t>> slots(2 * 4 * 256);
  for (unsigned i = 1; i < kFormCount; i++) {
    const FormInfo& f = kForms[i];
    t->traits[i] = operand_traits(f.name);
    if (!std::strncmp(f.name, "vgather", 7) || !std::strncmp(f.name, "vpgather", 8))
      t->traits[i] |= kVsib;
    unsigned n = (f.flags & F_CC16) ? 16 : (f.flags & F_PLUSR) ? 8 : 1;
    for (unsigned k = 0; k < n; k++)
      slots[Tables::slot(f.flags & F_VEX, f.map, (f.opcode + k) & 0xFF)].push_back(uint16_t(i));
  }
  for (unsigned s = 0; s < slots.size(); s++) {
    if (slots[s].size() > kMaxCandidates) std::abort();  // raise kMaxCandidates
    std::stable_sort(slots[s].begin(), slots[s].end(), [](uint16_t a, uint16_t b) {
      return specificity(kForms[a]) > specificity(kForms[b]);
    });
    t->begin[s] = uint32_t(t->cands.size());
    for (uint16_t i : slots[s]) {
      const FormInfo& f = kForms[i];
      t->cands.push_back({i, f.prefix, f.modrm, f.reg, f.rm, f.flags});
    }
  }
  t->begin[slots.size()] = uint32_t(t->cands.size());
  return t;
}

const Tables& tables() {
  static const Tables* t = build_tables();
  return *t;
}

// Byte reader enforcing the 15-byte limit before the end of the fetch window.
struct Reader {
  const uint8_t* bytes;
  unsigned avail;
  unsigned pos = 0;
  DecodeStatus err = kDecodeOk;

  bool check(unsigned n) {
    if (pos + n > kMaxLen) { err = kDecodeTooLong; return false; }
    if (pos + n > avail) { err = kDecodeNeedMore; return false; }
    return true;
  }
  bool next(uint8_t& b) {
    if (!check(1)) return false;
    b = bytes[pos++];
    return true;
  }
  bool peek(uint8_t& b) {
    if (!check(1)) return false;
    b = bytes[pos];
    return true;
  }
  // Little-endian unsigned value of n bytes.
  bool take(unsigned n, uint64_t& v) {
    if (!check(n)) return false;
    v = 0;
    for (unsigned i = 0; i < n; i++) v |= uint64_t(bytes[pos + i]) << (8 * i);
    pos += n;
    return true;
  }
};

int64_t sext(uint64_t v, unsigned bytes) {
  unsigned sh = 64 - 8 * bytes;
  return int64_t(v << sh) >> sh;
}

// What the prefixes said, before the form is known.
struct Prefixes {
  uint8_t seg = 0xFF;  // last segment override (2.1.1: the last one wins)
  bool osz = false, asz = false, lock = false;
  uint8_t rep = 0;     // last of F2/F3
  uint8_t rex = 0;     // REX byte immediately before the opcode, else 0
  bool vex = false;
  uint8_t vex_pp = 0, vex_l = 0, vex_w = 0, vvvv = 0;
  uint8_t R = 0, X = 0, B = 0, W = 0;  // extension bits from REX or VEX
};

// The mandatory-prefix class the prefixes select: F2/F3 (last wins) over 66 (2.1.2;
// for VEX, VEX.pp).
PrefixClass mandatory(const Prefixes& p) {
  if (p.vex) {
    static constexpr PrefixClass kPp[4] = {NP, P66, PF3, PF2};
    return kPp[p.vex_pp];
  }
  if (p.rep == 0xF3) return PF3;
  if (p.rep == 0xF2) return PF2;
  return p.osz ? P66 : NP;
}

bool prefix_ok(PrefixClass want, PrefixClass have) { return want == PX || want == have; }

// Filters that do not need ModRM.
bool pre_modrm_ok(const Candidate& f, const Prefixes& p, PrefixClass mp, bool m64) {
  if (!prefix_ok(f.prefix, mp)) return false;
  if ((f.flags & F_I64) && m64) return false;
  if ((f.flags & F_O64) && !m64) return false;
  if ((f.flags & F_NOREX) && p.B) return false;
  if (p.vex) {
    if ((f.flags & F_L0) && p.vex_l) return false;
    if ((f.flags & F_L1) && !p.vex_l) return false;
    if ((f.flags & F_W0) && p.vex_w) return false;
    if ((f.flags & F_W1) && !p.vex_w) return false;
  }
  return true;
}

bool modrm_ok(const Candidate& f, unsigned mod, unsigned reg, unsigned rm) {
  if (f.modrm == REG && mod != 3 && !(f.flags & F_MODRM_MOD3)) return false;
  if (f.modrm == MEM && mod == 3) return false;
  if (f.reg >= 0 && unsigned(f.reg) != reg) return false;
  if (f.rm >= 0 && unsigned(f.rm) != rm) return false;
  return true;
}

// ModRM memory operand: SIB, displacement, default segment (2.1.5, Tables 2-1..2-3).
bool decode_mem(Reader& r, const Prefixes& p, unsigned mod, unsigned rm, bool m64, bool vsib,
                DecodedInst& d) {
  d.flags |= IF_MEM;
  d.base = d.index = kRegZero;
  d.scale = 0;
  uint8_t def_seg = DS;
  unsigned disp_bytes = mod == 1 ? 1 : 0;
  if (d.asize == 2) {
    // Table 2-1: BX+SI, BX+DI, BP+SI, BP+DI, SI, DI, BP (disp16 when mod=0), BX.
    static constexpr uint8_t kBase[8] = {RBX, RBX, RBP, RBP, RSI, RDI, RBP, RBX};
    static constexpr uint8_t kIndex[8] = {RSI, RDI, RSI, RDI, kRegZero, kRegZero, kRegZero,
                                          kRegZero};
    if (mod == 2) disp_bytes = 2;
    if (mod == 0 && rm == 6) {
      disp_bytes = 2;
    } else {
      d.base = kBase[rm];
      d.index = kIndex[rm];
      if (d.base == RBP) def_seg = SS;
    }
  } else {
    if (mod == 2) disp_bytes = 4;
    if (rm == 4) {
      uint8_t sib;
      if (!r.next(sib)) return false;
      unsigned base = sib & 7, index = ((sib >> 3) & 7) | (p.X << 3);
      d.scale = sib >> 6;
      if (index != 4 || vsib) d.index = uint8_t(index);  // 100b without REX.X: no index
      if (base == 5 && mod == 0) {
        disp_bytes = 4;                          // no base, disp32
      } else {
        d.base = uint8_t(base | (p.B << 3));
        if (d.base == RSP || d.base == RBP) def_seg = SS;  // not r12/r13
      }
    } else if (rm == 5 && mod == 0) {
      disp_bytes = 4;
      if (m64) d.base = kRegRip;                 // 2.2.1.6: RIP-relative
    } else {
      d.base = uint8_t(rm | (p.B << 3));
      if (d.base == RBP) def_seg = SS;
    }
  }
  uint64_t disp = 0;
  if (disp_bytes && !r.take(disp_bytes, disp)) return false;
  d.disp = int32_t(sext(disp, disp_bytes ? disp_bytes : 1));
  if (p.seg == 0xFF) d.seg = def_seg;
  return true;
}

bool decode_imm(Reader& r, const FormInfo& f, DecodedInst& d) {
  uint64_t v = 0, v2 = 0;
  switch (f.imm) {
    case I0: return true;
    case IB:
    case IB_JB:
      if (!r.take(1, v)) return false;
      d.imm = uint64_t(sext(v, 1));
      return true;
    case IW:
      if (!r.take(2, v)) return false;
      d.imm = v;
      return true;
    case IZ:
    case IZ_JZ: {
      unsigned n = d.osize == 2 ? 2 : 4;
      if (!r.take(n, v)) return false;
      d.imm = uint64_t(sext(v, n));
      return true;
    }
    case IV:
      if (!r.take(d.osize, v)) return false;
      d.imm = v;
      return true;
    case IWB:
      if (!r.take(2, v) || !r.take(1, v2)) return false;
      d.imm = v | (v2 << 16);
      return true;
    case AP: {
      unsigned n = d.osize == 2 ? 2 : 4;
      if (!r.take(n, v) || !r.take(2, v2)) return false;
      d.imm = v | (v2 << 32);
      return true;
    }
    case OV:
      if (!r.take(d.asize, v)) return false;
      d.imm = v;
      return true;
  }
  return true;
}

// Operand size in bytes (forms.h osize kinds; SDM Vol. 1 3.6, Vol. 2A 2.2.1.2).
uint8_t operand_size(const FormInfo& f, const Prefixes& p, CodeSize mode) {
  const bool m64 = mode == CodeSize::k64;
  // 66 consumed as a mandatory prefix does not change the operand size.
  const bool o16 = p.osz && f.prefix != P66;
  uint8_t v = (mode == CodeSize::k16) != o16 ? 2 : 4;
  if (m64 && p.W) v = 8;
  switch (f.osize) {
    case OB: return 1;
    case OV_: case ONA: return v;
    case OD64: return m64 ? (p.W || !o16 ? 8 : 2) : v;
    case OF64: return m64 ? 8 : v;  // Intel: 66 is ignored by near branches in 64-bit mode
    case OW: return 2;
    case OD: return 4;
    case OQ: return 8;
    case OX: return p.vex && p.vex_l ? 32 : 16;
  }
  return v;
}

// Finishes a failed decode: the status, and as much length as is known.
DecodeStatus finish_ud(Reader& r, DecodedInst& d) {
  d.form = Form::invalid;
  d.len = uint8_t(std::max(1u, r.pos));
  bind(d);
  return kDecodeUd;
}

}  // namespace

DecodeStatus decode(const uint8_t* bytes, unsigned avail, CodeSize mode, DecodedInst& out) {
  const Tables& t = tables();
  out = DecodedInst{};
  out.form = Form::invalid;
  out.base = out.index = kRegZero;
  out.reg = out.rm = kRegNone;
  const bool m64 = mode == CodeSize::k64;
  Reader r{bytes, avail};
  Prefixes p;
  bool ud = false;
  uint8_t b;

  // 1. Prefixes (2.1.1). REX counts only when it is the last byte before the opcode
  // (2.2.1); a legacy prefix after it makes it ignored.
  for (;;) {
    if (!r.next(b)) return r.err;
    if (m64 && (b & 0xF0) == 0x40) {
      p.rex = b;
      continue;
    }
    switch (b) {
      case 0x26: case 0x2E: case 0x36: case 0x3E: p.seg = (b >> 3) & 3; break;
      case 0x64: p.seg = FS; break;
      case 0x65: p.seg = GS; break;
      case 0x66: p.osz = true; break;
      case 0x67: p.asz = true; break;
      case 0xF0: p.lock = true; break;
      case 0xF2: case 0xF3: p.rep = b; break;
      default: goto opcode;
    }
    p.rex = 0;
  }
opcode:
  if (p.rex) {
    p.W = (p.rex >> 3) & 1;
    p.R = (p.rex >> 2) & 1;
    p.X = (p.rex >> 1) & 1;
    p.B = p.rex & 1;
  }
  unsigned map = ONE;
  // 2. VEX (2.3.5). Outside 64-bit mode C4/C5 are LES/LDS unless the next byte has
  // bits 7:6 = 11b (a register ModRM, which LES/LDS do not allow).
  if (b == 0xC4 || b == 0xC5) {
    uint8_t b1;
    if (!r.peek(b1)) return r.err;
    if (m64 || b1 >= 0xC0) {
      // 2.3.2: a VEX prefix after 66, F2, F3, F0 or REX is #UD.
      if (p.rex || p.osz || p.rep || p.lock) ud = true;
      p.vex = true;
      r.pos++;
      uint8_t vb = b1;
      if (b == 0xC4) {
        unsigned mmmmm = b1 & 0x1F;
        if (mmmmm < 1 || mmmmm > 3) ud = true;
        map = mmmmm;
        p.X = !(b1 & 0x40);
        p.B = !(b1 & 0x20);
        if (!r.next(vb)) return r.err;
        p.vex_w = vb >> 7;
      } else {
        map = M0F;
      }
      p.R = !(b1 & 0x80);
      p.vvvv = (~vb >> 3) & 15;
      p.vex_l = (vb >> 2) & 1;
      p.vex_pp = vb & 3;
      if (!m64) {
        // Outside 64-bit mode only 8 registers exist: R, X, B and vvvv[3] are ignored.
        p.R = p.X = p.B = 0;
        p.vvvv &= 7;
      } else {
        p.W = p.vex_w;
      }
      if (!r.next(b)) return r.err;
      if (ud) return finish_ud(r, out);
    }
  }
  if (!p.vex && b == 0x0F) {
    if (!r.next(b)) return r.err;
    map = M0F;
    if (b == 0x38 || b == 0x3A) {
      map = b == 0x38 ? M0F38 : M0F3A;
      if (!r.next(b)) return r.err;
    }
  }
  const uint8_t opcode = b;

  // 3. Candidates: filters that need no ModRM, then ModRM.
  const PrefixClass mp = mandatory(p);
  const Candidate* keep[kMaxCandidates];
  unsigned nkeep = 0;
  const unsigned slot = Tables::slot(p.vex, map, opcode);
  for (unsigned i = t.begin[slot]; i < t.begin[slot + 1]; i++)
    if (pre_modrm_ok(t.cands[i], p, mp, m64)) keep[nkeep++] = &t.cands[i];
  if (nkeep == 0) return finish_ud(r, out);
  const bool has_modrm = keep[0]->modrm != NOMR;
  unsigned mod = 0, reg = 0, rm = 0;
  uint16_t form = keep[0]->form;
  if (has_modrm) {
    uint8_t modrm;
    if (!r.next(modrm)) return r.err;
    mod = modrm >> 6;
    reg = (modrm >> 3) & 7;
    rm = modrm & 7;
    form = 0;
    for (unsigned i = 0; i < nkeep && !form; i++)
      if (modrm_ok(*keep[i], mod, reg, rm)) form = keep[i]->form;
    if (!form) ud = true;
  }
  const FormInfo& f = kForms[form ? form : keep[0]->form];

  // 4. Sizes, operands, immediate.
  out.osize = operand_size(f, p, mode);
  out.asize = m64 ? (p.asz ? 4 : 8) : ((mode == CodeSize::k16) != p.asz ? 2 : 4);
  out.seg = p.seg == 0xFF ? uint8_t(DS) : p.seg;
  // 3.3.7.1 / 2.2.1: in 64-bit mode CS, DS, ES and SS overrides are ignored.
  if (m64 && p.seg != 0xFF && p.seg < FS) out.seg = DS, p.seg = 0xFF;
  if (has_modrm) {
    const bool mod3 = mod == 3 || (f.flags & F_MODRM_MOD3);
    out.reg = uint8_t(reg | (p.R << 3));
    if (mod3) {
      out.rm = uint8_t(rm | (p.B << 3));
    } else {
      const bool vsib = form && (t.traits[form] & kVsib);
      if (!decode_mem(r, p, mod, rm, m64, vsib, out)) return r.err;
      if (vsib && out.asize == 2) ud = true;  // 2.3.12: VSIB needs 32/64-bit addressing
    }
  } else if (f.flags & F_PLUSR) {
    out.reg = out.rm = uint8_t((opcode & 7) | (p.B << 3));
  }
  if (ud) return finish_ud(r, out);
  if (!decode_imm(r, f, out)) return r.err;

  // Validity that depends on the whole form.
  if (p.lock && (!(f.flags & F_LOCKABLE) || !out.is_mem())) ud = true;  // 11.8 / LOCK: #UD
  if (p.vex && (f.flags & F_NOV) && p.vvvv) ud = true;              // 2.3.6: vvvv = 1111b
  if (t.traits[form] & (kSregSrc | kSregDst)) {
    out.reg = uint8_t(reg);
    if (reg > GS || ((t.traits[form] & kSregDst) && reg == CS)) ud = true;  // MOV: #UD
  }
  if (ud) return finish_ud(r, out);

  out.form = Form(form);
  out.len = uint8_t(r.pos);
  if (f.flags & F_CC16) out.cc = opcode & 15;
  if (p.vex) out.vvvv = p.vvvv;
  // 2.1.5 / 3.4.1.1: without REX, byte registers 4-7 are AH, CH, DH, BH.
  if (!p.rex && !p.vex) {
    const uint8_t bo = t.traits[form];
    if ((bo & kByteReg) && out.reg >= 4 && out.reg < 8) out.reg += 12;
    if ((bo & kByteRm) && !out.is_mem() && out.rm >= 4 && out.rm < 8) out.rm += 12;
  }
  uint16_t fl = out.flags;
  if (p.lock) fl |= IF_LOCK;
  if (p.rex) fl |= IF_REX;
  if (m64 && p.W) fl |= IF_REXW;
  if (p.vex) fl |= IF_VEX;
  if (p.vex && p.vex_l) fl |= IF_VEXL;
  if ((f.flags & F_REP) && p.rep == 0xF3) fl |= IF_REP;
  if ((f.flags & F_REP) && p.rep == 0xF2) fl |= IF_REPNE;
  if (p.seg != 0xFF) fl |= IF_SEGOVR;
  if (p.osz) fl |= IF_OSIZE;
  if (p.asz) fl |= IF_ASIZE;
  out.flags = fl;
  bind(out);
  return kDecodeOk;
}

}  // namespace isa
