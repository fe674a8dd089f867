// The traced run loop: one instruction at a time, each logged by the Tracer.
// STUB: being written (issue 3 item 8).
#include "sim/machine.h"

namespace sim {

void Machine::run_traced(const RunLimits& lim) {
  while (!cpu_.stop_request && cpu_.icount < lim.max_insns && cpu_.cycles < lim.max_cycles)
    step_one();
}

}  // namespace sim
