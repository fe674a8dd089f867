#include "isa/fault.h"

namespace isa {

void raise_fault(uint8_t vector, uint32_t error) {
  throw CpuFault{vector, vector_has_error(vector), error, 0};
}

void raise_page_fault(uint64_t linear, uint32_t error) {
  throw CpuFault{VEC_PF, true, error, linear};
}

const char* vector_name(uint8_t v) {
  static const char* const names[32] = {
      "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS",
      "#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
      "#22", "#23", "#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31"};
  return v < 32 ? names[v] : "INT";
}

}  // namespace isa
