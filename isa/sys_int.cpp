// Event delivery through the IDT and the instructions around it (SDM Vol. 3A chapter 6). STUB: being written.

#include "isa/system.h"

#include "isa/bind.h"

namespace isa {

void deliver_event(Cpu&, const Event&) { raise_ud(); }
void deliver_fault(Cpu& c, const CpuFault& f) {
  deliver_event(c, Event{f.vector, EventType::kHardwareException, f.has_error, f.error});
}
void register_sys_int(HandlerTable&) {}

}  // namespace isa
