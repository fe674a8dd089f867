// FXSAVE/FXRSTOR, the XSAVE family for the x87, SSE and AVX state components (XCR0 bits
// 0-2), XGETBV/XSETBV and (V)LDMXCSR/(V)STMXCSR. SDM Vol. 1 chapters 10.5 and 13,
// Vol. 2 instruction pages. XSAVES/XRSTORS (supervisor components) are not bound.
#include <cstring>

#include "isa/x87.h"

namespace isa::x87 {

namespace {

constexpr uint64_t kXcr0Supported = 0x7;  // x87 | SSE | AVX: the modelled CPU has no AVX-512
constexpr unsigned kLegacySize = 512, kHeaderSize = 64, kAvxOffset = 576, kAvxSize = 256;
constexpr uint64_t kCompacted = 1ull << 63;
constexpr uint64_t kEferFfxsr = 1u << 14;
// MXCSR bits the modelled CPU supports (MXCSR_MASK in FXSAVE, DAZ included).
constexpr uint32_t kMxcsrMask = 0xFFFF;

void put16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }
void put32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
void put64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }
uint16_t get16(const uint8_t* p) { uint16_t v; std::memcpy(&v, p, 2); return v; }
uint32_t get32(const uint8_t* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }
uint64_t get64(const uint8_t* p) { uint64_t v; std::memcpy(&v, p, 8); return v; }

unsigned xmm_count(const Cpu& c) { return c.code_size == CodeSize::k64 ? 16 : 8; }

uint64_t linear_of(const Cpu& c, const DecodedInst& d) {
  uint64_t base = c.long64 ? c.seg_base_eff[d.seg] : c.seg[d.seg].base;
  return base + c.ea(d);
}

// XINUSE (SDM Vol. 1 13.6), computed from the values: a component is "in use" unless
// it holds its initial configuration. (Hardware may report 1 for an initial component;
// reporting the exact value is always allowed.) MXCSR does not count (checked on
// hardware); XSAVEC adds it itself.
uint64_t xinuse(const Cpu& c) {
  const X87State& s = c.x87;
  bool x87 = s.fcw != 0x037F || s.fsw || s.ftw != 0xFFFF || s.fop || s.fip || s.fdp;
  for (const X87Reg& r : s.st) x87 |= r.significand || r.sign_exp;
  bool sse = false, avx = false;
  for (unsigned i = 0; i < 16; i++) {
    sse |= c.v[i].u64[0] || c.v[i].u64[1];
    avx |= c.v[i].u64[2] || c.v[i].u64[3];
  }
  return uint64_t(x87) | uint64_t(sse) << 1 | uint64_t(avx) << 2;
}

void init_x87_component(Cpu& c) {
  init(c.x87);
  for (X87Reg& r : c.x87.st) r = X87Reg{};
}

// A save image built in host memory, then written piecewise after every piece has
// been probed, so a fault leaves memory and state untouched (SDM Vol. 1 13.13 lets
// hardware write partially; being precise is allowed and simpler to reason about).
struct Image {
  uint8_t b[kAvxOffset + kAvxSize] = {};
  struct Piece { unsigned off, len; } pieces[8];
  unsigned n = 0;
  void mark(unsigned off, unsigned len) { pieces[n++] = {off, len}; }
  void write(Cpu& c, const DecodedInst& d) {
    uint64_t ea = c.ea(d);
    for (unsigned i = 0; i < n; i++) c.probe_write(d.seg, ea + pieces[i].off, pieces[i].len);
    for (unsigned i = 0; i < n; i++)
      c.write_bytes(d.seg, ea + pieces[i].off, b + pieces[i].off, pieces[i].len);
  }
};

void save_xmm(const Cpu& c, uint8_t* area) {
  for (unsigned i = 0; i < xmm_count(c); i++) std::memcpy(area + 160 + 16 * i, c.v[i].u8, 16);
}
void load_xmm(Cpu& c, const uint8_t* area) {
  for (unsigned i = 0; i < xmm_count(c); i++) std::memcpy(c.v[i].u8, area + 160 + 16 * i, 16);
}
void save_mxcsr(const Cpu& c, uint8_t* area) {
  put32(area + 24, c.mxcsr);
  put32(area + 28, kMxcsrMask);
}

// FXSAVE/FXRSTOR checks: #NM if CR0.TS or CR0.EM (SDM Vol. 2 "FXSAVE"), #GP unless the
// operand is 16-byte aligned.
void fx_checks(Cpu& c, const DecodedInst& d) {
  if (c.cr0 & (CR0_TS | CR0_EM)) raise_fault(VEC_NM);
  if (linear_of(c, d) & 15) raise_gp0();
}
// Fast FXSAVE/FXRSTOR (EFER.FFXSR, CPL 0, 64-bit mode) skip the XMM registers.
bool fast_fx(const Cpu& c) { return (c.efer & kEferFfxsr) && c.cpl == 0 && c.long64; }

// XSAVE family checks (SDM Vol. 1 13.7/13.8): #UD without CR4.OSXSAVE, #NM if CR0.TS,
// #GP unless 64-byte aligned.
void xs_checks(Cpu& c, const DecodedInst& d) {
  if (!(c.cr4 & CR4_OSXSAVE)) raise_ud();
  if (c.cr0 & CR0_TS) raise_fault(VEC_NM);
  if (linear_of(c, d) & 63) raise_gp0();
}

uint64_t rfbm(const Cpu& c) { return c.xcr0 & ((c.r[RDX] << 32) | uint32_t(c.r[RAX])); }
bool rex_w(const DecodedInst& d) { return d.flags & IF_REXW; }

enum class SaveKind { kXsave, kXsaveopt, kXsavec };

template <SaveKind K>
void xsave_common(Cpu& c, const DecodedInst& d) {
  xs_checks(c, d);
  uint64_t rf = rfbm(c), inuse = xinuse(c);
  // The compacted form saves MXCSR only with the SSE component, so a non-default MXCSR
  // makes that component "in use" for XSAVEC (SDM Vol. 1 13.10).
  if (K == SaveKind::kXsavec && c.mxcsr != 0x1F80) inuse |= 2;
  Image img;
  uint64_t bv;
  if (K == SaveKind::kXsavec) {
    bv = rf & inuse;
  } else {
    uint8_t hdr[8];
    c.read_bytes(d.seg, c.ea(d) + kLegacySize, hdr, 8);
    bv = (get64(hdr) & ~rf) | (rf & inuse);
  }
  // Which components get their data written: XSAVE all requested, XSAVEOPT/XSAVEC
  // only those not in their initial configuration (the init optimization, 13.9/13.10).
  uint64_t write = K == SaveKind::kXsave ? rf : rf & inuse;
  if (write & 1) {
    fxsave_x87(c, img.b, rex_w(d));
    img.mark(0, 24);
    img.mark(32, 128);
  }
  if (write & 2) {
    save_xmm(c, img.b);
    img.mark(160, 16 * xmm_count(c));
  }
  // MXCSR goes with SSE or AVX in the standard form, with SSE alone when compacted.
  bool mx = K == SaveKind::kXsavec ? (write & 2) : (rf & 6);
  if (mx) {
    save_mxcsr(c, img.b);
    img.mark(24, 8);
  }
  if (write & 4) {
    // Compacted: AVX is the first extended component, also at 576 (no 64-byte
    // alignment requirement, CPUID.(EAX=0DH,ECX=2):ECX[1]=0).
    // Like the XMM registers, only YMM0-7 exist outside 64-bit mode (SDM Vol. 1 13.5.3).
    for (unsigned i = 0; i < xmm_count(c); i++) std::memcpy(img.b + kAvxOffset + 16 * i, &c.v[i].u8[16], 16);
    img.mark(kAvxOffset, 16 * xmm_count(c));
  }
  put64(img.b + kLegacySize, bv);
  if (K == SaveKind::kXsavec) {
    put64(img.b + kLegacySize + 8, kCompacted | rf);
    img.mark(kLegacySize, 16);
  } else {
    img.mark(kLegacySize, 8);
  }
  img.write(c, d);
}

void xsave(Cpu& c, const DecodedInst& d) { xsave_common<SaveKind::kXsave>(c, d); }
void xsaveopt(Cpu& c, const DecodedInst& d) { xsave_common<SaveKind::kXsaveopt>(c, d); }
void xsavec(Cpu& c, const DecodedInst& d) { xsave_common<SaveKind::kXsavec>(c, d); }

// XRSTOR (SDM Vol. 1 13.8): header checks, then for each requested component either
// the saved data (XSTATE_BV[i]=1) or its initial configuration (XSTATE_BV[i]=0).
// Everything is read and checked before any state changes.
void xrstor(Cpu& c, const DecodedInst& d) {
  xs_checks(c, d);
  uint8_t b[kAvxOffset + kAvxSize] = {};
  uint64_t ea = c.ea(d);
  c.read_bytes(d.seg, ea + kLegacySize, b + kLegacySize, kHeaderSize);
  uint64_t bv = get64(b + kLegacySize), comp = get64(b + kLegacySize + 8);
  bool compacted = comp & kCompacted;
  if (!compacted) {
    // Standard form: XSTATE_BV within XCR0; XCOMP_BV and bytes 16-23 zero.
    if (comp != 0 || get64(b + kLegacySize + 16) != 0 || (bv & ~c.xcr0)) raise_gp0();
  } else {
    // Compacted form: XCOMP_BV within XCR0, XSTATE_BV within XCOMP_BV, bytes 16-63 zero.
    bool reserved = false;
    for (unsigned i = 16; i < kHeaderSize; i++) reserved |= b[kLegacySize + i] != 0;
    if (reserved || (comp & ~kCompacted & ~c.xcr0) || (bv & ~comp)) raise_gp0();
  }
  uint64_t rf = rfbm(c);
  uint64_t load = rf & bv;
  if (load & 1) {
    c.read_bytes(d.seg, ea, b, 24);
    c.read_bytes(d.seg, ea + 32, b + 32, 128);
  }
  if (load & 2) c.read_bytes(d.seg, ea + 160, b + 160, 16 * xmm_count(c));
  bool load_mx = compacted ? (load & 2) : (rf & 6);
  uint32_t mx = 0x1F80;
  if (load_mx) {
    c.read_bytes(d.seg, ea + 24, b + 24, 4);
    mx = get32(b + 24);
    if (mx & ~kMxcsrMask) raise_gp0();
  }
  // Compacted: AVX is the only possible extended component, at 576 when XCOMP_BV[2].
  if (load & 4) c.read_bytes(d.seg, ea + kAvxOffset, b + kAvxOffset, 16 * xmm_count(c));

  if (rf & 1) {
    if (load & 1) fxrstor_x87(c, b, rex_w(d));
    else init_x87_component(c);
  }
  if (rf & 2) {
    if (load & 2) load_xmm(c, b);
    else for (unsigned i = 0; i < xmm_count(c); i++) c.v[i].u64[0] = c.v[i].u64[1] = 0;
  }
  if (load_mx || (compacted && (rf & 2))) c.mxcsr = mx;
  if (rf & 4) {
    for (unsigned i = 0; i < xmm_count(c); i++) {
      if (load & 4) std::memcpy(&c.v[i].u8[16], b + kAvxOffset + 16 * i, 16);
      else c.v[i].u64[2] = c.v[i].u64[3] = 0;
    }
  }
}

// FXSAVE (SDM Vol. 2 "FXSAVE", Tables 3-43/3-46/3-47): bytes 0-159 x87, 24-31 MXCSR
// and MXCSR_MASK, 160.. XMM0-7 (XMM0-15 in 64-bit mode); 416-511 are not written.
void fxsave(Cpu& c, const DecodedInst& d) {
  fx_checks(c, d);
  Image img;
  fxsave_x87(c, img.b, rex_w(d));
  save_mxcsr(c, img.b);
  unsigned n = 160;
  if (!fast_fx(c)) {
    save_xmm(c, img.b);
    n += 16 * xmm_count(c);
  }
  img.mark(0, n);
  img.write(c, d);
}

void fxrstor(Cpu& c, const DecodedInst& d) {
  fx_checks(c, d);
  uint8_t b[kLegacySize];
  bool fast = fast_fx(c);
  c.read_bytes(d.seg, c.ea(d), b, fast ? 160 : 160 + 16 * xmm_count(c));
  uint32_t mx = get32(b + 24);
  if (mx & ~kMxcsrMask) raise_gp0();  // reserved MXCSR bits (SDM Vol. 2 "FXRSTOR")
  fxrstor_x87(c, b, rex_w(d));
  c.mxcsr = mx;
  if (!fast) load_xmm(c, b);
}

// XGETBV (SDM Vol. 2 "XGETBV"): ECX=0 XCR0; ECX=1 XCR0 & XINUSE (CPUID.(EAX=0DH,
// ECX=1):EAX[2]); anything else #GP(0).
void xgetbv(Cpu& c, const DecodedInst&) {
  if (!(c.cr4 & CR4_OSXSAVE)) raise_ud();
  uint32_t ecx = uint32_t(c.r[RCX]);
  uint64_t v;
  if (ecx == 0) v = c.xcr0;
  else if (ecx == 1) v = c.xcr0 & xinuse(c);
  else raise_gp0();
  c.set_reg<uint32_t>(RAX, uint32_t(v));
  c.set_reg<uint32_t>(RDX, uint32_t(v >> 32));
}

// XSETBV (SDM Vol. 2 "XSETBV", Vol. 1 13.3): CPL 0 only; ECX must be 0; bit 0 must be
// set, only supported bits, and AVX requires SSE.
void xsetbv(Cpu& c, const DecodedInst& d) {
  if (!(c.cr4 & CR4_OSXSAVE)) raise_ud();
  if (c.cpl != 0 || (c.rflags & FLAG_VM)) raise_gp0();
  if (intercepted(c, d, Intercept::kXsetbv)) return;  // unconditional (SDM Vol. 3C 25.1.2)
  uint64_t v = (c.r[RDX] << 32) | uint32_t(c.r[RAX]);
  if (uint32_t(c.r[RCX]) != 0) raise_gp0();
  if (!(v & 1) || (v & ~kXcr0Supported) || ((v & 4) && !(v & 2))) raise_gp0();
  c.xcr0 = v;
}

// LDMXCSR/STMXCSR: legacy SSE checks; VLDMXCSR/VSTMXCSR: VEX checks (SDM Vol. 2).
// Legacy SSE: #UD if CR0.EM or !CR4.OSFXSR, then #NM if CR0.TS; VEX: #UD unless
// CR4.OSXSAVE and XCR0 enables SSE and AVX, then #NM if CR0.TS (SDM Vol. 2A 2.8).
template <bool Vex>
void mxcsr_checks(Cpu& c) {
  if (Vex ? !(c.cr4 & CR4_OSXSAVE) || (c.xcr0 & 6) != 6 : (c.cr0 & CR0_EM) || !(c.cr4 & CR4_OSFXSR))
    raise_ud();
  if (c.cr0 & CR0_TS) raise_fault(VEC_NM);
}
template <bool Vex>
void ldmxcsr(Cpu& c, const DecodedInst& d) {
  mxcsr_checks<Vex>(c);
  uint32_t v = c.read<uint32_t>(d.seg, c.ea(d));
  if (v & ~kMxcsrMask) raise_gp0();
  c.mxcsr = v;
}
template <bool Vex>
void stmxcsr(Cpu& c, const DecodedInst& d) {
  mxcsr_checks<Vex>(c);
  c.write<uint32_t>(d.seg, c.ea(d), c.mxcsr);
}

}  // namespace

// Legacy-region x87 part: bytes 0-23 and 32-159 (SDM Vol. 2 Table 3-43/3-46). FCS and
// FDS are stored as 0 (deprecated, see x87.h); register slots are 10 bytes of value
// and 6 bytes of zero.
void fxsave_x87(const Cpu& c, uint8_t* a, bool rexw) {
  const X87State& s = c.x87;
  put16(a + 0, s.fcw);
  put16(a + 2, s.fsw);
  a[4] = abridged_tag(s);
  a[5] = 0;
  put16(a + 6, s.fop);
  if (rexw) {
    put64(a + 8, s.fip);
    put64(a + 16, s.fdp);
  } else {
    put32(a + 8, uint32_t(s.fip));
    put32(a + 12, s.fcs);
    put32(a + 16, uint32_t(s.fdp));
    put32(a + 20, s.fds);
  }
  for (unsigned i = 0; i < 8; i++) {
    std::memset(a + 32 + 16 * i, 0, 16);
    std::memcpy(a + 32 + 16 * i, &st(s, i), 10);
  }
}

void fxrstor_x87(Cpu& c, const uint8_t* a, bool rexw) {
  X87State& s = c.x87;
  s.fcw = fcw_canonical(get16(a + 0));
  s.fsw = get16(a + 2);
  unsigned abridged = a[4];
  s.fop = get16(a + 6) & 0x7FF;
  s.fip = rexw ? get64(a + 8) : get32(a + 8);
  s.fdp = rexw ? get64(a + 16) : get32(a + 16);
  s.fcs = s.fds = 0;
  for (unsigned i = 0; i < 8; i++) {
    X87Reg& r = s.st[phys(s, i)];
    std::memcpy(static_cast<void*>(&r), a + 32 + 16 * i, 10);
  }
  retag(s, abridged);
  update_es(s);
}

// The forms are F_SYS rows of opcodes_sys.def (opcodes_vex.def for the VEX ones); their
// architectural meaning is bound here, and sim/ may rebind XSETBV/XSAVES for intercepts.
// XSAVES/XRSTORS (supervisor state, IA32_XSS) stay unbound: #UD, counted.
void register_xsave(HandlerTable& t) {
  t.set_all(Form::fxsave_m, &fxsave);
  t.set_all(Form::fxrstor_m, &fxrstor);
  t.set_all(Form::xsave_m, &xsave);
  t.set_all(Form::xsaveopt_m, &xsaveopt);
  t.set_all(Form::xsavec_m, &xsavec);
  t.set_all(Form::xrstor_m, &xrstor);
  t.set_all(Form::xgetbv, &xgetbv);
  t.set_all(Form::xsetbv, &xsetbv);
  t.set_all(Form::ldmxcsr_m, &ldmxcsr<false>);
  t.set_all(Form::stmxcsr_m, &stmxcsr<false>);
  t.set_all(Form::vldmxcsr_m, &ldmxcsr<true>);
  t.set_all(Form::vstmxcsr_m, &stmxcsr<true>);
}

}  // namespace isa::x87
