// Which instructions exit in VMX non-root operation (SDM Vol. 3C 25.1), as a table:
// one row per isa::Intercept with the exit reason and the control that enables it
// (STYLE.md principle 7: exits are data). Rows marked kCustom are decided by the
// function named beside them (bitmaps, masks, CR3 targets, enable controls); the
// qualification and instruction information of each exit follow 27.2.1 and 27.2.4.
#include <cstdio>

#include "vmx/vmx.h"

namespace vmx {

using isa::Cpu;
using isa::DecodedInst;
using isa::Intercept;

namespace {

enum class Gate : uint8_t { kAlways, kProc, kProc2, kCustom };

struct Rule {
  Intercept kind;
  ExitReason reason;
  Gate gate;
  uint32_t bit;  // the control bit for kProc/kProc2
};

// 25.1.2 (unconditional), 25.1.3 (conditional). Indexed by Intercept.
constexpr Rule kRules[] = {
    {Intercept::kCpuid, ExitReason::CPUID, Gate::kAlways, 0},
    {Intercept::kGetsec, ExitReason::GETSEC, Gate::kAlways, 0},
    {Intercept::kHlt, ExitReason::HLT, Gate::kProc, CPU_HLT_EXITING},
    {Intercept::kInvd, ExitReason::INVD, Gate::kAlways, 0},
    {Intercept::kInvlpg, ExitReason::INVLPG, Gate::kProc, CPU_INVLPG_EXITING},
    {Intercept::kRdpmc, ExitReason::RDPMC, Gate::kProc, CPU_RDPMC_EXITING},
    {Intercept::kRdtsc, ExitReason::RDTSC, Gate::kProc, CPU_RDTSC_EXITING},
    {Intercept::kRdtscp, ExitReason::RDTSCP, Gate::kCustom, 0},      // decide_rdtscp
    {Intercept::kVmcall, ExitReason::VMCALL, Gate::kAlways, 0},
    {Intercept::kVmclear, ExitReason::VMCLEAR, Gate::kAlways, 0},
    {Intercept::kVmlaunch, ExitReason::VMLAUNCH, Gate::kAlways, 0},
    {Intercept::kVmptrld, ExitReason::VMPTRLD, Gate::kAlways, 0},
    {Intercept::kVmptrst, ExitReason::VMPTRST, Gate::kAlways, 0},
    {Intercept::kVmread, ExitReason::VMREAD, Gate::kCustom, 0},      // decide_vmcs_access
    {Intercept::kVmresume, ExitReason::VMRESUME, Gate::kAlways, 0},
    {Intercept::kVmwrite, ExitReason::VMWRITE, Gate::kCustom, 0},    // decide_vmcs_access
    {Intercept::kVmxoff, ExitReason::VMXOFF, Gate::kAlways, 0},
    {Intercept::kVmxon, ExitReason::VMXON, Gate::kAlways, 0},
    {Intercept::kInvept, ExitReason::INVEPT, Gate::kAlways, 0},
    {Intercept::kInvvpid, ExitReason::INVVPID, Gate::kAlways, 0},
    {Intercept::kVmfunc, ExitReason::VMFUNC, Gate::kCustom, 0},      // decide_vmfunc
    {Intercept::kMovToCr, ExitReason::CR_ACCESS, Gate::kCustom, 0},  // decide_cr
    {Intercept::kMovFromCr, ExitReason::CR_ACCESS, Gate::kCustom, 0},
    {Intercept::kClts, ExitReason::CR_ACCESS, Gate::kCustom, 0},
    {Intercept::kLmsw, ExitReason::CR_ACCESS, Gate::kCustom, 0},
    {Intercept::kMovDr, ExitReason::DR_ACCESS, Gate::kProc, CPU_MOV_DR_EXITING},
    {Intercept::kIo, ExitReason::IO_INSTRUCTION, Gate::kCustom, 0},  // decide_io
    {Intercept::kRdmsr, ExitReason::MSR_READ, Gate::kCustom, 0},     // decide_msr
    {Intercept::kWrmsr, ExitReason::MSR_WRITE, Gate::kCustom, 0},
    {Intercept::kMwait, ExitReason::MWAIT_INSTRUCTION, Gate::kProc, CPU_MWAIT_EXITING},
    {Intercept::kMonitor, ExitReason::MONITOR_INSTRUCTION, Gate::kProc, CPU_MONITOR_EXITING},
    {Intercept::kPause, ExitReason::PAUSE_INSTRUCTION, Gate::kCustom, 0},  // PAUSE-loop exiting
    {Intercept::kWbinvd, ExitReason::WBINVD, Gate::kProc2, CPU2_WBINVD_EXITING},
    {Intercept::kXsetbv, ExitReason::XSETBV, Gate::kAlways, 0},
    {Intercept::kRdrand, ExitReason::RDRAND, Gate::kProc2, CPU2_RDRAND_EXITING},
    {Intercept::kRdseed, ExitReason::RDSEED, Gate::kProc2, CPU2_RDSEED_EXITING},
    {Intercept::kInvpcid, ExitReason::INVPCID, Gate::kCustom, 0},    // decide_invpcid
    {Intercept::kDescTable, ExitReason::GDTR_IDTR, Gate::kProc2, CPU2_DESC_TABLE_EXITING},
    {Intercept::kXsaves, ExitReason::XSAVES, Gate::kCustom, 0},      // decide_xsaves
    {Intercept::kXrstors, ExitReason::XRSTORS, Gate::kCustom, 0},
};
static_assert(sizeof(kRules) / sizeof(kRules[0]) == unsigned(Intercept::kCount));

constexpr bool rules_in_order() {
  for (unsigned i = 0; i < unsigned(Intercept::kCount); i++)
    if (unsigned(kRules[i].kind) != i) return false;
  return true;
}
static_assert(rules_in_order(), "kRules must be indexed by isa::Intercept");

// The instruction-information fields of 27.2.4 share their memory-operand part:
// scaling (1:0), address size (9:7: 0 = 16, 1 = 32, 2 = 64 bits), memory/register
// (10: 1 = register), segment (17:15), index (21:18, invalid 22), base (26:23,
// invalid 27).
uint32_t mem_operand_info(const DecodedInst& d) {
  const uint32_t asz = d.asize == 8 ? 2 : d.asize == 4 ? 1 : 0;
  if (!d.is_mem()) return asz << 7 | 1u << 10;
  uint32_t info = d.scale | asz << 7 | uint32_t(d.seg) << 15;
  if (d.index < 16) info |= uint32_t(d.index) << 18;
  else info |= 1u << 22;
  if (d.base < 16) info |= uint32_t(d.base) << 23;
  else info |= 1u << 27;  // no base (RIP-relative also reports "invalid")
  return info;
}

uint64_t displacement(const DecodedInst& d) { return uint64_t(int64_t(d.disp)); }

}  // namespace

// The Intercept kinds that need a decision under the current controls: what the
// core's may_exit mask holds while in non-root operation.
uint64_t Vmx::intercept_mask() {
  const Vmcs& v = *current_;
  const uint32_t proc = uint32_t(v.get(Field::CPU_BASED_VM_EXEC_CONTROL));
  const uint32_t proc2 = v.secondary_controls();
  // Computed once per distinct pair of controls (every VM entry asks).
  if (mask_valid_ && proc == mask_proc_ && proc2 == mask_proc2_) return mask_;
  uint64_t m = 0;
  for (const Rule& r : kRules) {
    bool on = false;
    switch (r.gate) {
      case Gate::kAlways: on = true; break;
      case Gate::kProc: on = proc & r.bit; break;
      case Gate::kProc2: on = proc2 & r.bit; break;
      case Gate::kCustom: on = true; break;
    }
    if (on) m |= 1ull << unsigned(r.kind);
  }
  // Refinements of the custom rows that can never exit under these controls.
  if (!(proc & (CPU_UNCOND_IO_EXITING | CPU_USE_IO_BITMAPS))) m &= ~(1ull << unsigned(Intercept::kIo));
  if (!(proc & CPU_PAUSE_EXITING) && !(proc2 & CPU2_PAUSE_LOOP_EXITING))
    m &= ~(1ull << unsigned(Intercept::kPause));
  mask_proc_ = proc, mask_proc2_ = proc2, mask_ = m, mask_valid_ = true;
  return m;
}

bool Vmx::intercept(Cpu& c, const DecodedInst& d, Intercept k, uint64_t arg) {
  if (c.vmx.mode != isa::VmxMode::kNonRoot) return false;
  ExitInfo e;
  if (!wants_exit(c, d, k, arg, e)) return false;
  // An instruction exit is fault-like (27.1): RIP is the instruction's, which did not
  // execute. The run loop counts it as retired once the handler returns; the exit's
  // cost replaces its own.
  c.rip() -= d.len;
  c.icount--;
  c.cycles -= d.cycles;
  e.instr_len = d.len;
  // The instruction returns at once (isa::intercepted): a quiet transition (vmx.h).
  const bool outer = quiet_begin();
  try {
    vm_exit(c, e);
  } catch (...) {
    quiet_ = outer;
    c.attention = true;
    throw;
  }
  quiet_end(c, outer);
  return true;
}

// Decides one intercept; fills the exit information when the instruction exits. May
// raise the faults non-root operation adds to an instruction (#UD when a secondary
// control disables it, 25.3).
bool Vmx::wants_exit(Cpu& c, const DecodedInst& d, Intercept k, uint64_t arg, ExitInfo& e) {
  const Vmcs& v = *current_;
  const uint32_t proc = uint32_t(v.get(Field::CPU_BASED_VM_EXEC_CONTROL));
  const uint32_t proc2 = v.secondary_controls();
  const Rule& r = kRules[unsigned(k)];
  e.reason = uint32_t(r.reason);
  switch (k) {
    case Intercept::kRdtscp:
      // 25.3: RDTSCP is #UD unless "enable RDTSCP"; it exits with "RDTSC exiting".
      if (!(proc2 & CPU2_RDTSCP)) isa::raise_ud();
      return proc & CPU_RDTSC_EXITING;
    case Intercept::kInvpcid:
      // 25.3: INVPCID is #UD unless "enable INVPCID"; it exits with "INVLPG exiting".
      if (!(proc2 & CPU2_INVPCID)) isa::raise_ud();
      if (!(proc & CPU_INVLPG_EXITING)) return false;
      e.qualification = displacement(d);
      e.instr_info = mem_operand_info(d) | uint32_t(d.reg) << 28;
      return true;
    case Intercept::kXsaves:
    case Intercept::kXrstors: {
      // 25.3: #UD unless "enable XSAVES/XRSTORS"; exits when the requested-feature
      // bitmap (arg) meets the XSS-exiting bitmap (25.1.3).
      if (!(proc2 & CPU2_XSAVES)) isa::raise_ud();
      if (!(arg & v.get(Field::XSS_EXIT_BITMAP))) return false;
      e.qualification = displacement(d);
      e.instr_info = mem_operand_info(d);
      return true;
    }
    case Intercept::kVmread:
    case Intercept::kVmwrite: {
      // 25.1.3: with VMCS shadowing, an encoding with bits 63:15 clear whose bit in the
      // VMREAD/VMWRITE bitmap is 0 does not exit.
      const uint64_t enc = c.r[d.reg];
      if ((proc2 & CPU2_VMCS_SHADOWING) && !(enc >> 15)) {
        const uint64_t bitmap = v.get(k == Intercept::kVmread ? Field::VMREAD_BITMAP : Field::VMWRITE_BITMAP);
        uint8_t byte = 0xFF;
        env_.phys_read(bitmap + (enc >> 3), &byte, 1);
        if (!((byte >> (enc & 7)) & 1)) return false;
      }
      e.qualification = d.is_mem() ? displacement(d) : 0;
      e.instr_info = mem_operand_info(d) | uint32_t(d.reg) << 28 |
                     (d.is_mem() ? 0 : uint32_t(d.rm) << 3);
      return true;
    }
    case Intercept::kVmfunc: {
      // Vmx::vmfunc ran EPTP switching when it could; what reaches here exits.
      if (!(proc2 & CPU2_VMFUNC)) isa::raise_ud();
      return true;
    }
    case Intercept::kMovToCr:
    case Intercept::kMovFromCr: {
      const unsigned cr = unsigned(arg);
      const bool to = k == Intercept::kMovToCr;
      bool exits = false;
      if (to && (cr == 0 || cr == 4)) {
        // 25.1.3: MOV to CR0/CR4 exits when a bit set in the guest/host mask would
        // get a value different from the read shadow's.
        const uint64_t val = c.r[d.rm];
        const uint64_t mask = v.get(cr == 0 ? Field::CR0_GUEST_HOST_MASK : Field::CR4_GUEST_HOST_MASK);
        const uint64_t shadow = v.get(cr == 0 ? Field::CR0_READ_SHADOW : Field::CR4_READ_SHADOW);
        exits = (val ^ shadow) & mask;
      } else if (to && cr == 3) {
        // CR3-load exiting, unless the value is one of the first CR3_TARGET_COUNT
        // CR3-target values.
        if (proc & CPU_CR3_LOAD_EXITING) {
          exits = true;
          const uint64_t val = c.r[d.rm];
          const uint64_t n = v.get(Field::CR3_TARGET_COUNT);
          for (unsigned i = 0; i < n && i < 4; i++)
            if (v.get(Field(unsigned(Field::CR3_TARGET_VALUE0) + i)) == val) exits = false;
        }
      } else if (cr == 3) {
        exits = proc & CPU_CR3_STORE_EXITING;
      } else if (cr == 8) {
        exits = proc & (to ? CPU_CR8_LOAD_EXITING : CPU_CR8_STORE_EXITING);
      }
      if (!exits) return false;
      // Qualification (Table 27-3): CR number 3:0, access type 5:4 (0 to, 1 from),
      // general-purpose register 11:8.
      e.qualification = cr | (to ? 0u : 1u) << 4 | uint32_t(d.rm) << 8;
      return true;
    }
    case Intercept::kClts: {
      // CLTS exits when CR0.TS is owned by the host and the shadow's TS is 1.
      const uint64_t mask = v.get(Field::CR0_GUEST_HOST_MASK);
      const uint64_t shadow = v.get(Field::CR0_READ_SHADOW);
      if (!((mask & shadow) & isa::CR0_TS)) return false;
      e.qualification = 2u << 4;
      return true;
    }
    case Intercept::kLmsw: {
      // LMSW exits when it would change a host-owned bit of PE/MP/EM/TS away from the
      // shadow; it cannot clear PE, so only setting a host-owned PE counts.
      const uint64_t mask = v.get(Field::CR0_GUEST_HOST_MASK);
      const uint64_t shadow = v.get(Field::CR0_READ_SHADOW);
      const uint64_t src = arg & 0xFFFF;
      const bool pe = (mask & 1) && !(shadow & 1) && (src & 1);
      if (!pe && !((src ^ shadow) & mask & 0xE)) return false;
      e.qualification = 3u << 4 | (d.is_mem() ? 1u << 6 : 0) | uint64_t(src) << 16;
      if (d.is_mem()) {
        e.has_linear = true;
        e.guest_linear = c.linear(d.seg, c.ea(d), 2, isa::Access::kRead);
      }
      return true;
    }
    case Intercept::kMovDr: {
      // Qualification (Table 27-4): DR number 2:0, direction 4 (1 = MOV from DR), GPR 11:8.
      const bool from = d.form == isa::Form::mov_rd_dd;
      e.qualification = (d.reg & 7u) | (from ? 1u << 4 : 0) | uint32_t(d.rm) << 8;
      return true;
    }
    case Intercept::kIo: {
      const unsigned port = unsigned(arg & 0xFFFF), size = unsigned((arg >> 16) & 0xFF);
      const bool in = (arg >> 24) & 1;
      bool exits = false;
      if (proc & CPU_USE_IO_BITMAPS) {
        // 25.1.3: the bit of each port accessed; a wrap past 0xFFFF exits.
        for (unsigned p = port; p < port + size && !exits; p++) {
          if (p > 0xFFFF) {
            exits = true;
            break;
          }
          const uint64_t bitmap = v.get(p < 0x8000 ? Field::IO_BITMAP_A : Field::IO_BITMAP_B);
          uint8_t byte = 0;
          env_.phys_read(bitmap + ((p & 0x7FFF) >> 3), &byte, 1);
          exits = (byte >> (p & 7)) & 1;
        }
      } else {
        exits = proc & CPU_UNCOND_IO_EXITING;
      }
      if (!exits) return false;
      // Qualification (Table 27-5): size - 1 (2:0), direction (3: 1 = IN), string (4),
      // REP (5), operand encoding (6: 1 = immediate), port (31:16).
      const isa::Form f = d.form;
      const bool string = f == isa::Form::insb || f == isa::Form::insv || f == isa::Form::outsb ||
                          f == isa::Form::outsv;
      const bool imm = f == isa::Form::in_al_ib || f == isa::Form::in_eax_ib ||
                       f == isa::Form::out_ib_al || f == isa::Form::out_ib_eax;
      const bool rep = string && (d.flags & (isa::IF_REP | isa::IF_REPNE));
      e.qualification = (size - 1) | (in ? 1u << 3 : 0) | (string ? 1u << 4 : 0) |
                        (rep ? 1u << 5 : 0) | (imm ? 1u << 6 : 0) | uint64_t(port) << 16;
      if (string) {
        // INS/OUTS (BASIC[54]): address size and, for OUTS, the segment (Table 27-8);
        // the guest-linear address of the first element (27.2.1).
        const uint32_t asz = d.asize == 8 ? 2 : d.asize == 4 ? 1 : 0;
        e.instr_info = asz << 7 | (in ? uint32_t(isa::ES) : uint32_t(d.seg)) << 15;
        const uint64_t off = c.r[in ? isa::RDI : isa::RSI];
        const uint64_t a = d.asize == 8 ? off : d.asize == 4 ? uint32_t(off) : uint16_t(off);
        e.has_linear = true;
        e.guest_linear = c.seg_base_eff[in ? unsigned(isa::ES) : unsigned(d.seg)] + a;
      }
      return true;
    }
    case Intercept::kRdmsr:
    case Intercept::kWrmsr: {
      if (!(proc & CPU_USE_MSR_BITMAPS)) return true;
      // 24.6.9: read bitmaps for low (0-1FFFH) and high (C0000000H-C0001FFFH) MSRs at
      // 0 and 1024, write bitmaps at 2048 and 3072; any other MSR exits.
      const uint32_t msr = uint32_t(arg);
      uint64_t off;
      if (msr <= 0x1FFF) off = 0;
      else if (msr >= 0xC0000000 && msr <= 0xC0001FFF) off = 1024;
      else return true;
      if (k == Intercept::kWrmsr) off += 2048;
      const uint32_t bit = msr & 0x1FFF;
      uint8_t byte = 0xFF;
      env_.phys_read(v.get(Field::MSR_BITMAP) + off + (bit >> 3), &byte, 1);
      return (byte >> (bit & 7)) & 1;
    }
    case Intercept::kPause:
      // 25.1.3: "PAUSE exiting" makes every PAUSE exit, at any CPL, and then "PAUSE-loop
      // exiting" is ignored; that one applies at CPL 0 only. Qualification 0.
      if (proc & CPU_PAUSE_EXITING) return true;
      return (proc2 & CPU2_PAUSE_LOOP_EXITING) && c.cpl == 0 && pause_loop_exits(c);
    case Intercept::kInvlpg:
      // The qualification is the linear-address operand (27.2.1).
      e.qualification = c.linear(d.seg, c.ea(d), 1, isa::Access::kRead);
      return true;
    case Intercept::kDescTable: {
      // Reason 46 for SGDT/SIDT/LGDT/LIDT, 47 for SLDT/STR/LLDT/LTR; instruction
      // identity in bits 29:28 (Tables 27-10, 27-11); the displacement as qualification.
      unsigned id = 0;
      bool gdt = true;
      switch (d.form) {
        case isa::Form::sgdt_m: id = 0; break;
        case isa::Form::sidt_m: id = 1; break;
        case isa::Form::lgdt_m: id = 2; break;
        case isa::Form::lidt_m: id = 3; break;
        case isa::Form::sldt_ew: id = 0, gdt = false; break;
        case isa::Form::str_ew: id = 1, gdt = false; break;
        case isa::Form::lldt_ew: id = 2, gdt = false; break;
        default: id = 3, gdt = false; break;  // ltr_ew
      }
      e.reason = uint32_t(gdt ? ExitReason::GDTR_IDTR : ExitReason::LDTR_TR);
      e.qualification = d.is_mem() ? displacement(d) : 0;
      e.instr_info = mem_operand_info(d) | id << 28 | (d.osize == 4 ? 1u << 11 : 0) |
                     (d.is_mem() ? 0 : uint32_t(d.rm) << 3);
      return true;
    }
    case Intercept::kRdrand:
    case Intercept::kRdseed:
      // Destination register (6:3) and operand size (12:11: 0 = 16, 1 = 32, 2 = 64).
      e.instr_info = uint32_t(d.rm) << 3 | (d.osize == 8 ? 2u : d.osize == 4 ? 1u : 0u) << 11;
      return true;
    case Intercept::kVmclear:
    case Intercept::kVmptrld:
    case Intercept::kVmptrst:
    case Intercept::kVmxon:
    case Intercept::kInvept:
    case Intercept::kInvvpid:
      e.qualification = displacement(d);
      e.instr_info = mem_operand_info(d) | uint32_t(d.reg) << 28;
      return true;
    default:
      break;
  }
  switch (r.gate) {
    case Gate::kAlways: return true;
    case Gate::kProc: return proc & r.bit;
    case Gate::kProc2: return proc2 & r.bit;
    case Gate::kCustom: return true;
  }
  return true;
}

// 25.1.3 PAUSE-loop exiting. Time is "a counter that runs at the same rate as the TSC":
// simulated cycles, before TSC offsetting and scaling (those change what the guest
// reads, not the rate of the counter). A PAUSE more than PLE_Gap after the previous
// PAUSE at CPL 0, or the first one at CPL 0 since VM entry, starts a loop; a PAUSE more
// than PLE_Window after the start of its loop exits (fault-like, like any PAUSE exit).
// The time of a PAUSE is Cpu::cycles when it executes; in the block loop that is the
// cycle its block began, and PAUSE ends its block, so a spin loop headed by PAUSE is
// timed exactly.
bool Vmx::pause_loop_exits(const Cpu& c) {
  const uint64_t now = c.cycles;
  const uint64_t gap = uint32_t(current_->get(Field::PLE_GAP));
  const uint64_t window = uint32_t(current_->get(Field::PLE_WINDOW));
  if (ple_entry_ != counters.entries || now - ple_last_ > gap) {
    ple_entry_ = counters.entries;
    ple_first_ = now;
  }
  ple_last_ = now;
  return now - ple_first_ > window;
}

}  // namespace vmx
