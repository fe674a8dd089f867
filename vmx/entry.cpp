// VM entry (SDM Vol. 3C chapter 26): VMLAUNCH/VMRESUME's own checks (26.1), the
// control, host-state and guest-state checks (26.2, 26.3.1: vmx/entry_checks.*), loading
// guest state (26.3.2), MSR loading (26.4), event injection (26.6) and the view of
// non-root operation the core works with (isa::VmxView).
#include <cstdio>
#include <cstring>

#include "vmx/vmx.h"

namespace vmx {

using isa::Cpu;
using isa::DecodedInst;

namespace {

// VMCS access-rights (24.4.1) -> the core's segment attributes: the same layout without
// bit 16 ("unusable"), which the core expresses as P = 0 (isa/sys_seg.cpp); the DPL of
// an unusable SS is kept, it is the CPL (26.3.2.2).
uint16_t attr_from_ar(uint64_t ar) {
  uint16_t a = uint16_t(ar & 0xF0FF);
  if (ar & (1u << 16)) a &= uint16_t(~0x80u);
  return a;
}

template <unsigned S>
void load_segment(isa::SegmentReg& r, const Vmcs& v) {
  constexpr GuestSegmentFields f = kGuestSegments[S];
  r.selector = uint16_t(v.get(f.selector));
  r.base = v.get(f.base);
  r.limit = uint32_t(v.get(f.limit));
  r.attr = attr_from_ar(v.get(f.ar));
}

}  // namespace

void Vmx::set_view(Cpu& c) {
  isa::VmxView& w = c.vmx;
  const isa::VmxMode mode = w.mode;
  if (mode == isa::VmxMode::kOff) {
    w = isa::VmxView{};
    return;
  }
  if (mode != isa::VmxMode::kNonRoot) {
    // Root operation: the fixed bits only (every other member as VmxView{} has it).
    w.may_exit = 0;
    w.cr0_mask = w.cr0_shadow = w.cr4_mask = w.cr4_shadow = 0;
    w.cr0_fixed0 = caps_.cr0_fixed0;
    w.cr0_fixed1 = caps_.cr0_fixed1;
    w.cr4_fixed0 = caps_.cr4_fixed0;
    w.cr4_fixed1 = caps_.cr4_fixed1;
    w.tsc_offset = w.tsc_multiplier = 0;
    return;
  }
  // Non-root operation: the view depends on the capabilities and control fields of
  // the current VMCS only, so it holds again while its ctl_host_gen is unchanged.
  const Vmcs& v = *current_;
  if (view_vmcs_ == &v && view_gen_ == v.ctl_host_gen) {
    w = view_;
    return;
  }
  w = isa::VmxView{};
  w.mode = mode;
  w.cr0_fixed0 = caps_.cr0_fixed0;
  w.cr0_fixed1 = caps_.cr0_fixed1;
  w.cr4_fixed0 = caps_.cr4_fixed0;
  w.cr4_fixed1 = caps_.cr4_fixed1;
  const uint32_t proc = uint32_t(v.get(Field::CPU_BASED_VM_EXEC_CONTROL));
  const uint32_t proc2 = v.secondary_controls();
  w.cr0_mask = v.get(Field::CR0_GUEST_HOST_MASK);
  w.cr0_shadow = v.get(Field::CR0_READ_SHADOW);
  w.cr4_mask = v.get(Field::CR4_GUEST_HOST_MASK);
  w.cr4_shadow = v.get(Field::CR4_READ_SHADOW);
  // 26.3.1.1: with "unrestricted guest", PE and PG are not fixed for the guest.
  if (proc2 & CPU2_UNRESTRICTED_GUEST) w.cr0_fixed0 &= ~uint64_t(isa::CR0_PE | isa::CR0_PG);
  // 25.3: TSC offsetting, and scaling on top of it (scaling needs offsetting on).
  if (proc & CPU_USE_TSC_OFFSETTING) {
    w.tsc_offset = v.get(Field::TSC_OFFSET);
    if (proc2 & CPU2_TSC_SCALING) w.tsc_multiplier = v.get(Field::TSC_MULTIPLIER);
  }
  w.may_exit = intercept_mask();
  view_ = w;
  view_vmcs_ = &v;
  view_gen_ = v.ctl_host_gen;
}

// ---- VMLAUNCH / VMRESUME (30.3, 26.1) ---------------------------------------------------

void Vmx::quiet_entry(Cpu& c, const DecodedInst& d, bool launch) {
  const bool outer = quiet_begin();
  try {
    vm_entry(c, d, launch);
  } catch (...) {
    quiet_ = outer;
    c.attention = true;
    throw;
  }
  quiet_end(c, outer);
}

void Vmx::vm_entry(Cpu& c, const DecodedInst& d, bool launch) {
  if (!common_checks(c, d, launch ? isa::Intercept::kVmlaunch : isa::Intercept::kVmresume))
    return;
  char why[256];
  // 26.1: no current VMCS, or a shadow VMCS as the current one: VMfailInvalid.
  if (!current_ || current_->shadow) return fail_invalid(c);
  if (c.ev.shadow & isa::SHADOW_MOV_SS) return fail(c, VMERR_ENTRY_MOV_SS);
  if (launch && current_->launched) return fail(c, VMERR_VMLAUNCH_NOT_CLEAR);
  if (!launch && !current_->launched) return fail(c, VMERR_VMRESUME_NOT_LAUNCHED);
  EntryContext ctx;
  ctx.mem = &env_;
  ctx.vmxon_ptr = vmxon_ptr_;
  ctx.host_ia32e = c.efer & isa::EFER_LMA;
  ctx.launch = launch;
  // 26.2: controls and host state; a failure is VMfailValid(7) / VMfailValid(8). They
  // depend on control and host-state fields, the capabilities (fixed) and EFER.LMA,
  // and, for some settings, on memory (VTPR): an outcome that read no memory holds
  // again until a control or host field of this VMCS is written (Vmcs::ctl_host_gen).
  Vmcs& cur = *current_;
  if (checked_vmcs_ != &cur || checked_gen_ != cur.ctl_host_gen ||
      checked_ia32e_ != ctx.host_ia32e) {
    checked_vmcs_ = nullptr;
    for (int step = 0; step < 2; step++) {
      const EntryCheckResult r = step == 0 ? check_controls(cur, caps_, ctx)
                                           : check_host_state(cur, caps_, ctx);
      if (r.ok()) continue;
      if (step == 0) counters.entry_fail_controls++;
      else counters.entry_fail_host++;
      std::snprintf(why, sizeof why, "vmentry failed: VMfailValid(%u): %s (SDM %s)",
                    step == 0 ? 7u : 8u, r.check ? r.check : "?", r.section ? r.section : "?");
      env_.vmx_trace(c, why);
      return fail(c, step == 0 ? VMERR_ENTRY_BAD_CONTROLS : VMERR_ENTRY_BAD_HOST_STATE);
    }
    if (ctx.mem_reads == 0) {
      checked_vmcs_ = &cur;
      checked_gen_ = cur.ctl_host_gen;
      checked_ia32e_ = ctx.host_ia32e;
    }
  }
  // Root-time accounting of the exit this entry returns from ends here; the entry's
  // own cost (checks, loading) is charged whether it then succeeds or fails.
  flush_stats(c.cycles);
  last_exit_open_ = false;
  c.cycles += timing_.vm_entry;
  // 26.3: guest state. From here on a failure is a VM exit (26.7).
  // They depend on guest-state and control fields, the capabilities and, for some
  // settings, on memory (the VMCS link pointer's header, PDPTEs): an outcome that read
  // no memory holds again, but for RIP, while neither generation of the VMCS moved.
  uint64_t pdpte[4] = {};
  EntryCheckResult g;
  if (guest_checked_vmcs_ == &cur && guest_checked_gen_ == cur.guest_gen &&
      guest_checked_ctl_ == cur.ctl_host_gen) {
    g = check_guest_rip(cur, caps_);
  } else {
    guest_checked_vmcs_ = nullptr;
    ctx.mem_reads = 0;
    g = check_guest_state(cur, caps_, ctx, pdpte);
    if (g.ok() && ctx.mem_reads == 0) {
      guest_checked_vmcs_ = &cur;
      guest_checked_gen_ = cur.guest_gen;
      guest_checked_ctl_ = cur.ctl_host_gen;
    }
  }
  if (!g.ok()) {
    counters.entry_fail_guest++;
    std::snprintf(why, sizeof why, "vmentry failed: invalid guest state (exit 33, qual %u): %s (SDM %s)",
                  g.qualification, g.check ? g.check : "?", g.section ? g.section : "?");
    return entry_failure(c, uint32_t(ExitReason::INVALID_STATE), g.qualification, why);
  }
  load_guest_state(c, pdpte);
  // 26.4: the VM-entry MSR-load list, after the guest state; entry i failing gives
  // exit reason 34 with qualification i (1-based).
  uint32_t bad = 0;
  const uint32_t nload = uint32_t(current_->get(Field::VM_ENTRY_MSR_LOAD_COUNT));
  if (nload && !load_msr_list(c, current_->get(Field::VM_ENTRY_MSR_LOAD_ADDR), nload, bad)) {
    counters.entry_fail_msr++;
    std::snprintf(why, sizeof why, "vmentry failed: MSR loading (exit 34): entry %u (SDM 26.4)", bad);
    return entry_failure(c, uint32_t(ExitReason::MSR_LOAD_FAIL), bad, why);
  }
  if (launch) current_->launched = true;
  counters.entries++;
  if (launch) counters.launches++;
  c.vmx.mode = isa::VmxMode::kNonRoot;
  set_view(c);
  env_.vmx_context_changed(c);
  want_attention(c);
  if (env_.vmx_tracing()) {
    std::snprintf(why, sizeof why, "vmentry %s vmcs=0x%llx rip=0x%llx", launch ? "launch" : "resume",
                  static_cast<unsigned long long>(current_->pa),
                  static_cast<unsigned long long>(c.rip()));
    env_.vmx_trace(c, why);
  }
  inject_event(c);
}

// 26.7: a VM entry that fails after the checks of 26.2 exits with `reason` (bit 31 set)
// and `qualification`; no guest state is saved, host state is loaded as on a VM exit.
void Vmx::entry_failure(Cpu& c, uint32_t reason, uint64_t qualification, const char* why) {
  env_.vmx_trace(c, why);
  Vmcs& v = *current_;
  v.set(Field::VM_EXIT_REASON, reason | EXIT_REASON_ENTRY_FAILURE);
  v.set(Field::EXIT_QUALIFICATION, qualification);
  v.set(Field::VM_ENTRY_INTR_INFO_FIELD, v.get(Field::VM_ENTRY_INTR_INFO_FIELD) & ~uint64_t(INTR_INFO_VALID));
  ExitInfo e;
  e.reason = reason | EXIT_REASON_ENTRY_FAILURE;
  e.qualification = qualification;
  record_exit(c, e);
  load_host_state(c);
}

// 26.3.2: control registers, debug registers, MSRs, segments, descriptor tables, RIP,
// RSP, RFLAGS, PDPTEs and the non-register state, from the guest-state area.
void Vmx::load_guest_state(Cpu& c, const uint64_t pdpte[4]) {
  const Vmcs& v = *current_;
  const uint32_t entry = uint32_t(v.get(Field::VM_ENTRY_CONTROLS));
  const uint32_t proc = uint32_t(v.get(Field::CPU_BASED_VM_EXEC_CONTROL));
  const uint32_t proc2 = v.secondary_controls();
  const uint32_t pin = uint32_t(v.get(Field::PIN_BASED_VM_EXEC_CONTROL));
  // 26.3.2.1: CR0 (ET reads as 1 on this processor), CR3, CR4; DR7 and DEBUGCTL with
  // "load debug controls"; SYSENTER MSRs; PAT and EFER when their controls say so,
  // otherwise EFER.LMA and LME follow "IA-32e mode guest".
  c.cr0 = v.get(Field::GUEST_CR0) | isa::CR0_ET;
  c.cr3 = v.get(Field::GUEST_CR3);
  c.cr4 = v.get(Field::GUEST_CR4);
  if (entry & ENTRY_LOAD_DEBUG_CONTROLS) {
    c.dr[7] = v.get(Field::GUEST_DR7);
    c.msr.debugctl = v.get(Field::GUEST_IA32_DEBUGCTL);
  }
  c.msr.sysenter_cs = v.get(Field::GUEST_SYSENTER_CS);
  c.msr.sysenter_esp = v.get(Field::GUEST_SYSENTER_ESP);
  c.msr.sysenter_eip = v.get(Field::GUEST_SYSENTER_EIP);
  if (entry & ENTRY_LOAD_IA32_PAT) c.msr.pat = v.get(Field::GUEST_IA32_PAT);
  if (entry & ENTRY_LOAD_IA32_EFER) {
    c.efer = v.get(Field::GUEST_IA32_EFER);
  } else {
    const uint64_t lm = isa::EFER_LMA | isa::EFER_LME;
    c.efer = (c.efer & ~lm) | ((entry & ENTRY_IA32E_MODE_GUEST) ? lm : 0);
  }
  // 26.3.2.2: segment registers (selector, base, limit, access rights), LDTR, TR, GDTR
  // and IDTR; copied from the last entry's result while the fields are unchanged.
  unsigned char* regs = reinterpret_cast<unsigned char*>(c.seg);
  if (loaded_.vmcs == &v && loaded_.gen == v.guest_gen) {
    std::memcpy(regs, loaded_.bytes, kSegBytes);
  } else {
    load_segments(c, v);
    std::memcpy(loaded_.bytes, regs, kSegBytes);
    loaded_.vmcs = &v;
    loaded_.gen = v.guest_gen;
  }
  // 26.3.2.3: RIP, RSP, RFLAGS.
  c.rip() = v.get(Field::GUEST_RIP);
  c.r[isa::RSP] = v.get(Field::GUEST_RSP);
  c.set_rflags(v.get(Field::GUEST_RFLAGS) | isa::FLAG_FIXED1);
  // 26.3.2.4: PDPTEs for PAE paging: from the VMCS with EPT, else from guest CR3
  // (check_guest_state read and checked them).
  const bool pae = (c.cr0 & isa::CR0_PG) && (c.cr4 & isa::CR4_PAE) && !(c.efer & isa::EFER_LMA);
  if (pae) {
    for (unsigned i = 0; i < 4; i++)
      c.pdpte[i] = (proc2 & CPU2_EPT) ? v.get(Field(unsigned(Field::GUEST_PDPTR0) + i)) : pdpte[i];
  }
  // 26.3.2.5 / 26.6: non-register state. Blocking by STI and MOV SS; blocking by NMI
  // is the guest's NMI blocking, or virtual-NMI blocking with "virtual NMIs".
  const uint32_t intr = uint32_t(v.get(Field::GUEST_INTERRUPTIBILITY_INFO));
  c.ev.shadow = uint8_t(((intr & INTERRUPTIBILITY_STI) ? isa::SHADOW_STI : 0) |
                        ((intr & INTERRUPTIBILITY_MOV_SS) ? isa::SHADOW_MOV_SS : 0));
  if (pin & PIN_VIRTUAL_NMIS) {
    vnmi_blocked_ = intr & INTERRUPTIBILITY_NMI;
  } else {
    c.ev.nmi_blocked = intr & INTERRUPTIBILITY_NMI;
  }
  switch (uint32_t(v.get(Field::GUEST_ACTIVITY_STATE))) {
    case ACTIVITY_HLT: c.ev.activity = isa::Activity::kHlt; break;
    case ACTIVITY_SHUTDOWN: c.ev.activity = isa::Activity::kShutdown; break;
    case ACTIVITY_WAIT_SIPI: c.ev.activity = isa::Activity::kWaitForSipi; break;
    default: c.ev.activity = isa::Activity::kActive; break;
  }
  // Pending debug exceptions (26.6.3): B0-B3 and BS become debug traps delivered
  // before the first guest instruction (when not blocked).
  c.ev.pending_dbg = v.get(Field::GUEST_PENDING_DBG_EXCEPTIONS) & (PENDING_DBG_B0_B3 | PENDING_DBG_BS);
  // The controls whose exits are decided at instruction boundaries (vmx/events.cpp).
  boundary_ctl_ = uint8_t(((proc & CPU_MONITOR_TRAP_FLAG) ? kBoundMtf : 0) |
                          ((pin & PIN_NMI_EXITING) ? kBoundNmiExit : 0) |
                          ((proc & CPU_NMI_WINDOW_EXITING) ? kBoundNmiWindow : 0) |
                          ((pin & PIN_EXTINT_EXITING) ? kBoundExtInt : 0) |
                          ((proc & CPU_INTR_WINDOW_EXITING) ? kBoundIntWindow : 0));
  mtf_pending_ = false;
  apicv_entry(c);  // APIC-access page, virtual-APIC state (26.3.2.5)
  arm_preemption_timer(c);
  c.update_mode();
  want_attention(c);
}

void Vmx::load_segments(Cpu& c, const Vmcs& v) {
  load_segment<isa::ES>(c.seg[isa::ES], v);
  load_segment<isa::CS>(c.seg[isa::CS], v);
  load_segment<isa::SS>(c.seg[isa::SS], v);
  load_segment<isa::DS>(c.seg[isa::DS], v);
  load_segment<isa::FS>(c.seg[isa::FS], v);
  load_segment<isa::GS>(c.seg[isa::GS], v);
  c.ldtr = {uint16_t(v.get(Field::GUEST_LDTR_SELECTOR)),
            attr_from_ar(v.get(Field::GUEST_LDTR_AR_BYTES)),
            uint32_t(v.get(Field::GUEST_LDTR_LIMIT)), v.get(Field::GUEST_LDTR_BASE)};
  c.tr = {uint16_t(v.get(Field::GUEST_TR_SELECTOR)), attr_from_ar(v.get(Field::GUEST_TR_AR_BYTES)),
          uint32_t(v.get(Field::GUEST_TR_LIMIT)), v.get(Field::GUEST_TR_BASE)};
  c.gdtr = {v.get(Field::GUEST_GDTR_BASE), uint16_t(v.get(Field::GUEST_GDTR_LIMIT))};
  c.idtr = {v.get(Field::GUEST_IDTR_BASE), uint16_t(v.get(Field::GUEST_IDTR_LIMIT))};
}

// 26.4: each 16-byte entry is {MSR index (31:0), reserved (63:32) = 0, value}. An
// entry fails for the x2APIC range (with x2APIC mode on: index 31:8 = 0x000008), FS/GS
// base, IA32_SMM_MONITOR_CTL, IA32_SMBASE, reserved bits, or a value WRMSR would refuse
// at CPL 0. A list longer than IA32_VMX_MISC allows fails at the first entry past it.
bool Vmx::load_msr_list(Cpu& c, uint64_t addr, uint32_t count, uint32_t& failed_index) {
  for (uint32_t i = 0; i < count; i++) {
    failed_index = i + 1;
    if (i >= caps_.max_msr_list()) return false;
    uint64_t ent[2];
    env_.phys_read(addr + 16ull * i, ent, 16);
    const uint32_t index = uint32_t(ent[0]);
    if (ent[0] >> 32) return false;
    if ((index >> 8) == 0x8 || index == 0xC0000100 || index == 0xC0000101 || index == 0x9B ||
        index == 0x9E)
      return false;
    try {
      isa::write_msr(c, index, ent[1]);
    } catch (const isa::CpuFault&) {
      return false;
    }
    c.cycles += timing_.msr_list_entry;
  }
  failed_index = 0;
  return true;
}

// 26.6: the event in the VM-entry interruption-information field is delivered through
// the guest's IDT as if it had occurred right after the entry. Software interrupts and
// exceptions return after the instruction (RIP + VM-entry instruction length).
void Vmx::inject_event(Cpu& c) {
  Vmcs& v = *current_;
  const uint32_t info = uint32_t(v.get(Field::VM_ENTRY_INTR_INFO_FIELD));
  if (!(info & INTR_INFO_VALID)) return;
  const uint8_t type = uint8_t((info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT);
  const uint8_t vector = uint8_t(info & INTR_INFO_VECTOR_MASK);
  // Type 7, vector 0: a pending MTF VM exit before the first instruction (26.6.2).
  if (type == INTR_TYPE_OTHER_EVENT) {
    mtf_pending_ = true;
    return;
  }
  isa::Event e;
  e.vector = vector;
  e.type = isa::EventType(type);
  e.has_error = info & INTR_INFO_DELIVER_CODE;
  e.error = uint32_t(v.get(Field::VM_ENTRY_EXCEPTION_ERROR_CODE));
  if (vector == isa::VEC_PF) e.payload = c.cr2;  // the guest's CR2 (set by the VMM) stays
  const bool sw = type == INTR_TYPE_SW_INTR || type == INTR_TYPE_PRIV_SW_EXCEPTION ||
                  type == INTR_TYPE_SW_EXCEPTION;
  const uint64_t len = v.get(Field::VM_ENTRY_INSTRUCTION_LEN);
  if (sw) {
    e.insn_len = uint8_t(len);
    c.rip() += len;
  }
  // Injection wakes a halted guest (26.6.2) and an injected NMI blocks NMIs (or
  // virtual NMIs) as a delivered one does.
  c.ev.activity = isa::Activity::kActive;
  if (type == INTR_TYPE_NMI) {
    if (uint32_t(v.get(Field::PIN_BASED_VM_EXEC_CONTROL)) & PIN_VIRTUAL_NMIS) vnmi_blocked_ = true;
  }
  // The delivery may exit (exceptions it raises go through the exception bitmap; an
  // EPT violation on the IDT or stack): the injected event is then the IDT-vectoring
  // information and RIP is the guest's RIP of the entry.
  const bool nmi_blocked = c.ev.nmi_blocked;
  try {
    isa::deliver_event(c, e, true);
  } catch (const isa::CpuFault& f) {
    if (f.vector != kVecVmExit) throw;
    if (sw) c.rip() -= len;
    complete_pending_exit(c, sw ? unsigned(len) : 0);
    return;
  }
  // With "virtual NMIs" the delivered NMI blocks virtual NMIs only (26.6.1.2, 26.7.1).
  if (type == INTR_TYPE_NMI && (uint32_t(v.get(Field::PIN_BASED_VM_EXEC_CONTROL)) & PIN_VIRTUAL_NMIS))
    c.ev.nmi_blocked = nmi_blocked;
  // With the monitor trap flag, an MTF exit follows the delivery (25.5.2).
  instruction_done(c);
  want_attention(c);
}

}  // namespace vmx
