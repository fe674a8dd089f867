// Builds small ELF64 images in memory for loader and engine tests: the x86-64
// executable case of the boot tests' general builder (tests/boot/images.h).
#pragma once
#include <vector>

#include "tests/boot/images.h"

namespace test {

struct Segment {
  uint64_t paddr;
  std::vector<uint8_t> data;
  uint64_t memsz = 0;  // 0: same as data.size()
};

inline std::vector<uint8_t> make_elf64(uint64_t entry, const std::vector<Segment>& segs) {
  std::vector<boottest::Seg> s;
  for (const Segment& g : segs) s.push_back({g.paddr, g.data, g.memsz});
  return boottest::make_elf(true, EM_X86_64, entry, s);
}

}  // namespace test
