// Private helpers shared by the segmentation, task and descriptor-table files
// (isa/sys_seg.cpp, sys_task.cpp, sys_dtr.cpp). Not a public contract: other code
// uses isa/system.h.
#pragma once
#include <cstdint>

#include "isa/system.h"

namespace isa::seg {

// SegmentReg::attr bits (VMCS access-rights layout).
constexpr uint16_t kAttrP = 0x80;

// IA-32e mode (EFER.LMA): 16-byte system descriptors, no task switching.
inline bool ia32e(const Cpu& c) { return c.efer & (1u << 10); }

// Linear address of the descriptor `sel` selects if `bytes` of it lie within the
// GDT/LDT limit (an LDT selector with an unusable LDTR never does).
bool descriptor_address(const Cpu& c, uint16_t sel, unsigned bytes, uint64_t& lin);
// Reads an 8-byte descriptor; false when it lies beyond the table (no fault).
bool try_read_descriptor(Cpu& c, uint16_t sel, Descriptor& d);
// Bits 127:96 of a 16-byte descriptor already known to be within the table.
uint32_t read_descriptor_top(Cpu& c, uint16_t sel);
// Makes `r` an unusable (null) segment register; `dpl` is kept (for SS it is the CPL).
void null_segment(SegmentReg& r, uint16_t sel, unsigned dpl);
// Recomputes Cpu::seg_base_eff for one segment after its cache changed.
void refresh_base(Cpu& c, unsigned s);
// Stack- and data-segment checks of SDM Vol. 2B MOV with the fault vector of the
// caller (#GP for instructions, #TS for task switches and TSS stacks).
Descriptor check_stack_segment(Cpu& c, uint16_t sel, unsigned cpl, uint8_t vec);
Descriptor check_data_segment(Cpu& c, uint16_t sel, unsigned cpl, uint8_t vec);
// Canonical for the current paging mode (48 bits, or 57 with CR4.LA57).
bool canonical_la(const Cpu& c, uint64_t a);
// CR4.UMIP (SDM Vol. 3A 2.5): SGDT, SIDT, SLDT, SMSW and STR at CPL > 0 with CR4.UMIP.
inline void check_umip(const Cpu& c) {
  if ((c.cr4 & (1u << 11)) && c.cpl > 0) raise_gp0();
}
// Real and virtual-8086 mode: #UD for the F_NOREAL forms.
inline void protected_only(const Cpu& c) {
  if (!c.protected_mode() || c.v86()) raise_ud();
}

}  // namespace isa::seg
