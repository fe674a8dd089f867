#include "sim/loader.h"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "sim/boot/boot.h"
#include "sim/boot/util.h"
#include "sim/machine.h"
#include "sim/memmap.h"

namespace sim {

std::vector<uint8_t> read_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw ImageError("image '" + path + "' is a directory");
  std::ifstream f(path, std::ios::binary);
  if (!f) throw ImageError("cannot open image '" + path + "'");
  // No guest holds more than kRamLimit: refuse before reading a huge file.
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (!ec && size > kRamLimit)
    throw ImageError("image '" + path + "' (" + std::to_string(size) + " bytes) is larger than any guest memory");
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) throw ImageError("cannot read image '" + path + "'");
  return data;
}


LoadedImage load_elf64(Machine& m, const std::vector<uint8_t>& file) {
  if (boot::is_elf(file) && file.size() > EI_CLASS && file[EI_CLASS] == ELFCLASS32) {
    try {
      boot::parse_elf(file);  // a cut-off file says so first
    } catch (const ImageError& e) {
      if (std::strstr(e.what(), "truncated")) throw;
    }
    throw ImageError("ELF32 images need a Multiboot header (this loader is for ELF64)");
  }
  boot::ElfImage e = boot::parse_elf(file);
  if (e.machine != EM_X86_64) throw ImageError("ELF image is not for x86-64");
  if (e.type != ET_EXEC) throw ImageError("ELF image is not an executable (ET_EXEC)");
  boot::GuestLayout l(m);
  l.claim(kLoaderPml4, kLoaderTablesEnd - kLoaderPml4, "the loader's page tables");
  if (boot::load_elf_segments(l, file, e) == 0) throw ImageError("ELF image has no loadable segments");
  // Identity paging: the entry is a physical address inside a segment.
  bool entry_ok = false;
  for (const boot::ElfSegment& s : e.phdrs)
    if (s.type == PT_LOAD && e.entry >= s.paddr && e.entry - s.paddr < s.memsz) entry_ok = true;
  if (!entry_ok) throw ImageError("ELF entry point " + boot::hex(e.entry) + " is not inside a loaded segment");
  m.reset_long_mode(e.entry, kLoaderStack);
  LoadedImage li;
  li.entry = e.entry;
  li.format = "elf64";
  return li;
}

LoadedImage load_image(Machine& m, const std::string& path) {
  BootOptions o;
  o.path = path;
  return boot_image(m, o);
}

}  // namespace sim
