// VPIDs and INVVPID (SDM Vol. 3C 29.1, 29.4.3, 31.3 INVVPID). A guest with its own page
// tables reads a linear address; the hypervisor re-points the guest's PTE between runs.
// Architectural (MUST) checks: without VPIDs every VM entry and exit invalidates the
// guest's linear translations; with a VPID, INVVPID of each type makes the new PTE
// visible. Model (MODEL) checks, nestsim only: with a VPID and no invalidation the
// stale translation survives exits and entries (the SDM allows but does not require
// keeping it, and Bochs does not).
#include "paging.h"
#include "vmx_test.h"

#define LIN 0x0000008000000000ull
static uint8_t page_a[4096] __attribute__((aligned(4096)));
static uint8_t page_b[4096] __attribute__((aligned(4096)));
static uint64_t* pml4;
static unsigned model_checks;

#define MODEL(cond, ...)             \
  do {                               \
    if (rt_on_nestsim()) {           \
      model_checks++;                \
      CHECK(cond, __VA_ARGS__);      \
    }                                \
  } while (0)

static void guest_reader(void) {
  for (;;) vmx_guest_sync(*(volatile uint64_t*)LIN);
}

static void point(uint8_t* page) { *pt_entry(pml4, LIN, 1) = (uint64_t)page | PTE_P | PTE_W | PTE_A | PTE_D; }

static uint64_t guest_read(struct vmx_vcpu* v) {
  uint64_t got = 0;
  uint32_t r = vmx_vcpu_run_guest(v, &got);
  CHECK(r == VMX_EXIT_GUEST_SYNC, "guest exit %u (%s)", r, vmx_exit_name(r));
  return got;
}

enum { A = 0xAAAA, B = 0xBBBB };

int main(void) {
  vmx_enable();
  *(uint64_t*)page_a = A;
  *(uint64_t*)page_b = B;
  pml4 = pt_new_root();
  pt_identity(pml4, 4ull << 30);
  pt_map(pml4, LIN, (uint64_t)page_a, 4096, PTE_P | PTE_W | PTE_A | PTE_D, PTE_W | PTE_A);
  struct vmx_vcpu v;
  vmx_vcpu_init(&v, guest_reader);
  vmx_write(VMCS_GUEST_CR3, (uint64_t)pml4);

  // No VPID: VM entries and exits flush VPID 0's translations (29.4.3.1).
  point(page_a);
  CHECK_EQ(guest_read(&v), A, "no VPID: first read");
  point(page_b);
  CHECK_EQ(guest_read(&v), B, "no VPID: a new PTE is seen after exit and entry");

  if (!vmx_has_proc2(PROC2_VPID) || !(vmx_caps.ept_vpid & VPID_CAP_INVVPID)) {
    rt_printf("vmx_vpid: the CPU has no VPIDs or INVVPID: VPID checks skipped\n");
    return vmx_test_finish("vmx_vpid");
  }
  vmx_set_bits(VMCS_PROC_CONTROLS, PROC_SECONDARY_CONTROLS, 0);
  vmx_set_bits(VMCS_PROC_CONTROLS2, PROC2_VPID, 0);
  vmx_write(VMCS_VPID, 1);
  invvpid(INVVPID_ALL, 0, 0);
  point(page_a);
  CHECK_EQ(guest_read(&v), A, "VPID 1: first read");
  point(page_b);
  MODEL(guest_read(&v) == A, "VPID 1: the cached translation survives exit and entry");
  struct {
    const char* name;
    uint64_t type, cap;
  } k[] = {
      {"individual-address", INVVPID_ADDR, VPID_CAP_INDIV_ADDR},
      {"single-context", INVVPID_SINGLE, VPID_CAP_SINGLE},
      {"all-context", INVVPID_ALL, VPID_CAP_ALL},
      {"single-context-retaining-globals", INVVPID_SINGLE_NONGLOBAL, VPID_CAP_SINGLE_NONGLOBAL},
  };
  uint8_t* now = page_b;
  for (unsigned i = 0; i < 4; i++) {
    if (!(vmx_caps.ept_vpid & k[i].cap)) {
      rt_printf("vmx_vpid: INVVPID %s not supported: skipped\n", k[i].name);
      continue;
    }
    now = now == page_a ? page_b : page_a;
    point(now);
    CHECK_STATUS(invvpid(k[i].type, 1, LIN), VMX_SUCCEED, 0, k[i].name);
    uint64_t got = guest_read(&v);
    CHECK(got == *(uint64_t*)now, "INVVPID %s: guest reads %lx, expected %lx", k[i].name, got,
          *(uint64_t*)now);
  }
  // An invalidation of another VPID leaves VPID 1's translation (model).
  now = now == page_a ? page_b : page_a;
  point(now);
  if (vmx_caps.ept_vpid & VPID_CAP_SINGLE) {
    invvpid(INVVPID_SINGLE, 2, 0);
    MODEL(guest_read(&v) != *(uint64_t*)now, "INVVPID of VPID 2 keeps VPID 1's translation");
  }
  // Another VPID on the same VMCS does not see VPID 1's entries.
  vmx_write(VMCS_VPID, 3);
  invvpid(INVVPID_ALL, 0, 0);
  CHECK_EQ(guest_read(&v), *(uint64_t*)now, "VPID 3 after all-context INVVPID");
  rt_printf("vmx_vpid: %u model checks (nestsim only)\n", model_checks);
  return vmx_test_finish("vmx_vpid");
}
