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
//     entries and exits also switch banks; banked entries come back only through a
//     fresh translation, see "jump-cache banks" below);
//   - a block's chain (its last successor) is followed while the cache epoch it was
//     recorded in is current (every clearing of the jump cache, invalidation and flush
//     starts a new epoch), or, in a later epoch, on the terms of the banks below
//     (rechain()); a chain never leads to an invalidated block, and never to a freed
//     one: a flush frees the block holding the chain too.
#pragma once
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "isa/decoded_inst.h"

namespace sim {

// Superblocks: a block goes on past branches whose continuation is known when it is
// decoded (Machine::build_block):
//   - a forward conditional branch, with its fall-through (a backward one closes a
//     loop and is mostly taken: it ends the block);
//   - in 64-bit code, a direct JMP or CALL with a 64-bit operand, with its target when
//     that lies on the block's first linear page (the page the jump cache and its
//     banks validate); the target is then RIP + len + rel exactly, the address the
//     next entry was decoded from, relative to the block's start on the same page,
//     so it holds for every linear alias of the block: no check is needed;
//   - a RET closing a CALL followed in the same block, with that call's return
//     address (when it lies on the first page);
//   - VMREAD and VMWRITE, with their fall-through: they end a block (F_END) only
//     because in VMX non-root operation they may cause a VM exit, which changes the
//     translation context and so clears the jump cache (a new epoch).
// Every continuation but the direct JMP/CALL sits behind a separator entry
// (isa::IF_SEPARATOR, null handler): the run loop stops there as at the terminator and
// goes on only when RIP is the continuation, nothing needs attention and the epoch is
// the one the block started in; else the block is left there ("a side exit"). A separator records what retired before it and
// counts its side exits (statistics, folded like Block::execs); see Separator below.
struct Block {
  uint64_t pc;         // linear address it was last entered at (jump-cache tag)
  uint64_t phys_pc;    // physical address of the first instruction (cache key)
  uint64_t phys[2];    // physical pages covered (phys[1] == ~0 if one page)
  uint32_t n;          // number of instructions
  uint32_t cycles;     // sum of their base cycle costs
  isa::CodeSize mode;
  bool valid;
  bool chainable;      // last instruction keeps mode and translation (not F_END)
  uint16_t m;          // entries before the terminator: n instructions and separators
  const isa::DecodedInst* end;  // the terminator, insts + m
  uint64_t chain_rip;  // RIP the successor was found for
  Block* chain;        // last successor, valid while chain_epoch == CodeCache::epoch()
  uint64_t chain_epoch;
  uint64_t execs;      // complete executions (statistics: instruction classes, sim/stats)
  isa::DecodedInst insts[1];  // m + 1 entries (terminator)
};

inline bool is_separator(const isa::DecodedInst& d) { return d.flags & isa::IF_SEPARATOR; }

// A separator's fields, kept in a DecodedInst so that the run loop walks one array:
// disp = the continuation's RIP minus the RIP of the instruction before the separator;
// osize = the instructions before it in the block; base/index = their cycles (16 bits:
// at most 64 instructions of at most 255 cycles); imm = side exits taken here.
struct Separator {
  static isa::DecodedInst make(int32_t delta, unsigned insts, uint32_t cycles) {
    isa::DecodedInst d{};
    d.fn = nullptr;
    d.form = isa::Form::invalid;
    d.flags = isa::IF_SEPARATOR;
    d.disp = delta;
    d.osize = uint8_t(insts);
    d.base = uint8_t(cycles);
    d.index = uint8_t(cycles >> 8);
    d.imm = 0;
    return d;
  }
  static int64_t delta(const isa::DecodedInst& d) { return d.disp; }
  static unsigned insts(const isa::DecodedInst& d) { return d.osize; }
  static uint32_t cycles(const isa::DecodedInst& d) { return d.base | uint32_t(d.index) << 8; }
  static void count_exit(const isa::DecodedInst& d) { const_cast<isa::DecodedInst&>(d).imm++; }
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

  // Allocates a block with room for m entries (+ terminator); nullptr when the arena
  // is full (caller flushes and retries).
  Block* alloc(unsigned m);
  // Makes a fully built block findable.
  void insert(Block* b);
  // Invalidates every block on the physical page of `pa`. Returns how many.
  unsigned invalidate_page(uint64_t pa);
  void flush();
  void flush_jump_cache();
  uint64_t epoch() const { return epoch_; }

  // ---- jump-cache banks -------------------------------------------------------------
  // Clearing the jump cache (CR3 writes, INVLPG, CPL changes, and every VM entry and
  // exit, which also switch banks) would send each block of the next visit through the
  // physical look-up again. A second level keeps what the jump cache held: one bank per
  // translation context (0: root operation or no VMX, 1: VMX non-root), indexed like the
  // jump cache, never cleared but by drop_banks() and flush(). A banked block serves a
  // jump-cache miss only when a fetch translation of its page was made since the last
  // clearing (revalidate(), from Machine::translate: a "page record" of this visit)
  // and mapped its linear PC to the very physical address it was decoded from. The
  // modelled TLBs therefore see every translation the SDM requires (VPID 0 is flushed
  // on every transition without VPID, SDM Vol. 3C 28.3.3.3); only the decoded-code
  // look-ups are saved. Airtight because:
  //   - every event that may change a translation or execute permission clears the jump
  //     cache (the invariant above), which starts a new visit: page records of earlier
  //     visits no longer count, the next fetch from the page translates afresh;
  //   - a page record holds for the whole page it was made for (4 KiB, or the large
  //     page when the translation is known to cover it): one TLB entry, one set of
  //     rights, one canonical outcome for every PC in it;
  //   - only blocks of 64-bit code on one page are banked (no CS base or limit baked
  //     in, no second page to check); the block's code size must match the current one;
  //   - invalidated blocks (self-modifying code) are never served, and a code-cache
  //     flush (arena reset) empties the banks, whose blocks are freed;
  //   - a chain recorded in an earlier visit is followed on the same terms (rechain()).
  static constexpr unsigned kBanks = 2;
  // Clears the jump cache (a new visit) and makes bank `in` the one misses consult.
  void switch_bank(unsigned in);
  // After a successful fetch translation of `lin` to `pa`, from a page of 2^shift
  // bytes (12, or the large page's size when the translation is known to cover it).
  void revalidate(uint64_t lin, uint64_t pa, unsigned shift = 12);
  // On a jump-cache miss at a canonical `pc`: the current bank's block for it, if its
  // page was translated in this visit to the physical address the block was decoded
  // from (it is then entered in the jump cache); else nullptr.
  Block* lookup_banked(uint64_t pc, isa::CodeSize mode) {
    const unsigned i = slot_of(pc);
    Block* b = bank_[bank_in_][i];
    if (!b || !translated_here(b, pc, mode)) return nullptr;
    set_slot(i, b);
    bank_counters.restored++;
    return b;
  }
  // A chain recorded in an earlier epoch (Block::chain) may be followed again on the
  // same terms as a banked block: its target is valid, entered at `pc`, and its page
  // was translated in this visit to where it was decoded. The chain then belongs to
  // the current epoch.
  bool rechain(Block* from, uint64_t pc, isa::CodeSize mode) {
    if (!from->chain || !translated_here(from->chain, pc, mode)) return false;
    from->chain_epoch = epoch_;
    bank_counters.rechained++;
    return true;
  }
  void drop_banks();
  struct BankCounters {
    uint64_t switches = 0, restored = 0, rechained = 0;
  };
  BankCounters bank_counters;

  struct Counters {
    uint64_t blocks_built = 0, insts_decoded = 0, invalidations = 0, flushes = 0;
    uint64_t side_exits = 0;  // blocks left at a separator (superblocks)
  };
  Counters counters;

  // Statistics: instructions executed per form (isa::Form), from Block::execs (complete
  // executions, counted by the run loop) times each block's forms, and each separator's
  // side exits times the forms before it. Folding walks the
  // arena, so it runs when the arena is flushed and when a report asks, never on the
  // hot path. Instructions of blocks cut short (a fault, self-modifying code, an
  // instruction limit inside a block) are not seen here; the traced loop adds its
  // instructions one by one with count_executed().
  void fold_executions();
  const uint64_t* form_executions() const { return form_execs_.data(); }  // as last folded
  void count_executed(const isa::DecodedInst& d) { form_execs_[unsigned(d.form)]++; }
  // The instructions among b's first k entries retired without the block completing
  // (a fault in entry k, self-modifying code): for the run loop's cold paths.
  void count_partial(const Block* b, unsigned k) {
    for (unsigned i = 0; i < k && i < b->m; i++)
      if (!is_separator(b->insts[i])) form_execs_[unsigned(b->insts[i].form)]++;
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
    if (bankable(b)) bank_[bank_in_][i] = b;
    if (used_n_ < kUsedMax) used_[used_n_++] = uint16_t(i);
    else used_overflow_ = true;
  }
  static bool bankable(const Block* b) {
    return b->mode == isa::CodeSize::k64 && b->phys[1] == ~0ull;
  }
  // Whether `b` may run for a jump to canonical `pc` without a look-up: bankable,
  // valid, entered at `pc` in code size `mode`, on a page translated in this visit to
  // the physical address it was decoded from.
  bool translated_here(const Block* b, uint64_t pc, isa::CodeSize mode) {
    if (b->pc != pc || b->mode != mode || !b->valid || b->phys[1] != ~0ull) return false;
    const PageRecord& r = small_rec_[(pc >> 12) % kSmallRecords];
    if ((r.visit != visit_ || r.lin_base != (pc & ~0xFFFull)) && !record_from_large(pc))
      return false;  // not translated in this visit
    return b->phys_pc == r.phys_base + (pc & 0xFFF);  // else it maps elsewhere now
  }
  Block* bank_[kBanks][1u << kJumpBits] = {};
  unsigned bank_in_ = 0;  // the current context's bank
  uint64_t visit_ = 1;    // bumped by every clearing of the jump cache
  // Fetch translations of this visit: 4 KiB pages direct-mapped by linear page number,
  // large pages in a small round-robin list (a hit there fills the 4 KiB record).
  struct PageRecord {
    uint64_t lin_base = 0, phys_base = 0, visit = 0;
    uint64_t mask = 0xFFF;  // page size - 1
  };
  static constexpr unsigned kSmallRecords = 64, kLargeRecords = 4;
  PageRecord small_rec_[kSmallRecords];
  PageRecord large_rec_[kLargeRecords];
  bool record_from_large(uint64_t pc);
  unsigned large_next_ = 0;
  std::unordered_map<uint64_t, Block*> by_pc_;
  std::unordered_map<uint64_t, std::vector<Block*>> by_page_;
  std::vector<Block*> dead_;  // scratch for invalidate_page
  std::vector<uint64_t> form_execs_ = std::vector<uint64_t>(isa::kFormCount);
};

}  // namespace sim
