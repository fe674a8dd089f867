// Task state: TSS stacks, LTR/STR, hardware task switches (SDM Vol. 3A chapter 7). STUB: being written.

#include "isa/system.h"

#include "isa/bind.h"

namespace isa {

void tss_legacy_stack(Cpu&, unsigned, uint16_t&, uint32_t&) { raise_ud(); }
uint64_t tss64_stack(Cpu&, unsigned, unsigned) { raise_ud(); }
void task_switch(Cpu&, uint16_t, const Descriptor&, TaskSwitchSource, bool, uint32_t) { raise_ud(); }
void register_sys_task(HandlerTable&) {}

}  // namespace isa
