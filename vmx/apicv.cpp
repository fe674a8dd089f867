// APIC virtualization (SDM Vol. 3C chapter 29), the access side: the TPR shadow (MOV
// CR8, 29.3), the APIC-access page (29.4: which reads and writes are virtualized,
// APIC-write emulation, APIC-access and APIC-write exits) and the MSR-based accesses
// of "virtualize x2APIC mode" (29.5). The virtual-interrupt side (TPR/PPR/EOI/self-IPI
// virtualization, evaluation and delivery of virtual interrupts, posted interrupts)
// is vmx/apicv_vid.cpp.
//
// Trap-like events after a virtualized write (APIC-write emulation, 29.4.3.2) happen
// right after the writing instruction: a virtualized write reached from the block
// loop (Cpu::attention clear: nothing asked for instruction-by-instruction execution)
// is not performed; the instruction is restarted (a kVecVmExit with apic_restart_,
// undone by apicv_restart) and runs again alone, after which boundary() does the
// emulation. The restart is a fault taken at the write, precise as a #PF there is: an
// instruction that wrote other memory before it writes the same values again.
#include "vmx/vmx.h"

namespace vmx {

using isa::Cpu;

namespace {

constexpr unsigned kVtpr = 0x80;   // virtual TPR (29.1.1)
constexpr unsigned kVeoi = 0xB0;   // virtual EOI
constexpr unsigned kVicrLo = 0x300, kVicrHi = 0x310;
constexpr unsigned kSelfIpi = 0x3F0;  // x2APIC SELF IPI (MSR 83FH) on the virtual-APIC page

// Offsets (as offset >> 4) whose first dword APIC-register virtualization reads from
// the virtual-APIC page (29.4.2): ID, version, TPR, EOI, LDR, DFR, SVR, ISR, TMR, IRR,
// ESR, ICR low/high, the LVT entries 320H-370H, initial count, divide configuration.
bool reg_virt_readable(unsigned r) {
  return r == 0x02 || r == 0x03 || r == 0x08 || r == 0x0B || r == 0x0D || r == 0x0E ||
         r == 0x0F || (r >= 0x10 && r <= 0x27) || r == 0x28 || r == 0x30 || r == 0x31 ||
         (r >= 0x32 && r <= 0x38) || r == 0x3E;
}
// ... and whose writes it virtualizes (29.4.3.1): ID, TPR, EOI, LDR, DFR, SVR, ESR, ICR
// low/high, LVT entries, initial count, divide configuration.
bool reg_virt_writable(unsigned r) {
  return r == 0x02 || r == 0x08 || r == 0x0B || r == 0x0D || r == 0x0E || r == 0x0F ||
         r == 0x28 || r == 0x30 || r == 0x31 || (r >= 0x32 && r <= 0x38) || r == 0x3E;
}

}  // namespace

uint32_t Vmx::vapic_read(unsigned off) {
  uint32_t v = 0;
  env_.phys_read(vapic_page_ + off, &v, 4);
  return v;
}

void Vmx::vapic_write(unsigned off, uint32_t value) {
  env_.phys_write(vapic_page_ + off, &value, 4);
}

bool Vmx::tpr_shadow(const Cpu& c) const {
  return c.vmx.mode == isa::VmxMode::kNonRoot && current_ &&
         (uint32_t(current_->get(Field::CPU_BASED_VM_EXEC_CONTROL)) & CPU_TPR_SHADOW);
}

// 29.3: MOV from CR8 reads VTPR[7:4] (bits 63:4 of the destination are 0).
uint64_t Vmx::read_vcr8(Cpu& c) {
  (void)c;
  return (vapic_read(kVtpr) >> 4) & 0xF;
}

// 29.3: MOV to CR8 writes bits 3:0 of the source to VTPR[7:4] and clears the rest of
// VTPR; then TPR virtualization, whose exit is trap-like (the MOV completed; it ends
// its block).
void Vmx::write_vcr8(Cpu& c, uint64_t value) {
  vapic_write(kVtpr, uint32_t(value & 0xF) << 4);
  tpr_virtualization(c);
}

// 29.4: accesses to the APIC-access page. A data access entirely within the low 32 bits
// of a register is virtualized when the controls cover that register (29.4.2, 29.4.3.1):
//   reads:  at offset 80H (TPR) with "use TPR shadow"; with APIC-register
//           virtualization within the first dword of every register of
//           reg_virt_readable;
//   writes: at 80H with "use TPR shadow"; at B0H (EOI) and 300H (ICR low) with
//           virtual-interrupt delivery; with APIC-register virtualization within the
//           first dword of every register of reg_virt_writable. APIC-write emulation
//           follows the instruction.
// Everything else - instruction fetches, implicit accesses (descriptor tables), every
// access of an event delivery (Cpu::in_delivery: the stack frame too), other offsets,
// wider accesses - is an APIC-access VM exit whose qualification gives the offset
// (11:0) and the access type (15:12: 0 linear read, 1 linear write, 2 linear
// instruction fetch, 3 linear access during event delivery), 27.2.1.
uint64_t Vmx::apic_access(Cpu& c, uint64_t pa, isa::Access type, bool implicit,
                          bool delivery, unsigned size) {
  const Vmcs& v = *current_;
  const unsigned off = unsigned(pa & 0xFFF), reg = off >> 4;
  const uint32_t proc = uint32_t(v.get(Field::CPU_BASED_VM_EXEC_CONTROL));
  const uint32_t proc2 = v.secondary_controls();
  const bool tpr = proc & CPU_TPR_SHADOW;
  const bool regvirt = tpr && (proc2 & CPU2_APIC_REG_VIRT);
  const bool vid = tpr && (proc2 & CPU2_VIRT_INTR_DELIVERY);
  // Only an access entirely within the low 32 bits of its register is virtualized
  // (29.4.2, 29.4.3.1); `size` 0 stands for an access of unknown size, taken as 1 byte.
  const bool first_dword = (off & 0xF) + (size ? size : 1) <= 4;
  const uint64_t vapic = (v.get(Field::VIRTUAL_APIC_PAGE_ADDR) & ~0xFFFull) + off;
  const bool plain = !implicit && !delivery;  // an explicit access of an instruction
  if (plain && type == isa::Access::kRead &&
      first_dword && ((tpr && off == kVtpr) || (regvirt && reg_virt_readable(reg))))
    return vapic;
  if (plain && type == isa::Access::kWrite &&
      first_dword && ((tpr && off == kVtpr) || (vid && (off == kVeoi || off == kVicrLo)) ||
                      (regvirt && reg_virt_writable(reg)))) {
    if (!c.attention && !apic_step_) {
      apic_restart_ = true;
      raise_exit(ExitInfo{});
    }
    apic_write_pending_ = int(off);
    c.attention = true;
    return vapic;
  }
  ExitInfo x;
  x.reason = uint32_t(ExitReason::APIC_ACCESS);
  const unsigned kind = delivery                       ? 3
                        : type == isa::Access::kExec    ? 2
                        : type == isa::Access::kWrite   ? 1
                                                        : 0;
  x.qualification = off | uint64_t(kind) << 12;
  raise_exit(x);
}

// The restart of apic_access: nothing of the instruction happened (its kVecVmExit was
// raised before any write; an event delivery it was part of recorded IDT-vectoring
// information, dropped here). The run loop has RIP at the instruction; apic_step_
// keeps boundary_pending() true so that it runs alone, then apic_access virtualizes.
bool Vmx::apicv_restart(Cpu& c) {
  if (!apic_restart_) return false;
  apic_restart_ = false;
  apic_step_ = true;
  pending_exit_ = ExitInfo{};
  c.attention = true;
  return true;
}

// 29.4.3.2: APIC-write emulation after an instruction whose write was virtualized.
bool Vmx::apic_write_emulation(Cpu& c) {
  const unsigned off = unsigned(apic_write_pending_);
  apic_write_pending_ = -1;
  switch (off & ~3u) {
    case kVtpr:
      // Bytes 3:1 of VTPR are cleared, then TPR virtualization.
      vapic_write(kVtpr, vapic_read(kVtpr) & 0xFF);
      return tpr_virtualization(c);
    case kVeoi:
      if (vid_) return eoi_virtualization(c);
      break;
    case kVicrLo: {
      // Self-IPI virtualization when VICR_LO asks for a fixed, edge-triggered IPI to
      // self (shorthand 01) of a vector 16-255, with reserved bits 31:20, 17:16, 13 and
      // delivery status (12) clear; any other ICR write needs the VMM.
      const uint32_t icr = vapic_read(kVicrLo);
      const bool self_fixed = (icr & 0xFFF3B700u) == 0 && ((icr >> 18) & 3) == 1 && (icr & 0xF0);
      if (vid_ && self_fixed) {
        self_ipi_virtualization(c, uint8_t(icr));
        return false;
      }
      break;
    }
    case kVicrHi:
      // Bytes 2:0 of VICR_HI are cleared; no other virtualization and no exit.
      vapic_write(kVicrHi, vapic_read(kVicrHi) & 0xFF000000u);
      return false;
    default: break;
  }
  // 29.4.3.3: an APIC-write VM exit, trap-like, qualification = the page offset.
  ExitInfo x;
  x.reason = uint32_t(ExitReason::APIC_WRITE);
  x.qualification = off;
  vm_exit(c, x);
  return true;
}

// At an instruction boundary in non-root operation (boundary(), first): the end of a
// restarted instruction's solo run, and pending APIC-write emulation, which takes
// priority over SMIs, INIT and lower-priority events and is not blocked by RFLAGS.IF,
// STI or MOV SS (29.4.3.2). True when an exit happened.
bool Vmx::apicv_boundary(Cpu& c) {
  apic_step_ = false;
  return apic_write_pending_ >= 0 && apic_write_emulation(c);
}

// 29.5: RDMSR of 800H-8FFH with "virtualize x2APIC mode". With APIC-register
// virtualization every index reads the 8 bytes at offset (ECX & FFH) << 4 of the
// virtual-APIC page; without it only 808H (TPR) does, bytes 87H:80H. Either way this
// holds whether or not the local APIC is in x2APIC mode. Other indices read the real
// x2APIC (or #GP outside x2APIC mode).
bool Vmx::x2apic_rdmsr(Cpu& c, uint32_t index, uint64_t& value) {
  (void)c;
  const uint32_t proc2 = current_->secondary_controls();
  if (!(proc2 & CPU2_VIRT_X2APIC_MODE)) return false;
  if (!(proc2 & CPU2_APIC_REG_VIRT) && index != 0x808) return false;
  env_.phys_read(vapic_page_ + ((index & 0xFF) << 4), &value, 8);
  return true;
}

// 29.5: WRMSR with "virtualize x2APIC mode":
//   808H (TPR): #GP(0) when bits 63:8 are not 0; else the value goes to bytes 87H:80H,
//     then TPR virtualization;
//   80BH (EOI), with virtual-interrupt delivery: #GP(0) unless the value is 0; else
//     bytes B7H:B0H are written, then EOI virtualization;
//   83FH (SELF IPI), with virtual-interrupt delivery: #GP(0) when bits 63:8 are not 0;
//     else bytes 3F7H:3F0H are written, then self-IPI virtualization of vector 16-255,
//     or a trap-like APIC-write exit (qualification 3F0H) for vectors 0-15.
// Anything else writes the real x2APIC. Exits are trap-like; WRMSR ends its block.
bool Vmx::x2apic_wrmsr(Cpu& c, uint32_t index, uint64_t value) {
  const uint32_t proc2 = current_->secondary_controls();
  if (!(proc2 & CPU2_VIRT_X2APIC_MODE)) return false;
  const bool vid = proc2 & CPU2_VIRT_INTR_DELIVERY;
  const unsigned off = (index & 0xFF) << 4;
  if (index == 0x808 || (vid && index == 0x83F)) {
    if (value >> 8) isa::raise_gp0();
  } else if (vid && index == 0x80B) {
    if (value) isa::raise_gp0();
  } else {
    return false;
  }
  env_.phys_write(vapic_page_ + off, &value, 8);
  if (off == kVtpr) {
    tpr_virtualization(c);
  } else if (off == kVeoi) {
    eoi_virtualization(c);
  } else if (value & 0xF0) {
    self_ipi_virtualization(c, uint8_t(value));
  } else {
    ExitInfo x;
    x.reason = uint32_t(ExitReason::APIC_WRITE);
    x.qualification = kSelfIpi;
    vm_exit(c, x);
  }
  return true;
}

}  // namespace vmx
