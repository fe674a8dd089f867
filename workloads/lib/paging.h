// Page-table builders for bare-metal tests: 4-level tables whose paging-structure pages
// come from a static pool, identity maps, and direct access to the entries that map a
// linear address so that tests can flip their bits (SDM Vol. 3A 4.5).
#pragma once
#include <stdbool.h>
#include <stdint.h>

enum {
  PTE_P = 1u << 0, PTE_W = 1u << 1, PTE_U = 1u << 2, PTE_PWT = 1u << 3, PTE_PCD = 1u << 4,
  PTE_A = 1u << 5, PTE_D = 1u << 6, PTE_PS = 1u << 7, PTE_G = 1u << 8,
};
#define PTE_NX (1ull << 63)
#define PTE_ADDR_MASK 0x000FFFFFFFFFF000ull

// A zeroed 4 KiB page from the pool (identity-mapped memory); ends the run when empty.
uint64_t* pt_alloc(void);
// A new empty PML4.
uint64_t* pt_new_root(void);
// Maps one page of `size` (4 KiB, 2 MiB or 1 GiB) at `lin` to `phys` with leaf flags
// `flags` (PTE_PS is added for large pages); missing tables are created with
// `table_flags` (P is always added).
void pt_map(uint64_t* pml4, uint64_t lin, uint64_t phys, uint64_t size, uint64_t flags,
            uint64_t table_flags);
// Identity-maps [0, bytes) with 2 MiB supervisor RW pages.
void pt_identity(uint64_t* pml4, uint64_t bytes);
// The entry at `level` (4 = PML4E ... 1 = PTE) on the walk of `lin`, or 0 when a higher
// level does not lead there.
uint64_t* pt_entry(uint64_t* pml4, uint64_t lin, int level);
