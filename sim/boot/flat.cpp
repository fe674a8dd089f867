// Flat binaries (--format flat): the file's bytes at --load-addr, entered at --entry
// (default: the load address, which must lie in the loaded bytes) in --entry-mode.
// A 4 KiB stack page is taken from the top of low memory (below the EBDA) for every
// mode, so the guest has a usable stack before it sets up its own.
//
// Entry states:
//   real    real mode as after RESET (SDM Vol. 3A 9.1.1: CR0 = 0x60000010, IDTR =
//           {0, 0x3FF}, segment caches base = selector*16, limit 0xFFFF):
//           CS = (entry >> 4) & 0xF000, IP = entry & 0xFFFF; DS = ES = FS = GS = 0;
//           SS:SP at the stack page's top. The entry must be below 1 MiB.
//   prot32  the flat 32-bit state of the 32-bit protocols (sim/boot/util.h
//           set_flat32_state: CS 0x10, data 0x18 with a valid GDT in low memory,
//           IDTR limit 0, CR0 = PE|ET, paging off, EFLAGS 0x2), ESP = the stack
//           page's top, other registers 0. The entry must be below 4 GiB.
//   long    the ELF64 contract of sim/loader.h (Machine::reset_long_mode: identity
//           paging of the first 4 GiB with its tables at 0x1000-0x2FFF, CS 0x08,
//           data 0x10, IF=0), RSP = the stack page's top.
#include "sim/boot/boot.h"
#include "sim/boot/util.h"
#include "sim/machine.h"

namespace sim {

LoadedImage load_flat(Machine& m, const std::vector<uint8_t>& file, const BootOptions& o) {
  const std::string& mode = o.entry_mode;
  if (mode != "real" && mode != "prot32" && mode != "long")
    throw ImageError("--entry-mode: expected real, prot32 or long, got '" + mode + "'");
  const uint64_t entry = o.entry == ~0ull ? o.load_addr : o.entry;
  boot::GuestLayout l(m);
  if (mode == "long") l.claim(kLoaderPml4, kLoaderTablesEnd - kLoaderPml4, "the loader's page tables");
  l.load(o.load_addr, file.data(), file.size(), file.size(), "the flat image (--load-addr)");
  if (entry < o.load_addr || entry - o.load_addr >= file.size())
    throw ImageError("--entry " + boot::hex(entry) + " is outside the loaded image " +
                     boot::hex(o.load_addr) + "-" + boot::hex(o.load_addr + file.size() - 1));
  if (mode == "real" && entry >= 0x100000)
    throw ImageError("--entry " + boot::hex(entry) + " is not reachable in real mode (must be below 1 MiB)");
  if (mode == "prot32" && entry >> 32)
    throw ImageError("--entry " + boot::hex(entry) + " is not reachable in 32-bit mode (must be below 4 GiB)");
  const uint64_t stack = l.alloc_low(0x1000, 0x1000, "the initial stack") + 0x1000;

  if (mode == "long") {
    m.reset_long_mode(entry, stack);
  } else if (mode == "prot32") {
    const uint64_t gdt = l.alloc_low(boot::kFlatGdtBytes, 8, "the GDT");
    boot::write_flat_gdt(l, gdt);
    m.reset_with([&](isa::Cpu& c) {
      boot::set_flat32_state(c, gdt, uint32_t(entry));
      c.r[isa::RSP] = stack;
    });
  } else {
    m.reset_with([&](isa::Cpu& c) {
      auto real_seg = [](uint16_t sel, uint16_t attr) { return isa::SegmentReg{sel, attr, 0xFFFF, uint64_t(sel) << 4}; };
      for (unsigned s = 0; s < 6; s++) c.seg[s] = real_seg(0, 0x93);
      const uint16_t cs = uint16_t((entry >> 4) & 0xF000);
      const uint16_t ss = uint16_t(((stack - 1) >> 4) & 0xF000);
      c.seg[isa::CS] = real_seg(cs, 0x9B);
      c.seg[isa::SS] = real_seg(ss, 0x93);
      c.ldtr = {0, 0x82, 0xFFFF, 0};
      c.tr = {0, 0x8B, 0xFFFF, 0};
      c.gdtr = {0, 0xFFFF};
      c.idtr = {0, 0x3FF};
      c.rip() = entry - (uint64_t(cs) << 4);
      c.r[isa::RSP] = stack - (uint64_t(ss) << 4);
    });
  }
  LoadedImage li;
  li.entry = entry;
  li.format = "flat";
  return li;
}

}  // namespace sim
