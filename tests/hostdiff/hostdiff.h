// Host differential harness: every bound, user-level instruction form is run with
// random operands natively (in a forked child, on this CPU) and in the simulator,
// and the complete resulting state is compared.
//
// One case = one instruction instance (random legal prefixes, ModRM, SIB,
// displacement and immediates for the form) + a random input state: the 16 GPRs,
// the arithmetic flags and DF, x87 (FCW, FSW, tags, ST0-7), MXCSR, YMM0-15, and
// the contents of a data buffer and a stack buffer mapped at the same fixed linear
// addresses natively and in the simulator. Memory operands get a base (and index)
// register chosen so that the effective address falls into the data buffer;
// branch targets land on "landing pads" that record where control arrived.
//
// Compared: GPRs, RIP (landing address), RFLAGS (undefined flags masked per form,
// undefined_flags.def), x87 state, MXCSR, YMM registers, both buffers, and the
// fault vector when the instruction faults (then with the GPRs at the fault).
// The harness runs in 64-bit mode only (it is a 64-bit process).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "isa/forms.h"

namespace hostdiff {

struct Options {
  uint64_t seed = 1;
  unsigned cases_per_form = 200;
  std::string form;            // only this form (by name) when not empty
  std::string group;           // only forms of this group: int, x87, sse, avx
  unsigned max_print = 5;      // mismatches printed per form
  bool verbose = false;
};

struct FormResult {
  isa::Form form;
  unsigned compared = 0;       // cases run on both sides and compared
  unsigned mismatches = 0;
  unsigned faults = 0;         // compared cases where both sides faulted
  unsigned skipped = 0;        // undefined result (e.g. SHLD count > size), generation failed
};

struct Summary {
  std::vector<FormResult> forms;  // forms with at least one compared case
  std::vector<std::string> not_covered;  // "name: reason" for forms not run
  uint64_t cases = 0;
  uint64_t mismatches = 0;
  uint64_t host_mapped = 0;  // not compared: the address is mapped only in the host process
  unsigned forms_covered() const { return unsigned(forms.size()); }
};

// Group of a form: "int", "x87", "sse" or "avx".
const char* form_group(isa::Form f);

// Runs the harness; mismatch reports go to `log` (stdout when null).
Summary run(const Options& o, std::string* log = nullptr);

}  // namespace hostdiff
