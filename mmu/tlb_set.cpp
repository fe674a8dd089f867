#include "mmu/tlb_set.h"

namespace mmu {

TlbSet::TlbSet(std::initializer_list<Tlb*> tlbs, const TlbGeometry& gpa_geometry,
               unsigned ep4ta_tags)
    : tlbs_(tlbs), gpa_(gpa_geometry), tags_(ep4ta_tags) {}

uint16_t TlbSet::ept_tag(uint64_t eptp) {
  const Ep4taTags::Acquired a = tags_.acquire(eptp);
  if (a.recycled) {
    for (Tlb* t : tlbs_) t->invept_single(a.tag);
    gpa_.invept_single(a.tag);
  }
  return a.tag;
}

void TlbSet::invept_single(uint64_t eptp) {
  const uint16_t tag = tags_.find(eptp);
  if (!tag) return;  // no tag, nothing cached
  for (Tlb* t : tlbs_) t->invept_single(tag);
  gpa_.invept_single(tag);
}

void TlbSet::invept_global() {
  for (Tlb* t : tlbs_) t->invept_global();
  gpa_.invept_global();
}

void TlbSet::invvpid_address(uint16_t vpid, uint64_t lin) {
  for (Tlb* t : tlbs_) t->invvpid_address(vpid, lin);
}

void TlbSet::invvpid_single(uint16_t vpid) {
  for (Tlb* t : tlbs_) t->invvpid_single(vpid);
}

void TlbSet::invvpid_all() {
  for (Tlb* t : tlbs_) t->invvpid_all();
}

void TlbSet::invvpid_single_retaining_globals(uint16_t vpid) {
  for (Tlb* t : tlbs_) t->invvpid_single_retaining_globals(vpid);
}

void TlbSet::vm_transition_without_vpid() {
  for (Tlb* t : tlbs_) t->vm_transition_without_vpid();
}

void TlbSet::flush_all() {
  for (Tlb* t : tlbs_) t->flush_all();
  gpa_.flush_all();
  tags_.clear();
}

}  // namespace mmu
