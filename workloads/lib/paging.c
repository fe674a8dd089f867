// Page-table builders (see paging.h).
#include "paging.h"

#include "rt.h"

enum { kPoolPages = 64 };
static uint64_t pool[kPoolPages][512] __attribute__((aligned(4096)));
static unsigned pool_used;

uint64_t* pt_alloc(void) {
  if (pool_used == kPoolPages) {
    rt_printf("pt_alloc: page-table pool exhausted\n");
    rt_exit(2);
  }
  uint64_t* p = pool[pool_used++];
  memset(p, 0, 4096);
  return p;
}

uint64_t* pt_new_root(void) { return pt_alloc(); }

static unsigned index_of(uint64_t lin, int level) { return (lin >> (12 + 9 * (level - 1))) & 511; }

void pt_map(uint64_t* pml4, uint64_t lin, uint64_t phys, uint64_t size, uint64_t flags,
            uint64_t table_flags) {
  int leaf = size == (1ull << 30) ? 3 : size == (2ull << 20) ? 2 : 1;
  uint64_t* table = pml4;
  for (int level = 4; level > leaf; level--) {
    uint64_t* e = &table[index_of(lin, level)];
    if (!(*e & PTE_P)) *e = (uint64_t)pt_alloc() | table_flags | PTE_P;
    table = (uint64_t*)(*e & PTE_ADDR_MASK);
  }
  table[index_of(lin, leaf)] = phys | flags | (leaf > 1 ? PTE_PS : 0);
}

void pt_identity(uint64_t* pml4, uint64_t bytes) {
  for (uint64_t a = 0; a < bytes; a += 2ull << 20)
    pt_map(pml4, a, a, 2ull << 20, PTE_P | PTE_W, PTE_W);
}

uint64_t* pt_entry(uint64_t* pml4, uint64_t lin, int level) {
  uint64_t* table = pml4;
  for (int l = 4; l > level; l--) {
    uint64_t e = table[index_of(lin, l)];
    if (!(e & PTE_P) || (e & PTE_PS)) return 0;
    table = (uint64_t*)(e & PTE_ADDR_MASK);
  }
  return &table[index_of(lin, level)];
}
