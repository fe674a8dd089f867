// Events in VMX non-root operation (SDM Vol. 3C 25.2, 25.5, 27.2.2, 27.2.3): exceptions
// and NMIs the exception bitmap and NMI exiting turn into VM exits, the IDT-vectoring
// information of exits during event delivery, task switches, triple faults, and the
// exits decided at instruction boundaries (monitor trap flag, preemption timer, NMI
// and interrupt windows, external interrupts).
#include "vmx/vmx.h"

namespace vmx {

using isa::Cpu;

namespace {

// The interruption-information format (24.8.3, 24.9.2) of an event.
uint32_t intr_info_of(const isa::Event& e) {
  return e.vector | uint32_t(e.type) << INTR_INFO_TYPE_SHIFT |
         (e.has_error ? uint32_t(INTR_INFO_DELIVER_CODE) : 0u) | INTR_INFO_VALID;
}

bool software(isa::EventType t) {
  return t == isa::EventType::kSoftwareInterrupt || t == isa::EventType::kSoftwareException ||
         t == isa::EventType::kPrivSoftwareException;
}

}  // namespace

// 25.2: an exception exits when its bit in the exception bitmap is 1 (#PF: when the
// bit equals "error code & mask == match"); an NMI when "NMI exiting" is 1. External
// interrupts and INT n never go through the bitmap. The exception is not delivered:
// CR2 and DR6 keep their values, the qualification carries what they would have got
// (27.2.1), and RIP stays at the faulting instruction (for INT3/INTO/INT1: at the
// instruction, with its length).
bool Vmx::event_exit(Cpu& c, const isa::Event& e, const isa::Event* vectoring) {
  const Vmcs& v = *current_;
  // The first call after a fault on an IRET that removed NMI blocking is that fault's
  // (vmx/nmi.cpp): 27.2.2 bit 12 when it exits.
  const bool after_iret = iret_fault_nmi_ && !vectoring;
  iret_fault_nmi_ = false;
  bool exits = false;
  switch (e.type) {
    case isa::EventType::kNmi:
      exits = uint32_t(v.get(Field::PIN_BASED_VM_EXEC_CONTROL)) & PIN_NMI_EXITING;
      break;
    case isa::EventType::kHardwareException:
    case isa::EventType::kSoftwareException:
    case isa::EventType::kPrivSoftwareException: {
      if (e.vector >= 32) break;
      const bool bit = (uint32_t(v.get(Field::EXCEPTION_BITMAP)) >> e.vector) & 1;
      if (e.vector == isa::VEC_PF) {
        const uint32_t mask = uint32_t(v.get(Field::PAGE_FAULT_ERROR_CODE_MASK));
        const uint32_t match = uint32_t(v.get(Field::PAGE_FAULT_ERROR_CODE_MATCH));
        exits = bit == ((e.error & mask) == match);
      } else {
        exits = bit;
      }
      break;
    }
    default: break;
  }
  if (!exits) return false;
  ExitInfo x;
  x.reason = uint32_t(ExitReason::EXCEPTION_NMI);
  x.intr_info = intr_info_of(e);
  if (after_iret && e.type == isa::EventType::kHardwareException) x.intr_info |= INTR_INFO_NMI_UNBLOCKED_IRET;
  x.intr_error = e.has_error ? e.error : 0;
  if (e.type == isa::EventType::kHardwareException && e.vector == isa::VEC_PF) x.qualification = e.payload;
  if (e.type == isa::EventType::kHardwareException && e.vector == isa::VEC_DB)
    x.qualification = e.payload & (isa::DR6_B0_B3 | isa::DR6_BD | isa::DR6_BS);
  if (vectoring) {
    // 27.2.3/27.3.3: with a software interrupt or exception as the vectoring event, RIP
    // is that instruction's and the exit reports its length.
    x.idt_info = intr_info_of(*vectoring);
    x.idt_error = vectoring->has_error ? vectoring->error : 0;
    if (software(vectoring->type)) {
      c.rip() -= vectoring->insn_len;
      x.instr_len = vectoring->insn_len;
    }
    nmi_delivery_exits(c, *vectoring);
  }
  if (software(e.type) && !vectoring) {
    c.rip() -= e.insn_len;
    x.instr_len = e.insn_len;
  }
  vm_exit(c, x);
  return true;
}

// 27.2.3: an exit while delivering `e` through the IDT (raised from the access that
// failed) records `e` as the IDT-vectoring information.
void Vmx::exit_during_delivery(Cpu& c, const isa::Event& e) {
  pending_exit_.idt_info = intr_info_of(e);
  pending_exit_.idt_error = e.has_error ? e.error : 0;
  if (software(e.type)) pending_exit_.instr_len = e.insn_len;
  nmi_delivery_exits(c, e);
}

// 27.1: an NMI whose delivery leads to a VM exit blocks NMIs before the exit commences,
// so the exit saves blocking by NMI. With "virtual NMIs" the NMI was injected, and VM
// entry set virtual-NMI blocking already (26.6.1.2).
void Vmx::nmi_delivery_exits(Cpu& c, const isa::Event& e) {
  if (e.type == isa::EventType::kNmi &&
      !(uint32_t(current_->get(Field::PIN_BASED_VM_EXEC_CONTROL)) & PIN_VIRTUAL_NMIS))
    c.ev.nmi_blocked = true;
}

// 25.1.2, 27.2.1 (Table 27-2): qualification = selector | source << 30.
void Vmx::task_switch_exit(Cpu& c, uint16_t sel, unsigned source) {
  (void)c;
  ExitInfo x;
  x.reason = uint32_t(ExitReason::TASK_SWITCH);
  x.qualification = sel | uint64_t(source & 3) << 30;
  raise_exit(x);
}

void Vmx::triple_fault(Cpu& c) {
  ExitInfo x;
  x.reason = uint32_t(ExitReason::TRIPLE_FAULT);
  c.ev.activity = isa::Activity::kActive;
  vm_exit(c, x);
}

void Vmx::init_exit(Cpu& c) {
  ExitInfo x;
  x.reason = uint32_t(ExitReason::INIT_SIGNAL);
  vm_exit(c, x);
}

bool Vmx::boundary_pending(const Cpu& c) const {
  // With the monitor trap flag the guest runs instruction by instruction.
  if (mtf_pending_ || preempt_fired_ || apic_write_pending_ >= 0 || apic_step_ ||
      (boundary_ctl_ & kBoundMtf) || vint_deliverable(c))
    return true;
  if ((boundary_ctl_ & kBoundNmiExit) && c.ev.nmi_pending) return true;
  if (boundary_ctl_ & (kBoundNmiWindow | kBoundIntWindow)) return true;
  return (boundary_ctl_ & kBoundExtInt) && env_.vmx_intr_pending();
}

// 26.6.1: without "virtual NMIs", blocking by NMI lasts in non-root operation (with
// "NMI exiting" IRET does not end it, 25.3) and holds NMI exits back; with them, NMIs
// are not blocked in non-root operation (virtual-NMI blocking is the guest's).
bool Vmx::nmi_blocked_in_guest(const Cpu& c) const {
  return c.ev.nmi_blocked && !(uint32_t(current_->get(Field::PIN_BASED_VM_EXEC_CONTROL)) & PIN_VIRTUAL_NMIS);
}

bool Vmx::boundary(Cpu& c) {
  const bool mov_ss = c.ev.shadow & isa::SHADOW_MOV_SS;
  const bool sti = c.ev.shadow & isa::SHADOW_STI;
  // APIC-write emulation after a virtualized write to the APIC-access page (vmx/apicv.cpp).
  if (apicv_boundary(c)) return true;
  ExitInfo x;
  // 25.5.2: no MTF exit in the shutdown and wait-for-SIPI states (it stays pending).
  const bool mtf_blocked =
      c.ev.activity == isa::Activity::kShutdown || c.ev.activity == isa::Activity::kWaitForSipi;
  if (mtf_pending_ && !mtf_blocked) {
    // 25.5.2: trap-like, RIP is the next instruction's.
    mtf_pending_ = false;
    x.reason = uint32_t(ExitReason::MONITOR_TRAP_FLAG);
  } else if (preempt_fired_) {
    preempt_fired_ = false;
    x.reason = uint32_t(ExitReason::PREEMPTION_TIMER);
  } else if ((boundary_ctl_ & kBoundNmiExit) && c.ev.nmi_pending && !mov_ss && !nmi_blocked_in_guest(c)) {
    c.ev.nmi_pending = false;
    x.reason = uint32_t(ExitReason::EXCEPTION_NMI);
    x.intr_info = isa::VEC_NMI | uint32_t(INTR_TYPE_NMI) << INTR_INFO_TYPE_SHIFT | INTR_INFO_VALID;
    // 27.1: an NMI that causes a VM exit directly blocks NMIs once the exit completes
    // (the host unblocks them with IRET); the guest state saved keeps the guest's.
    vm_exit(c, x);
    c.ev.nmi_blocked = true;
    return true;
  } else if ((boundary_ctl_ & kBoundNmiWindow) && !vnmi_blocked_ && !mov_ss && !sti) {
    // 25.5.1.2: no virtual-NMI blocking and no blocking by MOV SS or STI.
    x.reason = uint32_t(ExitReason::NMI_WINDOW);
  } else if (vint_deliverable(c) && !mov_ss && !sti && (c.ev.activity == isa::Activity::kActive ||
                                                        c.ev.activity == isa::Activity::kHlt)) {
    // 29.2.2: a recognized virtual interrupt, with the priority of an interrupt-window
    // exit (recognition requires that control to be 0); it wakes HLT, not shutdown.
    deliver_virtual_interrupt(c);
    instruction_done(c);  // MTF after the delivery (25.5.2)
    return true;
  } else if ((boundary_ctl_ & kBoundIntWindow) && (c.rflags & isa::FLAG_IF) && !mov_ss && !sti) {
    // 25.5.1.1: RFLAGS.IF = 1 and no blocking by STI or MOV SS. 25.2: these exits take
    // priority over external interrupts (and so over external-interrupt exits).
    x.reason = uint32_t(ExitReason::INTERRUPT_WINDOW);
  } else if ((boundary_ctl_ & kBoundExtInt) && !mov_ss && !sti && env_.vmx_intr_pending()) {
    // 25.2: RFLAGS.IF does not block it; with "acknowledge interrupt on exit" the vector
    // is acknowledged and reported (27.2.2), else the interrupt stays pending. With
    // "process posted interrupts" the notification vector is processed instead (29.6).
    x.reason = uint32_t(ExitReason::EXTERNAL_INTERRUPT);
    if (uint32_t(current_->get(Field::VM_EXIT_CONTROLS)) & EXIT_ACK_INTR_ON_EXIT) {
      const uint8_t vector = env_.vmx_intr_acknowledge();
      if (posted_interrupt(c, vector)) return true;
      x.intr_info = vector | INTR_INFO_VALID;
    }
  } else {
    return false;
  }
  vm_exit(c, x);
  return true;
}

// 25.5.1: the timer counts down by one each time bit X of the TSC changes (X =
// IA32_VMX_MISC[4:0]); it runs from the entry, and 0 exits before the first
// instruction. It derives from simulated cycles (the TSC), so it is deterministic.
void Vmx::arm_preemption_timer(Cpu& c) {
  // The machine's timer event can be scheduled only while preempt_due_ is set (it is
  // set before every scheduling): without the timer there is nothing to cancel else.
  const bool armed = preempt_due_ != ~0ull;
  preempt_fired_ = false;
  preempt_due_ = ~0ull;
  const uint32_t pin = uint32_t(current_->get(Field::PIN_BASED_VM_EXEC_CONTROL));
  if (!(pin & PIN_PREEMPTION_TIMER)) {
    if (armed) env_.vmx_arm_preemption_timer(~0ull);
    return;
  }
  const unsigned x = caps_.preemption_rate();
  const uint64_t value = uint32_t(current_->get(Field::VMX_PREEMPTION_TIMER_VALUE));
  if (value == 0) {
    preempt_fired_ = true;
    return env_.vmx_arm_preemption_timer(~0ull);
  }
  preempt_due_ = ((c.cycles >> x) + value) << x;
  env_.vmx_arm_preemption_timer(preempt_due_);
}

// 27.3.4: with "save VMX-preemption timer value", the remaining count (0 when it
// expired) goes back to the VMCS.
void Vmx::save_preemption_timer(Cpu& c) {
  Vmcs& v = *current_;
  if (!(uint32_t(v.get(Field::VM_EXIT_CONTROLS)) & EXIT_SAVE_PREEMPTION_TIMER)) return;
  if (!(uint32_t(v.get(Field::PIN_BASED_VM_EXEC_CONTROL)) & PIN_PREEMPTION_TIMER)) return;
  const unsigned x = caps_.preemption_rate();
  uint64_t left = 0;
  if (preempt_due_ != ~0ull && !preempt_fired_ && preempt_due_ > c.cycles)
    left = (preempt_due_ >> x) - (c.cycles >> x);
  v.set(Field::VMX_PREEMPTION_TIMER_VALUE, left);
}

bool Vmx::pml_full() const {
  if (!current_) return false;
  const Vmcs& v = *current_;
  const uint32_t proc = uint32_t(v.get(Field::CPU_BASED_VM_EXEC_CONTROL));
  if (!(proc & CPU_SECONDARY_CONTROLS) ||
      !(uint32_t(v.get(Field::SECONDARY_VM_EXEC_CONTROL)) & CPU2_PML))
    return false;
  return v.get(Field::GUEST_PML_INDEX) > 511;
}

void Vmx::pml_log(uint64_t gpa_page) {
  if (!current_) return;
  Vmcs& v = *current_;
  const uint32_t proc = uint32_t(v.get(Field::CPU_BASED_VM_EXEC_CONTROL));
  if (!(proc & CPU_SECONDARY_CONTROLS) ||
      !(uint32_t(v.get(Field::SECONDARY_VM_EXEC_CONTROL)) & CPU2_PML))
    return;
  const uint64_t index = v.get(Field::GUEST_PML_INDEX);
  if (index > 511) return;
  const uint64_t entry = gpa_page & ~0xFFFull;
  env_.phys_write(v.get(Field::PML_ADDRESS) + 8 * index, &entry, 8);
  v.set(Field::GUEST_PML_INDEX, index - 1);
}

}  // namespace vmx
