// The Linux boot-protocol loader (sim/boot/linux.cpp) on synthetic bzImages:
// zero-page fields, placements, the 32-bit entry state and every refusal.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "sim/boot/boot.h"
#include "sim/machine.h"
#include "sim/memmap.h"

namespace {


template <class T>
void put(std::vector<uint8_t>& f, unsigned off, T v) {
  std::memcpy(f.data() + off, &v, sizeof v);
}
template <class T>
T at(sim::Machine& m, uint64_t pa) {
  T v;
  std::memcpy(&v, m.mem().ram() + pa, sizeof v);
  return v;
}

// A bzImage with protocol 2.15 fields like Debian's 6.1 kernel (scaled down):
// setup_sects 4, relocatable, 2 MiB alignment, pref_address 16 MiB.
struct Image {
  unsigned setup_sects = 4;
  uint16_t version = 0x020F;
  uint8_t loadflags = 0x01;
  uint8_t relocatable = 1;
  uint32_t code32_start = 0x100000;
  uint32_t initrd_addr_max = 0x7FFFFFFF;
  uint32_t cmdline_size = 2047;
  uint64_t pref_address = 0x1000000;
  uint32_t init_size = 0x400000;
  unsigned pm_bytes = 0x3000;

  std::vector<uint8_t> build() const {
    const unsigned sects = setup_sects ? setup_sects : 4;  // boot.rst: 0 means 4
    std::vector<uint8_t> f((sects + 1) * 512 + pm_bytes);
    for (unsigned i = 0; i < pm_bytes; i++) f[(sects + 1) * 512 + i] = uint8_t(i * 7 + 1);
    f[0x1F1] = uint8_t(setup_sects);
    put<uint32_t>(f, 0x1F4, pm_bytes / 16);
    put<uint16_t>(f, 0x1FE, 0xAA55);
    f[0x200] = 0xEB;
    f[0x201] = 0x6A;  // header ends at 0x26C
    std::memcpy(f.data() + 0x202, "HdrS", 4);
    put<uint16_t>(f, 0x206, version);
    f[0x211] = loadflags;
    put<uint32_t>(f, 0x214, code32_start);
    put<uint32_t>(f, 0x22C, initrd_addr_max);
    put<uint32_t>(f, 0x230, 0x200000);
    f[0x234] = relocatable;
    f[0x235] = 21;
    put<uint16_t>(f, 0x236, 0x7F);
    put<uint32_t>(f, 0x238, cmdline_size);
    put<uint64_t>(f, 0x258, pref_address);
    put<uint32_t>(f, 0x260, init_size);
    return f;
  }
};

sim::MachineConfig mib(uint64_t n) {
  sim::MachineConfig c;
  c.ram_bytes = n << 20;
  return c;
}

std::string temp_file(const std::string& name, const std::vector<uint8_t>& data) {
  auto p = std::filesystem::temp_directory_path() / ("nestsim_linux_test_" + name);
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(data.data()), data.size());
  return p.string();
}

std::string load_error(const std::vector<uint8_t>& img, const sim::BootOptions& o, uint64_t ram_mib = 64) {
  sim::Machine m(mib(ram_mib));
  try {
    sim::load_linux(m, img, o);
  } catch (const sim::ImageError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("bzImage detection needs HdrS at 0x202", "[linux_loader]") {
  Image i;
  CHECK(sim::is_bzimage(i.build()));
  auto f = i.build();
  f[0x202] = 'X';
  CHECK_FALSE(sim::is_bzimage(f));
  CHECK_FALSE(sim::is_bzimage(std::vector<uint8_t>(0x100)));
}

TEST_CASE("zero page carries the setup header, loader fields, command line, initrd and e820",
          "[linux_loader]") {
  sim::Machine m(mib(64));
  Image img;
  auto f = img.build();
  std::vector<uint8_t> rd(10000);
  for (size_t k = 0; k < rd.size(); k++) rd[k] = uint8_t(k ^ 0x5A);
  sim::BootOptions o;
  o.append = "console=ttyS0 quiet";
  o.initrd = temp_file("rd1", rd);
  auto li = sim::load_linux(m, f, o);
  const uint64_t kZeroPage = m.cpu().r[isa::RSI];
  CHECK(kZeroPage % 4096 == 0);
  CHECK(kZeroPage >= 0x1000);
  CHECK(kZeroPage + 4096 <= sim::kEbdaBase);
  CHECK(li.format == "linux");
  CHECK(li.entry == 0x1000000);

  // The setup header as in the image (version, xloadflags, init_size...).
  CHECK(at<uint16_t>(m, kZeroPage + 0x206) == 0x020F);
  CHECK(std::memcmp(m.mem().ram() + kZeroPage + 0x202, "HdrS", 4) == 0);
  CHECK(at<uint16_t>(m, kZeroPage + 0x236) == 0x7F);
  CHECK(at<uint32_t>(m, kZeroPage + 0x260) == img.init_size);
  // Loader fields.
  CHECK(at<uint8_t>(m, kZeroPage + 0x210) == 0xFF);               // type_of_loader
  CHECK(at<uint8_t>(m, kZeroPage + 0x211) == (0x01 | 0x80));      // LOADED_HIGH | CAN_USE_HEAP
  CHECK(at<uint16_t>(m, kZeroPage + 0x224) == 0xFE00);            // heap_end_ptr
  CHECK(at<uint32_t>(m, kZeroPage + 0x214) == 0x1000000);         // code32_start = load address
  const uint32_t cmd = at<uint32_t>(m, kZeroPage + 0x228);
  CHECK(at<uint32_t>(m, kZeroPage + 0xC8) == 0);                  // ext_cmd_line_ptr
  CHECK((cmd + o.append.size() < kZeroPage || cmd >= kZeroPage + 4096));
  CHECK(cmd + o.append.size() < sim::kEbdaBase);
  // acpi_rsdp_addr: the platform's RSDP (the kernel would also find it by scanning).
  const uint64_t rsdp = at<uint64_t>(m, kZeroPage + 0x70);
  CHECK(rsdp >= sim::kFirmwareBase);
  CHECK(std::memcmp(m.mem().ram() + rsdp, "RSD PTR ", 8) == 0);
  CHECK(std::string(reinterpret_cast<const char*>(m.mem().ram() + cmd)) == o.append);
  // The initrd: page aligned, as high as RAM allows, bytes in place.
  const uint32_t rdaddr = at<uint32_t>(m, kZeroPage + 0x218);
  CHECK(at<uint32_t>(m, kZeroPage + 0x21C) == rd.size());
  CHECK(at<uint32_t>(m, kZeroPage + 0xC0) == 0);
  CHECK(at<uint32_t>(m, kZeroPage + 0xC4) == 0);
  CHECK(rdaddr % 4096 == 0);
  CHECK(rdaddr + rd.size() <= (64u << 20));
  CHECK(rdaddr + rd.size() > (64u << 20) - 4096);
  CHECK(std::memcmp(m.mem().ram() + rdaddr, rd.data(), rd.size()) == 0);
  // e820 as sim/memmap.h says.
  auto map = sim::e820_map(64 << 20);
  REQUIRE(at<uint8_t>(m, kZeroPage + 0x1E8) == map.size());
  for (size_t k = 0; k < map.size(); k++) {
    CHECK(at<uint64_t>(m, kZeroPage + 0x2D0 + 20 * k) == map[k].base);
    CHECK(at<uint64_t>(m, kZeroPage + 0x2D0 + 20 * k + 8) == map[k].size);
    CHECK(at<uint32_t>(m, kZeroPage + 0x2D0 + 20 * k + 16) == uint32_t(map[k].type));
  }
  // The protected-mode kernel at its load address.
  CHECK(std::memcmp(m.mem().ram() + 0x1000000, f.data() + 5 * 512, img.pm_bytes) == 0);
  std::remove(o.initrd.c_str());
}

TEST_CASE("the 32-bit boot protocol entry state", "[linux_loader]") {
  sim::Machine m(mib(64));
  sim::load_linux(m, Image{}.build(), {});
  isa::Cpu& c = m.cpu();
  CHECK(c.rip() == 0x1000000);
  CHECK(c.r[isa::RSI] % 4096 == 0);
  CHECK(c.r[isa::RBP] == 0);
  CHECK(c.r[isa::RDI] == 0);
  CHECK(c.r[isa::RBX] == 0);
  CHECK((c.cr0 & 0x80000001) == 1);  // PE, no paging
  CHECK((c.get_rflags() & 0x200) == 0);
  CHECK(c.seg[isa::CS].selector == 0x10);
  for (unsigned s : {isa::DS, isa::ES, isa::SS}) CHECK(c.seg[s].selector == 0x18);
  CHECK(c.seg[isa::CS].limit == 0xFFFFFFFF);
  CHECK(c.seg[isa::CS].base == 0);
  CHECK(c.gdtr.limit >= 0x1F);
  // __BOOT_CS and __BOOT_DS in the GDT: flat 4 GiB code (execute/read) and data.
  CHECK(at<uint64_t>(m, c.gdtr.base + 0x10) == 0x00CF9B000000FFFFull);
  CHECK(at<uint64_t>(m, c.gdtr.base + 0x18) == 0x00CF93000000FFFFull);
}

TEST_CASE("placement: pref_address, else the first aligned address above 1 MiB; fixed kernels at 1 MiB",
          "[linux_loader]") {
  SECTION("pref_address when init_size fits") {
    sim::Machine m(mib(32));
    CHECK(sim::load_linux(m, Image{}.build(), {}).entry == 0x1000000);
  }
  SECTION("no usable pref_address: the first 2 MiB boundary above 1 MiB") {
    Image i;
    i.pref_address = 0;
    sim::Machine m(mib(18));
    CHECK(sim::load_linux(m, i.build(), {}).entry == 0x200000);
  }
  SECTION("setup_sects 0 means 4") {
    Image i;
    i.setup_sects = 0;
    auto f = i.build();
    sim::Machine m(mib(32));
    sim::load_linux(m, f, {});
    CHECK(std::memcmp(m.mem().ram() + 0x1000000, f.data() + 5 * 512, i.pm_bytes) == 0);
  }
  SECTION("not relocatable: code32_start 1 MiB") {
    Image i;
    i.relocatable = 0;
    sim::Machine m(mib(32));
    CHECK(sim::load_linux(m, i.build(), {}).entry == 0x100000);
  }
  SECTION("the initrd stays under initrd_addr_max") {
    Image i;
    i.initrd_addr_max = 0x17FFFFF;  // last byte at 24 MiB - 1
    sim::BootOptions o;
    o.initrd = temp_file("rd2", std::vector<uint8_t>(5000, 1));
    sim::Machine m(mib(64));
    sim::load_linux(m, i.build(), o);
    const uint32_t a = at<uint32_t>(m, m.cpu().r[isa::RSI] + 0x218);
    CHECK(a == 0x1800000 - 0x2000);
    std::remove(o.initrd.c_str());
  }
}

TEST_CASE("bad Linux images and options are refused with one line", "[linux_loader]") {
  sim::BootOptions o;
  auto f = Image{}.build();
  f[0x203] = 'x';
  CHECK_THAT(load_error(f, o), Catch::Contains("not a Linux bzImage"));

  Image old;
  old.version = 0x020B;
  CHECK_THAT(load_error(old.build(), o), Catch::Contains("2.11 is too old"));

  Image z;
  z.loadflags = 0;
  CHECK_THAT(load_error(z.build(), o), Catch::Contains("zImage"));

  Image fixed;
  fixed.relocatable = 0;
  fixed.code32_start = 0x200000;
  CHECK_THAT(load_error(fixed.build(), o), Catch::Contains("not relocatable"));

  Image big;
  big.init_size = 0x4000000;  // 64 MiB from 16 MiB does not fit in 64 MiB
  CHECK_THAT(load_error(big.build(), o, 64), Catch::Contains("needs 80 MiB of RAM"));
  // Relocatable but with pref_address above RAM: it would move up there.
  CHECK_THAT(load_error(Image{}.build(), o, 18), Catch::Contains("needs 20 MiB of RAM"));
  Image fixed_big;
  fixed_big.relocatable = 0;
  fixed_big.init_size = 0x1000000;
  CHECK_THAT(load_error(fixed_big.build(), o, 8), Catch::Contains("of RAM"));

  auto trunc = Image{}.build();
  trunc.resize(0x1000);
  CHECK_THAT(load_error(trunc, o), Catch::Contains("truncated"));
  auto nopm = Image{}.build();
  nopm.resize(5 * 512);
  CHECK_THAT(load_error(nopm, o), Catch::Contains("truncated"));

  sim::BootOptions longcmd;
  longcmd.append = std::string(2048, 'a');
  CHECK_THAT(load_error(Image{}.build(), longcmd), Catch::Contains("at most 2047"));
  longcmd.append = std::string(2047, 'a');
  CHECK(load_error(Image{}.build(), longcmd).empty());

  sim::BootOptions rd;
  rd.initrd = temp_file("rd_big", std::vector<uint8_t>(20 << 20, 0));
  CHECK_THAT(load_error(Image{}.build(), rd, 32), Catch::Contains("does not fit"));
  std::remove(rd.initrd.c_str());
  rd.initrd = temp_file("rd_empty", {});
  CHECK_THAT(load_error(Image{}.build(), rd), Catch::Contains("empty"));
  std::remove(rd.initrd.c_str());
  rd.initrd = "/nonexistent/initrd";
  CHECK_THAT(load_error(Image{}.build(), rd), Catch::Contains("cannot open"));
}
