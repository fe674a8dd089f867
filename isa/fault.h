// The one fault mechanism: an architectural exception is a C++ exception of type
// CpuFault, thrown from wherever it is detected (decoder, handler, memory access)
// and caught by the execution loop, which restores RIP to the faulting instruction
// and delivers it. Handlers keep faults precise by doing every access that can
// fault before they commit any register or flag (SDM Vol. 3A 6.5: faults are
// reported with the state as it was before the instruction).
#pragma once
#include <cstdint>

namespace isa {

enum Vector : uint8_t {
  VEC_DE = 0, VEC_DB = 1, VEC_NMI = 2, VEC_BP = 3, VEC_OF = 4, VEC_BR = 5, VEC_UD = 6,
  VEC_NM = 7, VEC_DF = 8, VEC_TS = 10, VEC_NP = 11, VEC_SS = 12, VEC_GP = 13, VEC_PF = 14,
  VEC_MF = 16, VEC_AC = 17, VEC_MC = 18, VEC_XM = 19, VEC_VE = 20, VEC_CP = 21,
};

struct CpuFault {
  uint8_t vector;
  bool has_error;
  uint32_t error;
  uint64_t cr2;  // #PF linear address
};

// Exceptions that push an error code (SDM Vol. 3A Table 6-1).
constexpr bool vector_has_error(uint8_t v) {
  return v == VEC_DF || v == VEC_TS || v == VEC_NP || v == VEC_SS || v == VEC_GP ||
         v == VEC_PF || v == VEC_AC || v == VEC_CP;
}

[[noreturn]] void raise_fault(uint8_t vector, uint32_t error = 0);
[[noreturn]] void raise_page_fault(uint64_t linear, uint32_t error);
[[noreturn]] inline void raise_ud() { raise_fault(VEC_UD); }
[[noreturn]] inline void raise_gp0() { raise_fault(VEC_GP, 0); }

const char* vector_name(uint8_t v);

}  // namespace isa
