// Builds small boot images in memory for the boot-protocol tests: ELF32/ELF64 files
// with program headers, a Multiboot header, PT_NOTE segments; and a rig that writes
// them to temporary files (boot_image reads files) and reads guest memory.
#pragma once
#include <elf.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "sim/boot/boot.h"
#include "sim/machine.h"

namespace boottest {

constexpr uint32_t kMbMagic = 0x1BADB002;

struct Seg {
  uint64_t paddr;
  std::vector<uint8_t> data;
  uint64_t memsz = 0;  // 0: data.size()
  uint64_t vaddr = ~0ull;  // ~0: paddr
  uint32_t type = PT_LOAD;
};

// 12 bytes (or 32 with flag 16) of Multiboot header with a right checksum.
inline std::vector<uint8_t> mb_header(uint32_t flags, const std::vector<uint32_t>& addr_fields = {}) {
  std::vector<uint32_t> w = {kMbMagic, flags, uint32_t(0u - kMbMagic - flags)};
  w.insert(w.end(), addr_fields.begin(), addr_fields.end());
  std::vector<uint8_t> out(w.size() * 4);
  std::memcpy(out.data(), w.data(), out.size());
  return out;
}

// An ELF (class by `is64`) with `segs`; `prefix` bytes (e.g. a Multiboot header) go
// right after the program headers, before the segment data.
inline std::vector<uint8_t> make_elf(bool is64, uint16_t machine, uint64_t entry, const std::vector<Seg>& segs,
                                     const std::vector<uint8_t>& prefix = {}, uint16_t type = ET_EXEC) {
  const size_t eh = is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
  const size_t ph = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
  std::vector<uint8_t> out(eh + segs.size() * ph);
  out.insert(out.end(), prefix.begin(), prefix.end());
  std::vector<uint64_t> offsets;
  for (const Seg& s : segs) {
    offsets.push_back(out.size());
    out.insert(out.end(), s.data.begin(), s.data.end());
  }
  auto put = [&](size_t off, const void* p, size_t n) { std::memcpy(out.data() + off, p, n); };
  if (is64) {
    Elf64_Ehdr h{};
    std::memcpy(h.e_ident, ELFMAG, SELFMAG);
    h.e_ident[EI_CLASS] = ELFCLASS64;
    h.e_ident[EI_DATA] = ELFDATA2LSB;
    h.e_ident[EI_VERSION] = EV_CURRENT;
    h.e_type = type;
    h.e_machine = machine;
    h.e_version = EV_CURRENT;
    h.e_entry = entry;
    h.e_phoff = eh;
    h.e_ehsize = eh;
    h.e_phentsize = ph;
    h.e_phnum = uint16_t(segs.size());
    put(0, &h, sizeof h);
    for (size_t i = 0; i < segs.size(); i++) {
      Elf64_Phdr p{};
      p.p_type = segs[i].type;
      p.p_flags = PF_R | PF_W | PF_X;
      p.p_offset = offsets[i];
      p.p_paddr = segs[i].paddr;
      p.p_vaddr = segs[i].vaddr == ~0ull ? segs[i].paddr : segs[i].vaddr;
      p.p_filesz = segs[i].data.size();
      p.p_memsz = segs[i].memsz ? segs[i].memsz : segs[i].data.size();
      p.p_align = 4;
      put(eh + i * ph, &p, sizeof p);
    }
  } else {
    Elf32_Ehdr h{};
    std::memcpy(h.e_ident, ELFMAG, SELFMAG);
    h.e_ident[EI_CLASS] = ELFCLASS32;
    h.e_ident[EI_DATA] = ELFDATA2LSB;
    h.e_ident[EI_VERSION] = EV_CURRENT;
    h.e_type = type;
    h.e_machine = machine;
    h.e_version = EV_CURRENT;
    h.e_entry = uint32_t(entry);
    h.e_phoff = uint32_t(eh);
    h.e_ehsize = uint16_t(eh);
    h.e_phentsize = uint16_t(ph);
    h.e_phnum = uint16_t(segs.size());
    put(0, &h, sizeof h);
    for (size_t i = 0; i < segs.size(); i++) {
      Elf32_Phdr p{};
      p.p_type = segs[i].type;
      p.p_flags = PF_R | PF_W | PF_X;
      p.p_offset = uint32_t(offsets[i]);
      p.p_paddr = uint32_t(segs[i].paddr);
      p.p_vaddr = uint32_t(segs[i].vaddr == ~0ull ? segs[i].paddr : segs[i].vaddr);
      p.p_filesz = uint32_t(segs[i].data.size());
      p.p_memsz = uint32_t(segs[i].memsz ? segs[i].memsz : segs[i].data.size());
      p.p_align = 4;
      put(eh + i * ph, &p, sizeof p);
    }
  }
  return out;
}

// A Multiboot ELF32 (EM_386) kernel: header after the program headers.
inline std::vector<uint8_t> mb_elf32(uint64_t entry, const std::vector<Seg>& segs, uint32_t flags = 0) {
  return make_elf(false, EM_386, entry, segs, mb_header(flags));
}
inline std::vector<uint8_t> mb_elf64(uint64_t entry, const std::vector<Seg>& segs, uint32_t flags = 0) {
  return make_elf(true, EM_X86_64, entry, segs, mb_header(flags));
}

// An a.out-kludge image: the header (flag 16) at file offset `hdr_off` of a file
// loaded at `load_addr`; `body` follows the header.
inline std::vector<uint8_t> mb_aout(uint32_t load_addr, const std::vector<uint8_t>& body, uint32_t bss = 0,
                                    uint32_t entry_off = 32, uint32_t hdr_off = 0, uint32_t flags = 1u << 16) {
  std::vector<uint8_t> out(hdr_off);
  const uint32_t size = hdr_off + 32 + uint32_t(body.size());
  auto h = mb_header(flags, {load_addr + hdr_off, load_addr, load_addr + size, bss ? load_addr + size + bss : 0,
                             load_addr + entry_off});
  out.insert(out.end(), h.begin(), h.end());
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

inline void set32(std::vector<uint8_t>& f, size_t off, uint32_t v) { std::memcpy(f.data() + off, &v, 4); }

// Temporary files and a machine to boot them in.
struct Rig {
  sim::Machine m;
  std::vector<std::string> files;
  explicit Rig(uint64_t ram = 16 << 20) : m(config(ram)) {}
  ~Rig() { remove_files(); }
  void remove_files() {
    for (const std::string& f : files) ::unlink(f.c_str());
    files.clear();
  }
  static sim::MachineConfig config(uint64_t ram) {
    sim::MachineConfig c;
    c.ram_bytes = ram;
    return c;
  }
  std::string file(const std::vector<uint8_t>& bytes) {
    char name[] = "/tmp/nestsim-boot-XXXXXX";
    int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, bytes.data(), bytes.size()) == ssize_t(bytes.size()));
    ::close(fd);
    files.push_back(name);
    return name;
  }
  sim::LoadedImage boot(const std::vector<uint8_t>& image, sim::BootOptions o = {}) {
    o.path = file(image);
    return sim::boot_image(m, o);
  }
  // The ImageError message of booting `image`, "" when it loads.
  std::string error(const std::vector<uint8_t>& image, sim::BootOptions o = {}) {
    try {
      boot(image, o);
    } catch (const sim::ImageError& e) {
      return e.what();
    }
    return "";
  }
  uint8_t* ram() { return m.mem().ram(); }
  uint32_t r32(uint64_t pa) { uint32_t v; std::memcpy(&v, ram() + pa, 4); return v; }
  uint64_t r64(uint64_t pa) { uint64_t v; std::memcpy(&v, ram() + pa, 8); return v; }
  std::string str(uint64_t pa) { return std::string(reinterpret_cast<const char*>(ram() + pa)); }
};

}  // namespace boottest
