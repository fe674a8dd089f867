// The 2-D walk: a guest's linear address translated by its own paging structures (any
// x86 format, through mmu::walk) composed with EPT (SDM Vol. 3C 28.3.2 and 28.3.3.2,
// "guest-physical addresses" of every paging-structure entry and of the final access).
// Section numbers of Vol. 3C follow the edition docs/VMX.md names (as in vmx/): "VMX
// Support for Address Translation" is chapter 28, "VM Exits" chapter 27.
//
// nested_walk() runs the guest walk over an adapter PteMemory whose every reference
// is a guest-physical access: the entry's address is translated through EPT first
// (ept_walk, or a cached guest-physical mapping) and the entry is then read or
// written in host-physical memory through the caller's PteMemory. Its result is
// exactly one of
//   - kOk: the combined translation (host-physical page, page size = the smaller of
//     the guest and EPT page sizes, the guest's rights with the EPT rights in
//     ept_rwx, rewalk = the guest's | EPT's), ready for Tlb::insert under the EP4TA
//     tag; `gpa` is the guest-physical address of `lin`;
//   - kPageFault: the guest walk's #PF error code, exactly as mmu::walk gives it;
//   - kEptViolation: `gpa` (the GUEST_PHYSICAL_ADDRESS field) and the exit
//     qualification: bits 2:0 the attempted access, 5:3 the EPT rights, bit 7 = 1
//     (the linear address is valid), bit 8 = 1 for the final access and 0 for an access
//     to a guest paging-structure entry, bits 11:9 (advanced information) for the
//     final access only;
//   - kEptMisconfig: `gpa`;
//   - kPmlFull: an EPT A/D update was needed with the page-modification log full.
//
// Rules it keeps (and tests/mmu/nested_test.cpp checks):
//   - a guest paging-structure read is an EPT data read; with EPT A/D on (EPTP bit 6)
//     it is treated as a write (28.3.3.2), so it needs EPT write permission, sets the
//     EPT dirty flag of the page holding the entry (28.3.5) and, if it faults, reports
//     both bits 0 and 1 (table 27-7 footnote);
//   - a guest A/D update is an EPT data write (bit 1 only);
//   - the first EPT failure stops the walk: later guest references are not made, and
//     guest A/D updates already made stay (the processor makes them as it walks);
//   - the final access gets guest A/D set first (mmu::walk's success), then its EPT
//     translation (so an EPT violation on the final access leaves guest A/D set);
//   - every memory reference is counted: guest_refs (guest entry reads and A/D writes
//     that reached memory), ept_refs (EPT entry reads and EPT A/D writes); ept_walks
//     counts EPT walks and gtlb_hits the guest-physical translations served by the
//     guest-physical TLB, so the machine can charge each kind;
//   - set_ad = false (probes) sets no A/D flag in either structure and caches nothing;
//   - an EPT violation invalidates the guest-physical mappings for its gpa in `gtlb`
//     (28.4.3.3); the combined mappings for `lin` are the caller's (Tlb::invalidate_page
//     under the current tag, done anyway before a re-walk).
//
// With guest paging off (format kNone, unrestricted guest) the linear address is the
// guest-physical address; the combined page is the EPT page, and an EPT violation has
// bits 7 and 8 set with bits 11:9 = user, writable, executable (table 27-7).
//
// What the caller supplies: a PteMemory over host-physical memory (sim/translate.cpp's
// PhysPtes: its write_pte keeps decoded code coherent), the guest's PagingControls
// (PDPTE registers included for PAE) and the EPT controls; optionally a GuestPhysTlb
// and the EP4TA tag (Ep4taTags) it is indexed by; mmu/tlb_set.h keeps both.
//
// Use on a TLB miss in VMX non-root operation with "enable EPT" (sim/translate.cpp):
//   tag = {pcid, vpid, set.ept_tag(eptp)}; hit: tlb_serves(t, a) && !access_fault(t, ...);
//   miss: r = nested_walk(ptes, c, lin, a, &set.gpa()); charge r.guest_refs + r.ept_refs;
//   kOk: Tlb::insert(lin, tag, r.t) if a.set_ad; kPageFault: #PF (or its exit);
//   kEptViolation: Tlb::invalidate_page(lin, tag), exit 48 with r.qualification (| bit 12
//   for NMI unblocking), GUEST_PHYSICAL_ADDRESS = r.gpa, GUEST_LINEAR_ADDRESS = lin;
//   kEptMisconfig: exit 49 with r.gpa; kPmlFull: exit 62. With CR0.PG = 0 the walk is
//   still needed (format kNone): the identity is only the guest's half.
#pragma once
#include <cstdint>

#include "mmu/paging.h"
#include "mmu/tlb.h"

namespace mmu {

struct NestedControls {
  PagingControls guest;         // the guest's CR0/CR3/CR4/EFER/RFLAGS.AC/PKRU/PDPTEs
  EptControls ept;
  uint16_t ept_tag = 0;         // the EP4TA's tag (Ep4taTags) for the guest-physical TLB
  bool advanced_info = true;    // IA32_VMX_EPT_VPID_CAP[22]: exit-qualification bits 11:9
};

enum class NestedOutcome : uint8_t {
  kOk,
  kPageFault,
  kEptViolation,
  kEptMisconfig,
  kGeneralProtection,  // load_pdptes_ept only: a present PDPTE sets a reserved bit
  kPmlFull,            // an EPT A/D update found the page-modification log full (28.3.6):
                       // a VM exit, `gpa` is the address whose flags were to be set
};

struct NestedResult {
  NestedOutcome outcome = NestedOutcome::kOk;
  uint32_t error = 0;          // kPageFault: the #PF error code
  Translation t;               // kOk: the combined translation (host-physical page)
  uint64_t gpa = 0;            // kOk: the guest-physical address of the access;
                               // EPT faults: the guest-physical address that faulted
  uint64_t qualification = 0;  // kEptViolation: the exit qualification (no bit 12)
  bool suppress_ve = false;    // kEptViolation: the "suppress #VE" bit (25.5.7)
  unsigned guest_refs = 0;     // guest paging-structure reads and A/D writes
  unsigned guest_writes = 0;   //   of which A/D writes
  unsigned ept_refs = 0;       // EPT entry reads and A/D writes
  unsigned ept_writes = 0;     //   of which A/D writes
  unsigned ept_walks = 0;      // EPT walks made (each of 0..5 levels)
  unsigned gtlb_hits = 0;      // guest-physical translations served by the GuestPhysTlb

  bool ok() const { return outcome == NestedOutcome::kOk; }
  unsigned refs() const { return guest_refs + ept_refs; }
};

// Translates `lin` for access `a` (see above). `gtlb` may be null: every guest-physical
// address is then walked through EPT.
NestedResult nested_walk(PteMemory& host, const NestedControls& c, uint64_t lin,
                         const WalkAccess& a, GuestPhysTlb* gtlb = nullptr);

// One guest-physical access that has no linear address (the guest-linear-address
// field is invalid, qualification bit 7 = 0): an EPT translation with the same result
// conventions (t.page_base host-physical, t.shift and t.ept_rwx from EPT).
NestedResult ept_translate(PteMemory& host, const EptControls& ept, uint64_t gpa,
                           const EptAccess& a, GuestPhysTlb* gtlb = nullptr,
                           uint16_t ept_tag = 0);

// PAE paging under EPT (SDM Vol. 3C 28.3.3.2, Vol. 3A 4.4.1): MOV to CR0/CR3/CR4 loads
// the four PDPTEs from the guest-physical address CR3[31:5] through EPT. The loads are
// reads, even with EPT A/D on (they never fault for lack of write permission); an EPT
// fault has bit 7 = 0. kGeneralProtection when a present PDPTE sets a reserved bit
// (`out` unchanged, as for every failure). VM entry does not call this: with EPT it
// takes the PDPTEs from the VMCS guest-state area.
NestedResult load_pdptes_ept(PteMemory& host, const EptControls& ept, uint64_t cr3,
                             uint8_t maxphyaddr, uint64_t out[4], GuestPhysTlb* gtlb = nullptr,
                             uint16_t ept_tag = 0);

}  // namespace mmu
