// Runs arbitrary bytes as code in 16-, 32- or 64-bit mode (shared by the random-code
// test and the fuzz_exec libFuzzer target).
// Input layout: byte 0 selects the mode; the rest is code placed at 0x10000 and also
// copied to 0x20000 as data; the GPRs are seeded from the same bytes (so short inputs
// still execute code).
#pragma once
#include <cstdint>
#include <cstring>

#include "sim/machine.h"

namespace test {

inline sim::RunResult run_random_code(sim::Machine& m, const uint8_t* data, size_t size,
                                      uint64_t max_insns = 20000) {
  // HLT everywhere else, so a program ends soon after its own bytes instead of
  // sliding through zeros (ADD [RAX], AL) for the whole budget.
  std::memset(m.mem().ram(), 0xF4, m.mem().ram_size());
  m.code().flush();
  m.mem().clear_all_code_pages();
  unsigned mode = size ? data[0] % 3 : 2;
  const uint8_t* code = data + 1;
  size_t code_len = size > 1 ? size - 1 : 0;
  size_t regs = code_len < 128 ? code_len : 128;
  if (code_len > 0x8000) code_len = 0x8000;
  std::memcpy(m.mem().ram() + 0x10000, code, code_len);
  std::memcpy(m.mem().ram() + 0x20000, code, code_len);
  std::memset(m.mem().ram() + 0x30000, 0, 0x10000);  // zeroed data and stack area
  if (mode == 0) {
    m.reset_real_mode(0x0000, 0xFFF0);
    m.cpu().seg[isa::CS].base = 0x10000;
    m.cpu().seg[isa::CS].selector = 0x1000;
  } else if (mode == 1) {
    m.reset_protected32(0x10000, 0x8000);
  } else {
    m.reset_long_mode(0x10000, 0x80000);
  }
  uint64_t seed[16] = {};
  if (regs) std::memcpy(seed, code, regs);
  for (unsigned i = 0; i < 16; i++)
    if (i != isa::RSP) m.cpu().r[i] = seed[i];
  sim::RunLimits lim;
  lim.max_insns = max_insns;
  // A repeated string retires only when it completes, so an instruction limit alone
  // does not bound the work (REP STOSB with ECX = 4G); its elements cost cycles.
  lim.max_cycles = max_insns * 20;
  return m.run(lim);
}

}  // namespace test
