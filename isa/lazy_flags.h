// Lazily evaluated arithmetic flags: an ALU instruction records its operands,
// result and kind; CF/PF/AF/ZF/SF/OF are computed only when something reads them.
// (The representation is private to isa/; see flags.h for the evaluators.)
#pragma once
#include <cstdint>

namespace isa {

struct LazyFlags {
  uint64_t res = 0;
  uint64_t src1 = 0;
  uint64_t src2 = 0;
  uint32_t op = 0;   // kind of the last flag-setting operation (0 = eager: flags in `eager`)
  uint32_t eager = 0;  // arithmetic flags when op == 0
};

}  // namespace isa
