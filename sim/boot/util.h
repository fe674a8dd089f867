// Helpers shared by the boot loaders (sim/boot/*.cpp; internal to sim/boot/):
// placing bytes in guest RAM with the checks every protocol needs, an allocator for
// hand-over structures, ELF program headers, the flat 32-bit entry state.
//
// GuestLayout invariants (what "placed" means for every loader):
//   - each claimed range lies in RAM, inside one range the e820 map (sim/memmap.h)
//     reports usable, and outside physical page 0 (real-mode IVT and BIOS data):
//     so never in the EBDA, the legacy hole 0xA0000-0xDFFFF or the firmware area
//     0xE0000-0xFFFFF where the ACPI tables live;
//   - claimed ranges never overlap one another;
//   - every failure is an ImageError with one line naming what was being placed.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "isa/cpu.h"
#include "sim/loader.h"
#include "sim/memmap.h"

namespace sim {
class Machine;
}

namespace sim::boot {

// "0x1f" (lower-case hex), for messages.
std::string hex(uint64_t v);

// A little-endian field of a file: throws ImageError("image is truncated: <what>")
// when [off, off+sizeof(T)) is not inside `f`.
template <class T>
T get(const std::vector<uint8_t>& f, uint64_t off, const char* what) {
  if (off > f.size() || sizeof(T) > f.size() - off)
    throw ImageError(std::string("image is truncated: ") + what + " lies outside the file");
  T v;
  std::memcpy(&v, f.data() + off, sizeof v);
  return v;
}

// Reads a module or initrd file; errors name `what` (e.g. "--initrd").
std::vector<uint8_t> read_blob(const std::string& path, const std::string& what);

class GuestLayout {
 public:
  struct Claim {
    uint64_t lo, hi;  // [lo, hi)
    std::string what;
  };
  enum class From { kBottom, kTop };  // allocation: lowest or highest free address first

  explicit GuestLayout(Machine& m);

  uint64_t ram_size() const { return ram_size_; }
  const std::vector<Claim>& claims() const { return claims_; }
  // The end of the highest claim (0 when nothing is claimed).
  uint64_t top() const;

  // Checks [addr, addr+size) against the invariants above and records it.
  void claim(uint64_t addr, uint64_t size, const std::string& what);
  // claim(addr, size) and copy `n` bytes of `data` there, zeroing the rest (BSS).
  void load(uint64_t addr, const uint8_t* data, uint64_t n, uint64_t size, const std::string& what);
  // Finds `size` free bytes aligned to `align` (a power of two) inside [lo, hi) in
  // usable memory, claims them and returns the address. `size` 0 claims nothing
  // and returns an aligned free address. Throws "<what> (N bytes) does not fit ...".
  uint64_t alloc(uint64_t size, uint64_t align, uint64_t lo, uint64_t hi, From from,
                 const std::string& what);
  // Low memory 0x1000..kEbdaBase, highest first: hand-over structures (MBI,
  // command lines, GDT, zero page) stay far from kernels at 1 MiB and from the
  // low pages small kernels take for their own tables.
  uint64_t alloc_low(uint64_t size, uint64_t align, const std::string& what) {
    return alloc(size, align, 0x1000, kEbdaBase, From::kTop, what);
  }
  // High memory from 1 MiB, above every claim made so far (like QEMU's modules
  // after the kernel), below `max` (exclusive).
  uint64_t alloc_above(uint64_t size, uint64_t align, const std::string& what,
                       uint64_t max = ~0ull);

  // Raw writes into claimed RAM (bounds-checked against RAM only).
  void write(uint64_t addr, const void* src, uint64_t n);
  template <class T>
  void put(uint64_t addr, T v) {
    write(addr, &v, sizeof v);
  }
  // Allocates `s` + NUL in low memory and writes it there.
  uint64_t put_string_low(const std::string& s, const std::string& what);

 private:
  uint8_t* ram_;
  uint64_t ram_size_;
  std::vector<E820Entry> e820_;
  std::vector<Claim> claims_;
  bool usable(uint64_t lo, uint64_t hi) const;
  const Claim* overlap(uint64_t lo, uint64_t hi) const;
};

// ELF32 and ELF64 headers in one form (the fields loaders use).
struct ElfSegment {
  uint32_t type, flags;
  uint64_t offset, vaddr, paddr, filesz, memsz;
};
struct ElfImage {
  bool is64 = false;
  uint16_t machine = 0, type = 0;
  uint64_t entry = 0;
  std::vector<ElfSegment> phdrs;  // every program header, in file order
};
bool is_elf(const std::vector<uint8_t>& file);
// Checks the ELF header (little-endian, version, class, phentsize, program headers
// inside the file) and returns it; e_machine and e_type are for the caller to judge.
ElfImage parse_elf(const std::vector<uint8_t>& file);
// Places every PT_LOAD with p_memsz > 0 at p_paddr (BSS zeroed) through `l`,
// after checking p_filesz <= p_memsz and the data inside the file. Returns the
// number of segments placed (0 is an error for the caller to report).
unsigned load_elf_segments(GuestLayout& l, const std::vector<uint8_t>& file, const ElfImage& e);
// The physical entry point: e_entry translated through the PT_LOAD segment whose
// virtual range holds it (as GRUB 2 does for higher-half kernels), else e_entry
// itself when a segment's physical range holds it; otherwise ImageError.
uint64_t elf_physical_entry(const ElfImage& e);

// The flat 32-bit GDT the 32-bit protocols hand over (QEMU's and Linux's layout):
// 0x00 null, 0x08 null, 0x10 code (base 0, limit 4 GiB, execute/read, D=1),
// 0x18 data (base 0, limit 4 GiB, read/write, B=1).
constexpr uint16_t kFlatCodeSel = 0x10;
constexpr uint16_t kFlatDataSel = 0x18;
constexpr unsigned kFlatGdtBytes = 32;
// Writes that GDT at `addr` (8-byte aligned, kFlatGdtBytes claimed by the caller).
void write_flat_gdt(GuestLayout& l, uint64_t addr);
// The entry state of the 32-bit protocols (Multiboot 0.6.96 3.2, Linux boot.rst
// "32-bit BOOT PROTOCOL", PVH): CS = kFlatCodeSel and DS/ES/FS/GS/SS = kFlatDataSel
// with their caches loaded flat (base 0, limit 4 GiB, accessed), GDTR = {gdt,
// kFlatGdtBytes-1}, IDTR = {0, 0}, CR0 = PE|ET, CR3 = CR4 = EFER = 0, EFLAGS = 0x2,
// TR/LDTR as after reset (SDM Vol. 3A 9.1.1), EIP = eip, general registers 0;
// the caller sets EAX/EBX/ESI/ESP after.
void set_flat32_state(isa::Cpu& c, uint64_t gdt, uint32_t eip);

// The physical address of the ACPI RSDP ("RSD PTR " on a 16-byte boundary with a
// valid ACPI 1.0 checksum in 0xE0000-0xFFFFF, ACPI 6.4 5.2.5.1), 0 if none.
uint64_t find_rsdp(Machine& m);

}  // namespace sim::boot
