// Descriptor-table registers and the machine status word (SDM Vol. 3A 2.4, 2.6;
// Vol. 2A LGDT/LIDT, LLDT, SGDT, SIDT, SLDT, SMSW, LMSW).
//
// Privilege: the loads are CPL-0 only (#GP(0); virtual-8086 mode runs at CPL 3);
// the stores are allowed at any CPL unless CR4.UMIP is set (#GP(0) at CPL > 0).
// LLDT and SLDT are #UD in real and virtual-8086 mode; the others work there.
#include <cstring>

#include "isa/exec_int.h"
#include "isa/sys_seg_util.h"

namespace isa {

using namespace seg;

namespace {

using exec::bind_v;

// The memory operand m16&32 / m16&64: limit, then base. Outside 64-bit mode a 16-bit
// operand size uses 24 bits of the base; in 64-bit mode the base is always 8 bytes
// and must be canonical.
template <bool IDT>
struct LoadDtr {
  static void run(Cpu& c, const DecodedInst& d) {
    if (c.cpl != 0) raise_gp0();
    if (intercepted(c, d, Intercept::kDescTable)) return;  // SDM Vol. 3C 25.1.3
    const uint64_t ea = c.ea(d);
    uint8_t b[10];
    c.read_bytes(d.seg, ea, b, c.long64 ? 10 : 6);
    uint16_t limit;
    uint64_t base = 0;
    std::memcpy(&limit, b, 2);
    std::memcpy(&base, b + 2, c.long64 ? 8 : 4);
    if (c.long64) {
      if (!canonical_la(c, base)) raise_gp0();
    } else if (d.osize == 2) {
      base &= 0xFFFFFF;
    }
    DescriptorTableReg& r = IDT ? c.idtr : c.gdtr;
    r.base = base;
    r.limit = limit;
  }
};

// SGDT/SIDT store the full 32-bit base outside 64-bit mode whatever the operand
// size (SDM Vol. 2B SGDT "Operation").
template <bool IDT>
struct StoreDtr {
  static void run(Cpu& c, const DecodedInst& d) {
    check_umip(c);
    if (intercepted(c, d, Intercept::kDescTable)) return;
    const DescriptorTableReg& r = IDT ? c.idtr : c.gdtr;
    uint8_t b[10];
    std::memcpy(b, &r.limit, 2);
    if (c.long64) {
      std::memcpy(b + 2, &r.base, 8);
    } else {
      const uint32_t base = uint32_t(r.base);
      std::memcpy(b + 2, &base, 4);
    }
    c.write_bytes(d.seg, c.ea(d), b, c.long64 ? 10 : 6);
  }
};

// LLDT r/m16 (SDM Vol. 2A LLDT): a null selector makes LDTR unusable; otherwise an
// LDT descriptor in the GDT (16 bytes in IA-32e mode, canonical base).
struct Lldt {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    protected_only(c);
    if (c.cpl != 0) raise_gp0();
    if (intercepted(c, d, Intercept::kDescTable)) return;
    const uint16_t sel = exec::read_e<uint16_t, M>(c, d);
    const uint16_t err = sel & 0xFFFC;
    if (err == 0) {
      null_segment(c.ldtr, sel, 0);
      return;
    }
    if (sel & 4) raise_fault(VEC_GP, err);
    const bool wide = ia32e(c);
    Descriptor desc = read_descriptor(c, sel, VEC_GP, wide);
    if (desc.s() || desc.type() != 2) raise_fault(VEC_GP, err);
    if (!desc.present()) raise_fault(VEC_NP, err);
    if (wide && ((read_descriptor_top(c, sel) & 0x1F00) || !canonical_la(c, desc.base64())))
      raise_fault(VEC_GP, err);
    load_cache(c.ldtr, sel, desc);
    c.ldtr.base = desc.base64();
  }
};

struct Sldt {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    protected_only(c);
    check_umip(c);
    if (intercepted(c, d, Intercept::kDescTable)) return;
    if constexpr (M) c.write<uint16_t>(d.seg, c.ea(d), c.ldtr.selector);
    else c.set_reg<T>(d.rm, T(c.ldtr.selector));
  }
};

// SMSW: a register destination receives CR0 at the operand size (bits above 15 of
// CR0 included); memory receives bits 15:0. In VMX non-root operation host-owned
// bits read from the CR0 read shadow (SDM Vol. 3C 25.3).
struct Smsw {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    check_umip(c);
    const uint64_t cr0 = (c.cr0 & ~c.vmx.cr0_mask) | (c.vmx.cr0_shadow & c.vmx.cr0_mask);
    if constexpr (M) c.write<uint16_t>(d.seg, c.ea(d), uint16_t(cr0));
    else c.set_reg<T>(d.rm, T(cr0));
  }
};

// LMSW: loads CR0 bits 3:0 (PE MP EM TS); PE can be set but not cleared.
struct Lmsw {
  template <class T, bool M>
  static void run(Cpu& c, const DecodedInst& d) {
    if (c.cpl != 0) raise_gp0();
    const uint16_t v = exec::read_e<uint16_t, M>(c, d);
    // Non-root: an exit when a host-owned bit would differ from the shadow (25.1.3);
    // otherwise write_cr0 leaves host-owned bits alone.
    if (intercepted(c, d, Intercept::kLmsw, v)) return;
    write_cr0(c, (c.cr0 & ~0xEull) | (v & 0xF) | (c.cr0 & 1));
  }
};

}  // namespace

void register_sys_dtr(HandlerTable& t) {
  t.set_all(Form::lgdt_m, &LoadDtr<false>::run);
  t.set_all(Form::lidt_m, &LoadDtr<true>::run);
  t.set_all(Form::sgdt_m, &StoreDtr<false>::run);
  t.set_all(Form::sidt_m, &StoreDtr<true>::run);
  bind_v<Lldt>(t, Form::lldt_ew);
  bind_v<Sldt>(t, Form::sldt_ew);
  bind_v<Smsw>(t, Form::smsw_ew);
  bind_v<Lmsw>(t, Form::lmsw_ew);
}

}  // namespace isa
