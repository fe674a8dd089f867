// Port I/O instructions and the Bus services that need the machine: ports, CPUID,
// platform MSRs (SDM Vol. 1 chapter 19, Vol. 2 IN/OUT/INS/OUTS/CPUID).
#include "sim/system.h"

#include "isa/cpu.h"
#include "isa/system.h"
#include "sim/machine.h"
#include "sim/platform.h"

namespace sim {
namespace {

using isa::Cpu;
using isa::DecodedInst;

// I/O permission (SDM Vol. 1 19.5.1-19.5.2, Vol. 3A 20.2.8 for virtual-8086 mode):
// in protected mode with CPL > IOPL, or in virtual-8086 mode, every bit of the
// accessed ports must be clear in the TSS I/O bitmap. The processor reads two bytes
// of the bitmap (so a bitmap must be followed by a byte of ones), through implicit
// supervisor accesses; a 16-bit TSS has no bitmap, and a bitmap byte pair beyond the
// TSS limit means "no permission": #GP(0).
void check_io(Cpu& c, uint16_t port, unsigned size) {
  if (!c.protected_mode()) return;
  const unsigned iopl = (c.rflags >> 12) & 3;
  if (!c.v86() && c.cpl <= iopl) return;
  const unsigned type = c.tr.attr & 0xF;
  if ((type != 9 && type != 0xB) || c.tr.limit < 103) isa::raise_gp0();
  uint16_t map_base;
  c.sys_read(c.tr.base + 102, &map_base, 2);
  const uint64_t off = uint64_t(map_base) + port / 8;
  if (off + 1 > c.tr.limit) isa::raise_gp0();
  uint16_t bits;
  c.sys_read(c.tr.base + off, &bits, 2);
  const unsigned mask = ((1u << size) - 1) << (port & 7);
  if (bits & mask) isa::raise_gp0();
}

// After the access: I/O breakpoints (SDM Vol. 3A 17.2.4, CR4.DE = 1, R/W = 10b).
inline void io_breakpoints(Cpu& c, uint16_t port, unsigned size) {
  if (c.cr4 & (1u << 3)) isa::match_io_breakpoints(c, port, size);
}

// Port I/O in VMX non-root operation: after the I/O-permission checks, which have
// priority, the I/O bitmaps or unconditional I/O exiting decide (SDM Vol. 3C 25.1.1,
// 25.1.3). The callers return at once when the instruction exited.
inline uint64_t io_arg(uint16_t port, unsigned size, bool in) {
  return port | uint64_t(size) << 16 | uint64_t(in) << 24;
}

// IN AL/AX/EAX, imm8 or DX; OUT likewise. The 64-bit operand size is 32 for I/O.
template <class T>
void in_acc(Cpu& c, const DecodedInst& d, uint16_t port) {
  check_io(c, port, sizeof(T));
  if (isa::intercepted(c, d, isa::Intercept::kIo, io_arg(port, sizeof(T), true))) return;
  uint32_t v = c.bus->port_in(c, port, sizeof(T));
  io_breakpoints(c, port, sizeof(T));
  c.set_reg<T>(isa::RAX, T(v));
}
template <class T>
void out_acc(Cpu& c, const DecodedInst& d, uint16_t port) {
  check_io(c, port, sizeof(T));
  if (isa::intercepted(c, d, isa::Intercept::kIo, io_arg(port, sizeof(T), false))) return;
  c.bus->port_out(c, port, sizeof(T), c.reg<T>(isa::RAX));
  io_breakpoints(c, port, sizeof(T));
}
template <class T>
void in_acc_ib(Cpu& c, const DecodedInst& d) {
  in_acc<T>(c, d, uint8_t(d.imm));
}
template <class T>
void in_acc_dx(Cpu& c, const DecodedInst& d) {
  in_acc<T>(c, d, uint16_t(c.r[isa::RDX]));
}
template <class T>
void out_ib_acc(Cpu& c, const DecodedInst& d) {
  out_acc<T>(c, d, uint8_t(d.imm));
}
template <class T>
void out_dx_acc(Cpu& c, const DecodedInst& d) {
  out_acc<T>(c, d, uint16_t(c.r[isa::RDX]));
}

// INS/OUTS (SDM Vol. 2A "INS", Vol. 2B "OUTS"): port DX; INS writes ES:rDI (no
// override), OUTS reads seg:rSI (overridable); the address size picks the counter and
// pointers. Each element is precise: INS checks the destination is writable before
// it reads the port, so a fault leaves no port access behind. REP (F3, and F2 which
// these forms treat alike) runs at most kRepChunk elements per call, then commits
// and re-executes, as the other string forms do (isa/exec_string.cpp): the run loop
// sees limits and interrupts between chunks, and the instruction retires once.
constexpr uint64_t kRepChunk = 4096;

template <bool In, class T, class A>
void string_io(Cpu& c, const DecodedInst& d) {
  const uint16_t port = uint16_t(c.r[isa::RDX]);
  const A step = (c.rflags & isa::FLAG_DF) ? A(0 - A(sizeof(T))) : A(sizeof(T));
  const bool rep = d.flags & (isa::IF_REP | isa::IF_REPNE);
  A ptr = A(c.r[In ? isa::RDI : isa::RSI]);
  A cx = A(c.r[isa::RCX]);
  const unsigned elem_cycles = static_cast<Machine*>(c.bus)->model().class_cycles[isa::C_IO];
  uint64_t done = 0;
  auto commit = [&] {
    c.set_reg<A>(In ? isa::RDI : isa::RSI, ptr);
    if (rep) c.set_reg<A>(isa::RCX, cx);
    if (rep) c.cycles += done * elem_cycles;  // REP: every element, on top of the base
  };
  // Non-root: the whole instruction exits before its first element (SDM Vol. 3C
  // 25.1.3; the I/O-permission check comes first).
  if (c.vmx.may_exit) {
    check_io(c, port, sizeof(T));
    if (isa::intercepted(c, d, isa::Intercept::kIo, io_arg(port, sizeof(T), In))) return;
  }
  auto element = [&] {
    if constexpr (In) {
      check_io(c, port, sizeof(T));
      c.probe_write(isa::ES, ptr, sizeof(T));
      c.write<T>(isa::ES, ptr, T(c.bus->port_in(c, port, sizeof(T))));
    } else {
      T v = c.read<T>(d.seg, ptr);
      check_io(c, port, sizeof(T));
      c.bus->port_out(c, port, sizeof(T), v);
    }
    io_breakpoints(c, port, sizeof(T));
    ptr = A(ptr + step);
    done++;
  };
  if (!rep) {
    element();
    commit();
    return;
  }
  try {
    while (cx != 0) {
      // As in isa/exec_string.cpp: a chunk, or an iteration that needs the run
      // loop's attention (I/O or data breakpoint, SDM Vol. 3A 17.3.1.2).
      if (done >= kRepChunk || (c.attention && done)) {
        commit();
        c.rip() -= d.len;
        c.icount--;  // this call does not retire the instruction, nor pay its base cost
        c.cycles -= d.cycles;
        return;
      }
      element();
      cx = A(cx - 1);
    }
  } catch (...) {
    commit();
    throw;
  }
  commit();
}

template <bool In, class T>
void string_io_as(Cpu& c, const DecodedInst& d) {
  switch (d.asize) {
    case 8: string_io<In, T, uint64_t>(c, d); break;
    case 4: string_io<In, T, uint32_t>(c, d); break;
    default: string_io<In, T, uint16_t>(c, d); break;
  }
}

void too_long(Cpu&, const DecodedInst&) { isa::raise_gp0(); }

// Binds one handler per I/O width: byte forms size 0; E5/ED/E7/EF/6D/6F 16 or 32
// bits (a 64-bit operand size is 32 for I/O, SDM Vol. 2A IN).
void bind_widths(isa::HandlerTable& t, isa::Form f, isa::Handler h8, isa::Handler h16,
                 isa::Handler h32) {
  if (h8) {
    t.set_all(f, h8);
    return;
  }
  t.set(f, 1, h16, h16);
  t.set(f, 2, h32, h32);
  t.set(f, 3, h32, h32);
}

}  // namespace

void bind_system_forms(isa::HandlerTable& t) {
  using isa::Form;
  bind_widths(t, Form::in_al_ib, &in_acc_ib<uint8_t>, nullptr, nullptr);
  bind_widths(t, Form::in_al_dx, &in_acc_dx<uint8_t>, nullptr, nullptr);
  bind_widths(t, Form::out_ib_al, &out_ib_acc<uint8_t>, nullptr, nullptr);
  bind_widths(t, Form::out_dx_al, &out_dx_acc<uint8_t>, nullptr, nullptr);
  bind_widths(t, Form::in_eax_ib, nullptr, &in_acc_ib<uint16_t>, &in_acc_ib<uint32_t>);
  bind_widths(t, Form::in_eax_dx, nullptr, &in_acc_dx<uint16_t>, &in_acc_dx<uint32_t>);
  bind_widths(t, Form::out_ib_eax, nullptr, &out_ib_acc<uint16_t>, &out_ib_acc<uint32_t>);
  bind_widths(t, Form::out_dx_eax, nullptr, &out_dx_acc<uint16_t>, &out_dx_acc<uint32_t>);
  bind_widths(t, Form::insb, &string_io_as<true, uint8_t>, nullptr, nullptr);
  bind_widths(t, Form::outsb, &string_io_as<false, uint8_t>, nullptr, nullptr);
  bind_widths(t, Form::insv, nullptr, &string_io_as<true, uint16_t>,
              &string_io_as<true, uint32_t>);
  bind_widths(t, Form::outsv, nullptr, &string_io_as<false, uint16_t>,
              &string_io_as<false, uint32_t>);
}

uint32_t Machine::port_in(isa::Cpu&, uint16_t port, unsigned size) {
  io_in_count[port]++;
  return mem_.port_in(port, size);
}

void Machine::port_out(isa::Cpu&, uint16_t port, unsigned size, uint32_t value) {
  io_out_count[port]++;
  mem_.port_out(port, size, value);
}

void Machine::cpuid(isa::Cpu& c, uint32_t leaf, uint32_t subleaf, uint32_t out[4]) {
  // SDM Vol. 2A CPUID: leaves above the maximum return the highest basic leaf's data;
  // we return zeros for unknown leaves within range, which is what models without
  // them report.
  model_->cpuid_leaf(leaf, subleaf, out);
  if (leaf == 1) {
    if (c.cr4 & isa::CR4_OSXSAVE) out[2] |= 1u << 27;  // OSXSAVE tracks CR4.OSXSAVE
    // MONITOR/MWAIT is hidden while IA32_MISC_ENABLE.ENABLE_MONITOR_FSM is clear.
    if (!(c.msr.misc_enable & (1ull << 18))) out[2] &= ~(1u << 3);
    out[1] = (out[1] & 0x00FFFFFF);              // initial APIC ID 0
  }
  if (leaf == 7 && subleaf == 0 && (c.cr4 & (1u << 22))) out[2] |= 1u << 4;  // OSPKE
}

uint64_t Machine::random64(isa::Cpu&) {
  // xorshift64*: deterministic per --seed, so runs are reproducible.
  rng_ ^= rng_ >> 12;
  rng_ ^= rng_ << 25;
  rng_ ^= rng_ >> 27;
  return rng_ * 0x2545F4914F6CDD1Dull;
}

// Platform MSRs: the x2APIC range (0x800-0x8FF) and IA32_TSC_DEADLINE belong to the
// local APIC (sim/dev/lapic.h); the VMX capability MSRs (0x480-0x492, read-only) to the
// VMX unit.
bool Machine::platform_rdmsr(isa::Cpu& c, uint32_t index, uint64_t& value) {
  if (index >= vmx::MSR_VMX_BASIC && index <= vmx::MSR_VMX_PROCBASED_CTLS3)
    return vmx_.rdmsr(index, value);
  // VMX non-root operation with "virtualize x2APIC mode" (vmx/apicv.cpp).
  if (NS_UNLIKELY(c.vmx.mode == isa::VmxMode::kNonRoot) && (index >> 8) == 0x8 &&
      vmx_.x2apic_rdmsr(c, index, value))
    return true;
  return platform_->rdmsr(index, value);
}
bool Machine::platform_wrmsr(isa::Cpu& c, uint32_t index, uint64_t value) {
  if (NS_UNLIKELY(c.vmx.mode == isa::VmxMode::kNonRoot) && (index >> 8) == 0x8 &&
      vmx_.x2apic_wrmsr(c, index, value))
    return true;
  return platform_->wrmsr(index, value);
}

void apply_model_msrs(isa::Cpu& c, const CpuModel& m) {
  for (const MsrDefault& d : m.msr_defaults) isa::set_msr_initial(c, d.index, d.value);
}

void bind_too_long(isa::DecodedInst& d) { d.fn = &too_long; }

}  // namespace sim
