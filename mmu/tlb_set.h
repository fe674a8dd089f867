// The machine's translation caches as one unit for the VMX invalidations (SDM Vol. 3C
// 28.4.3.3): the Tlbs holding linear and combined mappings (data and fetch), the
// guest-physical TLB and the EP4TA tags. Every operation applies to all of them, so a
// recycled EP4TA tag never finds mappings of its previous owner.
//
// The Tlbs are the machine's (their non-VMX invalidations stay where they are); the
// guest-physical TLB and the tags live here.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "mmu/tlb.h"

namespace mmu {

class TlbSet {
 public:
  TlbSet(std::initializer_list<Tlb*> tlbs, const TlbGeometry& gpa_geometry = TlbGeometry{},
         unsigned ep4ta_tags = 8);

  GuestPhysTlb& gpa() { return gpa_; }
  const Ep4taTags& tags() const { return tags_; }

  // The EP4TA tag of `eptp` (VM entry with "enable EPT", VMFUNC EPTP switching), after
  // invalidating what a recycled tag still held. Never 0.
  uint16_t ept_tag(uint64_t eptp);

  // INVEPT type 1: guest-physical and combined mappings of `eptp`'s EP4TA.
  void invept_single(uint64_t eptp);
  // INVEPT type 2: every guest-physical and combined mapping.
  void invept_global();
  // INVVPID types 0-3 (Tlb::invvpid_*); guest-physical mappings are not affected.
  void invvpid_address(uint16_t vpid, uint64_t lin);
  void invvpid_single(uint16_t vpid);
  void invvpid_all();
  void invvpid_single_retaining_globals(uint16_t vpid);
  // VM entry or VM exit with "enable VPID" = 0.
  void vm_transition_without_vpid();
  // Reset: every mapping of every kind, every tag forgotten.
  void flush_all();

 private:
  std::vector<Tlb*> tlbs_;
  GuestPhysTlb gpa_;
  Ep4taTags tags_;
};

}  // namespace mmu
