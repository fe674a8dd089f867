// Port I/O: IN/OUT in every width, the TSS I/O permission bitmap (edge bits, accesses
// spanning two bytes, a bitmap beyond the TSS limit, 16-bit TSS, IOPL, virtual-8086
// mode), INS/OUTS with REP in every address size and direction, per-port counters.
#include "tests/sys/crmsr_rig.h"

#include <cstdio>

using isa::VEC_GP;

namespace {
// 64-bit CPL 3 with IOPL 0 and an I/O bitmap right after the TSS; `limit` is the TSS
// limit (0x68 + 0x2000 bytes covers all ports and the trailing ones byte).
void setup_bitmap(crmsr::Rig& r, uint32_t limit) {
  r.lm64();
  r.cpu().tr.limit = limit;
  std::memset(r.ram() + crmsr::kTss + 0x68, 0, 0x2001);
  r.ram()[crmsr::kTss + 0x68 + 0x2000] = 0xFF;
  r.user();
}
void deny(crmsr::Rig& r, uint16_t port) {
  r.ram()[crmsr::kTss + 0x68 + port / 8] |= uint8_t(1u << (port & 7));
}
sim::RunResult io_at(crmsr::Rig& r, const std::string& insn, uint16_t port) {
  r.asm64("mov edx, " + std::to_string(port) + "\n" + insn + "\nud2\n");
  return r.run();
}
void expect_ok(const sim::RunResult& res) { crmsr::expect_fault(res, isa::VEC_UD); }
}  // namespace

TEST_CASE("IN/OUT at CPL 0: widths, unassigned ports read all-ones, counters", "[io]") {
  crmsr::Rig r;
  r.lm64();
  r.asm64(
      "mov edx, 0x1234\nmov rax, -1\nxor eax, eax\nin al, dx\nmov r8, rax\n"
      "xor eax, eax\nin ax, dx\nmov r9, rax\nmov rax, -1\nin eax, dx\nmov r10, rax\n"
      "in al, 0x81\nout 0x80, al\nout dx, eax\nhlt\n");
  crmsr::expect_halt(r.run());
  CHECK(r.reg(isa::R8) == 0xFF);
  CHECK(r.reg(isa::R9) == 0xFFFF);
  CHECK(r.reg(isa::R10) == 0xFFFFFFFF);  // 32-bit IN zero-extends into RAX
  CHECK(r.m.io_in_count[0x1234] == 3);
  CHECK(r.m.io_in_count[0x81] == 1);
  CHECK(r.m.io_out_count[0x80] == 1);
  CHECK(r.m.io_out_count[0x1234] == 1);
}

TEST_CASE("I/O permission bitmap at CPL > IOPL", "[io]") {
  SECTION("clear bits allow, set bits deny, per byte of the access") {
    crmsr::Rig r;
    setup_bitmap(r, 0x68 + 0x2000);
    deny(r, 0x80);
    expect_ok(io_at(r, "in al, dx", 0x81));
    crmsr::Rig a;
    setup_bitmap(a, 0x68 + 0x2000);
    deny(a, 0x80);
    crmsr::expect_fault(io_at(a, "in al, dx", 0x80), VEC_GP, 0);
    crmsr::Rig b;
    setup_bitmap(b, 0x68 + 0x2000);
    deny(b, 0x80);
    crmsr::expect_fault(io_at(b, "in ax, dx", 0x7F), VEC_GP, 0);  // 0x7F-0x80
    crmsr::Rig d;
    setup_bitmap(d, 0x68 + 0x2000);
    deny(d, 0x80);
    crmsr::expect_fault(io_at(d, "out dx, eax", 0x7D), VEC_GP, 0);  // 0x7D-0x80
    crmsr::Rig e;
    setup_bitmap(e, 0x68 + 0x2000);
    deny(e, 0x80);
    expect_ok(io_at(e, "out dx, eax", 0x7C));  // 0x7C-0x7F
  }
  SECTION("edge bits: port 0xFFFF, an access spanning two bitmap bytes") {
    crmsr::Rig r;
    setup_bitmap(r, 0x68 + 0x2000);
    expect_ok(io_at(r, "in al, dx", 0xFFFF));
    crmsr::Rig a;
    setup_bitmap(a, 0x68 + 0x2000);
    deny(a, 0xFFFF);
    crmsr::expect_fault(io_at(a, "in al, dx", 0xFFFF), VEC_GP, 0);
    crmsr::Rig b;
    setup_bitmap(b, 0x68 + 0x2000);
    deny(b, 0x108);
    crmsr::expect_fault(io_at(b, "in eax, dx", 0x106), VEC_GP, 0);  // 0x106-0x109
  }
  SECTION("the two bytes read must lie within the TSS limit") {
    // Limit covers bitmap bytes 0..0x10: port 0x80 (byte 0x10) needs byte 0x11 too.
    crmsr::Rig r;
    setup_bitmap(r, 0x68 + 0x10);
    crmsr::expect_fault(io_at(r, "in al, dx", 0x80), VEC_GP, 0);
    crmsr::Rig a;
    setup_bitmap(a, 0x68 + 0x10);
    expect_ok(io_at(a, "in al, dx", 0x7F));  // bytes 0x0F-0x10
    crmsr::Rig b;
    setup_bitmap(b, 0x67);  // no bitmap at all
    crmsr::expect_fault(io_at(b, "in al, dx", 0), VEC_GP, 0);
  }
  SECTION("IOPL 3 skips the bitmap; a 16-bit TSS has none") {
    crmsr::Rig r;
    setup_bitmap(r, 0x67);
    r.cpu().rflags |= isa::FLAG_IOPL;
    expect_ok(io_at(r, "in al, dx", 0x80));
    crmsr::Rig a;
    setup_bitmap(a, 0x68 + 0x2000);
    a.cpu().tr.attr = 0x83;  // busy 16-bit TSS
    crmsr::expect_fault(io_at(a, "in al, dx", 0x80), VEC_GP, 0);
  }
}

TEST_CASE("virtual-8086 mode always consults the bitmap", "[io]") {
  for (bool denied : {false, true}) {
    crmsr::Rig r;
    r.pm32();
    isa::Cpu& c = r.cpu();
    c.tr.limit = 0x68 + 0x2000;
    std::memset(r.ram() + crmsr::kTss + 0x68, 0, 0x2001);
    r.ram()[crmsr::kTss + 0x68 + 0x2000] = 0xFF;
    if (denied) r.ram()[crmsr::kTss + 0x68 + 0x10] = 1;  // port 0x80
    c.rflags |= isa::FLAG_VM | isa::FLAG_IOPL;  // IOPL 3 does not matter in v8086
    for (unsigned s = 0; s < 6; s++) c.seg[s] = {0x1000, 0xF3, 0xFFFF, 0x10000};
    c.rip() = 0;
    c.update_mode();
    r.asm_at(crmsr::kCode, "bits 16\norg 0\nmov dx, 0x80\nin al, dx\nud2\n");
    auto res = r.run();
    if (denied) crmsr::expect_fault(res, VEC_GP, 0);
    else crmsr::expect_fault(res, isa::VEC_UD);
  }
}

TEST_CASE("OUTS with REP writes a string to the UART", "[io]") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f);
  sim::MachineConfig cfg = systest::Rig::config();
  cfg.serial_out = f;
  sim::Machine m(cfg);
  m.reset_long_mode(0x10000, 0x80000);
  std::memcpy(m.mem().ram() + 0x20000, "hello, world", 12);
  auto code = systest::nasm(
      "bits 64\norg 0x10000\nmov esi, 0x20000\nmov ecx, 12\nmov dx, 0x3F8\nrep outsb\n"
      "mov esi, 0x20000\nmov ecx, 2\nmov dx, 0x80\no16 rep outsw\nmov r8, rsi\nhlt\n");
  std::memcpy(m.mem().ram() + 0x10000, code.data(), code.size());
  sim::RunLimits l;
  auto res = m.run(l);
  REQUIRE(res.reason == sim::StopReason::kHalted);
  std::rewind(f);
  char buf[32] = {};
  size_t n = std::fread(buf, 1, sizeof buf, f);
  std::fclose(f);
  CHECK(std::string(buf, n) == "hello, world");
  CHECK(m.io_out_count[0x80] == 2);
  CHECK(m.cpu().r[isa::R8] == 0x20004);
  CHECK(m.cpu().r[isa::RCX] == 0);
}

TEST_CASE("INS with REP: address sizes, direction, long counts yield and retire once",
          "[io]") {
  SECTION("64-bit addresses, 10000 bytes (three chunks)") {
    crmsr::Rig r;
    r.lm64();
    r.asm64("mov edi, 0x20000\nmov ecx, 10000\nmov dx, 0x1234\nrep insb\nhlt\n");
    crmsr::expect_halt(r.run());
    CHECK(r.reg(isa::RCX) == 0);
    CHECK(r.reg(isa::RDI) == 0x20000 + 10000);
    CHECK(r.ram()[0x20000] == 0xFF);
    CHECK(r.ram()[0x20000 + 9999] == 0xFF);
    CHECK(r.ram()[0x20000 + 10000] == 0);
    CHECK(r.cpu().icount == 5);
    CHECK(r.m.io_in_count[0x1234] == 10000);
  }
  SECTION("32-bit addresses, dwords, backwards") {
    crmsr::Rig r;
    r.lm64();
    r.asm64(
        "std\nmov edi, 0x2000C\nmov ecx, 4\nmov dx, 0x1234\nmov rax, 0x100000000\n"
        "or rcx, rax\na32 rep insd\ncld\nhlt\n");
    crmsr::expect_halt(r.run());
    CHECK(r.reg(isa::RCX) == 0);  // ECX counts; the write zero-extends
    CHECK(r.reg(isa::RDI) == 0x1FFFC);
    CHECK(r.r32(0x20000) == 0xFFFFFFFF);
    CHECK(r.r32(0x2000C) == 0xFFFFFFFF);
    CHECK(r.r32(0x1FFFC) == 0);
  }
  SECTION("16-bit addresses wrap DI within the segment") {
    crmsr::Rig r;
    r.pm32();
    r.asm32("mov edi, 0x1FFFE\nmov ecx, 0x10003\nmov dx, 0x1234\na16 rep insw\nhlt\n");
    crmsr::expect_halt(r.run());
    CHECK(r.reg(isa::RCX) == 0x10000);  // CX only
    CHECK(r.reg(isa::RDI) == 0x10004);  // DI wrapped: FFFE -> 0 -> 2 -> 4
    CHECK(r.r16(0xFFFE) == 0xFFFF);
    CHECK(r.r16(0x0) == 0xFFFF);
    CHECK(r.r16(0x2) == 0xFFFF);
    CHECK(r.r16(0x4) == 0);
  }
  SECTION("a fault mid-string keeps the elements done") {
    crmsr::Rig r;
    r.pm32();
    // ES limit ends after 0x20003: the fifth byte faults with #GP(0).
    r.cpu().seg[isa::ES].limit = 0x20003;
    r.asm32("mov edi, 0x20000\nmov ecx, 8\nmov dx, 0x1234\nrep insb\nhlt\n");
    crmsr::expect_fault(r.run(), VEC_GP, 0);
    CHECK(r.reg(isa::RCX) == 4);
    CHECK(r.reg(isa::RDI) == 0x20004);
    CHECK(r.m.io_in_count[0x1234] == 4);  // no port read for the faulting element
  }
}

TEST_CASE("I/O breakpoints (CR4.DE) trap after the access", "[io]") {
  crmsr::Rig r;
  r.lm64();
  isa::Cpu& c = r.cpu();
  isa::write_cr4(c, c.cr4 | (1u << 3));
  c.dr[0] = 0x80;
  c.dr[7] = 0x400 | 1 | (2u << 16);  // L0, R/W0 = 10b (I/O), LEN0 = 1 byte
  c.update_mode();
  r.asm64("in al, 0x81\nmov ebx, 1\nout 0x80, al\nmov ebx, 2\nhlt\n");
  auto res = r.run();
  crmsr::expect_fault(res, isa::VEC_DB);
  CHECK(r.reg(isa::RBX) == 1);            // a trap: the OUT completed, the next did not run
  CHECK(r.m.io_out_count[0x80] == 1);
}

TEST_CASE("REP INS costs the I/O class cost per element", "[io]") {
  auto cycles = [](unsigned n) {
    crmsr::Rig r;
    r.lm64();
    // Both pages touched first, so translation costs are the same in every run.
    r.asm64("mov byte [0x20000], 0\nmov byte [0x21000], 0\nmov edi, 0x20000\nmov ecx, " +
            std::to_string(n) + "\nmov dx, 0x1234\nrep insb\nhlt\n");
    crmsr::expect_halt(r.run());
    return r.cpu().cycles;
  };
  const auto& m = sim::default_cpu_model();
  CHECK(cycles(10) - cycles(0) == 10u * m.class_cycles[isa::C_IO]);
  // 5000 elements run as two calls (4096 + 904); the base is paid once, by the call
  // that completes the instruction (yielding calls give it back), so the cost does
  // not depend on how often the instruction yields (tracing, pending events).
  CHECK(cycles(5000) - cycles(0) == 5000u * m.class_cycles[isa::C_IO]);
}
