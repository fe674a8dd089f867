// The machine's side of VMX: the VMX instruction forms bound to vmx::Vmx (STYLE.md
// principle 1: declared in isa/, implemented in vmx/, bound here), the services vmx/
// asks of the machine (vmx::Env), and Bus::intercept.
#include <cstring>

#include "isa/bind.h"
#include "sim/machine.h"
#include "sim/platform.h"
#include "sim/results_db.h"
#include "sim/stats.h"
#include "sim/system.h"

namespace sim {
namespace {

using isa::Cpu;
using isa::DecodedInst;

vmx::Vmx& unit(Cpu& c) { return static_cast<Machine*>(c.bus)->vmx(); }

template <void (vmx::Vmx::*Fn)(Cpu&, const DecodedInst&)>
void vmx_form(Cpu& c, const DecodedInst& d) {
  (unit(c).*Fn)(c, d);
}

}  // namespace

void bind_vmx_forms(isa::HandlerTable& t) {
  using isa::Form;
  using vmx::Vmx;
  t.set_all(Form::vmxon_mq, &vmx_form<&Vmx::vmxon>);
  t.set_all(Form::vmxoff, &vmx_form<&Vmx::vmxoff>);
  t.set_all(Form::vmclear_mq, &vmx_form<&Vmx::vmclear>);
  t.set_all(Form::vmptrld_mq, &vmx_form<&Vmx::vmptrld>);
  t.set_all(Form::vmptrst_mq, &vmx_form<&Vmx::vmptrst>);
  t.set_all(Form::vmread_ey_gy, &vmx_form<&Vmx::vmread>);
  t.set_all(Form::vmwrite_gy_ey, &vmx_form<&Vmx::vmwrite>);
  t.set_all(Form::vmlaunch, &vmx_form<&Vmx::vmlaunch>);
  t.set_all(Form::vmresume, &vmx_form<&Vmx::vmresume>);
  t.set_all(Form::invept_gy_mdq, &vmx_form<&Vmx::invept>);
  t.set_all(Form::invvpid_gy_mdq, &vmx_form<&Vmx::invvpid>);
  t.set_all(Form::vmcall, &vmx_form<&Vmx::vmcall>);
  t.set_all(Form::vmfunc, &vmx_form<&Vmx::vmfunc>);
}

bool Machine::intercept(Cpu& c, const DecodedInst& d, isa::Intercept k, uint64_t arg) {
  return vmx_.intercept(c, d, k, arg);
}

// ---- vmx::Env --------------------------------------------------------------------------

// VMX structures (VMCS regions, bitmaps, MSR lists) are physical memory: RAM, MMIO or
// unassigned space like any access. Writes to a page holding decoded code invalidate it.
void Machine::phys_read(uint64_t pa, void* dst, size_t n) {
  auto* d = static_cast<uint8_t*>(dst);
  while (n) {
    const size_t chunk = std::min<size_t>(n, isa::kPageSize - (pa & 0xFFF));
    mem_.read(pa, d, unsigned(chunk));
    pa += chunk, d += chunk, n -= chunk;
  }
}

void Machine::phys_write(uint64_t pa, const void* src, size_t n) {
  auto* s = static_cast<const uint8_t*>(src);
  while (n) {
    const size_t chunk = std::min<size_t>(n, isa::kPageSize - (pa & 0xFFF));
    if (mem_.in_ram(pa, 1) && mem_.page_has_code(pa)) {
      counters.smc_invalidations += code_.invalidate_page(pa);
      mem_.clear_code_page(pa);
    }
    mem_.write(pa, s, unsigned(chunk));
    pa += chunk, s += chunk, n -= chunk;
  }
}

// VM entry / VM exit / VMXOFF: a new translation context. The host-pointer TLB and
// the jump cache hold translations of the old one; the paging controls are rebuilt;
// the TLB tags follow VPID and EPT (SDM Vol. 3C 28.3.1). Without VPID, entries and
// exits invalidate VPID 0's linear and combined mappings (28.3.3.3).
void Machine::vmx_context_changed(isa::Cpu& c) {
  const bool guest = c.vmx.mode == isa::VmxMode::kNonRoot && vmx_.current();
  uint16_t vpid = 0;
  bool vpid_on = false, ept = false;
  uint64_t eptp = 0;
  if (guest) {
    const vmx::Vmcs& v = *vmx_.current();
    const uint32_t proc2 = v.secondary_controls();
    vpid_on = proc2 & vmx::CPU2_VPID;
    if (vpid_on) vpid = uint16_t(v.get(vmx::Field::VIRTUAL_PROCESSOR_ID));
    ept = proc2 & vmx::CPU2_EPT;
    if (ept) eptp = v.get(vmx::Field::EPT_POINTER);
  }
  // An entry without VPID, or an exit from a guest that ran without it (28.3.3.3).
  if ((guest && !vpid_on) || (ctx_guest_ && !guest && !ctx_vpid_on_)) tlbs_.vm_transition_without_vpid();
  ctx_guest_ = guest;
  ctx_vpid_on_ = vpid_on;
  vpid_tag_ = vpid;
  ept_on_ = ept;
  ept_tag_ = ept ? tlbs_.ept_tag(eptp) : 0;
  if (ept) {
    const uint64_t cap = model_->vmx.ept_vpid;
    ept_ctl_ = mmu::EptControls{};
    ept_ctl_.eptp = eptp;
    ept_ctl_.maxphyaddr = model_->maxphyaddr;
    ept_ctl_.exec_only = cap & vmx::EPT_CAP_EXEC_ONLY;
    ept_ctl_.page2m = cap & vmx::EPT_CAP_2M;
    ept_ctl_.page1g = cap & vmx::EPT_CAP_1G;
    ept_ctl_.ad_supported = cap & vmx::EPT_CAP_AD;
  }
  flush_host_tlb();
  // The jump cache is cleared; the incoming context's bank serves its blocks again
  // page by page as its pages are translated again (sim/code_cache.h).
  code_.switch_bank(guest ? 1 : 0);
  // paging_controls() compares every input but the PDPTEs, which entries and exits may
  // load: the controls are rebuilt when those differ (or anything else does).
  if (std::memcmp(ctl_.pdpte, c.pdpte, sizeof ctl_.pdpte) != 0) ctl_valid_ = false;
  paging_cr0_ = c.cr0;
  paging_cr4_ = c.cr4;
  // Cpu::attention: the callers set it (vmx::Vmx::want_attention, VMFUNC).
}

bool Machine::vmx_needs_attention() { return needs_attention(); }

// INVEPT / INVVPID (SDM Vol. 3C 28.3.3): the modelled TLBs by tag; the host-pointer TLB
// and the jump cache hold only current translations, so they go whenever the current
// context may be affected.
void Machine::vmx_flush(Flush kind, uint16_t vpid, uint64_t eptp, uint64_t addr) {
  switch (kind) {
    case Flush::kVpidAddress: tlbs_.invvpid_address(vpid, addr); break;
    case Flush::kVpidSingle: tlbs_.invvpid_single(vpid); break;
    case Flush::kVpidAll: tlbs_.invvpid_all(); break;
    case Flush::kVpidSingleNonGlobal: tlbs_.invvpid_single_retaining_globals(vpid); break;
    case Flush::kEptSingle: tlbs_.invept_single(eptp); break;
    case Flush::kEptAll: tlbs_.invept_global(); break;
  }
  flush_host_tlb();
  code_.flush_jump_cache();
}

bool Machine::vmx_intr_pending() { return intc_ && intc_->intr_pending(); }
uint8_t Machine::vmx_intr_acknowledge() { return intc_ ? intc_->acknowledge() : 0; }
void Machine::vmx_apic_eoi() {
  if (intc_) intc_->eoi();
}

void Machine::vmx_trace(isa::Cpu&, const char* line) {
  if (dev_ctx_.trace) dev_ctx_.trace("vmx", line);
}

void Machine::vmx_arm_preemption_timer(uint64_t due) {
  if (due == ~0ull) events_.cancel(preempt_timer_);
  else events_.schedule(preempt_timer_, due);
}

// A VMX abort (27.7) shuts the processor down whatever the VMX mode.
void Machine::vmx_shutdown(isa::Cpu& c, const char* why) {
  c.ev.activity = isa::Activity::kShutdown;
  result_.message = why;
  request_stop(StopReason::kShutdown);
}

bool Machine::event_exit(isa::Cpu& c, const isa::Event& e, const isa::Event* vectoring) {
  return vmx_.event_exit(c, e, vectoring);
}
void Machine::exit_during_delivery(isa::Cpu& c, const isa::Event& e) {
  vmx_.exit_during_delivery(c, e);
}
void Machine::task_switch_exit(isa::Cpu& c, uint16_t sel, unsigned source) {
  vmx_.task_switch_exit(c, sel, source);
}
void Machine::iret_unblock_nmi(isa::Cpu& c) { vmx_.iret_unblock_nmi(c); }
void Machine::iret_faulted(isa::Cpu& c, uint8_t vector) { vmx_.iret_faulted(c, vector); }

// ---- statistics ----------------------------------------------------------------------

void register_vmx_stats(StatsRegistry& r, Machine& m) {
  vmx::Vmx& x = m.vmx();
  vmx::VmxCounters& n = x.counters;
  isa::Cpu& c = m.cpu();
  r.before_read([&x, &c] { x.flush_stats(c.cycles); });
  r.scalar("vmx.entries", "entries", "successful VM entries (VMLAUNCH and VMRESUME)", &n.entries);
  r.scalar("vmx.launches", "entries", "successful VMLAUNCHes", &n.launches);
  r.scalar("vmx.exits", "exits", "VM exits, VM-entry failures (reasons 33, 34) included", &n.exits);
  r.scalar("vmx.entry_fail_controls", "entries", "VMfailValid(7): invalid control fields",
           &n.entry_fail_controls);
  r.scalar("vmx.entry_fail_host", "entries", "VMfailValid(8): invalid host-state fields",
           &n.entry_fail_host);
  r.scalar("vmx.entry_fail_guest", "entries", "entry failures on guest state (exit reason 33)",
           &n.entry_fail_guest);
  r.scalar("vmx.entry_fail_msr", "entries", "entry failures loading MSRs (exit reason 34)",
           &n.entry_fail_msr);
  r.scalar("vmx.vmfail_invalid", "instructions", "VMX instructions ending in VMfailInvalid",
           &n.vmfail_invalid);
  r.scalar("vmx.vmfail_valid", "instructions", "VMX instructions ending in VMfailValid",
           &n.vmfail_valid);
  r.scalar("vmx.vmread", "instructions", "VMREADs that read a field", &n.vmread);
  r.scalar("vmx.vmwrite", "instructions", "VMWRITEs that wrote a field", &n.vmwrite);
  r.scalar("vmx.vmread_shadow", "instructions", "of which from a shadow VMCS without exit",
           &n.vmread_shadow);
  r.scalar("vmx.vmwrite_shadow", "instructions", "of which to a shadow VMCS without exit",
           &n.vmwrite_shadow);
  r.scalar("vmx.vmptrld", "instructions", "successful VMPTRLDs", &n.vmptrld);
  r.scalar("vmx.vmclear", "instructions", "successful VMCLEARs", &n.vmclear);
  r.scalar("vmx.vmcs_cache_evictions", "vmcs", "active VMCSs written back to make room",
           &n.vmcs_cache_evictions);
  r.scalar("vmx.invept", "instructions", "successful INVEPTs", &n.invept);
  r.scalar("vmx.invvpid", "instructions", "successful INVVPIDs", &n.invvpid);
  r.scalar("vmx.virtual_interrupts", "interrupts",
           "virtual interrupts delivered to guests (virtual-interrupt delivery, no exit)",
           &n.virtual_interrupts);
  r.scalar("vmx.posted_notifications", "interrupts",
           "posted-interrupt notifications processed in non-root operation (no exit)",
           &n.posted_notifications);
  r.scalar("vmx.ept_refs", "references", "EPT paging-structure references of 2-D walks",
           &m.counters.ept_refs);
  auto label = [](size_t i) { return std::string(vmx::exit_reason_label(unsigned(i))); };
  r.vector("vmx.exits_by_reason", "exits", "VM exits by basic exit reason", vmx::kExitReasonSlots,
           [&n](size_t i) { return n.by_reason[i].count; }, label);
  r.vector("vmx.root_cycles_by_reason", "cycles",
           "cycles in root operation from a VM exit to the next VM entry, by exit reason",
           vmx::kExitReasonSlots, [&n](size_t i) { return n.by_reason[i].root_cycles; }, label);
}

std::vector<VmExitRecord> vmx_exit_records(Machine& m) {
  m.vmx().flush_stats(m.cpu().cycles);
  std::vector<VmExitRecord> out;
  for (const auto& [key, s] : m.vmx().counters.by_vmcs)
    out.push_back(VmExitRecord{key.first, key.second, vmx::exit_reason_label(key.second), s.count,
                               s.root_cycles});
  return out;
}

}  // namespace sim
