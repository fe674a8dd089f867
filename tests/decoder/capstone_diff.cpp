#include "tests/decoder/capstone_diff.h"

#include <capstone/capstone.h>

#include <cstdio>
#include <string>
#include <stdexcept>
#include <vector>

namespace nestsim::test {

CapstoneDiff::CapstoneDiff() {
  static constexpr cs_mode kModes[3] = {CS_MODE_16, CS_MODE_32, CS_MODE_64};
  for (unsigned i = 0; i < 3; i++) {
    csh h;
    if (cs_open(CS_ARCH_X86, kModes[i], &h) != CS_ERR_OK) throw std::runtime_error("cs_open failed");
    cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
    handle_[i] = h;
  }
}

CapstoneDiff::~CapstoneDiff() {
  for (size_t& h : handle_) {
    csh c = h;
    cs_close(&c);
  }
}

namespace {

// Our register number for a Capstone register used in an address: GPRs of any width
// (0-15), RIP/EIP (kRegRip), vector registers of a VSIB index (0-15); riz/eiz and
// "none" are kRegZero.
unsigned reg_number(csh h, unsigned reg) {
  static const char* const kNames[16][4] = {
      {"rax", "eax", "ax", ""}, {"rcx", "ecx", "cx", ""}, {"rdx", "edx", "dx", ""},
      {"rbx", "ebx", "bx", ""}, {"rsp", "esp", "sp", ""}, {"rbp", "ebp", "bp", ""},
      {"rsi", "esi", "si", ""}, {"rdi", "edi", "di", ""}, {"r8", "r8d", "r8w", ""},
      {"r9", "r9d", "r9w", ""}, {"r10", "r10d", "r10w", ""}, {"r11", "r11d", "r11w", ""},
      {"r12", "r12d", "r12w", ""}, {"r13", "r13d", "r13w", ""}, {"r14", "r14d", "r14w", ""},
      {"r15", "r15d", "r15w", ""}};
  if (reg == X86_REG_INVALID) return isa::kRegZero;
  const char* n = cs_reg_name(h, reg);
  if (!n) return 0xFFFF;
  std::string s(n);
  if (s == "riz" || s == "eiz") return isa::kRegZero;
  if (s == "rip" || s == "eip") return isa::kRegRip;
  if ((s.rfind("xmm", 0) == 0 || s.rfind("ymm", 0) == 0) && s.size() > 3) return unsigned(std::stoi(s.substr(3)));
  for (unsigned i = 0; i < 16; i++)
    for (const char* name : kNames[i])
      if (*name && s == name) return i;
  return 0xFFFF;
}

// Compares our memory operand with Capstone's; displacements modulo the address size.
std::string compare_mem(csh h, const cs_insn* insn, const isa::DecodedInst& d) {
  const cs_x86& x = insn->detail->x86;
  const cs_x86_op* mem = nullptr;
  for (unsigned i = 0; i < x.op_count && !mem; i++)
    if (x.operands[i].type == X86_OP_MEM) mem = &x.operands[i];
  if (!mem) return "capstone has no memory operand";
  std::string why;
  unsigned base = reg_number(h, mem->mem.base), index = reg_number(h, mem->mem.index);
  if (base != d.base) why += " base";
  if (index != d.index) why += " index";
  if (index != isa::kRegZero && mem->mem.scale != (1 << d.scale)) why += " scale";
  const uint64_t mask = d.asize == 8 ? ~0ull : (1ull << (8 * d.asize)) - 1;
  if ((uint64_t(mem->mem.disp) & mask) != (uint64_t(int64_t(d.disp)) & mask)) why += " disp";
  return why;
}

// Compares our immediate (or branch offset) with Capstone's last immediate operand,
// over the bytes the immediate has in the encoding. Branch targets (Capstone reports
// next-instruction address + offset, with address 0) are compared over 16 bits only:
// Capstone 4 truncates them to 16 bits whenever a 16-bit operand or address size is
// in play, even where the SDM keeps the 32-bit EIP (66 E9 in 16-bit mode, 67 E9).
std::string compare_imm(const cs_insn* insn, const isa::DecodedInst& d) {
  const isa::FormInfo& f = d.info();
  unsigned bytes;
  switch (f.imm) {
    case isa::IB: bytes = 1; break;
    case isa::IW: bytes = 2; break;
    case isa::IZ: bytes = d.osize == 2 ? 2 : 4; break;
    case isa::IV: bytes = d.osize; break;
    case isa::IB_JB: case isa::IZ_JZ: bytes = 2; break;
    default: return "";  // I0, IWB, AP, OV: two immediates or an address
  }
  const cs_x86& x = insn->detail->x86;
  const cs_x86_op* imm = nullptr;
  for (unsigned i = 0; i < x.op_count; i++)
    if (x.operands[i].type == X86_OP_IMM) imm = &x.operands[i];
  if (!imm) return "";  // e.g. VEX is4 operands, shown as a register
  uint64_t ours = d.imm, theirs = uint64_t(imm->imm);
  if (f.imm == isa::IB_JB || f.imm == isa::IZ_JZ) ours += d.len;
  const uint64_t mask = bytes >= 8 ? ~0ull : (1ull << (8 * bytes)) - 1;
  return (ours & mask) == (theirs & mask) ? "" : " imm";
}

}  // namespace

DiffResult CapstoneDiff::compare(const uint8_t* bytes, isa::CodeSize mode) {
  DiffResult r{};
  isa::DecodedInst d;
  r.status = isa::decode(bytes, kWindow, mode, d);
  r.ours_valid = r.status == isa::kDecodeOk;
  r.ours_len = r.ours_valid ? d.len : 0;
  cs_insn* insn = nullptr;
  size_t n = cs_disasm(handle_[unsigned(mode)], bytes, kWindow, 0, 1, &insn);
  r.cs_valid = n == 1;
  if (n) {
    r.cs_len = insn->size;
    r.cs_text = std::string(insn->mnemonic) + " " + insn->op_str;
    r.cs_mnemonic = insn->mnemonic;
    r.cs_mnemonic.erase(0, r.cs_mnemonic.find_last_of(' ') + 1);
    if (r.ours_valid && r.cs_len == r.ours_len) {
      if (d.is_mem()) r.mem_mismatch = compare_mem(handle_[unsigned(mode)], insn, d);
      r.mem_mismatch += compare_imm(insn, d);
    }
    cs_free(insn, n);
  }
  return r;
}

std::string hex(const uint8_t* bytes, unsigned n) {
  std::string s;
  char b[4];
  for (unsigned i = 0; i < n; i++) {
    std::snprintf(b, sizeof b, i ? " %02x" : "%02x", bytes[i]);
    s += b;
  }
  return s;
}

namespace {

// Opcodes that have at least one form, per encoding and map, with the mandatory prefix
// of one such form: the generator draws most 0F38/0F3A/VEX opcodes from these so that
// the sparse maps are exercised by real instructions, not mostly by holes.
struct OpcodeSets {
  struct Op { uint8_t opcode; isa::PrefixClass prefix; };
  std::vector<Op> ops[2][4];  // [vex][map]
  OpcodeSets() {
    for (unsigned i = 1; i < isa::kFormCount; i++) {
      const isa::FormInfo& f = isa::kForms[i];
      ops[(f.flags & isa::F_VEX) ? 1 : 0][f.map].push_back({f.opcode, f.prefix});
    }
  }
};

const OpcodeSets& opcode_sets() {
  static const OpcodeSets s;
  return s;
}

}  // namespace

void InstGenerator::next(uint8_t* out, isa::CodeSize mode) {
  static constexpr uint8_t kPrefixes[] = {0x66, 0x66, 0xF2, 0xF3, 0xF3, 0xF2, 0x67, 0xF0,
                                          0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65};
  static constexpr uint8_t kMandatory[5] = {0, 0, 0x66, 0xF3, 0xF2};  // by PrefixClass
  static constexpr uint8_t kPp[5] = {0, 0, 1, 2, 3};                   // VEX.pp by PrefixClass
  const OpcodeSets& sets = opcode_sets();
  for (unsigned i = 0; i < kWindow; i++) out[i] = uint8_t(rng_());
  unsigned pos = 0;
  // 0-3 legacy prefixes, most often none or one.
  static constexpr unsigned kPrefixCount[8] = {0, 0, 0, 1, 1, 1, 2, 3};
  for (unsigned n = kPrefixCount[pick(8)]; n; n--) out[pos++] = kPrefixes[pick(sizeof kPrefixes)];
  const bool m64 = mode == isa::CodeSize::k64;
  unsigned kind = pick(100);
  // Legacy escapes: 0F38/0F3A opcodes mostly from the table, with their prefix.
  auto legacy_map = [&](unsigned map) {
    const auto& v = sets.ops[0][map];
    if (pick(4) && !v.empty()) {
      auto op = v[pick(unsigned(v.size()))];
      if (kMandatory[op.prefix] && pick(4)) out[pos++] = kMandatory[op.prefix];
      if (m64 && pick(10) < 3) out[pos++] = uint8_t(0x40 | pick(16));
      out[pos++] = 0x0F;
      if (map != isa::M0F) out[pos++] = map == isa::M0F38 ? 0x38 : 0x3A;
      out[pos++] = op.opcode;
    } else {
      if (m64 && pick(10) < 3) out[pos++] = uint8_t(0x40 | pick(16));
      out[pos++] = 0x0F;
      if (map != isa::M0F) out[pos++] = map == isa::M0F38 ? 0x38 : 0x3A;
      pos++;
    }
  };
  if (kind < 30) {
    if (m64 && pick(10) < 3) out[pos++] = uint8_t(0x40 | pick(16));
    pos++;  // one-byte map: the random opcode
  } else if (kind < 52) {
    legacy_map(isa::M0F);
  } else if (kind < 62) {
    legacy_map(isa::M0F38);
  } else if (kind < 70) {
    legacy_map(isa::M0F3A);
  } else {
    // VEX: C4 (R X B mmmmm | W vvvv L pp) or C5 (R vvvv L pp). Outside 64-bit mode the
    // top two bits of the first payload byte must be 11b, else this is LES/LDS.
    if (pick(4)) {  // 66/F2/F3/F0/REX before VEX are #UD: keep only segment/67 prefixes mostly
      unsigned kept = 0;
      for (unsigned i = 0; i < pos; i++)
        if (out[i] != 0x66 && out[i] != 0xF2 && out[i] != 0xF3 && out[i] != 0xF0) out[kept++] = out[i];
      pos = kept;
    }
    if (m64 && pick(20) == 0) out[pos++] = uint8_t(0x40 | pick(16));  // REX before VEX: #UD
    unsigned map = 1 + pick(3);
    const auto& v = sets.ops[1][map];
    bool from_table = pick(5) && !v.empty();
    OpcodeSets::Op op = from_table ? v[pick(unsigned(v.size()))] : OpcodeSets::Op{uint8_t(rng_()), isa::NP};
    uint8_t pp = from_table && pick(5) ? kPp[op.prefix] : uint8_t(pick(4));
    uint8_t wvl = uint8_t(rng_()) & 0x84;  // W and L
    uint8_t vvvv = pick(2) ? 0x78 : uint8_t(rng_() & 0x78);
    if (map == isa::M0F && pick(2)) {
      out[pos++] = 0xC5;
      uint8_t b1 = uint8_t((rng_() & 0x80) | vvvv | (wvl & 4) | pp);
      if (!m64 && pick(8)) b1 |= 0xC0;
      out[pos++] = b1;
    } else {
      out[pos++] = 0xC4;
      uint8_t b1 = uint8_t((rng_() & 0xE0) | (pick(16) ? map : pick(32)));
      if (!m64 && pick(8)) b1 |= 0xC0;
      out[pos++] = b1;
      out[pos++] = uint8_t(wvl | vvvv | pp);
    }
    out[pos++] = op.opcode;
  }
  // ModRM: favour memory forms with SIB and displacements.
  if (pos < kWindow && pick(4) == 0) out[pos] = uint8_t((out[pos] & 0xF8) | 4);
}

}  // namespace nestsim::test
