// The runtime's C entry (called by lib/boot.asm in 64-bit mode) and the boot
// information it keeps for programs. See rt.h.
#include "multiboot.h"
#include "rt.h"
#include "trap.h"

enum { kBootMagic = 0x2BADB002 };  // EAX at a multiboot entry (Multiboot 0.6.96, 3.2)

int main(void);

// rt_start keeps only the MBI's address: reading it costs instructions that would
// depend on the command line (the image's path), and benchmark kernels have golden
// instruction and cycle counts. The accessors read it on their first call.
static const struct mb_info* mbi;
// A copy of the command line, made at the first rt_cmdline*(): programs may reuse low
// memory, where loaders put the MBI and its strings. Longer command lines are cut.
static char cmdline[1024];
static bool cmdline_read, cmdline_cut;
static uint64_t mem_bytes;
static bool mem_read;

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

static void read_cmdline(void) {
  if (cmdline_read) return;
  cmdline_read = true;
  if (!(mbi && mbi->flags & MB_INFO_CMDLINE && mbi->cmdline)) return;
  const char* s = (const char*)(uintptr_t)mbi->cmdline;
  size_t n = 0;
  while (s[n] && n + 1 < sizeof cmdline) cmdline[n] = s[n], ++n;
  cmdline[n] = 0;
  cmdline_cut = s[n] != 0;
}

_Noreturn void rt_start(uint32_t magic, uint32_t mbi_phys) {
  rt_serial_init();
  rt_trap_init();  // from here on a stray exception is reported, not a triple fault
  if (magic != kBootMagic) {
    rt_printf("rt: not entered by a multiboot loader (EAX = 0x%x, expected 0x%x)\n", magic,
              kBootMagic);
    rt_exit(RT_EXIT_BOOT);
  }
  mbi = (const struct mb_info*)(uintptr_t)mbi_phys;
  rt_exit((uint32_t)main());
}

const struct mb_info* rt_mbi(void) { return mbi; }
const char* rt_cmdline(void) {
  read_cmdline();
  return cmdline;
}

bool rt_cmdline_truncated(void) {
  read_cmdline();
  return cmdline_cut;
}

uint64_t rt_mem_bytes(void) {
  if (!mem_read) mem_bytes = mbi ? usable_ram(mbi) : 0, mem_read = true;
  return mem_bytes;
}

const char* rt_cmdline_args(void) {
  const char* s = rt_cmdline();
  while (*s == ' ') ++s;
  while (*s && *s != ' ') ++s;  // the image name
  while (*s == ' ') ++s;
  return s;
}
