// Every permission combination at every level (SDM Vol. 3A 4.6, 4.7): U/S, R/W and XD set
// at one of PML4E, PDPTE, PDE or PTE (the other levels permissive) for supervisor reads,
// writes and fetches under CR0.WP, CR4.SMEP, CR4.SMAP and EFLAGS.AC, and for user reads,
// writes and fetches under CR0.WP. The expected outcome comes from the SDM's rules
// (expect() below); a fault must be #PF with the exact error code and CR2.
#include "paging.h"
#include "rt.h"
#include "trap.h"

#define TEST_LIN 0x0000008000000000ull  // PML4 slot 1: its own PML4E, PDPTE, PDE, PTE
#define USER_LIN 0x0000010000000000ull  // PML4 slot 2: user code page, then user stack

static uint8_t target[4096] __attribute__((aligned(4096)));
static uint8_t user_code[4096] __attribute__((aligned(4096)));
static uint8_t user_stack[4096] __attribute__((aligned(4096)));
static uint64_t* pml4;
static bool has_smep, has_smap;
static unsigned checks, failures;

static const char* const kOps[] = {"read", "write", "fetch"};

// -1 when the access is allowed, else the #PF error code (SDM Vol. 3A 4.6.1, 4.7).
static int expect(bool user, int op, bool u, bool w, bool x, bool wp, bool smep, bool smap,
                  bool ac) {
  int err = RT_PF_P | (op == RT_OP_WRITE ? RT_PF_W : 0) | (user ? RT_PF_U : 0) |
            (op == RT_OP_EXEC ? RT_PF_I : 0);  // I/D: EFER.NXE = 1
  if (user) {
    if (!u) return err;
    if (op == RT_OP_WRITE && !w) return err;  // user writes need R/W = 1 whatever WP
    if (op == RT_OP_EXEC && !x) return err;
    return -1;
  }
  if (op == RT_OP_EXEC) {
    if (!x) return err;
    if (u && smep) return err;
    return -1;
  }
  if (u && smap && !ac) return err;  // explicit supervisor data access to a user page
  if (op == RT_OP_WRITE && !w && wp) return err;
  return -1;
}

static void check(bool user, int op, int level, unsigned combo, bool wp, bool smep, bool smap,
                  bool ac, int got) {
  bool u = combo & 1, w = combo & 2, x = !(combo & 4);
  int want = expect(user, op, u, w, x, wp, smep, smap, ac);
  uint64_t lin = TEST_LIN + (op == RT_OP_EXEC ? 0 : 8);
  bool ok = want < 0 ? got == -1
                     : got == 14 && rt_last_fault.error == (uint64_t)want &&
                           rt_last_fault.cr2 == lin;
  checks++;
  if (ok) return;
  if (++failures > 20) return;
  rt_printf("FAIL level %d U=%d W=%d XD=%d: %s %s WP=%d SMEP=%d SMAP=%d AC=%d: ", level, u, w,
            !x, user ? "user" : "supervisor", kOps[op], wp, smep, smap, ac);
  if (want < 0) rt_printf("expected success, got vector %d error %lx\n", got, rt_last_fault.error);
  else if (got < 0) rt_printf("expected #PF(%x), got success\n", want);
  else
    rt_printf("expected #PF(%x) cr2 %lx, got vector %d error %lx cr2 %lx\n", want, lin, got,
              rt_last_fault.error, rt_last_fault.cr2);
}

static int supervisor_probe(int op) {
  uint64_t v;
  switch (op) {
    case RT_OP_READ: return rt_probe_read((void*)(TEST_LIN + 8), &v);
    case RT_OP_WRITE: return rt_probe_write((void*)(TEST_LIN + 8), 0x1234);
    default: return rt_probe_exec((void*)TEST_LIN);
  }
}

// Sets the U/W/XD bits of every entry on TEST_LIN's walk: permissive, except `level`
// which gets `combo` (bit 0 U, bit 1 W, bit 2 XD). Then flushes the TLB (MOV CR3).
static void configure(int level, unsigned combo) {
  for (int l = 4; l >= 1; l--) {
    uint64_t* e = pt_entry(pml4, TEST_LIN, l);
    *e = (*e & ~(uint64_t)(PTE_U | PTE_W | PTE_A | PTE_D) & ~PTE_NX) | PTE_U | PTE_W;
    if (l == level) {
      *e &= ~(uint64_t)(PTE_U | PTE_W);
      *e |= (combo & 1 ? PTE_U : 0) | (combo & 2 ? PTE_W : 0) | (combo & 4 ? PTE_NX : 0);
    }
  }
  rt_write_cr3(rt_read_cr3());
}

static void set_controls(bool wp, bool smep, bool smap, bool ac) {
  uint64_t cr0 = rt_read_cr0(), cr4 = rt_read_cr4();
  cr0 = wp ? cr0 | RT_CR0_WP : cr0 & ~(uint64_t)RT_CR0_WP;
  cr4 &= ~(uint64_t)(RT_CR4_SMEP | RT_CR4_SMAP);
  cr4 |= (smep ? RT_CR4_SMEP : 0) | (smap ? RT_CR4_SMAP : 0);
  rt_write_cr0(cr0);
  rt_write_cr4(cr4);
  if (has_smap) {
    if (ac) rt_stac();
    else rt_clac();
  }
}

int main(void) {
  rt_trap_init();
  uint32_t r[4];
  rt_cpuid(7, 0, r);
  has_smep = r[1] & (1u << 7);
  has_smap = r[1] & (1u << 20);
  rt_printf("paging_perm: SMEP %s, SMAP %s\n", has_smep ? "yes" : "no", has_smap ? "yes" : "no");

  pml4 = pt_new_root();
  pt_identity(pml4, 1ull << 30);  // the kernel: supervisor pages
  pt_map(pml4, TEST_LIN, (uint64_t)target, 4096, PTE_P | PTE_W | PTE_U, PTE_W | PTE_U);
  pt_map(pml4, USER_LIN, (uint64_t)user_code, 4096, PTE_P | PTE_U, PTE_W | PTE_U);
  pt_map(pml4, USER_LIN + 0x1000, (uint64_t)user_stack, 4096, PTE_P | PTE_W | PTE_U,
         PTE_W | PTE_U);
  *pt_entry(pml4, USER_LIN + 0x1000, 1) |= PTE_NX;
  target[0] = 0xC3;  // RET, for fetches
  rt_user_init(user_code, USER_LIN, USER_LIN + 0x1000);
  rt_write_cr3((uint64_t)pml4);

  for (int level = 4; level >= 1; level--) {
    for (unsigned combo = 0; combo < 8; combo++) {
      configure(level, combo);
      for (unsigned c = 0; c < 16; c++) {
        bool wp = c & 1, smep = c & 2, smap = c & 4, ac = c & 8;
        if ((smep && !has_smep) || ((smap || ac) && !has_smap)) continue;
        set_controls(wp, smep, smap, ac);
        for (int op = 0; op < 3; op++)
          check(false, op, level, combo, wp, smep, smap, ac, supervisor_probe(op));
      }
      for (unsigned wp = 0; wp < 2; wp++) {
        set_controls(wp, false, false, false);
        for (int op = 0; op < 3; op++) {
          int got = rt_user_probe(op, TEST_LIN + (op == RT_OP_EXEC ? 0 : 8));
          check(true, op, level, combo, wp, false, false, false, got);
        }
      }
    }
  }
  set_controls(true, false, false, false);
  rt_printf("paging_perm: %u checks, %u failures\n", checks, failures);
  if (failures) return 1;
  rt_printf("paging_perm: all checks passed\n");
  return 0;
}
