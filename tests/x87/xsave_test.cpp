// FXSAVE/FXRSTOR, XSAVE/XSAVEOPT/XSAVEC/XRSTOR (standard and compacted), (V)LDMXCSR and
// (V)STMXCSR: differential against the host CPU with random x87/SSE/AVX state, random
// masks (EDX:EAX within x87|SSE|AVX) and random, sometimes invalid, save areas; plus
// hand-written cases for XGETBV/XSETBV and the #UD/#NM/#GP rules.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include "harness.h"
#include "isa/bind.h"

using namespace isa;
using namespace x87test;

namespace {

uint32_t random_mxcsr(Rng& r) {
  if (r.chance(40)) return 0x1F80;
  return uint32_t(r.next() & 0xFFFF);
}

// A standard-format XSAVE image of a random state. Components not in `bv` hold their
// initial values (so that the image means the same whether or not it is loaded).
void random_state(Rng& r, uint8_t* a, uint64_t bv) {
  std::memset(a, 0, 832);
  if (bv & 1) {
    uint16_t fcw = uint16_t(0x40 | 0x3F | r.below(4) << 8 | r.below(4) << 10);
    uint16_t fsw = uint16_t((r.below(8) << 11) | (r.next() & 0x473F));
    std::memcpy(a, &fcw, 2);
    std::memcpy(a + 2, &fsw, 2);
    a[4] = uint8_t(r.next());
    uint16_t fop = uint16_t(r.next() & 0x7FF);
    std::memcpy(a + 6, &fop, 2);
    uint64_t fip = r.next() & 0x7FFFFFFFFFFFull, fdp = r.next() & 0x7FFFFFFFFFFFull;
    std::memcpy(a + 8, &fip, 8);
    std::memcpy(a + 16, &fdp, 8);
    for (unsigned i = 0; i < 8; i++) {
      uint64_t sig = r.next();
      uint16_t se = uint16_t(r.next());
      std::memcpy(a + 32 + 16 * i, &sig, 8);
      std::memcpy(a + 40 + 16 * i, &se, 2);
    }
  } else {
    uint16_t fcw = 0x037F;
    std::memcpy(a, &fcw, 2);
  }
  uint32_t mx = random_mxcsr(r);
  std::memcpy(a + 24, &mx, 4);
  if (bv & 2)
    for (unsigned i = 0; i < 256; i += 8) {
      uint64_t v = r.chance(10) ? 0 : r.next();
      std::memcpy(a + 160 + i, &v, 8);
    }
  if (bv & 4)
    for (unsigned i = 0; i < 256; i += 8) {
      uint64_t v = r.chance(10) ? 0 : r.next();
      std::memcpy(a + 576 + i, &v, 8);
    }
  std::memcpy(a + 512, &bv, 8);
}

void load_sim(Cpu& c, const uint8_t* a) {
  x87::fxrstor_x87(c, a, true);
  std::memcpy(&c.mxcsr, a + 24, 4);
  for (unsigned i = 0; i < 16; i++) {
    std::memcpy(c.v[i].u8, a + 160 + 16 * i, 16);
    std::memcpy(c.v[i].u8 + 16, a + 576 + 16 * i, 16);
  }
}

void save_sim(const Cpu& c, uint8_t* a) {
  std::memset(a, 0, 832);
  x87::fxsave_x87(c, a, true);
  std::memcpy(a + 24, &c.mxcsr, 4);
  for (unsigned i = 0; i < 16; i++) {
    std::memcpy(a + 160 + 16 * i, c.v[i].u8, 16);
    std::memcpy(a + 576 + 16 * i, c.v[i].u8 + 16, 16);
  }
}

bool same_state(const uint8_t* h, const uint8_t* s) {
  return std::memcmp(h, s, 28) == 0 && std::memcmp(h + 32, s + 32, 128 + 256) == 0 &&
         std::memcmp(h + 576, s + 576, 256) == 0;
}

std::string diff_bytes(const uint8_t* h, const uint8_t* s, unsigned n) {
  std::string out;
  char buf[64];
  unsigned shown = 0;
  for (unsigned i = 0; i < n && shown < 12; i++)
    if (h[i] != s[i]) {
      std::snprintf(buf, sizeof buf, " [%u]=%02x/%02x", i, h[i], s[i]);
      out += buf;
      shown++;
    }
  return out;
}

struct Enc {
  const char* name;
  uint8_t bytes[5];
  unsigned len;
  bool restore;  // the memory operand is an image to load
};

const Enc kEncs[] = {
    {"fxsave", {0x0F, 0xAE, 0x03}, 3, false},       {"fxsave64", {0x48, 0x0F, 0xAE, 0x03}, 4, false},
    {"fxrstor", {0x0F, 0xAE, 0x0B}, 3, true},       {"fxrstor64", {0x48, 0x0F, 0xAE, 0x0B}, 4, true},
    {"ldmxcsr", {0x0F, 0xAE, 0x13}, 3, true},       {"stmxcsr", {0x0F, 0xAE, 0x1B}, 3, false},
    {"vldmxcsr", {0xC5, 0xF8, 0xAE, 0x13}, 4, true}, {"vstmxcsr", {0xC5, 0xF8, 0xAE, 0x1B}, 4, false},
    {"xsave", {0x0F, 0xAE, 0x23}, 3, false},        {"xsave64", {0x48, 0x0F, 0xAE, 0x23}, 4, false},
    {"xrstor", {0x0F, 0xAE, 0x2B}, 3, true},        {"xrstor64", {0x48, 0x0F, 0xAE, 0x2B}, 4, true},
    {"xsaveopt", {0x0F, 0xAE, 0x33}, 3, false},     {"xsaveopt64", {0x48, 0x0F, 0xAE, 0x33}, 4, false},
    {"xsavec", {0x0F, 0xC7, 0x23}, 3, false},       {"xsavec64", {0x48, 0x0F, 0xC7, 0x23}, 4, false},
};

}  // namespace

TEST_CASE("xsave.host_differential", "[x87][xsave][hostdiff]") {
  Native nat;
  Rng rng(0x5A7E0001);
  uint8_t* arena = static_cast<uint8_t*>(aligned_alloc(4096, 1 << 16));
  FlatBus bus;
  bus.lo = reinterpret_cast<uintptr_t>(arena);
  bus.size = 1 << 16;
  uint8_t* mem = arena + 4096;  // 64-byte aligned save area
  alignas(64) static Image in, out_host, out_sim;
  static uint8_t mem0[1024], mem_host[1024];
  unsigned compared = 0, bad = 0;
  std::string report;
  for (const Enc& e : kEncs) {
    unsigned bad_here = 0;
    for (unsigned t = 0; t < 400; t++) {
      uint64_t bv_in = rng.chance(70) ? 7 : rng.below(8);
      std::memset(in.b, 0, sizeof in.b);
      random_state(rng, in.b, bv_in);
      uint64_t mask = rng.chance(60) ? 7 : rng.below(8);
      uint64_t rax = mask | (rng.next() & 0xFFFFFFFF00000000ull);
      std::memcpy(in.b + kOffFlags, &rax, 8);  // RAX; RDX = 0 below
      uint64_t rdx = 0;
      std::memcpy(in.b + kOffRdx, &rdx, 8);

      for (auto& b : mem0) b = uint8_t(rng.next());
      if (e.restore) {
        random_state(rng, mem0, rng.below(8));
        std::memset(mem0 + 520, 0, 56);
        if (rng.chance(25)) {  // compacted form
          uint64_t comp = (1ull << 63) | rng.below(8);
          std::memcpy(mem0 + 520, &comp, 8);
          if (rng.chance(70)) {
            uint64_t bv;
            std::memcpy(&bv, mem0 + 512, 8);
            bv &= comp;
            std::memcpy(mem0 + 512, &bv, 8);
          }
        }
        if (rng.chance(8)) mem0[512 + 8 + rng.below(56)] = uint8_t(rng.next() | 1);  // reserved
        if (rng.chance(8)) mem0[27] = 1;                                           // bad MXCSR
        if (rng.chance(8)) mem0[512] |= 8;                                         // bit not in XCR0
      } else {
        uint64_t bv = rng.next() & ~0x7FFFFull;  // stray upper XSTATE_BV bits survive XSAVE
        bv |= rng.below(8);
        std::memcpy(mem0 + 512, &bv, 8);
      }

      uint64_t at = nat.place(e.bytes, e.len);
      std::memcpy(mem, mem0, sizeof mem0);
      std::memset(out_host.b, 0, sizeof out_host.b);
      int sig = nat.run_catching(in.b, out_host.b, mem, 0x202);
      std::memcpy(mem_host, mem, sizeof mem0);

      std::memcpy(mem, mem0, sizeof mem0);
      Cpu c;
      init_cpu(c, bus);
      load_sim(c, in.b);
      c.r[RAX] = rax;
      c.r[RDX] = rdx;
      c.r[RBX] = reinterpret_cast<uint64_t>(mem);
      int vec = run_sim(c, e.bytes, e.len, at);
      save_sim(c, out_sim.b);
      compared++;

      bool host_faulted = sig != 0;
      bool ok = host_faulted == (vec >= 0);
      if (host_faulted && vec >= 0) ok &= (sig == SIGSEGV && vec == VEC_GP);
      if (!host_faulted && vec < 0) {
        ok &= same_state(out_host.b, out_sim.b);
        ok &= std::memcmp(mem_host, mem, sizeof mem0) == 0;
      }
      if (!ok && bad_here++ < 2) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "%s: bv_in=%llx mask=%llx sig=%d vec=%d\n", e.name,
                      (unsigned long long)bv_in, (unsigned long long)mask, sig, vec);
        report += buf;
        report += "  state host/sim:" + diff_bytes(out_host.b, out_sim.b, 832) + "\n";
        report += "  mem host/sim:" + diff_bytes(mem_host, mem, 1024) + "\n";
      }
    }
    bad += bad_here;
  }
  free(arena);
  INFO(report);
  std::printf("xsave host differential: %u cases, %u mismatches\n", compared, bad);
  CHECK(bad == 0);
}
