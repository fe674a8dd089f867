#include "mmu/tlb.h"

namespace mmu {

Tlb::Tlb(const TlbGeometry& g) : g_(g) {
  if (g_.sets == 0) g_.sets = 1;
  if (g_.ways == 0) g_.ways = 1;
  if (g_.large == 0) g_.large = 1;
  small_.assign(size_t(g_.sets) * g_.ways, TlbEntry{});
  large_.assign(g_.large, TlbEntry{});
}

TlbEntry* Tlb::lookup(uint64_t lin, const TlbTag& tag) {
  counters.lookups++;
  TlbEntry* set = set_of(lin);
  for (unsigned w = 0; w < g_.ways; w++) {
    if (match(set[w], lin, tag)) {
      counters.hits++;
      set[w].stamp = ++clock_;
      return &set[w];
    }
  }
  if (large_used_) {
    for (TlbEntry& e : large_) {
      if (match(e, lin, tag)) {
        counters.hits++;
        e.stamp = ++clock_;
        return &e;
      }
    }
  }
  counters.misses++;
  return nullptr;
}

void Tlb::insert(uint64_t lin, const TlbTag& tag, const Translation& t) {
  const bool large = t.shift > 12;
  TlbEntry* first = large ? large_.data() : set_of(lin);
  const unsigned n = large ? g_.large : g_.ways;
  // Replace an entry for the same page and tag, else a free one, else the LRU one.
  TlbEntry* victim = nullptr;
  const uint64_t base = lin & ~(t.size() - 1);
  for (unsigned i = 0; i < n; i++) {
    TlbEntry& e = first[i];
    if (e.valid && e.lin_base == base && e.t.shift == t.shift && e.tag.pcid == tag.pcid &&
        e.tag.vpid == tag.vpid && e.tag.ept == tag.ept) {
      victim = &e;
      break;
    }
    if (!e.valid) {
      if (!victim || victim->valid) victim = &e;
    } else if (!victim || (victim->valid && e.stamp < victim->stamp)) {
      victim = &e;
    }
  }
  if (victim->valid) {
    if (!(victim->lin_base == base && victim->tag.pcid == tag.pcid)) counters.evictions++;
  } else if (large) {
    large_used_++;
  }
  victim->valid = true;
  victim->lin_base = base;
  victim->t = t;
  victim->tag = tag;
  victim->stamp = ++clock_;
  counters.fills++;
}

template <class Pred>
void Tlb::drop_if(Pred&& p) {
  for (TlbEntry& e : small_)
    if (e.valid && p(e)) e.valid = false, counters.invalidations++;
  for (TlbEntry& e : large_)
    if (e.valid && p(e)) e.valid = false, counters.invalidations++, large_used_--;
}

// Entries that may translate `lin`: its 4 KiB set and the large-page array.
template <class Pred>
void Tlb::drop_page_if(uint64_t lin, Pred&& p) {
  TlbEntry* set = set_of(lin);
  for (unsigned w = 0; w < g_.ways; w++) {
    TlbEntry& e = set[w];
    if (e.valid && (e.lin_base >> 12) == (lin >> 12) && p(e))
      e.valid = false, counters.invalidations++;
  }
  if (!large_used_) return;
  for (TlbEntry& e : large_)
    if (e.valid && (lin >> e.t.shift) == (e.lin_base >> e.t.shift) && p(e))
      e.valid = false, counters.invalidations++, large_used_--;
}

static bool same_space(const TlbEntry& e, const TlbTag& tag) {
  return e.tag.vpid == tag.vpid && e.tag.ept == tag.ept;
}

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

void Tlb::invalidate_page(uint64_t lin, const TlbTag& tag) { invlpg(lin, tag); }

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

unsigned Tlb::valid_entries() const {
  unsigned n = 0;
  for (const TlbEntry& e : small_) n += e.valid;
  for (const TlbEntry& e : large_) n += e.valid;
  return n;
}

}  // namespace mmu
