// Boot protocols: putting a kernel image, its command line, modules/initrd and the
// firmware's hand-over structures into a Machine and setting the CPU's entry state.
//
// Formats (BootOptions::format; "auto" detects in this order):
//   linux      a bzImage: "HdrS" at offset 0x202 (Linux x86 boot protocol 2.x,
//              Documentation/x86/boot.rst): setup header, zero page, command line,
//              initrd, e820; entered through the 32-bit boot protocol
//              (sim/boot/linux.cpp)
//   multiboot  a Multiboot v1 header (magic 0x1BADB002) in the first 8 KiB: ELF32 or
//              ELF64 placed by its program headers (flag 16 clear) or by the header's
//              address fields (flag 16 set); MBI with memory, command line ("<image
//              path> <append>"), modules and the e820-derived mmap (PLATFORM.md)
//              (sim/boot/multiboot.cpp)
//   pvh        an ELF (vmlinux) with a XEN_ELFNOTE_PHYS32_ENTRY note: hvm_start_info
//              hand-over in 32-bit flat mode (sim/boot/pvh.cpp, optional)
//   elf64      an ELF64 EM_X86_64 executable without a multiboot header: the part-1
//              contract of sim/loader.h (64-bit entry, identity paging)
//   flat       raw bytes at --load-addr, entered at --entry in --entry-mode
//              (real | prot32 | long); never auto-detected (sim/boot/flat.cpp)
// Every loader refuses bad input with an ImageError carrying one line for the user:
// bad headers, truncated files, overlapping segments, segments outside RAM or over
// the firmware area (sim/memmap.h), oversize modules or initrds. What may go where
// is one set of rules for all of them (sim/boot/util.h GuestLayout): usable e820
// RAM only, never page 0, nothing overlapping; hand-over structures (MBI, GDT,
// start_info, command lines) are taken from the top of low memory down.
// boot_image also refuses options the chosen format would ignore (--module outside
// Multiboot, --initrd outside Linux/PVH, --append for elf64/flat, flat-only options).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sim/loader.h"

namespace sim {

class Machine;

struct BootOptions {
  std::string path;               // the image file (also the first word of a multiboot cmdline)
  std::string format = "auto";    // auto | linux | multiboot | pvh | elf64 | flat
  std::string append;             // kernel command line (--append)
  std::vector<std::string> modules;  // multiboot modules: "FILE" or "FILE ARGS" (--module)
  std::string initrd;             // linux / pvh initial ramdisk (--initrd)
  // flat binaries
  std::string entry_mode = "long";  // real | prot32 | long
  uint64_t load_addr = 0x100000;
  uint64_t entry = ~0ull;         // default: load_addr
};

// Loads `o.path` into `m` (RAM already cleared, firmware tables written) and sets the
// entry state. Throws ImageError.
LoadedImage boot_image(Machine& m, const BootOptions& o);

// The per-format loaders (the file is already read; `o` gives the rest).
LoadedImage load_linux(Machine& m, const std::vector<uint8_t>& file, const BootOptions& o);
LoadedImage load_multiboot(Machine& m, const std::vector<uint8_t>& file, const BootOptions& o);
LoadedImage load_pvh(Machine& m, const std::vector<uint8_t>& file, const BootOptions& o);
LoadedImage load_flat(Machine& m, const std::vector<uint8_t>& file, const BootOptions& o);

// Detection helpers (true when the format's magic is present and well placed).
bool is_bzimage(const std::vector<uint8_t>& file);
bool has_multiboot_header(const std::vector<uint8_t>& file);
bool has_pvh_note(const std::vector<uint8_t>& file);  // an ELF with XEN_ELFNOTE_PHYS32_ENTRY

}  // namespace sim
