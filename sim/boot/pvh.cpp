// PVH direct boot of an ELF kernel (e.g. an uncompressed Linux vmlinux built with
// CONFIG_PVH), as Xen's and QEMU's loaders do it (xen/include/public/elfnote.h
// XEN_ELFNOTE_PHYS32_ENTRY; xen/include/public/arch-x86/hvm/start_info.h).
//
// Image: ELF32 or ELF64 whose PT_NOTE segments hold a note named "Xen" of type 18
// (PHYS32_ENTRY) with a 4- or 8-byte physical entry address; PT_LOAD segments are
// placed at p_paddr (BSS zeroed) and the entry must lie in one of them.
// Hand-over (low memory, top-down; GuestLayout keeps everything apart):
//   struct hvm_start_info, version 1: magic 0x336ec578, flags 0, the module list
//   (one entry, the initrd, when --initrd is given), the command line (--append,
//   NUL-terminated; cmdline_paddr 0 when empty), rsdp_paddr (the ACPI RSDP found in
//   0xE0000-0xFFFFF, 0 if none), the memory map from e820_map() (entries of
//   struct hvm_memmap_table_entry: addr, size, type, reserved).
//   The initrd goes as high in RAM as it fits (4 KiB aligned), like QEMU's.
// Entry state (start_info.h "Initial state"): 32-bit flat protected mode with paging
// off (set_flat32_state: CS 0x10, DS/ES/FS/GS/SS 0x18, a valid GDT in low memory),
// CR0 = PE|ET, CR4 = 0, EFER = 0, EFLAGS = 0x2 (IF, TF, VM clear), TR a 32-bit busy
// TSS with base 0 and limit 0x67, EBX = the start_info address, others 0.
#include <elf.h>

#include "sim/boot/boot.h"
#include "sim/boot/util.h"
#include "sim/machine.h"

namespace sim {

namespace {

constexpr uint32_t kXenElfnotePhys32Entry = 18;
constexpr uint32_t kStartInfoMagic = 0x336ec578;

// struct hvm_start_info (version 1) and its tables.
namespace si {
constexpr unsigned kMagic = 0, kVersion = 4, kFlags = 8, kNrModules = 12, kModlistPaddr = 16,
                   kCmdlinePaddr = 24, kRsdpPaddr = 32, kMemmapPaddr = 40, kMemmapEntries = 48;
constexpr unsigned kSize = 56;
constexpr unsigned kModEntryBytes = 32;     // paddr, size, cmdline_paddr, reserved
constexpr unsigned kMemmapEntryBytes = 24;  // addr, size, type, reserved
}  // namespace si

uint64_t align4(uint64_t v) { return (v + 3) & ~3ull; }

// The PHYS32_ENTRY address, or ~0 when the image has no such note. Malformed notes
// are skipped (they are not ours to judge unless we are asked to boot PVH).
uint64_t find_phys32_entry(const std::vector<uint8_t>& file, const boot::ElfImage& e) {
  for (const boot::ElfSegment& s : e.phdrs) {
    if (s.type != PT_NOTE || s.offset > file.size() || s.filesz > file.size() - s.offset) continue;
    uint64_t off = s.offset;
    const uint64_t end = s.offset + s.filesz;
    while (end - off >= 12) {
      uint32_t namesz, descsz, type;
      std::memcpy(&namesz, file.data() + off, 4);
      std::memcpy(&descsz, file.data() + off + 4, 4);
      std::memcpy(&type, file.data() + off + 8, 4);
      const uint64_t name = off + 12, desc = name + align4(namesz);
      if (desc > end || align4(descsz) > end - desc) break;
      if (type == kXenElfnotePhys32Entry && namesz == 4 && std::memcmp(file.data() + name, "Xen", 4) == 0) {
        if (descsz == 4) {
          uint32_t v;
          std::memcpy(&v, file.data() + desc, 4);
          return v;
        }
        if (descsz == 8) {
          uint64_t v;
          std::memcpy(&v, file.data() + desc, 8);
          return v;
        }
      }
      off = desc + align4(descsz);
    }
  }
  return ~0ull;
}

}  // namespace

bool has_pvh_note(const std::vector<uint8_t>& file) {
  if (!boot::is_elf(file)) return false;
  try {
    return find_phys32_entry(file, boot::parse_elf(file)) != ~0ull;
  } catch (const ImageError&) {
    return false;
  }
}

LoadedImage load_pvh(Machine& m, const std::vector<uint8_t>& file, const BootOptions& o) {
  const boot::ElfImage e = boot::parse_elf(file);
  if (e.machine != EM_X86_64 && e.machine != EM_386) throw ImageError("ELF image is not for x86");
  const uint64_t entry = find_phys32_entry(file, e);
  if (entry == ~0ull) throw ImageError("ELF image has no PVH entry (Xen note XEN_ELFNOTE_PHYS32_ENTRY)");
  boot::GuestLayout l(m);
  if (boot::load_elf_segments(l, file, e) == 0) throw ImageError("ELF image has no loadable segments");
  bool inside = false;
  for (const boot::ElfSegment& s : e.phdrs)
    if (s.type == PT_LOAD && entry >= s.paddr && entry - s.paddr < s.memsz) inside = true;
  if (!inside || entry >> 32)
    throw ImageError("PVH entry point " + boot::hex(entry) + " is not inside a loaded segment");

  const uint64_t gdt = l.alloc_low(boot::kFlatGdtBytes, 8, "the GDT");
  boot::write_flat_gdt(l, gdt);
  const uint64_t info = l.alloc_low(si::kSize, 8, "hvm_start_info");
  const std::vector<E820Entry> map = e820_map(m.mem().ram_size());
  const uint64_t mmap = l.alloc_low(map.size() * si::kMemmapEntryBytes, 8, "the PVH memory map");
  for (size_t i = 0; i < map.size(); i++) {
    const uint64_t a = mmap + i * si::kMemmapEntryBytes;
    l.put<uint64_t>(a, map[i].base);
    l.put<uint64_t>(a + 8, map[i].size);
    l.put<uint32_t>(a + 16, uint32_t(map[i].type));
    l.put<uint32_t>(a + 20, 0);
  }
  const uint64_t cmdline = o.append.empty() ? 0 : l.put_string_low(o.append, "the command line");
  uint64_t modlist = 0;
  if (!o.initrd.empty()) {
    const std::vector<uint8_t> rd = boot::read_blob(o.initrd, "--initrd");
    if (rd.empty()) throw ImageError("--initrd: '" + o.initrd + "' is empty");
    const uint64_t at = l.alloc(rd.size(), 0x1000, kHighRamBase, l.ram_size(), boot::GuestLayout::From::kTop,
                                "--initrd '" + o.initrd + "'");
    l.write(at, rd.data(), rd.size());
    modlist = l.alloc_low(si::kModEntryBytes, 8, "the PVH module list");
    l.put<uint64_t>(modlist, at);
    l.put<uint64_t>(modlist + 8, rd.size());
    l.put<uint64_t>(modlist + 16, 0);
    l.put<uint64_t>(modlist + 24, 0);
  }
  l.put<uint32_t>(info + si::kMagic, kStartInfoMagic);
  l.put<uint32_t>(info + si::kVersion, 1);
  l.put<uint32_t>(info + si::kFlags, 0);
  l.put<uint32_t>(info + si::kNrModules, modlist ? 1 : 0);
  l.put<uint64_t>(info + si::kModlistPaddr, modlist);
  l.put<uint64_t>(info + si::kCmdlinePaddr, cmdline);
  l.put<uint64_t>(info + si::kRsdpPaddr, boot::find_rsdp(m));
  l.put<uint64_t>(info + si::kMemmapPaddr, mmap);
  l.put<uint32_t>(info + si::kMemmapEntries, uint32_t(map.size()));
  l.put<uint32_t>(info + si::kMemmapEntries + 4, 0);

  m.reset_with([&](isa::Cpu& c) {
    boot::set_flat32_state(c, gdt, uint32_t(entry));
    c.tr = {0, 0x8B, 0x67, 0};
    c.r[isa::RBX] = info;
  });
  LoadedImage li;
  li.entry = entry;
  li.format = "pvh";
  return li;
}

}  // namespace sim
