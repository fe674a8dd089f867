// Virtual interrupts (SDM Vol. 3C 29.1-29.2, 29.6): TPR, PPR, EOI and self-IPI
// virtualization, the evaluation and delivery of pending virtual interrupts, and
// posted-interrupt processing.
//
// State. RVI (bits 7:0) and SVI (15:8) live in the guest-interrupt-status field of the
// current VMCS, kept current there (what a VM exit saves, 27.3.4);
// VTPR, VPPR, VEOI, VISR, VIRR and VICR in the virtual-APIC page (29.1.1), read and
// written at every use, as the processor does. Only "a virtual interrupt is
// recognized" is kept here (vint_recognized_): every operation that can change it
// re-evaluates it (29.2.1), and boundary() delivers it when RFLAGS.IF = 1, there is no
// blocking by STI or MOV SS, and "interrupt-window exiting" is 0 (which evaluation
// already requires), with the priority of an interrupt-window exit: below NMIs, above
// external interrupts (29.2.2).
#include <cstdio>

#include "vmx/vmx.h"

namespace vmx {

using isa::Cpu;

namespace {

constexpr unsigned kVtpr = 0x80, kVppr = 0xA0, kVisr = 0x100, kVirr = 0x200;

// Bit x of VISR/VIRR is bit (x & 1FH) of the dword at base + (x >> 5) * 16 (29.1.1).
unsigned vec_reg(unsigned base, unsigned vector) { return base + (vector >> 5) * 16; }

}  // namespace

void Vmx::apicv_entry(Cpu& c) {
  const Vmcs& v = *current_;
  const uint32_t proc = uint32_t(v.get(Field::CPU_BASED_VM_EXEC_CONTROL));
  const uint32_t proc2 = v.secondary_controls();
  apic_access_page_ = (proc2 & CPU2_VIRT_APIC_ACCESSES) ? v.get(Field::APIC_ACCESS_ADDR) & ~0xFFFull
                                                        : ~0ull;
  vapic_page_ = (proc & CPU_TPR_SHADOW) ? v.get(Field::VIRTUAL_APIC_PAGE_ADDR) & ~0xFFFull : 0;
  vid_ = (proc & CPU_TPR_SHADOW) && (proc2 & CPU2_VIRT_INTR_DELIVERY);
  apic_write_pending_ = -1;
  apic_restart_ = apic_step_ = false;
  vint_recognized_ = false;
  // 26.3.2.5: with virtual-interrupt delivery, PPR virtualization and the evaluation of
  // pending virtual interrupts (a recognized one may be delivered before the first
  // guest instruction, 26.7.5).
  if (vid_) {
    ppr_virtualization();
    evaluate_virtual_interrupts(c);
  }
}

void Vmx::apicv_exit() {
  apic_access_page_ = ~0ull;
  apic_write_pending_ = -1;
  apic_restart_ = apic_step_ = vint_recognized_ = vid_ = false;
}

// 29.1.2: without virtual-interrupt delivery, VTPR[7:4] below TPR threshold[3:0] is a
// TPR-below-threshold VM exit (trap-like); with it, PPR virtualization and the
// evaluation of pending virtual interrupts.
bool Vmx::tpr_virtualization(Cpu& c) {
  if (vid_) {
    ppr_virtualization();
    evaluate_virtual_interrupts(c);
    return false;
  }
  const uint32_t threshold = uint32_t(current_->get(Field::TPR_THRESHOLD)) & 0xF;
  if (((vapic_read(kVtpr) >> 4) & 0xF) >= threshold) return false;
  ExitInfo x;
  x.reason = uint32_t(ExitReason::TPR_BELOW_THRESHOLD);
  vm_exit(c, x);
  return true;
}

// 29.1.3: VPPR = VTPR when VTPR[7:4] >= SVI[7:4], else SVI & F0H.
void Vmx::ppr_virtualization() {
  const uint32_t vtpr = vapic_read(kVtpr) & 0xFF;
  const uint32_t svi = uint32_t(current_->get(Field::GUEST_INTR_STATUS)) >> 8;
  vapic_write(kVppr, (vtpr >> 4) >= (svi >> 4) ? vtpr : svi & 0xF0);
}

// 29.2.1: a virtual interrupt is recognized when "interrupt-window exiting" is 0 and
// RVI[7:4] > VPPR[7:4].
void Vmx::evaluate_virtual_interrupts(Cpu& c) {
  const uint32_t proc = uint32_t(current_->get(Field::CPU_BASED_VM_EXEC_CONTROL));
  const uint32_t rvi = uint32_t(current_->get(Field::GUEST_INTR_STATUS)) & 0xFF;
  const uint32_t vppr = vapic_read(kVppr) & 0xFF;
  vint_recognized_ = !(proc & CPU_INTR_WINDOW_EXITING) && (rvi >> 4) > (vppr >> 4);
  if (vint_recognized_) c.attention = true;
}

// The highest vector set in the 256-bit VISR or VIRR at `base`, or 0 when none is.
unsigned Vmx::highest_vector(unsigned base) {
  for (unsigned r = 8; r-- > 0;) {
    const uint32_t bits = vapic_read(base + r * 16);
    if (bits) return r * 32 + unsigned(31 - __builtin_clz(bits));
  }
  return 0;
}

// 29.1.4: EOI virtualization. The vector in service (SVI) leaves VISR, SVI becomes the
// highest vector still in service, PPR virtualization; then an EOI-induced VM exit
// (reason 45, qualification = the vector, trap-like) when the vector's bit in the
// EOI-exit bitmap is set, else the evaluation of pending virtual interrupts.
bool Vmx::eoi_virtualization(Cpu& c) {
  Vmcs& v = *current_;
  const uint32_t status = uint32_t(v.get(Field::GUEST_INTR_STATUS));
  const unsigned vector = status >> 8;
  const unsigned reg = vec_reg(kVisr, vector);
  vapic_write(reg, vapic_read(reg) & ~(1u << (vector & 31)));
  const unsigned svi = highest_vector(kVisr);
  v.set(Field::GUEST_INTR_STATUS, (status & 0xFF) | svi << 8);
  ppr_virtualization();
  const uint64_t bitmap = v.get(Field(unsigned(Field::EOI_EXIT_BITMAP0) + vector / 64));
  if ((bitmap >> (vector % 64)) & 1) {
    ExitInfo x;
    x.reason = uint32_t(ExitReason::EOI_INDUCED);
    x.qualification = vector;
    vm_exit(c, x);
    return true;
  }
  evaluate_virtual_interrupts(c);
  return false;
}

// 29.1.5: self-IPI virtualization: VIRR[vector] = 1, RVI = max(RVI, vector), then the
// evaluation of pending virtual interrupts.
void Vmx::self_ipi_virtualization(Cpu& c, uint8_t vector) {
  Vmcs& v = *current_;
  const unsigned reg = vec_reg(kVirr, vector);
  vapic_write(reg, vapic_read(reg) | 1u << (vector & 31));
  const uint32_t status = uint32_t(v.get(Field::GUEST_INTR_STATUS));
  if (vector > (status & 0xFF)) v.set(Field::GUEST_INTR_STATUS, (status & 0xFF00) | vector);
  evaluate_virtual_interrupts(c);
}

// 29.2.2: delivery of the recognized virtual interrupt (boundary() checked that it may
// be delivered now). RVI's vector moves from VIRR to VISR and becomes SVI, VPPR its
// priority class, RVI the highest vector left in VIRR; the vector is delivered through
// the guest's IDT as an external interrupt, which wakes a halted guest. The delivery
// may exit (an EPT violation on the IDT or stack): the vector is then the
// IDT-vectoring information, as for any event.
void Vmx::deliver_virtual_interrupt(Cpu& c) {
  Vmcs& v = *current_;
  const uint32_t status = uint32_t(v.get(Field::GUEST_INTR_STATUS));
  const unsigned vector = status & 0xFF;
  const unsigned isr = vec_reg(kVisr, vector), irr = vec_reg(kVirr, vector);
  vapic_write(isr, vapic_read(isr) | 1u << (vector & 31));
  vapic_write(kVppr, vector & 0xF0);
  vapic_write(irr, vapic_read(irr) & ~(1u << (vector & 31)));
  const unsigned rvi = highest_vector(kVirr);
  v.set(Field::GUEST_INTR_STATUS, rvi | vector << 8);
  vint_recognized_ = false;
  counters.virtual_interrupts++;
  c.ev.activity = isa::Activity::kActive;
  c.attention = true;
  if (env_.vmx_tracing()) {
    char line[64];
    std::snprintf(line, sizeof line, "virtual interrupt 0x%02x rvi=0x%02x", vector, rvi);
    env_.vmx_trace(c, line);
  }
  try {
    isa::deliver_event(c, isa::Event{uint8_t(vector), isa::EventType::kExternal});
  } catch (const isa::CpuFault& f) {
    if (f.vector != kVecVmExit) throw;
    complete_pending_exit(c);
  }
}

// 29.6: posted-interrupt processing, for an external interrupt recognized in non-root
// operation with "process posted interrupts" (the caller acknowledged it). A vector
// other than the notification vector exits as usual (false). Otherwise: the
// outstanding-notification bit (bit 256 of the descriptor) is cleared, the local APIC
// gets an EOI, the 256-bit PIR is ORed into VIRR and cleared, RVI becomes the maximum of
// RVI and the highest PIR vector, and pending virtual interrupts are evaluated. The
// descriptor is guest-physical only in name: its address is physical (24.6.8).
bool Vmx::posted_interrupt(Cpu& c, uint8_t vector) {
  Vmcs& v = *current_;
  if (!(uint32_t(v.get(Field::PIN_BASED_VM_EXEC_CONTROL)) & PIN_POSTED_INTR)) return false;
  if (vector != (v.get(Field::POSTED_INTR_NV) & 0xFF)) return false;
  const uint64_t desc = v.get(Field::POSTED_INTR_DESC_ADDR);
  counters.posted_notifications++;
  uint8_t on = 0;
  env_.phys_read(desc + 32, &on, 1);
  on &= uint8_t(~1u);
  env_.phys_write(desc + 32, &on, 1);
  env_.vmx_apic_eoi();
  uint32_t pir[8];
  env_.phys_read(desc, pir, sizeof pir);
  const uint32_t zero[8] = {};
  env_.phys_write(desc, zero, sizeof zero);
  int top = -1;
  for (unsigned r = 0; r < 8; r++) {
    if (!pir[r]) continue;
    const unsigned reg = kVirr + r * 16;
    vapic_write(reg, vapic_read(reg) | pir[r]);
    top = int(r * 32 + (31 - __builtin_clz(pir[r])));
  }
  const uint32_t status = uint32_t(v.get(Field::GUEST_INTR_STATUS));
  if (top > int(status & 0xFF)) v.set(Field::GUEST_INTR_STATUS, (status & 0xFF00) | unsigned(top));
  if (env_.vmx_tracing()) {
    char line[96];
    std::snprintf(line, sizeof line, "posted-interrupt notification 0x%02x: highest PIR vector %d",
                  vector, top);
    env_.vmx_trace(c, line);
  }
  evaluate_virtual_interrupts(c);
  return true;
}

}  // namespace vmx
