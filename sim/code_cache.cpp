#include "sim/code_cache.h"

#include <cstring>

namespace sim {

static size_t block_bytes(unsigned n) {
  size_t bytes = sizeof(Block) + n * sizeof(isa::DecodedInst);
  return (bytes + 63) & ~size_t(63);
}

CodeCache::CodeCache(size_t arena_bytes)
    : arena_(new uint8_t[arena_bytes]), arena_size_(arena_bytes) {}

Block* CodeCache::alloc(unsigned n) {
  size_t bytes = block_bytes(n);
  if (arena_used_ + bytes > arena_size_) return nullptr;
  auto* b = reinterpret_cast<Block*>(arena_.get() + arena_used_);
  arena_used_ += bytes;
  return b;
}

void CodeCache::insert(Block* b) {
  counters.blocks_built++;
  counters.insts_decoded += b->n;
  by_pc_[key(b->phys_pc, b->mode)] = b;
  for (uint64_t p : b->phys)
    if (p != ~0ull) by_page_[p].push_back(b);
  set_slot(slot_of(b->pc), b);
}

Block* CodeCache::lookup_phys(uint64_t phys_pc, isa::CodeSize mode) const {
  auto it = by_pc_.find(key(phys_pc, mode));
  return it == by_pc_.end() ? nullptr : it->second;
}

void CodeCache::enter(Block* b, uint64_t pc) {
  Block*& slot = jump_[slot_of(b->pc)];
  if (b->pc != pc && slot == b) slot = nullptr;  // the old alias's entry
  b->pc = pc;
  set_slot(slot_of(pc), b);
}

unsigned CodeCache::invalidate_page(uint64_t pa) {
  auto it = by_page_.find(pa & ~0xFFFull);
  if (it == by_page_.end()) return 0;
  unsigned count = 0;
  for (Block* b : it->second) {
    if (!b->valid) continue;
    b->valid = false;
    dead_.push_back(b);
    for (unsigned i = 0; i < b->n; i++) b->insts[i].fn = nullptr;
    auto pit = by_pc_.find(key(b->phys_pc, b->mode));
    if (pit != by_pc_.end() && pit->second == b) by_pc_.erase(pit);
    count++;
  }
  by_page_.erase(it);
  // Blocks spanning two pages may still be listed under the other page; they are
  // skipped there by the valid flag. Only their own jump-cache slots are cleared
  // (self-modifying guests invalidate often); the new epoch drops every chain.
  for (Block* b : dead_) {
    Block*& slot = jump_[slot_of(b->pc)];
    if (slot == b) slot = nullptr;
  }
  dead_.clear();
  epoch_++;
  counters.invalidations += count;
  return count;
}

void CodeCache::fold_executions() {
  // Every block ever allocated since the last flush lies in the arena back to back
  // (alloc() sizes them by block_bytes(n), and the builder sets n at once), valid
  // or invalidated alike: invalidation keeps each instruction's form.
  for (size_t off = 0; off < arena_used_;) {
    auto* b = reinterpret_cast<Block*>(arena_.get() + off);
    if (b->execs) {
      for (unsigned i = 0; i < b->n; i++) form_execs_[unsigned(b->insts[i].form)] += b->execs;
      b->execs = 0;
    }
    off += block_bytes(b->n);
  }
}

void CodeCache::flush() {
  fold_executions();
  by_pc_.clear();
  by_page_.clear();
  flush_jump_cache();
  arena_used_ = 0;
  counters.flushes++;
  generation_++;  // every banked block is freed
  pending_n_ = pending_left_ = 0;
}

void CodeCache::flush_jump_cache() {
  if (used_overflow_) {
    std::memset(jump_, 0, sizeof(jump_));
  } else {
    for (unsigned i = 0; i < used_n_; i++) jump_[used_[i]] = nullptr;
    for (unsigned i = 0; i < restored_n_; i++) jump_[slot_of(restored_[i].pc)] = nullptr;
  }
  restored_n_ = 0;
  used_n_ = 0;
  used_overflow_ = false;
  epoch_++;
}

// ---- jump-cache banks -----------------------------------------------------------------

void CodeCache::switch_bank(unsigned out, unsigned in) {
  bank_counters.switches++;
  Bank& o = banks_[out];
  o.n = 0;
  o.generation = generation_;
  // Saving over bank `out` drops what is left of the pending entries when out != in
  // (they belong to this outgoing visit and point into this very bank).
  auto keep = [&o](Block* b, uint32_t idle) {
    // 64-bit code on one page only (code_cache.h states why); valid blocks only.
    if (b && b->valid && b->mode == isa::CodeSize::k64 && b->phys[1] == ~0ull && o.n < kBankMax)
      o.e[o.n++] = BankEntry{b->pc, b, 0, idle};
  };
  if (used_overflow_) {
    for (Block* b : jump_) keep(b, 0);
  } else {
    // A slot may be listed more than once: clearing it as it is saved keeps the bank
    // free of duplicates. Entries filled in this visit first, then the restored ones
    // still in place, unless they have not run for kIdleMax visits (Block::execs did
    // not move; the block that made the transition counts its execution only after
    // this, so idleness is a hint, never a condition of correctness).
    for (unsigned i = 0; i < used_n_; i++) {
      keep(jump_[used_[i]], 0);
      jump_[used_[i]] = nullptr;
    }
    for (unsigned i = 0; i < restored_n_; i++) {
      const BankEntry& r = restored_[i];
      Block*& slot = jump_[slot_of(r.pc)];
      if (slot == r.b && r.b->pc == r.pc) {  // still valid: invalidation clears the slot
        const uint32_t idle = r.b->execs != r.execs ? 0 : r.idle + 1;
        if (idle <= kIdleMax && o.n < kBankMax) o.e[o.n++] = BankEntry{r.pc, r.b, 0, idle};
      }
      slot = nullptr;
    }
  }
  if (used_overflow_) {
    flush_jump_cache();
  } else {  // the loops above cleared every slot flush_jump_cache() would clear
    restored_n_ = used_n_ = 0;
    epoch_++;
  }
  // The incoming bank's entries are consumed in place (revalidate_page nulls them).
  Bank& b = banks_[in];
  pending_ = b.e;
  pending_n_ = pending_left_ = b.generation == generation_ ? b.n : 0;
  b.n = 0;
}

void CodeCache::revalidate_page(uint64_t lin, uint64_t pa, unsigned shift) {
  const uint64_t mask = (shift >= 12 && shift < 40 ? (1ull << shift) : 4096ull) - 1;
  const uint64_t lbase = lin & ~mask, pbase = pa & ~mask;
  for (unsigned i = 0; i < pending_n_; i++) {
    BankEntry& e = pending_[i];
    if ((e.pc & ~mask) != lbase || !e.b) continue;  // another page, or done
    Block* b = e.b;
    e.b = nullptr;
    pending_left_--;
    // The block must still be valid and decoded from where `pc` now maps.
    if (!b->valid || b->phys_pc != pbase + (e.pc & mask) ||
        b->phys[0] != (b->phys_pc & ~0xFFFull)) {
      bank_counters.skipped_invalid++;
      continue;
    }
    if (b->pc != e.pc) {  // entered at another alias since: that entry goes (as enter())
      Block*& old = jump_[slot_of(b->pc)];
      if (old == b) old = nullptr;
      b->pc = e.pc;
    }
    jump_[slot_of(e.pc)] = b;
    restored_[restored_n_++] = BankEntry{e.pc, b, b->execs, e.idle};
    bank_counters.restored++;
  }
  if (!pending_left_) pending_n_ = 0;
}

void CodeCache::drop_banks() {
  for (Bank& b : banks_) b.n = 0;
  pending_n_ = pending_left_ = 0;
}

}  // namespace sim
