// APIC virtualization (SDM Vol. 3C chapter 29). Implemented so far: the TPR shadow
// (29.1.1-29.1.2, 29.3): MOV to and from CR8 in VMX non-root operation use the virtual
// TPR in the virtual-APIC page, and lowering it below the TPR threshold is a
// trap-like VM exit; the APIC-access page without APIC-register virtualization (29.4:
// the TPR virtualized, everything else an APIC-access exit). x2APIC virtualization,
// APIC-register virtualization, virtual-interrupt delivery and posted interrupts are
// not yet (docs/VMX.md).
#include "vmx/vmx.h"

namespace vmx {

using isa::Cpu;

namespace {
constexpr uint64_t kVtpr = 0x80;  // offset of VTPR in the virtual-APIC page (29.1)
}  // namespace

bool Vmx::tpr_shadow(const Cpu& c) const {
  return c.vmx.mode == isa::VmxMode::kNonRoot && current_ &&
         (uint32_t(current_->get(Field::CPU_BASED_VM_EXEC_CONTROL)) & CPU_TPR_SHADOW);
}

// 29.3: MOV from CR8 reads VTPR[7:4] (bits 63:4 of the destination are 0).
uint64_t Vmx::read_vcr8(Cpu& c) {
  (void)c;
  uint32_t vtpr = 0;
  env_.phys_read(current_->get(Field::VIRTUAL_APIC_PAGE_ADDR) + kVtpr, &vtpr, 4);
  return (vtpr >> 4) & 0xF;
}

// 29.1.2: without virtual-interrupt delivery, VTPR[7:4] below TPR threshold[3:0] is a
// TPR-below-threshold VM exit.
void Vmx::tpr_virtualization(Cpu& c, ExitInfo& x, bool& exits) {
  (void)c;
  Vmcs& v = *current_;
  const uint32_t proc2 = v.secondary_controls();
  exits = false;
  if (proc2 & CPU2_VIRT_INTR_DELIVERY) return;  // virtual-interrupt delivery: not yet
  uint32_t vtpr = 0;
  env_.phys_read(v.get(Field::VIRTUAL_APIC_PAGE_ADDR) + kVtpr, &vtpr, 4);
  const uint32_t threshold = uint32_t(v.get(Field::TPR_THRESHOLD)) & 0xF;
  if (((vtpr >> 4) & 0xF) >= threshold) return;
  x.reason = uint32_t(ExitReason::TPR_BELOW_THRESHOLD);
  exits = true;
}

namespace {

// Registers whose first dword APIC-register virtualization reads from the virtual-APIC
// page (29.4.2) and whose writes it virtualizes (29.4.3.1), by offset >> 4.
bool reg_virt_readable(unsigned r) {
  return r == 0x02 || r == 0x03 || r == 0x08 || r == 0x0B || r == 0x0D || r == 0x0E ||
         r == 0x0F || (r >= 0x10 && r <= 0x27) || r == 0x28 || r == 0x30 || r == 0x31 ||
         (r >= 0x32 && r <= 0x38) || r == 0x3E;
}
bool reg_virt_writable(unsigned r) {
  return r == 0x02 || r == 0x08 || r == 0x0B || r == 0x0D || r == 0x0E || r == 0x0F ||
         r == 0x28 || r == 0x30 || r == 0x31 || (r >= 0x32 && r <= 0x38) || r == 0x3E;
}

}  // namespace

// 29.4: accesses to the APIC-access page. A data access within the first dword of a
// register is virtualized when the controls cover that register: reads of the TPR
// with "use TPR shadow", of every readable register with APIC-register
// virtualization; writes likewise (then APIC-write emulation follows the instruction,
// 29.4.3.2). Everything else - instruction fetches, accesses during event delivery,
// other offsets - is an APIC-access VM exit whose qualification gives the offset
// (11:0) and the access type (15:12: 0 linear read, 1 linear write, 2 linear
// instruction fetch, 3 linear access during event delivery), 27.2.1.
uint64_t Vmx::apic_access(Cpu& c, uint64_t pa, isa::Access type, bool implicit) {
  const Vmcs& v = *current_;
  const unsigned off = unsigned(pa & 0xFFF), reg = off >> 4;
  const uint32_t proc = uint32_t(v.get(Field::CPU_BASED_VM_EXEC_CONTROL));
  const uint32_t proc2 = v.secondary_controls();
  const bool tpr = proc & CPU_TPR_SHADOW;
  const bool regvirt = tpr && (proc2 & CPU2_APIC_REG_VIRT);
  const bool first_dword = (off & 0xF) < 4;
  const uint64_t vapic = (v.get(Field::VIRTUAL_APIC_PAGE_ADDR) & ~0xFFFull) + off;
  if (!implicit && first_dword && type == isa::Access::kRead &&
      ((tpr && reg == 0x08) || (regvirt && reg_virt_readable(reg))))
    return vapic;
  if (!implicit && first_dword && type == isa::Access::kWrite &&
      ((tpr && reg == 0x08) || (regvirt && reg_virt_writable(reg)))) {
    // APIC-write emulation follows the instruction. Known gap: the run loop sees it at
    // the end of the current decoded block, not right after the writing instruction
    // (docs/VMX.md).
    apic_write_pending_ = int(off & ~0xFu);
    c.attention = true;
    return vapic;
  }
  ExitInfo x;
  x.reason = uint32_t(ExitReason::APIC_ACCESS);
  const unsigned kind = implicit ? 3 : type == isa::Access::kExec ? 2 : type == isa::Access::kWrite ? 1 : 0;
  x.qualification = off | uint64_t(kind) << 12;
  raise_exit(x);
}

// 29.5: with "virtualize x2APIC mode", RDMSR of 808H (TPR) reads VTPR (the whole
// 32-bit register; bits 63:32 read 0) and WRMSR of 808H writes it (bits 63:8 must be
// 0, else #GP) followed by TPR virtualization. With APIC-register virtualization the
// other readable registers would come from the virtual-APIC page too; that and the
// EOI and SELF IPI virtualization of virtual-interrupt delivery are not modelled yet,
// so those MSRs behave normally.
bool Vmx::x2apic_rdmsr(Cpu& c, uint32_t index, uint64_t& value) {
  (void)c;
  const Vmcs& v = *current_;
  const uint32_t proc2 = v.secondary_controls();
  if (!(proc2 & CPU2_VIRT_X2APIC_MODE) || index != 0x808) return false;
  uint32_t vtpr = 0;
  env_.phys_read(v.get(Field::VIRTUAL_APIC_PAGE_ADDR) + kVtpr, &vtpr, 4);
  value = vtpr;
  return true;
}

bool Vmx::x2apic_wrmsr(Cpu& c, uint32_t index, uint64_t value) {
  const Vmcs& v = *current_;
  const uint32_t proc2 = v.secondary_controls();
  if (!(proc2 & CPU2_VIRT_X2APIC_MODE) || index != 0x808) return false;
  if (value >> 8) isa::raise_gp0();
  const uint32_t vtpr = uint32_t(value);
  env_.phys_write(v.get(Field::VIRTUAL_APIC_PAGE_ADDR) + kVtpr, &vtpr, 4);
  ExitInfo x;
  bool exits = false;
  tpr_virtualization(c, x, exits);
  if (exits) {
    tpr_virt_pending_ = true;  // the exit follows the WRMSR (trap-like; WRMSR ends its block)
    c.attention = true;
  }
  return true;
}

// 29.3: MOV to CR8 writes bits 3:0 of the source to VTPR[7:4] and clears the rest of
// VTPR; then TPR virtualization (29.1.2): without virtual-interrupt delivery, a VTPR[7:4]
// below TPR threshold[3:0] is a TPR-below-threshold VM exit, trap-like (RIP after the
// instruction, which completed).
void Vmx::write_vcr8(Cpu& c, uint64_t value) {
  Vmcs& v = *current_;
  const uint32_t vtpr = uint32_t(value & 0xF) << 4;
  env_.phys_write(v.get(Field::VIRTUAL_APIC_PAGE_ADDR) + kVtpr, &vtpr, 4);
  const uint32_t proc2 = v.secondary_controls();
  if (proc2 & CPU2_VIRT_INTR_DELIVERY) return;  // virtual-interrupt delivery: not yet
  const uint32_t threshold = uint32_t(v.get(Field::TPR_THRESHOLD)) & 0xF;
  if ((vtpr >> 4) >= threshold) return;
  ExitInfo x;
  x.reason = uint32_t(ExitReason::TPR_BELOW_THRESHOLD);
  vm_exit(c, x);
}

}  // namespace vmx
