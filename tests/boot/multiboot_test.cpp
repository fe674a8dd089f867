// Multiboot v1 loader (sim/boot/multiboot.cpp) against the Multiboot Specification
// 0.6.96: image placement (ELF32, ELF64, a.out kludge), every MBI field, the entry
// state, a guest that reads its MBI, bad images, and random header mutations.
#include <catch2/catch.hpp>

#include <random>

#include "sim/boot/util.h"
#include "sim/memmap.h"
#include "tests/boot/images.h"
#include "tests/sys/harness.h"

using boottest::mb_aout;
using boottest::mb_elf32;
using boottest::mb_elf64;
using boottest::Rig;
using boottest::Seg;

namespace {

const std::vector<uint8_t> kCode = {0x90, 0x90, 0xF4, 0xEB, 0xFD};  // nop nop hlt jmp $-1

bool has(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// Every hand-over structure: outside page 0, the image, the firmware area, each other.
void check_apart(Rig& r, uint64_t img_lo, uint64_t img_hi) {
  const uint64_t mbi = r.m.cpu().r[isa::RBX];
  std::vector<std::pair<uint64_t, uint64_t>> parts = {{mbi, mbi + 116}};
  parts.push_back({r.r32(mbi + 16), r.r32(mbi + 16) + r.str(r.r32(mbi + 16)).size() + 1});
  parts.push_back({r.r32(mbi + 48), r.r32(mbi + 48) + r.r32(mbi + 44)});
  parts.push_back({r.r32(mbi + 64), r.r32(mbi + 64) + 8});
  parts.push_back({r.m.cpu().gdtr.base, r.m.cpu().gdtr.base + 32});
  parts.push_back({r.m.cpu().r[isa::RSP] - 0x1000, r.m.cpu().r[isa::RSP]});  // the stack page
  for (uint32_t i = 0; i < r.r32(mbi + 20); i++) {
    const uint64_t e = r.r32(mbi + 24) + 16 * i;
    parts.push_back({e, e + 16});
    parts.push_back({r.r32(e), r.r32(e + 4)});
    parts.push_back({r.r32(e + 8), r.r32(e + 8) + r.str(r.r32(e + 8)).size() + 1});
  }
  for (size_t i = 0; i < parts.size(); i++) {
    INFO("part " << i << " at " << std::hex << parts[i].first << "-" << parts[i].second);
    CHECK(parts[i].first >= 0x1000);
    CHECK((parts[i].second <= img_lo || parts[i].first >= img_hi));
    CHECK((parts[i].second <= sim::kEbdaBase || parts[i].first >= sim::kFirmwareEnd));
    for (size_t j = 0; j < i; j++)
      CHECK((parts[i].second <= parts[j].first || parts[j].second <= parts[i].first));
  }
}

}  // namespace

TEST_CASE("multiboot ELF32: segments by p_paddr, BSS zeroed, 32-bit flat entry state", "[multiboot]") {
  Rig r;
  std::memset(r.ram() + 0x100000, 0xAA, 0x3000);
  auto img = mb_elf32(0x100000, {{0x100000, kCode, 0x1000}, {0x102000, {1, 2, 3, 4}, 0x800}});
  sim::LoadedImage li = r.boot(img);
  CHECK(li.format == "multiboot");
  CHECK(li.entry == 0x100000);
  CHECK(li.bytes == img.size());
  CHECK(li.sha256.size() == 64);
  CHECK(std::memcmp(r.ram() + 0x100000, kCode.data(), kCode.size()) == 0);
  CHECK(r.ram()[0x100000 + kCode.size()] == 0);
  CHECK(r.ram()[0x100FFF] == 0);
  CHECK(r.ram()[0x101000] == 0xAA);  // between the segments: untouched
  CHECK(r.r32(0x102000) == 0x04030201);
  CHECK(r.ram()[0x1027FF] == 0);
  CHECK(r.ram()[0x102800] == 0xAA);

  isa::Cpu& c = r.m.cpu();
  CHECK(c.rip() == 0x100000);
  CHECK(uint32_t(c.r[isa::RAX]) == 0x2BADB002);
  CHECK(c.r[isa::RBX] >= 0x1000);
  CHECK(c.r[isa::RBX] < sim::kEbdaBase);
  CHECK(c.cr0 == 0x11);  // PE, ET; paging off
  CHECK(c.cr4 == 0);
  CHECK(c.efer == 0);
  CHECK(c.get_rflags() == 0x2);
  CHECK(!c.long64);
  CHECK(c.cpl == 0);
  CHECK(c.seg[isa::CS].selector == 0x10);
  CHECK(c.seg[isa::CS].base == 0);
  CHECK(c.seg[isa::CS].limit == 0xFFFFFFFF);
  CHECK(c.seg[isa::CS].attr == 0xC09B);
  for (unsigned s : {isa::ES, isa::SS, isa::DS, isa::FS, isa::GS}) {
    CHECK(c.seg[s].selector == 0x18);
    CHECK(c.seg[s].base == 0);
    CHECK(c.seg[s].limit == 0xFFFFFFFF);
    CHECK(c.seg[s].attr == 0xC093);
  }
  CHECK(c.idtr.limit == 0);
  // GDTR points at a valid GDT whose descriptors match the segment caches.
  CHECK(c.gdtr.limit == 31);
  CHECK(c.gdtr.base >= 0x1000);
  CHECK(r.r64(c.gdtr.base + 0x10) == systest::code32());
  CHECK(r.r64(c.gdtr.base + 0x18) == systest::data32());
  // ESP: the top of a 4 KiB page of its own in low memory (check_apart).
  CHECK(c.r[isa::RSP] % 0x1000 == 0);
  CHECK(c.r[isa::RSP] <= sim::kEbdaBase);
  check_apart(r, 0x100000, 0x102800);
}

TEST_CASE("multiboot MBI: every field (spec 3.3)", "[multiboot]") {
  Rig r(64 << 20);
  std::vector<uint8_t> mod1 = {0x5A, 0x5B, 0x5C}, mod2(5000, 0x77);
  Rig files;  // temporary files outlive the boot
  sim::BootOptions o;
  o.append = "console=ttyS0 go";
  const std::string m1 = files.file(mod1), m2 = files.file(mod2);
  o.modules = {m1 + " NAME=value x", m2};
  auto img = mb_elf32(0x100000, {{0x100000, kCode}});
  r.boot(img, o);
  const std::string path = r.files.back();
  const uint64_t mbi = r.m.cpu().r[isa::RBX];
  CHECK(r.r32(mbi + 0) == ((1u << 0) | (1u << 2) | (1u << 3) | (1u << 6) | (1u << 9)));
  CHECK(r.r32(mbi + 4) == 639);                      // mem_lower: KiB below the EBDA
  CHECK(r.r32(mbi + 8) == (64u << 10) - 1024);       // mem_upper: KiB from 1 MiB
  CHECK(r.r32(mbi + 12) == 0);                       // boot_device absent (flag 1 clear)
  CHECK(r.str(r.r32(mbi + 16)) == path + " console=ttyS0 go");
  REQUIRE(r.r32(mbi + 20) == 2);
  const uint64_t mods = r.r32(mbi + 24);
  CHECK(mods % 4 == 0);
  for (unsigned i = 0; i < 2; i++) {
    const std::vector<uint8_t>& data = i ? mod2 : mod1;
    const uint64_t e = mods + 16 * i, start = r.r32(e), end = r.r32(e + 4);
    CHECK(start % 4096 == 0);  // flag 0 or not, modules are page-aligned
    CHECK(end - start == data.size());
    CHECK(std::memcmp(r.ram() + start, data.data(), data.size()) == 0);
    CHECK(r.str(r.r32(e + 8)) == (i ? m2 : m1 + " NAME=value x"));
    CHECK(r.r32(e + 12) == 0);
  }
  for (unsigned off = 28; off < 44; off += 4) CHECK(r.r32(mbi + off) == 0);  // no symbols
  const std::vector<sim::E820Entry> map = sim::e820_map(64 << 20);
  REQUIRE(r.r32(mbi + 44) == map.size() * 24);
  const uint64_t mmap = r.r32(mbi + 48);
  for (size_t i = 0; i < map.size(); i++) {
    const uint64_t e = mmap + 24 * i;
    CHECK(r.r32(e) == 20);
    CHECK(r.r64(e + 4) == map[i].base);
    CHECK(r.r64(e + 12) == map[i].size);
    CHECK(r.r32(e + 20) == uint32_t(map[i].type));
  }
  CHECK(r.r32(mmap + 20) == 1);  // the first entry (conventional memory) is usable
  for (unsigned off : {52u, 56u, 60u}) CHECK(r.r32(mbi + off) == 0);  // drives, config table
  CHECK(r.str(r.r32(mbi + 64)) == "nestsim");
  for (unsigned off = 68; off < 116; off += 4) CHECK(r.r32(mbi + off) == 0);  // APM, VBE, framebuffer
  check_apart(r, 0x100000, 0x100000 + kCode.size());
}

TEST_CASE("multiboot command line without --append is the image path", "[multiboot]") {
  Rig r;
  r.boot(mb_elf32(0x100000, {{0x100000, kCode}}));
  CHECK(r.str(r.r32(r.m.cpu().r[isa::RBX] + 16)) == r.files.back());
  CHECK(r.r32(r.m.cpu().r[isa::RBX] + 20) == 0);  // mods_count 0 (flag 3 still set)
}

TEST_CASE("multiboot modules too big for low memory go above the image", "[multiboot]") {
  Rig r(16 << 20);
  Rig files;
  std::vector<uint8_t> big(700 << 10, 0x42), fill(600 << 10, 0x43);
  sim::BootOptions o;
  // The first module nearly fills low memory; the second cannot fit there.
  o.modules = {files.file(fill) + " fills low memory", files.file(big)};
  r.boot(mb_elf32(0x100000, {{0x100000, kCode, 0x5000}}), o);
  const uint64_t e0 = r.r32(r.m.cpu().r[isa::RBX] + 24), e = e0 + 16;
  CHECK(r.r32(e0 + 4) <= sim::kEbdaBase);
  CHECK(has(r.str(r.r32(e0 + 8)), " fills low memory"));
  CHECK(r.r32(e) >= 0x105000);
  CHECK(r.r32(e) % 4096 == 0);
  CHECK(r.r32(e + 4) - r.r32(e) == big.size());
  CHECK(r.ram()[r.r32(e) + big.size() - 1] == 0x42);
  check_apart(r, 0x100000, 0x105000);
}

TEST_CASE("multiboot ELF64 image: placed by p_paddr, entered in 32-bit mode", "[multiboot]") {
  Rig r;
  // A higher-half style kernel: the entry is virtual and translated like GRUB 2 does.
  auto img = mb_elf64(0xFFFFFFFF80200000ull, {{0x200000, kCode, 0x2000, 0xFFFFFFFF80200000ull}});
  sim::LoadedImage li = r.boot(img);
  CHECK(li.entry == 0x200000);
  CHECK(r.m.cpu().rip() == 0x200000);
  CHECK(!r.m.cpu().long64);
  CHECK(std::memcmp(r.ram() + 0x200000, kCode.data(), kCode.size()) == 0);
  CHECK(uint32_t(r.m.cpu().r[isa::RAX]) == 0x2BADB002);
}

TEST_CASE("multiboot a.out kludge (flag 16): load, load_end, bss_end, entry", "[multiboot]") {
  Rig r;
  std::memset(r.ram() + 0x200000, 0xAA, 0x3000);
  // Header at file offset 0x40: header_addr - load_addr says where the file starts.
  auto img = mb_aout(0x200000, kCode, 0x1000, 0x40 + 32, 0x40);
  sim::LoadedImage li = r.boot(img);
  CHECK(li.entry == 0x200060);
  CHECK(r.m.cpu().rip() == 0x200060);
  CHECK(std::memcmp(r.ram() + 0x200000, img.data(), img.size()) == 0);
  CHECK(r.ram()[0x200000 + img.size()] == 0);             // BSS
  CHECK(r.ram()[0x200000 + img.size() + 0xFFF] == 0);
  CHECK(r.ram()[0x200000 + img.size() + 0x1000] == 0xAA);  // after bss_end_addr
  // load_end_addr 0: the whole file; bss_end_addr 0: no BSS.
  Rig r2;
  auto whole = mb_aout(0x300000, kCode, 0, 32);
  boottest::set32(whole, 20, 0);
  r2.boot(whole);
  CHECK(std::memcmp(r2.ram() + 0x300000, whole.data(), whole.size()) == 0);
  // Flag 16 wins over ELF (as QEMU): an ELF file placed by the address fields.
  Rig r3;
  auto elf = boottest::make_elf(false, EM_386, 0x100000, {{0x100000, kCode}},
                                boottest::mb_header(1u << 16, {0x400054, 0x400000, 0, 0, 0x400054}));
  r3.boot(elf);
  CHECK(r3.m.cpu().rip() == 0x400054);
  CHECK(std::memcmp(r3.ram() + 0x400000, elf.data(), elf.size()) == 0);
}

TEST_CASE("multiboot header flags: video (2) ignored, unknown requirements refused", "[multiboot]") {
  Rig r;
  auto img = boottest::make_elf(false, EM_386, 0x100000, {{0x100000, kCode}},
                                boottest::mb_header(1u << 2, {0, 0, 0, 0, 0, 0, 1024, 768, 32}));
  CHECK(r.error(img) == "");
  CHECK((r.r32(r.m.cpu().r[isa::RBX]) & (1u << 12)) == 0);  // no framebuffer info
  CHECK(has(r.error(mb_elf32(0x100000, {{0x100000, kCode}}, 1u << 3)), "requires features"));
  CHECK(has(r.error(mb_elf32(0x100000, {{0x100000, kCode}}, 1u << 15)), "0x8000"));
  // Optional bits 17-31 are ignored.
  CHECK(r.error(mb_elf32(0x100000, {{0x100000, kCode}}, 3u | (1u << 20))) == "");
}

TEST_CASE("a multiboot guest reads its MBI and reports through the exit device", "[multiboot]") {
  const std::string src = R"(
bits 32
org 0x100000
bss equ 0x101000
start:
  mov esi, 1
  cmp eax, 0x2BADB002
  jne fail
  inc esi                  ; 2: MBI flags
  mov ecx, [ebx]
  and ecx, 0x24D
  cmp ecx, 0x24D
  jne fail
  inc esi                  ; 3: mem_lower
  cmp dword [ebx+4], 639
  jne fail
  inc esi                  ; 4: the command line ends in " go"
  mov edi, [ebx+16]
.l:
  cmp byte [edi], 0
  je .e
  inc edi
  jmp .l
.e:
  cmp dword [edi-3], 0x006F6720
  jne fail
  inc esi                  ; 5: one page-aligned 3-byte module starting with 0x5A
  cmp dword [ebx+20], 1
  jne fail
  mov edi, [ebx+24]
  mov ecx, [edi]
  test ecx, 0xFFF
  jnz fail
  cmp byte [ecx], 0x5A
  jne fail
  mov edx, [edi+4]
  sub edx, ecx
  cmp edx, 3
  jne fail
  inc esi                  ; 6: memory map entries of size 20, the first usable
  mov edi, [ebx+48]
  cmp dword [edi], 20
  jne fail
  cmp dword [edi+20], 1
  jne fail
  inc esi                  ; 7: a usable stack, flat selectors
  push dword 0x1234
  pop ecx
  cmp ecx, 0x1234
  jne fail
  mov cx, ds
  cmp cx, 0x18
  jne fail
  mov cx, cs
  cmp cx, 0x10
  jne fail
  inc esi                  ; 8: BSS is zero
  cmp dword [bss + 0x100], 0
  jne fail
  xor esi, esi
fail:
  mov eax, esi
  mov dx, 0xF4
  out dx, eax
  hlt
  jmp fail
)";
  Rig r;
  Rig files;
  std::memset(r.ram() + 0x101000, 0xCC, 0x1000);
  sim::BootOptions o;
  o.append = "go";
  o.modules = {files.file({0x5A, 1, 2})};
  r.boot(mb_elf32(0x100000, {{0x100000, systest::nasm(src), 0x2000}}), o);
  sim::RunLimits lim;
  lim.max_insns = 100000;
  sim::RunResult res = r.m.run(lim);
  CHECK(res.reason == sim::StopReason::kExitDevice);
  CHECK(res.exit_value == 0);  // else the number of the failed check
}

TEST_CASE("multiboot bad images: one clear ImageError each", "[multiboot]") {
  Rig r(4 << 20);
  sim::BootOptions mb;
  mb.format = "multiboot";
  auto good = mb_elf32(0x100000, {{0x100000, kCode}});
  CHECK(r.error(good, mb) == "");
  // No header / header beyond 8 KiB.
  CHECK(has(r.error(boottest::make_elf(false, EM_386, 0x100000, {{0x100000, kCode}}), mb), "no Multiboot header"));
  std::vector<uint8_t> late(8192, 0);
  auto h = boottest::mb_header(0);
  late.insert(late.end(), h.begin(), h.end());
  CHECK(has(r.error(late, mb), "no Multiboot header"));
  // Bad checksum.
  auto bad = good;
  bad[sizeof(Elf32_Ehdr) + sizeof(Elf32_Phdr) + 8] ^= 1;
  CHECK(has(r.error(bad), "bad checksum"));
  // Truncated header: the magic is the last thing in the file.
  std::vector<uint8_t> cut = {0x02, 0xB0, 0xAD, 0x1B, 0, 0};
  CHECK(has(r.error(cut, mb), "truncated"));
  // Flag 16 with its fields cut off.
  auto aout = mb_aout(0x200000, kCode);
  CHECK(has(r.error(std::vector<uint8_t>(aout.begin(), aout.begin() + 20)), "truncated"));
  // Not ELF and no address fields.
  std::vector<uint8_t> raw = boottest::mb_header(0);
  raw.resize(64);
  CHECK(has(r.error(raw), "not ELF"));

  // ELF checks.
  CHECK(has(r.error(boottest::make_elf(false, EM_X86_64, 0x100000, {{0x100000, kCode}}, boottest::mb_header(0))),
            "EM_386"));
  CHECK(has(r.error(boottest::make_elf(true, EM_386, 0x100000, {{0x100000, kCode}}, boottest::mb_header(0))),
            "EM_X86_64"));
  CHECK(has(r.error(boottest::make_elf(false, EM_386, 0x100000, {{0x100000, kCode}}, boottest::mb_header(0), ET_DYN)),
            "ET_EXEC"));
  CHECK(has(r.error(mb_elf32(0x100000, {{0x100000, kCode, 0x100}, {0x100080, kCode}})), "overlaps ELF segment 0"));
  CHECK(has(r.error(mb_elf32(0x3FF000, {{0x3FF000, kCode, 0x2000}})), "does not fit"));
  CHECK(has(r.error(mb_elf32(0xE0000, {{0xE0000, kCode}})), "firmware area"));
  CHECK(has(r.error(mb_elf32(0xFFFF0, {{0xFFFF0, kCode, 0x20}})), "firmware area"));
  CHECK(has(r.error(mb_elf32(0x800, {{0x800, kCode}})), "page 0"));
  CHECK(has(r.error(mb_elf32(0xA0000, {{0xA0000, kCode}})), "not in usable RAM"));
  CHECK(has(r.error(mb_elf32(0x100000, {{0x100000, std::vector<uint8_t>(16), 8}})), "p_filesz"));
  CHECK(has(r.error(mb_elf32(0x100000, {{0x100000, kCode, 0, ~0ull, PT_NOTE}})), "no loadable segments"));
  CHECK(has(r.error(mb_elf32(0x200000, {{0x100000, kCode}})), "entry point 0x200000"));
  auto trunc = mb_elf32(0x100000, {{0x100000, std::vector<uint8_t>(64, 0x90)}});
  trunc.resize(trunc.size() - 10);
  CHECK(has(r.error(trunc), "truncated"));

  // a.out kludge checks.
  auto fld = [&](uint32_t header_addr, uint32_t load, uint32_t load_end, uint32_t bss_end, uint32_t entry) {
    auto img = boottest::mb_header(1u << 16, {header_addr, load, load_end, bss_end, entry});
    img.insert(img.end(), kCode.begin(), kCode.end());
    return r.error(img);
  };
  CHECK(fld(0x200000, 0x200000, 0x200025, 0x201000, 0x200020) == "");
  CHECK(has(fld(0x200000, 0x200010, 0, 0, 0x200020), "load_addr 0x200010 is above header_addr"));
  CHECK(has(fld(0x200010, 0x200000, 0, 0, 0x200020), "larger than the header's file offset"));
  CHECK(has(fld(0x200000, 0x200000, 0x200000, 0, 0x200000), "load_end_addr"));
  CHECK(has(fld(0x200000, 0x200000, 0x200100, 0, 0x200020), "beyond the end of the file"));
  CHECK(has(fld(0x200000, 0x200000, 0x200025, 0x200010, 0x200020), "bss_end_addr"));
  CHECK(has(fld(0x200000, 0x200000, 0, 0, 0x300000), "entry_addr 0x300000 is outside"));
  CHECK(has(fld(0x200000, 0x200000, 0x200025, 0x201000, 0x200800), "outside"));  // entry in BSS
  CHECK(has(fld(0xE0000, 0xE0000, 0, 0, 0xE0020), "firmware area"));
  CHECK(has(fld(0x3FFFF0, 0x3FFFF0, 0, 0x400100, 0x3FFFF0 + 32), "does not fit"));

  // Modules.
  Rig files;
  sim::BootOptions o;
  o.modules = {files.file(std::vector<uint8_t>(5 << 20, 1))};
  CHECK(has(r.error(good, o), "--module"));
  CHECK(has(r.error(good, o), "does not fit"));
  o.modules = {"/nonexistent/module args"};
  CHECK(has(r.error(good, o), "--module: cannot open '/nonexistent/module'"));
  o.modules = {"/tmp"};
  CHECK(has(r.error(good, o), "is a directory"));
}

TEST_CASE("multiboot loader survives random header and ELF mutations", "[multiboot]") {
  // A valid image, mutated a few bytes at a time in its first 160 bytes (ELF
  // header, program headers, Multiboot header) with bytes and interesting words:
  // each load either succeeds (entry inside RAM) or throws ImageError.
  std::vector<std::vector<uint8_t>> seeds = {
      mb_elf32(0x100000, {{0x100000, kCode, 0x1000}, {0x180000, {1, 2, 3}}}),
      mb_elf64(0x100000, {{0x100000, kCode, 0x1000}}),
      mb_aout(0x200000, kCode, 0x100),
  };
  Rig r(4 << 20);
  std::mt19937_64 rng(20261122);
  const uint32_t words[] = {0, 1, 0xFFFFFFFF, 0x80000000, 0x7FFFFFFF, 0x100000, 0xE0000, 0x3FF000, 0x1BADB002, 0x10000};
  unsigned loaded = 0, refused = 0;
  for (unsigned iter = 0; iter < 4000; iter++) {
    std::vector<uint8_t> img = seeds[iter % seeds.size()];
    const unsigned n = 1 + rng() % 4;
    for (unsigned k = 0; k < n; k++) {
      const size_t span = std::min<size_t>(img.size(), 160);
      const size_t off = rng() % span;
      if (rng() % 2 && off + 4 <= img.size()) {
        uint32_t w = words[rng() % std::size(words)];
        std::memcpy(img.data() + (off & ~3ull), &w, std::min<size_t>(4, img.size() - (off & ~3ull)));
      } else {
        img[off] = uint8_t(rng());
      }
    }
    if (rng() % 8 == 0) img.resize(rng() % img.size());
    // Keep the Multiboot checksum right half of the time, so the loader gets past it.
    if (rng() % 2) {
      for (size_t off = 0; off + 12 <= std::min<size_t>(img.size(), 8192); off += 4) {
        uint32_t m, f;
        std::memcpy(&m, img.data() + off, 4);
        if (m != boottest::kMbMagic) continue;
        std::memcpy(&f, img.data() + off + 4, 4);
        boottest::set32(img, off + 8, 0u - m - f);
        break;
      }
    }
    sim::BootOptions o;
    o.format = "multiboot";
    try {
      sim::LoadedImage li = r.boot(img, o);
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
