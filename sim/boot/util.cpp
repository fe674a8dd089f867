#include "sim/boot/util.h"

#include <elf.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "sim/machine.h"

namespace sim::boot {

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
  return b;
}

namespace {

std::string span(uint64_t lo, uint64_t hi) { return hex(lo) + "-" + hex(hi - 1); }

std::string ram_text(uint64_t bytes) {
  if (bytes % (1 << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes) + " bytes";
}

}  // namespace

std::vector<uint8_t> read_blob(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw ImageError(what + ": '" + path + "' is a directory");
  std::ifstream f(path, std::ios::binary);
  if (!f) throw ImageError(what + ": cannot open '" + path + "'");
  // No guest can hold more than kRamLimit: refuse before reading a huge file.
  uint64_t size = std::filesystem::file_size(path, ec);
  if (!ec && size > kRamLimit)
    throw ImageError(what + ": '" + path + "' (" + std::to_string(size) +
                     " bytes) is larger than any guest memory");
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) throw ImageError(what + ": cannot read '" + path + "'");
  return data;
}

// ---- GuestLayout ---------------------------------------------------------------------

GuestLayout::GuestLayout(Machine& m)
    : ram_(m.mem().ram()), ram_size_(m.mem().ram_size()), e820_(e820_map(ram_size_)) {}

uint64_t GuestLayout::top() const {
  uint64_t t = 0;
  for (const Claim& c : claims_) t = std::max(t, c.hi);
  return t;
}

bool GuestLayout::usable(uint64_t lo, uint64_t hi) const {
  if (lo < 0x1000 || hi > ram_size_) return false;
  for (const E820Entry& e : e820_)
    if (e.type == E820Type::kUsable && lo >= e.base && hi <= e.base + e.size) return true;
  return false;
}

const GuestLayout::Claim* GuestLayout::overlap(uint64_t lo, uint64_t hi) const {
  for (const Claim& c : claims_)
    if (lo < c.hi && c.lo < hi) return &c;
  return nullptr;
}

void GuestLayout::claim(uint64_t addr, uint64_t size, const std::string& what) {
  if (size == 0) return;
  if (addr >= ram_size_ || size > ram_size_ - addr)
    throw ImageError(what + " at " + hex(addr) + " (" + std::to_string(size) +
                     " bytes) does not fit in guest memory (RAM is " + ram_text(ram_size_) + ")");
  const uint64_t hi = addr + size;
  if (addr < 0x1000)
    throw ImageError(what + " at " + span(addr, hi) +
                     " overlaps physical page 0 (real-mode IVT and BIOS data)");
  if (addr < kFirmwareEnd && hi > kFirmwareBase)
    throw ImageError(what + " at " + span(addr, hi) + " overlaps the firmware area " +
                     span(kFirmwareBase, kFirmwareEnd) + " (ACPI tables)");
  if (!usable(addr, hi))
    throw ImageError(what + " at " + span(addr, hi) +
                     " is not in usable RAM (the e820 map reserves " + span(kEbdaBase, kFirmwareBase) +
                     ": EBDA and legacy VGA/ROM hole)");
  if (const Claim* c = overlap(addr, hi))
    throw ImageError(what + " at " + span(addr, hi) + " overlaps " + c->what + " at " +
                     span(c->lo, c->hi));
  claims_.push_back({addr, hi, what});
}

void GuestLayout::load(uint64_t addr, const uint8_t* data, uint64_t n, uint64_t size,
                       const std::string& what) {
  claim(addr, size, what);
  if (size == 0) return;
  std::memcpy(ram_ + addr, data, n);
  std::memset(ram_ + addr + n, 0, size - n);
}

uint64_t GuestLayout::alloc(uint64_t size, uint64_t align, uint64_t lo, uint64_t hi, From from,
                            const std::string& what) {
  if (align == 0 || (align & (align - 1))) align = 1;
  const uint64_t need = std::max<uint64_t>(size, 1);
  // Free intervals: usable e820 ranges clipped to [lo, hi) and RAM, minus claims.
  std::vector<std::pair<uint64_t, uint64_t>> free;
  for (const E820Entry& e : e820_) {
    if (e.type != E820Type::kUsable) continue;
    uint64_t a = std::max({e.base, lo, uint64_t(0x1000)});
    uint64_t b = std::min({e.base + e.size, hi, ram_size_});
    if (a < b) free.push_back({a, b});
  }
  std::vector<Claim> sorted = claims_;
  std::sort(sorted.begin(), sorted.end(), [](const Claim& x, const Claim& y) { return x.lo < y.lo; });
  std::vector<std::pair<uint64_t, uint64_t>> pieces;
  for (auto [a, b] : free) {
    for (const Claim& c : sorted) {
      if (c.hi <= a || c.lo >= b) continue;
      if (c.lo > a) pieces.push_back({a, c.lo});
      a = std::max(a, c.hi);
      if (a >= b) break;
    }
    if (a < b) pieces.push_back({a, b});
  }
  auto fits = [&](uint64_t a, uint64_t b, uint64_t& at) {
    if (from == From::kBottom) {
      at = (a + align - 1) & ~(align - 1);
      return at >= a && at < b && need <= b - at;
    }
    if (need > b - a) return false;
    at = (b - need) & ~(align - 1);
    return at >= a;
  };
  uint64_t at = 0;
  bool found = false;
  if (from == From::kBottom) {
    for (auto [a, b] : pieces)
      if ((found = fits(a, b, at))) break;
  } else {
    for (auto it = pieces.rbegin(); it != pieces.rend() && !found; ++it) found = fits(it->first, it->second, at);
  }
  if (!found)
    throw ImageError(what + " (" + std::to_string(size) + " bytes) does not fit in free guest memory " +
                     span(std::max<uint64_t>(lo, 0x1000), std::min(hi, ram_size_)) + " (RAM is " +
                     ram_text(ram_size_) + ")");
  claim(at, size, what);
  return at;
}

uint64_t GuestLayout::alloc_above(uint64_t size, uint64_t align, const std::string& what, uint64_t max) {
  return alloc(size, align, std::max(top(), kHighRamBase), max, From::kBottom, what);
}

void GuestLayout::write(uint64_t addr, const void* src, uint64_t n) {
  if (addr > ram_size_ || n > ram_size_ - addr)
    throw ImageError("internal: loader write at " + hex(addr) + " outside RAM");
  std::memcpy(ram_ + addr, src, n);
}

uint64_t GuestLayout::put_string_low(const std::string& s, const std::string& what) {
  uint64_t a = alloc_low(s.size() + 1, 1, what);
  write(a, s.c_str(), s.size() + 1);
  return a;
}

// ---- ELF --------------------------------------------------------------------------

bool is_elf(const std::vector<uint8_t>& file) {
  return file.size() >= SELFMAG && std::memcmp(file.data(), ELFMAG, SELFMAG) == 0;
}

ElfImage parse_elf(const std::vector<uint8_t>& file) {
  if (file.size() < EI_NIDENT) {
    const size_t n = std::min<size_t>(file.size(), SELFMAG);
    if (n == 0 || std::memcmp(file.data(), ELFMAG, n) == 0)
      throw ImageError("image is truncated: no complete ELF header");
    throw ImageError("not an ELF image");
  }
  if (!is_elf(file)) throw ImageError("not an ELF image");
  ElfImage e;
  const unsigned cls = file[EI_CLASS];
  if (cls != ELFCLASS32 && cls != ELFCLASS64) throw ImageError("ELF image has an unknown class");
  e.is64 = cls == ELFCLASS64;
  if (file[EI_DATA] != ELFDATA2LSB) throw ImageError("ELF image is not little-endian");
  uint64_t phoff;
  unsigned phentsize, phnum;
  if (e.is64) {
    if (file.size() < sizeof(Elf64_Ehdr)) throw ImageError("image is truncated: no complete ELF header");
    Elf64_Ehdr h;
    std::memcpy(&h, file.data(), sizeof h);
    e.machine = h.e_machine, e.type = h.e_type, e.entry = h.e_entry;
    phoff = h.e_phoff, phentsize = h.e_phentsize, phnum = h.e_phnum;
    if (phentsize != sizeof(Elf64_Phdr)) throw ImageError("ELF program header size is wrong");
  } else {
    if (file.size() < sizeof(Elf32_Ehdr)) throw ImageError("image is truncated: no complete ELF header");
    Elf32_Ehdr h;
    std::memcpy(&h, file.data(), sizeof h);
    e.machine = h.e_machine, e.type = h.e_type, e.entry = h.e_entry;
    phoff = h.e_phoff, phentsize = h.e_phentsize, phnum = h.e_phnum;
    if (phentsize != sizeof(Elf32_Phdr)) throw ImageError("ELF program header size is wrong");
  }
  if (phnum == 0) throw ImageError("ELF image has no program headers");
  if (phoff > file.size() || uint64_t(phnum) * phentsize > file.size() - phoff)
    throw ImageError("image is truncated: program headers lie outside the file");
  for (unsigned i = 0; i < phnum; i++) {
    const uint8_t* p = file.data() + phoff + uint64_t(i) * phentsize;
    ElfSegment s;
    if (e.is64) {
      Elf64_Phdr ph;
      std::memcpy(&ph, p, sizeof ph);
      s = {ph.p_type, ph.p_flags, ph.p_offset, ph.p_vaddr, ph.p_paddr, ph.p_filesz, ph.p_memsz};
    } else {
      Elf32_Phdr ph;
      std::memcpy(&ph, p, sizeof ph);
      s = {ph.p_type, ph.p_flags, ph.p_offset, ph.p_vaddr, ph.p_paddr, ph.p_filesz, ph.p_memsz};
    }
    e.phdrs.push_back(s);
  }
  return e;
}

unsigned load_elf_segments(GuestLayout& l, const std::vector<uint8_t>& file, const ElfImage& e) {
  unsigned placed = 0;
  for (size_t i = 0; i < e.phdrs.size(); i++) {
    const ElfSegment& s = e.phdrs[i];
    if (s.type != PT_LOAD || s.memsz == 0) continue;
    const std::string name = "ELF segment " + std::to_string(i);
    if (s.filesz > s.memsz) throw ImageError(name + " has p_filesz > p_memsz");
    if (s.offset > file.size() || s.filesz > file.size() - s.offset)
      throw ImageError("image is truncated: the data of " + name + " lies outside the file");
    l.load(s.paddr, file.data() + s.offset, s.filesz, s.memsz, name);
    placed++;
  }
  return placed;
}

uint64_t elf_physical_entry(const ElfImage& e) {
  for (const ElfSegment& s : e.phdrs)
    if (s.type == PT_LOAD && e.entry >= s.vaddr && e.entry - s.vaddr < s.memsz)
      return e.entry - s.vaddr + s.paddr;
  for (const ElfSegment& s : e.phdrs)
    if (s.type == PT_LOAD && e.entry >= s.paddr && e.entry - s.paddr < s.memsz) return e.entry;
  throw ImageError("ELF entry point " + hex(e.entry) + " is not inside a loaded segment");
}

// ---- 32-bit flat entry ------------------------------------------------------------

void write_flat_gdt(GuestLayout& l, uint64_t addr) {
  // SDM Vol. 3A 3.4.5: base 0, limit 0xFFFFF with G=1, D/B=1, P=1, DPL 0, S=1;
  // type 0xB (code, execute/read, accessed) and 0x3 (data, read/write, accessed).
  const uint64_t gdt[4] = {0, 0, 0x00CF9B000000FFFFull, 0x00CF93000000FFFFull};
  l.write(addr, gdt, sizeof gdt);
}

void set_flat32_state(isa::Cpu& c, uint64_t gdt, uint32_t eip) {
  for (unsigned s = 0; s < 6; s++) c.seg[s] = {kFlatDataSel, 0xC093, 0xFFFFFFFF, 0};
  c.seg[isa::CS] = {kFlatCodeSel, 0xC09B, 0xFFFFFFFF, 0};
  c.ldtr = {0, 0x82, 0xFFFF, 0};
  c.tr = {0, 0x8B, 0xFFFF, 0};
  c.gdtr = {gdt, uint16_t(kFlatGdtBytes - 1)};
  c.idtr = {0, 0};
  c.cr0 = 0x11;  // PE, ET
  c.cr3 = c.cr4 = c.efer = 0;
  c.rflags = isa::FLAG_FIXED1;
  for (unsigned r = 0; r < 16; r++) c.r[r] = 0;
  c.rip() = eip;
}

// ---- ACPI -------------------------------------------------------------------------

uint64_t find_rsdp(Machine& m) {
  const uint64_t end = std::min<uint64_t>(kFirmwareEnd, m.mem().ram_size());
  const uint8_t* ram = m.mem().ram();
  for (uint64_t a = kFirmwareBase; a + 20 <= end; a += 16) {
    if (std::memcmp(ram + a, "RSD PTR ", 8) != 0) continue;
    uint8_t sum = 0;
    for (unsigned i = 0; i < 20; i++) sum += ram[a + i];
    if (sum == 0) return a;
  }
  return 0;
}

}  // namespace sim::boot
