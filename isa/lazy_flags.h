// Lazily evaluated arithmetic flags: an ALU instruction records its operands,
// result and kind; CF/PF/AF/ZF/SF/OF are computed only when something reads them
// (a Jcc/SETcc/CMOVcc, ADC/SBB, PUSHF, LAHF, an interrupt ...).
//
// Invariants:
//   - `op` = kind | size index (0 = 8-bit .. 3 = 64-bit), see LazyKind;
//   - `res`, `src1`, `src2` hold values zero-extended from the operand size, so
//     ZF is (res == 0) and the sign of x is bit (8 << size) - 1 of x;
//   - kind LF_EAGER: the six flags are the FLAG_* bits of `eager`;
//   - kinds LF_INC/LF_DEC: src2 is 1 and CF (which INC/DEC preserve, SDM Vol. 2A
//     "INC"/"DEC") is bit 0 of `eager`;
//   - LF_CFOF (never with LF_EAGER): CF and OF are the FLAG_CF/FLAG_OF bits of
//     `eager`, the other four flags follow the kind. Rotates use it to replace
//     CF/OF without evaluating the previous result's flags, and shifts/multiplies
//     to record a result whose CF/OF are not a function of it.
// Evaluators live in isa/flags.h.
#pragma once
#include <cstdint>

namespace isa {

enum LazyKind : uint32_t {
  LF_EAGER = 0 << 2,
  LF_ADD = 1 << 2,    // res = src1 + src2 (+ CF for ADC)
  LF_SUB = 2 << 2,    // res = src1 - src2 (- CF for SBB); CMP and NEG (src1 = 0)
  LF_LOGIC = 3 << 2,  // AND/OR/XOR/TEST: CF = OF = 0, AF = 0
  LF_INC = 4 << 2,
  LF_DEC = 5 << 2,
  LF_CFOF = 1 << 5,  // modifier bit, see above
};

struct LazyFlags {
  uint64_t res = 0;
  uint64_t src1 = 0;
  uint64_t src2 = 0;
  uint32_t op = LF_EAGER;  // LazyKind | size index
  uint32_t eager = 0;      // arithmetic flags when op == LF_EAGER; CF carry for INC/DEC
};

}  // namespace isa
