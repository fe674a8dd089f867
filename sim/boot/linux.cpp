// The Linux x86 boot protocol (Documentation/x86/boot.rst, "THE LINUX/x86 BOOT
// PROTOCOL"), 32-bit entry ("32-bit BOOT PROTOCOL"): the protected-mode part of a
// bzImage goes to its load address, a zero page (struct boot_params) carries the
// setup header, command line, initrd and e820 map, and the CPU starts at the
// kernel's 32-bit entry in flat protected mode with paging off. The kernel's own
// decompressor (arch/x86/boot/compressed) does the rest.
//
// Placement goes through boot::GuestLayout (sim/boot/util.h): the kernel at its load
// address with init_size bytes claimed, the initrd as high as initrd_addr_max and RAM
// allow above the kernel, and in low memory (below the EBDA, highest first) the zero
// page, the command line and the flat GDT. The kernel's KASLR code keeps clear of
// all of them (arch/x86/boot/compressed/kaslr.c mem_avoid: initrd, command line,
// boot_params), and it copies boot_params and the command line before it reuses low
// memory.
#include <algorithm>
#include <cstring>
#include <string>

#include "sim/boot/boot.h"
#include "sim/boot/util.h"
#include "sim/machine.h"
#include "sim/memmap.h"

namespace sim {

namespace {

constexpr uint64_t kCmdlineMax = 0x10000;  // more than any kernel's cmdline_size

// struct boot_params offsets (arch/x86/include/uapi/asm/bootparam.h, boot.rst
// "THE ZERO PAGE" and "DETAILS OF HEADER FIELDS").
namespace bp {
constexpr unsigned kAcpiRsdpAddr = 0x070;
constexpr unsigned kExtRamdiskImage = 0x0C0;
constexpr unsigned kExtRamdiskSize = 0x0C4;
constexpr unsigned kExtCmdLinePtr = 0x0C8;
constexpr unsigned kE820Entries = 0x1E8;
constexpr unsigned kSetupHeader = 0x1F1;
constexpr unsigned kE820Table = 0x2D0;
constexpr unsigned kE820Max = 128;  // E820_MAX_ENTRIES_ZEROPAGE
}  // namespace bp

// Setup-header fields, by their offset in the image (= offset in the zero page).
namespace hdr {
constexpr unsigned kSetupSects = 0x1F1;   // u8, 0 means 4
constexpr unsigned kSyssize = 0x1F4;      // u32, 16-byte paragraphs
constexpr unsigned kBootFlag = 0x1FE;     // u16 0xAA55
constexpr unsigned kJump = 0x200;         // the header ends at 0x202 + byte 0x201
constexpr unsigned kMagic = 0x202;        // "HdrS"
constexpr unsigned kVersion = 0x206;      // u16
constexpr unsigned kTypeOfLoader = 0x210;  // u8
constexpr unsigned kLoadflags = 0x211;    // u8
constexpr unsigned kCode32Start = 0x214;  // u32
constexpr unsigned kRamdiskImage = 0x218;
constexpr unsigned kRamdiskSize = 0x21C;
constexpr unsigned kHeapEndPtr = 0x224;   // u16
constexpr unsigned kCmdLinePtr = 0x228;
constexpr unsigned kInitrdAddrMax = 0x22C;
constexpr unsigned kKernelAlignment = 0x230;
constexpr unsigned kRelocatable = 0x234;  // u8
constexpr unsigned kCmdlineSize = 0x238;
constexpr unsigned kPrefAddress = 0x258;  // u64
constexpr unsigned kInitSize = 0x260;     // u32
constexpr unsigned kEnd = 0x26C;          // end of the 2.15 header
}  // namespace hdr

constexpr uint8_t LOADED_HIGH = 0x01, CAN_USE_HEAP = 0x80;
constexpr uint16_t kMinVersion = 0x020C;  // 2.12: ext_* fields, xloadflags

template <typename T>
T get(const std::vector<uint8_t>& f, unsigned off) {
  T v{};
  if (off + sizeof(T) <= f.size()) std::memcpy(&v, f.data() + off, sizeof(T));
  return v;
}

template <typename T>
void put(uint8_t* zp, unsigned off, T v) {
  std::memcpy(zp + off, &v, sizeof(T));
}

using boot::hex;

std::string mib(uint64_t bytes) { return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB"; }

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

}  // namespace

bool is_bzimage(const std::vector<uint8_t>& file) {
  return file.size() >= hdr::kEnd && std::memcmp(file.data() + hdr::kMagic, "HdrS", 4) == 0;
}

LoadedImage load_linux(Machine& m, const std::vector<uint8_t>& file, const BootOptions& o) {
  if (!is_bzimage(file)) throw ImageError("not a Linux bzImage: no \"HdrS\" setup header at 0x202");
  const uint16_t version = get<uint16_t>(file, hdr::kVersion);
  if (version < kMinVersion)
    throw ImageError("Linux boot protocol " + std::to_string(version >> 8) + "." +
                     std::to_string(version & 0xFF) + " is too old (2.12 or later needed)");
  if (get<uint16_t>(file, hdr::kBootFlag) != 0xAA55)
    throw ImageError("not a Linux bzImage: boot_flag at 0x1fe is not 0xaa55");
  const uint8_t loadflags = get<uint8_t>(file, hdr::kLoadflags);
  if (!(loadflags & LOADED_HIGH))
    throw ImageError("Linux image is a zImage (loaded low), only bzImages are supported");

  // The protected-mode kernel follows the boot sector and setup_sects setup sectors.
  unsigned setup_sects = get<uint8_t>(file, hdr::kSetupSects);
  if (setup_sects == 0) setup_sects = 4;
  const uint64_t pm_offset = uint64_t(setup_sects + 1) * 512;
  if (pm_offset >= file.size()) throw ImageError("Linux image is truncated: no protected-mode kernel");
  const uint64_t pm_size = file.size() - pm_offset;
  const uint64_t syssize = uint64_t(get<uint32_t>(file, hdr::kSyssize)) * 16;
  if (syssize > pm_size)
    throw ImageError("Linux image is truncated: syssize says " + std::to_string(syssize) +
                     " bytes, the file has " + std::to_string(pm_size));

  // Load address (boot.rst "LOADING THE REST OF THE KERNEL", fields relocatable_kernel,
  // kernel_alignment, pref_address, init_size): a relocatable kernel goes to
  // pref_address when that is a kernel_alignment boundary at or above 1 MiB, else to
  // the first such boundary above 1 MiB; a fixed one to code32_start (1 MiB).
  // A relocatable kernel loaded below LOAD_PHYSICAL_ADDR (its pref_address) moves up
  // to it before decompressing (arch/x86/boot/compressed/head_64.S, startup_32), so
  // it needs RAM up to max(load, pref_address) + init_size whatever we choose.
  const uint64_t ram = m.mem().ram_size();
  const bool relocatable = get<uint8_t>(file, hdr::kRelocatable) != 0;
  uint64_t align = get<uint32_t>(file, hdr::kKernelAlignment);
  if (align == 0 || (align & (align - 1))) align = 0x200000;
  const uint64_t pref = get<uint64_t>(file, hdr::kPrefAddress);
  const uint64_t init_size = std::max<uint64_t>(get<uint32_t>(file, hdr::kInitSize), pm_size);
  uint64_t load;
  if (relocatable) {
    load = (pref >= kHighRamBase && pref % align == 0 && pref < kRamLimit) ? pref : align_up(kHighRamBase, align);
  } else {
    load = get<uint32_t>(file, hdr::kCode32Start);
    if (load != kHighRamBase)
      throw ImageError("Linux image is not relocatable and code32_start is " + hex(load) + ", not 0x100000");
  }
  const uint64_t run_at = relocatable ? std::max(load, pref) : load;
  const uint64_t kernel_end = run_at + init_size;
  if (kernel_end > ram)
    throw ImageError("Linux kernel needs " + mib(kernel_end) + " of RAM (it runs at " + hex(run_at) +
                     " with init_size " + hex(init_size) + "), RAM is " + mib(ram));

  // Command line (cmdline_size: longest string without its NUL).
  const uint64_t cmdline_size = std::min<uint64_t>(get<uint32_t>(file, hdr::kCmdlineSize), kCmdlineMax - 1);
  if (o.append.size() > cmdline_size)
    throw ImageError("kernel command line is " + std::to_string(o.append.size()) +
                     " bytes, the kernel accepts at most " + std::to_string(cmdline_size));
  if (o.append.find('\0') != std::string::npos) throw ImageError("kernel command line contains a NUL byte");

  boot::GuestLayout l(m);
  l.claim(load, kernel_end - load, "Linux kernel (init_size " + hex(init_size) + ")");
  l.write(load, file.data() + pm_offset, pm_size);

  // The initrd: as high as initrd_addr_max and RAM allow, page aligned, above the
  // kernel (boot.rst "initrd_addr_max": address of the last byte it may occupy).
  uint64_t initrd_addr = 0, initrd_size = 0;
  if (!o.initrd.empty()) {
    const std::vector<uint8_t> rd = boot::read_blob(o.initrd, "--initrd");
    if (rd.empty()) throw ImageError("--initrd: '" + o.initrd + "' is empty");
    const uint64_t top = std::min<uint64_t>(ram, uint64_t(get<uint32_t>(file, hdr::kInitrdAddrMax)) + 1);
    initrd_addr = l.alloc(rd.size(), 4096, kernel_end, top, boot::GuestLayout::From::kTop,
                          "--initrd '" + o.initrd + "'");
    initrd_size = rd.size();
    l.write(initrd_addr, rd.data(), rd.size());
  }

  const uint64_t zero_page = l.alloc_low(4096, 4096, "Linux zero page");
  const uint64_t cmdline = l.put_string_low(o.append, "kernel command line");
  const uint64_t gdt = l.alloc_low(boot::kFlatGdtBytes, 8, "GDT");
  boot::write_flat_gdt(l, gdt);

  // The zero page: zeroed, then the image's setup header copied in (boot.rst "THE
  // 32-bit BOOT PROTOCOL": "the boot loader ... fill[s] in the setup header as for the
  // 16-bit protocol"), then the fields a boot loader writes.
  std::vector<uint8_t> zero(4096);
  uint8_t* zp = zero.data();
  const unsigned hdr_end = std::min<unsigned>(0x202 + file[hdr::kJump + 1], 0x290);
  std::memcpy(zp + hdr::kSetupSects, file.data() + hdr::kSetupSects, hdr_end - hdr::kSetupSects);
  put<uint8_t>(zp, hdr::kTypeOfLoader, 0xFF);  // undefined loader
  put<uint8_t>(zp, hdr::kLoadflags, loadflags | CAN_USE_HEAP);
  put<uint16_t>(zp, hdr::kHeapEndPtr, 0xFE00);  // the 16-bit setup's heap: 64 KiB - 512 (unused here)
  put<uint32_t>(zp, hdr::kCode32Start, uint32_t(load));
  put<uint32_t>(zp, hdr::kCmdLinePtr, uint32_t(cmdline));
  put<uint32_t>(zp, bp::kExtCmdLinePtr, uint32_t(cmdline >> 32));
  put<uint32_t>(zp, hdr::kRamdiskImage, uint32_t(initrd_addr));
  put<uint32_t>(zp, hdr::kRamdiskSize, uint32_t(initrd_size));
  put<uint32_t>(zp, bp::kExtRamdiskImage, uint32_t(initrd_addr >> 32));
  put<uint32_t>(zp, bp::kExtRamdiskSize, uint32_t(initrd_size >> 32));
  // Optional (protocol 2.14); without it the kernel scans 0xE0000-0xFFFFF itself.
  put<uint64_t>(zp, bp::kAcpiRsdpAddr, boot::find_rsdp(m));
  const std::vector<E820Entry> map = e820_map(ram);
  const unsigned n = std::min<unsigned>(map.size(), bp::kE820Max);
  put<uint8_t>(zp, bp::kE820Entries, uint8_t(n));
  for (unsigned i = 0; i < n; i++) {
    put<uint64_t>(zp, bp::kE820Table + 20 * i, map[i].base);
    put<uint64_t>(zp, bp::kE820Table + 20 * i + 8, map[i].size);
    put<uint32_t>(zp, bp::kE820Table + 20 * i + 16, uint32_t(map[i].type));
  }
  l.write(zero_page, zero.data(), zero.size());

  // Entry state (boot.rst "32-bit BOOT PROTOCOL"): protected mode, paging off, GDT
  // with __BOOT_CS/__BOOT_DS, CS = 0x10, DS = ES = SS = 0x18, IF = 0, ESI = zero page,
  // EBP = EDI = EBX = 0.
  const uint32_t entry = uint32_t(load);
  m.reset_with([&](isa::Cpu& c) {
    boot::set_flat32_state(c, gdt, entry);
    c.r[isa::RSI] = zero_page;
    c.r[isa::RSP] = zero_page;  // no stack is promised; the decompressor sets its own
  });

  LoadedImage li;
  li.entry = entry;
  li.format = "linux";
  return li;
}

}  // namespace sim
