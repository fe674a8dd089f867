// Unit tests for the decoder: one TEST_CASE per rule of SDM Vol. 2A chapter 2 that is
// easy to get wrong. The Capstone differential test covers breadth.
#include <catch2/catch.hpp>

#include <initializer_list>
#include <vector>

#include "isa/cpu_state.h"
#include "isa/decoded_inst.h"

using namespace isa;

namespace {

struct Result {
  DecodeStatus st;
  DecodedInst d;
};

Result dec(CodeSize m, std::initializer_list<uint8_t> bytes) {
  std::vector<uint8_t> v(bytes);
  Result r;
  r.st = decode(v.data(), unsigned(v.size()), m, r.d);
  return r;
}

constexpr auto k16 = CodeSize::k16;
constexpr auto k32 = CodeSize::k32;
constexpr auto k64 = CodeSize::k64;

}  // namespace

TEST_CASE("decoder.basic_alu", "[decoder]") {
  auto r = dec(k64, {0x48, 0x01, 0xD8});  // add rax, rbx
  REQUIRE(r.st == kDecodeOk);
  CHECK(r.d.form == Form::add_ev_gv);
  CHECK(r.d.len == 3);
  CHECK(r.d.osize == 8);
  CHECK(r.d.reg == RBX);
  CHECK(r.d.rm == RAX);
  CHECK(!r.d.is_mem());
  CHECK(r.d.fn != nullptr);
}

TEST_CASE("decoder.rex_must_be_last_prefix", "[decoder]") {
  // REX then 66: REX is ignored (2.2.1), operand size 16, register ax not r8.
  auto r = dec(k64, {0x48, 0x66, 0x01, 0xC0});
  REQUIRE(r.st == kDecodeOk);
  CHECK(r.d.osize == 2);
  CHECK(!(r.d.flags & IF_REX));
  // 66 then REX.W: REX.W wins over 66.
  r = dec(k64, {0x66, 0x48, 0x01, 0xC0});
  CHECK(r.d.osize == 8);
  // In 32-bit mode 40 is INC eax.
  r = dec(k32, {0x40});
  CHECK(r.st == kDecodeOk);
  CHECK(r.d.form == Form::inc_zv);
  CHECK(r.d.reg == RAX);
}

TEST_CASE("decoder.byte_registers", "[decoder]") {
  auto r = dec(k64, {0x88, 0xE0});  // mov al, ah
  REQUIRE(r.st == kDecodeOk);
  CHECK(r.d.reg == 16);  // AH
  CHECK(r.d.rm == RAX);
  r = dec(k64, {0x40, 0x88, 0xE0});  // mov al, spl
  CHECK(r.d.reg == RSP);
  r = dec(k64, {0x0F, 0xB6, 0xC7});  // movzx eax, bh
  CHECK(r.d.form == Form::movzx_gv_eb);
  CHECK(r.d.rm == 19);
  CHECK(r.d.reg == RAX);
  r = dec(k64, {0xB4, 0x12});  // mov ah, 0x12
  CHECK(r.d.form == Form::mov_zb_ib);
  CHECK(r.d.reg == 16);
  CHECK(r.d.imm == 0x12);
}

TEST_CASE("decoder.modrm_addressing_64", "[decoder]") {
  // mov rax, [rip+0x10]
  auto r = dec(k64, {0x48, 0x8B, 0x05, 0x10, 0, 0, 0});
  REQUIRE(r.st == kDecodeOk);
  CHECK(r.d.base == kRegRip);
  CHECK(r.d.index == kRegZero);
  CHECK(r.d.disp == 0x10);
  CHECK(r.d.len == 7);
  // mov eax, [r12 + r13*4 - 8]: SIB with REX.X/REX.B
  r = dec(k64, {0x43, 0x8B, 0x44, 0xAC, 0xF8});
  REQUIRE(r.st == kDecodeOk);
  CHECK(r.d.base == R12);
  CHECK(r.d.index == R13);
  CHECK(r.d.scale == 2);
  CHECK(r.d.disp == -8);
  CHECK(r.d.seg == DS);
  // [rbp+0]: SS default; [r13+0] needs disp8 too.
  r = dec(k64, {0x8B, 0x45, 0x00});
  CHECK(r.d.base == RBP);
  CHECK(r.d.seg == SS);
  // SIB base=101 mod=00: disp32, no base; index=100 without REX.X: none.
  r = dec(k64, {0x8B, 0x04, 0x25, 0x78, 0x56, 0x34, 0x12});
  CHECK(r.d.base == kRegZero);
  CHECK(r.d.index == kRegZero);
  CHECK(r.d.disp == 0x12345678);
  // REX.X makes index 100b = r12 valid.
  r = dec(k64, {0x42, 0x8B, 0x04, 0x20});
  CHECK(r.d.index == R12);
  CHECK(r.d.base == RAX);
  // FS override is kept, DS override is ignored in 64-bit mode.
  r = dec(k64, {0x64, 0x8B, 0x00});
  CHECK(r.d.seg == FS);
  CHECK((r.d.flags & IF_SEGOVR));
  r = dec(k64, {0x26, 0x8B, 0x45, 0x00});
  CHECK(r.d.seg == SS);
}

TEST_CASE("decoder.modrm_addressing_16", "[decoder]") {
  // mov ax, [bp+si+4] in 16-bit mode
  auto r = dec(k16, {0x8B, 0x42, 0x04});
  REQUIRE(r.st == kDecodeOk);
  CHECK(r.d.osize == 2);
  CHECK(r.d.asize == 2);
  CHECK(r.d.base == RBP);
  CHECK(r.d.index == RSI);
  CHECK(r.d.scale == 0);
  CHECK(r.d.seg == SS);
  CHECK(r.d.disp == 4);
  // [disp16]
  r = dec(k16, {0x8B, 0x06, 0x34, 0x12});
  CHECK(r.d.base == kRegZero);
  CHECK(r.d.disp == 0x1234);
  CHECK(r.d.len == 4);
  // 67 in 16-bit mode: 32-bit addressing with SIB.
  r = dec(k16, {0x67, 0x66, 0x8B, 0x04, 0x24});
  CHECK(r.d.asize == 4);
  CHECK(r.d.osize == 4);
  CHECK(r.d.base == RSP);
  CHECK(r.d.seg == SS);
  // ES override wins; last override wins.
  r = dec(k16, {0x2E, 0x26, 0x8B, 0x07});
  CHECK(r.d.seg == ES);
}

TEST_CASE("decoder.operand_size_rules", "[decoder]") {
  // push: default 64 in 64-bit mode, 66 gives 16.
  CHECK(dec(k64, {0x50}).d.osize == 8);
  CHECK(dec(k64, {0x66, 0x50}).d.osize == 2);
  CHECK(dec(k64, {0x41, 0x50}).d.reg == R8);
  // jmp rel32 with 66 in 64-bit mode: Intel ignores 66 (length 1+1+4).
  auto r = dec(k64, {0x66, 0xE9, 1, 2, 3, 4});
  CHECK(r.st == kDecodeOk);
  CHECK(r.d.len == 6);
  CHECK(r.d.osize == 8);
  // ... and in 32-bit mode 66 gives rel16.
  r = dec(k32, {0x66, 0xE9, 1, 2});
  CHECK(r.d.len == 4);
  // mov r64, imm64
  r = dec(k64, {0x48, 0xB8, 1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(r.d.len == 10);
  CHECK(r.d.imm == 0x0807060504030201ull);
  // imm sign extension: add rax, -1 (83 /0 ib) and add rax, imm32
  r = dec(k64, {0x48, 0x83, 0xC0, 0xFF});
  CHECK(r.d.imm == ~0ull);
  r = dec(k64, {0x48, 0x05, 0x00, 0x00, 0x00, 0x80});
  CHECK(r.d.imm == 0xFFFFFFFF80000000ull);
  // moffs is address-size wide.
  r = dec(k64, {0xA1, 1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(r.d.len == 9);
  r = dec(k64, {0x67, 0xA1, 1, 2, 3, 4});
  CHECK(r.d.len == 6);
  // enter iw, ib
  r = dec(k64, {0xC8, 0x10, 0x00, 0x02});
  CHECK(r.d.imm == 0x20010);
  // far jmp ptr16:32 in 32-bit mode
  r = dec(k32, {0xEA, 1, 2, 3, 4, 0x08, 0x00});
  CHECK(r.d.len == 7);
  CHECK(r.d.imm == ((8ull << 32) | 0x04030201));
  CHECK(dec(k64, {0xEA, 1, 2, 3, 4, 0x08, 0x00}).st == kDecodeUd);
}

TEST_CASE("decoder.mode_specific_forms", "[decoder]") {
  CHECK(dec(k64, {0x63, 0xC1}).d.form == Form::movsxd_gv_ed);
  CHECK(dec(k32, {0x63, 0xC1}).d.form == Form::arpl_ew_gw);
  CHECK(dec(k64, {0x06}).st == kDecodeUd);
  CHECK(dec(k32, {0x06}).d.form == Form::push_es);
  CHECK(dec(k32, {0x82, 0xC0, 0x01}).d.form == Form::add_eb_ib_82);
  CHECK(dec(k64, {0x82, 0xC0, 0x01}).st == kDecodeUd);
}

TEST_CASE("decoder.nop_pause_xchg", "[decoder]") {
  CHECK(dec(k64, {0x90}).d.form == Form::nop_90);
  CHECK(dec(k64, {0xF3, 0x90}).d.form == Form::pause);
  auto r = dec(k64, {0x41, 0x90});
  CHECK(r.d.form == Form::xchg_zv_rax);
  CHECK(r.d.reg == R8);
  CHECK(dec(k64, {0x48, 0x90}).d.form == Form::nop_90);
  CHECK(dec(k64, {0x91}).d.form == Form::xchg_zv_rax);
}

TEST_CASE("decoder.lock_validity", "[decoder]") {
  auto r = dec(k64, {0xF0, 0x01, 0x00});  // lock add [rax], eax
  CHECK(r.st == kDecodeOk);
  CHECK((r.d.flags & IF_LOCK));
  CHECK(dec(k64, {0xF0, 0x01, 0xC0}).st == kDecodeUd);   // register destination
  CHECK(dec(k64, {0xF0, 0x8B, 0x00}).st == kDecodeUd);   // mov: not lockable
  CHECK(dec(k64, {0xF0, 0x38, 0x00}).st == kDecodeUd);   // cmp: not lockable
}

TEST_CASE("decoder.condition_codes_and_prefixes", "[decoder]") {
  auto r = dec(k64, {0x0F, 0x8E, 0, 1, 0, 0});
  CHECK(r.d.form == Form::jcc_jz);
  CHECK(r.d.cc == 0xE);
  CHECK(r.d.imm == 0x100);
  r = dec(k64, {0x74, 0xFE});
  CHECK(r.d.cc == 4);
  CHECK(int64_t(r.d.imm) == -2);
  r = dec(k64, {0xF3, 0x48, 0xA5});
  CHECK(r.d.form == Form::movsv);
  CHECK((r.d.flags & IF_REP));
  CHECK(r.d.osize == 8);
  r = dec(k64, {0xF3, 0x0F, 0xBC, 0xC0});
  CHECK(r.d.form == Form::tzcnt_gv_ev);
  r = dec(k64, {0x66, 0xF3, 0x0F, 0xB8, 0xC0});
  CHECK(r.d.form == Form::popcnt_gv_ev);
  CHECK(r.d.osize == 2);
  r = dec(k64, {0x66, 0x0F, 0x38, 0xF6, 0xC0});
  CHECK(r.d.form == Form::adcx_gy_ey);
  CHECK(r.d.osize == 4);
  r = dec(k64, {0x66, 0xF2, 0x0F, 0x38, 0xF1, 0xC0});
  CHECK(r.d.form == Form::crc32_gd_ev);
  CHECK(r.d.osize == 2);
}

TEST_CASE("decoder.vex", "[decoder]") {
  // andn rax, rbx, rcx: C4 E2 E0 F2 C1 (VEX.LZ.0F38.W1, vvvv = rbx)
  auto r = dec(k64, {0xC4, 0xE2, 0xE0, 0xF2, 0xC1});
  REQUIRE(r.st == kDecodeOk);
  CHECK(r.d.form == Form::andn_gy_by_ey);
  CHECK(r.d.osize == 8);
  CHECK(r.d.vvvv == RBX);
  CHECK(r.d.reg == RAX);
  CHECK(r.d.rm == RCX);
  // In 32-bit mode C4 with mod != 3 is LES.
  r = dec(k32, {0xC4, 0x00});
  CHECK(r.d.form == Form::les_gz_mp);
  CHECK(r.d.len == 2);
  // In 32-bit mode the same bytes are VEX; W is ignored for the operand size.
  r = dec(k32, {0xC4, 0xE2, 0xE0, 0xF2, 0xC1});
  CHECK(r.d.form == Form::andn_gy_by_ey);
  CHECK(r.d.osize == 4);
  // 66 before VEX: #UD.
  CHECK(dec(k64, {0x66, 0xC4, 0xE2, 0xE0, 0xF2, 0xC1}).st == kDecodeUd);
  // REX before VEX: #UD.
  CHECK(dec(k64, {0x40, 0xC4, 0xE2, 0xE0, 0xF2, 0xC1}).st == kDecodeUd);
  // rorx requires vvvv = 1111b.
  CHECK(dec(k64, {0xC4, 0xE3, 0xFB, 0xF0, 0xC1, 0x05}).d.form == Form::rorx_gy_ey_ib);
  CHECK(dec(k64, {0xC4, 0xE3, 0xF3, 0xF0, 0xC1, 0x05}).st == kDecodeUd);
}

TEST_CASE("decoder.length_limits", "[decoder]") {
  // 14 prefixes + nop = 15 bytes: valid. One more: #GP (too long).
  std::vector<uint8_t> v(14, 0x66);
  v.push_back(0x90);
  DecodedInst d;
  CHECK(decode(v.data(), unsigned(v.size()), k64, d) == kDecodeOk);
  CHECK(d.len == 15);
  v.insert(v.begin(), 0x66);
  CHECK(decode(v.data(), unsigned(v.size()), k64, d) == kDecodeTooLong);
  // Truncated: need more bytes.
  CHECK(dec(k64, {0x48, 0xB8, 1, 2}).st == kDecodeNeedMore);
  CHECK(dec(k64, {0x0F}).st == kDecodeNeedMore);
  // Too long wins when the window ends exactly at 15 bytes.
  std::vector<uint8_t> w(11, 0x66);
  for (uint8_t b : {0x48, 0xB8, 1, 2}) w.push_back(b);
  CHECK(decode(w.data(), unsigned(w.size()), k64, d) == kDecodeTooLong);
}

TEST_CASE("decoder.segment_register_operands", "[decoder]") {
  // mov eax, gs; REX.R is ignored for Sreg (SDM Vol. 2A 2.2.1.2).
  auto r = dec(k64, {0x44, 0x8C, 0xE8});
  REQUIRE(r.st == kDecodeOk);
  CHECK(r.d.form == Form::mov_ev_sw);
  CHECK(r.d.reg == GS);
  CHECK(dec(k64, {0x8C, 0xF0}).st == kDecodeUd);  // Sreg 6
  CHECK(dec(k32, {0x8E, 0xC8}).st == kDecodeUd);  // mov cs, ax
  CHECK(dec(k32, {0x8E, 0xD8}).d.reg == DS);
}

TEST_CASE("decoder.sse_mandatory_prefixes", "[decoder]") {
  CHECK(dec(k64, {0x0F, 0x58, 0xC1}).d.form == Form::addps_v_w);
  CHECK(dec(k64, {0x66, 0x0F, 0x58, 0xC1}).d.form == Form::addpd_v_w);
  CHECK(dec(k64, {0xF3, 0x0F, 0x58, 0xC1}).d.form == Form::addss_v_w);
  CHECK(dec(k64, {0xF2, 0x0F, 0x58, 0xC1}).d.form == Form::addsd_v_w);
  // F2/F3 win over 66; the last of F2/F3 wins.
  CHECK(dec(k64, {0x66, 0xF3, 0x0F, 0x58, 0xC1}).d.form == Form::addss_v_w);
  CHECK(dec(k64, {0xF3, 0xF2, 0x0F, 0x58, 0xC1}).d.form == Form::addsd_v_w);
  // NP form with a prefix it does not define: reserved, #UD.
  CHECK(dec(k64, {0xF3, 0x0F, 0x28, 0xC1}).st == kDecodeUd);
  // MMX and SSE2 share 0F FC; REX.R/B extend xmm registers.
  auto r = dec(k64, {0x0F, 0xFC, 0xC1});
  CHECK(r.d.form == Form::paddb_p_q);
  CHECK(r.d.osize == 8);
  r = dec(k64, {0x66, 0x45, 0x0F, 0xFC, 0xC1});
  CHECK(r.d.form == Form::paddb_v_w);
  CHECK(r.d.osize == 16);
  CHECK(r.d.reg == 8);
  CHECK(r.d.rm == 9);
  // movq xmm, r64 is movd_v_e with REX.W.
  r = dec(k64, {0x66, 0x48, 0x0F, 0x6E, 0xC0});
  CHECK(r.d.form == Form::movd_v_e);
  CHECK((r.d.flags & IF_REXW));
  // movhlps (register) and movlps (memory) share 0F 12.
  CHECK(dec(k64, {0x0F, 0x12, 0xC1}).d.form == Form::movhlps_v_u);
  CHECK(dec(k64, {0x0F, 0x12, 0x01}).d.form == Form::movlps_v_m);
  // Group 14: psrldq is 66 0F 73 /3 ib.
  r = dec(k64, {0x66, 0x0F, 0x73, 0xD9, 0x04});
  CHECK(r.d.form == Form::psrldq_u_ib);
  CHECK(r.d.rm == 1);
  CHECK(r.d.imm == 4);
  // Three-byte maps.
  CHECK(dec(k64, {0x66, 0x0F, 0x38, 0x00, 0xC1}).d.form == Form::pshufb_v_w);
  r = dec(k64, {0x66, 0x0F, 0x3A, 0x0F, 0xC1, 0x08});
  CHECK(r.d.form == Form::palignr_v_w_ib);
  CHECK(r.d.len == 6);
  // crc32 r32, r/m8: the byte operand maps AH..BH, the 32-bit register does not.
  r = dec(k64, {0xF2, 0x0F, 0x38, 0xF0, 0xE4});
  CHECK(r.d.form == Form::crc32_gd_eb);
  CHECK(r.d.reg == RSP);
  CHECK(r.d.rm == 16 + 0);  // AH
}

TEST_CASE("decoder.vex_forms", "[decoder]") {
  // vaddps ymm1, ymm2, ymm3: C5 EC 58 CB
  auto r = dec(k64, {0xC5, 0xEC, 0x58, 0xCB});
  REQUIRE(r.st == kDecodeOk);
  CHECK(r.d.form == Form::vaddps_v_h_w);
  CHECK(r.d.osize == 32);
  CHECK((r.d.flags & IF_VEXL));
  CHECK(r.d.reg == 1);
  CHECK(r.d.vvvv == 2);
  CHECK(r.d.rm == 3);
  // vzeroupper (L=0) / vzeroall (L=1)
  CHECK(dec(k64, {0xC5, 0xF8, 0x77}).d.form == Form::vzeroupper);
  CHECK(dec(k64, {0xC5, 0xFC, 0x77}).d.form == Form::vzeroall);
  // vpsrlvd (W0) / vpsrlvq (W1)
  CHECK(dec(k64, {0xC4, 0xE2, 0x69, 0x45, 0xCB}).d.form == Form::vpsrlvd_v_h_w);
  CHECK(dec(k64, {0xC4, 0xE2, 0xE9, 0x45, 0xCB}).d.form == Form::vpsrlvq_v_h_w);
  // vpermq is VEX.256 only.
  CHECK(dec(k64, {0xC4, 0xE3, 0xFD, 0x00, 0xC1, 0x1B}).d.form == Form::vpermq_v_w_ib);
  CHECK(dec(k64, {0xC4, 0xE3, 0xF9, 0x00, 0xC1, 0x1B}).st == kDecodeUd);
  // vblendvps: the fourth register in imm8[7:4].
  r = dec(k64, {0xC4, 0xE3, 0x69, 0x4A, 0xCB, 0x40});
  CHECK(r.d.form == Form::vblendvps_v_h_w_l);
  CHECK((r.d.imm & 0xFF) >> 4 == 4);
  // vfmadd231ps xmm1, xmm2, [rax]
  CHECK(dec(k64, {0xC4, 0xE2, 0x69, 0xB8, 0x08}).d.form == Form::vfmadd231ps_v_h_w);
  // VSIB: vpgatherdd xmm0, [rax + xmm4*4], xmm1 (index 100b is xmm4, not "none")
  r = dec(k64, {0xC4, 0xE2, 0x71, 0x90, 0x04, 0xA0});
  REQUIRE(r.st == kDecodeOk);
  CHECK(r.d.form == Form::vpgatherdd_v_m_h);
  CHECK(r.d.index == 4);
  CHECK(r.d.scale == 2);
  CHECK(dec(k64, {0xC4, 0xE2, 0x71, 0x90, 0x00}).st == kDecodeUd);  // no SIB
  // VEX.L ignored by scalar forms (LIG).
  CHECK(dec(k64, {0xC5, 0xEE, 0x58, 0xCB}).d.form == Form::vaddss_v_h_w);
}

TEST_CASE("decoder.system_forms", "[decoder]") {
  CHECK(dec(k64, {0x0F, 0x01, 0xC2}).d.form == Form::vmlaunch);
  CHECK(dec(k64, {0x0F, 0x01, 0xC3}).d.form == Form::vmresume);
  CHECK(dec(k64, {0x0F, 0x78, 0xC8}).d.form == Form::vmread_ey_gy);
  CHECK(dec(k64, {0x0F, 0xC7, 0x30}).d.form == Form::vmptrld_mq);
  CHECK(dec(k64, {0x66, 0x0F, 0xC7, 0x30}).d.form == Form::vmclear_mq);
  CHECK(dec(k64, {0xF3, 0x0F, 0xC7, 0x30}).d.form == Form::vmxon_mq);
  CHECK(dec(k64, {0x0F, 0xC7, 0x38}).d.form == Form::vmptrst_mq);
  CHECK(dec(k64, {0x0F, 0xC7, 0xF0}).d.form == Form::rdrand_rv);
  CHECK(dec(k64, {0xF3, 0x0F, 0xC7, 0xF8}).d.form == Form::rdpid_ry);
  CHECK(dec(k64, {0x66, 0x0F, 0x38, 0x80, 0x08}).d.form == Form::invept_gy_mdq);
  CHECK(dec(k64, {0x0F, 0xAE, 0xE8}).d.form == Form::lfence);
  CHECK(dec(k64, {0x0F, 0xAE, 0x10}).d.form == Form::ldmxcsr_m);
  CHECK(dec(k64, {0x48, 0x0F, 0xAE, 0x00}).d.form == Form::fxsave_m);
  CHECK(dec(k64, {0xF3, 0x0F, 0x1E, 0xFA}).d.form == Form::endbr64);
  CHECK(dec(k64, {0x0F, 0x1F, 0x44, 0x00, 0x00}).d.form == Form::nop_ev);
  // MOV CR: ModRM.mod ignored, always a register form without displacement.
  auto r = dec(k64, {0x0F, 0x22, 0x18});
  CHECK(r.d.form == Form::mov_cd_rd);
  CHECK(r.d.len == 3);
  CHECK(!r.d.is_mem());
  CHECK(r.d.reg == 3);
  CHECK(r.d.rm == 0);
  CHECK(dec(k32, {0x0F, 0x05}).st == kDecodeUd);  // SYSCALL outside 64-bit mode (Intel)
  CHECK(dec(k64, {0x0F, 0x05}).d.form == Form::syscall);
  CHECK(dec(k64, {0x0F, 0x0B}).d.form == Form::ud2);
  CHECK(dec(k64, {0x0F, 0xB9, 0x00}).d.len == 3);  // UD1 has ModRM
}
