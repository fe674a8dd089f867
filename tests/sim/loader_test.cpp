#include <catch2/catch.hpp>

#include "sim/loader.h"
#include "sim/machine.h"
#include "tests/sim/elf_builder.h"

using sim::ImageError;

namespace {

sim::MachineConfig small() {
  sim::MachineConfig c;
  c.ram_bytes = 4 << 20;
  return c;
}

std::string load_error(const std::vector<uint8_t>& img) {
  sim::Machine m(small());
  try {
    sim::load_elf64(m, img);
  } catch (const ImageError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("loader places segments, zeroes BSS and enters 64-bit mode", "[loader]") {
  sim::Machine m(small());
  std::vector<uint8_t> code = {0x90, 0x90, 0xF4};
  auto img = test::make_elf64(0x100000, {{0x100000, code, 0x2000}});
  std::memset(m.mem().ram() + 0x100000, 0xAA, 0x2000);
  auto li = sim::load_elf64(m, img);
  CHECK(li.entry == 0x100000);
  CHECK(std::memcmp(m.mem().ram() + 0x100000, code.data(), 3) == 0);
  CHECK(m.mem().ram()[0x100003] == 0);
  CHECK(m.mem().ram()[0x101FFF] == 0);
  const isa::Cpu& c = m.cpu();
  CHECK(c.r[isa::kRegRip] == 0x100000);
  CHECK(c.r[isa::RSP] == sim::kLoaderStack);
  CHECK(c.long64);
  CHECK(c.seg[isa::CS].selector == 0x08);
  CHECK((c.cr0 & 0x80000001) == 0x80000001);
  CHECK((c.efer & 0x500) == 0x500);
  uint64_t pml4e;
  std::memcpy(&pml4e, m.mem().ram() + sim::kLoaderPml4, 8);
  CHECK(pml4e == ((sim::kLoaderPml4 + 0x1000) | 3));
}

TEST_CASE("loader rejects malformed images with one clear message", "[loader]") {
  std::vector<uint8_t> code = {0xF4};
  auto good = test::make_elf64(0x100000, {{0x100000, code}});

  CHECK(load_error({}) .find("truncated") != std::string::npos);
  CHECK(load_error(std::vector<uint8_t>(good.begin(), good.begin() + 40)).find("truncated") != std::string::npos);
  auto bad = good;
  bad[0] = 'X';
  CHECK(load_error(bad) == "not an ELF image");
  bad = good;
  bad[EI_CLASS] = ELFCLASS32;
  CHECK(load_error(bad).find("ELF32") != std::string::npos);
  bad = good;
  bad[18] = 3;  // e_machine = EM_386
  CHECK(load_error(bad).find("x86-64") != std::string::npos);
  // Program headers cut off.
  CHECK(load_error(std::vector<uint8_t>(good.begin(), good.begin() + 80)).find("truncated") != std::string::npos);
  // Segment data cut off.
  auto big = test::make_elf64(0x100000, {{0x100000, std::vector<uint8_t>(64, 0x90)}});
  big.resize(big.size() - 10);
  CHECK(load_error(big).find("truncated") != std::string::npos);
  // Does not fit in RAM (4 MiB).
  CHECK(load_error(test::make_elf64(0x3FF000, {{0x3FF000, code, 0x2000}})).find("does not fit") != std::string::npos);
  CHECK(load_error(test::make_elf64(0x100000, {{0xFFFFFFFFFFFFF000ull, code, 0x2000}})).find("does not fit") != std::string::npos);
  // Overlaps.
  CHECK(load_error(test::make_elf64(0x100000, {{0x100000, code, 0x100}, {0x100080, code}})).find("overlap") != std::string::npos);
  CHECK(load_error(test::make_elf64(0x1800, {{0x1800, code}})).find("page tables") != std::string::npos);
  // Entry outside.
  CHECK(load_error(test::make_elf64(0x200000, {{0x100000, code}})).find("entry") != std::string::npos);
  // filesz > memsz.
  CHECK(load_error(test::make_elf64(0x100000, {{0x100000, std::vector<uint8_t>(16), 8}})).find("p_filesz") != std::string::npos);
}
