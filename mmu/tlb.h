// The modelled TLB: translations tagged with the address space they belong to, with
// a capacity and associativity taken from the CPU model, and invalidation operations
// named after what triggers them (SDM Vol. 3A 4.10.2, 4.10.4).
//
// Structure: a set-associative array for 4 KiB pages (indexed by the linear page
// number) and a small fully associative array for 2 MiB / 4 MiB / 1 GiB pages, both
// with LRU replacement. Paging-structure caches are not modelled: a miss walks from
// the root, which the SDM permits (4.10.3 says what a processor *may* cache).
//
// Tags: PCID (SDM 4.10.1; 0 whenever CR4.PCIDE = 0), VPID and an EPTP tag (issue 5).
// An entry matches a lookup when VPID and EPTP tag are equal and either its PCID is
// equal or it is global (G = 1 with CR4.PGE = 1, SDM 4.10.2.4).
//
// Staleness is architectural: an entry stays until an invalidation removes it or it
// is evicted, whatever happens to the paging structures in memory (SDM 4.10.4.2).
#pragma once
#include <cstdint>
#include <vector>

#include "mmu/paging.h"

namespace mmu {

// Capacity and associativity: sets x ways entries for 4 KiB pages, `large` fully
// associative entries for larger pages.
struct TlbGeometry {
  uint16_t sets = 128;
  uint8_t ways = 16;
  uint8_t large = 32;
};

struct TlbTag {
  uint16_t pcid = 0;
  uint16_t vpid = 0;
  uint16_t ept = 0;
};

struct TlbEntry {
  uint64_t lin_base = 0;  // linear address of the page (aligned to its size)
  uint64_t stamp = 0;     // LRU: last use
  Translation t;
  TlbTag tag;
  bool valid = false;
};

class Tlb {
 public:
  explicit Tlb(const TlbGeometry& g = TlbGeometry{});

  // The entry translating `lin` for `tag`, or nullptr (a miss).
  TlbEntry* lookup(uint64_t lin, const TlbTag& tag);
  // Caches a walk's translation, evicting the least recently used entry of its set.
  void insert(uint64_t lin, const TlbTag& tag, const Translation& t);

  // ---- invalidation (SDM Vol. 3A 4.10.4.1) ------------------------------------
  // INVLPG: the page of `lin` in the current PCID, and global entries for it.
  void invlpg(uint64_t lin, const TlbTag& tag);
  // INVPCID type 0: the page of `lin` in tag.pcid, global entries excepted.
  void invpcid_address(uint64_t lin, const TlbTag& tag);
  // INVPCID type 1, and MOV to CR3 (flushing form): every non-global entry of tag.pcid.
  void invpcid_single(const TlbTag& tag);
  // INVPCID type 2, CR4.PGE or PCIDE 1->0 changes, other mode changes: everything.
  void flush_all();
  // INVPCID type 3: every non-global entry, all PCIDs.
  void flush_all_non_global();
  // A page fault invalidates the entries for the faulting address (SDM 4.10.4.1,
  // "page-fault exceptions"), in the current tag.
  void invalidate_page(uint64_t lin, const TlbTag& tag);

  const TlbGeometry& geometry() const { return g_; }
  unsigned valid_entries() const;

  struct Counters {
    uint64_t lookups = 0, hits = 0, misses = 0, fills = 0, evictions = 0, flushes = 0,
             invalidations = 0;
  };
  Counters counters;

 private:
  static bool match(const TlbEntry& e, uint64_t lin, const TlbTag& tag) {
    return e.valid && (lin >> e.t.shift) == (e.lin_base >> e.t.shift) && e.tag.vpid == tag.vpid &&
           e.tag.ept == tag.ept && (e.t.global || e.tag.pcid == tag.pcid);
  }
  size_t set_index(uint64_t lin) const { return size_t((lin >> 12) % g_.sets) * g_.ways; }
  TlbEntry* set_of(uint64_t lin) { return &small_[set_index(lin)]; }
  void drop_small(size_t i) {
    small_[i].valid = false;
    small_vpn_[i] = kNoVpn;
    counters.invalidations++;
  }
  void drop_large(size_t i);
  template <class Pred>
  void drop_if(Pred&& p);
  template <class Pred>
  void drop_page_if(uint64_t lin, Pred&& p);

  TlbGeometry g_;
  static constexpr uint64_t kNoVpn = ~0ull;
  std::vector<TlbEntry> small_;      // sets * ways
  std::vector<uint64_t> small_vpn_;  // lin >> 12 of each valid small_ entry, else kNoVpn:
                                     // a lookup scans these 8-byte keys, not the entries
  std::vector<uint64_t> small_stamp_;  // LRU stamps of small_, likewise
  std::vector<TlbEntry> large_;      // valid entries are large_[0, large_used_)
  unsigned large_used_ = 0;
  uint64_t clock_ = 0;
};

}  // namespace mmu
