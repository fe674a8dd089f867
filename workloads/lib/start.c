// The runtime's C entry (called by lib/boot.asm in 64-bit mode) and the boot
// information it keeps for programs. See rt.h.
#include "multiboot.h"
#include "rt.h"
#include "trap.h"

enum { kBootMagic = 0x2BADB002 };  // EAX at a multiboot entry (Multiboot 0.6.96, 3.2)

int main(void);

static const struct mb_info* mbi;
// A copy of the command line: programs may reuse low memory, where loaders put the
// MBI and its strings. Longer command lines are cut (rt_cmdline_truncated()).
static char cmdline[1024];
static bool cmdline_cut;
static uint64_t mem_bytes;

// Usable RAM: the sum of the type-1 records of the memory map when there is one (3.3,
// mmap_*), else the two legacy figures (mem_lower + mem_upper, KiB).
static uint64_t usable_ram(const struct mb_info* mb) {
  if (mb->flags & MB_INFO_MEM_MAP) {
    uint64_t sum = 0;
    uintptr_t p = mb->mmap_addr, end = (uintptr_t)mb->mmap_addr + mb->mmap_length;
    while (p + 4 <= end) {
      const struct mb_mmap_entry* e = (const struct mb_mmap_entry*)p;
      if (e->size >= 20 && p + 4 + 20 <= end && e->type == MB_MEMORY_AVAILABLE) sum += e->length;
      p += (uintptr_t)e->size + 4;
      if (e->size == 0) break;  // a malformed map: stop rather than loop
    }
    if (sum) return sum;
  }
  if (mb->flags & MB_INFO_MEMORY) return ((uint64_t)mb->mem_lower + mb->mem_upper) << 10;
  return 0;
}

static void read_boot_info(uint32_t mbi_phys) {
  mbi = (const struct mb_info*)(uintptr_t)mbi_phys;
  if (mbi->flags & MB_INFO_CMDLINE && mbi->cmdline) {
    const char* s = (const char*)(uintptr_t)mbi->cmdline;
    size_t n = 0;
    while (s[n] && n + 1 < sizeof cmdline) cmdline[n] = s[n], ++n;
    cmdline[n] = 0;
    cmdline_cut = s[n] != 0;
  }
  mem_bytes = usable_ram(mbi);
}

_Noreturn void rt_start(uint32_t magic, uint32_t mbi_phys) {
  rt_serial_init();
  rt_trap_init();  // from here on a stray exception is reported, not a triple fault
  if (magic != kBootMagic) {
    rt_printf("rt: not entered by a multiboot loader (EAX = 0x%x, expected 0x%x)\n", magic,
              kBootMagic);
    rt_exit(RT_EXIT_BOOT);
  }
  read_boot_info(mbi_phys);
  rt_exit((uint32_t)main());
}

const struct mb_info* rt_mbi(void) { return mbi; }
const char* rt_cmdline(void) { return cmdline; }
bool rt_cmdline_truncated(void) { return cmdline_cut; }
uint64_t rt_mem_bytes(void) { return mem_bytes; }

const char* rt_cmdline_args(void) {
  const char* s = cmdline;
  while (*s == ' ') ++s;
  while (*s && *s != ' ') ++s;  // the image name
  while (*s == ' ') ++s;
  return s;
}
