// The checks VM entry makes before it loads anything (SDM Vol. 3C 26.2, 26.3.1), as
// pure functions of the VMCS, the model's capabilities and a little processor state.
// Each check is one line naming its SDM section (STYLE.md principle 6); the first
// failing check decides the outcome and is reported with its expression and section,
// so a trace can say exactly why an entry failed.
//
// Order (26.1, 26.2, 26.3): VMLAUNCH/VMRESUME's own checks (VMfailInvalid, 26, 4, 5)
// come first (vmx/entry.cpp); then
//   check_controls    26.2.1 (execution, exit, entry control fields)  -> VMfailValid(7)
//   check_host_state  26.2.2-26.2.4 (host control registers, MSRs, segment and
//                     descriptor-table registers, address-space size)   -> VMfailValid(8)
//   check_guest_state 26.3.1 (control registers, MSRs, segments, descriptor tables,
//                     RIP/RFLAGS, non-register state, VMCS link pointer,
//                     PDPTEs)  -> VM-entry failure, exit reason 33 with the
//                     qualification of 26.8 / Table 27-? (0 default, 2 PDPTE loading,
//                     4 VMCS link pointer)
// MSR loading (26.4, exit reason 34) happens later, during loading (vmx/entry.cpp).
#pragma once
#include <cstdint>

#include "vmx/caps.h"
#include "vmx/vmcs.h"

namespace vmx {

enum class EntryFailure : uint8_t {
  kNone,
  kControls,    // VMfailValid(7): invalid control field(s)
  kHostState,   // VMfailValid(8): invalid host-state field(s)
  kGuestState,  // VM-entry failure: exit reason 33 (bit 31 set), `qualification`
};

// Exit qualifications of a reason-33 entry failure (SDM Vol. 3C 26.8).
enum : uint32_t {
  ENTRY_QUAL_DEFAULT = 0,
  ENTRY_QUAL_PDPTE = 2,      // failure loading the PDPTEs (26.3.1.6)
  ENTRY_QUAL_NMI_INJECT = 3, // not used on processors with virtual-NMI support
  ENTRY_QUAL_LINK_PTR = 4,   // invalid VMCS link pointer (26.3.1.5)
};

struct EntryCheckResult {
  EntryFailure failure = EntryFailure::kNone;
  uint32_t qualification = 0;
  const char* check = nullptr;    // the failed check as written in the source
  const char* section = nullptr;  // its SDM section, e.g. "26.2.1.1"
  // The register or field a check was applied to when one check line serves several
  // (a segment register "GUEST_DS", a PDPTE "PDPTE2"); null otherwise.
  const char* subject = nullptr;
  bool ok() const { return failure == EntryFailure::kNone; }
};

// What the checks need besides the VMCS and the capabilities.
struct EntryContext {
  PhysAccess* mem = nullptr;  // physical memory: VTPR in the virtual-APIC page (26.2.1.1),
                              // the VMCS header behind the VMCS link pointer, the guest's
                              // PDPTEs (PAE paging without EPT); null reads as all 1s
  uint64_t vmxon_ptr = 0;     // the VMXON region; not used by the checks: 26.3.1.5 compares
                              // the VMCS link pointer with the current VMCS (Vmcs::pa)
  bool host_ia32e = false;    // the processor's IA32_EFER.LMA when it executes VMLAUNCH/
                              // VMRESUME (26.2.4: must equal "host address-space size")
  bool launch = false;        // VMLAUNCH (true) or VMRESUME
  mutable unsigned mem_reads = 0;  // reads of `mem` the checks made (their outcome then
                                   // depends on memory, not only on VMCS fields)
};

EntryCheckResult check_controls(const Vmcs& v, const VmxCaps& caps, const EntryContext& ctx);
EntryCheckResult check_host_state(const Vmcs& v, const VmxCaps& caps, const EntryContext& ctx);
// On success with PAE paging and EPT off, `pdpte` (may be null) receives the four PDPTEs
// the entry loads from guest CR3 (26.3.2.4); otherwise it is left unchanged.
EntryCheckResult check_guest_state(const Vmcs& v, const VmxCaps& caps, const EntryContext& ctx,
                                   uint64_t pdpte[4]);
// The RIP checks of 26.3.1.4 alone: the outcome of check_guest_state for a VMCS whose
// guest state passed before and has changed since only in RIP, RSP and the RFLAGS bits
// no check looks at (Vmcs::guest_gen).
EntryCheckResult check_guest_rip(const Vmcs& v, const VmxCaps& caps);

}  // namespace vmx
