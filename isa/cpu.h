// isa::Cpu: the architectural state plus what instruction handlers need from the
// world, behind a narrow interface (STYLE.md principle 5):
//   - memory: read/write/fetch by segment:offset, through a host-pointer TLB whose
//     hits are inline and whose misses go to the Bus (mmu/ and sim/ implement it);
//   - faults: isa::raise_fault (fault.h);
//   - ports, CPUID, MSRs, intercepts: through the Bus as well.
// Handlers never touch devices, the page tables or a VMCS.
//
// Host-pointer TLB invariants:
//   - an entry maps one 4 KiB linear page to host memory inside guest RAM, so a hit
//     can never reach host memory outside the guest;
//   - entries are only installed for canonical addresses and accesses allowed at the
//     CPL they were filled for; anything that changes translation or permissions
//     (CR0/CR3/CR4/EFER, CPL, INVLPG, SMC protection) flushes the affected entries;
//   - write entries are never installed for pages holding decoded code, so the
//     write slow path sees every store to code and invalidates it (exact SMC).
#pragma once
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "isa/cpu_state.h"
#include "isa/decoded_inst.h"
#include "isa/fault.h"
#include "isa/lazy_flags.h"
#include "isa/msr.h"

#define NS_LIKELY(x) __builtin_expect(!!(x), 1)
#define NS_UNLIKELY(x) __builtin_expect(!!(x), 0)

namespace isa {

enum class Access : uint8_t { kRead = 0, kWrite = 1, kExec = 2 };

// What Bus::paging_event announces (SDM Vol. 3A 4.10.4 names the invalidation each
// one implies). `addr` is a linear address, `pcid` a PCID, where the event has them.
enum class PagingEvent : uint8_t {
  kCr3Write,          // MOV to CR3 (CR3 already updated); addr bit 63 = the no-flush bit
  kModeChange,        // CR0.PG/WP/PE, CR4.PAE/PSE/PGE/PCIDE/SMEP/SMAP/PKE/LA57, EFER.NXE/LMA
  kCplChange,         // CPL changed: host-TLB permissions no longer apply
  kAcChange,          // RFLAGS.AC changed while CR4.SMAP=1
  kInvlpg,            // INVLPG addr (current PCID)
  kInvpcidAddress,    // INVPCID type 0: addr in pcid
  kInvpcidSingle,     // INVPCID type 1: all non-global of pcid
  kInvpcidAllGlobal,  // INVPCID type 2: everything, globals included
  kInvpcidAllNonGlobal,  // INVPCID type 3
  kPkruChange,        // WRPKRU / XRSTOR of PKRU
};

// ---- VMX as the core sees it (issue 5) -------------------------------------------
// The VMX unit (vmx/) keeps this view current at VMXON, VM entry, VM exit and VMXOFF;
// instruction semantics read it and never look at a VMCS (STYLE.md principles 5, 7).
enum class VmxMode : uint8_t { kOff, kRoot, kNonRoot };

// What an instruction that VMX non-root operation may intercept is (SDM Vol. 3C 25.1):
// the instruction asks `intercepted(c, d, kind, arg)` at the point the SDM gives the
// exit its priority (after #UD and privilege-level faults, 25.1.1); vmx/intercept.cpp
// holds the table that says which control makes each kind exit.
enum class Intercept : uint8_t {
  kCpuid, kGetsec, kHlt, kInvd, kInvlpg, kRdpmc, kRdtsc, kRdtscp, kVmcall, kVmclear,
  kVmlaunch, kVmptrld, kVmptrst, kVmread, kVmresume, kVmwrite, kVmxoff, kVmxon, kInvept,
  kInvvpid, kVmfunc,
  kMovToCr,    // arg = CR number
  kMovFromCr,  // arg = CR number
  kClts,
  kLmsw,       // arg = the 16-bit source value
  kMovDr,
  kIo,         // arg = port | size << 16 | in << 24 (string and REP from the form)
  kRdmsr,      // arg = MSR index (ECX)
  kWrmsr,      // arg = MSR index (ECX)
  kMwait, kMonitor, kPause, kWbinvd, kXsetbv, kRdrand, kRdseed, kInvpcid,
  kDescTable,  // SGDT SIDT LGDT LIDT SLDT STR LLDT LTR (which one: the form)
  kXsaves,     // arg = the requested-feature bitmap (EDX:EAX & XCR0|XSS)
  kXrstors,
  kCount
};
static_assert(unsigned(Intercept::kCount) <= 64);

struct VmxView {
  VmxMode mode = VmxMode::kOff;
  uint64_t may_exit = 0;  // bit per Intercept: the Bus decides (Bus::intercept)
  // CR0/CR4 as MOV from CR / SMSW read them: bits set in the guest/host mask come from
  // the read shadow; MOV to CR / LMSW / CLTS leave those bits of the register alone
  // (25.3). Zero outside non-root operation, which makes both rules the identity.
  uint64_t cr0_mask = 0, cr0_shadow = 0, cr4_mask = 0, cr4_shadow = 0;
  // Bits of CR0/CR4 that must be 1 / may be 1 in VMX operation (23.8; 26.3.1.1 with
  // "unrestricted guest" for PE and PG); checked by MOV to CR on the bits it changes.
  uint64_t cr0_fixed0 = 0, cr0_fixed1 = ~0ull, cr4_fixed0 = 0, cr4_fixed1 = ~0ull;
  // TSC as RDTSC/RDTSCP/RDMSR read it in non-root operation (25.3, 25.6.5):
  // ((TSC * tsc_multiplier) >> 48) + tsc_offset with TSC scaling, else TSC + tsc_offset.
  uint64_t tsc_offset = 0;
  uint64_t tsc_multiplier = 0;  // 0: no scaling
};

struct TlbEntry {
  uint64_t vpn = ~0ull;   // linear page number (lin >> 12); ~0 = invalid
  uintptr_t addend = 0;   // host address = linear address + addend
};

constexpr unsigned kTlbBits = 8;
constexpr unsigned kTlbSize = 1u << kTlbBits;
constexpr uint64_t kPageSize = 4096;

// What the core asks of the machine. Implemented by sim/ (using mmu/).
class Bus {
 public:
  virtual ~Bus() = default;
  // Slow paths of the TLB: translate (may fault), do the access, and install a
  // TLB entry when the page is plain RAM. `size` may cross a page.
  virtual void read_slow(Cpu& c, uint64_t lin, void* dst, unsigned size, Access a) = 0;
  virtual void write_slow(Cpu& c, uint64_t lin, const void* src, unsigned size) = 0;
  // Faults exactly as a write of `size` bytes at `lin` would, without writing.
  virtual void probe_write(Cpu& c, uint64_t lin, unsigned size) = 0;
  virtual uint32_t port_in(Cpu& c, uint16_t port, unsigned size) = 0;
  virtual void port_out(Cpu& c, uint16_t port, unsigned size, uint32_t value) = 0;
  // CPUID leaf/subleaf -> eax, ebx, ecx, edx (from the CPU model).
  virtual void cpuid(Cpu& c, uint32_t leaf, uint32_t subleaf, uint32_t out[4]) = 0;
  // Random numbers for RDRAND/RDSEED: deterministic per run seed.
  virtual uint64_t random64(Cpu& c) = 0;

  // ---- system architecture (issue 3) -------------------------------------------
  // The defaults (isa/cpu.cpp) suit a flat test bus: system accesses go through the
  // ordinary slow paths, paging events flush the host TLB, no platform MSRs.
  // Implicit supervisor-mode accesses (SDM Vol. 3A 4.6: GDT/LDT/IDT/TSS references
  // made by the processor, whatever the CPL). Never cached in the host TLB.
  virtual void read_system(Cpu& c, uint64_t lin, void* dst, unsigned size);
  virtual void write_system(Cpu& c, uint64_t lin, const void* src, unsigned size);
  // An explicit write made at privilege `cpl` before the CPL changes to it: the
  // inner-privilege stack frame of an event delivery. SDM Vol. 3A 4.6 does not count
  // these among the implicit accesses, so SMAP applies with RFLAGS.AC.
  virtual void write_privileged(Cpu& c, uint64_t lin, const void* src, unsigned size,
                                unsigned cpl);
  // Something that affects translation or its permissions changed; the machine
  // invalidates what the SDM says the event invalidates (SDM Vol. 3A 4.10.4).
  virtual void paging_event(Cpu& c, PagingEvent ev, uint64_t addr = 0, uint64_t pcid = 0);
  // MSRs the core's table does not hold (platform MSRs such as the x2APIC range).
  // Return false for "no such MSR": the core raises #GP(0).
  virtual bool platform_rdmsr(Cpu& c, uint32_t index, uint64_t& value);
  virtual bool platform_wrmsr(Cpu& c, uint32_t index, uint64_t value);
  // IA32_APIC_BASE was written (after the core validated it and stored the new value,
  // isa/msr.cpp): the local APIC changes mode or moves (SDM Vol. 3A 11.4.4, 11.12.5).
  virtual void apic_base_changed(Cpu& c, uint64_t value) {
    (void)c;
    (void)value;
  }
  // CR8 is the local APIC's TPR[7:4] (SDM Vol. 3A 11.8.6.1): MOV to/from CR8 go to the
  // platform's APIC. The defaults keep it in Cpu::cr8 (machines without an APIC).
  virtual uint64_t read_cr8(Cpu& c);
  virtual void write_cr8(Cpu& c, uint64_t value);
  // The TSC was written (IA32_TSC, IA32_TSC_ADJUST): timers that compare against it
  // (the APIC's TSC-deadline mode) re-arm.
  virtual void tsc_changed(Cpu& c) { (void)c; }
  // An instruction in VMX non-root operation asks whether it is intercepted (only when
  // its bit is set in Cpu::vmx.may_exit). True: the VM exit happened (the CPU is now
  // in root operation at the host's RIP) and the instruction must not execute. May
  // raise the faults non-root operation adds (#UD for disabled instructions).
  virtual bool intercept(Cpu& c, const DecodedInst& d, Intercept kind, uint64_t arg) {
    (void)c, (void)d, (void)kind, (void)arg;
    return false;
  }
  // VMX non-root operation (vmx/; isa::deliver_event): true when `e`, about to be
  // delivered through the IDT, causes a VM exit instead (exception bitmap, NMI
  // exiting); `vectoring` is the event whose delivery raised `e`, if any. An exit
  // raised while delivering `e` (EPT violation...) reports `e` through
  // exit_during_delivery before it propagates.
  virtual bool event_exit(Cpu& c, const struct Event& e, const struct Event* vectoring) {
    (void)c, (void)e, (void)vectoring;
    return false;
  }
  virtual void exit_during_delivery(Cpu& c, const struct Event& e) { (void)c, (void)e; }
  // IRET in VMX non-root operation (isa/sys_int.cpp): the NMI controls decide whether it
  // unblocks NMIs, virtual NMIs or neither, which it does even if it then faults (SDM
  // Vol. 3C 25.3). iret_faulted: a fault (`vector`, or 0xFE for a VM exit raised inside
  // the IRET) ended that IRET; the exit it leads to may report "NMI unblocking due to
  // IRET" (27.2.2, 27.2.1 Table 27-7).
  virtual void iret_unblock_nmi(Cpu& c);
  virtual void iret_faulted(Cpu& c, uint8_t vector) { (void)c, (void)vector; }
  // A task switch in VMX non-root operation exits unconditionally (25.1.2): raises the
  // exit (does not return) when it does. `source`: 0 CALL, 1 IRET, 2 JMP, 3 IDT gate.
  virtual void task_switch_exit(Cpu& c, uint16_t sel, unsigned source) {
    (void)c, (void)sel, (void)source;
  }
  // HLT, MWAIT: the processor stops fetching until an event (activity state set).
  virtual void halt(Cpu& c);
  // Triple fault or another shutdown condition (SDM Vol. 3A 6.15, #DF).
  virtual void shutdown(Cpu& c, const char* why);
};

struct Cpu : CpuState {
  LazyFlags lf;
  Bus* bus = nullptr;

  // Mode, derived from CR0/EFER/CS on every change (sim/ keeps these current).
  CodeSize code_size = CodeSize::k64;
  bool long64 = true;       // 64-bit mode: no limits, FS/GS bases only, canonical checks
  uint8_t cpl = 0;
  uint64_t seg_base_eff[6] = {};  // effective bases (0 for ES/CS/SS/DS in 64-bit mode)

  TlbEntry tlb_read[kTlbSize];
  TlbEntry tlb_write[kTlbSize];
  TlbEntry tlb_exec[kTlbSize];

  // VMX operation (vmx/ keeps it; see VmxView).
  VmxView vmx;

  // Counters: retired instructions and simulated cycles (time derives from these).
  uint64_t icount = 0;
  uint64_t cycles = 0;

  // Set by handlers/devices to leave the run loop after the current block.
  bool stop_request = false;
  // Set when something needs the run loop's attention at the next instruction
  // boundary it checks (pending interrupt/NMI, TF, debug traps, shadows).
  bool attention = false;
  // Data accesses must take the Bus slow path (no host-TLB fills or hits): alignment
  // checking is on (CR0.AM, RFLAGS.AC, CPL 3) or DR7 enables a data breakpoint.
  // Kept by update_mode(); the host TLB is flushed when it turns on.
  bool slow_data = false;
  bool last_ac_ = false;  // RFLAGS.AC as update_mode() last saw it
  // Cycles charged for delivering one event through the IDT (the CPU model's
  // TimingParams::event, set by the machine; at least 1 is charged).
  uint32_t event_cycles = 0;
  // Segment of the access now in a Bus slow path (set only on TLB misses).
  uint8_t slow_seg = DS;
  // Set while deliver_event delivers an event through the IDT: the accesses it makes
  // (stack frame, IDT, descriptors) are "during event delivery" (SDM Vol. 3C 27.2.1,
  // the access type of APIC-access exits).
  bool in_delivery = false;

  // ---- registers ---------------------------------------------------------
  template <class T>
  T reg(unsigned i) const {
    if constexpr (sizeof(T) == 1) {
      return reinterpret_cast<const uint8_t*>(r)[byte_reg_offset(i)];
    } else {
      return T(r[i]);
    }
  }
  // Writes follow the SDM: 32-bit results zero-extend, 8/16-bit writes merge.
  template <class T>
  void set_reg(unsigned i, T v) {
    if constexpr (sizeof(T) == 1) {
      reinterpret_cast<uint8_t*>(r)[byte_reg_offset(i)] = uint8_t(v);
    } else if constexpr (sizeof(T) == 2) {
      std::memcpy(&r[i], &v, 2);
    } else {
      r[i] = uint64_t(std::make_unsigned_t<T>(v));
    }
  }
  // Byte registers: 0-15 are the low bytes, 16-19 are AH, CH, DH, BH.
  static constexpr unsigned byte_reg_offset(unsigned i) {
    return i < 16 ? i * 8 : (i - 16) * 8 + 1;
  }
  uint64_t& rip() { return r[kRegRip]; }

  // ---- addressing --------------------------------------------------------
  // Effective address of a memory operand, truncated to the address size.
  uint64_t ea(const DecodedInst& d) const {
    uint64_t a = r[d.base] + (r[d.index] << d.scale) + uint64_t(int64_t(d.disp));
    if (d.asize == 8) return a;
    return d.asize == 4 ? uint32_t(a) : uint16_t(a);
  }
  uint64_t linear(unsigned seg, uint64_t off, unsigned size, Access a) {
    if (NS_LIKELY(long64)) return seg_base_eff[seg] + off;
    return linear_legacy(seg, off, size, a);
  }
  // Segment limit and type checks outside 64-bit mode (SDM Vol. 3A 5.3).
  uint64_t linear_legacy(unsigned seg, uint64_t off, unsigned size, Access a);

  // ---- memory ------------------------------------------------------------
  // `seg` is only consulted on the slow path, for the fault class of a bad linear
  // address: SS-relative accesses fault with #SS(0), all others with #GP(0)
  // (SDM Vol. 3A 6.15, "Interrupt 12" and "Interrupt 13").
  template <class T>
  T read_lin(uint64_t lin, Access a = Access::kRead, unsigned seg = DS) {
    const TlbEntry& e = (a == Access::kExec ? tlb_exec : tlb_read)[(lin >> 12) & (kTlbSize - 1)];
    T v;
    if (NS_LIKELY(e.vpn == (lin >> 12) && (lin & 0xFFF) <= kPageSize - sizeof(T))) {
      std::memcpy(&v, reinterpret_cast<const void*>(lin + e.addend), sizeof(T));
    } else {
      slow_seg = uint8_t(seg);
      bus->read_slow(*this, lin, &v, sizeof(T), a);
    }
    return v;
  }
  template <class T>
  void write_lin(uint64_t lin, T v, unsigned seg = DS) {
    const TlbEntry& e = tlb_write[(lin >> 12) & (kTlbSize - 1)];
    if (NS_LIKELY(e.vpn == (lin >> 12) && (lin & 0xFFF) <= kPageSize - sizeof(T))) {
      std::memcpy(reinterpret_cast<void*>(lin + e.addend), &v, sizeof(T));
    } else {
      slow_seg = uint8_t(seg);
      bus->write_slow(*this, lin, &v, sizeof(T));
    }
  }
  template <class T>
  T read(unsigned seg, uint64_t off) {
    return read_lin<T>(linear(seg, off, sizeof(T), Access::kRead), Access::kRead, seg);
  }
  template <class T>
  void write(unsigned seg, uint64_t off, T v) {
    write_lin<T>(linear(seg, off, sizeof(T), Access::kWrite), v, seg);
  }
  // Arbitrary-size accesses (vectors, FXSAVE areas, descriptors): same rules.
  void read_bytes(unsigned seg, uint64_t off, void* dst, unsigned size);
  void write_bytes(unsigned seg, uint64_t off, const void* src, unsigned size);
  // Checks that a write of `size` bytes would succeed (no side effects), so that a
  // multi-part instruction can fault before it commits anything.
  void probe_write(unsigned seg, uint64_t off, unsigned size);

  // Read-modify-write instructions stay precise without probing: read, compute,
  // write memory, and only then commit registers and flags.

  // Implicit supervisor accesses to system structures (descriptor tables, TSS,
  // IDT): always through the Bus, never the host TLB.
  void sys_read(uint64_t lin, void* dst, unsigned size) { bus->read_system(*this, lin, dst, size); }
  void sys_write(uint64_t lin, const void* src, unsigned size) {
    bus->write_system(*this, lin, src, size);
  }

  // Recomputes code_size, long64, cpl and seg_base_eff from CR0, EFER, RFLAGS.VM
  // and the CS/SS caches (isa/system.h states the CPL rule). Call after any change
  // to those; announces CPL changes to the Bus.
  void update_mode();
  bool protected_mode() const { return cr0 & 1; }
  // Canonical for the current linear-address width: 57 bits with CR4.LA57, else 48
  // (SDM Vol. 3A 4.5; MSR writes check the CPU's maximum width instead).
  bool canonical(uint64_t a) const { return uint64_t(int64_t(a << la_shift) >> la_shift) == a; }
  uint8_t la_shift = 16;  // 64 - linear-address width, kept by update_mode()
  bool v86() const { return (cr0 & 1) && (rflags & FLAG_VM); }

  // ---- stack ---------------------------------------------------------------
  unsigned stack_size() const { return long64 ? 8 : ((seg[SS].attr >> 14) & 1) ? 4 : 2; }

  // ---- flags (lazy: isa/lazy_flags.h; conditions in isa/flags.h) -------------
  uint64_t get_rflags() const;          // materialises the arithmetic flags
  void set_rflags(uint64_t v);          // all bits (callers mask what they may change)

  // ---- statistics the core counts (registered in sim/'s stats registry) ------
  struct SysCounters {
    uint64_t exceptions[32] = {};   // delivered, by vector
    uint64_t interrupts[256] = {};  // external + software interrupts delivered, by vector
    uint64_t nmis = 0, double_faults = 0, triple_faults = 0;
    uint64_t msr_unknown = 0;       // RDMSR/WRMSR of an MSR nobody knows (#GP)
    uint64_t mode_changes = 0;
    MsrCounters msr;                // RDMSR/WRMSR per MSR table row (isa/msr.def)
  } sys;

  // ---- TLB maintenance -------------------------------------------------------
  void flush_tlb() {
    for (unsigned i = 0; i < kTlbSize; i++) tlb_read[i] = tlb_write[i] = tlb_exec[i] = TlbEntry{};
  }
  void flush_write_tlb() {
    for (auto& e : tlb_write) e = TlbEntry{};
  }
};

// The one way instruction bodies meet VMX (STYLE.md principle 7): true when the
// instruction caused a VM exit and must return at once without executing. Every form
// that can call this ends its block (F_END), so the block loop does not run guest
// instructions after an exit; VMREAD and VMWRITE, which exit from vmx/ directly, are
// followed in a block only behind a separator that stops when the jump cache was
// cleared, as every VM exit does (sim/code_cache.h, superblocks).
inline bool intercepted(Cpu& c, const DecodedInst& d, Intercept k, uint64_t arg = 0) {
  return NS_UNLIKELY((c.vmx.may_exit >> unsigned(k)) & 1) && c.bus->intercept(c, d, k, arg);
}

}  // namespace isa
