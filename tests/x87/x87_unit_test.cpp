// Hand-written x87 and XSAVE-family cases for what the host differential cannot reach:
// #NM/#MF/#UD/#GP rules, precise faults, 16-bit and real-mode environment layouts,
// XGETBV/XSETBV, FXSAVE outside 64-bit mode and fast FXSAVE.
#include <catch2/catch.hpp>

#include <sys/mman.h>

#include <initializer_list>
#include <vector>

#include "harness.h"

using namespace isa;
using namespace isa::x87;
using namespace x87test;

namespace {

struct Machine {
  FlatBus bus;
  uint8_t* arena;
  Cpu c;
  // The arena sits below 4 GiB so that 16- and 32-bit modes can address it with
  // zero-based segments (guest linear address = host address, see harness.h).
  Machine() {
    void* p = mmap(reinterpret_cast<void*>(0x40000000), 1 << 16, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("cannot map the test arena at 1 GiB");
    arena = static_cast<uint8_t*>(p);
    bus.lo = reinterpret_cast<uintptr_t>(arena);
    bus.size = 1 << 16;
    init_cpu(c, bus);
    c.r[RBX] = reinterpret_cast<uint64_t>(arena + 4096);
  }
  ~Machine() { munmap(arena, 1 << 16); }
  void legacy_mode(CodeSize cs, bool real) {
    if (real) m_real();
    c.code_size = cs;
    c.long64 = false;
    for (auto& s : c.seg) {
      s.base = 0;
      s.limit = 0xFFFFFFFF;
      s.attr = cs == CodeSize::k32 ? 0xC093 : 0x0093;
    }
  }
  void m_real() { c.cr0 &= ~uint64_t(0x80000001); }
  uint8_t* mem() { return arena + 4096; }
  // Runs one instruction at linear address 0x1000 (never fetched); returns the vector or -1.
  int run(std::initializer_list<uint8_t> bytes) {
    std::vector<uint8_t> v(bytes);
    return run_sim(c, v.data(), unsigned(v.size()), 0x1000);
  }
  long double st0() {
    long double v = 0;
    std::memcpy(&v, &st(c.x87, 0), 10);
    return v;
  }
  void set_double(double d) { std::memcpy(mem(), &d, 8); }
};

constexpr int kNone = -1;

}  // namespace

TEST_CASE("x87.basic_arithmetic", "[x87]") {
  Machine m;
  m.set_double(2.5);
  CHECK(m.run({0xDD, 0x03}) == kNone);  // fld qword [rbx]
  CHECK(m.run({0xD9, 0xE8}) == kNone);  // fld1
  CHECK(m.run({0xDE, 0xE9}) == kNone);  // fsubp st(1), st: ST(1) = 2.5 - 1
  CHECK(m.st0() == 1.5L);
  CHECK(top(m.c.x87) == 7);
  CHECK(m.run({0xD9, 0xFA}) == kNone);  // fsqrt
  CHECK(m.run({0xDD, 0x1B}) == kNone);  // fstp qword [rbx]
  double d;
  std::memcpy(&d, m.mem(), 8);
  CHECK(d == Approx(1.224744871391589));
  CHECK(m.c.x87.ftw == 0xFFFF);
  CHECK((m.c.x87.fsw & SW_PE) != 0);
  CHECK(m.c.x87.fip == 0x1000);
}

TEST_CASE("x87.nm_rules", "[x87]") {
  Machine m;
  m.c.cr0 |= CR0_EM;
  CHECK(m.run({0xD9, 0xE8}) == VEC_NM);   // fld1
  CHECK(m.run({0x9B}) == kNone);           // fwait ignores EM
  CHECK(m.run({0x0F, 0xAE, 0x03}) == VEC_NM);  // fxsave: EM too
  m.c.cr0 &= ~CR0_EM;
  m.c.cr0 |= CR0_TS;
  CHECK(m.run({0xDB, 0xE3}) == VEC_NM);   // fninit
  m.c.cr0 &= ~CR0_MP;
  CHECK(m.run({0x9B}) == kNone);           // fwait: #NM only with MP and TS
  m.c.cr0 |= CR0_MP;
  CHECK(m.run({0x9B}) == VEC_NM);
  m.c.r[RAX] = 7;
  m.c.r[RDX] = 0;
  CHECK(m.run({0x0F, 0xAE, 0x23}) == VEC_NM);  // xsave
  CHECK(m.run({0x0F, 0xAE, 0x13}) == VEC_NM);  // ldmxcsr
}

TEST_CASE("x87.pending_exception_mf", "[x87]") {
  Machine m;
  uint16_t cw = 0x037B;  // ZE unmasked
  std::memcpy(m.mem(), &cw, 2);
  CHECK(m.run({0xD9, 0x2B}) == kNone);  // fldcw [rbx]
  CHECK(m.run({0xD9, 0xE8}) == kNone);  // fld1
  CHECK(m.run({0xD9, 0xEE}) == kNone);  // fldz
  CHECK(m.run({0xDC, 0xF9}) == kNone);  // fdivr st(1), st -> 1/0 with ZE unmasked
  CHECK((m.c.x87.fsw & (SW_ZE | SW_ES | SW_B)) == (SW_ZE | SW_ES | SW_B));
  CHECK(top(m.c.x87) == 6);             // nothing popped, nothing written
  CHECK(m.c.x87.fop == 0x4F9);          // DC F9
  uint64_t fip = m.c.x87.fip;
  CHECK(m.run({0xD9, 0xE8}) == VEC_MF); // next waiting instruction
  CHECK(top(m.c.x87) == 6);
  CHECK(m.c.x87.fip == fip);
  CHECK(m.run({0x9B}) == VEC_MF);       // fwait
  CHECK(m.run({0xDF, 0xE0}) == kNone);  // fnstsw ax: no wait
  CHECK((m.c.r[RAX] & 0x80) != 0);
  CHECK(m.run({0xDB, 0xE2}) == kNone);  // fnclex
  CHECK((m.c.x87.fsw & (SW_EXC | SW_ES | SW_B)) == 0);
  CHECK(m.run({0x9B}) == kNone);
  // FLDCW unmasking an already-set flag makes it pending.
  CHECK(m.run({0xD9, 0xFA}) == kNone);  // fsqrt of 0: exact, no flags
  m.c.x87.fsw |= SW_PE;
  cw = 0x035F;
  std::memcpy(m.mem(), &cw, 2);
  CHECK(m.run({0xD9, 0x2B}) == kNone);
  CHECK((m.c.x87.fsw & SW_ES) != 0);
  CHECK(m.run({0xD9, 0xE0}) == VEC_MF);  // fchs
}

TEST_CASE("x87.stack_faults", "[x87]") {
  Machine m;
  CHECK(m.run({0xD8, 0xC1}) == kNone);  // fadd st, st(1) on an empty stack: masked underflow
  CHECK((m.c.x87.fsw & (SW_IE | SW_SF | SW_C1)) == (SW_IE | SW_SF));
  CHECK(!empty(m.c.x87, 0));
  CHECK(st(m.c.x87, 0).sign_exp == 0xFFFF);  // indefinite
  CHECK(m.run({0xDB, 0xE3}) == kNone);
  for (int i = 0; i < 8; i++) REQUIRE(m.run({0xD9, 0xE8}) == kNone);
  CHECK((m.c.x87.fsw & SW_EXC) == 0);
  CHECK(m.run({0xD9, 0xEB}) == kNone);  // fldpi onto a full stack: overflow, C1=1
  CHECK((m.c.x87.fsw & (SW_IE | SW_SF | SW_C1)) == (SW_IE | SW_SF | SW_C1));
  CHECK(st(m.c.x87, 0).sign_exp == 0xFFFF);
}

TEST_CASE("x87.precise_store_fault", "[x87]") {
  Machine m;
  CHECK(m.run({0xD9, 0xE8}) == kNone);
  X87State before = m.c.x87;
  m.c.r[RBX] = 0x10;  // outside the arena: #PF
  CHECK(m.run({0xDD, 0x1B}) == VEC_PF);  // fstp qword [rbx]
  CHECK(m.c.x87.fsw == before.fsw);
  CHECK(m.c.x87.ftw == before.ftw);
  CHECK(m.c.x87.fip == before.fip);
}

TEST_CASE("x87.environment_layouts", "[x87]") {
  Machine m;
  CHECK(m.run({0xD9, 0xE8}) == kNone);
  m.c.x87.fip = 0x12345;
  m.c.x87.fop = 0x5A5;
  m.c.x87.fdp = 0xABCDE;
  X87State want = m.c.x87;
  SECTION("protected mode, 16-bit (66h)") {
    CHECK(m.run({0x66, 0xD9, 0x33}) == kNone);  // fnstenv
    uint16_t w[7];
    std::memcpy(w, m.mem(), 14);
    CHECK(w[0] == want.fcw);
    CHECK(w[1] == want.fsw);
    CHECK(w[2] == want.ftw);
    CHECK(w[3] == 0x2345);  // FIP offset
    CHECK(w[5] == 0xBCDE);  // FDP offset
    CHECK(m.c.x87.fcw == (want.fcw | 0x3F));
    m.c.x87.fcw = 0;
    m.c.x87.ftw = 0xFFFF;
    CHECK(m.run({0x66, 0xD9, 0x23}) == kNone);  // fldenv
    CHECK(m.c.x87.fcw == want.fcw);
    CHECK(m.c.x87.ftw == want.ftw);
    CHECK(m.c.x87.fip == 0x2345);
    CHECK(m.c.x87.fop == 0);
  }
  SECTION("real mode, 32-bit and 16-bit") {
    m.legacy_mode(CodeSize::k16, true);  // "unreal" limits, 67h for 32-bit addressing
    CHECK(m.run({0x67, 0x66, 0xD9, 0x33}) == kNone);  // fnstenv (32-bit layout)
    uint32_t d[7];
    std::memcpy(d, m.mem(), 28);
    CHECK((d[3] & 0xFFFF) == 0x2345);
    CHECK((d[4] & 0x7FF) == 0x5A5);
    CHECK((d[4] >> 12) == 0x1);  // FIP[31:16]
    CHECK((d[6] >> 12) == 0xA);  // FDP[31:16]
    m.c.x87 = X87State{};
    CHECK(m.run({0x67, 0x66, 0xD9, 0x23}) == kNone);  // fldenv
    CHECK(m.c.x87.fip == 0x12345);
    CHECK(m.c.x87.fop == 0x5A5);
    CHECK(m.c.x87.fdp == 0xABCDE);
    m.c.x87 = want;
    CHECK(m.run({0x67, 0xDD, 0x33}) == kNone);  // fnsave, 16-bit layout (94 bytes)
    CHECK(m.c.x87.ftw == 0xFFFF);               // FNSAVE reinitialises
    uint16_t w[7];
    std::memcpy(w, m.mem(), 14);
    CHECK(w[3] == 0x2345);
    CHECK((w[4] & 0x7FF) == 0x5A5);
    CHECK((w[4] >> 12) == 0x1);
    CHECK(m.run({0x67, 0xDD, 0x23}) == kNone);  // frstor
    CHECK(m.c.x87.fsw == want.fsw);
    CHECK(m.c.x87.ftw == want.ftw);
    CHECK(m.c.x87.fip == 0x12345);
    CHECK(m.st0() == 1.0L);
  }
}

TEST_CASE("xsave.xgetbv_xsetbv", "[xsave]") {
  Machine m;
  m.c.r[RCX] = 0;
  CHECK(m.run({0x0F, 0x01, 0xD0}) == kNone);
  CHECK(m.c.r[RAX] == 7);
  CHECK(m.c.r[RDX] == 0);
  m.c.r[RCX] = 1;  // XINUSE: all initial
  CHECK(m.run({0x0F, 0x01, 0xD0}) == kNone);
  CHECK(m.c.r[RAX] == 0);
  m.c.v[3].u64[2] = 1;
  CHECK(m.run({0x0F, 0x01, 0xD0}) == kNone);
  CHECK(m.c.r[RAX] == 4);
  m.c.r[RCX] = 2;
  CHECK(m.run({0x0F, 0x01, 0xD0}) == VEC_GP);

  auto setbv = [&](uint64_t v, uint32_t ecx = 0) {
    m.c.r[RAX] = uint32_t(v);
    m.c.r[RDX] = v >> 32;
    m.c.r[RCX] = ecx;
    return m.run({0x0F, 0x01, 0xD1});
  };
  CHECK(setbv(3) == kNone);
  CHECK(m.c.xcr0 == 3);
  CHECK(setbv(2) == VEC_GP);        // x87 bit must be set
  CHECK(setbv(5) == VEC_GP);        // AVX without SSE
  CHECK(setbv(0xF) == VEC_GP);      // unsupported component
  CHECK(setbv(7, 1) == VEC_GP);     // only XCR0 exists
  m.c.cpl = 3;
  CHECK(setbv(7) == VEC_GP);
  m.c.cpl = 0;
  CHECK(setbv(7) == kNone);
  m.c.cr4 &= ~CR4_OSXSAVE;
  CHECK(setbv(7) == VEC_UD);
  CHECK(m.run({0x0F, 0x01, 0xD0}) == VEC_UD);
  CHECK(m.run({0x0F, 0xAE, 0x23}) == VEC_UD);  // xsave
}

TEST_CASE("xsave.alignment_and_modes", "[xsave]") {
  Machine m;
  m.c.r[RBX] += 8;
  CHECK(m.run({0x0F, 0xAE, 0x03}) == VEC_GP);  // fxsave: 16-byte alignment
  m.c.r[RBX] += 8;
  CHECK(m.run({0x0F, 0xAE, 0x03}) == kNone);
  m.c.r[RAX] = 7;
  m.c.r[RDX] = 0;
  CHECK(m.run({0x0F, 0xAE, 0x23}) == VEC_GP);  // xsave: 64-byte alignment
  m.c.r[RBX] -= 16;

  // Outside 64-bit mode FXSAVE stores XMM0-7 only (bytes 288-415 untouched).
  for (unsigned i = 0; i < 16; i++) m.c.v[i].u64[0] = m.c.v[i].u64[1] = 0x1111111111111111ull * (i + 1);
  std::memset(m.mem(), 0xEE, 512);
  m.legacy_mode(CodeSize::k32, false);
  CHECK(m.run({0x0F, 0xAE, 0x03}) == kNone);
  CHECK(m.mem()[160] == 0x11);
  CHECK(m.mem()[160 + 16 * 7] == 0x88);
  CHECK(m.mem()[160 + 16 * 8] == 0xEE);
  // XSAVE likewise: XMM0-7 and the upper halves of YMM0-7 only.
  for (unsigned i = 0; i < 16; i++) m.c.v[i].u64[2] = m.c.v[i].u64[3] = 0x2222222222222222ull * (i + 1);
  std::memset(m.mem(), 0xEE, 1024);
  std::memset(m.mem() + 512, 0, 64);
  m.c.r[RAX] = 7;
  m.c.r[RDX] = 0;
  CHECK(m.run({0x0F, 0xAE, 0x23}) == kNone);
  CHECK(m.mem()[160 + 16 * 7] == 0x88);
  CHECK(m.mem()[160 + 16 * 8] == 0xEE);
  CHECK(m.mem()[576 + 16 * 7] == 0x10);  // 0x22 * 8, low byte
  CHECK(m.mem()[576 + 16 * 8] == 0xEE);
  CHECK(m.mem()[512] == 6);  // x87 untouched since reset: initial, XSTATE_BV[0]=0
  m.c.cr0 |= 0x80000001;
  m.c.code_size = CodeSize::k64;
  m.c.long64 = true;

  // Fast FXSAVE: EFER.FFXSR at CPL 0 in 64-bit mode skips the XMM registers.
  std::memset(m.mem(), 0xEE, 512);
  m.c.efer |= 1u << 14;
  CHECK(m.run({0x0F, 0xAE, 0x03}) == kNone);
  CHECK(m.mem()[160] == 0xEE);
  CHECK(m.mem()[24] == 0x80);  // MXCSR still saved
  m.c.cpl = 3;
  CHECK(m.run({0x0F, 0xAE, 0x03}) == kNone);
  CHECK(m.mem()[160] == 0x11);
  CHECK(m.mem()[416] == 0xEE);  // bytes 416-511 are never written
}
