// Predicates for capstone_known_errors.md: each one recognises one documented class
// of disagreement between isa::decode() and Capstone 4 and returns its entry id.
// A predicate is as narrow as the entry: it re-decodes the bytes with the offending
// prefix removed, or checks the form and Capstone's text, so a real decoder bug of
// a different shape still shows up as "unexplained".
#include <cstring>
#include <initializer_list>
#include <string>

#include "tests/decoder/capstone_diff.h"

namespace nestsim::test {
namespace {

using isa::CodeSize;

bool is_legacy_prefix(uint8_t b) {
  switch (b) {
    case 0x26: case 0x2E: case 0x36: case 0x3E: case 0x64: case 0x65:
    case 0x66: case 0x67: case 0xF0: case 0xF2: case 0xF3: return true;
    default: return false;
  }
}

bool is_rex(uint8_t b, CodeSize m) { return m == CodeSize::k64 && (b & 0xF0) == 0x40; }

// The prefix run and the opcode bytes after it, parsed independently of the decoder.
struct Parsed {
  unsigned npfx = 0;   // bytes of legacy prefixes and REX
  uint8_t rex = 0;     // REX immediately before the opcode
  bool has[256] = {};  // which prefix bytes occur
  const uint8_t* op;   // first opcode byte
};

Parsed parse(const uint8_t* b, CodeSize m) {
  Parsed p;
  while (p.npfx < kWindow && (is_legacy_prefix(b[p.npfx]) || is_rex(b[p.npfx], m))) {
    p.rex = is_rex(b[p.npfx], m) ? b[p.npfx] : 0;
    p.has[b[p.npfx]] = true;
    p.npfx++;
  }
  p.op = b + p.npfx;
  return p;
}

// Decodes the bytes with every prefix byte in `drop` removed from the prefix run.
struct Redecode {
  uint8_t bytes[kWindow];  // the shortened byte string
  bool valid;
  unsigned len;      // of the shortened instruction
  unsigned removed;  // prefix bytes removed
  isa::DecodedInst d;
};

Redecode without(const uint8_t* b, CodeSize m, std::initializer_list<int> drop, bool drop_rex = false) {
  Parsed p = parse(b, m);
  uint8_t buf[kWindow * 2] = {};
  unsigned n = 0, removed = 0;
  for (unsigned i = 0; i < kWindow; i++) {
    bool rm = false;
    if (i < p.npfx) {
      for (int x : drop) rm |= b[i] == x;
      rm |= drop_rex && is_rex(b[i], m);
    }
    if (rm) removed++;
    else buf[n++] = b[i];
  }
  Redecode r{};
  std::memcpy(r.bytes, buf, kWindow);
  r.removed = removed;
  r.valid = removed && isa::decode(buf, kWindow, m, r.d) == isa::kDecodeOk;
  r.len = r.valid ? r.d.len : 0;
  return r;
}

bool mnemonic_is(const DiffResult& r, std::initializer_list<const char*> names) {
  std::string m = r.cs_text.substr(0, r.cs_text.find(' '));
  for (const char* n : names)
    if (m == n) return true;
  return false;
}

// Whether Capstone names the same instruction as our form (the name's mnemonic part;
// one may extend the other: xsave/xsave64; compare predicates have pseudo-op names:
// cmpps/cmpltps; F_W forms are named for their 32-bit variant: pextrd/pextrq).
bool same_mnemonic(const isa::DecodedInst& d, const DiffResult& r) {
  std::string ours = d.info().name;
  ours.erase(ours.find('_') == std::string::npos ? ours.size() : ours.find('_'));
  const std::string& cs = r.cs_mnemonic;
  if (cs.rfind(ours, 0) == 0 || ours.rfind(cs, 0) == 0) return true;
  if ((d.info().flags & isa::F_W) && ours.back() == 'd' && cs == ours.substr(0, ours.size() - 1) + "q")
    return true;
  for (const char* family : {"cmp", "vcmp", "pclmul", "vpclmul"})
    if (ours.rfind(family, 0) == 0 && cs.rfind(family, 0) == 0) return true;
  return false;
}

bool form_is(const isa::DecodedInst& d, std::initializer_list<isa::Form> forms) {
  for (isa::Form f : forms)
    if (d.form == f) return true;
  return false;
}

// CS-1: Capstone ignores a 66/F2/F3 prefix that selects no form of an SSE/MMX/system
// opcode; the SDM reserves such encodings (NP forms, mandatory-prefix tables) and we
// raise #UD.
// A LOCK prefix that Capstone also accepted (CS-2) may come with it.
bool cs1_ignored_mandatory_prefix(const uint8_t* b, CodeSize m, const DiffResult& r) {
  if (r.ours_valid || !r.cs_valid) return false;
  for (auto drop : {std::initializer_list<int>{0xF2, 0xF3}, {0x66}, {0x66, 0xF2, 0xF3}, {0xF2}, {0xF3},
                    {0xF2, 0xF3, 0xF0}, {0x66, 0xF0}, {0x66, 0xF2, 0xF3, 0xF0}, {0xF2, 0xF0}, {0xF3, 0xF0}}) {
    Redecode x = without(b, m, drop);
    if (x.valid && x.len + x.removed == r.cs_len && x.d.info().prefix != isa::PX && same_mnemonic(x.d, r))
      return true;
  }
  return false;
}

// CS-2: Capstone accepts LOCK on any instruction; SDM Vol. 2A LOCK: #UD unless the
// instruction is one of the lockable forms with a memory destination.
bool cs3_branch_osize(const uint8_t* b, CodeSize m, const DiffResult& r);
bool cs11_67_as_66(const uint8_t* b, CodeSize m, const DiffResult& r);
bool cs13_66_before_rep(const uint8_t* b, CodeSize m, const DiffResult& r);

// The rest of the instruction may carry a length disagreement of its own (CS-3,
// CS-11, CS-13): the shortened bytes are classified against Capstone's length less
// the removed prefix.
bool cs2_lock_anywhere(const uint8_t* b, CodeSize m, const DiffResult& r) {
  if (r.ours_valid || !r.cs_valid || !parse(b, m).has[0xF0]) return false;
  Redecode x = without(b, m, {0xF0});
  if (!x.valid || ((x.d.info().flags & isa::F_LOCKABLE) && x.d.is_mem())) return false;
  if (x.len + x.removed == r.cs_len) return true;
  DiffResult y = r;
  y.ours_valid = true;
  y.ours_len = x.len;
  y.cs_len = r.cs_len - x.removed;
  return cs3_branch_osize(x.bytes, m, y) || cs11_67_as_66(x.bytes, m, y) || cs13_66_before_rep(x.bytes, m, y);
}

// CS-3: with 66, Capstone decodes near CALL/JMP/Jcc rel in 64-bit mode as rel16 (the
// AMD behaviour); on Intel 66 is ignored and the offset stays 32-bit (SDM Vol. 2A
// JMP/CALL/Jcc, "64-bit mode: operand size fixed at 64 bits").
bool cs3_branch_osize(const uint8_t* b, CodeSize m, const DiffResult& r) {
  isa::DecodedInst d;
  if (m != CodeSize::k64 || !r.ours_valid || !r.cs_valid) return false;
  isa::decode(b, kWindow, m, d);
  return d.info().imm == isa::IZ_JZ && (d.flags & isa::IF_OSIZE) && r.cs_len + 2 == r.ours_len;
}

// CS-4: Capstone accepts 66/F2/F3/F0/REX before a VEX prefix; SDM Vol. 2A 2.3.2: #UD.
bool cs4_prefix_before_vex(const uint8_t* b, CodeSize m, const DiffResult& r) {
  if (r.ours_valid || !r.cs_valid) return false;
  Parsed p = parse(b, m);
  if (*p.op != 0xC4 && *p.op != 0xC5) return false;
  Redecode x = without(b, m, {0x66, 0xF2, 0xF3, 0xF0}, true);
  return x.valid && (x.d.flags & isa::IF_VEX) && x.len + x.removed == r.cs_len && same_mnemonic(x.d, r);
}

// CS-5: Capstone 4 decodes UD0 (0F FF) and UD1 (0F B9) without a ModRM byte; the
// SDM (UD—Undefined Instruction) gives both a ModRM operand: 0F FF /r, 0F B9 /r.
// With LOCK both decoders' answers mean #UD; we call it invalid (CS-2).
bool cs5_ud0_ud1_modrm(const uint8_t* b, CodeSize m, const DiffResult& r) {
  isa::DecodedInst d;
  if (r.ours_valid) {
    isa::decode(b, kWindow, m, d);
    return form_is(d, {isa::Form::ud0_gv_ev, isa::Form::ud1_gv_ev}) && (!r.cs_valid || r.cs_len < r.ours_len);
  }
  Redecode x = without(b, m, {0xF0});
  return x.valid && form_is(x.d, {isa::Form::ud0_gv_ev, isa::Form::ud1_gv_ev});
}

// CS-6: Capstone rejects MOV to/from a segment register with REX.R; SDM Vol. 2A
// 2.2.1.2: REX.R is ignored when ModRM.reg names a segment register.
bool cs6_sreg_rex_r(const uint8_t* b, CodeSize m, const DiffResult& r) {
  isa::DecodedInst d;
  if (!r.ours_valid || r.cs_valid || isa::decode(b, kWindow, m, d) != isa::kDecodeOk) return false;
  return form_is(d, {isa::Form::mov_ev_sw, isa::Form::mov_sw_ew}) && (parse(b, m).rex & 4);
}

// CS-7: Capstone rejects parts of the hint-NOP space 0F 18-0F 1F (register forms of
// 0F 18, ModRM.reg values without a named hint, MPX encodings on a CPU without MPX);
// SDM Vol. 2 Table A-3 and NOP: these execute as NOPs ("Reserved-NOP").
bool cs7_hint_nop(const uint8_t* b, CodeSize m, const DiffResult& r) {
  isa::DecodedInst d;
  if (!r.ours_valid || isa::decode(b, kWindow, m, d) != isa::kDecodeOk) return false;
  const isa::FormInfo& f = d.info();
  return f.map == isa::M0F && f.opcode >= 0x18 && f.opcode <= 0x1F && f.iclass == isa::C_NOP &&
         (!r.cs_valid || mnemonic_is(r, {"bndcl", "bndcu", "bndcn", "bndmov", "bndmk", "bndldx", "bndstx"}));
}

// CS-8: Capstone accepts MOV CS, r/m16 (8E /1); SDM Vol. 2B MOV: "#UD if an attempt is
// made to load the CS register".
bool cs8_mov_to_cs(const uint8_t* b, CodeSize m, const DiffResult& r) {
  return !r.ours_valid && r.cs_valid && r.cs_text.rfind("mov cs,", 0) == 0;
}

// CS-9: Capstone rejects LFENCE/MFENCE/SFENCE whose ModRM.rm is not 000b; SDM Vol. 2
// LFENCE/MFENCE/SFENCE: "the processor ignores the r/m field of the ModR/M byte".
bool cs9_fence_rm(const uint8_t* b, CodeSize m, const DiffResult& r) {
  isa::DecodedInst d;
  if (!r.ours_valid || r.cs_valid || isa::decode(b, kWindow, m, d) != isa::kDecodeOk) return false;
  return form_is(d, {isa::Form::lfence, isa::Form::mfence, isa::Form::sfence}) && (d.rm & 7) != 0;
}

// CS-10: Capstone rejects a form whose mandatory prefix (66, F2 or F3) is followed by
// another legacy prefix or an ignored REX (66 26 0F D0 /r, F3 65 0F B8 /r, F2 44 46 0F
// 7C /r), but accepts the same prefixes in the other order; SDM Vol. 2A 2.1.1: prefix
// groups come in any order; 2.2.1: a REX not immediately before the opcode is ignored.
bool cs10_mandatory_not_last(const uint8_t* b, CodeSize m, const DiffResult& r) {
  isa::DecodedInst d;
  if (!r.ours_valid || r.cs_valid || isa::decode(b, kWindow, m, d) != isa::kDecodeOk) return false;
  uint8_t mand;
  switch (d.info().prefix) {
    case isa::P66: mand = 0x66; break;
    case isa::PF2: mand = 0xF2; break;
    case isa::PF3: mand = 0xF3; break;
    default: return false;
  }
  Parsed p = parse(b, m);
  bool seen = false;
  for (unsigned i = 0; i < p.npfx; i++) {
    if (b[i] == mand) seen = true;
    else if (seen && (is_legacy_prefix(b[i]) || i + 1 < p.npfx)) return true;  // not the final REX
  }
  return false;
}

// CS-11: with REX present, Capstone takes a 67 prefix for an operand-size 66: as the
// mandatory prefix of an SSE form (67 4D 0F 38 17 = PTEST), or to shorten a near
// branch to rel16 (67 4E E8); SDM Vol. 2A 2.1.1: 67 only changes the address size.
bool cs11_67_as_66(const uint8_t* b, CodeSize m, const DiffResult& r) {
  Parsed p = parse(b, m);
  if (!r.cs_valid || !p.has[0x67] || !p.rex) return false;
  isa::DecodedInst d;
  if (r.ours_valid) {
    isa::decode(b, kWindow, m, d);
    return (d.info().imm == isa::IZ_JZ && r.cs_len + 2 == r.ours_len) ||
           mnemonic_is(r, {"extrq", "insertq"});
  }
  uint8_t buf[kWindow];
  unsigned n = 0;
  for (unsigned i = 0; i < kWindow; i++) {
    // 66 would lose to F2/F3; a LOCK Capstone also accepted is CS-2.
    if (i < p.npfx && (b[i] == 0xF2 || b[i] == 0xF3 || b[i] == 0xF0)) continue;
    buf[n++] = i < p.npfx && b[i] == 0x67 ? 0x66 : b[i];
  }
  while (n < kWindow) buf[n++] = 0;
  return isa::decode(buf, kWindow, m, d) == isa::kDecodeOk && d.info().prefix == isa::P66;
}

// CS-12: with 67 and REX.W, Capstone reads a 4-byte immediate for RET/RETF imm16;
// SDM Vol. 2B RET: the immediate is always 16 bits.
bool cs12_ret_imm(const uint8_t* b, CodeSize m, const DiffResult& r) {
  isa::DecodedInst d;
  if (!r.ours_valid || !r.cs_valid || isa::decode(b, kWindow, m, d) != isa::kDecodeOk) return false;
  return form_is(d, {isa::Form::ret_iw, isa::Form::retf_iw}) && r.cs_len == r.ours_len + 2;
}

// CS-13: when 66 comes before F2/F3 on a one-byte-map form, Capstone drops the 66
// (66 F2 68 = PUSH imm32) or rejects the instruction (66 F3 A1 moffs); SDM Vol. 2A
// 2.1.1: F2/F3 on a non-string instruction are ignored and the 66 still applies.
bool cs13_66_before_rep(const uint8_t* b, CodeSize m, const DiffResult& r) {
  isa::DecodedInst d;
  if (!r.ours_valid || isa::decode(b, kWindow, m, d) != isa::kDecodeOk) return false;
  if (d.info().map != isa::ONE || (r.cs_valid && r.cs_len == r.ours_len)) return false;
  Parsed p = parse(b, m);
  bool seen66 = false;
  for (unsigned i = 0; i < p.npfx; i++) {
    if (b[i] == 0x66) seen66 = true;
    if (seen66 && (b[i] == 0xF2 || b[i] == 0xF3)) return true;
  }
  return false;
}

// CS-14: Capstone ignores VEX.W on forms defined for one W value only (VMASKMOVPD is
// VEX.66.0F38.W0 2D); SDM Vol. 2A 2.3 / the forms' exception tables: #UD otherwise.
bool cs14_vex_w(const uint8_t* b, CodeSize m, const DiffResult& r) {
  if (r.ours_valid || !r.cs_valid) return false;
  Parsed p = parse(b, m);
  if (p.op[0] != 0xC4) return false;
  uint8_t buf[kWindow];
  std::memcpy(buf, b, kWindow);
  buf[p.npfx + 2] ^= 0x80;
  // Capstone also accepts legacy prefixes before VEX (CS-4): drop them too.
  Redecode x{};
  isa::DecodedInst d;
  if (isa::decode(buf, kWindow, m, d) == isa::kDecodeOk)
    return (d.info().flags & (isa::F_W0 | isa::F_W1)) && d.len == r.cs_len;
  x = without(buf, m, {0x66, 0xF2, 0xF3, 0xF0}, true);
  return x.valid && (x.d.info().flags & (isa::F_W0 | isa::F_W1)) && x.len + x.removed == r.cs_len;
}

// CS-15: Capstone accepts AVX2 gathers without a SIB byte; SDM Vol. 2 VGATHER*/VPGATHER*:
// #UD if ModRM.rm is not 100b (a VSIB byte is required).
bool cs15_gather_no_sib(const uint8_t*, CodeSize, const DiffResult& r) {
  return !r.ours_valid && r.cs_valid && r.cs_text.find("gather") != std::string::npos &&
         r.cs_text.find("gather") < 4;
}

// CS-16: Capstone accepts SYSCALL/SYSRET (the AMD behaviour) and SWAPGS outside 64-bit
// mode; SDM Vol. 2B SYSCALL/SYSRET/SWAPGS: #UD in legacy and compatibility mode on Intel.
bool cs16_syscall_legacy(const uint8_t*, CodeSize m, const DiffResult& r) {
  return m != CodeSize::k64 && !r.ours_valid && r.cs_valid && mnemonic_is(r, {"syscall", "sysret", "swapgs"});
}

// CS-17: in 16-bit mode Capstone rejects most forms newer than SSE2 that need a
// mandatory prefix or the 0F38/0F3A maps (SSE3..SSE4.2, AES, POPCNT, CRC32, ADX);
// the SDM gives them the same validity in real-address and 16-bit protected mode as
// in 32-bit mode (see each form's "Real-Address Mode Exceptions").
bool cs17_16bit_newer_forms(const uint8_t* b, CodeSize m, const DiffResult& r) {
  isa::DecodedInst d;
  if (m != CodeSize::k16 || !r.ours_valid || r.cs_valid) return false;
  if (isa::decode(b, kWindow, m, d) != isa::kDecodeOk) return false;
  const isa::FormInfo& f = d.info();
  return f.prefix == isa::P66 || f.prefix == isa::PF2 || f.prefix == isa::PF3 || f.map == isa::M0F38 ||
         f.map == isa::M0F3A;
}

// CS-18: Capstone 4 does not know VBROADCASTI128 (VEX.256.66.0F38.W0 5A /r, AVX2; SDM
// Vol. 2A VPBROADCAST).
bool cs18_vbroadcasti128(const uint8_t* b, CodeSize m, const DiffResult& r) {
  isa::DecodedInst d;
  return r.ours_valid && !r.cs_valid && isa::decode(b, kWindow, m, d) == isa::kDecodeOk &&
         d.form == isa::Form::vbroadcasti128_v_m;
}

// CS-19: Capstone decodes PCOMMIT (66 0F AE F8), which Intel withdrew before any
// processor implemented it (removed from the SDM in 2016); it is #UD.
bool cs19_pcommit(const uint8_t*, CodeSize, const DiffResult& r) {
  return !r.ours_valid && r.cs_valid && mnemonic_is(r, {"pcommit"});
}

// CS-20: Capstone 4 does not know RDPKRU/WRPKRU (NP 0F 01 EE / EF; SDM Vol. 2B,
// PKU, CPUID.(EAX=07H,ECX=0):ECX[3]).
bool cs20_pkru(const uint8_t* b, CodeSize m, const DiffResult& r) {
  isa::DecodedInst d;
  return r.ours_valid && !r.cs_valid && isa::decode(b, kWindow, m, d) == isa::kDecodeOk &&
         (d.form == isa::Form::rdpkru || d.form == isa::Form::wrpkru);
}

// LACK-1: AMD 3DNow! (0F 0F ib, 0F 0E FEMMS): not on Intel CPUs (#UD).
bool lack1_3dnow(const uint8_t* b, CodeSize m, const DiffResult& r) {
  Parsed p = parse(b, m);
  return !r.ours_valid && r.cs_valid && p.op[0] == 0x0F && (p.op[1] == 0x0F || p.op[1] == 0x0E);
}

// LACK-2: AMD SSE4a (EXTRQ, INSERTQ, MOVNTSS, MOVNTSD).
bool lack2_sse4a(const uint8_t*, CodeSize, const DiffResult& r) {
  return !r.ours_valid && r.cs_valid && mnemonic_is(r, {"extrq", "insertq", "movntss", "movntsd"});
}

// LACK-3: AMD SVM and other AMD-only 0F 01 system instructions.
bool lack3_amd_system(const uint8_t*, CodeSize, const DiffResult& r) {
  return !r.ours_valid && r.cs_valid &&
         mnemonic_is(r, {"vmrun", "vmmcall", "vmload", "vmsave", "stgi", "clgi", "skinit", "invlpga",
                         "monitorx", "mwaitx", "clzero", "rdpru"});
}

// LACK-4: AMD XOP and FMA4 in the VEX space (VPERMIL2PS/PD 0F3A 48/49, FMA4 0F3A 5C-7F).
bool lack4_amd_vex(const uint8_t* b, CodeSize m, const DiffResult& r) {
  if (r.ours_valid || !r.cs_valid) return false;
  Parsed p = parse(b, m);
  const bool vex3_0f3a = p.op[0] == 0xC4 && (p.op[1] & 0x1F) == 3;
  return mnemonic_is(r, {"vpermil2ps", "vpermil2pd"}) ||
         (vex3_0f3a && p.op[3] >= 0x5C && p.op[3] <= 0x7F && r.cs_text.rfind("vf", 0) == 0);
}

// LACK-5: AVX-512 opmask instructions (VEX-encoded K* forms) and EVEX.
bool lack5_avx512(const uint8_t* b, CodeSize m, const DiffResult& r) {
  if (r.ours_valid || !r.cs_valid) return false;
  Parsed p = parse(b, m);
  return (r.cs_text[0] == 'k' && (p.op[0] == 0xC4 || p.op[0] == 0xC5)) || p.op[0] == 0x62;
}

// LACK-6: VIA PadLock (0F A6/A7: XSTORE, XCRYPT*, XSHA*, MONTMUL).
bool lack6_padlock(const uint8_t* b, CodeSize m, const DiffResult& r) {
  Parsed p = parse(b, m);
  return !r.ours_valid && r.cs_valid && p.op[0] == 0x0F && (p.op[1] == 0xA6 || p.op[1] == 0xA7);
}

// LACK-7: Intel extensions the modelled CPU does not implement: SGX (ENCLS, ENCLU,
// ENCLV) and TSX (XBEGIN, XABORT, XEND, XTEST).
bool lack7_sgx_tsx(const uint8_t*, CodeSize, const DiffResult& r) {
  return !r.ours_valid && r.cs_valid &&
         mnemonic_is(r, {"encls", "enclu", "enclv", "xbegin", "xabort", "xend", "xtest"});
}

// LACK-8: AMD XOP (8F escape with map select >= 8: VFRCZ*, VPCMOV, TBM ...).
bool lack8_xop(const uint8_t* b, CodeSize m, const DiffResult& r) {
  Parsed p = parse(b, m);
  return !r.ours_valid && r.cs_valid && p.op[0] == 0x8F && r.cs_text[0] != 'p';
}

struct Entry {
  const char* id;
  const char* what;
  bool (*match)(const uint8_t*, CodeSize, const DiffResult&);
};

// Checked in order; the first match names the disagreement (CS-4 before CS-1: a VEX
// instruction behind F2/F3 is a prefix-before-VEX case first).
const Entry kEntries[] = {
    {"CS-4", "legacy/REX prefix before VEX accepted", cs4_prefix_before_vex},
    {"CS-1", "66/F2/F3 selecting no form ignored by Capstone", cs1_ignored_mandatory_prefix},
    {"CS-2", "LOCK accepted on a non-lockable form", cs2_lock_anywhere},
    {"CS-3", "66 on a near branch in 64-bit mode (AMD rel16)", cs3_branch_osize},
    {"CS-5", "UD0/UD1 decoded without ModRM", cs5_ud0_ud1_modrm},
    {"CS-6", "MOV Sreg with REX.R rejected", cs6_sreg_rex_r},
    {"CS-7", "hint-NOP space 0F 18-1F rejected", cs7_hint_nop},
    {"CS-8", "MOV CS accepted", cs8_mov_to_cs},
    {"CS-9", "fence with ModRM.rm != 0 rejected", cs9_fence_rm},
    {"CS-10", "mandatory prefix followed by another prefix rejected", cs10_mandatory_not_last},
    {"CS-11", "67 with REX taken as 66", cs11_67_as_66},
    {"CS-12", "RET imm16 read as imm32", cs12_ret_imm},
    {"CS-13", "66 before F2/F3 dropped or rejected", cs13_66_before_rep},
    {"CS-14", "VEX.W ignored on W0/W1 forms", cs14_vex_w},
    {"CS-15", "gather without SIB accepted", cs15_gather_no_sib},
    {"CS-16", "SYSCALL/SYSRET outside 64-bit mode accepted", cs16_syscall_legacy},
    {"CS-17", "SSE3+ forms rejected in 16-bit mode", cs17_16bit_newer_forms},
    {"CS-18", "VBROADCASTI128 unknown", cs18_vbroadcasti128},
    {"CS-19", "withdrawn PCOMMIT decoded", cs19_pcommit},
    {"CS-20", "RDPKRU/WRPKRU unknown", cs20_pkru},
    {"LACK-1", "AMD 3DNow!", lack1_3dnow},
    {"LACK-2", "AMD SSE4a", lack2_sse4a},
    {"LACK-3", "AMD system instructions", lack3_amd_system},
    {"LACK-4", "AMD XOP/FMA4 in VEX space", lack4_amd_vex},
    {"LACK-5", "AVX-512 (opmask, EVEX)", lack5_avx512},
    {"LACK-6", "VIA PadLock", lack6_padlock},
    {"LACK-7", "SGX and TSX", lack7_sgx_tsx},
    {"LACK-8", "AMD XOP", lack8_xop},
};

}  // namespace

Excuse classify(const uint8_t* bytes, CodeSize mode, const DiffResult& r) {
  for (const Entry& e : kEntries)
    if (e.match(bytes, mode, r)) return {e.id, e.what};
  return {nullptr, "unexplained"};
}

}  // namespace nestsim::test
