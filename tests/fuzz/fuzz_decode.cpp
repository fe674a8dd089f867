// libFuzzer target for isa::decode(): arbitrary bytes in 16-, 32- and 64-bit mode.
// Checks the decoder's contract (decoded_inst.h) rather than any particular answer:
//   - the status is one of the four, and Ok/Ud come with 1 <= len <= min(15, avail);
//     "need more" only when the window is shorter than 15 bytes (an instruction that
//     would pass 15 bytes is "too long" even when the window ends earlier);
//   - every field of an Ok instruction is in range and consistent with its form;
//   - decoding is a function of the instruction's own bytes: the same bytes with the
//     window cut to `len` decode identically, and a window one byte short needs more.
// Run instructions: docs/FUZZING.md.
#include <cstdint>
#include <cstdlib>

#include "isa/decoded_inst.h"

namespace {

#define REQUIRE(cond)                                                   \
  do {                                                                  \
    if (!(cond)) {                                                      \
      __builtin_printf("fuzz_decode: %s failed (line %d)\n", #cond, __LINE__); \
      std::abort();                                                     \
    }                                                                   \
  } while (0)

bool is_gpr_or_byte(uint8_t r) { return r < 20 || r == isa::kRegNone; }

void check_fields(const isa::DecodedInst& d, isa::CodeSize mode) {
  const isa::FormInfo& f = d.info();
  const bool m64 = mode == isa::CodeSize::k64;
  REQUIRE(d.form != isa::Form::invalid && unsigned(d.form) < isa::kFormCount);
  REQUIRE(d.fn != nullptr);
  REQUIRE(d.osize == 1 || d.osize == 2 || d.osize == 4 || d.osize == 8 || d.osize == 16 || d.osize == 32);
  REQUIRE(d.asize == (m64 ? 8 : 4) || d.asize == (m64 ? 4 : 2));
  REQUIRE(is_gpr_or_byte(d.reg) && is_gpr_or_byte(d.rm));
  REQUIRE(d.seg <= isa::GS);
  REQUIRE(d.vvvv < (m64 ? 16 : 8));
  REQUIRE(d.cc < 16);
  if (d.is_mem()) {
    REQUIRE(f.modrm == isa::ANY || f.modrm == isa::MEM);
    REQUIRE(d.base < 16 || d.base == isa::kRegZero || d.base == isa::kRegRip);
    REQUIRE(d.index < 16 || d.index == isa::kRegZero);
    REQUIRE(d.scale <= 3);
    REQUIRE(d.base != isa::kRegRip || m64);
    if (d.asize == 2) REQUIRE(d.disp >= -32768 && d.disp <= 65535);
  } else {
    REQUIRE(f.modrm != isa::MEM);
  }
  REQUIRE(!(f.flags & isa::F_O64) || m64);
  REQUIRE(!(f.flags & isa::F_I64) || !m64);
  REQUIRE(!(d.flags & isa::IF_LOCK) || ((f.flags & isa::F_LOCKABLE) && d.is_mem()));
  REQUIRE(bool(d.flags & isa::IF_VEX) == bool(f.flags & isa::F_VEX));
  REQUIRE(!(d.flags & isa::IF_REXW) || m64);
  if (f.osize == isa::OB) REQUIRE(d.osize == 1);
  if (f.osize == isa::OX) REQUIRE(d.osize == ((d.flags & isa::IF_VEXL) ? 32 : 16));
  if (f.flags & isa::F_L0) REQUIRE(!(d.flags & isa::IF_VEXL));
  if (f.flags & isa::F_L1) REQUIRE(d.flags & isa::IF_VEXL);
}

bool same(const isa::DecodedInst& a, const isa::DecodedInst& b) {
  return a.fn == b.fn && a.imm == b.imm && a.disp == b.disp && a.form == b.form && a.len == b.len &&
         a.osize == b.osize && a.asize == b.asize && a.reg == b.reg && a.rm == b.rm && a.base == b.base &&
         a.index == b.index && a.scale == b.scale && a.seg == b.seg && a.vvvv == b.vvvv && a.cc == b.cc &&
         a.flags == b.flags;
}

void check_mode(const uint8_t* data, size_t size, isa::CodeSize mode) {
  const unsigned avail = unsigned(size < 64 ? size : 64);
  isa::DecodedInst d;
  isa::DecodeStatus st = isa::decode(data, avail, mode, d);
  REQUIRE(st <= isa::kDecodeNeedMore);
  if (st == isa::kDecodeNeedMore) REQUIRE(avail < 15);
  if (st != isa::kDecodeOk && st != isa::kDecodeUd) return;
  REQUIRE(d.len >= 1 && d.len <= 15 && d.len <= avail);
  if (st == isa::kDecodeUd) {
    REQUIRE(d.form == isa::Form::invalid);
    return;
  }
  check_fields(d, mode);
  // The same instruction seen through a window that ends with it.
  isa::DecodedInst e;
  REQUIRE(isa::decode(data, d.len, mode, e) == isa::kDecodeOk);
  REQUIRE(same(d, e));
  REQUIRE(isa::decode(data, d.len - 1u, mode, e) == isa::kDecodeNeedMore);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  check_mode(data, size, isa::CodeSize::k16);
  check_mode(data, size, isa::CodeSize::k32);
  check_mode(data, size, isa::CodeSize::k64);
  return 0;
}
