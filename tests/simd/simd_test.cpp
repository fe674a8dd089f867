// MMX/SSE/AVX semantics: encoding rules (upper bits, alignment, #UD/#NM/#XM), MXCSR
// behaviour, and random differential checks of the handlers against host intrinsics.
// Instructions are built as DecodedInst values by hand (form name -> binding), so the
// tests do not depend on the decoder.
#include <immintrin.h>

#include <array>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <random>
#include <functional>
#include <string>
#include <utility>

#include "isa/bind.h"
#include "isa/cpu.h"
#include "isa/simd.h"

using namespace isa;
using simd::Binding;

namespace {

// One flat RAM region at linear kBase.
constexpr uint64_t kBase = 0x100000;
constexpr unsigned kRam = 0x4000;

struct Bus : isa::Bus {
  alignas(64) uint8_t ram[kRam] = {};
  void check(uint64_t lin, unsigned n) {
    if (lin < kBase || lin + n > kBase + kRam) raise_page_fault(lin, 4);
  }
  void read_slow(Cpu&, uint64_t lin, void* dst, unsigned n, Access) override {
    check(lin, n);
    std::memcpy(dst, ram + (lin - kBase), n);
  }
  void write_slow(Cpu&, uint64_t lin, const void* src, unsigned n) override {
    check(lin, n);
    std::memcpy(ram + (lin - kBase), src, n);
  }
  void probe_write(Cpu&, uint64_t lin, unsigned n) override { check(lin, n); }
  uint32_t port_in(Cpu&, uint16_t, unsigned) override { return 0; }
  void port_out(Cpu&, uint16_t, unsigned, uint32_t) override {}
  void cpuid(Cpu&, uint32_t, uint32_t, uint32_t out[4]) override { out[0] = out[1] = out[2] = out[3] = 0; }
  uint64_t random64(Cpu&) override { return 0; }
};

struct Fixture {
  Bus bus;
  Cpu c;
  std::mt19937_64 rng{12345};
  Fixture() {
    c.bus = &bus;
    c.long64 = true;
    c.cr0 = 0x80000033;
    c.cr4 = simd::kCr4Osfxsr | simd::kCr4Osxmmexcpt | simd::kCr4Osxsave | 0x20;
    c.xcr0 = 7;
    c.mxcsr = 0x1F80;
  }
  void randomize() {
    for (auto& v : c.v)
      for (auto& q : v.u64) q = rng();
  }
};

enum Enc { kLeg = 0, kV128 = 1, kV256 = 2 };

const Binding& binding(const char* name) {
  const Binding* b = simd::find_binding(name);
  INFO(name);
  REQUIRE(b != nullptr);
  return *b;
}

// A register-form instruction: dst = reg, src2 = rm, src1 (VEX) = vvvv.
DecodedInst reg_inst(const char* name, Enc e, unsigned reg, unsigned rm, unsigned vvvv = 0, uint64_t imm = 0) {
  const Binding& b = binding(name);
  DecodedInst d{};
  d.form = b.form;
  d.reg = uint8_t(reg);
  d.rm = uint8_t(rm);
  d.vvvv = uint8_t(vvvv);
  d.imm = imm;
  d.asize = 8;
  d.seg = DS;
  d.osize = e == kV256 ? 32 : 16;
  d.flags = e == kLeg ? 0 : (IF_VEX | (e == kV256 ? IF_VEXL : 0));
  d.fn = b.h[e == kV256 ? 1 : 0][0];
  return d;
}
// A memory-form instruction addressing [RBX + disp].
DecodedInst mem_inst(const char* name, Enc e, unsigned reg, int32_t disp, unsigned vvvv = 0, uint64_t imm = 0) {
  DecodedInst d = reg_inst(name, e, reg, 0, vvvv, imm);
  const Binding& b = binding(name);
  d.flags |= IF_MEM;
  d.base = RBX;
  d.index = kRegZero;
  d.disp = disp;
  d.fn = b.h[e == kV256 ? 1 : 0][1];
  return d;
}

// Runs the handler; returns the fault vector or -1.
int run(Cpu& c, const DecodedInst& d) {
  try {
    d.fn(c, d);
  } catch (const CpuFault& f) {
    return f.vector;
  }
  return -1;
}

__m256i ld(const VecReg& v) { return _mm256_load_si256(reinterpret_cast<const __m256i*>(v.u8)); }
__m128i ld128(const VecReg& v) { return _mm_load_si128(reinterpret_cast<const __m128i*>(v.u8)); }
bool same(const VecReg& a, __m256i b) {
  VecReg t;
  _mm256_store_si256(reinterpret_cast<__m256i*>(t.u8), b);
  return std::memcmp(&a, &t, 32) == 0;
}
bool same128(const VecReg& a, __m128i b) {
  VecReg t;
  _mm_store_si128(reinterpret_cast<__m128i*>(t.u8), b);
  return std::memcmp(&a, &t, 16) == 0;
}

}  // namespace

TEST_CASE("every SIMD binding names a declared form", "[simd]") {
  auto missing = simd::missing_forms();
  for (const char* n : missing) WARN("form not in the table: " << n);
  CHECK(missing.empty());
}

TEST_CASE("legacy SSE keeps bits 255:128, VEX.128 zeroes them", "[simd]") {
  Fixture f;
  f.randomize();
  VecReg before = f.c.v[1];
  run(f.c, reg_inst("addps_v_w", kLeg, 1, 2));
  CHECK(f.c.v[1].u64[2] == before.u64[2]);
  CHECK(f.c.v[1].u64[3] == before.u64[3]);
  run(f.c, reg_inst("vaddps_v_h_w", kV128, 3, 2, 1));
  CHECK(f.c.v[3].u64[2] == 0);
  CHECK(f.c.v[3].u64[3] == 0);
  // Scalar VEX forms ignore VEX.L and still zero the upper half.
  f.randomize();
  run(f.c, reg_inst("vaddss_v_h_w", kV256, 4, 2, 1));
  CHECK(f.c.v[4].u64[2] == 0);
  CHECK(f.c.v[4].u32[1] == f.c.v[1].u32[1]);
}

TEST_CASE("alignment: legacy packed and aligned moves #GP, VEX arithmetic does not", "[simd]") {
  Fixture f;
  f.c.r[RBX] = kBase + 8;
  CHECK(run(f.c, mem_inst("movaps_v_w", kLeg, 0, 0)) == VEC_GP);
  CHECK(run(f.c, mem_inst("addps_v_w", kLeg, 0, 0)) == VEC_GP);
  CHECK(run(f.c, mem_inst("movups_v_w", kLeg, 0, 0)) == -1);
  CHECK(run(f.c, mem_inst("addss_v_w", kLeg, 0, 0)) == -1);
  CHECK(run(f.c, mem_inst("vaddps_v_h_w", kV256, 0, 0, 1)) == -1);
  CHECK(run(f.c, mem_inst("vmovaps_v_w", kV128, 0, 0)) == VEC_GP);
  f.c.r[RBX] = kBase + 16;
  CHECK(run(f.c, mem_inst("vmovaps_v_w", kV256, 0, 0)) == VEC_GP);
  CHECK(run(f.c, mem_inst("vmovaps_v_w", kV128, 0, 0)) == -1);
  CHECK(run(f.c, mem_inst("movaps_w_v", kLeg, 0, 0)) == -1);
}

TEST_CASE("#UD and #NM conditions per encoding", "[simd]") {
  Fixture f;
  auto leg = reg_inst("addps_v_w", kLeg, 0, 1);
  auto vex = reg_inst("vaddps_v_h_w", kV128, 0, 1, 2);
  auto mmx = reg_inst("paddb_p_q", kLeg, 0, 1);
  f.c.cr0 |= simd::kCr0Ts;
  CHECK(run(f.c, leg) == VEC_NM);
  CHECK(run(f.c, vex) == VEC_NM);
  CHECK(run(f.c, mmx) == VEC_NM);
  f.c.cr0 |= simd::kCr0Em;  // EM: #UD for SSE and MMX, no effect on VEX
  CHECK(run(f.c, leg) == VEC_UD);
  CHECK(run(f.c, mmx) == VEC_UD);
  CHECK(run(f.c, vex) == VEC_NM);
  f.c.cr0 &= ~(simd::kCr0Ts | simd::kCr0Em);
  f.c.cr4 &= ~simd::kCr4Osfxsr;
  CHECK(run(f.c, leg) == VEC_UD);
  CHECK(run(f.c, mmx) == -1);
  f.c.cr4 |= simd::kCr4Osfxsr;
  f.c.xcr0 = 3;
  CHECK(run(f.c, vex) == VEC_UD);
  CHECK(run(f.c, leg) == -1);
  f.c.xcr0 = 7;
  f.c.cr4 &= ~simd::kCr4Osxsave;
  CHECK(run(f.c, vex) == VEC_UD);
}

TEST_CASE("MXCSR: flags, masked results, #XM/#UD with the destination untouched", "[simd]") {
  Fixture f;
  f.c.v[0].f32[0] = 1.0f;
  f.c.v[1].f32[0] = 0.0f;
  auto div = reg_inst("divss_v_w", kLeg, 0, 1);
  CHECK(run(f.c, div) == -1);
  CHECK(std::isinf(f.c.v[0].f32[0]));
  CHECK((f.c.mxcsr & 0x3F) == simd::kMxZE);
  // Unmasked ZE: #XM, destination unchanged, flag set.
  f.c.v[0].f32[0] = 1.0f;
  f.c.mxcsr = 0x1F80 & ~0x200;
  CHECK(run(f.c, div) == VEC_XM);
  CHECK(f.c.v[0].f32[0] == 1.0f);
  CHECK((f.c.mxcsr & 0x3F) == simd::kMxZE);
  f.c.cr4 &= ~simd::kCr4Osxmmexcpt;
  CHECK(run(f.c, div) == VEC_UD);
  // Unmasked precision only: both flags of 1/3 set, #XM.
  f.c.cr4 |= simd::kCr4Osxmmexcpt;
  f.c.mxcsr = 0x1F80 & ~0x1000;
  f.c.v[1].f32[0] = 3.0f;
  CHECK(run(f.c, div) == VEC_XM);
  CHECK((f.c.mxcsr & 0x3F) == simd::kMxPE);
  // Rounding control: toward zero vs nearest differ for 1/3 in the last bit.
  f.c.mxcsr = 0x1F80 | 0x6000;
  CHECK(run(f.c, div) == -1);
  float rz = f.c.v[0].f32[0];
  f.c.v[0].f32[0] = 1.0f;
  f.c.mxcsr = 0x1F80;
  CHECK(run(f.c, div) == -1);
  CHECK(f.c.v[0].f32[0] != rz);
  // The host MXCSR is left as it was.
  CHECK((_mm_getcsr() & ~0x3Fu) == 0x1F80);
}

TEST_CASE("NaN propagation: the first source's NaN, quieted", "[simd]") {
  Fixture f;
  f.c.v[1].u32[0] = 0x7FA00001;  // SNaN
  f.c.v[2].u32[0] = 0x7FC00002;  // QNaN
  run(f.c, reg_inst("vaddss_v_h_w", kV128, 0, 2, 1));
  CHECK(f.c.v[0].u32[0] == 0x7FE00001);
  CHECK(f.c.mxcsr & simd::kMxIE);
  run(f.c, reg_inst("vmulss_v_h_w", kV128, 0, 1, 2));
  CHECK(f.c.v[0].u32[0] == 0x7FC00002);
}

TEST_CASE("conversions: integer indefinite, REX.W, and COMISS flags", "[simd]") {
  Fixture f;
  f.c.v[1].f32[0] = 3e9f;
  auto d = reg_inst("cvttss2si_g_w", kLeg, RAX, 1);
  f.c.r[RAX] = ~0ull;
  CHECK(run(f.c, d) == -1);
  CHECK(f.c.r[RAX] == 0x80000000u);
  CHECK(f.c.mxcsr & simd::kMxIE);
  d.flags |= IF_REXW;
  CHECK(run(f.c, d) == -1);
  CHECK(f.c.r[RAX] == 3000000000u);
  f.c.v[0].f32[0] = 1.0f;
  f.c.v[1].f32[0] = 2.0f;
  run(f.c, reg_inst("comiss_v_w", kLeg, 0, 1));
  CHECK((f.c.get_rflags() & FLAGS_ARITH) == FLAG_CF);
  f.c.v[1].u32[0] = 0x7FC00000;
  f.c.mxcsr = 0x1F80;
  run(f.c, reg_inst("ucomiss_v_w", kLeg, 0, 1));
  CHECK((f.c.get_rflags() & FLAGS_ARITH) == (FLAG_ZF | FLAG_PF | FLAG_CF));
  CHECK((f.c.mxcsr & simd::kMxIE) == 0);
  run(f.c, reg_inst("comiss_v_w", kLeg, 0, 1));
  CHECK((f.c.mxcsr & simd::kMxIE) != 0);
}

TEST_CASE("MMX: aliasing of the x87 registers, TOP/tags, EMMS", "[simd]") {
  Fixture f;
  f.c.x87.fsw = 3u << 11;
  f.c.x87.ftw = 0xFFFF;
  f.c.x87.st[1].significand = 0x0102030405060708ull;
  f.c.x87.st[2].significand = 0x1010101010101010ull;
  CHECK(run(f.c, reg_inst("paddb_p_q", kLeg, 1, 2)) == -1);
  CHECK(f.c.x87.st[1].significand == 0x1112131415161718ull);
  CHECK(f.c.x87.st[1].sign_exp == 0xFFFF);
  CHECK(((f.c.x87.fsw >> 11) & 7) == 0);
  CHECK(f.c.x87.ftw == 0);
  CHECK(run(f.c, reg_inst("emms", kLeg, 0, 0)) == -1);
  CHECK(f.c.x87.ftw == 0xFFFF);
  f.c.x87.fsw |= 0x80;  // pending x87 exception
  CHECK(run(f.c, reg_inst("paddb_p_q", kLeg, 1, 2)) == VEC_MF);
}

TEST_CASE("masked moves touch only selected elements; gathers update the mask on a fault", "[simd]") {
  Fixture f;
  f.randomize();
  // Mask selects element 0 only; element 7 would be outside RAM.
  f.c.r[RBX] = kBase + kRam - 4;
  f.c.v[2] = simd::zero_vec();
  f.c.v[2].u32[0] = 0x80000000u;
  std::memcpy(f.bus.ram + kRam - 4, "\x11\x22\x33\x44", 4);
  CHECK(run(f.c, mem_inst("vmaskmovps_v_h_m", kV256, 1, 0, 2)) == -1);
  CHECK(f.c.v[1].u32[0] == 0x44332211u);
  for (unsigned i = 1; i < 8; i++) CHECK(f.c.v[1].u32[i] == 0);
  // Gather: elements 0 and 1 valid, 2 faults. Dest 1, index 3, mask 2.
  f.randomize();
  f.c.r[RBX] = kBase;
  for (unsigned i = 0; i < 4; i++) {
    uint32_t v = 0xA0 + i;
    std::memcpy(f.bus.ram + 64 * i, &v, 4);
  }
  f.c.v[3].i32[0] = 0;
  f.c.v[3].i32[1] = 16;
  f.c.v[3].i32[2] = 0x10000;  // *4 -> outside RAM
  f.c.v[3].i32[3] = 48;
  for (unsigned i = 0; i < 4; i++) f.c.v[2].u32[i] = 0x80000000u;
  DecodedInst g = mem_inst("vpgatherdd_v_m_h", kV128, 1, 0, 2);
  g.index = 3;
  g.scale = 2;
  VecReg old = f.c.v[1];
  CHECK(run(f.c, g) == VEC_PF);
  CHECK(f.c.v[1].u32[0] == 0xA0);
  CHECK(f.c.v[1].u32[1] == 0xA1);
  CHECK(f.c.v[1].u32[2] == old.u32[2]);
  CHECK(f.c.v[2].u32[0] == 0);
  CHECK(f.c.v[2].u32[1] == 0);
  CHECK(f.c.v[2].u32[2] == 0x80000000u);
  f.c.v[3].i32[2] = 32;
  CHECK(run(f.c, g) == -1);
  CHECK(f.c.v[1].u32[2] == 0xA2);
  CHECK(f.c.v[1].u32[3] == 0xA3);
  for (unsigned i = 0; i < 8; i++) CHECK(f.c.v[2].u32[i] == 0);
  g.reg = 3;  // dest == index: #UD
  CHECK(run(f.c, g) == VEC_UD);
}

// ---- random differential checks against host intrinsics ------------------------------------
namespace {

using Fn2 = __m256i (*)(__m256i, __m256i);
struct Case2 {
  const char* name;
  Enc enc;
  Fn2 host;
};

#define H2(expr) [](__m256i a, __m256i b) -> __m256i { return expr; }
#define H2X(expr) \
  [](__m256i A, __m256i B) -> __m256i { [[maybe_unused]] __m128i a = _mm256_castsi256_si128(A), b = _mm256_castsi256_si128(B); return _mm256_zextsi128_si256(expr); }

const Case2 kCases2[] = {
    {"vpaddb_v_h_w", kV256, H2(_mm256_add_epi8(a, b))},
    {"vpaddq_v_h_w", kV256, H2(_mm256_add_epi64(a, b))},
    {"vpsubusw_v_h_w", kV256, H2(_mm256_subs_epu16(a, b))},
    {"vpaddsb_v_h_w", kV256, H2(_mm256_adds_epi8(a, b))},
    {"vpmulhrsw_v_h_w", kV256, H2(_mm256_mulhrs_epi16(a, b))},
    {"vpmaddubsw_v_h_w", kV256, H2(_mm256_maddubs_epi16(a, b))},
    {"vpmaddwd_v_h_w", kV256, H2(_mm256_madd_epi16(a, b))},
    {"vpmulhw_v_h_w", kV256, H2(_mm256_mulhi_epi16(a, b))},
    {"vpmulhuw_v_h_w", kV256, H2(_mm256_mulhi_epu16(a, b))},
    {"vpmulld_v_h_w", kV256, H2(_mm256_mullo_epi32(a, b))},
    {"vpmuludq_v_h_w", kV256, H2(_mm256_mul_epu32(a, b))},
    {"vpmuldq_v_h_w", kV256, H2(_mm256_mul_epi32(a, b))},
    {"vpsadbw_v_h_w", kV256, H2(_mm256_sad_epu8(a, b))},
    {"vpavgb_v_h_w", kV256, H2(_mm256_avg_epu8(a, b))},
    {"vpminsd_v_h_w", kV256, H2(_mm256_min_epi32(a, b))},
    {"vpmaxuw_v_h_w", kV256, H2(_mm256_max_epu16(a, b))},
    {"vpcmpgtq_v_h_w", kV256, H2(_mm256_cmpgt_epi64(a, b))},
    {"vpcmpeqw_v_h_w", kV256, H2(_mm256_cmpeq_epi16(a, b))},
    {"vpandn_v_h_w", kV256, H2(_mm256_andnot_si256(a, b))},
    {"vpsignw_v_h_w", kV256, H2(_mm256_sign_epi16(a, b))},
    {"vphaddw_v_h_w", kV256, H2(_mm256_hadd_epi16(a, b))},
    {"vphsubsw_v_h_w", kV256, H2(_mm256_hsubs_epi16(a, b))},
    {"vphaddd_v_h_w", kV256, H2(_mm256_hadd_epi32(a, b))},
    {"vpacksswb_v_h_w", kV256, H2(_mm256_packs_epi16(a, b))},
    {"vpackuswb_v_h_w", kV256, H2(_mm256_packus_epi16(a, b))},
    {"vpackssdw_v_h_w", kV256, H2(_mm256_packs_epi32(a, b))},
    {"vpackusdw_v_h_w", kV256, H2(_mm256_packus_epi32(a, b))},
    {"vpunpcklbw_v_h_w", kV256, H2(_mm256_unpacklo_epi8(a, b))},
    {"vpunpckhwd_v_h_w", kV256, H2(_mm256_unpackhi_epi16(a, b))},
    {"vpunpckldq_v_h_w", kV256, H2(_mm256_unpacklo_epi32(a, b))},
    {"vpunpckhqdq_v_h_w", kV256, H2(_mm256_unpackhi_epi64(a, b))},
    {"vpshufb_v_h_w", kV256, H2(_mm256_shuffle_epi8(a, b))},
    {"vpsllw_v_h_w", kV256, H2(_mm256_sll_epi16(a, _mm256_castsi256_si128(b)))},
    {"vpsrad_v_h_w", kV256, H2(_mm256_sra_epi32(a, _mm256_castsi256_si128(b)))},
    {"vpsrlq_v_h_w", kV256, H2(_mm256_srl_epi64(a, _mm256_castsi256_si128(b)))},
    {"vpsllvd_v_h_w", kV256, H2(_mm256_sllv_epi32(a, b))},
    {"vpsrlvq_v_h_w", kV256, H2(_mm256_srlv_epi64(a, b))},
    {"vpsravd_v_h_w", kV256, H2(_mm256_srav_epi32(a, b))},
    {"vpermd_v_h_w", kV256, H2(_mm256_permutevar8x32_epi32(b, a))},
    {"vpermilps_v_h_w", kV256, H2(_mm256_castps_si256(_mm256_permutevar_ps(_mm256_castsi256_ps(a), b)))},
    {"vpermilpd_v_h_w", kV256, H2(_mm256_castpd_si256(_mm256_permutevar_pd(_mm256_castsi256_pd(a), b)))},
    {"vaddsubps_v_h_w", kV256, H2(_mm256_castps_si256(_mm256_addsub_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b))))},
    {"vhaddpd_v_h_w", kV256, H2(_mm256_castpd_si256(_mm256_hadd_pd(_mm256_castsi256_pd(a), _mm256_castsi256_pd(b))))},
    {"vminps_v_h_w", kV256, H2(_mm256_castps_si256(_mm256_min_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b))))},
    {"vmaxpd_v_h_w", kV256, H2(_mm256_castpd_si256(_mm256_max_pd(_mm256_castsi256_pd(a), _mm256_castsi256_pd(b))))},
    {"vpaddw_v_h_w", kV128, H2X(_mm_add_epi16(a, b))},
    {"vpmaddubsw_v_h_w", kV128, H2X(_mm_maddubs_epi16(a, b))},
    {"vpshufb_v_h_w", kV128, H2X(_mm_shuffle_epi8(a, b))},
    {"vaesenc_v_h_w", kV128, H2X(_mm_aesenc_si128(a, b))},
    {"vaesdeclast_v_h_w", kV128, H2X(_mm_aesdeclast_si128(a, b))},
    {"vcvtps2dq_v_w", kV128, H2X(_mm_cvtps_epi32(_mm_castsi128_ps(b)))},
    {"vcvttpd2dq_v_w", kV256, H2(_mm256_zextsi128_si256(_mm256_cvttpd_epi32(_mm256_castsi256_pd(b))))},
    {"vcvtps2pd_v_w", kV256, H2(_mm256_castpd_si256(_mm256_cvtps_pd(_mm_castsi128_ps(_mm256_castsi256_si128(b)))))},
    {"vcvtph2ps_v_w", kV256, H2(_mm256_castps_si256(_mm256_cvtph_ps(_mm256_castsi256_si128(b))))},
    {"vpmovsxbw_v_w", kV256, H2(_mm256_cvtepi8_epi16(_mm256_castsi256_si128(b)))},
    {"vpmovzxwq_v_w", kV256, H2(_mm256_cvtepu16_epi64(_mm256_castsi256_si128(b)))},
    {"vpabsb_v_w", kV256, H2(_mm256_abs_epi8(b))},
    {"vphminposuw_v_w", kV128, H2X(_mm_minpos_epu16(b))},
};

// Random vectors with a bias towards interesting lanes (zero, all ones, sign bits,
// small shift counts, NaN/denormal-like floats).
VecReg random_vec(std::mt19937_64& rng) {
  VecReg v;
  for (auto& q : v.u64) q = rng();
  unsigned mode = rng() % 6;
  for (unsigned i = 0; i < 8; i++) {
    switch (mode) {
      case 1: if (rng() % 3 == 0) v.u32[i] = 0; break;
      case 2: if (rng() % 3 == 0) v.u32[i] = 0xFFFFFFFFu; break;
      case 3: v.u32[i] &= 0x8000801F; break;
      case 4: v.u32[i] = uint32_t(int32_t(rng() % 64) - 32); break;
      case 5: v.u32[i] = (v.u32[i] & 0x807FFFFF) | (rng() % 2 ? 0x7F800000 : 0); break;
      default: break;
    }
  }
  return v;
}

}  // namespace

TEST_CASE("random two-source forms match host intrinsics", "[simd]") {
  Fixture f;
  for (const Case2& k : kCases2) {
    INFO(k.name << (k.enc == kV256 ? " (256)" : " (128)"));
    for (int i = 0; i < 300; i++) {
      VecReg a = random_vec(f.rng), b = random_vec(f.rng);
      if (k.enc != kV256 && std::string(k.name).find("aes") == std::string::npos) {
        a.u64[2] = a.u64[3] = b.u64[2] = b.u64[3] = 0;
      }
      f.c.v[1] = a;
      f.c.v[2] = b;
      f.c.mxcsr = 0x1F80;
      REQUIRE(run(f.c, reg_inst(k.name, k.enc, 0, 2, 1)) == -1);
      __m256i want = k.host(ld(a), ld(b));
      if (k.enc != kV256) want = _mm256_zextsi128_si256(_mm256_castsi256_si128(want));
      if (!same(f.c.v[0], want)) {
        FAIL_CHECK("mismatch at case " << i);
        break;
      }
    }
  }
}

// PCMPxSTRx against the host for every imm8 (bit 7 is reserved and ignored).
namespace {
template <int I>
void check_pcmpstr(Fixture& f, const VecReg& a, const VecReg& b, int la, int lb) {
  __m128i A = ld128(a), B = ld128(b);
  f.c.v[1] = a;
  f.c.v[2] = b;
  f.c.r[RAX] = uint64_t(int64_t(la));
  f.c.r[RDX] = uint64_t(int64_t(lb));
  const uint64_t fmask = FLAG_CF | FLAG_ZF | FLAG_SF | FLAG_OF | FLAG_AF | FLAG_PF;
  auto flags = [&](bool cf, bool zf, bool sf, bool of) {
    return uint64_t(cf) * FLAG_CF | uint64_t(zf) * FLAG_ZF | uint64_t(sf) * FLAG_SF | uint64_t(of) * FLAG_OF;
  };
  REQUIRE(run(f.c, reg_inst("pcmpistri_v_w_ib", kLeg, 1, 2, 0, I)) == -1);
  CHECK(f.c.r[RCX] == uint32_t(_mm_cmpistri(A, B, I)));
  CHECK((f.c.get_rflags() & fmask) ==
        flags(_mm_cmpistrc(A, B, I), _mm_cmpistrz(A, B, I), _mm_cmpistrs(A, B, I), _mm_cmpistro(A, B, I)));
  REQUIRE(run(f.c, reg_inst("pcmpestri_v_w_ib", kLeg, 1, 2, 0, I)) == -1);
  CHECK(f.c.r[RCX] == uint32_t(_mm_cmpestri(A, la, B, lb, I)));
  CHECK((f.c.get_rflags() & fmask) == flags(_mm_cmpestrc(A, la, B, lb, I), _mm_cmpestrz(A, la, B, lb, I),
                                             _mm_cmpestrs(A, la, B, lb, I), _mm_cmpestro(A, la, B, lb, I)));
  REQUIRE(run(f.c, reg_inst("vpcmpistrm_v_w_ib", kV128, 1, 2, 0, I)) == -1);
  CHECK(same128(f.c.v[0], _mm_cmpistrm(A, B, I)));
  CHECK(f.c.v[0].u64[2] == 0);
  REQUIRE(run(f.c, reg_inst("pcmpestrm_v_w_ib", kLeg, 1, 2, 0, I)) == -1);
  CHECK(same128(f.c.v[0], _mm_cmpestrm(A, la, B, lb, I)));
}
template <int... I>
void check_pcmpstr_all(Fixture& f, const VecReg& a, const VecReg& b, int la, int lb, std::integer_sequence<int, I...>) {
  (check_pcmpstr<I>(f, a, b, la, lb), ...);
}
}  // namespace

TEST_CASE("PCMPxSTRx match the host for every imm8", "[simd]") {
  Fixture f;
  for (int i = 0; i < 12; i++) {
    VecReg a = simd::zero_vec(), b = simd::zero_vec();
    // Small alphabets make matches, ranges and substrings likely; random nulls.
    for (unsigned k = 0; k < 16; k++) {
      a.u8[k] = uint8_t(f.rng() % 4 ? 'a' + f.rng() % 4 : (f.rng() % 2 ? 0 : 0x80 + f.rng() % 4));
      b.u8[k] = uint8_t(f.rng() % 5 ? 'a' + f.rng() % 4 : (f.rng() % 2 ? 0 : 0x80 + f.rng() % 4));
    }
    int la = int(f.rng() % 40) - 20, lb = int(f.rng() % 40) - 20;
    check_pcmpstr_all(f, a, b, la, lb, std::make_integer_sequence<int, 128>{});
  }
}

// ---- unmasked SIMD floating-point exceptions against the host ---------------------------------
// The simulator computes with every exception masked and derives #XM and the flags
// from the result (simd.h fp_commit); here the host runs the same instruction with
// the guest's masks and its SIGFPE tells whether it trapped and with which flags.
#include <csetjmp>
#include <csignal>
#include <ucontext.h>

namespace {
sigjmp_buf g_trap_jmp;
volatile uint32_t g_trap_mxcsr;
void on_sigfpe(int, siginfo_t*, void* ctx) {
  g_trap_mxcsr = static_cast<ucontext_t*>(ctx)->uc_mcontext.fpregs->mxcsr;
  siglongjmp(g_trap_jmp, 1);
}

struct HostRun {
  bool trapped;
  uint32_t mxcsr;
  VecReg r;
};
// Runs `insn` (an AT&T "op %xmm1, %xmm0" with xmm0 = a, xmm1 = b) under `mxcsr`.
template <class F>
HostRun host_run(uint32_t mxcsr, F op) {
  struct sigaction sa = {}, old = {};
  sa.sa_sigaction = on_sigfpe;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGFPE, &sa, &old);
  uint32_t host = _mm_getcsr();
  HostRun out{};
  if (sigsetjmp(g_trap_jmp, 1) == 0) {
    _mm_setcsr(mxcsr);
    out.r = op();
    out.mxcsr = _mm_getcsr();
    out.trapped = false;
  } else {
    out.trapped = true;
    out.mxcsr = g_trap_mxcsr;
  }
  _mm_setcsr(host);
  sigaction(SIGFPE, &old, nullptr);
  return out;
}

uint32_t special_f32(std::mt19937_64& rng) {
  static const uint32_t k[] = {0x00000001, 0x007FFFFF, 0x00800000, 0x00400000, 0x80000003, 0x7F7FFFFF,
                               0x7F000000, 0xFF7FFFFF, 0x7F800000, 0xFF800000, 0x7FC00000, 0x7FA00000,
                               0x3F800000, 0x40400000, 0x00000000, 0x80000000, 0x0C000000, 0x33800000};
  return rng() % 3 ? k[rng() % (sizeof(k) / 4)] : uint32_t(rng());
}
uint64_t special_f64(std::mt19937_64& rng) {
  static const uint64_t k[] = {0x1, 0x000FFFFFFFFFFFFF, 0x0010000000000000, 0x8000000000000003,
                               0x7FEFFFFFFFFFFFFF, 0x7FE0000000000000, 0x7FF0000000000000, 0x7FF8000000000000,
                               0x7FF4000000000000, 0x3FF0000000000000, 0x4008000000000000, 0,
                               0x0180000000000000, 0x3CA0000000000000, 0x47EFFFFFE0000000, 0x36A0000000000000};
  return rng() % 3 ? k[rng() % (sizeof(k) / 8)] : rng();
}
}  // namespace

#define NS_HOST_XMM(INSN)                                                              \
  [&]() {                                                                              \
    __m128 x = _mm_load_ps(a.f32), y = _mm_load_ps(b.f32);                             \
    asm volatile(INSN " %[y], %[x]" : [x] "+x"(x) : [y] "x"(y));                        \
    VecReg r;                                                                          \
    _mm_store_ps(r.f32, x);                                                            \
    return r;                                                                          \
  }

TEST_CASE("unmasked SIMD FP exceptions match the host (#XM, flags, no write)", "[simd]") {
  Fixture f;
  const char* names[] = {"addps_v_w", "mulps_v_w", "divps_v_w", "sqrtps_v_w", "addss_v_w",
                         "subss_v_w", "mulss_v_w", "divss_v_w", "minps_v_w", "cvtps2dq_v_w",
                         "cvttps2dq_v_w", "cmpps_v_w_ib", "addpd_v_w", "mulsd_v_w", "divpd_v_w",
                         "subsd_v_w", "cvtsd2ss_v_w", "cvtpd2ps_v_w"};
  unsigned traps = 0, cases = 0;
  for (const char* name : names) {
    INFO(name);
    for (int i = 0; i < 400; i++) {
      VecReg a = simd::zero_vec(), b = simd::zero_vec();
      bool dbl = std::string(name).find("pd") != std::string::npos || std::string(name).find("sd") != std::string::npos;
      for (unsigned k = 0; k < 4; k++) a.u32[k] = special_f32(f.rng), b.u32[k] = special_f32(f.rng);
      if (dbl)
        for (unsigned k = 0; k < 2; k++) a.u64[k] = special_f64(f.rng), b.u64[k] = special_f64(f.rng);
      uint32_t mx = (0x1F80 & ~uint32_t((f.rng() % 64) << 7)) | uint32_t(f.rng() % 4) << 13;
      if (f.rng() % 4 == 0) mx |= 0x8040;
      HostRun h;
      std::string n = name;
      if (n == "addps_v_w") h = host_run(mx, NS_HOST_XMM("addps"));
      else if (n == "mulps_v_w") h = host_run(mx, NS_HOST_XMM("mulps"));
      else if (n == "divps_v_w") h = host_run(mx, NS_HOST_XMM("divps"));
      else if (n == "sqrtps_v_w") h = host_run(mx, NS_HOST_XMM("sqrtps"));
      else if (n == "addss_v_w") h = host_run(mx, NS_HOST_XMM("addss"));
      else if (n == "subss_v_w") h = host_run(mx, NS_HOST_XMM("subss"));
      else if (n == "mulss_v_w") h = host_run(mx, NS_HOST_XMM("mulss"));
      else if (n == "divss_v_w") h = host_run(mx, NS_HOST_XMM("divss"));
      else if (n == "minps_v_w") h = host_run(mx, NS_HOST_XMM("minps"));
      else if (n == "cvtps2dq_v_w") h = host_run(mx, NS_HOST_XMM("cvtps2dq"));
      else if (n == "cvttps2dq_v_w") h = host_run(mx, NS_HOST_XMM("cvttps2dq"));
      else if (n == "addpd_v_w") h = host_run(mx, NS_HOST_XMM("addpd"));
      else if (n == "mulsd_v_w") h = host_run(mx, NS_HOST_XMM("mulsd"));
      else if (n == "divpd_v_w") h = host_run(mx, NS_HOST_XMM("divpd"));
      else if (n == "subsd_v_w") h = host_run(mx, NS_HOST_XMM("subsd"));
      else if (n == "cvtsd2ss_v_w") h = host_run(mx, NS_HOST_XMM("cvtsd2ss"));
      else if (n == "cvtpd2ps_v_w") h = host_run(mx, NS_HOST_XMM("cvtpd2ps"));
      else h = host_run(mx, NS_HOST_XMM("cmpps $1,"));
      f.c.v[0] = a;
      f.c.v[1] = b;
      f.c.mxcsr = mx;
      int v = run(f.c, reg_inst(name, kLeg, 0, 1, 0, 1));
      cases++;
      traps += h.trapped;
      INFO("case " << i << " mxcsr " << std::hex << mx << " a " << a.u32[0] << " " << a.u32[1] << " "
                   << a.u32[2] << " " << a.u32[3] << " b " << b.u32[0] << " " << b.u32[1] << " " << b.u32[2]
                   << " " << b.u32[3] << " host mxcsr " << h.mxcsr << " sim mxcsr " << f.c.mxcsr);
      REQUIRE((v == VEC_XM) == h.trapped);
      REQUIRE(f.c.mxcsr == h.mxcsr);
      if (!h.trapped) REQUIRE(std::memcmp(&f.c.v[0], &h.r, 16) == 0);
      else REQUIRE(std::memcmp(&f.c.v[0], &a, 16) == 0);
    }
  }
  WARN(cases << " cases, " << traps << " host traps");
}

// Every SIMD form gcc 12 emitted for a corpus of ordinary C kernels (saxpy, dot
// products, conversions, min/max, shifts, gathers, rounding, memcpy ...) at -O2/-O3,
// with -march=x86-64-v3 and for baseline x86-64/SSE4.2: objdump, decoded by
// isa::decode, 4997 instructions in 250 forms. Each must have semantics here.
TEST_CASE("the forms gcc -O2 -march=x86-64-v3 emits are all bound", "[simd]") {
  const char* const kGccForms[] = {
      "addpd_v_w", "addps_v_w", "addsd_v_w", "addss_v_w", "andnpd_v_w", "andnps_v_w",
      "andpd_v_w", "andps_v_w", "blendvps_v_w", "cmpps_v_w_ib", "cmpsd_v_w_ib", "cmpss_v_w_ib",
      "comisd_v_w", "comiss_v_w", "cvtdq2ps_v_w", "cvtpd2ps_v_w", "cvtps2pd_v_w",
      "cvtsd2ss_v_w", "cvtsi2sd_v_e", "cvtsi2ss_v_e", "cvtss2sd_v_w", "cvttps2dq_v_w",
      "cvttsd2si_g_w", "cvttss2si_g_w", "divsd_v_w", "maxss_v_w", "minss_v_w", "movapd_v_w",
      "movaps_v_w", "movd_e_v", "movd_v_e", "movddup_v_w", "movdqa_v_w", "movdqu_v_w",
      "movhlps_v_u", "movhpd_v_m", "movlhps_v_u", "movlpd_v_m", "movlps_m_v", "movq_v_w",
      "movq_w_v", "movsd_v_w", "movsd_w_v", "movsldup_v_w", "movss_v_w", "movss_w_v",
      "movupd_v_w", "movups_v_w", "movups_w_v", "mulpd_v_w", "mulps_v_w", "mulsd_v_w",
      "mulss_v_w", "orpd_v_w", "orps_v_w", "packusdw_v_w", "packuswb_v_w", "paddb_v_w",
      "paddd_v_w", "paddq_v_w", "pand_v_w", "pandn_v_w", "pavgb_v_w", "pblendvb_v_w",
      "pcmpeqb_v_w", "pcmpgtb_v_w", "pcmpgtd_v_w", "pcmpgtw_v_w", "pmaxsd_v_w", "pminsd_v_w",
      "pminud_v_w", "pmovsxbw_v_w", "pmovsxdq_v_w", "pmovsxwd_v_w", "pmovzxbw_v_w",
      "pmovzxwd_v_w", "pmulld_v_w", "pmullw_v_w", "pmuludq_v_w", "por_v_w", "pshufb_v_w",
      "pshufd_v_w_ib", "pshuflw_v_w_ib", "pslld_u_ib", "psraw_u_ib", "psrld_v_w", "psrldq_u_ib",
      "psrlq_u_ib", "psubd_v_w", "psubusb_v_w", "punpckhbw_v_w", "punpckhdq_v_w",
      "punpckhwd_v_w", "punpcklbw_v_w", "punpckldq_v_w", "punpcklqdq_v_w", "punpcklwd_v_w",
      "pxor_v_w", "roundsd_v_w_ib", "roundss_v_w_ib", "shufps_v_w_ib", "sqrtsd_v_w",
      "sqrtss_v_w", "subpd_v_w", "subsd_v_w", "subss_v_w", "ucomisd_v_w", "ucomiss_v_w",
      "unpckhpd_v_w", "unpckhps_v_w", "unpcklpd_v_w", "vaddpd_v_h_w", "vaddps_v_h_w",
      "vaddsd_v_h_w", "vaddss_v_h_w", "vandnps_v_h_w", "vandpd_v_h_w", "vandps_v_h_w",
      "vblendvps_v_h_w_l", "vbroadcastsd_v_w", "vbroadcastss_v_w", "vcmpps_v_h_w_ib",
      "vcomisd_v_w", "vcomiss_v_w", "vcvtdq2ps_v_w", "vcvtpd2ps_v_w", "vcvtps2pd_v_w",
      "vcvtps2ph_w_v_ib", "vcvtsd2si_g_w", "vcvtsd2ss_v_h_w", "vcvtsi2sd_v_h_e",
      "vcvtsi2ss_v_h_e", "vcvtss2sd_v_h_w", "vcvttps2dq_v_w", "vcvttsd2si_g_w",
      "vcvttss2si_g_w", "vdivsd_v_h_w", "vextractf128_w_v_ib", "vextracti128_w_v_ib",
      "vfmadd132pd_v_h_w", "vfmadd132ps_v_h_w", "vfmadd132ss_v_h_w", "vfmadd213ps_v_h_w",
      "vfmadd213sd_v_h_w", "vfmadd213ss_v_h_w", "vfmadd231pd_v_h_w", "vfmadd231ps_v_h_w",
      "vfmadd231sd_v_h_w", "vfmadd231ss_v_h_w", "vfmsub231pd_v_h_w", "vfmsub231sd_v_h_w",
      "vfnmadd132sd_v_h_w", "vinsertf128_v_h_w_ib", "vinserti128_v_h_w_ib", "vmaxps_v_h_w",
      "vmaxss_v_h_w", "vminps_v_h_w", "vminss_v_h_w", "vmovaps_v_w", "vmovd_e_v", "vmovd_v_e",
      "vmovdqa_v_w", "vmovdqa_w_v", "vmovdqu_v_w", "vmovdqu_w_v", "vmovhlps_v_h_u",
      "vmovhpd_v_h_m", "vmovlpd_m_v", "vmovq_v_w", "vmovq_w_v", "vmovsd_m_v", "vmovsd_v_h_u",
      "vmovsd_v_m", "vmovss_m_v", "vmovss_v_m", "vmovupd_v_w", "vmovupd_w_v", "vmovups_v_w",
      "vmovups_w_v", "vmulpd_v_h_w", "vmulps_v_h_w", "vmulsd_v_h_w", "vmulss_v_h_w",
      "vorpd_v_h_w", "vpackusdw_v_h_w", "vpackuswb_v_h_w", "vpaddb_v_h_w", "vpaddd_v_h_w",
      "vpaddq_v_h_w", "vpalignr_v_h_w_ib", "vpand_v_h_w", "vpandn_v_h_w", "vpavgb_v_h_w",
      "vpblendvb_v_h_w_l", "vpbroadcastb_v_w", "vpbroadcastd_v_w", "vpbroadcastq_v_w",
      "vpbroadcastw_v_w", "vpcmpeqb_v_h_w", "vpcmpeqd_v_h_w", "vpcmpgtd_v_h_w", "vpermd_v_h_w",
      "vpermilpd_v_w_ib", "vpermpd_v_w_ib", "vpermq_v_w_ib", "vpextrw_e_v_ib",
      "vpinsrd_v_h_e_ib", "vpmaxsd_v_h_w", "vpminsd_v_h_w", "vpminud_v_h_w", "vpmovsxbw_v_w",
      "vpmovsxdq_v_w", "vpmovsxwd_v_w", "vpmovzxbw_v_w", "vpmovzxdq_v_w", "vpmovzxwd_v_w",
      "vpmulld_v_h_w", "vpmullw_v_h_w", "vpmuludq_v_h_w", "vpshufd_v_w_ib", "vpslld_h_u_ib",
      "vpsllq_h_u_ib", "vpsllvd_v_h_w", "vpsraw_h_u_ib", "vpsrld_v_h_w", "vpsrldq_h_u_ib",
      "vpsrlq_h_u_ib", "vpsubd_v_h_w", "vpsubusb_v_h_w", "vpunpcklqdq_v_h_w", "vpxor_v_h_w",
      "vroundsd_v_h_w_ib", "vroundss_v_h_w_ib", "vshufpd_v_h_w_ib", "vshufps_v_h_w_ib",
      "vsqrtpd_v_w", "vsqrtsd_v_h_w", "vsqrtss_v_h_w", "vsubsd_v_h_w", "vsubss_v_h_w",
      "vucomisd_v_w", "vucomiss_v_w", "vunpckhpd_v_h_w", "vunpckhps_v_h_w", "vunpcklpd_v_h_w",
      "vxorpd_v_h_w", "vxorps_v_h_w", "vzeroupper", "xorpd_v_w", "xorps_v_w",
  };
  for (const char* n : kGccForms) {
    INFO(n);
    const Binding* b = simd::find_binding(n);
    REQUIRE(b != nullptr);
    CHECK(b->form != Form::invalid);
    CHECK(handler_table().h[unsigned(b->form)][0][0] == b->h[0][0]);
  }
}
