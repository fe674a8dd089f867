// TLB invalidation (SDM Vol. 3A 4.10.4): after INVLPG, INVPCID (all four types), MOV to
// CR3 (flushing form) and CR4.PGE / CR4.PCIDE toggles, a changed PTE MUST be seen. The
// SDM allows but never requires a processor to keep a stale translation, so checks that a
// stale entry survives (PCID switches with CR3 bit 63, global pages across CR3 writes,
// INVPCID of another PCID, no invalidation at all) are MODEL checks: they hold for
// nestsim's TLB (mmu/tlb.h: "an entry stays until an invalidation removes it or it is
// evicted"), which this tiny working set never evicts; on other CPUs they may not.
#include "paging.h"
#include "rt.h"
#include "trap.h"

#define LIN 0x0000008000000000ull  // its own PML4 slot
#define LIN2 (LIN + 0x1000)

static uint8_t page_a[4096] __attribute__((aligned(4096)));
static uint8_t page_b[4096] __attribute__((aligned(4096)));
static uint64_t* pml4;
static unsigned failures, model_checks;

#define CHECK(kind, cond, ...)                                      \
  do {                                                              \
    if (!(cond)) {                                                  \
      rt_printf("FAIL (%s) %s:%d: ", kind, __FILE_NAME__, __LINE__); \
      rt_printf(__VA_ARGS__);                                       \
      rt_printf("\n");                                              \
      failures++;                                                   \
    }                                                               \
  } while (0)
#define MUST(cond, ...) CHECK("architectural", cond, __VA_ARGS__)
#define MODEL(cond, ...) \
  do {                   \
    model_checks++;      \
    CHECK("nestsim TLB model", cond, __VA_ARGS__); \
  } while (0)

static uint64_t rd(uint64_t lin) { return *(volatile uint64_t*)lin; }

// Points lin's PTE at page a or b (G as given) without any invalidation.
static void remap(uint64_t lin, uint8_t* page, bool global) {
  uint64_t* e = pt_entry(pml4, lin, 1);
  *e = (uint64_t)page | PTE_P | PTE_W | (global ? PTE_G : 0);
}

static void set_cr4(uint64_t set, uint64_t clear) { rt_write_cr4((rt_read_cr4() | set) & ~clear); }

enum { A = 0xAAAA, B = 0xBBBB };

static void test_invlpg_cr3(void) {
  remap(LIN, page_a, false);
  rt_write_cr3(rt_read_cr3());
  MUST(rd(LIN) == A, "first read");
  remap(LIN, page_b, false);
  MODEL(rd(LIN) == A, "no invalidation: the cached translation is used");
  rt_invlpg((void*)LIN);
  MUST(rd(LIN) == B, "INVLPG: new translation");
  remap(LIN, page_a, false);
  rt_write_cr3(rt_read_cr3());
  MUST(rd(LIN) == A, "MOV CR3: new translation");
}

static void test_global(void) {
  set_cr4(RT_CR4_PGE, 0);
  remap(LIN, page_a, true);
  rt_invlpg((void*)LIN);
  MUST(rd(LIN) == A, "global: first read");
  remap(LIN, page_b, true);
  rt_write_cr3(rt_read_cr3());
  MODEL(rd(LIN) == A, "global entry survives MOV CR3");
  set_cr4(0, RT_CR4_PGE);  // SDM 4.10.4.1: toggling PGE invalidates everything
  MUST(rd(LIN) == B, "CR4.PGE 1->0: new translation");
  set_cr4(RT_CR4_PGE, 0);
  MUST(rd(LIN) == B, "global again");
  remap(LIN, page_a, true);
  rt_invlpg((void*)LIN);  // INVLPG removes global entries too
  MUST(rd(LIN) == A, "INVLPG of a global page");
  remap(LIN, page_a, false);
  set_cr4(0, RT_CR4_PGE);
}

static void test_pcid(void) {
  uint64_t root = (uint64_t)pml4;
  const uint64_t kNoFlush = 1ull << 63;
  rt_write_cr3(root);
  set_cr4(RT_CR4_PCIDE, 0);
  rt_write_cr3(root | 1);
  remap(LIN, page_a, false);
  rt_invlpg((void*)LIN);
  MUST(rd(LIN) == A, "PCID 1: first read");
  remap(LIN, page_b, false);
  rt_write_cr3(root | 2 | kNoFlush);
  MUST(rd(LIN) == B, "PCID 2 never cached LIN: walks");
  rt_write_cr3(root | 1 | kNoFlush);
  MODEL(rd(LIN) == A, "PCID 1 kept its entry across the no-flush switches");
  rt_write_cr3(root | 1);
  MUST(rd(LIN) == B, "MOV CR3 without bit 63 flushes PCID 1");
  remap(LIN, page_a, false);
  rt_write_cr3(root | 2);
  MUST(rd(LIN) == A, "flushing switch to PCID 2");
  rt_write_cr3(root | 1 | kNoFlush);
  MODEL(rd(LIN) == B, "flushing PCID 2 left PCID 1's entry");
  rt_write_cr3(root | 1);
}

static void test_invpcid(void) {
  uint64_t root = (uint64_t)pml4;
  rt_write_cr3(root | 1);
  // Type 0: one address in one PCID.
  remap(LIN, page_a, false);
  rt_invpcid(0, 1, LIN);
  MUST(rd(LIN) == A, "type 0 setup");
  remap(LIN, page_b, false);
  rt_invpcid(0, 2, LIN);
  MODEL(rd(LIN) == A, "INVPCID type 0 of another PCID");
  rt_invpcid(0, 1, LIN);
  MUST(rd(LIN) == B, "INVPCID type 0");
  // Type 1: a whole PCID.
  remap(LIN, page_a, false);
  rt_invpcid(1, 2, 0);
  MODEL(rd(LIN) == B, "INVPCID type 1 of another PCID");
  rt_invpcid(1, 1, 0);
  MUST(rd(LIN) == A, "INVPCID type 1");
  // Type 2: everything, globals included; type 3: everything but globals.
  set_cr4(RT_CR4_PGE, 0);
  remap(LIN, page_a, false);
  remap(LIN2, page_a, true);
  rt_invpcid(2, 0, 0);
  MUST(rd(LIN) == A && rd(LIN2) == A, "type 2 setup");
  remap(LIN, page_b, false);
  remap(LIN2, page_b, true);
  rt_invpcid(3, 0, 0);
  MUST(rd(LIN) == B, "INVPCID type 3: non-global entry");
  MODEL(rd(LIN2) == A, "INVPCID type 3 keeps global entries");
  rt_invpcid(2, 0, 0);
  MUST(rd(LIN2) == B, "INVPCID type 2: global entry");
  remap(LIN2, page_a, false);
  set_cr4(0, RT_CR4_PGE);
}

// CR4.PCIDE 1 -> 0 invalidates every entry (SDM Vol. 3A 4.10.4.1).
static void test_pcide_off(void) {
  remap(LIN, page_a, false);
  rt_invpcid(1, 1, 0);
  MUST(rd(LIN) == A, "PCIDE off setup");
  remap(LIN, page_b, false);
  set_cr4(0, RT_CR4_PCIDE);
  MUST(rd(LIN) == B, "CR4.PCIDE 1->0");
}

int main(void) {
  rt_trap_init();
  *(uint64_t*)page_a = A;
  *(uint64_t*)page_b = B;
  pml4 = pt_new_root();
  pt_identity(pml4, 1ull << 30);
  pt_map(pml4, LIN, (uint64_t)page_a, 4096, PTE_P | PTE_W, PTE_W);
  pt_map(pml4, LIN2, (uint64_t)page_a, 4096, PTE_P | PTE_W, PTE_W);
  rt_write_cr3((uint64_t)pml4);

  uint32_t r[4];
  rt_cpuid(1, 0, r);
  bool has_pcid = r[2] & (1u << 17);
  rt_cpuid(7, 0, r);
  bool has_invpcid = r[1] & (1u << 10);
  rt_printf("paging_tlb: PCID %s, INVPCID %s\n", has_pcid ? "yes" : "no",
            has_invpcid ? "yes" : "no");

  test_invlpg_cr3();
  test_global();
  if (has_pcid) {
    test_pcid();
    if (has_invpcid) test_invpcid();
    test_pcide_off();
  }
  if (failures) {
    rt_printf("paging_tlb: %u failures\n", failures);
    return 1;
  }
  rt_printf("paging_tlb: all checks passed (%u of them nestsim TLB model checks)\n", model_checks);
  return 0;
}
