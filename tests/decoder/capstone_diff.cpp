#include "tests/decoder/capstone_diff.h"

#include <capstone/capstone.h>

#include <cstdio>
#include <stdexcept>

namespace nestsim::test {

CapstoneDiff::CapstoneDiff() {
  static constexpr cs_mode kModes[3] = {CS_MODE_16, CS_MODE_32, CS_MODE_64};
  for (unsigned i = 0; i < 3; i++) {
    csh h;
    if (cs_open(CS_ARCH_X86, kModes[i], &h) != CS_ERR_OK) throw std::runtime_error("cs_open failed");
    handle_[i] = h;
  }
}

CapstoneDiff::~CapstoneDiff() {
  for (size_t& h : handle_) {
    csh c = h;
    cs_close(&c);
  }
}

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

void InstGenerator::next(uint8_t* out, isa::CodeSize mode) {
  static constexpr uint8_t kPrefixes[] = {0x66, 0x66, 0xF2, 0xF3, 0xF3, 0xF2, 0x67, 0xF0,
                                          0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65};
  for (unsigned i = 0; i < kWindow; i++) out[i] = uint8_t(rng_());
  unsigned pos = 0;
  // 0-3 legacy prefixes, most often none or one.
  static constexpr unsigned kPrefixCount[8] = {0, 0, 0, 1, 1, 1, 2, 3};
  for (unsigned n = kPrefixCount[pick(8)]; n; n--) out[pos++] = kPrefixes[pick(sizeof kPrefixes)];
  const bool m64 = mode == isa::CodeSize::k64;
  if (m64 && pick(10) < 3) out[pos++] = uint8_t(0x40 | pick(16));
  unsigned kind = pick(100);
  if (kind < 35) {
    // one-byte map: leave the random opcode
    pos++;
  } else if (kind < 60) {
    out[pos++] = 0x0F;
    pos++;
  } else if (kind < 70) {
    out[pos++] = 0x0F;
    out[pos++] = 0x38;
    pos++;
  } else if (kind < 78) {
    out[pos++] = 0x0F;
    out[pos++] = 0x3A;
    pos++;
  } else if (kind < 88) {
    // VEX3: R X B mmmmm | W vvvv L pp. Outside 64-bit mode R and X must be set
    // (else LES/LDS); keep mmmmm mostly valid.
    out[pos++] = 0xC4;
    uint8_t b1 = uint8_t(rng_());
    if (pick(8)) b1 = uint8_t((b1 & 0xE0) | (1 + pick(3)));
    if (!m64 && pick(8)) b1 |= 0xC0;
    out[pos++] = b1;
    uint8_t b2 = uint8_t(rng_());
    if (pick(2)) b2 |= 0x78;  // vvvv = 1111b half the time
    out[pos++] = b2;
    pos++;
  } else {
    out[pos++] = 0xC5;
    uint8_t b1 = uint8_t(rng_());
    if (pick(2)) b1 |= 0x78;
    if (!m64 && pick(8)) b1 |= 0xC0;
    out[pos++] = b1;
    pos++;
  }
  // ModRM: favour memory forms with SIB and displacements.
  if (pos < kWindow && pick(4) == 0) out[pos] = uint8_t((out[pos] & 0xF8) | 4);
}

}  // namespace nestsim::test
