// Test rig for the system architecture: a small machine, code assembled by nasm at
// test time (so tests read as assembly), helpers to build descriptors and tables in
// guest memory. Shared by every tests/sys/*_test.cpp; add helpers, do not change
// the meaning of existing ones.
#pragma once
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#include "sim/machine.h"

namespace systest {

// Assembles `src` with nasm (flat binary). `src` should start with its own
// `bits 16/32/64` and `org` lines. Throws with nasm's messages on error.
inline std::vector<uint8_t> nasm(const std::string& src) {
  char dir[] = "/tmp/nestsim-nasm-XXXXXX";
  if (!mkdtemp(dir)) throw std::runtime_error("mkdtemp failed");
  std::string in = std::string(dir) + "/t.asm", out = std::string(dir) + "/t.bin",
              log = std::string(dir) + "/log";
  { std::ofstream(in) << src << "\n"; }
  std::string cmd = "nasm -f bin -o " + out + " " + in + " 2>" + log;
  int rc = std::system(cmd.c_str());
  std::ifstream f(out, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), {});
  std::ifstream lf(log);
  std::string msg((std::istreambuf_iterator<char>(lf)), {});
  std::system(("rm -rf " + std::string(dir)).c_str());
  if (rc != 0) throw std::runtime_error("nasm failed:\n" + msg + "\n" + src);
  return bytes;
}

// 8-byte code/data/system descriptor (SDM Vol. 3A 3.4.5). `type` is the 4-bit type,
// `s` the S bit; `flags` holds AVL(0x1), L(0x2), D/B(0x4), G(0x8) as bits 52-55 >> 52.
inline uint64_t seg_desc(uint32_t base, uint32_t limit, unsigned type, bool s, unsigned dpl,
                         bool p = true, unsigned flags = 0xC) {
  uint64_t d = (limit & 0xFFFFull) | (uint64_t(base & 0xFFFFFF) << 16) |
               (uint64_t(type & 0xF) << 40) | (uint64_t(s) << 44) | (uint64_t(dpl & 3) << 45) |
               (uint64_t(p) << 47) | (uint64_t((limit >> 16) & 0xF) << 48) |
               (uint64_t(flags & 0xF) << 52) | (uint64_t(base >> 24) << 56);
  return d;
}
inline uint64_t code32(unsigned dpl = 0, bool conforming = false) {
  return seg_desc(0, 0xFFFFF, conforming ? 0xF : 0xB, true, dpl);
}
inline uint64_t code64(unsigned dpl = 0) { return seg_desc(0, 0xFFFFF, 0xB, true, dpl, true, 0xA); }
inline uint64_t data32(unsigned dpl = 0) { return seg_desc(0, 0xFFFFF, 0x3, true, dpl); }
// Legacy (8-byte) gate: interrupt 0xE, trap 0xF, call 0xC, task 0x5 (32-bit types).
inline uint64_t gate32(uint16_t sel, uint32_t off, unsigned type, unsigned dpl, unsigned params = 0) {
  return (off & 0xFFFFull) | (uint64_t(sel) << 16) | (uint64_t(params & 0x1F) << 32) |
         (uint64_t(type & 0xF) << 40) | (uint64_t(dpl & 3) << 45) | (1ull << 47) |
         (uint64_t(off >> 16) << 48);
}
// IA-32e 16-byte gate: returns {low, high}.
struct Gate64 {
  uint64_t lo, hi;
};
inline Gate64 gate64(uint16_t sel, uint64_t off, unsigned type, unsigned dpl, unsigned ist = 0) {
  uint64_t lo = (off & 0xFFFF) | (uint64_t(sel) << 16) | (uint64_t(ist & 7) << 32) |
                (uint64_t(type & 0xF) << 40) | (uint64_t(dpl & 3) << 45) | (1ull << 47) |
                (((off >> 16) & 0xFFFF) << 48);
  return {lo, off >> 32};
}

// A machine with 16 MiB of RAM; code and tables are written straight into RAM.
struct Rig {
  sim::Machine m;
  Rig() : m(config()) {}
  static sim::MachineConfig config() {
    sim::MachineConfig c;
    c.ram_bytes = 16 << 20;
    return c;
  }
  uint8_t* ram() { return m.mem().ram(); }
  void load(uint64_t pa, const std::vector<uint8_t>& bytes) {
    if (!bytes.empty()) std::memcpy(ram() + pa, bytes.data(), bytes.size());
  }
  void w8(uint64_t pa, uint8_t v) { ram()[pa] = v; }
  void w16(uint64_t pa, uint16_t v) { std::memcpy(ram() + pa, &v, 2); }
  void w32(uint64_t pa, uint32_t v) { std::memcpy(ram() + pa, &v, 4); }
  void w64(uint64_t pa, uint64_t v) { std::memcpy(ram() + pa, &v, 8); }
  uint64_t r64(uint64_t pa) { uint64_t v; std::memcpy(&v, ram() + pa, 8); return v; }
  uint32_t r32(uint64_t pa) { uint32_t v; std::memcpy(&v, ram() + pa, 4); return v; }
  uint16_t r16(uint64_t pa) { uint16_t v; std::memcpy(&v, ram() + pa, 2); return v; }
  // Assembles and loads `src` at physical `pa` (the source's org should match).
  void asm_at(uint64_t pa, const std::string& src) { load(pa, nasm(src)); }
  isa::Cpu& cpu() { return m.cpu(); }
  uint64_t reg(unsigned r) { return m.cpu().r[r]; }
  sim::RunResult run(uint64_t max_insns = 1000000) {
    sim::RunLimits l;
    l.max_insns = max_insns;
    return m.run(l);
  }
};

}  // namespace systest
