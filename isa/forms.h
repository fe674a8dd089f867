// Instruction forms: every form is declared once, in the opcodes_*.def tables,
// and expanded here into the Form enum and the per-form attribute table that the
// decoder, the handler binder, the timing model and the disassembly names share.
//
// Table row:  FORM(name, map, opcode, prefix, modrm, imm, osize, flags, iclass)
//   name    lower-case mnemonic plus SDM operand codes: add_ev_gv, jcc_jz, movaps_vps_wps.
//           A name is unique; when one mnemonic has two encodings of the same operands,
//           the second gets a suffix (xchg_ev_gv / nop_90 ...).
//   map     ONE (1-byte), M0F, M0F38, M0F3A: the opcode map (for VEX forms the
//           implied map, with F_VEX in flags).
//   opcode  the opcode byte within the map. For "+r" forms (B8+r, 50+r, C8+r...)
//           declare the base opcode with F_PLUSR; the decoder matches the 8 bytes.
//   prefix  mandatory-prefix class:
//             PX   none mandatory; 66/F2/F3 keep their legacy meaning (integer forms)
//             NP   only valid without 66/F2/F3 (SSE "NP" forms)
//             P66, PF3, PF2  valid only with that prefix (last of F2/F3 wins, F2/F3 over 66)
//   modrm   three columns kind, reg, rm: kind NOMR (no ModRM byte), ANY, REG (mod==3
//           only), MEM (mod!=3 only); reg/rm are 0..7 to constrain ModRM.reg/rm, or -1.
//   imm     I0, IB (8-bit), IW (16), IZ (16/32 by operand size), IV (16/32/64 by operand
//           size: MOV r,imm), IWB (iw then ib: ENTER), AP (far pointer 16:16/16:32),
//           OV (moffs: address-size wide), IB_JB (rel8), IZ_JZ (rel16/32).
//   osize   OB (byte), OV_ (16/32/64 by 66/REX.W, default 32), OD64 (default 64 in long
//           mode, 66 gives 16, no 32-bit form in long mode), OF64 (always 64 in long mode,
//           66 ignored), OW (always 16), OD (always 32), OQ (always 64), OX (vector:
//           handler indexed by VEX.L: 0=128, 1=256), ONA (no data operand).
//   flags   F_* bits below.
//   iclass  timing/statistics class (InstClass).
#pragma once
#include <cstdint>

namespace isa {

enum OpMap : uint8_t { ONE = 0, M0F = 1, M0F38 = 2, M0F3A = 3 };
enum PrefixClass : uint8_t { PX = 0, NP = 1, P66 = 2, PF3 = 3, PF2 = 4 };
enum ModrmKind : uint8_t { NOMR = 0, ANY = 1, REG = 2, MEM = 3 };
enum ImmKind : uint8_t { I0 = 0, IB, IW, IZ, IV, IWB, AP, OV, IB_JB, IZ_JZ };
enum OsizeKind : uint8_t { OB = 0, OV_, OD64, OF64, OW, OD, OQ, OX, ONA };

enum FormFlags : uint32_t {
  F_I64 = 1u << 0,     // invalid (#UD) in 64-bit mode
  F_O64 = 1u << 1,     // valid only in 64-bit mode
  F_BRANCH = 1u << 2,  // may change RIP non-sequentially: ends a decoded block
  F_END = 1u << 3,     // changes state the decoder or the block depends on, or may cause a
                       // VM exit (isa::intercepted): ends a block
  F_LOCKABLE = 1u << 4,    // LOCK allowed (with a memory destination); otherwise LOCK is #UD
  F_REP = 1u << 5,     // string form: REP/REPE/REPNE meaningful
  F_VEX = 1u << 6,     // VEX-encoded (C4/C5)
  F_L0 = 1u << 7,      // VEX.L must be 0
  F_L1 = 1u << 8,      // VEX.L must be 1
  F_W0 = 1u << 9,      // VEX.W must be 0 (in 64-bit mode; W is ignored outside it where the SDM says WIG)
  F_W1 = 1u << 10,     // VEX.W must be 1
  F_NOV = 1u << 11,    // VEX.vvvv must be 1111b
  F_PLUSR = 1u << 12,  // register in opcode low 3 bits (+ REX.B)
  F_UD = 1u << 13,     // decodes (for length) but always raises #UD (UD0/UD1/UD2 ...)
  F_TRAP = 1u << 14,   // software exception/trap form (INT3, INT n, INTO, INT1)
  F_SYS = 1u << 15,    // system form (privileged or mode-dependent; bound by sim/)
  F_NOREAL = 1u << 16, // #UD in real and virtual-8086 mode (LAR, LSL, ARPL, VERR ...)
  F_MODRM_MOD3 = 1u << 17, // MOV CR/DR: ModRM.mod ignored, treated as register form
  F_W = 1u << 18,      // REX.W/VEX.W selects the form's 64-bit variant (osize OX forms)
  F_CC16 = 1u << 19,   // 16 opcodes op..op+15; condition code = opcode & 15 (Jcc, SETcc, CMOVcc)
  F_NOREX = 1u << 20,  // form only matches when REX.B is clear (90 = NOP, not XCHG r8,rax)
};

enum InstClass : uint8_t {
  C_NOP, C_MOV, C_ALU, C_SHIFT, C_MUL, C_DIV, C_BIT, C_BRANCH, C_CALL, C_RET, C_STACK,
  C_STRING, C_LEA, C_XCHG, C_ATOMIC, C_FLAG, C_CPUID, C_TSC, C_RAND, C_X87, C_X87_TRANS,
  C_SSE_MOV, C_SSE_INT, C_SSE_FP, C_SSE_FPDIV, C_SSE_SHUF, C_SSE_CVT, C_XSAVE, C_SYSTEM,
  C_IO, C_COUNT
};

enum class Form : uint16_t {
  invalid = 0,
#define FORM(name, map, op, pfx, mk, mreg, mrm, imm, os, flags, ic) name,
#include "opcodes_all.def"
#undef FORM
  count
};
constexpr unsigned kFormCount = unsigned(Form::count);

struct FormInfo {
  const char* name;
  OpMap map;
  uint8_t opcode;
  PrefixClass prefix;
  ModrmKind modrm;
  int8_t reg;  // required ModRM.reg or -1
  int8_t rm;   // required ModRM.rm or -1
  ImmKind imm;
  OsizeKind osize;
  uint32_t flags;
  InstClass iclass;
};

// Indexed by Form.
extern const FormInfo kForms[kFormCount];

inline const FormInfo& form_info(Form f) { return kForms[unsigned(f)]; }

}  // namespace isa
