#include "sim/system.h"

#include "isa/cpu.h"
#include "sim/machine.h"

namespace sim {
namespace {

using isa::Cpu;
using isa::DecodedInst;

// I/O permission (SDM Vol. 1 19.5): in protected mode with CPL > IOPL, or in
// virtual-8086 mode, the TSS I/O bitmap decides. The bitmap check arrives with
// TSS support (issue 3); until then such accesses are refused with #GP(0).
void check_io(Cpu& c, uint16_t port, unsigned size) {
  bool pe = c.cr0 & 1;
  unsigned iopl = (c.rflags >> 12) & 3;
  if (pe && ((c.rflags & isa::FLAG_VM) || c.cpl > iopl)) isa::raise_gp0();
}

template <unsigned N>
uint32_t in_value(Cpu& c, uint16_t port) {
  check_io(c, port, N);
  return c.bus->port_in(c, port, N);
}

template <unsigned N>
void out_value(Cpu& c, uint16_t port, uint32_t v) {
  check_io(c, port, N);
  c.bus->port_out(c, port, N, v);
}

// IN AL/AX/EAX, imm8 or DX; OUT likewise. 16/32-bit by operand size.
template <class T, bool M>
void in_acc_ib(Cpu& c, const DecodedInst& d) {
  c.set_reg<T>(isa::RAX, T(in_value<sizeof(T)>(c, uint8_t(d.imm))));
}
template <class T, bool M>
void in_acc_dx(Cpu& c, const DecodedInst& d) {
  c.set_reg<T>(isa::RAX, T(in_value<sizeof(T)>(c, uint16_t(c.r[isa::RDX]))));
}
template <class T, bool M>
void out_ib_acc(Cpu& c, const DecodedInst& d) {
  out_value<sizeof(T)>(c, uint8_t(d.imm), c.reg<T>(isa::RAX));
}
template <class T, bool M>
void out_dx_acc(Cpu& c, const DecodedInst& d) {
  out_value<sizeof(T)>(c, uint16_t(c.r[isa::RDX]), c.reg<T>(isa::RAX));
}

// HLT (SDM Vol. 2A): CPL 0 only. Part 1 has no interrupt sources, so a halted CPU
// can never resume: the run ends (issue 4 adds wake-up by interrupts and skips ahead
// to the next timer event instead).
void hlt(Cpu& c, const DecodedInst&) {
  if (c.cpl != 0) isa::raise_gp0();
  static_cast<Machine*>(c.bus)->request_stop(StopReason::kHalted);
}

void too_long(Cpu&, const DecodedInst&) { isa::raise_gp0(); }

}  // namespace

void bind_system_forms(isa::HandlerTable& t) {
  NS_BIND_B(t, in_al_ib, in_acc_ib);
  NS_BIND_B(t, in_al_dx, in_acc_dx);
  NS_BIND_B(t, out_ib_al, out_ib_acc);
  NS_BIND_B(t, out_dx_al, out_dx_acc);
  // E5/ED/E7/EF: 16 or 32 bits (64-bit operand size is 32 for I/O, SDM IN/OUT).
  for (isa::Form f : {isa::Form::in_eax_ib, isa::Form::in_eax_dx, isa::Form::out_ib_eax,
                      isa::Form::out_dx_eax}) {
    isa::Handler h16 = f == isa::Form::in_eax_ib   ? &in_acc_ib<uint16_t, false>
                       : f == isa::Form::in_eax_dx ? &in_acc_dx<uint16_t, false>
                       : f == isa::Form::out_ib_eax ? &out_ib_acc<uint16_t, false>
                                                    : &out_dx_acc<uint16_t, false>;
    isa::Handler h32 = f == isa::Form::in_eax_ib   ? &in_acc_ib<uint32_t, false>
                       : f == isa::Form::in_eax_dx ? &in_acc_dx<uint32_t, false>
                       : f == isa::Form::out_ib_eax ? &out_ib_acc<uint32_t, false>
                                                    : &out_dx_acc<uint32_t, false>;
    t.set(f, 1, h16, h16);
    t.set(f, 2, h32, h32);
    t.set(f, 3, h32, h32);
  }
  t.set_all(isa::Form::hlt, &hlt);
}

uint32_t Machine::port_in(isa::Cpu&, uint16_t port, unsigned size) {
  return mem_.port_in(port, size);
}

void Machine::port_out(isa::Cpu&, uint16_t port, unsigned size, uint32_t value) {
  mem_.port_out(port, size, value);
}

void Machine::cpuid(isa::Cpu& c, uint32_t leaf, uint32_t subleaf, uint32_t out[4]) {
  // SDM Vol. 2A CPUID: leaves above the maximum return the highest basic leaf's data;
  // we return zeros for unknown leaves within range, which is what models without
  // them report.
  out[0] = out[1] = out[2] = out[3] = 0;
  for (const CpuidLeaf& l : model_->cpuid) {
    if (l.leaf == leaf && (!l.has_subleaves || l.subleaf == subleaf)) {
      out[0] = l.eax, out[1] = l.ebx, out[2] = l.ecx, out[3] = l.edx;
      break;
    }
  }
  if (leaf == 1) {
    if (c.cr4 & (1u << 18)) out[2] |= 1u << 27;  // OSXSAVE tracks CR4.OSXSAVE
    out[1] = (out[1] & 0x00FFFFFF);              // initial APIC ID 0
  }
}

uint64_t Machine::random64(isa::Cpu&) {
  // xorshift64*: deterministic per --seed, so runs are reproducible.
  rng_ ^= rng_ >> 12;
  rng_ ^= rng_ << 25;
  rng_ ^= rng_ >> 27;
  return rng_ * 0x2545F4914F6CDD1Dull;
}


bool Machine::platform_rdmsr(isa::Cpu&, uint32_t, uint64_t&) { return false; }
bool Machine::platform_wrmsr(isa::Cpu&, uint32_t, uint64_t) { return false; }

void bind_too_long(isa::DecodedInst& d) { d.fn = &too_long; }

}  // namespace sim
