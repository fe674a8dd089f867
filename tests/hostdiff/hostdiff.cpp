// Host differential harness (see hostdiff.h). Layout of the fixed mappings, the
// same natively (in the child) and in the simulator (FlatBus regions):
//   kCtx    harness context: input/output State, saved host RSP (native only)
//   kCode   entry stub, capture stub, the instruction at kInsn, landing pads
//   kData   data buffer (memory operands, string operands)
//   kStack  stack buffer (RSP points into it)
#include "tests/hostdiff/hostdiff.h"

#include <signal.h>
#include <setjmp.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>

#include "isa/bind.h"
#include "isa/cpu.h"
#include "isa/decoded_inst.h"
#include "sim/cpu_model.h"
#include "tests/support/flat_bus.h"

namespace hostdiff {
namespace {

using isa::Form;

constexpr uint64_t kCtx = 0x10000000, kCtxSize = 0x10000;
constexpr uint64_t kCode = 0x20000000, kCodeSize = 0x10000;
constexpr uint64_t kInsn = kCode + 0x8000;
constexpr unsigned kPreMax = 8;  // [kInsn - 8, kInsn): NOPs then the flag-setting pre-instruction
constexpr uint64_t kCapture = kCode + 0x400;
constexpr uint64_t kTargetLo = kCode + 0x1000, kTargetHi = kCode + 0xF000;
constexpr uint64_t kData = 0x30000000, kDataSize = 0x4000;
constexpr uint64_t kStack = 0x38000000, kStackSize = 0x4000;
constexpr unsigned kPad = 17;  // landing pad: mov qword [abs], imm32 (12) + jmp rel32 (5)

// Architectural state in the layout the native stubs use.
struct alignas(64) State {
  uint64_t gpr[16];
  uint64_t rflags;
  uint64_t rip;
  uint64_t pad[2];
  alignas(16) uint8_t fx[512];  // FXSAVE64 image: FCW FSW FTW(abridged) .. MXCSR, ST0-7, XMM0-15
  alignas(32) uint8_t ymm[16][32];
};
static_assert(offsetof(State, fx) % 16 == 0 && offsetof(State, ymm) % 32 == 0);
constexpr uint64_t kIn = kCtx, kOut = kCtx + 0x1000, kHostRsp = kCtx + 0x2000, kMxcsrInit = kCtx + 0x2008;

// FXSAVE image offsets (SDM Vol. 2A FXSAVE, Table 3-53, 64-bit format).
constexpr unsigned FX_FCW = 0, FX_FSW = 2, FX_FTW = 4, FX_MXCSR = 24, FX_ST = 32;

// ---- randomness -------------------------------------------------------------------
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull) {}
  uint64_t next() {  // splitmix64
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return n ? next() % n : 0; }
  bool chance(unsigned percent) { return below(100) < percent; }
  uint64_t range(uint64_t lo, uint64_t hi) { return lo + below(hi - lo); }
};

uint64_t interesting(Rng& r) {
  static const uint64_t k[] = {0, 1, 2, ~0ull, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF,
                               0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x100000000ull,
                               0x7FFFFFFFFFFFFFFFull, 0x8000000000000000ull, 0xFFFFFFFF00000000ull};
  return k[r.below(sizeof(k) / sizeof(k[0]))];
}
uint64_t random_value(Rng& r) {
  switch (r.below(8)) {
    case 0: case 1: return r.below(256);
    case 2: return uint64_t(-int64_t(r.below(16) + 1));
    case 3: return interesting(r);
    case 4: return kData + r.range(0x400, kDataSize - 0x400);
    case 5: return r.next() & 0xFFFFFFFF;
    default: return r.next();
  }
}

// ---- per-form data -----------------------------------------------------------------
enum Rule { R_NONE, R_SHIFT, R_ROT, R_SHXD, R_BSF };
struct Undef {
  uint32_t mask;
  Rule rule;
};
namespace fl {
constexpr uint32_t CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;
}

const std::map<Form, Undef>& undef_table() {
  static const std::map<Form, Undef> t = [] {
    using namespace fl;
    std::map<Form, Undef> m;
#define UNDEF(form, mask, rule, cite) m[Form::form] = Undef{uint32_t(mask), rule};
#include "tests/hostdiff/undefined_flags.def"
#undef UNDEF
    return m;
  }();
  return t;
}
const std::map<Form, const char*>& exclusions() {
  static const std::map<Form, const char*> t = [] {
    std::map<Form, const char*> m;
#define EXCLUDE(form, reason) m[Form::form] = reason;
#include "tests/hostdiff/exclusions.def"
#undef EXCLUDE
    return m;
  }();
  return t;
}

bool is_name(Form f, const char* n) { return std::strcmp(isa::form_info(f).name, n) == 0; }
bool name_starts(Form f, const char* p) {
  return std::strncmp(isa::form_info(f).name, p, std::strlen(p)) == 0;
}

// ---- cases -----------------------------------------------------------------------
struct Patch {
  uint64_t addr;
  uint8_t len;
  uint8_t bytes[16];
};

struct Case {
  uint8_t bytes[16];
  unsigned len = 0;
  isa::DecodedInst d;
  State in;
  uint64_t mem_seed = 0;
  bool small_alphabet = false;
  std::vector<Patch> patches;
  uint64_t target = 0;  // branch target with a landing pad, 0 if none
  // Optional register-only instruction run first (natively and in the simulator),
  // so the tested one sees flags in the lazy form each ALU kind leaves them in.
  uint8_t pre[kPreMax];
  unsigned pre_len = 0;
  uint32_t pre_undef = 0;  // flags the pre-instruction leaves undefined (masked too)
};

void patch_mem(Case& c, uint64_t addr, const void* p, unsigned len) {
  Patch x{addr, uint8_t(len), {}};
  std::memcpy(x.bytes, p, len);
  c.patches.push_back(x);
}

void fill_memory(const Case& c, uint8_t* data, uint8_t* stack) {
  Rng r(c.mem_seed);
  static const uint8_t alpha[4] = {0x00, 0xFF, 0x55, 0x01};
  for (uint64_t i = 0; i < kDataSize; i += 8) {
    uint64_t v = r.next();
    if (c.small_alphabet)
      for (unsigned k = 0; k < 8; k++) data[i + k] = alpha[(v >> (2 * k)) & 3];
    else
      std::memcpy(data + i, &v, 8);
  }
  for (uint64_t i = 0; i < kStackSize; i += 8) {
    uint64_t v = r.next();
    std::memcpy(stack + i, &v, 8);
  }
  for (const Patch& p : c.patches) {
    for (unsigned k = 0; k < p.len; k++) {
      uint64_t a = p.addr + k;
      if (a - kData < kDataSize) data[a - kData] = p.bytes[k];
      else if (a - kStack < kStackSize) stack[a - kStack] = p.bytes[k];
    }
  }
}

// A random x87 register value in the 80-bit format, mostly normal numbers.
void random_st(Rng& r, uint8_t* p) {
  uint64_t sig;
  uint16_t se;
  switch (r.below(10)) {
    case 0: sig = 0, se = 0; break;  // zero
    case 1: {  // small integer
      int64_t v = int64_t(r.below(2000)) - 1000;
      long double x = (long double)v;
      std::memcpy(p, &x, 10);
      return;
    }
    case 2: sig = 0x8000000000000000ull, se = 0x7FFF; break;  // infinity
    case 3: sig = 0xC000000000000000ull | (r.next() >> 2), se = 0x7FFF; break;  // QNaN
    default: sig = r.next() | 0x8000000000000000ull, se = uint16_t(0x3FFF + int(r.below(140)) - 70);
  }
  if (r.chance(50)) se |= 0x8000;
  std::memcpy(p, &sig, 8);
  std::memcpy(p + 8, &se, 2);
}

void random_fp_state(Rng& r, State& s) {
  std::memset(s.fx, 0, sizeof(s.fx));
  uint16_t fcw = 0x037F;
  if (r.chance(50)) fcw = uint16_t((fcw & ~0xF00) | (r.below(4) << 8) | (r.below(4) << 10));
  uint16_t fsw = uint16_t((r.below(8) << 11) | (r.chance(30) ? r.below(64) & 0x3F : 0));
  if (r.chance(20)) fsw |= uint16_t(r.below(16) << 8) & 0x4700;  // C0-C3
  uint8_t ftw = 0;
  for (unsigned i = 0; i < 8; i++)
    if (r.chance(70)) ftw |= uint8_t(1 << i);
  std::memcpy(s.fx + FX_FCW, &fcw, 2);
  std::memcpy(s.fx + FX_FSW, &fsw, 2);
  s.fx[FX_FTW] = ftw;
  uint32_t mxcsr = 0x1F80 | uint32_t(r.below(4) << 13);
  if (r.chance(20)) mxcsr |= 0x8040;  // FTZ, DAZ
  if (r.chance(30)) mxcsr |= uint32_t(r.below(64));
  std::memcpy(s.fx + FX_MXCSR, &mxcsr, 4);
  for (unsigned i = 0; i < 8; i++) random_st(r, s.fx + FX_ST + 16 * i);
  for (unsigned i = 0; i < 16; i++) {
    for (unsigned q = 0; q < 4; q++) {
      uint64_t v;
      switch (r.below(4)) {
        case 0: { double x = (double(int64_t(r.next() >> 11)) - 4e15) / double(1 + r.below(1000)); std::memcpy(&v, &x, 8); break; }
        case 1: { float a = float(int32_t(r.below(200000)) - 100000) / 64.0f, b = float(r.next() >> 40) * 0.001f;
                  uint32_t ua, ub; std::memcpy(&ua, &a, 4); std::memcpy(&ub, &b, 4); v = ua | uint64_t(ub) << 32; break; }
        case 2: v = random_value(r); break;
        default: v = r.next();
      }
      std::memcpy(&s.ymm[i][q * 8], &v, 8);
    }
    std::memcpy(s.fx + 160 + 16 * i, s.ymm[i], 16);
  }
}

// Builds one random encoding of `f`; false if this attempt did not decode as `f`.
struct Encoding {
  uint8_t b[32];
  unsigned n = 0;
  int disp_off = -1;  // offset of a disp32 that may be patched (RIP-relative / absolute)
  void put(uint8_t x) { b[n++] = x; }
};

bool encode(Rng& r, Form f, Encoding& e) {
  const isa::FormInfo& fi = isa::form_info(f);
  const bool vex = fi.flags & isa::F_VEX;
  bool has_mem_or_addr = fi.modrm != isa::NOMR || (fi.flags & isa::F_REP) || fi.imm == isa::OV ||
                         fi.iclass == isa::C_BRANCH || is_name(f, "xlat");
  // Legacy prefixes in random order.
  uint8_t pre[6];
  unsigned np = 0;
  if (!vex && fi.prefix == isa::PX && r.chance(25)) pre[np++] = 0x66;
  if (has_mem_or_addr && r.chance(10)) pre[np++] = 0x67;
  if (r.chance(10)) pre[np++] = uint8_t(0x26 + 8 * r.below(4));  // ES/CS/SS/DS: ignored in 64-bit mode
  if ((fi.flags & isa::F_LOCKABLE) && r.chance(30)) pre[np++] = 0xF0;
  if ((fi.flags & isa::F_REP) && r.chance(70)) pre[np++] = r.chance(50) ? 0xF3 : 0xF2;
  for (unsigned i = np; i > 1; i--) std::swap(pre[i - 1], pre[r.below(i)]);
  for (unsigned i = 0; i < np; i++) e.put(pre[i]);
  if (!vex) {
    if (fi.prefix == isa::P66) e.put(0x66);
    if (fi.prefix == isa::PF3) e.put(0xF3);
    if (fi.prefix == isa::PF2) e.put(0xF2);
  }
  uint8_t rex_wrxb = uint8_t(r.below(16));
  if (vex) {
    unsigned pp = fi.prefix == isa::P66 ? 1 : fi.prefix == isa::PF3 ? 2 : fi.prefix == isa::PF2 ? 3 : 0;
    unsigned w = (fi.flags & isa::F_W1) ? 1 : (fi.flags & isa::F_W0) ? 0 : unsigned(r.below(2));
    unsigned l = (fi.flags & isa::F_L1) ? 1 : (fi.flags & isa::F_L0) ? 0 : unsigned(r.below(2));
    unsigned vvvv = (fi.flags & isa::F_NOV) ? 0 : unsigned(r.below(16));
    e.put(0xC4);
    e.put(uint8_t((~rex_wrxb & 7) << 5 | unsigned(fi.map)));
    e.put(uint8_t(w << 7 | (~vvvv & 15) << 3 | l << 2 | pp));
  } else {
    if (r.chance(50)) e.put(uint8_t(0x40 | rex_wrxb));
    if (fi.map != isa::ONE) e.put(0x0F);
    if (fi.map == isa::M0F38) e.put(0x38);
    if (fi.map == isa::M0F3A) e.put(0x3A);
  }
  uint8_t op = fi.opcode;
  if (fi.flags & isa::F_CC16) op = uint8_t(op + r.below(16));
  if (fi.flags & isa::F_PLUSR) op = uint8_t(op + r.below(8));
  e.put(op);
  if (fi.modrm != isa::NOMR) {
    unsigned mod = fi.modrm == isa::REG ? 3 : fi.modrm == isa::MEM ? unsigned(r.below(3))
                                                                 : (r.chance(50) ? 3 : unsigned(r.below(3)));
    unsigned reg = fi.reg >= 0 ? unsigned(fi.reg) : unsigned(r.below(8));
    unsigned rm = fi.rm >= 0 ? unsigned(fi.rm) : unsigned(r.below(8));
    e.put(uint8_t(mod << 6 | reg << 3 | rm));
    if (mod != 3) {
      bool sib = rm == 4;
      unsigned base = rm;
      if (sib) {
        uint8_t s = uint8_t(r.below(256));
        e.put(s);
        base = s & 7;
      }
      if (mod == 1) {
        e.put(uint8_t(r.below(256)));
      } else if (mod == 2 || (mod == 0 && base == 5)) {
        e.disp_off = int(e.n);
        uint32_t d = uint32_t(r.next());
        std::memcpy(e.b + e.n, &d, 4);
        e.n += 4;
      }
    }
  }
  // Immediates: random bytes; the decoder tells how many belong to the instruction.
  for (unsigned i = 0; i < 8; i++) e.put(uint8_t(r.next()));
  return true;
}

uint64_t pick_target(Rng& r, unsigned len, bool rel8) {
  const uint64_t next = kInsn + len;
  for (;;) {
    uint64_t t;
    if (rel8) {
      int64_t rel = int64_t(r.below(256)) - 128;
      t = next + uint64_t(rel);
    } else {
      t = r.range(kTargetLo, kTargetHi);
    }
    if (t + kPad <= kInsn - kPreMax || t >= next + kPad) return t;
  }
}

bool make_case_once(Rng& r, Form f, Case& c);
void make_pre(Rng& r, Case& c);

// Some random instances cannot be run the same way on both sides (e.g. CALL RSP
// pushes into the code buffer the simulator does not map): draw another one.
bool make_case(Rng& r, Form f, Case& c) {
  for (int i = 0; i < 20; i++) {
    c = Case{};
    if (make_case_once(r, f, c)) {
      if (r.chance(50)) make_pre(r, c);
      return true;
    }
  }
  return false;
}

bool make_case_once(Rng& r, Form f, Case& c) {
  const isa::FormInfo& fi = isa::form_info(f);
  Encoding e;
  for (int attempt = 0;; attempt++) {
    if (attempt == 200) return false;
    e = Encoding{};
    encode(r, f, e);
    isa::DecodedInst d;
    if (isa::decode(e.b, 16, isa::CodeSize::k64, d) != isa::kDecodeOk || d.form != f) continue;
    c.d = d;
    break;
  }
  isa::DecodedInst& d = c.d;
  c.len = d.len;
  std::memcpy(c.bytes, e.b, 16);
  State& s = c.in;
  std::memset(&s, 0, sizeof(s));
  for (unsigned i = 0; i < 16; i++) s.gpr[i] = random_value(r);
  s.gpr[isa::RSP] = kStack + r.range(0x1800, 0x3000);
  if (r.chance(80)) s.gpr[isa::RSP] &= ~7ull;
  s.rflags = 0x202 | (r.next() & 0x8D5) | (r.chance(25) ? 0x400 : 0);
  random_fp_state(r, s);
  c.mem_seed = r.next();
  c.small_alphabet = r.chance(20);
  const unsigned osz = d.osize;

  // Class-specific operand setup.
  if (fi.iclass == isa::C_STRING) {
    s.gpr[isa::RSI] = kData + r.range(0x800, 0x3800);
    s.gpr[isa::RDI] = kData + r.range(0x800, 0x3800);
    s.gpr[isa::RCX] = r.chance(80) ? r.below(40) : r.below(3);
    if (d.asize == 4 && r.chance(30)) {
      for (unsigned g : {isa::RSI, isa::RDI, isa::RCX}) s.gpr[g] |= r.next() << 32;
    }
    if (r.chance(50)) {  // equal runs for REPE/REPNE CMPS/SCAS
      unsigned n = unsigned(r.below(64));
      uint8_t buf[16];
      for (unsigned k = 0; k < n; k += 16) {
        for (unsigned j = 0; j < 16; j++) buf[j] = is_name(f, "scasb") || is_name(f, "scasv") ? uint8_t(s.gpr[isa::RAX] >> (8 * (j % osz))) : uint8_t(r.next());
        uint64_t back = (s.rflags & 0x400) ? uint64_t(n) : 0;
        patch_mem(c, s.gpr[isa::RDI] - back + k, buf, 16);
        if (!is_name(f, "scasb") && !is_name(f, "scasv")) patch_mem(c, s.gpr[isa::RSI] - back + k, buf, 16);
      }
    }
  }
  if (name_starts(f, "loop") || is_name(f, "jrcxz_jb")) {
    static const uint64_t cx[] = {0, 1, 2, 3, 0x100000000ull, 0x10000, 0x10001, 0x100000001ull};
    s.gpr[isa::RCX] = r.chance(70) ? cx[r.below(8)] : random_value(r);
  }
  if (is_name(f, "enter_iw_ib") || is_name(f, "leave")) {
    s.gpr[isa::RBP] = kStack + r.range(0x1000, 0x3000);
    if (r.chance(80)) s.gpr[isa::RBP] &= ~7ull;
    if (is_name(f, "enter_iw_ib") && r.chance(70)) {  // keep nesting levels mostly small
      uint8_t lvl = uint8_t(r.below(4));
      c.bytes[c.len - 1] = lvl;
      c.d.imm = (c.d.imm & 0xFFFF) | uint64_t(lvl) << 16;
    }
  }
  if (is_name(f, "xlat")) s.gpr[isa::RBX] = kData + r.range(0x400, 0x3000);
  if (fi.iclass == isa::C_SHIFT && r.chance(60)) {
    s.gpr[isa::RCX] = (s.gpr[isa::RCX] & ~0xFFull) | r.below(2 * 8 * osz + 2);
  }
  if (fi.iclass == isa::C_DIV && r.chance(60)) {
    bool sign = name_starts(f, "idiv");
    if (osz == 1) {
      uint64_t al = s.gpr[isa::RAX] & 0xFF;
      uint64_t ah = sign && (al & 0x80) ? 0xFF : 0;
      s.gpr[isa::RAX] = (s.gpr[isa::RAX] & ~0xFF00ull) | ah << 8;
    } else {
      uint64_t mask = osz == 8 ? ~0ull : (1ull << (8 * osz)) - 1;
      bool neg = (s.gpr[isa::RAX] >> (8 * osz - 1)) & 1;
      s.gpr[isa::RDX] = (s.gpr[isa::RDX] & ~mask) | (sign && neg ? mask : 0);
    }
  }
  if (name_starts(f, "bt") && fi.imm == isa::I0 && d.is_mem() && r.chance(80)) {
    s.gpr[d.reg] = uint64_t(int64_t(r.below(3000)) - 1500);
  }

  // Memory operand: base/index values or the displacement put the address in kData.
  uint64_t target = kData + r.range(0x400, kDataSize - 0x400 - 64);
  if (r.chance(70) && osz >= 2 && osz <= 32) target &= ~uint64_t(osz - 1);
  if (is_name(f, "cmpxchg8b_mq") && r.chance(80)) target &= ~15ull;
  // A LOCKed access split across cache lines is throttled by Linux split-lock
  // detection (the process is slowed down for seconds): keep those aligned.
  const bool locked = (d.flags & isa::IF_LOCK) || name_starts(f, "xchg");  // XCHG m locks implicitly
  if (locked) target &= ~uint64_t((is_name(f, "cmpxchg8b_mq") ? 2 * osz : osz) - 1);
  if (r.chance(3) && !locked)
    target = kData + kDataSize - 1 - r.below(osz ? osz : 8);  // straddles the end
  if (d.is_mem()) {
    uint64_t next = kInsn + d.len;
    if (d.base == isa::kRegRip) {
      int32_t disp = int32_t(int64_t(target - next));
      std::memcpy(c.bytes + e.disp_off, &disp, 4);
    } else if (d.base == isa::kRegZero) {
      uint64_t iv = 0;
      if (d.index != isa::kRegZero) {
        iv = r.below(64);
        s.gpr[d.index] = iv;
      }
      int32_t disp = int32_t(int64_t(target - (iv << d.scale)));
      if (e.disp_off >= 0) std::memcpy(c.bytes + e.disp_off, &disp, 4);
    } else if (d.index == isa::kRegZero) {
      s.gpr[d.base] = target - uint64_t(int64_t(d.disp));
    } else if (d.index != d.base) {
      uint64_t iv = r.chance(80) ? r.below(64) : uint64_t(-int64_t(r.below(64)));
      s.gpr[d.index] = iv;
      s.gpr[d.base] = target - uint64_t(int64_t(d.disp)) - (iv << d.scale);
    } else {
      uint64_t k = 1 + (1ull << d.scale);
      uint64_t t = target - uint64_t(int64_t(d.disp));
      s.gpr[d.base] = t / k;
    }
    if (d.asize == 4 && d.base < 16 && r.chance(30)) s.gpr[d.base] ^= r.next() << 32;
    isa::decode(c.bytes, 16, isa::CodeSize::k64, c.d);  // pick up a patched displacement
  }
  if (fi.imm == isa::OV) {  // moffs: the address is the last asize bytes
    uint64_t a = target;
    std::memcpy(c.bytes + c.len - d.asize, &a, d.asize);
    isa::decode(c.bytes, 16, isa::CodeSize::k64, c.d);
  }
  uint64_t ea = 0;
  if (d.is_mem()) {
    uint64_t a = s.gpr[c.d.base < 16 ? c.d.base : 0] * (c.d.base < 16) +
                 (c.d.base == isa::kRegRip ? kInsn + c.d.len : 0) +
                 ((c.d.index < 16 ? s.gpr[c.d.index] : 0) << c.d.scale) + uint64_t(int64_t(c.d.disp));
    ea = c.d.asize == 4 ? uint32_t(a) : a;
  }

  // Branches: targets land on pads.
  if (fi.flags & isa::F_BRANCH) {
    if (fi.imm == isa::IB_JB || fi.imm == isa::IZ_JZ) {
      bool rel8 = fi.imm == isa::IB_JB;
      c.target = pick_target(r, c.len, rel8);
      int64_t rel = int64_t(c.target - (kInsn + c.len));
      if (rel8) c.bytes[c.len - 1] = uint8_t(rel);
      else { int32_t r32 = int32_t(rel); std::memcpy(c.bytes + c.len - 4, &r32, 4); }
      isa::decode(c.bytes, 16, isa::CodeSize::k64, c.d);
    } else if (is_name(f, "jmp_ev") || is_name(f, "call_ev")) {
      if (!d.is_mem() && d.rm == isa::RSP) return false;
      c.target = pick_target(r, c.len, false);
      if (d.is_mem()) patch_mem(c, ea, &c.target, 8);
      else s.gpr[d.rm] = c.target;
    } else if (is_name(f, "ret") || is_name(f, "ret_iw")) {
      c.target = pick_target(r, c.len, false);
      patch_mem(c, s.gpr[isa::RSP], &c.target, 8);
    }
  }
  if (is_name(f, "popf")) {
    uint64_t v = (r.next() & (0x8D5 | 0x400 | 0x4000 | 0x40000 | 0x200000 | 0x3200)) | 2;
    patch_mem(c, s.gpr[isa::RSP], &v, 8);
  }
  if (name_starts(f, "cmpxchg") && r.chance(50)) {
    if (is_name(f, "cmpxchg8b_mq")) {
      uint64_t v[2] = {s.gpr[isa::RAX], s.gpr[isa::RDX]};
      if (osz != 8) v[0] = (s.gpr[isa::RAX] & 0xFFFFFFFF) | (s.gpr[isa::RDX] << 32);
      patch_mem(c, ea, v, osz == 8 ? 16 : 8);
    } else if (d.is_mem()) {
      patch_mem(c, ea, &s.gpr[isa::RAX], osz);
    } else if (d.rm < 16) {
      s.gpr[isa::RAX] = s.gpr[d.rm];
    }
  }
  return true;
}

// A random flag-setting register-register instruction writing one of R8-R15 that
// the tested instruction does not use (every lazy kind and size; rotates and
// shifts by 1 for the CF/OF override, IMUL/BT/POPCNT/BSF for eager results).
void make_pre(Rng& r, Case& c) {
  const isa::DecodedInst& d = c.d;
  unsigned cand[8], n = 0;
  for (unsigned g = 8; g < 16; g++)
    if (g != d.base && g != d.index && g != d.reg && g != d.rm && g != d.vvvv) cand[n++] = g;
  if (n == 0) return;
  unsigned dst = cand[r.below(n)], src = unsigned(r.below(16));
  if (src == isa::RSP) src = isa::RBP;
  static const uint8_t alu[] = {0x01, 0x09, 0x11, 0x19, 0x21, 0x29, 0x31, 0x39, 0x85};
  uint8_t b[kPreMax];
  unsigned len = 0;
  // Forms that read flags into registers or memory get a pre-instruction whose
  // flags the SDM fully defines, so host-specific undefined values cannot leak.
  static const char* const kReaders[] = {"adc", "sbb", "rcl", "rcr", "jcc", "setcc", "cmovcc", "lahf",
                                         "pushf", "adcx", "adox", "salc", "loope", "loopne", "cmc"};
  bool reader = false;
  for (const char* p : kReaders) reader |= name_starts(d.form, p);
  unsigned kind = unsigned(r.below(reader ? 6 : 9));
  unsigned size = unsigned(r.below(4));  // 8, 16, 32, 64 bits
  if (kind >= 7) size = 1 + unsigned(r.below(3));  // IMUL/BSF/POPCNT/BT have no byte form
  if (size == 1) b[len++] = 0x66;
  if (kind == 8) b[len++] = 0xF3;  // POPCNT
  b[len++] = uint8_t(0x40 | (size == 3 ? 8 : 0) | ((src >> 3) << 2) | (dst >> 3));
  unsigned modrm_reg = src & 7;
  using namespace fl;
  switch (kind) {
    case 0: case 1: case 2: {  // ALU r/m, r; the logical ones leave AF undefined
      static const uint8_t arith[] = {0x01, 0x11, 0x19, 0x29, 0x39};
      uint8_t op = reader ? arith[r.below(5)] : alu[r.below(9)];
      if (op == 0x09 || op == 0x21 || op == 0x31 || op == 0x85) c.pre_undef = AF;
      b[len++] = uint8_t(op - (size == 0 ? 1 : 0));
      break;
    }
    case 3: b[len++] = size == 0 ? 0xFE : 0xFF; modrm_reg = unsigned(r.below(2)); break;  // INC/DEC
    case 4: b[len++] = size == 0 ? 0xF6 : 0xF7; modrm_reg = 3; break;                       // NEG
    case 5:  // shift/rotate by 1: shifts leave AF undefined
      b[len++] = size == 0 ? 0xD0 : 0xD1;
      modrm_reg = unsigned(r.below(reader ? 4 : 8));
      if (modrm_reg >= 4) c.pre_undef = AF;
      break;
    case 6:  // by CL: OF (count != 1), AF and CF (count >= size) may be undefined
      b[len++] = size == 0 ? 0xD2 : 0xD3;
      modrm_reg = unsigned(r.below(8));
      c.pre_undef = AF | OF | CF;
      break;
    case 7: {  // IMUL r, r/m / BT r/m, r / BSF r, r/m
      static const uint8_t op2[] = {0xAF, 0xA3, 0xBC};
      static const uint32_t undef[] = {SF | ZF | AF | PF, OF | SF | AF | PF, CF | OF | SF | AF | PF};
      unsigned w = unsigned(r.below(3));
      c.pre_undef = undef[w];
      b[len++] = 0x0F;
      b[len++] = op2[w];
      if (w != 1) {  // the register operand is the destination: swap roles
        b[len - 3] = uint8_t(0x40 | (size == 3 ? 8 : 0) | ((dst >> 3) << 2) | (src >> 3));
        b[len++] = uint8_t(0xC0 | (dst & 7) << 3 | (src & 7));
        std::memcpy(c.pre, b, len);
        c.pre_len = len;
        return;
      }
      break;
    }
    default:  // POPCNT dst, src
      b[len - 1] = uint8_t(0x40 | (size == 3 ? 8 : 0) | ((dst >> 3) << 2) | (src >> 3));
      b[len++] = 0x0F;
      b[len++] = 0xB8;
      b[len++] = uint8_t(0xC0 | (dst & 7) << 3 | (src & 7));
      std::memcpy(c.pre, b, len);
      c.pre_len = len;
      return;
  }
  b[len++] = uint8_t(0xC0 | modrm_reg << 3 | (dst & 7));
  std::memcpy(c.pre, b, len);
  c.pre_len = len;
}

// ---- simulator side ------------------------------------------------------------------
struct SimResult {
  State out;
  int vector = -1;
  uint64_t cr2 = 0;
  bool unbound = false;
  uint8_t data[kDataSize];
  uint8_t stack[kStackSize];
};

uint16_t g_sel[6] = {0, 0x33, 0x2B, 0, 0, 0};  // host selectors, read at start-up

unsigned full_tag(const uint8_t* st) {
  uint64_t sig;
  uint16_t se;
  std::memcpy(&sig, st, 8);
  std::memcpy(&se, st + 8, 2);
  unsigned exp = se & 0x7FFF;
  if (exp == 0x7FFF) return 2;
  if (exp == 0) return sig == 0 ? 1 : 2;
  return (sig >> 63) ? 0 : 2;
}

void state_to_cpu(const State& s, isa::Cpu& c) {
  for (unsigned i = 0; i < 16; i++) c.r[i] = s.gpr[i];
  c.set_rflags(s.rflags);
  std::memcpy(&c.x87.fcw, s.fx + FX_FCW, 2);
  std::memcpy(&c.x87.fsw, s.fx + FX_FSW, 2);
  unsigned top = (c.x87.fsw >> 11) & 7;
  c.x87.ftw = 0;
  for (unsigned i = 0; i < 8; i++) {  // ST(i) is physical register (top + i) & 7
    unsigned phys = (top + i) & 7;
    const uint8_t* st = s.fx + FX_ST + 16 * i;
    std::memcpy(&c.x87.st[phys].significand, st, 8);
    std::memcpy(&c.x87.st[phys].sign_exp, st + 8, 2);
    unsigned tag = (s.fx[FX_FTW] >> phys) & 1 ? full_tag(st) : 3;
    c.x87.ftw = uint16_t(c.x87.ftw | tag << (2 * phys));
  }
  std::memcpy(&c.mxcsr, s.fx + FX_MXCSR, 4);
  for (unsigned i = 0; i < 16; i++) std::memcpy(c.v[i].u8, s.ymm[i], 32);
}

void cpu_to_state(const isa::Cpu& c, State& s) {
  std::memset(&s, 0, sizeof(s));
  for (unsigned i = 0; i < 16; i++) s.gpr[i] = c.r[i];
  s.rflags = c.get_rflags();
  s.rip = c.r[isa::kRegRip];
  std::memcpy(s.fx + FX_FCW, &c.x87.fcw, 2);
  std::memcpy(s.fx + FX_FSW, &c.x87.fsw, 2);
  unsigned top = (c.x87.fsw >> 11) & 7;
  uint8_t ftw = 0;
  for (unsigned p = 0; p < 8; p++)
    if (((c.x87.ftw >> (2 * p)) & 3) != 3) ftw |= uint8_t(1 << p);
  s.fx[FX_FTW] = ftw;
  for (unsigned i = 0; i < 8; i++) {
    unsigned phys = (top + i) & 7;
    std::memcpy(s.fx + FX_ST + 16 * i, &c.x87.st[phys].significand, 8);
    std::memcpy(s.fx + FX_ST + 16 * i + 8, &c.x87.st[phys].sign_exp, 2);
  }
  std::memcpy(s.fx + FX_MXCSR, &c.mxcsr, 4);
  for (unsigned i = 0; i < 16; i++) std::memcpy(s.ymm[i], c.v[i].u8, 32);
}

void run_sim(const Case& k, SimResult& out) {
  out.vector = -1;
  out.cr2 = 0;
  out.unbound = false;
  // CPUID answers as the default model does, so that instructions gated by a
  // feature (INVPCID, XSAVES, ...) reach their privilege checks as on the host.
  struct ModelBus : nstest::FlatBus {
    void cpuid(isa::Cpu&, uint32_t leaf, uint32_t sub, uint32_t out[4]) override {
      sim::default_cpu_model().cpuid_leaf(leaf, sub, out);
    }
  };
  static ModelBus bus;
  bus.clear_regions();
  bus.add_region(kData, kDataSize, out.data);
  bus.add_region(kStack, kStackSize, out.stack);
  fill_memory(k, out.data, out.stack);
  auto cpu = std::make_unique<isa::Cpu>();
  isa::Cpu& c = *cpu;
  c.bus = &bus;
  c.long64 = true;
  c.code_size = isa::CodeSize::k64;
  c.cpl = 3;
  c.cr0 = 0x80050033;
  c.cr4 = 0x3506E0;  // PAE PGE OSFXSR OSXMMEXCPT FSGSBASE OSXSAVE ...
  c.efer = 0xD01;
  c.xcr0 = 7;
  for (unsigned i = 0; i < 6; i++) c.seg[i].selector = g_sel[i];
  c.seg[isa::CS].attr = 0xA0FB;
  state_to_cpu(k.in, c);
  if (k.pre_len) {
    isa::DecodedInst p;
    isa::decode(k.pre, k.pre_len, isa::CodeSize::k64, p);
    c.rip() = kInsn;
    p.fn(c, p);
  }
  isa::DecodedInst d;
  isa::decode(k.bytes, 16, isa::CodeSize::k64, d);
  c.rip() = kInsn + d.len;
  uint64_t before = isa::unimplemented_forms()[unsigned(d.form)];
  try {
    d.fn(c, d);
  } catch (const isa::CpuFault& f) {
    out.vector = f.vector;
    out.cr2 = f.cr2;
    c.rip() = kInsn;
    out.unbound = isa::unimplemented_forms()[unsigned(d.form)] != before;
  }
  cpu_to_state(c, out.out);
}

// ---- native side ---------------------------------------------------------------------
struct NativeResult {
  State out;
  int vector;  // -1: no fault
  uint64_t cr2;
  uint8_t data[kDataSize];
  uint8_t stack[kStackSize];
};

struct Emitter {
  uint8_t* p;
  uint64_t at;  // linear address of p
  void b(std::initializer_list<uint8_t> l) { for (uint8_t x : l) *p++ = x, at++; }
  void d32(uint32_t v) { std::memcpy(p, &v, 4); p += 4, at += 4; }
  // [disp32] absolute (ModRM mod=00 rm=100, SIB base=101 index=100)
  void abs(unsigned reg, uint64_t addr) { b({uint8_t(0x04 | (reg & 7) << 3), 0x25}); d32(uint32_t(addr)); }
  void mov_r_m(unsigned r, uint64_t a) { b({uint8_t(0x48 | (r >> 3) << 2), 0x8B}); abs(r, a); }
  void mov_m_r(uint64_t a, unsigned r) { b({uint8_t(0x48 | (r >> 3) << 2), 0x89}); abs(r, a); }
  void vmovdqu(bool store, unsigned y, uint64_t a) {
    b({0xC5, uint8_t(((~y >> 3) & 1) << 7 | 0xF << 3 | 1 << 2 | 2), uint8_t(store ? 0x7F : 0x6F)});
    abs(y, a);
  }
  void jmp(uint64_t target) { b({0xE9}); d32(uint32_t(int32_t(int64_t(target - (at + 4))))); }
  void pad(uint64_t self) {  // mov qword [kOut.rip], self ; jmp capture
    b({0x48, 0xC7});
    abs(0, kOut + offsetof(State, rip));
    d32(uint32_t(self));
    jmp(kCapture);
  }
};

void emit_stubs(uint8_t* code) {
  Emitter e{code, kCode};
  e.b({0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57});  // push rbx rbp r12-r15
  e.b({0x48, 0x89}); e.abs(4, kHostRsp);                              // mov [host_rsp], rsp
  e.b({0x48, 0x0F, 0xAE}); e.abs(1, kIn + offsetof(State, fx));       // fxrstor64
  for (unsigned y = 0; y < 16; y++) e.vmovdqu(false, y, kIn + offsetof(State, ymm) + 32 * y);
  e.b({0xFF}); e.abs(6, kIn + offsetof(State, rflags));               // push qword [rflags]
  e.b({0x9D});                                                        // popfq
  for (unsigned r = 0; r < 16; r++)
    if (r != 4) e.mov_r_m(r, kIn + 8 * r);
  e.mov_r_m(4, kIn + 8 * 4);
  e.jmp(kInsn - kPreMax);

  e = Emitter{code + (kCapture - kCode), kCapture};
  for (unsigned r = 0; r < 16; r++) e.mov_m_r(kOut + 8 * r, r);
  e.mov_r_m(4, kHostRsp);
  e.b({0x9C});                                                        // pushfq
  e.b({0x8F}); e.abs(0, kOut + offsetof(State, rflags));              // pop qword [rflags]
  e.b({0x48, 0x0F, 0xAE}); e.abs(0, kOut + offsetof(State, fx));      // fxsave64
  for (unsigned y = 0; y < 16; y++) e.vmovdqu(true, y, kOut + offsetof(State, ymm) + 32 * y);
  e.b({0x68}); e.d32(0x202); e.b({0x9D});                             // push 0x202; popfq
  e.b({0xDB, 0xE3});                                                  // fninit
  e.b({0x0F, 0xAE}); e.abs(2, kMxcsrInit);                            // ldmxcsr
  e.b({0xC5, 0xF8, 0x77});                                            // vzeroupper
  e.b({0x41, 0x5F, 0x41, 0x5E, 0x41, 0x5D, 0x41, 0x5C, 0x5D, 0x5B, 0xC3});
}

sigjmp_buf g_jmp;
NativeResult* g_cur;

void on_signal(int, siginfo_t*, void* ctx) {
  auto* uc = static_cast<ucontext_t*>(ctx);
  const greg_t* g = uc->uc_mcontext.gregs;
  g_cur->vector = int(g[REG_TRAPNO]);
  static const int map[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
                              REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15};
  for (unsigned i = 0; i < 16; i++) g_cur->out.gpr[i] = uint64_t(g[map[i]]);
  g_cur->out.rflags = uint64_t(g[REG_EFL]);
  g_cur->out.rip = uint64_t(g[REG_RIP]);
  g_cur->cr2 = uint64_t(g[REG_CR2]);
  siglongjmp(g_jmp, 1);
}

// True when the page holding `addr` is mapped in this process (and therefore in the
// forked native runner) but is none of the regions the simulated bus has.
bool host_only_mapping(uint64_t addr) {
  uint64_t page = addr & ~0xFFFull;
  for (auto [base, size] : {std::pair{kData, kDataSize}, std::pair{kStack, kStackSize}})
    if (addr - base < size) return false;
  return msync(reinterpret_cast<void*>(page), 4096, MS_ASYNC) == 0;
}

void* map_fixed(uint64_t addr, uint64_t size, int prot) {
  void* p = mmap(reinterpret_cast<void*>(addr), size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (p != reinterpret_cast<void*>(addr)) {
    std::perror("hostdiff: mmap");
    _exit(3);
  }
  return p;
}

// Runs in the forked child: executes every case natively and writes the results.
[[noreturn]] void child_main(const std::vector<Case>& cases, size_t first, NativeResult* res,
                             volatile uint32_t* progress) {
  map_fixed(kCtx, kCtxSize, PROT_READ | PROT_WRITE);
  auto* code = static_cast<uint8_t*>(map_fixed(kCode, kCodeSize, PROT_READ | PROT_WRITE | PROT_EXEC));
  auto* data = static_cast<uint8_t*>(map_fixed(kData, kDataSize, PROT_READ | PROT_WRITE));
  auto* stack = static_cast<uint8_t*>(map_fixed(kStack, kStackSize, PROT_READ | PROT_WRITE));
  static uint8_t altstack[1 << 16];
  stack_t ss{};
  ss.ss_sp = altstack;
  ss.ss_size = sizeof(altstack);
  sigaltstack(&ss, nullptr);
  struct sigaction sa{};
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP}) sigaction(sig, &sa, nullptr);
  std::memset(code, 0xCC, kCodeSize);
  emit_stubs(code);
  uint32_t mx = 0x1F80;
  std::memcpy(reinterpret_cast<void*>(kMxcsrInit), &mx, 4);
  auto* in = reinterpret_cast<State*>(kIn);
  auto* out = reinterpret_cast<State*>(kOut);
  for (size_t i = first; i < cases.size(); i++) {
    alarm(10);  // per case: a case that does not come back is reported, not waited for
    const Case& k = cases[i];
    NativeResult& r = res[i];
    std::memset(code + (kTargetLo - kCode), 0xCC, kTargetHi - kTargetLo);
    std::memset(code + (kInsn - kPreMax - kCode), 0x90, kPreMax);
    std::memcpy(code + (kInsn - k.pre_len - kCode), k.pre, k.pre_len);
    std::memcpy(code + (kInsn - kCode), k.bytes, k.len);
    Emitter e{code + (kInsn + k.len - kCode), kInsn + k.len};
    e.pad(kInsn + k.len);
    if (k.target) {
      Emitter t{code + (k.target - kCode), k.target};
      t.pad(k.target);
    }
    fill_memory(k, data, stack);
    *in = k.in;
    std::memset(out, 0, sizeof(State));
    r.vector = -1;
    g_cur = &r;
    if (sigsetjmp(g_jmp, 1) == 0) {
      reinterpret_cast<void (*)()>(kCode)();
      r.out = *out;
    } else {
      // Back from a fault: restore a sane FP/flags environment for C++.
      asm volatile("push $0x202; popfq; fninit; vzeroupper" ::: "memory", "cc");
      asm volatile("ldmxcsr %0" ::"m"(mx));
    }
    std::memcpy(r.data, data, kDataSize);
    std::memcpy(r.stack, stack, kStackSize);
    *progress = uint32_t(i + 1);
  }
  _exit(0);
}

// Runs all cases natively in child processes. A child that dies (or hangs) on a
// case is replaced by a new one that retries that case once and then goes on;
// `dead[i]` marks the cases that killed two children.
void run_native(const std::vector<Case>& cases, NativeResult* res, std::vector<bool>& dead,
                std::string& why) {
  auto* progress = static_cast<volatile uint32_t*>(
      mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  dead.assign(cases.size(), false);
  size_t first = 0;
  int retried = -1;
  while (first < cases.size()) {
    *progress = uint32_t(first);
    std::fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) child_main(cases, first, res, progress);
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) break;
    size_t at = *progress;
    if (int(at) == retried) {
      dead[at] = true;
      char buf[128];
      std::snprintf(buf, sizeof(buf), "native child died twice (status %#x) on case %zu; ", st, at);
      why += buf;
      first = at + 1;
    } else {
      retried = int(at);
      first = at;
    }
  }
  munmap((void*)progress, 4096);
}

// ---- comparison ------------------------------------------------------------------------
unsigned count_of(const Case& k) {
  const char* n = isa::form_info(k.d.form).name;
  size_t l = std::strlen(n);
  unsigned cnt;
  if (l > 2 && std::strcmp(n + l - 2, "_1") == 0) cnt = 1;
  else if (l > 3 && std::strcmp(n + l - 3, "_cl") == 0) cnt = unsigned(k.in.gpr[isa::RCX] & 0xFF);
  else cnt = unsigned(k.d.imm & 0xFF);
  return cnt & (k.d.osize == 8 ? 63 : 31);
}

// Returns the undefined-flag mask for this case; sets `skip` for undefined results.
uint32_t undefined_mask(const Case& k, bool& skip) {
  skip = false;
  auto it = undef_table().find(k.d.form);
  if (it == undef_table().end()) return k.pre_undef;
  uint32_t m = it->second.mask | k.pre_undef;
  unsigned bits = 8 * k.d.osize;
  const char* n = isa::form_info(k.d.form).name;
  switch (it->second.rule) {
    case R_SHIFT: {
      unsigned c = count_of(k);
      if (c == 0) break;
      m |= fl::AF;
      if (c != 1) m |= fl::OF;
      if (c >= bits && n[0] == 's' && n[2] != 'r') m |= fl::CF;  // shl/shr, not sar
      break;
    }
    case R_ROT:
      if (count_of(k) != 1) m |= fl::OF;
      break;
    case R_SHXD: {
      unsigned c = count_of(k);
      if (c == 0) break;
      m |= fl::AF;
      if (c != 1) m |= fl::OF;
      if (c > bits) skip = true;
      break;
    }
    default:
      break;
  }
  return m;
}

const char* kGprName[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                            "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

std::string hex(const uint8_t* p, unsigned n) {
  std::string s;
  char b[4];
  for (unsigned i = 0; i < n; i++) {
    std::snprintf(b, sizeof(b), "%02x", p[i]);
    s += b;
    if (i + 1 < n) s += ' ';
  }
  return s;
}

// Faults that are the same event seen differently: a non-canonical SS access is #SS
// on hardware and #GP in the simulator's bus (which does not know the segment).
bool same_vector(int a, int b) {
  if (a == b) return true;
  return (a == isa::VEC_SS && b == isa::VEC_GP) || (a == isa::VEC_GP && b == isa::VEC_SS);
}

// Compares; appends a description of differences to `diff`.
bool compare(const Case& k, const NativeResult& n, const SimResult& s, uint32_t undef, std::string& diff) {
  char buf[256];
  auto add = [&](const char* what, uint64_t nv, uint64_t sv) {
    std::snprintf(buf, sizeof(buf), "    %-8s native %016llx  sim %016llx\n", what, (unsigned long long)nv,
                  (unsigned long long)sv);
    diff += buf;
  };
  if (!(n.vector < 0 && s.vector < 0) && !same_vector(n.vector, s.vector)) {
    std::snprintf(buf, sizeof(buf), "    fault    native %s (cr2 %llx)  sim %s (cr2 %llx)\n",
                  n.vector < 0 ? "none" : isa::vector_name(uint8_t(n.vector)), (unsigned long long)n.cr2,
                  s.vector < 0 ? "none" : isa::vector_name(uint8_t(s.vector)), (unsigned long long)s.cr2);
    diff += buf;
    return false;
  }
  bool faulted = n.vector >= 0;
  for (unsigned i = 0; i < 16; i++)
    if (n.out.gpr[i] != s.out.gpr[i]) add(kGprName[i], n.out.gpr[i], s.out.gpr[i]);
  uint64_t fmask = (0x8D5 & ~uint64_t(undef)) | 0x400 | 0x4000 | 0x40000 | 0x200000 | 0x200;
  if ((n.out.rflags & fmask) != (s.out.rflags & fmask)) add("rflags", n.out.rflags, s.out.rflags);
  uint64_t nrip = faulted ? n.out.rip : n.out.rip;
  if (nrip != s.out.rip) add("rip", nrip, s.out.rip);
  if (!faulted) {
    const uint8_t* a = n.out.fx;
    const uint8_t* b = s.out.fx;
    uint16_t fa, fb;
    std::memcpy(&fa, a + FX_FCW, 2), std::memcpy(&fb, b + FX_FCW, 2);
    if (fa != fb) add("fcw", fa, fb);
    std::memcpy(&fa, a + FX_FSW, 2), std::memcpy(&fb, b + FX_FSW, 2);
    if (fa != fb) add("fsw", fa, fb);
    if (a[FX_FTW] != b[FX_FTW]) add("ftw", a[FX_FTW], b[FX_FTW]);
    uint32_t ma, mb;
    std::memcpy(&ma, a + FX_MXCSR, 4), std::memcpy(&mb, b + FX_MXCSR, 4);
    if (ma != mb) add("mxcsr", ma, mb);
    for (unsigned i = 0; i < 8; i++) {
      if (std::memcmp(a + FX_ST + 16 * i, b + FX_ST + 16 * i, 10) != 0) {
        uint64_t x, y;
        uint16_t ex, ey;
        std::memcpy(&x, a + FX_ST + 16 * i, 8), std::memcpy(&y, b + FX_ST + 16 * i, 8);
        std::memcpy(&ex, a + FX_ST + 16 * i + 8, 2), std::memcpy(&ey, b + FX_ST + 16 * i + 8, 2);
        std::snprintf(buf, sizeof(buf), "    st%u      native %04x:%016llx  sim %04x:%016llx\n", i, ex,
                      (unsigned long long)x, ey, (unsigned long long)y);
        diff += buf;
      }
    }
    for (unsigned i = 0; i < 16; i++) {
      if (std::memcmp(n.out.ymm[i], s.out.ymm[i], 32) != 0) {
        std::snprintf(buf, sizeof(buf), "    ymm%-2u    native %s\n             sim    %s\n", i,
                      hex(n.out.ymm[i], 32).c_str(), hex(s.out.ymm[i], 32).c_str());
        diff += buf;
      }
    }
  }
  for (int region = 0; region < 2; region++) {
    const uint8_t* a = region ? n.stack : n.data;
    const uint8_t* b = region ? s.stack : s.data;
    uint64_t base = region ? kStack : kData, size = region ? kStackSize : kDataSize;
    if (std::memcmp(a, b, size) == 0) continue;
    for (uint64_t i = 0; i < size; i++) {
      if (a[i] != b[i]) {
        uint64_t j = i & ~7ull;
        uint64_t x, y;
        std::memcpy(&x, a + j, 8), std::memcpy(&y, b + j, 8);
        std::snprintf(buf, sizeof(buf), "    mem %llx native %016llx  sim %016llx\n",
                      (unsigned long long)(base + j), (unsigned long long)x, (unsigned long long)y);
        diff += buf;
        break;
      }
    }
  }
  return diff.empty();
}

std::string describe(const Case& k, const NativeResult& n) {
  std::string s;
  char buf[256];
  std::snprintf(buf, sizeof(buf), "  bytes %s  (osize %u asize %u)\n", hex(k.bytes, k.len).c_str(), k.d.osize,
                k.d.asize);
  s += buf;
  if (k.pre_len) {
    std::snprintf(buf, sizeof(buf), "  after %s\n", hex(k.pre, k.pre_len).c_str());
    s += buf;
  }
  for (unsigned i = 0; i < 16; i += 4) {
    std::snprintf(buf, sizeof(buf), "  in  %s=%016llx %s=%016llx %s=%016llx %s=%016llx\n", kGprName[i],
                  (unsigned long long)k.in.gpr[i], kGprName[i + 1], (unsigned long long)k.in.gpr[i + 1],
                  kGprName[i + 2], (unsigned long long)k.in.gpr[i + 2], kGprName[i + 3],
                  (unsigned long long)k.in.gpr[i + 3]);
    s += buf;
  }
  std::snprintf(buf, sizeof(buf), "  in  rflags=%llx%s%llx\n", (unsigned long long)k.in.rflags,
                n.vector >= 0 ? "  (native faulted, cr2 " : "", (unsigned long long)(n.vector >= 0 ? n.cr2 : 0));
  s += buf;
  return s;
}

bool runnable(Form f, std::string& why) {
  const isa::FormInfo& fi = isa::form_info(f);
  if (f == Form::invalid) return false;
  if (fi.flags & (isa::F_UD | isa::F_TRAP)) { why = "traps/#UD by definition"; return false; }
  if (fi.flags & isa::F_I64) { why = "invalid in 64-bit mode (the harness runs 64-bit code only)"; return false; }
  auto ex = exclusions().find(f);
  if (ex != exclusions().end()) { why = std::string("excluded: ") + ex->second; return false; }
  return true;
}

void read_host_selectors() {
  uint16_t v;
  asm volatile("mov %%es, %0" : "=r"(v)); g_sel[isa::ES] = v;
  asm volatile("mov %%cs, %0" : "=r"(v)); g_sel[isa::CS] = v;
  asm volatile("mov %%ss, %0" : "=r"(v)); g_sel[isa::SS] = v;
  asm volatile("mov %%ds, %0" : "=r"(v)); g_sel[isa::DS] = v;
  asm volatile("mov %%fs, %0" : "=r"(v)); g_sel[isa::FS] = v;
  asm volatile("mov %%gs, %0" : "=r"(v)); g_sel[isa::GS] = v;
}

}  // namespace

const char* form_group(Form f) {
  const isa::FormInfo& fi = isa::form_info(f);
  switch (fi.iclass) {
    case isa::C_X87: case isa::C_X87_TRANS: case isa::C_XSAVE: return "x87";
    case isa::C_SSE_MOV: case isa::C_SSE_INT: case isa::C_SSE_FP: case isa::C_SSE_FPDIV:
    case isa::C_SSE_SHUF: case isa::C_SSE_CVT:
      return (fi.flags & isa::F_VEX) ? "avx" : "sse";
    default: return "int";
  }
}

Summary run(const Options& o, std::string* log) {
  read_host_selectors();
  Summary sum;
  std::string out;
  auto emit = [&](const std::string& s) {
    if (log) *log += s;
    else std::fputs(s.c_str(), stdout);
  };
  // Forms that are never bound show up as #UD with the unimplemented counter moving.
  for (unsigned fi = 1; fi < isa::kFormCount; fi++) {
    Form f = Form(fi);
    const char* name = isa::form_info(f).name;
    if (!o.form.empty() && o.form != name) continue;
    if (!o.group.empty() && o.group != form_group(f)) continue;
    std::string why;
    if (!runnable(f, why)) {
      if (!why.empty()) sum.not_covered.push_back(std::string(name) + ": " + why);
      continue;
    }
    Rng rng(o.seed * 1000003ull + fi);
    std::vector<Case> cases;
    cases.reserve(o.cases_per_form);
    unsigned gen_fail = 0;
    for (unsigned i = 0; i < o.cases_per_form; i++) {
      Case c;
      if (make_case(rng, f, c)) cases.push_back(std::move(c));
      else gen_fail++;
    }
    if (cases.empty()) {
      sum.not_covered.push_back(std::string(name) + ": no encoding decodes as this form in 64-bit mode");
      continue;
    }
    // Probe the binding on the first case before forking.
    auto probe = std::make_unique<SimResult>();
    run_sim(cases[0], *probe);
    if (probe->unbound) {
      sum.not_covered.push_back(std::string(name) + ": not bound in isa/");
      continue;
    }
    size_t bytes = sizeof(NativeResult) * cases.size();
    auto* nat = static_cast<NativeResult*>(mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    std::string why_native;
    std::vector<bool> dead;
    run_native(cases, nat, dead, why_native);
    FormResult fr{f};
    fr.skipped = gen_fail;
    if (!why_native.empty()) emit(std::string("FORM ") + name + ": " + why_native + "\n");
    auto simr = std::make_unique<SimResult>();
    unsigned printed = 0;
    for (size_t i = 0; i < cases.size(); i++) {
      const Case& k = cases[i];
      if (dead[i]) {
        fr.mismatches++;
        if (printed++ < o.max_print)
          emit(std::string("MISMATCH ") + name + " case " + std::to_string(i) + ": the native run died\n" +
               describe(k, nat[i]));
        continue;
      }
      bool skip;
      uint32_t undef = undefined_mask(k, skip);
      if (skip) { fr.skipped++; continue; }
      run_sim(k, *simr);
      if (simr->unbound) { fr.skipped++; continue; }
      // The simulator only has the harness's regions; the native process also has
      // its own mappings (the harness context page, a sanitizer's shadow memory). An
      // access that lands in one of those runs natively but is a #PF in the
      // simulator: the case says nothing about the semantics, so it is not compared.
      if (nat[i].vector < 0 && simr->vector == isa::VEC_PF && host_only_mapping(simr->cr2)) {
        fr.skipped++;
        sum.host_mapped++;
        continue;
      }
      std::string diff;
      fr.compared++;
      if (nat[i].vector >= 0 && simr->vector >= 0) fr.faults++;
      if (!compare(k, nat[i], *simr, undef, diff)) {
        fr.mismatches++;
        if (printed++ < o.max_print) {
          emit(std::string("MISMATCH ") + name + " case " + std::to_string(i) + "\n" + describe(k, nat[i]) + diff);
        }
      }
    }
    munmap(nat, bytes);
    sum.cases += fr.compared;
    sum.mismatches += fr.mismatches;
    if (o.verbose || fr.mismatches) {
      char buf[200];
      std::snprintf(buf, sizeof(buf), "form %-24s %4u compared %4u faulted %4u mismatches %u skipped\n", name,
                    fr.compared, fr.faults, fr.mismatches, fr.skipped);
      emit(buf);
    }
    if (fr.compared) sum.forms.push_back(fr);
  }
  return sum;
}

}  // namespace hostdiff
