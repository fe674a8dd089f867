// boot_image (format detection, options per format), flat binaries in their three
// entry modes, PVH entry, and the GuestLayout rules every loader shares.
#include <catch2/catch.hpp>

#include <random>

#include "sim/boot/util.h"
#include "sim/loader.h"
#include "sim/memmap.h"
#include "sim/sha256.h"
#include "tests/boot/images.h"
#include "tests/sys/harness.h"

using boottest::Rig;
using boottest::Seg;

namespace {

const std::vector<uint8_t> kCode = {0x90, 0x90, 0xF4, 0xEB, 0xFD};

bool has(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// An ELF64 vmlinux-like image with a Xen PHYS32_ENTRY note (`desc` 4 or 8 bytes).
std::vector<uint8_t> pvh_elf(uint64_t entry, unsigned descsz = 8) {
  std::vector<uint8_t> note(12 + 4 + descsz);
  const uint32_t hdr[3] = {4, descsz, 18};
  std::memcpy(note.data(), hdr, 12);
  std::memcpy(note.data() + 12, "Xen", 4);
  std::memcpy(note.data() + 16, &entry, descsz);
  // A note of another owner first: it must be skipped.
  std::vector<uint8_t> other(12 + 4 + 4);
  const uint32_t ohdr[3] = {4, 4, 18};
  std::memcpy(other.data(), ohdr, 12);
  std::memcpy(other.data() + 12, "GNU", 4);
  other.insert(other.end(), note.begin(), note.end());
  return boottest::make_elf(true, EM_X86_64, 0xFFFFFFFF81000000ull,
                            {{0x1000000, kCode, 0x3000, 0xFFFFFFFF81000000ull}, {0, other, 0, ~0ull, PT_NOTE}});
}

}  // namespace

TEST_CASE("boot_image detects the format and records the file's identity", "[boot]") {
  Rig r(64 << 20);
  auto elf64 = boottest::make_elf(true, EM_X86_64, 0x100000, {{0x100000, kCode}});
  sim::LoadedImage li = r.boot(elf64);
  CHECK(li.format == "elf64");
  CHECK(li.bytes == elf64.size());
  CHECK(li.sha256 == sim::sha256_hex(elf64.data(), elf64.size()));
  CHECK(r.m.cpu().long64);
  CHECK(r.boot(boottest::mb_elf64(0x100000, {{0x100000, kCode}})).format == "multiboot");
  CHECK(r.boot(pvh_elf(0x1000000)).format == "pvh");
  // load_image is boot_image with default options.
  CHECK(sim::load_image(r.m, r.file(elf64)).format == "elf64");
  // Unknown bytes, empty files, missing files, directories.
  CHECK(has(r.error({'h', 'e', 'l', 'l', 'o'}), "unknown image format"));
  CHECK(has(r.error({}), "is empty"));
  sim::BootOptions o;
  o.path = "/nonexistent.elf";
  CHECK_THROWS_WITH(sim::boot_image(r.m, o), Catch::Contains("cannot open image"));
  o.path = "/tmp";
  CHECK_THROWS_WITH(sim::boot_image(r.m, o), Catch::Contains("is a directory"));
  // ELF32 without a Multiboot header.
  CHECK(has(r.error(boottest::make_elf(false, EM_386, 0x100000, {{0x100000, kCode}})), "Multiboot header"));
}

TEST_CASE("boot_image refuses options the format does not use", "[boot]") {
  Rig r;
  auto mb = boottest::mb_elf32(0x100000, {{0x100000, kCode}});
  auto elf64 = boottest::make_elf(true, EM_X86_64, 0x100000, {{0x100000, kCode}});
  sim::BootOptions o;
  o.format = "nonsense";
  CHECK(has(r.error(mb, o), "--format: unknown format 'nonsense'"));
  o = {};
  o.initrd = "/etc/hostname";
  CHECK(has(r.error(mb, o), "--initrd is for Linux and PVH"));
  o = {};
  o.modules = {"/etc/hostname"};
  CHECK(has(r.error(elf64, o), "--module is for Multiboot"));
  o = {};
  o.append = "x";
  CHECK(has(r.error(elf64, o), "--append"));
  o = {};
  o.entry_mode = "real";
  CHECK(has(r.error(mb, o), "--format flat"));
  o = {};
  o.format = "elf64";
  CHECK(has(r.error(mb, o), "ELF32"));  // forced format: that loader's own message
}

TEST_CASE("flat binaries: real, prot32 and long entry states", "[boot]") {
  sim::BootOptions o;
  o.format = "flat";
  SECTION("long (the ELF64 contract's paging, a stack page in low memory)") {
    Rig r;
    o.load_addr = 0x200000;
    o.entry = 0x200002;
    sim::LoadedImage li = r.boot(kCode, o);
    CHECK(li.format == "flat");
    CHECK(li.entry == 0x200002);
    CHECK(std::memcmp(r.ram() + 0x200000, kCode.data(), kCode.size()) == 0);
    isa::Cpu& c = r.m.cpu();
    CHECK(c.long64);
    CHECK(c.rip() == 0x200002);
    CHECK(c.cr3 == sim::kLoaderPml4);
    CHECK(c.seg[isa::CS].selector == 0x08);
    CHECK(c.r[isa::RSP] % 0x1000 == 0);
    CHECK(c.r[isa::RSP] <= sim::kEbdaBase);
    CHECK(c.r[isa::RSP] > 0x3000);
  }
  SECTION("prot32") {
    Rig r;
    o.entry_mode = "prot32";
    r.boot(kCode, o);
    isa::Cpu& c = r.m.cpu();
    CHECK(!c.long64);
    CHECK(c.rip() == 0x100000);
    CHECK(c.cr0 == 0x11);
    CHECK(c.seg[isa::CS].selector == 0x10);
    CHECK(c.seg[isa::SS].selector == 0x18);
    CHECK(c.gdtr.limit == 31);
    CHECK(r.r64(c.gdtr.base + 0x10) == 0x00CF9B000000FFFFull);
    CHECK(c.r[isa::RSP] % 0x1000 == 0);
    CHECK(c.get_rflags() == 2);
  }
  SECTION("real (a boot-sector style image at 0x7C00 and one at 0x12340)") {
    Rig r;
    o.entry_mode = "real";
    o.load_addr = 0x7C00;
    r.boot(kCode, o);
    isa::Cpu& c = r.m.cpu();
    CHECK(!c.protected_mode());
    CHECK(c.seg[isa::CS].selector == 0);
    CHECK(c.rip() == 0x7C00);
    CHECK(c.idtr.limit == 0x3FF);
    CHECK(c.seg[isa::SS].base + c.r[isa::RSP] <= sim::kEbdaBase);
    CHECK(c.seg[isa::SS].base == uint64_t(c.seg[isa::SS].selector) << 4);
    CHECK(c.r[isa::RSP] <= 0xFFFF + 1);
    o.load_addr = 0x12340;
    r.boot(kCode, o);
    CHECK(r.m.cpu().seg[isa::CS].selector == 0x1000);
    CHECK(r.m.cpu().seg[isa::CS].base == 0x10000);
    CHECK(r.m.cpu().rip() == 0x2340);
  }
  SECTION("bad placements and entries") {
    Rig r(4 << 20);
    o.load_addr = 0xE0000;
    CHECK(has(r.error(kCode, o), "firmware area"));
    o.load_addr = 0x1000;  // long mode: over the page tables
    CHECK(has(r.error(kCode, o), "page tables"));
    o.load_addr = 0x3FFFFE;
    CHECK(has(r.error(kCode, o), "does not fit"));
    o.load_addr = 0x100000;
    o.entry = 0x100005;
    CHECK(has(r.error(kCode, o), "--entry 0x100005 is outside"));
    o.entry = ~0ull;
    o.entry_mode = "real";
    CHECK(has(r.error(kCode, o), "real mode"));
    o.entry_mode = "v86";
    CHECK(has(r.error(kCode, o), "--entry-mode"));
  }
}

TEST_CASE("PVH: hvm_start_info, memory map, command line, initrd, RSDP", "[boot][pvh]") {
  Rig r(64 << 20);
  Rig files;
  // An RSDP (ACPI 6.4 5.2.5.3) in the firmware area, as the platform writes it.
  uint8_t rsdp[20] = {'R', 'S', 'D', ' ', 'P', 'T', 'R', ' '};
  uint8_t sum = 0;
  for (uint8_t b : rsdp) sum += b;
  rsdp[8] = uint8_t(-sum);
  const uint64_t found_before = sim::boot::find_rsdp(r.m);
  if (!found_before) std::memcpy(r.ram() + 0xF0000, rsdp, sizeof rsdp);
  sim::BootOptions o;
  o.append = "console=ttyS0";
  std::vector<uint8_t> rd(10000, 0x33);
  o.initrd = files.file(rd);
  sim::LoadedImage li = r.boot(pvh_elf(0x1000002), o);
  CHECK(li.entry == 0x1000002);
  isa::Cpu& c = r.m.cpu();
  CHECK(c.rip() == 0x1000002);
  CHECK(c.cr0 == 0x11);
  CHECK(c.cr4 == 0);
  CHECK(c.tr.limit == 0x67);
  CHECK(c.seg[isa::CS].selector == 0x10);
  const uint64_t si = c.r[isa::RBX];
  CHECK(si >= 0x1000);
  CHECK(r.r32(si) == 0x336ec578);
  CHECK(r.r32(si + 4) == 1);
  CHECK(r.r32(si + 8) == 0);
  REQUIRE(r.r32(si + 12) == 1);
  const uint64_t mod = r.r64(si + 16);
  CHECK(r.r64(mod + 8) == rd.size());
  CHECK(r.r64(mod) % 4096 == 0);
  CHECK(r.r64(mod) >= 0x1003000);  // above the kernel
  CHECK(r.ram()[r.r64(mod) + rd.size() - 1] == 0x33);
  CHECK(r.str(r.r64(si + 24)) == "console=ttyS0");
  CHECK(r.r64(si + 32) == (found_before ? found_before : 0xF0000));
  const auto map = sim::e820_map(64 << 20);
  REQUIRE(r.r32(si + 48) == map.size());
  for (size_t i = 0; i < map.size(); i++) {
    const uint64_t e = r.r64(si + 40) + 24 * i;
    CHECK(r.r64(e) == map[i].base);
    CHECK(r.r64(e + 8) == map[i].size);
    CHECK(r.r32(e + 16) == uint32_t(map[i].type));
  }
  // A 4-byte note works too; no command line gives cmdline_paddr 0.
  Rig r2(64 << 20);
  r2.boot(pvh_elf(0x1000000, 4));
  CHECK(r2.m.cpu().rip() == 0x1000000);
  CHECK(r2.r64(r2.m.cpu().r[isa::RBX] + 24) == 0);
  CHECK(r2.r32(r2.m.cpu().r[isa::RBX] + 12) == 0);
  // Errors: entry outside, no note when forced, initrd too large.
  CHECK(has(r2.error(pvh_elf(0x2000000)), "PVH entry point"));
  sim::BootOptions pvh;
  pvh.format = "pvh";
  CHECK(has(r2.error(boottest::make_elf(true, EM_X86_64, 0x100000, {{0x100000, kCode}}), pvh), "no PVH entry"));
  pvh.initrd = files.file(std::vector<uint8_t>(70 << 20, 1));
  CHECK(has(r2.error(pvh_elf(0x1000000), pvh), "--initrd"));
}

TEST_CASE("GuestLayout: claims, allocation from the top of low memory and above the image", "[boot]") {
  Rig r(4 << 20);
  sim::boot::GuestLayout l(r.m);
  l.claim(0x100000, 0x1000, "A");
  CHECK_THROWS_WITH(l.claim(0x100800, 0x1000, "B"), Catch::Contains("B at 0x100800-0x1017ff overlaps A at 0x100000-0x100fff"));
  CHECK(l.alloc_low(0x100, 16, "x") == sim::kEbdaBase - 0x100);
  CHECK(l.alloc_low(0x10, 0x1000, "y") == ((sim::kEbdaBase - 0x100 - 0x10) & ~0xFFFull));
  CHECK(l.alloc_above(0x10, 0x1000, "z") == 0x101000);
  CHECK_THROWS_WITH(l.alloc_above(4 << 20, 0x1000, "huge"), Catch::Contains("huge (4194304 bytes) does not fit"));
  CHECK_THROWS_WITH(l.claim(~0ull - 4, 16, "wrap"), Catch::Contains("does not fit"));
  l.claim(0x200000, 0, "empty");  // nothing to claim
  CHECK(l.top() == 0x101010);
}

TEST_CASE("boot_image survives random mutations of PVH, ELF64 and Multiboot images", "[boot]") {
  // Auto-detection included: each mutated image loads (entry in RAM) or is refused
  // with an ImageError, whatever the detector makes of it.
  const std::vector<std::vector<uint8_t>> seeds = {
      pvh_elf(0x1000000),
      boottest::make_elf(true, EM_X86_64, 0x100000, {{0x100000, kCode, 0x2000}}),
      boottest::mb_elf64(0x100000, {{0x100000, kCode, 0x1000}}),
  };
  Rig r(32 << 20);
  std::mt19937_64 rng(4);
  const uint64_t words[] = {0, 1, ~0ull, 0x80000000, 0x1000000, 0xE0000, 0x1FFF000, 18, 4, 8};
  unsigned loaded = 0, refused = 0;
  for (unsigned iter = 0; iter < 3000; iter++) {
    std::vector<uint8_t> img = seeds[iter % seeds.size()];
    for (unsigned k = 0, n = 1 + rng() % 4; k < n; k++) {
      const size_t off = rng() % img.size();
      if (rng() % 2 && off + 8 <= img.size()) {
        const uint64_t w = words[rng() % std::size(words)];
        std::memcpy(img.data() + off, &w, rng() % 2 ? 4 : 8);
      } else {
        img[off] = uint8_t(rng());
      }
    }
    try {
      sim::LoadedImage li = r.boot(img);
      CHECK(li.entry < r.m.mem().ram_size());
      loaded++;
    } catch (const sim::ImageError&) {
      refused++;
    }
    r.remove_files();
  }
  CHECK(loaded > 100);
  CHECK(refused > 100);
}

TEST_CASE("flat binaries run in each entry mode: stack, segments, exit device", "[boot]") {
  // Each program pushes and pops through the stack it was given, then writes its
  // code-segment selector plus a mode tag to the exit device.
  struct Mode {
    const char* name;
    uint64_t load;
    std::string src;
    uint32_t want;
  };
  const Mode modes[] = {
      {"real", 0x7C00, R"(bits 16
org 0x7C00
  push word 0x5A5A
  pop bx
  cmp bx, 0x5A5A
  jne $
  xor eax, eax
  mov ax, cs
  or eax, 0x1000
  mov dx, 0xF4
  out dx, eax
  hlt)", 0x1000},
      {"prot32", 0x100000, R"(bits 32
org 0x100000
  push dword 0x5A5A5A5A
  pop ebx
  cmp ebx, 0x5A5A5A5A
  jne $
  xor eax, eax
  mov ax, cs
  or eax, 0x2000
  mov dx, 0xF4
  out dx, eax
  hlt)", 0x2010},
      {"long", 0x100000, R"(bits 64
org 0x100000
  mov rbx, 0x5A5A5A5A5A5A5A5A
  push rbx
  pop rcx
  cmp rcx, rbx
  jne $
  xor eax, eax
  mov ax, cs
  or eax, 0x3000
  mov dx, 0xF4
  out dx, eax
  hlt)", 0x3008},
  };
  for (const Mode& md : modes) {
    INFO(md.name);
    Rig r;
    sim::BootOptions o;
    o.format = "flat";
    o.entry_mode = md.name;
    o.load_addr = md.load;
    r.boot(systest::nasm(md.src), o);
    sim::RunLimits lim;
    lim.max_insns = 1000;
    sim::RunResult res = r.m.run(lim);
    CHECK(res.reason == sim::StopReason::kExitDevice);
    CHECK(res.exit_value == md.want);
  }
}
