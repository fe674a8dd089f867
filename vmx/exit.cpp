// VM exits (SDM Vol. 3C chapter 27): recording the exit information (27.2), saving
// guest state (27.3), the VM-exit MSR-store list (27.4), loading host state and the
// VM-exit MSR-load list (27.5), VMX aborts (27.7); and the statistics every exit feeds.
#include <cstdio>
#include <cstring>

#include "isa/flags.h"
#include "vmx/vmx.h"

namespace vmx {

using isa::Cpu;

namespace {

// The core's segment attributes -> VMCS access rights (24.4.1): P = 0 is "unusable".
uint32_t ar_from_attr(uint16_t attr) {
  uint32_t ar = attr & 0xF0FF;
  if (!(attr & 0x80)) ar |= 1u << 16;
  return ar;
}

}  // namespace

[[noreturn]] void Vmx::raise_exit(const ExitInfo& e) {
  pending_exit_ = e;
  isa::raise_fault(kVecVmExit);
}

void Vmx::complete_pending_exit(Cpu& c, unsigned insn_len) {
  if (NS_UNLIKELY(apic_restart_) && apicv_restart(c)) return;  // vmx/apicv.cpp
  if (!pending_exit_.instr_len) pending_exit_.instr_len = insn_len;
  vm_exit(c, pending_exit_);
  pending_exit_ = ExitInfo{};
}

void Vmx::vm_exit(Cpu& c, const ExitInfo& e) {
  Vmcs& v = *current_;
  // 27.2: exit reason, qualification, guest addresses, interruption and instruction
  // information. The valid bit of the VM-entry interruption-information field is
  // cleared by every VM exit (27.2.?, "VM exits... clear bit 31").
  v.set(Field::VM_EXIT_REASON, e.reason);
  v.set(Field::EXIT_QUALIFICATION, e.qualification);
  if (e.has_linear) v.set(Field::GUEST_LINEAR_ADDRESS, e.guest_linear);
  if (e.has_physical && caps_.has(Feature::EPT)) v.set(Field::GUEST_PHYSICAL_ADDRESS, e.guest_physical);
  v.set(Field::VM_EXIT_INTR_INFO, e.intr_info);
  v.set(Field::VM_EXIT_INTR_ERROR_CODE, e.intr_error);
  v.set(Field::IDT_VECTORING_INFO_FIELD, e.idt_info);
  v.set(Field::IDT_VECTORING_ERROR_CODE, e.idt_error);
  v.set(Field::VM_EXIT_INSTRUCTION_LEN, e.instr_len);
  v.set(Field::VMX_INSTRUCTION_INFO, e.instr_info);
  v.set(Field::VM_ENTRY_INTR_INFO_FIELD, v.get(Field::VM_ENTRY_INTR_INFO_FIELD) & ~uint64_t(INTR_INFO_VALID));
  save_guest_state(c, e);
  record_exit(c, e);
  c.cycles += timing_.vm_exit;
  if (env_.vmx_tracing()) {
    char line[160];
    std::snprintf(line, sizeof line, "vmexit reason=%s(%u) qual=0x%llx rip=0x%llx vmcs=0x%llx",
                  exit_reason_label(e.reason & 0xFFFF), e.reason & 0xFFFF,
                  static_cast<unsigned long long>(e.qualification),
                  static_cast<unsigned long long>(c.rip()), static_cast<unsigned long long>(v.pa));
    env_.vmx_trace(c, line);
  }
  // 27.4: the VM-exit MSR-store list holds guest MSR values; an entry that cannot be
  // read (x2APIC range, SMBASE, reserved bits, RDMSR #GP) is a VMX abort.
  const uint64_t store = v.get(Field::VM_EXIT_MSR_STORE_ADDR);
  const uint32_t nstore = uint32_t(v.get(Field::VM_EXIT_MSR_STORE_COUNT));
  for (uint32_t i = 0; i < nstore; i++) {
    uint64_t ent[2];
    env_.phys_read(store + 16ull * i, ent, 16);
    const uint32_t index = uint32_t(ent[0]);
    bool ok = i < caps_.max_msr_list() && !(ent[0] >> 32) && (index >> 8) != 0x8 && index != 0x9E;
    if (ok) {
      try {
        ent[1] = isa::read_msr(c, index);
      } catch (const isa::CpuFault&) {
        ok = false;
      }
    }
    if (!ok) {
      const uint32_t abort = 2;  // 27.7: "failure saving guest MSRs"
      env_.phys_write(v.pa + 4, &abort, 4);
      env_.vmx_shutdown(c, "VMX abort: VM-exit MSR-store list (SDM 27.4)");
      return;
    }
    env_.phys_write(store + 16ull * i + 8, &ent[1], 8);
    c.cycles += timing_.msr_list_entry;
  }
  load_host_state(c);
}

// 27.3: guest state as it is at the exit (RIP was set by the caller to the instruction
// or, for trap-like exits, to the next one).
namespace {

template <unsigned S>
void save_segment(Vmcs::GuestStores& g, const isa::SegmentReg& r) {
  constexpr GuestSegmentFields f = kGuestSegments[S];
  g.set<f.selector>(r.selector);
  g.set<f.base>(r.base);
  g.set<f.limit>(r.limit);
  g.set<f.ar>(ar_from_attr(r.attr));
}

}  // namespace

void Vmx::save_guest_state(Cpu& c, const ExitInfo& e) {
  (void)e;
  Vmcs& v = *current_;
  Vmcs::GuestStores g(v);
  const uint32_t exitc = uint32_t(v.get(Field::VM_EXIT_CONTROLS));
  const uint32_t pin = uint32_t(v.get(Field::PIN_BASED_VM_EXEC_CONTROL));
  const uint32_t proc2 = v.secondary_controls();
  // 27.3.1: control registers, debug registers, MSRs.
  g.set<Field::GUEST_CR0>(c.cr0);
  g.set<Field::GUEST_CR3>(c.cr3);
  g.set<Field::GUEST_CR4>(c.cr4);
  if (exitc & EXIT_SAVE_DEBUG_CONTROLS) {
    g.set<Field::GUEST_DR7>(c.dr[7]);
    g.set<Field::GUEST_IA32_DEBUGCTL>(c.msr.debugctl);
  }
  g.set<Field::GUEST_SYSENTER_CS>(c.msr.sysenter_cs);
  g.set<Field::GUEST_SYSENTER_ESP>(c.msr.sysenter_esp);
  g.set<Field::GUEST_SYSENTER_EIP>(c.msr.sysenter_eip);
  if (exitc & EXIT_SAVE_IA32_PAT) g.set<Field::GUEST_IA32_PAT>(c.msr.pat);
  if (exitc & EXIT_SAVE_IA32_EFER) g.set<Field::GUEST_IA32_EFER>(c.efer);
  // 27.2 / IA32_VMX_MISC[5]: "IA-32e mode guest" records EFER.LMA.
  uint64_t entry = v.get(Field::VM_ENTRY_CONTROLS) & ~uint64_t(ENTRY_IA32E_MODE_GUEST);
  if (c.efer & isa::EFER_LMA) entry |= ENTRY_IA32E_MODE_GUEST;
  v.set(Field::VM_ENTRY_CONTROLS, entry);
  // 27.3.2: segment registers and descriptor-table registers; none to store when they
  // are byte for byte those this VMCS's unchanged fields were saved from.
  const unsigned char* regs = reinterpret_cast<const unsigned char*>(c.seg);
  const bool same = saved_.vmcs == &v && saved_.gen == v.guest_gen &&
                    std::memcmp(regs, saved_.bytes, kSegBytes) == 0;
  if (!same) save_segments(c, g);
  // 27.3.3: RIP, RSP, RFLAGS.
  v.set(Field::GUEST_RIP, c.rip());
  v.set(Field::GUEST_RSP, c.r[isa::RSP]);
  v.set(Field::GUEST_RFLAGS, c.get_rflags());
  // 27.3.4: non-register state.
  uint32_t intr = 0;
  if (c.ev.shadow & isa::SHADOW_STI) intr |= INTERRUPTIBILITY_STI;
  if (c.ev.shadow & isa::SHADOW_MOV_SS) intr |= INTERRUPTIBILITY_MOV_SS;
  if ((pin & PIN_VIRTUAL_NMIS) ? vnmi_blocked_ : c.ev.nmi_blocked) intr |= INTERRUPTIBILITY_NMI;
  g.set<Field::GUEST_INTERRUPTIBILITY_INFO>(intr);
  uint32_t act = ACTIVITY_ACTIVE;
  switch (c.ev.activity) {
    case isa::Activity::kHlt: act = ACTIVITY_HLT; break;
    case isa::Activity::kShutdown: act = ACTIVITY_SHUTDOWN; break;
    case isa::Activity::kWaitForSipi: act = ACTIVITY_WAIT_SIPI; break;
    default: break;
  }
  g.set<Field::GUEST_ACTIVITY_STATE>(act);
  // 27.3.4: B3-B0 and BS of the debug traps still pending (an MTF exit comes before
  // them, 25.5.2); "enabled breakpoint" (bit 12) when one of B3-B0 is set, which the
  // core does only for breakpoints DR7 enables.
  uint64_t pending = c.ev.pending_dbg & (PENDING_DBG_B0_B3 | PENDING_DBG_BS);
  if (pending & PENDING_DBG_B0_B3) pending |= PENDING_DBG_ENABLED_BP;
  g.set<Field::GUEST_PENDING_DBG_EXCEPTIONS>(pending);
  // PDPTEs with EPT and PAE paging (27.3.4).
  const bool pae = (c.cr0 & isa::CR0_PG) && (c.cr4 & isa::CR4_PAE) && !(c.efer & isa::EFER_LMA);
  if ((proc2 & CPU2_EPT) && pae) {
    g.set<Field::GUEST_PDPTR0>(c.pdpte[0]);
    g.set<Field::GUEST_PDPTR1>(c.pdpte[1]);
    g.set<Field::GUEST_PDPTR2>(c.pdpte[2]);
    g.set<Field::GUEST_PDPTR3>(c.pdpte[3]);
  }
  g.done();
  save_preemption_timer(c);
  // From here until this VMCS's guest_gen moves, its segment fields are those of `regs`.
  if (!same) std::memcpy(saved_.bytes, regs, kSegBytes);
  saved_.vmcs = &v;
  saved_.gen = v.guest_gen;
}

void Vmx::save_segments(const Cpu& c, Vmcs::GuestStores& g) {
  save_segment<isa::ES>(g, c.seg[isa::ES]);
  save_segment<isa::CS>(g, c.seg[isa::CS]);
  save_segment<isa::SS>(g, c.seg[isa::SS]);
  save_segment<isa::DS>(g, c.seg[isa::DS]);
  save_segment<isa::FS>(g, c.seg[isa::FS]);
  save_segment<isa::GS>(g, c.seg[isa::GS]);
  g.set<Field::GUEST_LDTR_SELECTOR>(c.ldtr.selector);
  g.set<Field::GUEST_LDTR_BASE>(c.ldtr.base);
  g.set<Field::GUEST_LDTR_LIMIT>(c.ldtr.limit);
  g.set<Field::GUEST_LDTR_AR_BYTES>(ar_from_attr(c.ldtr.attr));
  g.set<Field::GUEST_TR_SELECTOR>(c.tr.selector);
  g.set<Field::GUEST_TR_BASE>(c.tr.base);
  g.set<Field::GUEST_TR_LIMIT>(c.tr.limit);
  g.set<Field::GUEST_TR_AR_BYTES>(ar_from_attr(c.tr.attr));
  g.set<Field::GUEST_GDTR_BASE>(c.gdtr.base);
  g.set<Field::GUEST_GDTR_LIMIT>(c.gdtr.limit);
  g.set<Field::GUEST_IDTR_BASE>(c.idtr.base);
  g.set<Field::GUEST_IDTR_LIMIT>(c.idtr.limit);
}

// 27.5: host state. The processor is in root operation afterwards with the host's
// CR0/CR3/CR4, flat segments from the host selectors, RFLAGS = 2, DR7 = 0x400.
void Vmx::load_host_state(Cpu& c) {
  Vmcs& v = *current_;
  const uint32_t exitc = uint32_t(v.get(Field::VM_EXIT_CONTROLS));
  const bool host64 = exitc & EXIT_HOST_ADDR_SPACE_SIZE;
  // 27.5.1: control registers, debug registers, MSRs.
  c.cr0 = v.get(Field::HOST_CR0) | isa::CR0_ET;
  c.cr3 = v.get(Field::HOST_CR3);
  c.cr4 = v.get(Field::HOST_CR4);
  if (host64) c.cr4 |= isa::CR4_PAE;
  else c.cr4 &= ~uint64_t(isa::CR4_PCIDE);
  c.dr[7] = 0x400;
  c.msr.debugctl = 0;
  c.msr.sysenter_cs = v.get(Field::HOST_IA32_SYSENTER_CS);
  c.msr.sysenter_esp = v.get(Field::HOST_IA32_SYSENTER_ESP);
  c.msr.sysenter_eip = v.get(Field::HOST_IA32_SYSENTER_EIP);
  if (exitc & EXIT_LOAD_IA32_PAT) c.msr.pat = v.get(Field::HOST_IA32_PAT);
  if (exitc & EXIT_LOAD_IA32_EFER) {
    c.efer = v.get(Field::HOST_IA32_EFER);
  } else {
    const uint64_t lm = isa::EFER_LMA | isa::EFER_LME;
    c.efer = (c.efer & ~lm) | (host64 ? lm : 0);
  }
  // 27.5.2: segment and descriptor-table registers; copied from the last exit's result
  // while this VMCS's host-state fields and exit controls are unchanged (ctl_host_gen).
  unsigned char* regs = reinterpret_cast<unsigned char*>(c.seg);
  if (host_.vmcs == &v && host_.gen == v.ctl_host_gen) {
    std::memcpy(regs, host_.bytes, kSegBytes);
  } else {
    load_host_segments(c, v, host64);
    std::memcpy(host_.bytes, regs, kSegBytes);
    host_.vmcs = &v;
    host_.gen = v.ctl_host_gen;
  }
  // 27.5.3: RIP, RSP, RFLAGS.
  c.rip() = v.get(Field::HOST_RIP);
  c.r[isa::RSP] = v.get(Field::HOST_RSP);
  c.rflags = isa::FLAG_FIXED1;  // set_rflags(FLAG_FIXED1), the arithmetic flags all 0
  isa::set_flags_eager(c, 0);
  // Non-register state: no interrupt shadows, active, no pending debug traps.
  c.ev.shadow = 0;
  c.ev.activity = isa::Activity::kActive;
  c.ev.pending_dbg = 0;
  c.vmx.mode = isa::VmxMode::kRoot;
  set_view(c);
  c.update_mode();
  // 27.5.4: PDPTEs of a PAE host outside IA-32e mode, from HOST_CR3 (a reserved bit
  // set in a present entry is a VMX abort, 27.7).
  if ((c.cr0 & isa::CR0_PG) && (c.cr4 & isa::CR4_PAE) && !(c.efer & isa::EFER_LMA)) {
    uint64_t p[4];
    env_.phys_read(c.cr3 & 0xFFFFFFE0ull, p, 32);
    const uint64_t rsvd = 0x1E6ull | ~((1ull << caps_.maxphyaddr) - 1);
    for (unsigned i = 0; i < 4; i++) {
      if ((p[i] & 1) && (p[i] & rsvd)) {
        const uint32_t abort = 4;  // "failure loading host PDPTEs"
        env_.phys_write(v.pa + 4, &abort, 4);
        env_.vmx_shutdown(c, "VMX abort: host PDPTE (SDM 27.5.4)");
        return;
      }
      c.pdpte[i] = p[i];
    }
  }
  // The machine's timer event is scheduled only while preempt_due_ is set (the one
  // place that schedules it sets preempt_due_ first), so there is nothing to cancel else.
  if (preempt_due_ != ~0ull) env_.vmx_arm_preemption_timer(~0ull);
  preempt_due_ = ~0ull;
  preempt_fired_ = mtf_pending_ = false;
  apicv_exit();
  boundary_ctl_ = 0;
  env_.vmx_context_changed(c);
  // 27.5.6: the VM-exit MSR-load list; a failing entry is a VMX abort.
  uint32_t bad = 0;
  const uint32_t nload = uint32_t(v.get(Field::VM_EXIT_MSR_LOAD_COUNT));
  if (nload && !load_msr_list(c, v.get(Field::VM_EXIT_MSR_LOAD_ADDR), nload, bad)) {
    const uint32_t abort = 3;  // "failure loading host MSRs"
    env_.phys_write(v.pa + 4, &abort, 4);
    env_.vmx_shutdown(c, "VMX abort: VM-exit MSR-load list (SDM 27.5.6)");
  }
  want_attention(c);
}

// 27.5.2: segment registers. CS: accessed execute/read code, DPL 0, L = host64;
// SS/DS/ES/FS/GS: accessed read/write data, unusable when the selector is null
// (SS stays usable... its DPL is 0 either way); TR: busy TSS; LDTR unusable.
void Vmx::load_host_segments(Cpu& c, const Vmcs& v, bool host64) {
  isa::SegmentReg& cs = c.seg[isa::CS];
  cs.selector = uint16_t(v.get(Field::HOST_CS_SELECTOR));
  cs.base = 0;
  cs.limit = 0xFFFFFFFF;
  cs.attr = host64 ? 0xA09B : 0xC09B;
  static constexpr unsigned kData[5] = {isa::ES, isa::SS, isa::DS, isa::FS, isa::GS};
  static constexpr Field kSel[5] = {Field::HOST_ES_SELECTOR, Field::HOST_SS_SELECTOR,
                                    Field::HOST_DS_SELECTOR, Field::HOST_FS_SELECTOR,
                                    Field::HOST_GS_SELECTOR};
  for (unsigned i = 0; i < 5; i++) {
    isa::SegmentReg& r = c.seg[kData[i]];
    r.selector = uint16_t(v.get(kSel[i]));
    r.base = 0;
    r.limit = 0xFFFFFFFF;
    r.attr = r.selector ? 0xC093 : 0x0000;
  }
  c.seg[isa::FS].base = v.get(Field::HOST_FS_BASE);
  c.seg[isa::GS].base = v.get(Field::HOST_GS_BASE);
  c.tr.selector = uint16_t(v.get(Field::HOST_TR_SELECTOR));
  c.tr.base = v.get(Field::HOST_TR_BASE);
  c.tr.limit = 0x67;
  c.tr.attr = 0x008B;
  c.ldtr = isa::SegmentReg{0, 0, 0, 0};
  c.gdtr = {v.get(Field::HOST_GDTR_BASE), 0xFFFF};
  c.idtr = {v.get(Field::HOST_IDTR_BASE), 0xFFFF};
}

// Statistics: the exit is counted by reason and by VMCS now; the root-mode cycles
// until the next VM entry are added to the same pair then (flush_stats).
void Vmx::record_exit(Cpu& c, const ExitInfo& e) {
  const unsigned basic = e.reason & 0xFFFF;
  const unsigned slot = basic < kExitReasonSlots ? basic : kExitReasonSlots - 1;
  counters.exits++;
  counters.by_reason[slot].count++;
  // The node of the last (VMCS, reason) pair is kept: map nodes stay where they are
  // while by_vmcs only grows, and a run mostly repeats the same exit.
  if (!last_exit_stats_ || last_exit_vmcs_ != current_->pa || last_exit_reason_ != basic)
    last_exit_stats_ = &counters.by_vmcs[{current_->pa, uint16_t(basic)}];
  last_exit_stats_->count++;
  last_exit_cycle_ = c.cycles;
  last_exit_vmcs_ = current_->pa;
  last_exit_reason_ = uint16_t(basic);
  last_exit_open_ = true;
}

void Vmx::flush_stats(uint64_t now) {
  if (!last_exit_open_) return;
  const uint64_t dt = now > last_exit_cycle_ ? now - last_exit_cycle_ : 0;
  last_exit_cycle_ = now;
  const unsigned slot = last_exit_reason_ < kExitReasonSlots ? last_exit_reason_ : kExitReasonSlots - 1;
  counters.by_reason[slot].root_cycles += dt;
  last_exit_stats_->root_cycles += dt;  // by_vmcs[{last_exit_vmcs_, last_exit_reason_}]
}

}  // namespace vmx
