// Integer semantics outside 64-bit mode, which the host differential harness
// cannot run natively (it is a 64-bit process): the F_I64 forms (BCD, PUSHA/POPA,
// segment pushes, INC/DEC r, BOUND, SALC, the 82 aliases) and 16/32-bit operand
// and address sizes. Expected values are worked out from the SDM pseudo-code.
#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <vector>

#include "isa/bind.h"
#include "isa/cpu.h"
#include "isa/flags.h"
#include "tests/support/flat_bus.h"

namespace {

using namespace isa;

struct Rig {
  std::vector<uint8_t> ram = std::vector<uint8_t>(0x20000);
  nstest::FlatBus bus;
  std::unique_ptr<Cpu> cpu = std::make_unique<Cpu>();
  Cpu& c = *cpu;
  CodeSize mode;

  explicit Rig(CodeSize m) : mode(m) {
    bus.add_region(0, ram.size(), ram.data());
    c.bus = &bus;
    c.long64 = false;
    c.code_size = m;
    c.cr0 = 0x11;  // PE: protected mode, flat segments
    bool big = m == CodeSize::k32;
    for (auto& s : c.seg) {
      s.base = 0;
      s.limit = big ? 0xFFFFFFFF : 0xFFFF;
      s.attr = uint16_t(0x93 | (big ? 0xC000 : 0));  // data RW, present, D/B, G
    }
    c.seg[CS].attr = uint16_t(0x9B | (big ? 0xC000 : 0));
    c.r[RSP] = 0x8000;
    c.set_rflags(2);
  }
  // Executes one instruction at c.rip(); returns the fault vector or -1.
  int step(std::vector<uint8_t> bytes) {
    DecodedInst d;
    bytes.resize(16, 0x90);
    REQUIRE(decode(bytes.data(), 16, mode, d) == kDecodeOk);
    uint64_t start = c.rip();
    c.rip() = start + d.len;
    try {
      d.fn(c, d);
    } catch (const CpuFault& f) {
      c.rip() = start;
      return f.vector;
    }
    return -1;
  }
  uint64_t flags() const { return c.get_rflags(); }
  uint32_t rd32(uint64_t a) { uint32_t v; std::memcpy(&v, &ram[a], 4); return v; }
  uint16_t rd16(uint64_t a) { uint16_t v; std::memcpy(&v, &ram[a], 2); return v; }
};

}  // namespace

TEST_CASE("DAA/DAS adjust packed BCD after ADD/SUB", "[isa_int]") {
  Rig r(CodeSize::k32);
  r.step({0xB0, 0x79});  // mov al, 79h
  r.step({0x04, 0x35});  // add al, 35h -> AEh
  r.step({0x27});        // daa -> 14h, CF (79 + 35 = 114)
  CHECK(r.c.reg<uint8_t>(RAX) == 0x14);
  CHECK((r.flags() & FLAG_CF));
  CHECK((r.flags() & FLAG_AF));
  r.step({0xB0, 0x35});
  r.step({0x2C, 0x47});  // sub al, 47h -> EEh, CF, AF
  r.step({0x2F});        // das -> 88h with borrow (35 - 47 = -12)
  CHECK(r.c.reg<uint8_t>(RAX) == 0x88);
  CHECK((r.flags() & FLAG_CF));
}

TEST_CASE("AAA/AAS/AAM/AAD adjust unpacked BCD", "[isa_int]") {
  Rig r(CodeSize::k32);
  r.step({0x66, 0xB8, 0x09, 0x00});  // mov ax, 9
  r.step({0x04, 0x08});              // add al, 8 -> 11h, AF
  r.step({0x37});                    // aaa -> AX = 0107h
  CHECK(r.c.reg<uint16_t>(RAX) == 0x0107);
  CHECK((r.flags() & (FLAG_CF | FLAG_AF)) == (FLAG_CF | FLAG_AF));
  r.step({0x66, 0xB8, 0x02, 0x01});  // mov ax, 0102h
  r.step({0x2C, 0x05});              // sub al, 5 -> FDh, AF
  r.step({0x3F});                    // aas -> AX = 0007h (12 - 5)
  CHECK(r.c.reg<uint16_t>(RAX) == 0x0007);
  CHECK((r.flags() & FLAG_CF));
  r.step({0xB0, 63});
  r.step({0xD4, 10});  // aam -> AH = 6, AL = 3
  CHECK(r.c.reg<uint16_t>(RAX) == 0x0603);
  r.step({0xD5, 10});  // aad -> AL = 63, AH = 0
  CHECK(r.c.reg<uint16_t>(RAX) == 63);
  CHECK(r.step({0xD4, 0}) == VEC_DE);  // AAM 0: #DE, nothing changed
  CHECK(r.c.reg<uint16_t>(RAX) == 63);
}

TEST_CASE("SALC, INC/DEC r and the 82 group alias outside 64-bit mode", "[isa_int]") {
  Rig r(CodeSize::k32);
  r.step({0xF9});  // stc
  r.step({0xD6});  // salc
  CHECK(r.c.reg<uint8_t>(RAX) == 0xFF);
  r.step({0xB8, 0xFF, 0xFF, 0xFF, 0x7F});  // mov eax, 7FFFFFFFh
  r.step({0x40});                          // inc eax: OF, CF kept
  CHECK(r.c.r[RAX] == 0x80000000u);
  CHECK((r.flags() & (FLAG_OF | FLAG_CF | FLAG_SF)) == (FLAG_OF | FLAG_CF | FLAG_SF));
  r.step({0x4B});  // dec ebx: 0 -> FFFFFFFFh
  CHECK(r.c.r[RBX] == 0xFFFFFFFFu);
  r.step({0x82, 0xC3, 0x02});  // add bl, 2 (82 /0 alias)
  CHECK(r.c.reg<uint8_t>(RBX) == 0x01);
  CHECK((r.flags() & FLAG_CF));
}

TEST_CASE("PUSHA/POPA and segment pushes with a 32-bit stack", "[isa_int]") {
  Rig r(CodeSize::k32);
  for (unsigned i = 0; i < 8; i++)
    if (i != RSP) r.c.r[i] = 0x1000 + i;
  r.step({0x60});  // pushad
  CHECK(r.c.r[RSP] == 0x8000 - 32);
  CHECK(r.rd32(0x8000 - 4) == 0x1000);        // EAX first
  CHECK(r.rd32(0x8000 - 20) == 0x8000);       // original ESP
  CHECK(r.rd32(0x8000 - 32) == 0x1000 + RDI);  // EDI last
  for (unsigned i = 0; i < 8; i++)
    if (i != RSP) r.c.r[i] = 0;
  r.step({0x61});  // popad
  CHECK(r.c.r[RSP] == 0x8000);
  CHECK(r.c.r[RSI] == 0x1000 + RSI);
  r.c.seg[ES].selector = 0x23;
  r.step({0x06});  // push es: ESP -= 4
  CHECK(r.c.r[RSP] == 0x8000 - 4);
  CHECK(r.rd16(0x8000 - 4) == 0x23);
  r.step({0x66, 0x1E});  // push ds with a 16-bit operand: ESP -= 2
  CHECK(r.c.r[RSP] == 0x8000 - 6);
}

TEST_CASE("BOUND raises #BR outside the bounds", "[isa_int]") {
  Rig r(CodeSize::k32);
  uint32_t b[2] = {10, 20};
  std::memcpy(&r.ram[0x3000], b, 8);
  r.c.r[RBX] = 0x3000;
  r.c.r[RAX] = 15;
  CHECK(r.step({0x62, 0x03}) == -1);  // bound eax, [ebx]
  r.c.r[RAX] = 21;
  CHECK(r.step({0x62, 0x03}) == VEC_BR);
  r.c.r[RAX] = uint32_t(-1);  // signed: below 10
  CHECK(r.step({0x62, 0x03}) == VEC_BR);
}

TEST_CASE("16-bit code: IP wraps, LOOP uses CX, strings use SI/DI", "[isa_int]") {
  Rig r(CodeSize::k16);
  r.c.rip() = 0xFFF0;
  r.step({0xEB, 0x20});  // jmp short +20h from FFF2h -> 0012h
  CHECK(r.c.rip() == 0x0012);
  r.c.r[RCX] = 0x12340000;  // CX = 0: LOOP decrements to FFFFh and jumps
  r.step({0xE2, 0x10});
  CHECK(r.c.r[RCX] == 0x1234FFFF);
  CHECK(r.c.rip() == 0x0012 + 2 + 0x10);
  r.c.r[RCX] = 0x00010001;  // CX = 1: falls through, CX = 0
  uint64_t ip = r.c.rip();
  r.step({0xE2, 0x10});
  CHECK(r.c.r[RCX] == 0x00010000);
  CHECK(r.c.rip() == ip + 2);
  // rep movsb with SI wrapping past FFFFh inside the 64 KiB segment.
  r.ram[0xFFFF] = 0xAB;
  r.ram[0x0000] = 0xCD;
  r.c.r[RSI] = 0xABCDFFFF;
  r.c.r[RDI] = 0x2000;
  r.c.r[RCX] = 2;
  r.step({0xF3, 0xA4});
  CHECK(r.ram[0x2000] == 0xAB);
  CHECK(r.ram[0x2001] == 0xCD);
  CHECK(r.c.r[RSI] == 0xABCD0001);  // only SI is written
  CHECK(r.c.reg<uint16_t>(RCX) == 0);
}

TEST_CASE("a fault in the middle of REP MOVS leaves the completed iterations", "[isa_int]") {
  Rig r(CodeSize::k32);
  r.c.r[RSI] = 0x1000;
  r.c.r[RDI] = 0x20000 - 8;  // the region ends after 8 bytes
  r.c.r[RCX] = 4;
  CHECK(r.step({0xF3, 0xA5}) == VEC_PF);  // rep movsd: 2 dwords fit
  CHECK(r.c.r[RCX] == 2);
  CHECK(r.c.r[RSI] == 0x1008);
  CHECK(r.c.r[RDI] == 0x20000);
}

TEST_CASE("POPF honours CPL and IOPL; PUSHF clears VM and RF", "[isa_int]") {
  Rig r(CodeSize::k32);
  r.c.cpl = 3;
  r.c.set_rflags(0x202);  // IF = 1, IOPL = 0
  uint32_t v = 0x3000 | 0x8D5 | 0x400;  // IOPL 3, IF 0, arithmetic flags, DF
  std::memcpy(&r.ram[0x8000], &v, 4);
  r.step({0x9D});  // popfd at CPL 3 > IOPL: IF and IOPL unchanged
  CHECK((r.flags() & FLAG_IF));
  CHECK((r.flags() & FLAG_IOPL) == 0);
  CHECK((r.flags() & 0xCD5) == 0xCD5);
  r.c.cpl = 0;
  r.c.r[RSP] = 0x8000;
  r.step({0x9D});  // at CPL 0 both change
  CHECK(!(r.flags() & FLAG_IF));
  CHECK((r.flags() & FLAG_IOPL) == FLAG_IOPL);
  r.c.rflags |= FLAG_RF;
  r.step({0x9C});  // pushfd
  CHECK((r.rd32(uint32_t(r.c.r[RSP])) & FLAG_RF) == 0);
}

TEST_CASE("lazy flags: every kind evaluates like the eager definition", "[isa_int]") {
  // add/sub/inc/dec/neg/logic results followed by each condition code, against
  // flags computed from first principles.
  Rig r(CodeSize::k32);
  const uint32_t vals[] = {0, 1, 0x7F, 0x80, 0xFF, 0x7FFFFFFF, 0x80000000u, 0xFFFFFFFFu, 0x12345678};
  for (uint32_t a : vals) {
    for (uint32_t b : vals) {
      r.c.r[RAX] = a;
      r.c.r[RBX] = b;
      r.step({0x29, 0xD8});  // sub eax, ebx
      uint32_t res = a - b;
      bool cf = a < b, zf = res == 0, sf = res >> 31;
      bool of = ((a ^ b) & (a ^ res)) >> 31;
      bool pf = !__builtin_parity(res & 0xFF);
      bool af = (a ^ b ^ res) & 0x10;
      uint64_t f = r.flags();
      CHECK(bool(f & FLAG_CF) == cf);
      CHECK(bool(f & FLAG_ZF) == zf);
      CHECK(bool(f & FLAG_SF) == sf);
      CHECK(bool(f & FLAG_OF) == of);
      CHECK(bool(f & FLAG_PF) == pf);
      CHECK(bool(f & FLAG_AF) == af);
      CHECK(cond(r.c, 0xC) == (int32_t(a) < int32_t(b)));   // L
      CHECK(cond(r.c, 0x6) == (a <= b));                    // BE
      CHECK(cond(r.c, 0xF) == (int32_t(a) > int32_t(b)));   // G
      r.step({0xD1, 0xC0});  // rol eax, 1: CF/OF replaced, SF/ZF/PF/AF kept
      uint64_t g = r.flags();
      CHECK((g & (FLAG_SF | FLAG_ZF | FLAG_PF | FLAG_AF)) == (f & (FLAG_SF | FLAG_ZF | FLAG_PF | FLAG_AF)));
      CHECK(bool(g & FLAG_CF) == bool(res >> 31));
    }
  }
}
