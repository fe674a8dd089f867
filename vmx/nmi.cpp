// IRET and NMI blocking in VMX non-root operation (SDM Vol. 3C 25.3 "IRET", 27.1, 27.2.2
// bit 12 of the VM-exit interruption information, 27.2.1 Table 27-7 bit 12 of the
// EPT-violation qualification, 27.3.4).
//
// What IRET unblocks depends on the NMI controls:
//   "NMI exiting" = 0:                 NMI blocking, as outside VMX (virtual NMIs are 0 then);
//   "NMI exiting" = 1, "virtual NMIs" = 0: nothing (NMI blocking lasts while in non-root);
//   "virtual NMIs" = 1:                virtual-NMI blocking.
// It does so even if it then faults, so a VM exit caused by that fault (through the
// exception bitmap), or by an EPT violation or a full PML log during the IRET, saves
// the blocking as cleared (27.1) and reports in bit 12 that the IRET had removed it;
// the hypervisor sets blocking again before it re-executes the IRET. Bit 12 is
// undefined with "NMI exiting" = 1 and "virtual NMIs" = 0 (reported as 0 here), when
// the exit has IDT-vectoring information, and for #DF; an EPT misconfiguration's
// qualification has no such bit.
#include "vmx/vmx.h"

namespace vmx {

using isa::Cpu;

void Vmx::iret_unblock_nmi(Cpu& c) {
  const uint32_t pin = uint32_t(current_->get(Field::PIN_BASED_VM_EXEC_CONTROL));
  if (pin & PIN_VIRTUAL_NMIS) {
    iret_unblocked_ = vnmi_blocked_;
    vnmi_blocked_ = false;
  } else if (pin & PIN_NMI_EXITING) {
    iret_unblocked_ = false;
  } else {
    iret_unblocked_ = c.ev.nmi_blocked;
    c.ev.nmi_blocked = false;
  }
}

// The IRET that iret_unblock_nmi saw faulted. An exit raised inside it (EPT violation,
// PML full; vector kVecVmExit) is pending now and gets qualification bit 12; an
// exception goes to delivery next, whose first event_exit call consumes the flag. A
// task switch (NT = 1) that exits keeps the unblocking too: 27.1 names only faults,
// EPT violations and misconfigurations and PML-full events, and is silent on it;
// Bochs 2.7 unblocks, and KVM's emulation of such a task switch leaves NMI blocking
// alone, which assumes the same.
void Vmx::iret_faulted(Cpu& c, uint8_t vector) {
  (void)c;
  const bool unblocked = iret_unblocked_;
  iret_unblocked_ = false;
  if (!unblocked) return;
  if (vector != kVecVmExit) {
    iret_fault_nmi_ = true;
    return;
  }
  const unsigned basic = pending_exit_.reason & 0xFFFF;
  if (basic == unsigned(ExitReason::EPT_VIOLATION) || basic == unsigned(ExitReason::PML_FULL))
    pending_exit_.qualification |= 1u << 12;
}

}  // namespace vmx
