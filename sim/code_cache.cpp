#include "sim/code_cache.h"

#include <cstring>

namespace sim {

static size_t block_bytes(unsigned m) {
  size_t bytes = sizeof(Block) + m * sizeof(isa::DecodedInst);
  return (bytes + 63) & ~size_t(63);
}

CodeCache::CodeCache(size_t arena_bytes)
    : arena_(new uint8_t[arena_bytes]), arena_size_(arena_bytes) {}

Block* CodeCache::alloc(unsigned m) {
  size_t bytes = block_bytes(m);
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
    for (unsigned i = 0; i < b->m; i++) b->insts[i].fn = nullptr;
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
  // (alloc() sizes them by block_bytes(m), and the builder sets m at once), valid
  // or invalidated alike: invalidation keeps each instruction's form.
  for (size_t off = 0; off < arena_used_;) {
    auto* b = reinterpret_cast<Block*>(arena_.get() + off);
    uint64_t runs = b->execs;  // executions that got past the entry at i
    for (int i = int(b->m) - 1; i >= 0; i--) {
      isa::DecodedInst& d = b->insts[i];
      if (is_separator(d)) {
        runs += d.imm;  // side exits here ran every entry before it
        d.imm = 0;
      } else if (runs) {
        form_execs_[unsigned(d.form)] += runs;
      }
    }
    b->execs = 0;
    off += block_bytes(b->m);
  }
}

void CodeCache::flush() {
  fold_executions();
  by_pc_.clear();
  by_page_.clear();
  flush_jump_cache();
  arena_used_ = 0;
  counters.flushes++;
  drop_banks();  // every banked block is freed
}

void CodeCache::flush_jump_cache() {
  if (used_overflow_) {
    std::memset(jump_, 0, sizeof(jump_));
  } else {
    for (unsigned i = 0; i < used_n_; i++) jump_[used_[i]] = nullptr;
  }
  used_n_ = 0;
  used_overflow_ = false;
  epoch_++;
  visit_++;  // every page record made so far is stale
}

// ---- jump-cache banks -----------------------------------------------------------------

void CodeCache::switch_bank(unsigned in) {
  bank_counters.switches++;
  flush_jump_cache();
  bank_in_ = in < kBanks ? in : 0;
}

void CodeCache::revalidate(uint64_t lin, uint64_t pa, unsigned shift) {
  if (shift > 12 && shift < 40) {
    const uint64_t mask = (1ull << shift) - 1;
    large_rec_[large_next_++ % kLargeRecords] = PageRecord{lin & ~mask, pa & ~mask, visit_, mask};
  } else {
    small_rec_[(lin >> 12) % kSmallRecords] = PageRecord{lin & ~0xFFFull, pa & ~0xFFFull, visit_, 0xFFF};
  }
}

bool CodeCache::record_from_large(uint64_t pc) {
  for (const PageRecord& l : large_rec_) {
    if (l.visit != visit_ || l.lin_base != (pc & ~l.mask)) continue;
    small_rec_[(pc >> 12) % kSmallRecords] =
        PageRecord{pc & ~0xFFFull, l.phys_base + (pc & l.mask & ~0xFFFull), visit_, 0xFFF};
    return true;
  }
  return false;
}

void CodeCache::drop_banks() {
  std::memset(bank_, 0, sizeof bank_);
}

}  // namespace sim
