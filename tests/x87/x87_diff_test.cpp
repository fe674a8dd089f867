// Differential test of every x87 form (D8-DF, 9B) against the host CPU: random x87
// states (tags, TOP, precision/rounding control, masks, special operands) and memory
// operands; the simulator and the host run the same instruction from the same state and
// must agree on the whole x87 state (FXSAVE64 image: FCW, FSW, abridged tags, FOP, FIP,
// FDP, registers), RFLAGS, AX and the memory operand.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include "harness.h"
#include "isa/bind.h"

using namespace isa;
using namespace x87test;

namespace {

X87Reg make80(uint16_t se, uint64_t sig) { return X87Reg{sig, se, {}}; }

// An 80-bit value: mostly ordinary numbers, often special ones.
X87Reg random80(Rng& r) {
  uint16_t sign = r.chance(50) ? 0x8000 : 0;
  uint64_t frac = r.next() >> 1;
  switch (r.below(16)) {
    case 0: return make80(sign, 0);                                         // zero
    case 1: return make80(sign | 0x7FFF, 1ull << 63);                       // infinity
    case 2: return make80(sign | 0x7FFF, (3ull << 62) | (frac >> 2));       // QNaN
    case 3: return make80(sign | 0x7FFF, (1ull << 63) | ((frac >> 2) | 1)); // SNaN
    case 4: return make80(sign, frac);                                      // denormal
    case 5: return make80(sign | uint16_t(1 + r.below(0x7FFE)), frac);      // unnormal
    case 6: return make80(sign | uint16_t(r.chance(50) ? 0x7FFE : 1), (1ull << 63) | frac);  // extremes
    case 7: return make80(sign | 0x3FFF, 1ull << 63);                       // +-1
    case 8: {                                                               // small integer
      long double v = (long double)(int64_t(r.below(2000)) - 1000) + (r.chance(30) ? 0.5L : 0);
      X87Reg x;
      std::memcpy(static_cast<void*>(&x), &v, 10);
      return x;
    }
    case 9: return make80(sign | uint16_t(0x3FFF + 62 + r.below(4)), (1ull << 63) | frac);  // ~2^63
    default: return make80(sign | uint16_t(0x3FFF - 40 + r.below(80)), (1ull << 63) | frac);
  }
}

// Memory operand bytes for a form, by its operand type.
void random_mem(Rng& r, const std::string& name, uint8_t* m) {
  X87Reg v = random80(r);
  long double ld;
  std::memcpy(&ld, &v, 10);
  if (name.find("m32fp") != std::string::npos) {
    float f = float(ld);
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    if (r.chance(10)) bits = (bits & 0x807FFFFF) | (r.chance(50) ? 0 : 0x7F800000);  // denormal / NaN
    std::memcpy(m, &bits, 4);
  } else if (name.find("m64fp") != std::string::npos) {
    double f = double(ld);
    uint64_t bits;
    std::memcpy(&bits, &f, 8);
    if (r.chance(10)) bits = (bits & 0x800FFFFFFFFFFFFFull) | (r.chance(50) ? 0 : 0x7FF0000000000000ull);
    std::memcpy(m, &bits, 8);
  } else if (name.find("int") != std::string::npos && name.find("fi") == 0 && name.find("fist") != 0) {
    int64_t i = r.chance(50) ? int64_t(r.below(2001)) - 1000 : int64_t(r.next());
    if (r.chance(5)) i = 0;
    std::memcpy(m, &i, 8);
  } else if (name.find("m80bcd") != std::string::npos) {
    for (unsigned k = 0; k < 9; k++) m[k] = uint8_t(r.below(10) | r.below(10) << 4);
    m[9] = r.chance(50) ? 0x80 : 0;
  } else if (name.find("m80fp") != std::string::npos) {
    std::memcpy(m, &v, 10);
  }
}

struct Case {
  uint16_t fcw, fsw, fop;
  uint8_t tags;  // abridged: bit p = R[p] not empty
  uint64_t fip, fdp, rflags, rax;
  X87Reg st[8];
};

Case random_case(Rng& r, bool unmasked) {
  Case k{};
  unsigned masks = unmasked ? unsigned(r.next() & 0x3F) : 0x3F;
  k.fcw = uint16_t(0x40 | masks | (r.chance(20) ? 0 : r.chance(50) ? 0x300 : 0x200) | r.below(4) << 10);
  unsigned top = r.below(8);
  unsigned flags = unsigned(r.next() & 0x3F) & masks;  // only masked flags pending: no ES
  k.fsw = uint16_t((top << 11) | (r.next() & 0x4700) | flags);
  k.tags = 0;
  for (unsigned i = 0; i < 8; i++) {
    unsigned p = (top + i) & 7;
    // ST(0)/ST(1) nearly always present, deeper ones half the time, ST(7) sometimes.
    unsigned pct = i < 2 ? 92 : i == 7 ? 25 : 50;
    if (r.chance(pct)) k.tags |= uint8_t(1u << p);
    k.st[p] = random80(r);
  }
  k.fop = uint16_t(r.next() & 0x7FF);
  k.fip = r.next() & 0x7FFFFFFFFFFFull;
  k.fdp = r.next() & 0x7FFFFFFFFFFFull;
  k.rflags = 0x202 | (r.next() & 0x8D5);
  k.rax = r.next();
  return k;
}

void to_image(const Case& k, Image& img) {
  std::memset(img.b, 0, sizeof img.b);
  uint8_t* a = img.b;
  std::memcpy(a + 0, &k.fcw, 2);
  std::memcpy(a + 2, &k.fsw, 2);
  a[4] = k.tags;
  std::memcpy(a + 6, &k.fop, 2);
  std::memcpy(a + 8, &k.fip, 8);
  std::memcpy(a + 16, &k.fdp, 8);
  uint32_t mx = 0x1F80, mask = 0xFFFF;
  std::memcpy(a + 24, &mx, 4);
  std::memcpy(a + 28, &mask, 4);
  unsigned top = (k.fsw >> 11) & 7;
  for (unsigned i = 0; i < 8; i++) std::memcpy(a + 32 + 16 * i, &k.st[(top + i) & 7], 10);
  uint64_t bv = 7;
  std::memcpy(a + 512, &bv, 8);
  std::memcpy(a + kOffFlags, &k.rax, 8);  // RAX input
}

void load_sim(Cpu& c, const Image& img, const Case& k) {
  x87::fxrstor_x87(c, img.b, true);
  c.set_rflags(k.rflags);
  c.r[RAX] = k.rax;
}

void save_sim(Cpu& c, Image& out) {
  std::memset(out.b, 0, sizeof out.b);
  x87::fxsave_x87(c, out.b, true);
  uint64_t f = c.get_rflags();
  std::memcpy(out.b + kOffFlags, &f, 8);
  std::memcpy(out.b + kOffRaxOut, &c.r[RAX], 8);
}

std::string hex(const uint8_t* p, unsigned n) {
  std::string s;
  char buf[4];
  for (unsigned i = 0; i < n; i++) {
    std::snprintf(buf, sizeof buf, "%02x", p[i]);
    s += buf;
    if (i % 16 == 15) s += ' ';
  }
  return s;
}

// FCW FSW tag FOP, then ST(0)..ST(3) as sign/exponent:significand.
std::string state(const uint8_t* a) {
  char buf[256];
  uint16_t fcw, fsw, fop;
  std::memcpy(&fcw, a, 2);
  std::memcpy(&fsw, a + 2, 2);
  std::memcpy(&fop, a + 6, 2);
  int n = std::snprintf(buf, sizeof buf, "fcw=%04x fsw=%04x(top%u) tag=%02x fop=%03x |", fcw, fsw,
                        (fsw >> 11) & 7, a[4], fop);
  for (unsigned i = 0; i < 4; i++) {
    uint64_t sig;
    uint16_t se;
    std::memcpy(&sig, a + 32 + 16 * i, 8);
    std::memcpy(&se, a + 40 + 16 * i, 2);
    n += std::snprintf(buf + n, sizeof buf - n, " %04x:%016llx", se, (unsigned long long)sig);
  }
  return buf;
}

struct Arena {
  static constexpr size_t kSize = 1 << 16;
  uint8_t* p;
  Arena() : p(static_cast<uint8_t*>(aligned_alloc(4096, kSize))) {}
  ~Arena() { free(p); }
};

bool is_x87_form(const FormInfo& f) {
  return f.map == ONE && ((f.opcode >= 0xD8 && f.opcode <= 0xDF) || f.opcode == 0x9B);
}

// One form: `n` random cases; returns the number of mismatches (first few described).
unsigned diff_form(Form form, unsigned n, Rng& rng, Native& nat, Arena& arena, unsigned& compared,
                   std::string& report) {
  const FormInfo& fi = form_info(form);
  std::string name = fi.name;
  FlatBus bus;
  bus.lo = reinterpret_cast<uintptr_t>(arena.p);
  bus.size = Arena::kSize;
  uint8_t* mem_host = arena.p + 1024;
  unsigned bad = 0;
  bool env = name.find("env") != std::string::npos || name.find("save") != std::string::npos ||
             name.find("rstor") != std::string::npos;
  for (unsigned t = 0; t < n; t++) {
    uint8_t insn[8];
    unsigned len = 0;
    int32_t disp = 0;
    if (env && rng.chance(30)) insn[len++] = 0x66;
    insn[len++] = fi.opcode;
    if (fi.modrm == MEM) {
      // [rbx], [rbx+disp8] or [rbx+disp32]: FOP holds the ModRM byte, rebuilt by the
      // simulator from the decoded operand.
      unsigned mod = rng.below(3);
      insn[len++] = uint8_t((mod << 6) | (fi.reg << 3) | 3);
      if (mod == 1) {
        disp = int8_t(0x40 - int(rng.below(0x80)));
        if (disp == 0) disp = 8;
        insn[len++] = uint8_t(disp);
      } else if (mod == 2) {
        disp = 0x100 + int32_t(rng.below(0x100));
        std::memcpy(insn + len, &disp, 4);
        len += 4;
      }
    } else if (fi.modrm == REG) insn[len++] = uint8_t(0xC0 | (fi.reg << 3) | (fi.rm >= 0 ? fi.rm : int(rng.below(8))));
    Case k = random_case(rng, rng.chance(25));
    Image in, out_host, out_sim;
    to_image(k, in);
    uint8_t mem0[128];
    for (auto& b : mem0) b = uint8_t(rng.next());
    random_mem(rng, name, mem0);

    // Host.
    uint64_t at = nat.place(insn, len);
    std::memcpy(mem_host, mem0, sizeof mem0);
    std::memset(out_host.b, 0, sizeof out_host.b);
    nat.run(in.b, out_host.b, mem_host - disp, k.rflags);
    uint8_t mem_after_host[128];
    std::memcpy(mem_after_host, mem_host, sizeof mem0);

    // Simulator, on the very same buffer address (so FDP matches).
    std::memcpy(mem_host, mem0, sizeof mem0);
    Cpu c;
    init_cpu(c, bus);
    load_sim(c, in, k);
    c.r[RBX] = reinterpret_cast<uint64_t>(mem_host - disp);
    int fault = run_sim(c, insn, len, at);
    save_sim(c, out_sim);
    compared++;

    bool ok = fault < 0;
    ok &= std::memcmp(out_host.b, out_sim.b, 24) == 0;
    ok &= std::memcmp(out_host.b + 32, out_sim.b + 32, 128) == 0;
    uint64_t fh, fs, ah, as;
    std::memcpy(&fh, out_host.b + kOffFlags, 8);
    std::memcpy(&fs, out_sim.b + kOffFlags, 8);
    std::memcpy(&ah, out_host.b + kOffRaxOut, 8);
    std::memcpy(&as, out_sim.b + kOffRaxOut, 8);
    ok &= (fh & 0x8D5) == (fs & 0x8D5) && ah == as;
    ok &= std::memcmp(mem_after_host, mem_host, sizeof mem0) == 0;
    if (!ok && bad++ < 1) {
      report += name + " insn=" + hex(insn, len) + (fault >= 0 ? " FAULT " + std::to_string(fault) : "") + "\n";
      report += "  in   " + state(in.b) + "\n";
      report += "  host " + state(out_host.b) + "\n";
      report += "  sim  " + state(out_sim.b) + "\n";
      report += "  flags " + std::to_string(fh & 0x8D5) + "/" + std::to_string(fs & 0x8D5) + " ax " +
                std::to_string(ah & 0xFFFF) + "/" + std::to_string(as & 0xFFFF) + "\n";
      report += "  mem0 " + hex(mem0, 28) + "\n  memh " + hex(mem_after_host, 28) + "\n  mems " + hex(mem_host, 28) + "\n";
    }
  }
  return bad;
}

}  // namespace

TEST_CASE("x87.host_differential", "[x87][hostdiff]") {
  Native nat;
  Arena arena;
  Rng rng(0x87870001);
  unsigned forms = 0, compared = 0, bad_forms = 0;
  std::string report;
  for (unsigned f = 1; f < kFormCount; f++) {
    if (!is_x87_form(kForms[f])) continue;
    forms++;
    unsigned bad = diff_form(Form(f), 1000, rng, nat, arena, compared, report);
    if (bad) {
      bad_forms++;
      report += std::string("  => ") + kForms[f].name + ": " + std::to_string(bad) + " mismatches\n";
    }
  }
  INFO(report);
  std::printf("x87 host differential: %u forms, %u cases, %u forms with mismatches\n", forms, compared, bad_forms);
  CHECK(bad_forms == 0);
  CHECK(forms == 145);  // every row of opcodes_x87.def
}
