// Segmentation: descriptor loads with their checks, far JMP/CALL/RET, LAR/LSL/VERR/VERW, ARPL (SDM Vol. 3A chapters 3 and 5). STUB: being written.

#include "isa/system.h"

#include "isa/bind.h"

namespace isa {

Descriptor read_descriptor(Cpu&, uint16_t, uint8_t, bool) { raise_ud(); }
void set_descriptor_accessed(Cpu&, uint16_t, Descriptor&) {}
void load_cache(SegmentReg& r, uint16_t sel, const Descriptor& d) {
  r.selector = sel;
  r.base = d.base32();
  r.limit = d.limit();
  r.attr = d.attr();
}
void load_data_segment(Cpu&, unsigned, uint16_t) { raise_ud(); }
void far_jmp(Cpu&, uint16_t, uint64_t, unsigned) { raise_ud(); }
void far_call(Cpu&, uint16_t, uint64_t, unsigned) { raise_ud(); }
void far_ret(Cpu&, unsigned, uint16_t) { raise_ud(); }
void register_sys_seg(HandlerTable&) {}

}  // namespace isa
