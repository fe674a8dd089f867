// Decoded-code cache: straight-line blocks of DecodedInst, cached by the physical
// address of their first instruction and the code size (decoding depends on nothing
// else), so a block survives address-space switches and is shared by every linear
// alias of its code. A direct-mapped jump cache, keyed by linear PC, finds the block
// for the current mappings without translating.
//
// Invariants:
//   - a block never spans more than two physical pages, and both are registered
//     with PhysMem::add_code_page; a write to such a page invalidates every block
//     on it (exact self-modifying code) before the write is performed;
//   - an invalidated block stays readable until the next flush (it may be the block
//     being executed): invalidation nulls its handlers so the run loop leaves it
//     after the current instruction;
//   - insts[n].fn == nullptr terminates every block (the run loop's only check);
//   - the jump cache only holds valid blocks: an invalidated block's slot is cleared,
//     and the whole cache whenever linear->physical mappings may have changed (VM
//     entries and exits bank it instead: entries come back only through a fresh
//     translation, see "jump-cache banks" below);
//   - a block's chain (its last successor) is followed only while the cache epoch it
//     was recorded in is current: every clearing of the jump cache and every flush
//     starts a new epoch, so a chain never leads to an invalidated or freed block.
#pragma once
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "isa/decoded_inst.h"

namespace sim {

struct Block {
  uint64_t pc;         // linear address it was last entered at (jump-cache tag)
  uint64_t phys_pc;    // physical address of the first instruction (cache key)
  uint64_t phys[2];    // physical pages covered (phys[1] == ~0 if one page)
  uint32_t n;          // number of instructions
  uint32_t cycles;     // sum of their base cycle costs
  isa::CodeSize mode;
  bool valid;
  bool chainable;      // last instruction keeps mode and translation (not F_END)
  uint64_t chain_rip;  // RIP the successor was found for
  Block* chain;        // last successor, valid while chain_epoch == CodeCache::epoch()
  uint64_t chain_epoch;
  uint64_t execs;      // complete executions (statistics: instruction classes, sim/stats)
  isa::DecodedInst insts[1];  // n + 1 entries (terminator)
};

class CodeCache {
 public:
  static constexpr unsigned kMaxInsts = 64;
  static constexpr unsigned kJumpBits = 12;

  explicit CodeCache(size_t arena_bytes = 64u << 20);

  // Fast path: the block last entered at linear `pc` under the current mappings.
  Block* lookup(uint64_t pc, isa::CodeSize mode) const {
    Block* b = jump_[slot_of(pc)];
    if (b && b->pc == pc && b->mode == mode) return b;
    return nullptr;
  }
  // The block decoded from physical `phys_pc`, or nullptr.
  Block* lookup_phys(uint64_t phys_pc, isa::CodeSize mode) const;
  // Makes `b` the jump-cache entry for linear `pc`.
  void enter(Block* b, uint64_t pc);

  // Allocates a block with room for n instructions (+ terminator); nullptr when the
  // arena is full (caller flushes and retries).
  Block* alloc(unsigned n);
  // Makes a fully built block findable.
  void insert(Block* b);
  // Invalidates every block on the physical page of `pa`. Returns how many.
  unsigned invalidate_page(uint64_t pa);
  void flush();
  void flush_jump_cache();
  uint64_t epoch() const { return epoch_; }

  // ---- jump-cache banks (VMX transitions, sim/vmx_glue.cpp) ----------------------
  // A VM entry or exit changes the translation context, so the jump cache (keyed by
  // linear PC) is cleared. Its entries are kept as the outgoing context's bank (0:
  // root operation, 1: non-root) and come back when that context runs again, one
  // linear page at a time: once the page has been translated afresh for a fetch in the
  // new context (revalidate(), from Machine::translate), each banked entry of that page
  // whose block was decoded from the physical page it now maps to is entered again.
  // The modelled TLBs therefore see every translation the SDM requires (VPID 0 is
  // flushed on every transition without VPID, SDM Vol. 3C 28.3.3.3); only the decoded-
  // code look-ups of the refill are saved. Airtight because:
  //   - a bank entry is restored only after a successful fetch translation of its own
  //     linear page (4 KiB, or the large page holding it) to the physical page of its
  //     block (same page: same rights, same canonical outcome; the modelled TLB entry
  //     just used would serve it);
  //   - only blocks of 64-bit code on one page are banked (no CS base or limit baked
  //     in, no second page to check); the jump cache still matches the code size;
  //   - invalidated blocks (self-modifying code) are skipped when restored, and a
  //     code-cache flush (arena reset) drops every bank, whose blocks are freed;
  //   - restoring starts no chain: chains stay tied to the epoch (flush_jump_cache).
  static constexpr unsigned kBanks = 2;
  // Saves the jump cache as bank `out`, clears it, and makes bank `in` the candidates
  // for revalidate().
  void switch_bank(unsigned out, unsigned in);
  // After a successful fetch translation of `lin` to `pa`, from a page of 2^shift
  // bytes (12, or the large page's size when the translation is known to cover it:
  // every fetch in it would use the same TLB entry, rights and canonical outcome).
  void revalidate(uint64_t lin, uint64_t pa, unsigned shift = 12) {
    if (__builtin_expect(pending_n_ != 0, 0)) revalidate_page(lin, pa, shift);
  }
  void drop_banks();
  struct BankCounters {
    uint64_t switches = 0, restored = 0, skipped_invalid = 0;
  };
  BankCounters bank_counters;

  struct Counters {
    uint64_t blocks_built = 0, insts_decoded = 0, invalidations = 0, flushes = 0;
  };
  Counters counters;

  // Statistics: instructions executed per form (isa::Form), from Block::execs (complete
  // executions, counted by the run loop) times each block's forms. Folding walks the
  // arena, so it runs when the arena is flushed and when a report asks, never on the
  // hot path. Instructions of blocks cut short (a fault, self-modifying code, an
  // instruction limit inside a block) are not seen here; the traced loop adds its
  // instructions one by one with count_executed().
  void fold_executions();
  const uint64_t* form_executions() const { return form_execs_.data(); }  // as last folded
  void count_executed(const isa::DecodedInst& d) { form_execs_[unsigned(d.form)]++; }
  // The first n instructions of b retired without the block completing (a fault in
  // instruction n, self-modifying code): for the run loop's cold paths.
  void count_partial(const Block* b, unsigned n) {
    for (unsigned i = 0; i < n && i < b->n; i++) form_execs_[unsigned(b->insts[i].form)]++;
  }

 private:
  static uint64_t key(uint64_t pc, isa::CodeSize mode) { return pc ^ (uint64_t(mode) << 62); }
  static unsigned slot_of(uint64_t pc) { return (pc ^ (pc >> kJumpBits)) & ((1u << kJumpBits) - 1); }

  std::unique_ptr<uint8_t[]> arena_;
  size_t arena_size_, arena_used_ = 0;
  uint64_t epoch_ = 1;
  mutable Block* jump_[1u << kJumpBits] = {};
  // Slots written since the last flush_jump_cache(), so that a flush (every VM entry
  // and exit, CR3 write...) clears a handful of slots instead of the whole array;
  // past kUsedMax it clears everything.
  static constexpr unsigned kUsedMax = 128;
  uint16_t used_[kUsedMax];
  unsigned used_n_ = 0;
  bool used_overflow_ = false;
  void set_slot(unsigned i, Block* b) {
    jump_[i] = b;
    if (used_n_ < kUsedMax) used_[used_n_++] = uint16_t(i);
    else used_overflow_ = true;
  }
  struct BankEntry {
    uint64_t pc;
    Block* b;
    uint64_t execs;  // restored_: Block::execs when restored
    uint32_t idle;   // visits since the block last ran (switch_bank)
  };
  static constexpr unsigned kBankMax = 256, kIdleMax = 15;
  struct Bank {
    BankEntry e[kBankMax];
    unsigned n = 0;
    uint64_t generation = 0;  // generation_ when saved
  };
  Bank banks_[kBanks];
  // Candidates of the incoming context still waiting for their page: its bank's
  // entries, consumed in place (the bank is saved over when the context leaves).
  BankEntry* pending_ = banks_[0].e;
  unsigned pending_n_ = 0;     // entries to scan (0: none waiting, the fast check)
  unsigned pending_left_ = 0;  // of which not yet taken (taken ones have b == nullptr)
  // Entries restored since the last flush_jump_cache(), kept apart from used_ (whose
  // overflow would clear the whole array): at most the pending entries of a visit.
  BankEntry restored_[kBankMax];
  unsigned restored_n_ = 0;
  uint64_t generation_ = 1;  // arena generation: bumped by flush()
  void revalidate_page(uint64_t lin, uint64_t pa, unsigned shift);
  std::unordered_map<uint64_t, Block*> by_pc_;
  std::unordered_map<uint64_t, std::vector<Block*>> by_page_;
  std::vector<Block*> dead_;  // scratch for invalidate_page
  std::vector<uint64_t> form_execs_ = std::vector<uint64_t>(isa::kFormCount);
};

}  // namespace sim
