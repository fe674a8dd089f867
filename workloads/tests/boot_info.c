// Prints what the multiboot loader handed over that QEMU and nestsim agree on: the
// command line after the image name, and each module's command line and contents
// (workload.qemu_compat runs it with --append / -append and --module / -initrd). The
// memory map is checked for sanity but not printed: the two machines' maps differ.
#include "multiboot.h"
#include "rt.h"

// Prints up to n bytes of [p, p + len) with non-printable bytes as '.'.
static void print_bytes(const uint8_t* p, uint32_t len, uint32_t n) {
  for (uint32_t i = 0; i < len && i < n; ++i) rt_putc(p[i] >= 0x20 && p[i] < 0x7F ? (char)p[i] : '.');
}

int main(void) {
  const struct mb_info* mb = rt_mbi();
  RT_ASSERT(mb->flags & MB_INFO_MEMORY);
  RT_ASSERT(mb->mem_lower >= 512 && mb->mem_lower <= 640);
  RT_ASSERT(rt_mem_bytes() >= (uint64_t)mb->mem_upper << 10);
  rt_printf("boot_info: arguments \"%s\"\n", rt_cmdline_args());
  uint32_t mods = mb->flags & MB_INFO_MODS ? mb->mods_count : 0;
  rt_printf("boot_info: %u module(s)\n", mods);
  const struct mb_module* m = (const struct mb_module*)(uintptr_t)mb->mods_addr;
  for (uint32_t i = 0; i < mods; ++i) {
    RT_ASSERT(m[i].mod_start % 4096 == 0);  // header flag 0: page-aligned modules
    RT_ASSERT(m[i].mod_end >= m[i].mod_start);
    // The module's command line is "FILE ARGS": print the ARGS part, the path differs
    // between build directories but not between the two machines.
    const char* s = m[i].string ? (const char*)(uintptr_t)m[i].string : "";
    const char* args = s;
    while (*args && *args != ' ') ++args;
    while (*args == ' ') ++args;
    rt_printf("boot_info: module %u: %u bytes, arguments \"%s\": ", i, m[i].mod_end - m[i].mod_start,
              args);
    print_bytes((const uint8_t*)(uintptr_t)m[i].mod_start, m[i].mod_end - m[i].mod_start, 64);
    rt_putc('\n');
  }
  rt_printf("boot_info: done\n");
  return 0;
}
