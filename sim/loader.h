// Loading guest images into a Machine.
//
// Part-1 contract for ELF64 images (EM_X86_64, ET_EXEC): PT_LOAD segments go to
// p_paddr, BSS is zeroed, and the CPU starts at e_entry in 64-bit mode, CPL 0, flat
// segments (CS 0x08, data 0x10), IF=0, RSP = kLoaderStack, with identity page tables
// for the first 4 GiB written at kLoaderPml4..+0x2FFF (1 GiB pages). Segments may not
// overlap those tables, each other, or lie outside RAM.
// Multiboot and the Linux boot protocol arrive with issue 4.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace sim {

class Machine;

constexpr uint64_t kLoaderPml4 = 0x1000;     // PML4 at 0x1000, PDPT at 0x2000
constexpr uint64_t kLoaderTablesEnd = 0x3000;
constexpr uint64_t kLoaderStack = 0x80000;

// A malformed or unloadable image: the message is one line for the user.
struct ImageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct LoadedImage {
  uint64_t entry = 0;
  std::string format;   // "elf64"
  std::string sha256;   // of the file bytes (identity for result records)
  uint64_t bytes = 0;
};

std::vector<uint8_t> read_file(const std::string& path);
LoadedImage load_image(Machine& m, const std::string& path);
LoadedImage load_elf64(Machine& m, const std::vector<uint8_t>& file);

}  // namespace sim
