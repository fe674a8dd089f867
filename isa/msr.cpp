// The MSR table and RDMSR/WRMSR, RDTSC(P), RDPID (SDM Vol. 4). STUB: being written.

#include "isa/system.h"

#include "isa/bind.h"

namespace isa {

uint64_t read_msr(Cpu&, uint32_t) { raise_gp0(); }
void write_msr(Cpu&, uint32_t, uint64_t) { raise_gp0(); }
uint64_t read_tsc_value(const Cpu& c) { return c.cycles + c.msr.tsc_offset; }
void register_sys_msr(HandlerTable&) {}

}  // namespace isa
