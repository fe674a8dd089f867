// x87 end to end: a small long-mode program through the real machine (decoder, code
// cache, run loop): arithmetic, FCOMIP into RFLAGS, FISTP, FXSAVE, then an unmasked
// divide-by-zero whose #MF is delivered at the next waiting instruction (FWAIT) with
// FIP/FOP pointing at the FDIVP.
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "sim/loader.h"
#include "sim/machine.h"

namespace {

constexpr uint64_t kCode = 0x100000, kData = 0x101000;

// Assembled from (GNU as, Intel syntax):
//   lea rbx, [rip + data]       ; data = 0x101000
//   fninit
//   fld qword ptr [rbx]         ; 2.0
//   fsqrt
//   fldpi
//   fmulp st(1), st
//   fstp tbyte ptr [rbx+16]
//   fld tbyte ptr [rbx+16]
//   fld1
//   fcomip st, st(1)            ; 1 < sqrt(2)*pi: CF=1
//   setb al
//   fistp dword ptr [rbx+32]    ; 4
//   fxsave [rbx+64]
//   fldcw [rbx+8]               ; 0x037B: divide-by-zero unmasked
//   fld1
//   fldz
//   fdivp st(1), st             ; 1/0: ZE, pending (offset 0x2C)
//   fwait                       ; #MF here (offset 0x2E)
//   hlt
const std::vector<uint8_t> kProgram = {
    0x48, 0x8d, 0x1d, 0xf9, 0x0f, 0x00, 0x00, 0xdb, 0xe3, 0xdd, 0x03, 0xd9, 0xfa, 0xd9, 0xeb,
    0xde, 0xc9, 0xdb, 0x7b, 0x10, 0xdb, 0x6b, 0x10, 0xd9, 0xe8, 0xdf, 0xf1, 0x0f, 0x92, 0xc0,
    0xdb, 0x5b, 0x20, 0x0f, 0xae, 0x43, 0x40, 0xd9, 0x6b, 0x08, 0xd9, 0xe8, 0xd9, 0xee, 0xde,
    0xf9, 0x9b, 0xf4};

}  // namespace

TEST_CASE("x87 program on the machine, #MF at the next waiting instruction", "[x87][machine]") {
  sim::MachineConfig cfg;
  cfg.ram_bytes = 4 << 20;
  sim::Machine m(cfg);
  uint8_t* ram = m.mem().ram();
  std::memcpy(ram + kCode, kProgram.data(), kProgram.size());
  double two = 2.0;
  uint16_t cw = 0x037B;
  std::memcpy(ram + kData, &two, 8);
  std::memcpy(ram + kData + 8, &cw, 2);
  m.reset_long_mode(kCode, sim::kLoaderStack);
  m.cpu().cr4 |= 1u << 9;  // OSFXSR
  sim::RunLimits lim;
  lim.max_insns = 1000;
  sim::RunResult res = m.run(lim);

  // The kernel has no IDT, so the #MF escalates to a triple fault, which reports the
  // first exception of the chain (and the state before it).
  REQUIRE(res.reason == sim::StopReason::kShutdown);
  CHECK(res.fault.vector == isa::VEC_MF);
  CHECK(res.fault_rip == kCode + 0x2E);
  const isa::X87State& s = m.cpu().x87;
  CHECK(s.fip == kCode + 0x2C);
  CHECK(s.fop == 0x6F9);  // DE F9
  CHECK((s.fsw & 0x84) == 0x84);  // ES, ZE
  CHECK((m.cpu().r[isa::RAX] & 0xFF) == 1);

  // sqrt(2)*pi as the host x87 computes it.
  long double want;
  asm("fldl %1; fsqrt; fldpi; fmulp; fstpt %0" : "=m"(want) : "m"(two) : "st", "st(1)");
  long double got;
  std::memcpy(&got, ram + kData + 16, 10);
  CHECK(got == want);
  int32_t i;
  std::memcpy(&i, ram + kData + 32, 4);
  CHECK(i == 4);
  uint16_t saved_fcw, saved_fsw;
  std::memcpy(&saved_fcw, ram + kData + 64, 2);
  std::memcpy(&saved_fsw, ram + kData + 66, 2);
  CHECK(saved_fcw == 0x037F);
  CHECK(ram[kData + 64 + 4] == 0);  // abridged tag: empty stack
  CHECK((saved_fsw & 0x20) == 0x20);  // PE from the square root
}
