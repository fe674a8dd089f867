// MMX/SSE/AVX common slow paths and the registration of every SIMD form.
// The semantics live in exec_sse_*.cpp and exec_avx*.cpp; the shared rules in simd.h.
#include <cstring>

#include "isa/simd.h"

namespace isa::simd {

void sse_check_slow(Cpu& c) {
  if ((c.cr0 & kCr0Em) || !(c.cr4 & kCr4Osfxsr)) raise_ud();
  raise_fault(VEC_NM);
}

void avx_check_slow(Cpu& c) {
  if (!(c.cr4 & kCr4Osxsave) || (c.xcr0 & 6) != 6) raise_ud();
  raise_fault(VEC_NM);
}

void mmx_check_slow(Cpu& c) {
  if (c.cr0 & kCr0Em) raise_ud();
  if (c.cr0 & kCr0Ts) raise_fault(VEC_NM);
  if (c.x87.fsw & 0x80) raise_fault(VEC_MF);
}

// SDM Vol. 1 11.5.2.1/11.5.2.2: if an unmasked pre-computation exception (#I, #D,
// #Z) occurred in any element, only the pre-computation flags are set and no
// post-computation exception is reported; otherwise every detected flag is set.
// Either way the destination is not written. #XM needs CR4.OSXMMEXCPT, else #UD
// (SDM Vol. 3A 6.15 "Interrupt 19").
void fp_raise(Cpu& c, uint32_t flags) {
  uint32_t unmasked = flags & ~(c.mxcsr >> 7) & kMxFlags;
  if (unmasked & (kMxIE | kMxDE | kMxZE)) flags &= kMxIE | kMxDE | kMxZE;
  c.mxcsr |= flags;
  if (c.cr4 & kCr4Osxmmexcpt) raise_fault(VEC_XM);
  raise_ud();
}

std::vector<const Binding*> all_bindings() {
  std::vector<const Binding*> out;
  for (auto tab : {sse_mov_bindings(), sse_int_bindings(), sse_fp_bindings(), sse_misc_bindings(),
                   avx_bindings()}) {
    for (const Binding& b : tab) out.push_back(&b);
  }
  return out;
}

const Binding* find_binding(const char* name) {
  for (const Binding* b : all_bindings())
    if (std::strcmp(b->name, name) == 0) return b;
  return nullptr;
}

std::vector<const char*> missing_forms() {
  std::vector<const char*> out;
  for (const Binding* b : all_bindings())
    if (b->form == Form::invalid) out.push_back(b->name);
  return out;
}

// Legacy and MMX handlers serve every size index; VEX ones are indexed by VEX.L
// (size index 1), and forms the table declares with a scalar osize (2, 3) are L=0.
void register_bindings(HandlerTable& t, std::span<const Binding> tab) {
  for (const Binding& b : tab) {
    if (b.form == Form::invalid) continue;
    for (unsigned s = 0; s < 4; s++) {
      unsigned l = b.vex && s == 1 ? 1 : 0;
      t.set(b.form, s, b.h[l][0], b.h[l][1]);
    }
  }
}

}  // namespace isa::simd

namespace isa {

void register_sse_handlers(HandlerTable& t) {
  simd::register_bindings(t, simd::sse_mov_bindings());
  simd::register_bindings(t, simd::sse_int_bindings());
  simd::register_bindings(t, simd::sse_fp_bindings());
  simd::register_bindings(t, simd::sse_misc_bindings());
}

}  // namespace isa
