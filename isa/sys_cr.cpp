// Control registers and TLB-control instructions (SDM Vol. 3A 2.5, 4.10.4). STUB: being written.

#include "isa/system.h"

#include "isa/bind.h"

namespace isa {

void write_cr0(Cpu& c, uint64_t v) { c.cr0 = v; c.update_mode(); }
void write_cr3(Cpu& c, uint64_t v) { c.cr3 = v; }
void write_cr4(Cpu& c, uint64_t v) { c.cr4 = v; }
void write_efer(Cpu& c, uint64_t v) { c.efer = v; c.update_mode(); }
void register_sys_cr(HandlerTable&) {}

}  // namespace isa
