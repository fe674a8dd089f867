// Accessed and dirty flags (SDM Vol. 3A 4.8): the first access through a translation sets
// A in every paging-structure entry used (reads, writes and instruction fetches alike);
// the first write sets D in the entry that maps the page (PTE, 2 MiB PDE or 1 GiB PDPTE),
// and only there: D is not a flag of entries that reference another table. Checked for
// 4 KiB, 2 MiB and 1 GiB pages, each in its own PML4 slot.
#include "paging.h"
#include "rt.h"
#include "trap.h"

static uint64_t* pml4;
static unsigned failures;

#define EXPECT(cond, ...)                            \
  do {                                               \
    if (!(cond)) {                                   \
      rt_printf("FAIL %s:%d: ", __FILE_NAME__, __LINE__); \
      rt_printf(__VA_ARGS__);                        \
      rt_printf("\n");                               \
      failures++;                                    \
    }                                                \
  } while (0)

static uint8_t page4k[4096] __attribute__((aligned(4096)));

// Clears A and D on the walk of lin (leaf at `leaf`), then flushes the TLB.
static void clear_ad(uint64_t lin, int leaf) {
  for (int l = 4; l >= leaf; l--) *pt_entry(pml4, lin, l) &= ~(uint64_t)(PTE_A | PTE_D);
  rt_write_cr3(rt_read_cr3());
}

static void check_flags(const char* what, uint64_t lin, int leaf, bool want_d) {
  for (int l = 4; l >= leaf; l--) {
    uint64_t e = *pt_entry(pml4, lin, l);
    EXPECT(e & PTE_A, "%s: level %d entry %lx: A clear", what, l, e);
    bool d = e & PTE_D;
    if (l == leaf)
      EXPECT(d == want_d, "%s: leaf level %d entry %lx: D=%d, want %d", what, l, e, d, want_d);
    else EXPECT(!d, "%s: non-leaf level %d entry %lx: D set", what, l, e);
  }
}

static void test_size(const char* name, uint64_t lin, uint64_t phys, uint64_t size, int leaf) {
  pt_map(pml4, lin, phys, size, PTE_P | PTE_W, PTE_W);
  volatile uint64_t* p = (volatile uint64_t*)(lin + 0x100);
  char what[64];

  clear_ad(lin, leaf);
  (void)*p;
  rt_snprintf(what, sizeof what, "%s read", name);
  check_flags(what, lin, leaf, false);

  *p = 0x1234;  // D set on the first write, even with a TLB entry cached by the read
  rt_snprintf(what, sizeof what, "%s write after read", name);
  check_flags(what, lin, leaf, true);

  clear_ad(lin, leaf);
  *p = 0x5678;
  rt_snprintf(what, sizeof what, "%s write", name);
  check_flags(what, lin, leaf, true);

  clear_ad(lin, leaf);
  *(volatile uint8_t*)lin = 0xC3;
  clear_ad(lin, leaf);
  EXPECT(rt_probe_exec((void*)lin) == -1, "%s: fetch faulted (vector %lu)", name,
         rt_last_fault.vector);
  rt_snprintf(what, sizeof what, "%s fetch", name);
  check_flags(what, lin, leaf, false);
}

int main(void) {
  rt_trap_init();
  pml4 = pt_new_root();
  pt_identity(pml4, 1ull << 30);
  rt_write_cr3((uint64_t)pml4);
  test_size("4K", 0x0000008000000000ull, (uint64_t)page4k, 4096, 1);
  test_size("2M", 0x0000010000000000ull, 0x400000, 2ull << 20, 2);  // phys 4-6 MiB
  test_size("1G", 0x0000018000000000ull, 0, 1ull << 30, 3);
  if (failures) {
    rt_printf("paging_ad: %u failures\n", failures);
    return 1;
  }
  rt_printf("paging_ad: all checks passed\n");
  return 0;
}
