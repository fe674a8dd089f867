// libFuzzer target: executes arbitrary bytes as code in 16-, 32- or 64-bit mode.
// The guest may do anything; the simulator must only ever produce architectural
// outcomes (a stop reason), never crash, hang, or touch host memory outside guest
// RAM (guest RAM is fenced by guard pages, see mmu/phys_mem.cpp; ASan covers the rest).
#include <cstdio>

#include "tests/sim/random_code.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static sim::Machine* m = [] {
    sim::MachineConfig cfg;
    cfg.ram_bytes = 1 << 20;
    cfg.serial_out = std::fopen("/dev/null", "w");
    return new sim::Machine(cfg);
  }();
  test::run_random_code(*m, data, size);
  return 0;
}
