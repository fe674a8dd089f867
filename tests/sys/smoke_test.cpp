// The rig itself: nasm assembly, loading, running to HLT.
#include "tests/sys/harness.h"

TEST_CASE("rig runs assembled 64-bit code to HLT", "[rig]") {
  systest::Rig r;
  r.m.reset_long_mode(0x100000, 0x80000);
  r.asm_at(0x100000, "bits 64\norg 0x100000\nmov eax, 42\nhlt\n");
  auto res = r.run();
  CHECK(res.reason == sim::StopReason::kHalted);
  CHECK(r.reg(isa::RAX) == 42);
}
