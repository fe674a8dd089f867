// The modelled TLB: translations tagged with the address space they belong to, with
// a capacity and associativity taken from the CPU model, and invalidation operations
// named after what triggers them (SDM Vol. 3A 4.10.2, 4.10.4).
//
// Structure: a set-associative array for 4 KiB pages (indexed by the linear page
// number) and a small fully associative array for 2 MiB / 4 MiB / 1 GiB pages, both
// with LRU replacement. Paging-structure caches are not modelled: a miss walks from
// the root, which the SDM permits (4.10.3 says what a processor *may* cache).
//
// Tags: PCID (SDM 4.10.1; 0 whenever CR4.PCIDE = 0), VPID and an EP4TA tag (SDM Vol.
// 3C 28.4). An entry matches a lookup when VPID and EP4TA tag are equal and either its
// PCID is equal or it is global (G = 1 with CR4.PGE = 1, SDM 4.10.2.4).
//
// The three kinds of cached mappings of SDM Vol. 3C 28.4.1, and where they live:
//   - linear mappings (EPT not in use: outside non-root operation, or EPT off): a Tlb
//     entry with tag.ept = 0, keyed by linear address, tagged by VPID and PCID;
//   - combined mappings (EPT in use): a Tlb entry with tag.ept = the EP4TA's tag
//     (Ep4taTags, never 0), keyed by linear address, translating to a host-physical
//     page; Translation::ept_rwx holds the EPT rights and Translation::rewalk sends the
//     accesses EPT does not grant back to a walk (mmu/nested.h);
//   - guest-physical mappings (EPT in use, gpa -> hpa): GuestPhysTlb below, tagged by
//     EP4TA only. Combined mappings alone would suffice for correctness (the SDM never
//     requires a cache), but without guest-physical mappings every combined-TLB miss
//     under EPT would cost a full EPT walk per guest paging-structure reference (24
//     references for 4-level over 4-level); processors cache these, and so do we.
// Since no linear mapping is used while EPT is in use and no combined mapping while it
// is not (28.4.2), the EP4TA tag 0 keeps them apart in one array.
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
  // "page-fault exceptions") that the current tag would use (its VPID and EP4TA, its
  // PCID or global). An EPT violation for the translation of `lin` invalidates the
  // combined mappings for it (current VPID, PCID and EP4TA, SDM Vol. 3C 28.4.3.3):
  // the same call.
  void invalidate_page(uint64_t lin, const TlbTag& tag);
  // invlpg and invpcid_* act on tag.vpid's linear and combined mappings for every EP4TA
  // (SDM Vol. 3C 28.4.3.3: "only for the current VPID (but, for combined mappings, all
  // EP4TAs)"); flush_all and flush_all_non_global on every VPID, which is more than
  // INVPCID types 2 and 3 or a paging-mode change need in a guest: there, use
  // invvpid_single(vpid) and invvpid_single_retaining_globals(vpid) below.

  // ---- VMX invalidations (SDM Vol. 3C 28.4.3.3; INVVPID and INVEPT in chapter 30) ----
  // INVVPID type 0, individual-address: `vpid`'s linear and combined mappings for
  // `lin`, every PCID and EP4TA, global ones included.
  void invvpid_address(uint16_t vpid, uint64_t lin);
  // INVVPID type 1, single-context: every linear and combined mapping of `vpid`.
  void invvpid_single(uint16_t vpid);
  // INVVPID type 2, all-context: every linear and combined mapping of every VPID
  // except VPID 0000H.
  void invvpid_all();
  // INVVPID type 3, single-context retaining globals: type 1 except global entries.
  void invvpid_single_retaining_globals(uint16_t vpid);
  // VM entry and VM exit with "enable VPID" = 0: VPID 0000H's linear and combined
  // mappings, every PCID and EP4TA (28.4.3.3).
  void vm_transition_without_vpid() { invvpid_single(0); }
  // INVEPT type 1, single-context: the combined mappings of one EP4TA (every VPID and
  // PCID); also what an EP4TA tag must lose before Ep4taTags hands it out again.
  // Tag 0 (linear mappings) is never affected.
  void invept_single(uint16_t ept_tag);
  // INVEPT type 2, global: every combined mapping.
  void invept_global();

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
    small_set_n_[i / g_.ways]--;
    // Swap-remove from the occupancy list.
    const uint32_t at = small_occ_at_[i], last = small_occ_.back();
    small_occ_[at] = last;
    small_occ_at_[last] = at;
    small_occ_.pop_back();
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
  std::vector<uint32_t> small_occ_;     // indices of the valid small_ entries, any order:
                                        // flushes cost O(valid entries), not O(capacity)
                                        // (VM entries and exits without VPID flush)
  std::vector<uint32_t> small_occ_at_;  // position of each valid entry in small_occ_
  std::vector<uint8_t> small_set_n_;    // valid entries per set: a look-up skips empty
                                        // sets (all of them after a VPID-0 flush)
  std::vector<TlbEntry> large_;      // valid entries are large_[0, large_used_)
  unsigned large_used_ = 0;
  uint64_t clock_ = 0;
};

// Guest-physical mappings (SDM Vol. 3C 28.4.1): guest-physical page -> host-physical
// page with the EPT rights, tagged by EP4TA only; created by successful EPT walks that
// set A/D (set_ad), used by the 2-D walk (mmu/nested.h) for the guest's paging-structure
// references and its final guest-physical address. Entries are TlbEntry values with
// lin_base = the guest-physical page, t.page_base = the host-physical page,
// t.ept_rwx = the EPT rights and t.rewalk = EptResult::rewalk(). INVVPID does not touch
// them (28.4.3.3); INVEPT and EPT violations do.
class GuestPhysTlb {
 public:
  explicit GuestPhysTlb(const TlbGeometry& g = TlbGeometry{}) : tlb_(g) {}

  // The mapping of `gpa` under `ept_tag`, or nullptr. The caller checks t.rewalk.
  const TlbEntry* lookup(uint64_t gpa, uint16_t ept_tag) { return tlb_.lookup(gpa, tag(ept_tag)); }
  // Caches a successful walk (EptResult::outcome == kOk).
  void insert(uint64_t gpa, uint16_t ept_tag, const EptResult& r);
  // An EPT violation at `gpa`: the mappings that would translate it (28.4.3.3).
  void invalidate(uint64_t gpa, uint16_t ept_tag) { tlb_.invalidate_page(gpa, tag(ept_tag)); }
  void invept_single(uint16_t ept_tag) { tlb_.invept_single(ept_tag); }
  void invept_global() { tlb_.invept_global(); }
  void flush_all() { tlb_.flush_all(); }

  unsigned valid_entries() const { return tlb_.valid_entries(); }
  const Tlb::Counters& counters() const { return tlb_.counters; }

 private:
  static TlbTag tag(uint16_t ept_tag) {
    TlbTag t;
    t.ept = ept_tag;
    return t;
  }
  Tlb tlb_;
};

// EP4TA identities as 16-bit TLB tags. An EP4TA is bits 51:12 of an EPTP (SDM Vol. 3C
// 28.4.1); guest-physical and combined mappings are associated with it, whatever the
// EPTP's other bits. Tags are 1..capacity (0 is "EPT not in use"). Exhaustion rule:
// when every tag is taken, the least recently acquired EP4TA loses its tag, and the
// caller invalidates every mapping with that tag (Tlb::invept_single,
// GuestPhysTlb::invept_single) before using it (TlbSet::ept_tag does): a processor may
// drop cached mappings at any time (28.4.3.3), so this is invisible except in timing.
class Ep4taTags {
 public:
  static constexpr uint64_t kEp4taMask = 0x000FFFFFFFFFF000ull;  // EPTP bits 51:12

  explicit Ep4taTags(unsigned capacity = 8);

  struct Acquired {
    uint16_t tag = 0;
    bool recycled = false;  // the tag belonged to another EP4TA: invalidate it first
  };
  // The tag of `eptp`'s EP4TA, allocating one if it has none (VM entry with EPT,
  // VMFUNC EPTP switching); it becomes the most recently used.
  Acquired acquire(uint64_t eptp);
  // The tag `eptp`'s EP4TA holds now, or 0 (INVEPT single-context of an EP4TA that has
  // no tag has nothing to invalidate).
  uint16_t find(uint64_t eptp) const;
  // Forgets every EP4TA (the caller flushes every tagged mapping: TlbSet::flush_all).
  void clear();

  unsigned capacity() const { return unsigned(slots_.size()); }

 private:
  struct Slot {
    uint64_t ep4ta = 0;
    uint64_t stamp = 0;  // 0: free
  };
  std::vector<Slot> slots_;  // tag = index + 1
  uint64_t clock_ = 0;
};

}  // namespace mmu
