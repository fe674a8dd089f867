// Multiboot v1 (Multiboot Specification 0.6.96; PLATFORM.md "Boot protocols").
//
// Image (spec 3.1): the header (magic, flags, checksum) is the first 4-byte aligned
// magic within the first 8192 bytes whose checksum is right. With flag 16 clear the
// image must be ELF32 (EM_386) or ELF64 (EM_X86_64) and is placed by its PT_LOAD
// program headers at p_paddr, BSS zeroed, entered at e_entry (translated to physical
// through the segment whose virtual range holds it, as GRUB 2 does; below 4 GiB).
// With flag 16 set the header's address fields say where the file goes (3.1.3, the
// "a.out kludge"), whatever the file format.
// Header flags (3.1.2): bits 0-15 are requirements; this loader satisfies bit 0
// (modules page-aligned: they always are) and bit 1 (memory information: always
// given); bit 2 (video mode) is accepted and ignored (no framebuffer: MBI flag 12
// stays clear), like QEMU. Any other bit in 0-15 fails the load, as 3.1.2 demands.
//
// Hand-over (3.2, 3.3), everything outside the image and each other (GuestLayout):
//   low memory, top-down below the EBDA: a 4 KiB stack page, the GDT
//   (sim/boot/util.h layout), the MBI,
//   the command line "<image path> <append>" (QEMU's form), the boot loader name
//   "nestsim", the memory map (e820_map(), entries of size 20), the module list and
//   each module's command line ("FILE ARGS" as given to --module);
//   modules: 4 KiB aligned, in low memory when they fit, else above the image.
//   MBI flags: mem (0), cmdline (2), mods (3, count may be 0), mmap (6), boot loader
//   name (9); no boot device (1), no a.out/ELF symbols (4, 5), no drives, config
//   table, APM, VBE or framebuffer.
// Entry state (3.2): 32-bit flat protected mode (set_flat32_state: CS 0x10, data
// 0x18, GDTR valid, IDTR limit 0), CR0 = PE|ET, paging off, CR4 = EFER = 0,
// EFLAGS = 0x2, A20 on (nestsim has no A20 gate), EAX = 0x2BADB002, EBX = MBI.
// ESP is undefined by the spec; it is the top of a 4 KiB page taken from low memory
// before the hand-over structures, so early pushes land in memory of their own.
#include <elf.h>

#include <algorithm>

#include "sim/boot/boot.h"
#include "sim/boot/util.h"
#include "sim/machine.h"

namespace sim {

namespace {

using boot::GuestLayout;
using boot::hex;

constexpr uint32_t kHeaderMagic = 0x1BADB002;
constexpr uint32_t kBootMagic = 0x2BADB002;
constexpr uint64_t kSearchBytes = 8192;

// Header flags (3.1.2).
constexpr uint32_t kPageAlignModules = 1u << 0;
constexpr uint32_t kMemoryInfo = 1u << 1;
constexpr uint32_t kVideoMode = 1u << 2;
constexpr uint32_t kAddressFields = 1u << 16;
constexpr uint32_t kKnownRequired = kPageAlignModules | kMemoryInfo | kVideoMode;

// MBI flags and layout (3.3).
constexpr uint32_t kMbiMem = 1u << 0;
constexpr uint32_t kMbiCmdline = 1u << 2;
constexpr uint32_t kMbiMods = 1u << 3;
constexpr uint32_t kMbiMmap = 1u << 6;
constexpr uint32_t kMbiLoaderName = 1u << 9;
namespace mbi {
constexpr unsigned kFlags = 0, kMemLower = 4, kMemUpper = 8, kCmdline = 16, kModsCount = 20,
                   kModsAddr = 24, kMmapLength = 44, kMmapAddr = 48, kBootLoaderName = 64;
constexpr unsigned kSize = 116;  // through the framebuffer fields of 0.6.96
}  // namespace mbi
constexpr unsigned kModEntryBytes = 16;   // mod_start, mod_end, string, reserved
constexpr unsigned kMmapEntryBytes = 24;  // size (20), base_addr, length, type

struct Header {
  uint64_t offset = 0;  // in the file
  uint32_t flags = 0;
  uint32_t header_addr = 0, load_addr = 0, load_end_addr = 0, bss_end_addr = 0, entry_addr = 0;
};

// The first 4-byte aligned magic in the first 8 KiB, or ~0.
uint64_t find_magic(const std::vector<uint8_t>& file, uint64_t from = 0) {
  const uint64_t end = std::min<uint64_t>(file.size(), kSearchBytes);
  for (uint64_t off = from; off + 4 <= end; off += 4) {
    uint32_t v;
    std::memcpy(&v, file.data() + off, 4);
    if (v == kHeaderMagic) return off;
  }
  return ~0ull;
}

Header find_header(const std::vector<uint8_t>& file) {
  // 3.1.1: the whole header (12 bytes) lies within the first 8 KiB.
  const uint64_t first = find_magic(file);
  if (first == ~0ull || first + 12 > kSearchBytes)
    throw ImageError("no Multiboot header (magic 0x1badb002) in the first 8192 bytes");
  for (uint64_t off = first; off != ~0ull && off + 12 <= kSearchBytes; off = find_magic(file, off + 4)) {
    if (off + 12 > file.size())
      throw ImageError("image is truncated: the Multiboot header at offset " + hex(off) +
                       " lies outside the file");
    Header h;
    h.offset = off;
    uint32_t magic = boot::get<uint32_t>(file, off, "the Multiboot header");
    h.flags = boot::get<uint32_t>(file, off + 4, "the Multiboot header");
    uint32_t checksum = boot::get<uint32_t>(file, off + 8, "the Multiboot header");
    if (uint32_t(magic + h.flags + checksum) != 0) continue;  // not a header: keep looking
    if (h.flags & kAddressFields) {
      if (off + 32 > file.size())
        throw ImageError("image is truncated: the Multiboot header's address fields (flag 16) "
                         "lie outside the file");
      const char* w = "the Multiboot address fields";
      h.header_addr = boot::get<uint32_t>(file, off + 12, w);
      h.load_addr = boot::get<uint32_t>(file, off + 16, w);
      h.load_end_addr = boot::get<uint32_t>(file, off + 20, w);
      h.bss_end_addr = boot::get<uint32_t>(file, off + 24, w);
      h.entry_addr = boot::get<uint32_t>(file, off + 28, w);
    }
    return h;
  }
  throw ImageError("the Multiboot header at offset " + hex(first) +
                   " has a bad checksum (magic + flags + checksum must be 0 mod 2^32)");
}

// Flag 16 clear: an ELF32 or ELF64 executable placed by its program headers.
uint64_t place_elf(GuestLayout& l, const std::vector<uint8_t>& file) {
  if (!boot::is_elf(file))
    throw ImageError("the Multiboot header has no address fields (flag 16) and the image is not ELF");
  boot::ElfImage e = boot::parse_elf(file);
  if (e.is64 && e.machine != EM_X86_64) throw ImageError("ELF64 image is not for x86-64 (EM_X86_64)");
  if (!e.is64 && e.machine != EM_386) throw ImageError("ELF32 image is not for i386 (EM_386)");
  if (e.type != ET_EXEC) throw ImageError("ELF image is not an executable (ET_EXEC)");
  if (boot::load_elf_segments(l, file, e) == 0) throw ImageError("ELF image has no loadable segments");
  uint64_t entry = boot::elf_physical_entry(e);
  if (entry >> 32)
    throw ImageError("ELF entry point " + hex(entry) + " is above 4 GiB (the Multiboot entry is 32-bit)");
  return entry;
}

// Flag 16 set: the a.out kludge (3.1.3).
uint64_t place_by_address_fields(GuestLayout& l, const std::vector<uint8_t>& file, const Header& h) {
  if (h.load_addr > h.header_addr)
    throw ImageError("Multiboot load_addr " + hex(h.load_addr) + " is above header_addr " +
                     hex(h.header_addr));
  // The header's physical address fixes the file offset of load_addr.
  const uint64_t lead = h.header_addr - h.load_addr;
  if (lead > h.offset)
    throw ImageError("Multiboot header_addr - load_addr (" + hex(lead) +
                     ") is larger than the header's file offset (" + hex(h.offset) + ")");
  const uint64_t file_off = h.offset - lead;
  uint64_t size = file.size() - file_off;  // load_end_addr 0: the rest of the file
  if (h.load_end_addr) {
    if (h.load_end_addr <= h.load_addr)
      throw ImageError("Multiboot load_end_addr " + hex(h.load_end_addr) + " is not above load_addr " +
                       hex(h.load_addr));
    size = h.load_end_addr - h.load_addr;
    if (size > file.size() - file_off)
      throw ImageError("image is truncated: Multiboot load_end_addr " + hex(h.load_end_addr) +
                       " lies beyond the end of the file");
  }
  uint64_t mem = size;
  if (h.bss_end_addr) {
    if (h.bss_end_addr < h.load_addr + size)
      throw ImageError("Multiboot bss_end_addr " + hex(h.bss_end_addr) + " is below the end of the loaded data " +
                       hex(h.load_addr + size));
    mem = h.bss_end_addr - h.load_addr;
  }
  l.load(h.load_addr, file.data() + file_off, size, mem, "the Multiboot image");
  if (h.entry_addr < h.load_addr || h.entry_addr - h.load_addr >= size)
    throw ImageError("Multiboot entry_addr " + hex(h.entry_addr) + " is outside the loaded image " +
                     hex(h.load_addr) + "-" + hex(h.load_addr + size - 1));
  return h.entry_addr;
}

struct Module {
  std::string path, cmdline;
  std::vector<uint8_t> data;
};

Module read_module(const std::string& spec) {
  Module mod;
  mod.cmdline = spec;
  mod.path = spec.substr(0, spec.find(' '));
  if (mod.path.empty()) throw ImageError("--module: expected 'FILE [ARGS]', got '" + spec + "'");
  mod.data = boot::read_blob(mod.path, "--module");
  return mod;
}

}  // namespace

bool has_multiboot_header(const std::vector<uint8_t>& file) {
  const uint64_t off = find_magic(file);
  return off != ~0ull && off + 12 <= kSearchBytes;
}

LoadedImage load_multiboot(Machine& m, const std::vector<uint8_t>& file, const BootOptions& o) {
  const Header h = find_header(file);
  if (uint32_t unknown = h.flags & 0xFFFF & ~kKnownRequired)
    throw ImageError("the Multiboot header requires features this loader does not provide (flags " +
                     hex(unknown) + " of bits 0-15)");
  std::vector<Module> mods;
  for (const std::string& spec : o.modules) mods.push_back(read_module(spec));

  GuestLayout l(m);
  const uint64_t entry = (h.flags & kAddressFields) ? place_by_address_fields(l, file, h) : place_elf(l, file);
  // ESP is undefined (3.2); a 4 KiB page of its own keeps early pushes off the MBI.
  const uint64_t stack_top = l.alloc_low(0x1000, 0x1000, "the initial stack") + 0x1000;
  const uint64_t gdt = l.alloc_low(boot::kFlatGdtBytes, 8, "the GDT");
  boot::write_flat_gdt(l, gdt);
  const uint64_t info = l.alloc_low(mbi::kSize, 8, "the multiboot information (MBI)");
  std::vector<uint8_t> zero(mbi::kSize);
  l.write(info, zero.data(), zero.size());
  const std::string cmdline = o.append.empty() ? o.path : o.path + " " + o.append;
  const uint64_t cmdline_addr = l.put_string_low(cmdline, "the command line");
  const uint64_t name_addr = l.put_string_low("nestsim", "the boot loader name");

  const std::vector<E820Entry> map = e820_map(m.mem().ram_size());
  const uint64_t mmap = l.alloc_low(map.size() * kMmapEntryBytes, 8, "the memory map");
  for (size_t i = 0; i < map.size(); i++) {
    const uint64_t a = mmap + i * kMmapEntryBytes;
    l.put<uint32_t>(a, kMmapEntryBytes - 4);
    l.put<uint64_t>(a + 4, map[i].base);
    l.put<uint64_t>(a + 12, map[i].size);
    l.put<uint32_t>(a + 20, uint32_t(map[i].type));
  }

  // The module list and command lines first: the modules may fill low memory.
  uint64_t mods_addr = 0;
  if (!mods.empty()) mods_addr = l.alloc_low(mods.size() * kModEntryBytes, 8, "the module list");
  std::vector<uint64_t> mod_strings;
  for (const Module& mod : mods)
    mod_strings.push_back(l.put_string_low(mod.cmdline, "the command line of --module '" + mod.path + "'"));
  for (size_t i = 0; i < mods.size(); i++) {
    const std::string what = "--module '" + mods[i].path + "'";
    const uint64_t size = mods[i].data.size();
    uint64_t at;
    try {
      at = l.alloc(size, 0x1000, 0x1000, kEbdaBase, GuestLayout::From::kTop, what);
    } catch (const ImageError&) {
      at = l.alloc_above(size, 0x1000, what);  // throws "does not fit" when RAM is too small
    }
    l.write(at, mods[i].data.data(), size);
    const uint64_t e = mods_addr + i * kModEntryBytes;
    l.put<uint32_t>(e, uint32_t(at));
    l.put<uint32_t>(e + 4, uint32_t(at + size));  // end, exclusive (as GRUB and QEMU)
    l.put<uint32_t>(e + 8, uint32_t(mod_strings[i]));
    l.put<uint32_t>(e + 12, 0);
  }

  // mem_lower: KiB of conventional memory from 0 (up to the EBDA); mem_upper: KiB
  // from 1 MiB to the first hole (RAM ends below the MMIO window, sim/memmap.h).
  const uint64_t ram = m.mem().ram_size();
  l.put<uint32_t>(info + mbi::kFlags, kMbiMem | kMbiCmdline | kMbiMods | kMbiMmap | kMbiLoaderName);
  l.put<uint32_t>(info + mbi::kMemLower, uint32_t(std::min(ram, kEbdaBase) / 1024));
  l.put<uint32_t>(info + mbi::kMemUpper, uint32_t(ram > kHighRamBase ? (ram - kHighRamBase) / 1024 : 0));
  l.put<uint32_t>(info + mbi::kCmdline, uint32_t(cmdline_addr));
  l.put<uint32_t>(info + mbi::kModsCount, uint32_t(mods.size()));
  l.put<uint32_t>(info + mbi::kModsAddr, uint32_t(mods_addr));
  l.put<uint32_t>(info + mbi::kMmapLength, uint32_t(map.size() * kMmapEntryBytes));
  l.put<uint32_t>(info + mbi::kMmapAddr, uint32_t(mmap));
  l.put<uint32_t>(info + mbi::kBootLoaderName, uint32_t(name_addr));

  m.reset_with([&](isa::Cpu& c) {
    boot::set_flat32_state(c, gdt, uint32_t(entry));
    c.r[isa::RAX] = kBootMagic;
    c.r[isa::RBX] = info;
    c.r[isa::RSP] = stack_top;
  });
  LoadedImage li;
  li.entry = entry;
  li.format = "multiboot";
  return li;
}

}  // namespace sim
