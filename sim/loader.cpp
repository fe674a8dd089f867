#include "sim/loader.h"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>

#include "sim/machine.h"
#include "sim/sha256.h"

namespace sim {

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw ImageError("cannot open image '" + path + "'");
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) throw ImageError("cannot read image '" + path + "'");
  return data;
}


LoadedImage load_elf64(Machine& m, const std::vector<uint8_t>& file) {
  if (file.size() < sizeof(Elf64_Ehdr)) throw ImageError("image is truncated: no complete ELF header");
  Elf64_Ehdr eh;
  std::memcpy(&eh, file.data(), sizeof eh);
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) throw ImageError("not an ELF image");
  if (eh.e_ident[EI_CLASS] != ELFCLASS64)
    throw ImageError("ELF32 images need the Multiboot loader (not available before issue 4)");
  if (eh.e_ident[EI_DATA] != ELFDATA2LSB) throw ImageError("ELF image is not little-endian");
  if (eh.e_machine != EM_X86_64) throw ImageError("ELF image is not for x86-64");
  if (eh.e_type != ET_EXEC) throw ImageError("ELF image is not an executable (ET_EXEC)");
  if (eh.e_phentsize != sizeof(Elf64_Phdr)) throw ImageError("ELF program header size is wrong");
  if (eh.e_phnum == 0) throw ImageError("ELF image has no program headers");
  if (eh.e_phoff > file.size() || uint64_t(eh.e_phnum) * sizeof(Elf64_Phdr) > file.size() - eh.e_phoff)
    throw ImageError("image is truncated: program headers lie outside the file");

  struct Range { uint64_t lo, hi; };
  std::vector<Range> used = {{kLoaderPml4, kLoaderTablesEnd}};
  uint64_t ram = m.mem().ram_size();
  bool entry_ok = false;
  for (unsigned i = 0; i < eh.e_phnum; i++) {
    Elf64_Phdr ph;
    std::memcpy(&ph, file.data() + eh.e_phoff + i * sizeof ph, sizeof ph);
    if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
    if (ph.p_filesz > ph.p_memsz) throw ImageError("ELF segment has p_filesz > p_memsz");
    if (ph.p_offset > file.size() || ph.p_filesz > file.size() - ph.p_offset)
      throw ImageError("image is truncated: a segment's data lies outside the file");
    if (ph.p_paddr >= ram || ph.p_memsz > ram - ph.p_paddr)
      throw ImageError("image does not fit in guest memory: segment at 0x" +
                       [&] { char b[32]; snprintf(b, sizeof b, "%llx", (unsigned long long)ph.p_paddr); return std::string(b); }() +
                       " needs " + std::to_string(ph.p_memsz) + " bytes, RAM is " +
                       std::to_string(ram >> 20) + " MiB");
    Range r{ph.p_paddr, ph.p_paddr + ph.p_memsz};
    for (const Range& u : used)
      if (r.lo < u.hi && u.lo < r.hi)
        throw ImageError(u.lo == kLoaderPml4 ? "ELF segment overlaps the loader's page tables (0x1000-0x2fff)"
                                              : "ELF segments overlap");
    used.push_back(r);
    std::memcpy(m.mem().ram() + ph.p_paddr, file.data() + ph.p_offset, ph.p_filesz);
    std::memset(m.mem().ram() + ph.p_paddr + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
    if (eh.e_entry >= ph.p_paddr && eh.e_entry < ph.p_paddr + ph.p_memsz) entry_ok = true;
  }
  if (used.size() == 1) throw ImageError("ELF image has no loadable segments");
  if (!entry_ok) throw ImageError("ELF entry point is not inside a loaded segment");
  m.reset_long_mode(eh.e_entry, kLoaderStack);
  LoadedImage li;
  li.entry = eh.e_entry;
  li.format = "elf64";
  return li;
}

LoadedImage load_image(Machine& m, const std::string& path) {
  std::vector<uint8_t> file = read_file(path);
  if (file.empty()) throw ImageError("image '" + path + "' is empty");
  LoadedImage li;
  if (file.size() >= 4 && std::memcmp(file.data(), ELFMAG, SELFMAG) == 0) {
    li = load_elf64(m, file);
  } else {
    throw ImageError("unknown image format (expected an ELF64 executable)");
  }
  li.sha256 = sha256_hex(file.data(), file.size());
  li.bytes = file.size();
  return li;
}

}  // namespace sim
