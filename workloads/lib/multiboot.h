// The Multiboot v1 information structure (Multiboot Specification 0.6.96, 3.3 "Boot
// information format") as the loader leaves it for the kernel. rt_mbi() returns it; the
// addresses in it are physical, and the runtime's identity map makes them usable as
// pointers below 4 GiB.
#pragma once
#include <stdint.h>

enum {
  MB_INFO_MEMORY = 1u << 0,    // mem_lower, mem_upper
  MB_INFO_BOOTDEV = 1u << 1,
  MB_INFO_CMDLINE = 1u << 2,   // cmdline
  MB_INFO_MODS = 1u << 3,      // mods_count, mods_addr
  MB_INFO_MEM_MAP = 1u << 6,   // mmap_length, mmap_addr
  MB_MEMORY_AVAILABLE = 1,     // mmap type of usable RAM
};

struct mb_info {
  uint32_t flags;
  uint32_t mem_lower;          // KiB from 0 (at most 640)
  uint32_t mem_upper;          // KiB from 1 MiB up to the first hole
  uint32_t boot_device;
  uint32_t cmdline;            // physical address of a NUL-terminated string
  uint32_t mods_count;
  uint32_t mods_addr;          // physical address of mods_count struct mb_module
  uint32_t syms[4];
  uint32_t mmap_length;        // bytes of struct mb_mmap_entry records at mmap_addr
  uint32_t mmap_addr;
} __attribute__((packed));

struct mb_module {
  uint32_t mod_start, mod_end;  // [mod_start, mod_end) physical
  uint32_t string;              // physical address of the module's command line, or 0
  uint32_t reserved;
} __attribute__((packed));

// One memory-map record. `size` counts the bytes after itself: the next record is at
// (char*)entry + entry->size + 4 (3.3: "size" may be larger than the fields below).
struct mb_mmap_entry {
  uint32_t size;
  uint64_t base_addr;
  uint64_t length;
  uint32_t type;
} __attribute__((packed));
