// DecodedInst: one instruction, decoded once, immutable afterwards.
// The decoder fills everything but `fn`, which the binder (isa/bind.cpp, and sim/
// for system forms) sets from the form, the operand size and register/memory kind.
// Execution never re-parses bytes: handlers read only these fields.
#pragma once
#include <cstdint>

#include "isa/forms.h"

namespace isa {

struct Cpu;
struct DecodedInst;
using Handler = void (*)(Cpu&, const DecodedInst&);

// Register numbers used in DecodedInst.
enum : uint8_t {
  kRegZero = 16,  // reads as 0: base/index "none"
  kRegRip = 17,   // RIP-relative base (holds the address of the next instruction)
  kRegNone = 0xFF,
};

// Segment register numbers, in SDM Sreg encoding order.
enum Seg : uint8_t { ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5 };

// Code size the decoder works in.
enum class CodeSize : uint8_t { k16 = 0, k32 = 1, k64 = 2 };

enum DecodeStatus : uint8_t {
  kDecodeOk = 0,
  kDecodeUd,        // not a valid instruction here: #UD (length still known)
  kDecodeTooLong,   // more than 15 bytes: #GP(0)
  kDecodeNeedMore,  // ran out of bytes (the fetch window ended): fetch more / #PF
};

enum InstFlags : uint16_t {
  IF_LOCK = 1u << 0,    // LOCK prefix present (and allowed)
  IF_REX = 1u << 1,     // a REX prefix was present (byte regs 4-7 are SPL..DIL)
  IF_REXW = 1u << 2,    // REX.W (or VEX.W in 64-bit mode)
  IF_VEX = 1u << 3,     // VEX encoded
  IF_VEXL = 1u << 4,    // VEX.L = 1 (256-bit)
  IF_REP = 1u << 5,     // F3 on a string form (REP / REPE)
  IF_REPNE = 1u << 6,   // F2 on a string form (REPNE)
  IF_MEM = 1u << 7,     // ModRM names memory (mod != 3)
  IF_SEGOVR = 1u << 8,  // an explicit segment override prefix was present
  IF_OSIZE = 1u << 9,   // 66 prefix present
  IF_ASIZE = 1u << 10,  // 67 prefix present
  // Not an instruction: a decoded block's separator after a conditional branch the
  // block goes on from (sim/code_cache.h, "superblocks"). Its handler is null.
  IF_SEPARATOR = 1u << 15,
};

struct DecodedInst {
  Handler fn;        // bound handler (never null for a bound instruction)
  uint64_t imm;      // immediate (sign-extended per the form), or branch target offset;
                     // ENTER: iw in bits 0-15, ib in 16-23; far pointer: offset | sel << 32
                     // (ib/iz and rel8/rel32 sign-extend to 64 bits, iw/iv/moffs zero-extend;
                     // an unsigned imm8 is uint8_t(imm))
  int32_t disp;      // displacement (sign-extended)
  Form form;
  uint8_t len;       // 1..15
  uint8_t osize;     // operand size in bytes: 1, 2, 4, 8 (vector forms: 16 or 32)
  uint8_t asize;     // address size in bytes: 2, 4, 8
  uint8_t reg;       // ModRM.reg (+REX.R), or +r register; byte-register forms: 16-19 = AH,CH,DH,BH
  uint8_t rm;        // register form: ModRM.rm (+REX.B); byte-register forms as `reg`
  uint8_t base;      // memory form: base register, kRegZero or kRegRip
  uint8_t index;     // memory form: index register or kRegZero
  uint8_t scale;     // memory form: shift count 0..3
  uint8_t seg;       // effective segment for the memory operand (Seg)
  uint8_t vvvv;      // VEX.vvvv (inverted back to a register number), 0 if none
  uint8_t cc;        // condition code for F_CC16 forms
  uint8_t cycles;    // base cycle cost from the timing model (sim/ fills it)
  uint16_t flags;    // InstFlags

  bool is_mem() const { return flags & IF_MEM; }
  const FormInfo& info() const { return form_info(form); }
};

// Decodes one instruction from `bytes` (at most `avail` bytes valid). On kDecodeOk
// and kDecodeUd `out.len` is the length. The handler is bound by isa::bind().
DecodeStatus decode(const uint8_t* bytes, unsigned avail, CodeSize mode, DecodedInst& out);

}  // namespace isa
