// VM-entry checks on the guest-state area (SDM Vol. 3C 26.3.1), in the SDM's order:
// 26.3.1.1 control registers, debug registers and MSRs; 26.3.1.2 segment registers;
// 26.3.1.3 descriptor-table registers; 26.3.1.4 RIP and RFLAGS; 26.3.1.5 non-register
// state and the VMCS link pointer; 26.3.1.6 PDPTEs. A failure is a VM-entry failure
// with exit reason 33 and the qualification of 26.8: 4 for the VMCS link pointer, 2
// for the PDPTEs, 0 otherwise.
//
// Not modelled, so not checked: CET, PKRS, BNDCFGS, RTIT_CTL, IA32_PERF_GLOBAL_CTRL,
// FRED and LAM state (no such fields or controls); RTM (no TSX: bit 16 of the pending
// debug exceptions is reserved); blocking by enclave interruption (no SGX: bit 4 of the
// interruptibility state is reserved); SMM (the processor is never in SMM, so the
// executive-VMCS pointer rules do not apply).
#include <initializer_list>

#include "vmx/controls.h"
#include "vmx/entry_checks.h"
#include "vmx/entry_checks_util.h"

namespace vmx {

using namespace entry_detail;
using F = Field;
using namespace isa;

namespace {

// Access-rights field of a segment register (24.4.1, Table 24-2).
enum : uint32_t {
  AR_TYPE = 0xF, AR_TYPE_ACCESSED = 1, AR_TYPE_WRITE_READ = 2, AR_TYPE_CODE = 8,
  AR_S = 1u << 4, AR_DPL_SHIFT = 5, AR_P = 1u << 7, AR_RSVD_11_8 = 0xF00u,
  AR_L = 1u << 13, AR_DB = 1u << 14, AR_G = 1u << 15, AR_UNUSABLE = 1u << 16,
  AR_RSVD_31_17 = 0xFFFE0000u,
};

// RFLAGS bits that may be 1 in the guest-state field (26.3.1.4): bits 63:22, 15, 5
// and 3 are reserved (0), bit 1 is reserved (1).
constexpr uint64_t kRflagsDefined = 0x3F7FD7;

// Pending debug exceptions bits defined without RTM (Table 24-4).
constexpr uint64_t kPendingDbgDefined = PENDING_DBG_B0_B3 | PENDING_DBG_ENABLED_BP | PENDING_DBG_BS;

// PDPTE bits reserved below MAXPHYADDR: 2:1 and 8:5 (SDM Vol. 3A 4.4.1).
constexpr uint64_t kPdpteReservedLow = 0x1E6;

struct Seg {
  const char* name;
  uint64_t selector, base;
  uint64_t limit;
  uint32_t ar;
  unsigned type() const { return ar & AR_TYPE; }
  unsigned dpl() const { return (ar >> AR_DPL_SHIFT) & 3; }
  unsigned rpl() const { return selector & 3; }
  bool usable() const { return !(ar & AR_UNUSABLE); }
};

// Segment register i of the guest-state area: the selector, base, limit and access-
// rights fields each list ES, CS, SS, DS, FS, GS, LDTR, TR in this order (Appendix B).
constexpr bool seg_fields_in_order() {
  return unsigned(F::GUEST_TR_SELECTOR) - unsigned(F::GUEST_ES_SELECTOR) == 7 &&
         unsigned(F::GUEST_TR_BASE) - unsigned(F::GUEST_ES_BASE) == 7 &&
         unsigned(F::GUEST_TR_LIMIT) - unsigned(F::GUEST_ES_LIMIT) == 7 &&
         unsigned(F::GUEST_TR_AR_BYTES) - unsigned(F::GUEST_ES_AR_BYTES) == 7;
}
static_assert(seg_fields_in_order(), "vmcs_fields.def: guest segment fields out of order");

Seg seg(const Vmcs& v, unsigned i) {
  static constexpr const char* kNames[8] = {"GUEST_ES", "GUEST_CS", "GUEST_SS", "GUEST_DS",
                                            "GUEST_FS", "GUEST_GS", "GUEST_LDTR", "GUEST_TR"};
  const auto at = [&](F first) { return v.get(F(unsigned(first) + i)); };
  return {kNames[i], at(F::GUEST_ES_SELECTOR), at(F::GUEST_ES_BASE), at(F::GUEST_ES_LIMIT),
          uint32_t(at(F::GUEST_ES_AR_BYTES))};
}

// The state the guest checks share.
struct Guest {
  const Vmcs& v;
  const VmxCaps& c;
  const EntryContext& ctx;
  uint32_t pin, proc, proc2, entry;
  bool unrestricted, ia32e, v86, inject;
  unsigned inject_type, inject_vector;
  uint64_t cr0, cr4, rflags;
  Seg es, cs, ss, ds, fs, gs, ldtr, tr;

  Guest(const Vmcs& vmcs, const VmxCaps& caps, const EntryContext& context)
      : v(vmcs), c(caps), ctx(context), es(seg(v, 0)), cs(seg(v, 1)), ss(seg(v, 2)),
        ds(seg(v, 3)), fs(seg(v, 4)), gs(seg(v, 5)), ldtr(seg(v, 6)), tr(seg(v, 7)) {
    pin = uint32_t(v.get(F::PIN_BASED_VM_EXEC_CONTROL));
    proc = uint32_t(v.get(F::CPU_BASED_VM_EXEC_CONTROL));
    proc2 = (proc & CPU_SECONDARY_CONTROLS) ? uint32_t(v.get(F::SECONDARY_VM_EXEC_CONTROL)) : 0;
    entry = uint32_t(v.get(F::VM_ENTRY_CONTROLS));
    unrestricted = proc2 & CPU2_UNRESTRICTED_GUEST;
    ia32e = entry & ENTRY_IA32E_MODE_GUEST;
    cr0 = v.get(F::GUEST_CR0);
    cr4 = v.get(F::GUEST_CR4);
    rflags = v.get(F::GUEST_RFLAGS);
    v86 = rflags & FLAG_VM;  // "the guest will be in virtual-8086 mode" (26.3.1.2)
    const uint32_t info = uint32_t(v.get(F::VM_ENTRY_INTR_INFO_FIELD));
    inject = info & INTR_INFO_VALID;
    inject_type = (info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT;
    inject_vector = info & INTR_INFO_VECTOR_MASK;
  }
  bool injecting(unsigned type) const { return inject && inject_type == type; }
};

// 26.3.1.1: guest control registers, debug registers and MSRs.
EntryCheckResult control_registers(const Guest& g) {
  const Fail fail{EntryFailure::kGuestState};
  const Vmcs& v = g.v;
  const VmxCaps& c = g.c;
  // "Unrestricted guest" lets CR0.PE and CR0.PG be 0 whatever IA32_VMX_CR0_FIXED0 says.
  const uint64_t cr0_must1 = c.cr0_fixed0 & ~(g.unrestricted ? CR0_PE | CR0_PG : 0);
  const uint64_t debugctl = v.get(F::GUEST_IA32_DEBUGCTL);
  const bool load_debug = g.entry & ENTRY_LOAD_DEBUG_CONTROLS;

  CC("26.3.1.1", (g.cr0 & cr0_must1) == cr0_must1);
  CC("26.3.1.1", (g.cr0 & ~c.cr0_fixed1) == 0);
  CC("26.3.1.1", !(g.cr0 & CR0_PG) || (g.cr0 & CR0_PE));
  CC("26.3.1.1", (g.cr4 & c.cr4_fixed0) == c.cr4_fixed0);
  CC("26.3.1.1", (g.cr4 & ~c.cr4_fixed1) == 0);
  CC("26.3.1.1", !load_debug || (debugctl & ~kDebugctlDefined) == 0);
  CC("26.3.1.1", !g.ia32e || (g.cr0 & CR0_PG));
  CC("26.3.1.1", !g.ia32e || (g.cr4 & CR4_PAE));
  CC("26.3.1.1", g.ia32e || !(g.cr4 & CR4_PCIDE));
  CC("26.3.1.1", addr_ok(c, v.get(F::GUEST_CR3)));
  CC("26.3.1.1", !load_debug || (v.get(F::GUEST_DR7) >> 32) == 0);
  CC("26.3.1.1", canonical(c, v.get(F::GUEST_SYSENTER_ESP)));
  CC("26.3.1.1", canonical(c, v.get(F::GUEST_SYSENTER_EIP)));
  CC("26.3.1.1", !(g.entry & ENTRY_LOAD_IA32_PAT) || pat_ok(v.get(F::GUEST_IA32_PAT)));

  const uint64_t efer = v.get(F::GUEST_IA32_EFER);
  const bool load_efer = g.entry & ENTRY_LOAD_IA32_EFER;
  CC("26.3.1.1", !load_efer || (efer & ~kEferDefined) == 0);
  CC("26.3.1.1", !load_efer || bool(efer & EFER_LMA) == g.ia32e);
  CC("26.3.1.1", !load_efer || !(g.cr0 & CR0_PG) || bool(efer & EFER_LME) == g.ia32e);
  return {};
}

// 26.3.1.2, virtual-8086 mode: CS, SS, DS, ES, FS, GS as real-mode-style segments.
EntryCheckResult v86_segment(const Seg& s) {
  const Fail fail{EntryFailure::kGuestState, ENTRY_QUAL_DEFAULT, s.name};
  CC("26.3.1.2", s.base == s.selector << 4);
  CC("26.3.1.2", s.limit == 0xFFFF);
  CC("26.3.1.2", s.ar == 0xF3);
  return {};
}

// 26.3.1.2: the limit and the granularity bit agree (byte granularity can express
// limits up to 1 MiB - 1; page granularity has bits 11:0 all 1).
EntryCheckResult limit_granularity(const Seg& s) {
  const Fail fail{EntryFailure::kGuestState, ENTRY_QUAL_DEFAULT, s.name};
  CC("26.3.1.2", (s.limit & 0xFFF) == 0xFFF || !(s.ar & AR_G));
  CC("26.3.1.2", (s.limit >> 20) == 0 || (s.ar & AR_G));
  return {};
}

// 26.3.1.2, outside virtual-8086 mode: the access-rights checks every usable code or
// data segment register shares (and CS, usable or not).
EntryCheckResult code_data_segment(const Seg& s) {
  const Fail fail{EntryFailure::kGuestState, ENTRY_QUAL_DEFAULT, s.name};
  CC("26.3.1.2", s.ar & AR_S);
  CC("26.3.1.2", s.ar & AR_P);
  CC("26.3.1.2", (s.ar & AR_RSVD_11_8) == 0);
  CC_TRY(limit_granularity(s));
  CC("26.3.1.2", (s.ar & AR_RSVD_31_17) == 0);
  return {};
}

// 26.3.1.2: DS, ES, FS, GS outside virtual-8086 mode, when usable.
EntryCheckResult data_segment(const Guest& g, const Seg& s) {
  if (!s.usable()) return {};
  const Fail fail{EntryFailure::kGuestState, ENTRY_QUAL_DEFAULT, s.name};
  CC("26.3.1.2", s.type() & AR_TYPE_ACCESSED);
  CC("26.3.1.2", !(s.type() & AR_TYPE_CODE) || (s.type() & AR_TYPE_WRITE_READ));
  // Data or non-conforming code: DPL >= RPL.
  CC("26.3.1.2", g.unrestricted || s.type() > 11 || s.dpl() >= s.rpl());
  return code_data_segment(s);
}

// 26.3.1.2: the bases of registers whose upper bits must be 0 or canonical.
EntryCheckResult segment_bases(const Guest& g) {
  const Fail fail{EntryFailure::kGuestState};
  const VmxCaps& c = g.c;
  CC("26.3.1.2", canonical(c, g.tr.base));
  CC("26.3.1.2", canonical(c, g.fs.base));
  CC("26.3.1.2", canonical(c, g.gs.base));
  CC("26.3.1.2", !g.ldtr.usable() || canonical(c, g.ldtr.base));
  CC("26.3.1.2", (g.cs.base >> 32) == 0);
  CC("26.3.1.2", !g.ss.usable() || (g.ss.base >> 32) == 0);
  CC("26.3.1.2", !g.ds.usable() || (g.ds.base >> 32) == 0);
  CC("26.3.1.2", !g.es.usable() || (g.es.base >> 32) == 0);
  return {};
}

// 26.3.1.2: TR holds a busy TSS, a 64-bit one in IA-32e mode.
EntryCheckResult task_register(const Guest& g) {
  const Seg& tr = g.tr;
  const Fail fail{EntryFailure::kGuestState, ENTRY_QUAL_DEFAULT, tr.name};
  CC("26.3.1.2", g.ia32e || tr.type() == 3 || tr.type() == 11);
  CC("26.3.1.2", !g.ia32e || tr.type() == 11);
  CC("26.3.1.2", !(tr.ar & AR_S));
  CC("26.3.1.2", tr.ar & AR_P);
  CC("26.3.1.2", (tr.ar & AR_RSVD_11_8) == 0);
  CC_TRY(limit_granularity(tr));
  CC("26.3.1.2", tr.usable());
  CC("26.3.1.2", (tr.ar & AR_RSVD_31_17) == 0);
  return {};
}

// 26.3.1.2: LDTR, when usable, holds an LDT descriptor.
EntryCheckResult local_descriptor_table_register(const Guest& g) {
  const Seg& ldtr = g.ldtr;
  if (!ldtr.usable()) return {};
  const Fail fail{EntryFailure::kGuestState, ENTRY_QUAL_DEFAULT, ldtr.name};
  CC("26.3.1.2", ldtr.type() == 2);
  CC("26.3.1.2", !(ldtr.ar & AR_S));
  CC("26.3.1.2", ldtr.ar & AR_P);
  CC("26.3.1.2", (ldtr.ar & AR_RSVD_11_8) == 0);
  CC_TRY(limit_granularity(ldtr));
  CC("26.3.1.2", (ldtr.ar & AR_RSVD_31_17) == 0);
  return {};
}

// 26.3.1.2: guest segment registers, LDTR and TR.
EntryCheckResult segment_registers(const Guest& g) {
  const Fail fail{EntryFailure::kGuestState};
  const Seg &cs = g.cs, &ss = g.ss, &tr = g.tr, &ldtr = g.ldtr;

  // Selectors.
  CC("26.3.1.2", (tr.selector & 4) == 0);
  CC("26.3.1.2", !ldtr.usable() || (ldtr.selector & 4) == 0);
  CC("26.3.1.2", g.v86 || g.unrestricted || ss.rpl() == cs.rpl());

  // Bases, and in virtual-8086 mode limits and access rights.
  CC_TRY(segment_bases(g));
  if (g.v86) {
    for (const Seg* s : {&cs, &ss, &g.ds, &g.es, &g.fs, &g.gs}) CC_TRY(v86_segment(*s));
  } else {
    // CS: accessed code, or with "unrestricted guest" accessed read/write data.
    const unsigned t = cs.type();
    CC("26.3.1.2", t == 9 || t == 11 || t == 13 || t == 15 || (g.unrestricted && t == 3));
    CC("26.3.1.2", !ss.usable() || ss.type() == 3 || ss.type() == 7);
    // DPLs: CS against SS (real-mode-like CS for type 3; non-conforming equal,
    // conforming not above), SS against its RPL and the real-mode case.
    CC("26.3.1.2", t != 3 || cs.dpl() == 0);
    CC("26.3.1.2", !(t == 9 || t == 11) || cs.dpl() == ss.dpl());
    CC("26.3.1.2", !(t == 13 || t == 15) || cs.dpl() <= ss.dpl());
    CC("26.3.1.2", g.unrestricted || ss.dpl() == ss.rpl());
    CC("26.3.1.2", !(t == 3 || !(g.cr0 & CR0_PE)) || ss.dpl() == 0);
    CC("26.3.1.2", !(g.ia32e && (cs.ar & AR_L)) || !(cs.ar & AR_DB));
    CC_TRY(code_data_segment(cs));
    if (ss.usable()) CC_TRY(code_data_segment(ss));
    for (const Seg* s : {&g.ds, &g.es, &g.fs, &g.gs}) CC_TRY(data_segment(g, *s));
  }

  CC_TRY(task_register(g));
  return local_descriptor_table_register(g);
}

// 26.3.1.3: GDTR and IDTR.
EntryCheckResult descriptor_tables(const Guest& g) {
  const Fail fail{EntryFailure::kGuestState};
  const Vmcs& v = g.v;
  CC("26.3.1.3", canonical(g.c, v.get(F::GUEST_GDTR_BASE)));
  CC("26.3.1.3", canonical(g.c, v.get(F::GUEST_IDTR_BASE)));
  CC("26.3.1.3", (v.get(F::GUEST_GDTR_LIMIT) >> 16) == 0);
  CC("26.3.1.3", (v.get(F::GUEST_IDTR_LIMIT) >> 16) == 0);
  return {};
}

// 26.3.1.4: RIP and RFLAGS. RIP is checked against the processor's linear-address
// width ("if the processor supports N < 64 linear-address bits").
EntryCheckResult rip_checks(const VmxCaps& c, bool code64, uint64_t rip) {
  const Fail fail{EntryFailure::kGuestState};
  CC("26.3.1.4", code64 || (rip >> 32) == 0);
  CC("26.3.1.4", !code64 || canonical(c, rip));
  return {};
}

EntryCheckResult rip_rflags(const Guest& g) {
  const Fail fail{EntryFailure::kGuestState};
  CC_TRY(rip_checks(g.c, g.ia32e && (g.cs.ar & AR_L), g.v.get(F::GUEST_RIP)));
  CC("26.3.1.4", (g.rflags & ~kRflagsDefined) == 0);
  CC("26.3.1.4", g.rflags & FLAG_FIXED1);
  CC("26.3.1.4", !(g.ia32e || !(g.cr0 & CR0_PE)) || !(g.rflags & FLAG_VM));
  CC("26.3.1.4", !g.injecting(INTR_TYPE_EXT_INTR) || (g.rflags & FLAG_IF));
  return {};
}

// The activity states IA32_VMX_MISC reports (bits 8:6 for states 1-3; active always).
bool activity_supported(const VmxCaps& c, uint64_t state) {
  return state == ACTIVITY_ACTIVE ||
         (state <= ACTIVITY_WAIT_SIPI && (c.misc & (MISC_ACTIVITY_HLT << (state - 1))));
}

// Whether an event injected by VM entry may be delivered in `state` (26.3.1.5,
// 24.4.2): in HLT external interrupts, NMIs, #DB, #MC and a pending MTF; in shutdown
// NMIs and #MC; in wait-for-SIPI nothing.
bool injectable_in(uint64_t state, unsigned type, unsigned vector) {
  const bool mc = type == INTR_TYPE_HW_EXCEPTION && vector == 18;
  switch (state) {
    case ACTIVITY_HLT:
      return type == INTR_TYPE_EXT_INTR || type == INTR_TYPE_NMI || mc ||
             (type == INTR_TYPE_HW_EXCEPTION && vector == 1) || type == INTR_TYPE_OTHER_EVENT;
    case ACTIVITY_SHUTDOWN: return type == INTR_TYPE_NMI || mc;
    case ACTIVITY_WAIT_SIPI: return false;
    default: return true;
  }
}

// 26.3.1.5: activity and interruptibility state, pending debug exceptions.
EntryCheckResult non_register_state(const Guest& g) {
  const Fail fail{EntryFailure::kGuestState};
  const Vmcs& v = g.v;
  const uint64_t act = v.get(F::GUEST_ACTIVITY_STATE);
  const uint64_t intr = v.get(F::GUEST_INTERRUPTIBILITY_INFO);
  const bool sti = intr & INTERRUPTIBILITY_STI, mov_ss = intr & INTERRUPTIBILITY_MOV_SS;

  // Activity state.
  CC("26.3.1.5", activity_supported(g.c, act));
  CC("26.3.1.5", act != ACTIVITY_HLT || g.ss.dpl() == 0);
  CC("26.3.1.5", act == ACTIVITY_ACTIVE || !(sti || mov_ss));
  CC("26.3.1.5", !g.inject || injectable_in(act, g.inject_type, g.inject_vector));

  // Interruptibility state (bit 4, enclave interruption, is reserved without SGX).
  CC("26.3.1.5", (intr & ~0xFull) == 0);
  CC("26.3.1.5", !(sti && mov_ss));
  CC("26.3.1.5", (g.rflags & FLAG_IF) || !sti);
  CC("26.3.1.5", !g.injecting(INTR_TYPE_EXT_INTR) || !(sti || mov_ss));
  // Blocking by STI with an injected NMI is model-specific in the SDM; this model
  // rejects it, as Bochs does (software never relies on it being accepted).
  CC("26.3.1.5", !g.injecting(INTR_TYPE_NMI) || !mov_ss);
  CC("26.3.1.5", !g.injecting(INTR_TYPE_NMI) || !sti);
  CC("26.3.1.5", !(intr & INTERRUPTIBILITY_SMI));  // outside SMM
  CC("26.3.1.5", !(g.injecting(INTR_TYPE_NMI) && (g.pin & PIN_VIRTUAL_NMIS)) ||
                     !(intr & INTERRUPTIBILITY_NMI));

  // Pending debug exceptions: reserved bits, and BS agreeing with single-stepping when
  // events are blocked by STI or MOV SS or the guest halts (a pending single-step #DB
  // must be recorded exactly when TF is set and BTF is clear).
  const uint64_t pending = v.get(F::GUEST_PENDING_DBG_EXCEPTIONS);
  CC("26.3.1.5", (pending & ~kPendingDbgDefined) == 0);
  if (sti || mov_ss || act == ACTIVITY_HLT) {
    const bool stepping =
        (g.rflags & FLAG_TF) && !(v.get(F::GUEST_IA32_DEBUGCTL) & DEBUGCTL_BTF);
    CC("26.3.1.5", !stepping || (pending & PENDING_DBG_BS));
    CC("26.3.1.5", stepping || !(pending & PENDING_DBG_BS));
  }
  return {};
}

// 26.3.1.5: the VMCS link pointer (qualification 4). The header at the pointer must
// hold this processor's revision identifier and a shadow-VMCS indicator equal to
// "VMCS shadowing"; outside SMM the pointer must not be the current VMCS.
EntryCheckResult vmcs_link_pointer(const Guest& g) {
  const Fail fail{EntryFailure::kGuestState, ENTRY_QUAL_LINK_PTR};
  const uint64_t link = g.v.get(F::VMCS_LINK_POINTER);
  if (link == ~0ull) return {};
  CC("26.3.1.5", (link & 0xFFF) == 0);
  CC("26.3.1.5", addr_ok(g.c, link));
  const uint32_t header = uint32_t(phys_read(g.ctx, link, 4));
  const bool shadowing = g.proc2 & CPU2_VMCS_SHADOWING;
  CC("26.3.1.5", (header & ~VMCS_SHADOW_INDICATOR) == g.c.revision_id);
  CC("26.3.1.5", bool(header & VMCS_SHADOW_INDICATOR) == shadowing);
  CC("26.3.1.5", link != g.v.pa);
  return {};
}

// 26.3.1.6: with PAE paging outside IA-32e mode, each present PDPTE has its reserved
// bits clear: the PDPTE fields with EPT, else the PDPTEs VM entry loads from the page-
// directory-pointer table at guest CR3 (bits 31:5). Qualification 2 either way.
EntryCheckResult pdptes(const Guest& g, uint64_t out[4]) {
  if (!((g.cr0 & CR0_PG) && (g.cr4 & CR4_PAE) && !g.ia32e)) return {};
  static constexpr const char* kFieldNames[4] = {"GUEST_PDPTR0", "GUEST_PDPTR1", "GUEST_PDPTR2",
                                                 "GUEST_PDPTR3"};
  static constexpr const char* kMemNames[4] = {"PDPTE0", "PDPTE1", "PDPTE2", "PDPTE3"};
  static constexpr F kFields[4] = {F::GUEST_PDPTR0, F::GUEST_PDPTR1, F::GUEST_PDPTR2,
                                   F::GUEST_PDPTR3};
  const bool ept = g.proc2 & CPU2_EPT;
  const uint64_t table = g.v.get(F::GUEST_CR3) & 0xFFFFFFE0;
  uint64_t e[4];
  for (int i = 0; i < 4; i++) e[i] = ept ? g.v.get(kFields[i]) : phys_read(g.ctx, table + 8 * i, 8);
  for (int i = 0; i < 4; i++) {
    const Fail fail{EntryFailure::kGuestState, ENTRY_QUAL_PDPTE,
                    ept ? kFieldNames[i] : kMemNames[i]};
    const uint64_t p = e[i];
    CC("26.3.1.6", !(p & 1) || ((p & kPdpteReservedLow) == 0 && addr_ok(g.c, p)));
  }
  if (!ept && out)
    for (int i = 0; i < 4; i++) out[i] = e[i];
  return {};
}

}  // namespace

EntryCheckResult check_guest_rip(const Vmcs& v, const VmxCaps& caps) {
  const bool code64 = (v.get(F::VM_ENTRY_CONTROLS) & ENTRY_IA32E_MODE_GUEST) &&
                      (v.get(F::GUEST_CS_AR_BYTES) & AR_L);
  return rip_checks(caps, code64, v.get(F::GUEST_RIP));
}

EntryCheckResult check_guest_state(const Vmcs& v, const VmxCaps& caps, const EntryContext& ctx,
                                   uint64_t pdpte[4]) {
  const Guest g(v, caps, ctx);
  CC_TRY(control_registers(g));
  CC_TRY(segment_registers(g));
  CC_TRY(descriptor_tables(g));
  CC_TRY(rip_rflags(g));
  // The SDM leaves the order of the guest-state checks open; the link pointer goes
  // before the rest of 26.3.1.5, as on Bochs (and KVM), so that a VMCS failing both
  // gets the same qualification (4) there and here.
  CC_TRY(vmcs_link_pointer(g));
  CC_TRY(non_register_state(g));
  return pdptes(g, pdpte);
}

}  // namespace vmx
