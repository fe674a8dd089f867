#include "mmu/tlb.h"

namespace mmu {

Tlb::Tlb(const TlbGeometry& g) : g_(g) {
  if (g_.sets == 0) g_.sets = 1;
  if (g_.ways == 0) g_.ways = 1;
  if (g_.large == 0) g_.large = 1;
  small_.assign(size_t(g_.sets) * g_.ways, TlbEntry{});
  small_vpn_.assign(small_.size(), kNoVpn);
  small_stamp_.assign(small_.size(), 0);
  small_occ_.reserve(small_.size());
  small_occ_at_.assign(small_.size(), 0);
  small_set_n_.assign(g_.sets, 0);
  large_.assign(g_.large, TlbEntry{});
}

TlbEntry* Tlb::lookup(uint64_t lin, const TlbTag& tag) {
  counters.lookups++;
  const size_t base = set_index(lin);
  const uint64_t vpn = lin >> 12;
  if (small_set_n_[base / g_.ways]) {
    for (unsigned w = 0; w < g_.ways; w++) {
      if (small_vpn_[base + w] == vpn && match(small_[base + w], lin, tag)) {
        counters.hits++;
        small_stamp_[base + w] = ++clock_;
        return &small_[base + w];
      }
    }
  }
  for (unsigned i = 0; i < large_used_; i++) {
    if (match(large_[i], lin, tag)) {
      counters.hits++;
      large_[i].stamp = ++clock_;
      return &large_[i];
    }
  }
  counters.misses++;
  return nullptr;
}

void Tlb::insert(uint64_t lin, const TlbTag& tag, const Translation& t) {
  const bool large = t.shift > 12;
  const uint64_t page = lin & ~(t.size() - 1);
  auto same = [&](const TlbEntry& e) {
    return e.valid && e.lin_base == page && e.t.shift == t.shift && e.tag.pcid == tag.pcid &&
           e.tag.vpid == tag.vpid && e.tag.ept == tag.ept;
  };
  // Replace an entry for the same page and tag, else a free one, else the LRU one.
  TlbEntry* victim = nullptr;
  if (large) {
    for (unsigned i = 0; i < large_used_ && !victim; i++)
      if (same(large_[i])) victim = &large_[i];
    if (!victim && large_used_ < g_.large) victim = &large_[large_used_++];
    if (!victim) {
      victim = &large_[0];
      for (unsigned i = 1; i < large_used_; i++)
        if (large_[i].stamp < victim->stamp) victim = &large_[i];
      counters.evictions++;
    }
  } else {
    const size_t base = set_index(lin);
    size_t v = base, free = SIZE_MAX;
    // An empty set (all of them after a VPID-0 flush): its first way is the free one
    // the scan below would pick.
    for (unsigned w = 0; w < g_.ways && small_set_n_[base / g_.ways]; w++) {
      const size_t i = base + w;
      if (small_vpn_[i] == (lin >> 12) && same(small_[i])) {
        free = i;
        break;
      }
      if (small_vpn_[i] == kNoVpn) {
        if (free == SIZE_MAX) free = i;
      } else if (small_stamp_[i] < small_stamp_[v] || small_vpn_[v] == kNoVpn) {
        v = i;
      }
    }
    if (free != SIZE_MAX) v = free;
    victim = &small_[v];
    if (victim->valid && !same(*victim)) counters.evictions++;
    if (small_vpn_[v] == kNoVpn) {
      small_occ_at_[v] = uint32_t(small_occ_.size());
      small_occ_.push_back(uint32_t(v));
      small_set_n_[v / g_.ways]++;
    }
    small_vpn_[v] = lin >> 12;
    small_stamp_[v] = clock_ + 1;
  }
  victim->valid = true;
  victim->lin_base = page;
  victim->t = t;
  victim->tag = tag;
  victim->stamp = ++clock_;
  counters.fills++;
}

// Large entries stay packed at the front: the last valid one takes the freed slot.
void Tlb::drop_large(size_t i) {
  large_[i] = large_[--large_used_];
  large_[large_used_].valid = false;
  counters.invalidations++;
}

template <class Pred>
void Tlb::drop_if(Pred&& p) {
  // Backwards: drop_small moves the last valid index into the freed place, which has
  // then been looked at already.
  for (size_t k = small_occ_.size(); k-- > 0;)
    if (p(small_[small_occ_[k]])) drop_small(small_occ_[k]);
  for (size_t i = large_used_; i-- > 0;)
    if (p(large_[i])) drop_large(i);
}

// Entries that may translate `lin`: its 4 KiB set and the large-page array.
template <class Pred>
void Tlb::drop_page_if(uint64_t lin, Pred&& p) {
  const size_t base = set_index(lin);
  for (unsigned w = 0; w < g_.ways; w++)
    if (small_vpn_[base + w] == (lin >> 12) && p(small_[base + w])) drop_small(base + w);
  for (size_t i = large_used_; i-- > 0;) {
    const TlbEntry& e = large_[i];
    if ((lin >> e.t.shift) == (e.lin_base >> e.t.shift) && p(e)) drop_large(i);
  }
}

// INVLPG, INVPCID and MOV to CR3 act on the current VPID only, but on its combined
// mappings for every EP4TA (SDM Vol. 3C 28.4.3.3).
static bool same_space(const TlbEntry& e, const TlbTag& tag) { return e.tag.vpid == tag.vpid; }

void Tlb::invlpg(uint64_t lin, const TlbTag& tag) {
  drop_page_if(lin, [&](const TlbEntry& e) {
    return same_space(e, tag) && (e.t.global || e.tag.pcid == tag.pcid);
  });
}

void Tlb::invpcid_address(uint64_t lin, const TlbTag& tag) {
  drop_page_if(lin, [&](const TlbEntry& e) {
    return same_space(e, tag) && !e.t.global && e.tag.pcid == tag.pcid;
  });
}

void Tlb::invalidate_page(uint64_t lin, const TlbTag& tag) {
  drop_page_if(lin, [&](const TlbEntry& e) {
    return e.tag.vpid == tag.vpid && e.tag.ept == tag.ept && (e.t.global || e.tag.pcid == tag.pcid);
  });
}

void Tlb::invpcid_single(const TlbTag& tag) {
  drop_if([&](const TlbEntry& e) {
    return same_space(e, tag) && !e.t.global && e.tag.pcid == tag.pcid;
  });
}

void Tlb::flush_all() {
  counters.flushes++;
  drop_if([](const TlbEntry&) { return true; });
}

void Tlb::flush_all_non_global() {
  counters.flushes++;
  drop_if([](const TlbEntry& e) { return !e.t.global; });
}

// ---- VMX ----

void Tlb::invvpid_address(uint16_t vpid, uint64_t lin) {
  drop_page_if(lin, [&](const TlbEntry& e) { return e.tag.vpid == vpid; });
}

void Tlb::invvpid_single(uint16_t vpid) {
  counters.flushes++;
  drop_if([&](const TlbEntry& e) { return e.tag.vpid == vpid; });
}

void Tlb::invvpid_all() {
  counters.flushes++;
  drop_if([](const TlbEntry& e) { return e.tag.vpid != 0; });
}

void Tlb::invvpid_single_retaining_globals(uint16_t vpid) {
  counters.flushes++;
  drop_if([&](const TlbEntry& e) { return e.tag.vpid == vpid && !e.t.global; });
}

void Tlb::invept_single(uint16_t ept_tag) {
  if (ept_tag == 0) return;  // linear mappings are not INVEPT's
  counters.flushes++;
  drop_if([&](const TlbEntry& e) { return e.tag.ept == ept_tag; });
}

void Tlb::invept_global() {
  counters.flushes++;
  drop_if([](const TlbEntry& e) { return e.tag.ept != 0; });
}

void GuestPhysTlb::insert(uint64_t gpa, uint16_t ept_tag, const EptResult& r) {
  Translation t;
  t.page_base = r.page_base;
  t.shift = r.shift;
  t.ept_rwx = r.rwx;
  t.rewalk = r.rewalk();
  t.dirty = r.dirty;
  t.user = t.writable = true;
  tlb_.insert(gpa, tag(ept_tag), t);
}

Ep4taTags::Ep4taTags(unsigned capacity)
    : slots_(capacity == 0 ? 1 : capacity > 0xFFFF ? 0xFFFF : capacity) {}

Ep4taTags::Acquired Ep4taTags::acquire(uint64_t eptp) {
  const uint64_t ep4ta = eptp & kEp4taMask;
  Acquired a;
  size_t victim = 0;
  for (size_t i = 0; i < slots_.size(); i++) {
    if (slots_[i].stamp && slots_[i].ep4ta == ep4ta) {
      slots_[i].stamp = ++clock_;
      a.tag = uint16_t(i + 1);
      return a;
    }
    // A free slot first, else the least recently acquired.
    if (slots_[victim].stamp && (!slots_[i].stamp || slots_[i].stamp < slots_[victim].stamp))
      victim = i;
  }
  a.recycled = slots_[victim].stamp != 0;
  slots_[victim] = {ep4ta, ++clock_};
  a.tag = uint16_t(victim + 1);
  return a;
}

uint16_t Ep4taTags::find(uint64_t eptp) const {
  const uint64_t ep4ta = eptp & kEp4taMask;
  for (size_t i = 0; i < slots_.size(); i++)
    if (slots_[i].stamp && slots_[i].ep4ta == ep4ta) return uint16_t(i + 1);
  return 0;
}

void Ep4taTags::clear() {
  for (Slot& s : slots_) s = Slot{};
}

unsigned Tlb::valid_entries() const {
  unsigned n = large_used_;
  for (const TlbEntry& e : small_) n += e.valid;
  return n;
}

}  // namespace mmu
