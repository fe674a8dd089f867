// The memory tlb_walk.asm walks: 16 MiB of zeroed pages. In the bare-metal kernel
// (BENCH_ITERS is defined only there) they are mapped a second time with 4 KiB pages
// at linear 512 GiB through new 4-level tables whose PML4 keeps the boot stub's identity
// map (SDM Vol. 3A 4.5), and CR3 is switched to them; the hosted build, which checks
// the result, uses the buffer as it is.
#include <stdint.h>

#define PAGES 4096

static uint8_t region[PAGES * 4096ull] __attribute__((aligned(4096)));

#ifdef BENCH_ITERS
// PML4, PDPT, PD, then one page table per 512 pages.
static uint64_t tables[3 + PAGES / 512][512] __attribute__((aligned(4096)));

uint8_t* bench_region(void) {
  uint64_t cr3;
  __asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
  const uint64_t* old = (const uint64_t*)(cr3 & 0x000FFFFFFFFFF000ull);
  uint64_t* pml4 = tables[0];
  uint64_t* pdpt = tables[1];
  uint64_t* pd = tables[2];
  for (int i = 0; i < 512; i++) pml4[i] = old[i];
  pml4[1] = (uint64_t)pdpt | 3;  // linear 512 GiB: P, RW
  pdpt[0] = (uint64_t)pd | 3;
  for (uint64_t t = 0; t < PAGES / 512; t++) {
    uint64_t* pt = tables[3 + t];
    pd[t] = (uint64_t)pt | 3;
    for (uint64_t i = 0; i < 512; i++) pt[i] = ((uint64_t)region + ((t * 512 + i) << 12)) | 3;
  }
  __asm__ volatile("mov %0, %%cr3" : : "r"((uint64_t)pml4) : "memory");
  return (uint8_t*)(1ull << 39);
}
#else
uint8_t* bench_region(void) { return region; }
#endif
