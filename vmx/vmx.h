// The VMX unit of one logical processor (SDM Vol. 3C chapters 23-31): VMX operation,
// the VMX instructions, VM entry and VM exit, and the decisions of non-root operation.
// The core (isa/) sees it only through Cpu::vmx (isa::VmxView) and Bus::intercept; the
// machine (sim/) binds the VMX instruction forms to the methods below and provides
// the Env services.
//
// State machine (23.3, 23.7, 23.8):
//   off  --VMXON-->  root  --VMLAUNCH/VMRESUME (entry succeeds)-->  non-root
//   non-root  --VM exit-->  root          root  --VMXOFF-->  off
//   VMLAUNCH/VMRESUME that fail their early checks stay in root (VMfail); a failure
//   while loading guest state or MSRs is a VM exit with bit 31 of the exit reason set
//   (26.7), which also lands in root. A failure while loading host state on a VM exit
//   is a VMX abort (27.7): the processor shuts down.
//
// VMCSs. The current VMCS and other active ones are cached here (Vmcs objects, at
// most kVmcsCache; the least recently used one is written back to its region to make
// room, as hardware may do). VMCLEAR writes a VMCS back and forgets it; VMPTRLD loads
// one from its region unless cached. The region layout is vmx/vmcs.h's.
//
// Exits. An instruction's intercept (Bus::intercept -> Vmx::intercept) performs the
// exit directly, before the instruction executes, and the instruction returns at
// once (isa::intercepted). Exits detected deep inside an access (EPT violations, the
// APIC-access page) are raised as the fault vector kVecVmExit after `pending_exit` is
// filled; the run loop, which has restored RIP to the instruction, then calls
// complete_pending_exit(). Exits at instruction boundaries (interrupts, windows, the
// preemption timer, MTF) come from boundary().
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>

#include "isa/cpu.h"
#include "isa/system.h"
#include "vmx/caps.h"
#include "vmx/controls.h"
#include "vmx/entry_checks.h"
#include "vmx/vmcs.h"

namespace vmx {

enum class ExitReason : uint16_t {
#define EXIT_REASON(name, num, label) name = num,
#include "vmx/exit_reasons.def"
#undef EXIT_REASON
};
constexpr unsigned kExitReasonSlots = 80;  // basic reasons 0..79
// "cpuid", "ept_violation"...; "reason_N" style text for numbers without a row.
const char* exit_reason_label(unsigned basic);

// VM-instruction error numbers (30.4).
enum : uint32_t {
  VMERR_VMCALL_IN_ROOT = 1, VMERR_VMCLEAR_BAD_ADDR = 2, VMERR_VMCLEAR_VMXON_PTR = 3,
  VMERR_VMLAUNCH_NOT_CLEAR = 4, VMERR_VMRESUME_NOT_LAUNCHED = 5,
  VMERR_VMRESUME_AFTER_VMXOFF = 6, VMERR_ENTRY_BAD_CONTROLS = 7,
  VMERR_ENTRY_BAD_HOST_STATE = 8, VMERR_VMPTRLD_BAD_ADDR = 9, VMERR_VMPTRLD_VMXON_PTR = 10,
  VMERR_VMPTRLD_BAD_REVISION = 11, VMERR_UNSUPPORTED_FIELD = 12,
  VMERR_VMWRITE_READ_ONLY = 13, VMERR_VMXON_IN_ROOT = 15, VMERR_ENTRY_MOV_SS = 26,
  VMERR_BAD_INVEPT_INVVPID = 28,
};

// The fault vector that stands for "a VM exit is pending" in isa::CpuFault (never an
// architectural exception: those are 0-31).
constexpr uint8_t kVecVmExit = 0xFE;

// What a VM exit records in the exit-information fields (27.2).
struct ExitInfo {
  uint32_t reason = 0;          // basic reason, plus EXIT_REASON_* flags
  uint64_t qualification = 0;
  uint64_t guest_linear = 0;
  uint64_t guest_physical = 0;
  uint32_t intr_info = 0, intr_error = 0;
  uint32_t instr_len = 0, instr_info = 0;
  uint32_t idt_info = 0, idt_error = 0;  // IDT-vectoring information (27.2.3)
  bool has_linear = false;      // GUEST_LINEAR_ADDRESS is written (else left alone)
  bool has_physical = false;    // GUEST_PHYSICAL_ADDRESS is written
};

// Cycle costs of VMX operations (the CPU model's timing table; docs/TIMING.md).
struct VmxTiming {
  uint16_t vm_entry = 0;   // VMLAUNCH/VMRESUME that enters (checks + guest-state load)
  uint16_t vm_exit = 0;    // a VM exit (guest-state save + host-state load)
  uint16_t vmread = 0, vmwrite = 0, vmptrld = 0, vmclear = 0, vmptrst = 0;
  uint16_t vmxon = 0, vmxoff = 0, invept = 0, invvpid = 0, vmfunc = 0;
  uint16_t msr_list_entry = 0;  // each entry of an MSR load/store list
};

// What the unit needs from the machine.
class Env : public PhysAccess {
 public:
  // Translation or the mode changed wholesale (VM entry, VM exit, VMXOFF): whatever the
  // machine caches by linear address or by the old paging controls must go. The
  // modelled TLB is tagged (VPID, EPTP) and is not flushed by this.
  virtual void vmx_context_changed(isa::Cpu& c) = 0;
  // Whether the next instruction boundary needs the run loop's stepped path (the
  // machine's needs_attention()). VM entries and exits made by an instruction ask this
  // when they are over instead of setting Cpu::attention unconditionally (see
  // Vmx::quiet_begin).
  virtual bool vmx_needs_attention() = 0;
  // Invalidations of the modelled TLB (28.3.3): VPID-tagged linear/combined mappings,
  // EPTP-tagged guest-physical/combined mappings.
  enum class Flush : uint8_t {
    kVpidAddress, kVpidSingle, kVpidAll, kVpidSingleNonGlobal, kEptSingle, kEptAll,
  };
  virtual void vmx_flush(Flush kind, uint16_t vpid, uint64_t eptp, uint64_t addr) = 0;
  // The external-interrupt controller as the CPU's INTR pin sees it.
  virtual bool vmx_intr_pending() = 0;
  virtual uint8_t vmx_intr_acknowledge() = 0;
  // The processor's own EOI to the local APIC (posted-interrupt processing, 29.6).
  virtual void vmx_apic_eoi() = 0;
  // A trace line ("vmentry ...", "vmexit ..."); only formatted and sent while
  // vmx_tracing() (formatting costs more than a whole VM exit otherwise).
  virtual bool vmx_tracing() const = 0;
  virtual void vmx_trace(isa::Cpu& c, const char* line) = 0;
  // The VMX-preemption timer: fire at simulated cycle `due` (~0 = disarm).
  virtual void vmx_arm_preemption_timer(uint64_t due) = 0;
  // VMX abort (27.7) or another condition that shuts the processor down.
  virtual void vmx_shutdown(isa::Cpu& c, const char* why) = 0;
};

// Statistics: every exit by basic reason and by VMCS, with the cycles the processor
// then spent in root operation until the next VM entry (attributed to that exit).
struct ExitStats {
  uint64_t count = 0;
  uint64_t root_cycles = 0;
};
struct VmxCounters {
  uint64_t entries = 0, launches = 0, exits = 0;
  uint64_t entry_fail_controls = 0, entry_fail_host = 0, entry_fail_guest = 0,
           entry_fail_msr = 0;
  uint64_t vmfail_invalid = 0, vmfail_valid = 0;
  uint64_t vmread = 0, vmwrite = 0, vmread_shadow = 0, vmwrite_shadow = 0;
  uint64_t vmptrld = 0, vmclear = 0, vmcs_cache_evictions = 0;
  uint64_t invept = 0, invvpid = 0, vmfunc = 0;
  // APIC virtualization without exits (vmx/apicv*.cpp).
  uint64_t virtual_interrupts = 0, posted_notifications = 0;
  ExitStats by_reason[kExitReasonSlots];
  // (VMCS region address, basic reason) -> stats. Only grows: Vmx keeps a pointer to
  // the node of the last exit.
  std::map<std::pair<uint64_t, uint16_t>, ExitStats> by_vmcs;
};

class Vmx {
 public:
  Vmx(Env& env, const VmxCaps& caps, const VmxTiming& timing);

  const VmxCaps& caps() const { return caps_; }
  const VmxTiming& timing() const { return timing_; }
  // Power-on / INIT: outside VMX operation, no VMCS, view cleared.
  void reset(isa::Cpu& c);

  // ---- capability MSRs (Appendix A), for the machine's RDMSR --------------------
  bool rdmsr(uint32_t index, uint64_t& value) const { return read_cap_msr(caps_, index, value); }

  // ---- instructions (30.3): complete instruction bodies --------------------------
  void vmxon(isa::Cpu& c, const isa::DecodedInst& d);
  void vmxoff(isa::Cpu& c, const isa::DecodedInst& d);
  void vmclear(isa::Cpu& c, const isa::DecodedInst& d);
  void vmptrld(isa::Cpu& c, const isa::DecodedInst& d);
  void vmptrst(isa::Cpu& c, const isa::DecodedInst& d);
  void vmread(isa::Cpu& c, const isa::DecodedInst& d);
  void vmwrite(isa::Cpu& c, const isa::DecodedInst& d);
  void vmlaunch(isa::Cpu& c, const isa::DecodedInst& d) { quiet_entry(c, d, true); }
  void vmresume(isa::Cpu& c, const isa::DecodedInst& d) { quiet_entry(c, d, false); }
  void invept(isa::Cpu& c, const isa::DecodedInst& d);
  void invvpid(isa::Cpu& c, const isa::DecodedInst& d);
  void vmcall(isa::Cpu& c, const isa::DecodedInst& d);
  void vmfunc(isa::Cpu& c, const isa::DecodedInst& d);

  // ---- non-root operation -----------------------------------------------------------
  // Bus::intercept: true when the instruction caused a VM exit (performed already).
  bool intercept(isa::Cpu& c, const isa::DecodedInst& d, isa::Intercept k, uint64_t arg);
  // A VM exit raised from inside an access: records `e` and throws the kVecVmExit
  // fault; the run loop calls complete_pending_exit() with RIP at the instruction.
  [[noreturn]] void raise_exit(const ExitInfo& e);
  // `insn_len`: the length of the instruction the exit interrupted, when known (task
  // switches by CALL/JMP/IRET report it).
  void complete_pending_exit(isa::Cpu& c, unsigned insn_len = 0);

  // ---- events in non-root operation (vmx/events.cpp) ------------------------------
  // isa::Bus::event_exit / exit_during_delivery / task_switch_exit.
  bool event_exit(isa::Cpu& c, const isa::Event& e, const isa::Event* vectoring);
  void exit_during_delivery(isa::Cpu& c, const isa::Event& e);
  [[noreturn]] void task_switch_exit(isa::Cpu& c, uint16_t sel, unsigned source);
  // IRET in non-root operation (vmx/nmi.cpp; isa::Bus::iret_unblock_nmi/iret_faulted):
  // what it unblocks under the NMI controls (25.3), and "NMI unblocking due to IRET"
  // for the exit a fault on it leads to (27.2.2; EPT violation and PML-full
  // qualification bit 12, 27.2.1).
  void iret_unblock_nmi(isa::Cpu& c);
  void iret_faulted(isa::Cpu& c, uint8_t vector);
  // A triple fault (or another shutdown condition) in non-root operation: exit 2.
  void triple_fault(isa::Cpu& c);
  // An INIT signal in non-root operation: exit 3, qualification 0 (25.2).
  void init_exit(isa::Cpu& c);

  // ---- APIC virtualization (vmx/apicv.cpp, vmx/apicv_vid.cpp) ---------------------
  // "Use TPR shadow" in non-root operation: MOV from/to CR8 use the virtual TPR
  // (VTPR, offset 80H of the virtual-APIC page, 29.3), followed by TPR virtualization
  // (29.1.2: a trap-like exit 43 below the TPR threshold, or with virtual-interrupt
  // delivery PPR virtualization and the evaluation of pending virtual interrupts).
  bool tpr_shadow(const isa::Cpu& c) const;
  // "Virtualize APIC accesses" in non-root operation: the APIC-access page's physical
  // address, else ~0 (set at VM entry, cleared at exit).
  uint64_t apic_access_page() const { return apic_access_page_; }
  // An access that reached the APIC-access page (29.4.1-29.4.3): the physical address
  // to use instead (the virtual-APIC page) when the access is virtualized, else an
  // APIC-access VM exit is raised (reason 44). A virtualized write made from the block
  // loop (Cpu::attention clear) first restarts its instruction alone, so that the
  // APIC-write emulation that follows it happens right after it (see apicv_restart).
  uint64_t apic_access(isa::Cpu& c, uint64_t pa, isa::Access type, bool implicit,
                       bool delivery, unsigned size);
  // "Virtualize x2APIC mode" (29.5): RDMSR/WRMSR of 800H-8FFH that the MSR bitmap let
  // through. True when virtualized (the value read or written; trap-like exits are
  // taken inside the WRMSR, which ends its block); false: the access behaves normally
  // (the real x2APIC).
  bool x2apic_rdmsr(isa::Cpu& c, uint32_t index, uint64_t& value);
  bool x2apic_wrmsr(isa::Cpu& c, uint32_t index, uint64_t value);
  uint64_t read_vcr8(isa::Cpu& c);
  void write_vcr8(isa::Cpu& c, uint64_t value);
  // VM entry (26.3.2.5) and exit: the APIC-virtualization state of the new context;
  // with virtual-interrupt delivery, entry performs PPR virtualization and evaluates
  // pending virtual interrupts (29.1.3, 29.2.1).
  void apicv_entry(isa::Cpu& c);
  void apicv_exit();
  // complete_pending_exit() asks first: true when the pending "exit" was the restart of
  // a virtualized APIC write's instruction (RIP is back at it; it runs alone next).
  bool apicv_restart(isa::Cpu& c);
  // A virtual interrupt is recognized (29.2.1) and RFLAGS.IF would let it be
  // delivered: the run loop must look at every boundary.
  bool vint_deliverable(const isa::Cpu& c) const {
    return vint_recognized_ && (c.rflags & isa::FLAG_IF);
  }
  // Exits taken at an instruction boundary, in priority order: APIC-write emulation
  // (29.4.3.2), monitor trap flag, preemption timer, NMI (NMI exiting), NMI window,
  // delivery of a virtual interrupt (29.2.2, not an exit), external interrupt
  // (external-interrupt exiting, acknowledged on exit when the exit control says so;
  // posted-interrupt processing of the notification vector, 29.6), interrupt window
  // (25.2, 25.5). True when one happened (or the boundary was used otherwise).
  bool boundary(isa::Cpu& c);
  // A pending MTF exit has priority over debug traps (25.5.2; SDM Vol. 3A Table 6-2
  // puts those traps first among the rest): the run loop asks this before it delivers
  // them, and they stay pending, saved in the pending-debug-exceptions field. With an
  // MTF exit pending, boundary() exits (MTF, or an exit of higher priority).
  // APIC-write emulation comes first too (29.4.3.2: it precedes the debug traps of the
  // writing instruction); when it exits, the traps stay pending likewise.
  bool boundary_before_traps(isa::Cpu& c) {
    if (apic_write_pending_ >= 0 && apicv_boundary(c)) return true;
    return mtf_pending_ && boundary(c);
  }
  // Whether blocking by NMI holds an NMI exit back (vmx/events.cpp).
  bool nmi_blocked_in_guest(const isa::Cpu& c) const;
  // The delivery of `e` ends in a VM exit: an NMI blocks NMIs first (27.1).
  void nmi_delivery_exits(isa::Cpu& c, const isa::Event& e);
  // Whether boundary() could exit now: the run loop then checks every boundary.
  bool boundary_pending(const isa::Cpu& c) const;
  // An instruction (or the delivery of an event) completed in non-root operation: with
  // the monitor trap flag, an MTF exit is due at the next boundary (25.5.2).
  void instruction_done(const isa::Cpu& c) {
    if (c.vmx.mode == isa::VmxMode::kNonRoot && (boundary_ctl_ & kBoundMtf)) mtf_pending_ = true;
  }
  bool ext_int_exiting() const { return boundary_ctl_ & kBoundExtInt; }
  // Page-modification logging (28.2.6): with "enable PML" (and EPT A/D), each EPT
  // dirty flag set logs the guest-physical page at PML_ADDRESS + 8 * GUEST_PML_INDEX
  // and decrements the index; an index outside 0..511 is a full log (exit 62).
  bool pml_full() const;
  void pml_log(uint64_t gpa_page);
  // The preemption timer reached zero (the machine's timer event).
  void preemption_timer_fired() { preempt_fired_ = true; }
  // True while a preemption timer runs: a halted guest still wakes at `due`.
  uint64_t preemption_due() const { return preempt_due_; }
  // Performs a VM exit now (27): guest state saved, host state loaded.
  void vm_exit(isa::Cpu& c, const ExitInfo& e);

  // Where the CPU is (isa::Cpu::vmx.mode mirrors it for the core).
  bool non_root(const isa::Cpu& c) const { return c.vmx.mode == isa::VmxMode::kNonRoot; }
  // The VMCS controlling non-root operation (valid in non-root), for the machine.
  const Vmcs* current() const { return current_; }
  uint64_t vmxon_pointer() const { return vmxon_ptr_; }

  // Adds the root-operation cycles since the last exit up to `now` to that exit's
  // (VMCS, reason) pair; the interval stays open until the next VM entry. Called by
  // VM entry, and before statistics are read (end of a run).
  void flush_stats(uint64_t now);
  VmxCounters counters;

 private:
  // Instruction plumbing (vmx/insns.cpp).
  bool common_checks(isa::Cpu& c, const isa::DecodedInst& d, isa::Intercept k) {
    // The usual case, root operation at CPL 0 in protected mode outside virtual-8086
    // and compatibility mode, passes every check of common_checks_slow.
    if (NS_LIKELY(c.vmx.mode == isa::VmxMode::kRoot && (c.cr0 & isa::CR0_PE) &&
                  !(c.rflags & isa::FLAG_VM) && (c.long64 || !(c.efer & isa::EFER_LMA)) &&
                  c.cpl == 0))
      return true;
    return common_checks_slow(c, d, k);
  }
  bool common_checks_slow(isa::Cpu& c, const isa::DecodedInst& d, isa::Intercept k);
  void succeed(isa::Cpu& c);
  void fail(isa::Cpu& c, uint32_t error);  // VMfailValid(error), or VMfailInvalid
  void fail_invalid(isa::Cpu& c);
  uint64_t read_pointer_operand(isa::Cpu& c, const isa::DecodedInst& d);
  bool invalidation_operands(isa::Cpu& c, const isa::DecodedInst& d, isa::Intercept k,
                             uint64_t& type, uint64_t desc[2]);
  Vmcs* accessed_vmcs(isa::Cpu& c);
  Vmcs* find_cached(uint64_t pa);
  Vmcs* load_vmcs(uint64_t pa);  // into the cache (LRU eviction)
  void evict(Vmcs* v);           // write back and forget
  // Transitions made by an instruction that ends right after them (VMLAUNCH/VMRESUME,
  // an intercepted instruction) are "quiet": while they run, the places that would set
  // Cpu::attention for the new context (want_attention) leave it alone, and at the end
  // it is set only when Env::vmx_needs_attention() says the next boundary needs the
  // stepped path. That path would otherwise only find nothing to do and return to the
  // block loop; anything else that sets attention meanwhile (a timer scheduled, an
  // interrupt raised) still does, and a fault leaving the transition sets it.
  bool quiet_begin() {
    const bool outer = quiet_;
    quiet_ = true;
    return outer;
  }
  void quiet_end(isa::Cpu& c, bool outer) {
    quiet_ = outer;
    if (!outer && env_.vmx_needs_attention()) c.attention = true;
  }
  void want_attention(isa::Cpu& c) {
    if (!quiet_) c.attention = true;
  }
  bool quiet_ = false;
  void quiet_entry(isa::Cpu& c, const isa::DecodedInst& d, bool launch);
  // VM entry (vmx/entry.cpp).
  void vm_entry(isa::Cpu& c, const isa::DecodedInst& d, bool launch);
  void load_guest_state(isa::Cpu& c, const uint64_t pdpte[4]);
  void load_segments(isa::Cpu& c, const Vmcs& v);  // 26.3.2.2
  bool load_msr_list(isa::Cpu& c, uint64_t addr, uint32_t count, uint32_t& failed_index);
  void inject_event(isa::Cpu& c);
  void entry_failure(isa::Cpu& c, uint32_t reason, uint64_t qualification, const char* why);
  void set_view(isa::Cpu& c);  // recompute Cpu::vmx for the current mode
  // VM exit (vmx/exit.cpp).
  void save_guest_state(isa::Cpu& c, const ExitInfo& e);
  void save_segments(const isa::Cpu& c, Vmcs::GuestStores& g);  // 27.3.2
  void load_host_state(isa::Cpu& c);
  void load_host_segments(isa::Cpu& c, const Vmcs& v, bool host64);  // 27.5.2
  void record_exit(isa::Cpu& c, const ExitInfo& e);
  // Intercept decisions (vmx/intercept.cpp).
  bool wants_exit(isa::Cpu& c, const isa::DecodedInst& d, isa::Intercept k, uint64_t arg,
                  ExitInfo& e);
  uint64_t intercept_mask();
  // PAUSE-loop exiting (25.1.3): whether this PAUSE at CPL 0 ends a loop longer than
  // PLE_Window. The loop state: the times (simulated cycles, the TSC's rate) of the
  // first PAUSE of the current loop and of the last PAUSE at CPL 0, valid while
  // ple_entry_ equals counters.entries (else no PAUSE at CPL 0 since this VM entry).
  bool pause_loop_exits(const isa::Cpu& c);
  uint64_t ple_first_ = 0, ple_last_ = 0, ple_entry_ = ~0ull;

  Env& env_;
  VmxCaps caps_;
  uint32_t features_;  // feature_mask(caps_), for VMREAD/VMWRITE's lookup_field
  VmxTiming timing_;
  uint64_t vmxon_ptr_ = ~0ull;
  Vmcs* current_ = nullptr;  // null: the current-VMCS pointer is invalid (~0)
  static constexpr unsigned kVmcsCache = 8;
  Vmcs cache_[kVmcsCache];
  uint64_t cache_stamp_[kVmcsCache] = {};
  uint64_t cache_clock_ = 0;
  ExitInfo pending_exit_;
  // The VMCS, generation and EFER.LMA the 26.2 checks last passed for without reading
  // memory (vm_entry skips them while all three are unchanged).
  const Vmcs* checked_vmcs_ = nullptr;
  uint64_t checked_gen_ = 0;
  bool checked_ia32e_ = false;
  // The same for the 26.3.1 guest-state checks: VMCS, its guest and control
  // generations (check_guest_rip covers what those let through).
  const Vmcs* guest_checked_vmcs_ = nullptr;
  uint64_t guest_checked_gen_ = 0, guest_checked_ctl_ = 0;
  // The segment and descriptor-table registers as the core holds them (isa::CpuState
  // seg[6], ldtr, tr, gdtr, idtr: one contiguous run of bytes) against a VMCS's guest
  // segment fields, valid while that VMCS's guest_gen is `gen`. saved_: at the last
  // VM exit; the fields hold what 27.3.2 makes of `bytes`, so an exit that finds the
  // registers byte for byte equal has nothing to store. loaded_: at the last VM entry;
  // `bytes` is what 26.3.2.2 makes of the fields, so an entry can copy it.
  static constexpr size_t kSegBytes = offsetof(isa::CpuState, idtr) +
                                       sizeof(isa::DescriptorTableReg) -
                                       offsetof(isa::CpuState, seg);
  static_assert(offsetof(isa::CpuState, ldtr) == offsetof(isa::CpuState, seg) + 6 * sizeof(isa::SegmentReg) &&
                offsetof(isa::CpuState, tr) == offsetof(isa::CpuState, ldtr) + sizeof(isa::SegmentReg) &&
                offsetof(isa::CpuState, gdtr) == offsetof(isa::CpuState, tr) + sizeof(isa::SegmentReg) &&
                offsetof(isa::CpuState, idtr) == offsetof(isa::CpuState, gdtr) + sizeof(isa::DescriptorTableReg),
                "seg[6], ldtr, tr, gdtr, idtr must be one run of bytes");
  struct SegImage {
    const Vmcs* vmcs = nullptr;
    uint64_t gen = 0;
    unsigned char bytes[kSegBytes];
  };
  SegImage saved_, loaded_;
  // host_: at the last VM exit, what 27.5.2 made of this VMCS's host-state fields and
  // exit controls, valid while its ctl_host_gen is `gen`.
  SegImage host_;
  // set_view()'s non-root view for this VMCS at this ctl_host_gen.
  const Vmcs* view_vmcs_ = nullptr;
  uint64_t view_gen_ = 0;
  isa::VmxView view_;
  // intercept_mask() of the last (primary, secondary) controls it was computed for.
  uint32_t mask_proc_ = 0, mask_proc2_ = 0;
  uint64_t mask_ = 0;
  bool mask_valid_ = false;
  bool vnmi_blocked_ = false;  // virtual-NMI blocking (with "virtual NMIs")
  // The IRET executing in non-root operation removed blocking by NMI (or virtual-NMI
  // blocking); a fault on it then sets iret_fault_nmi_ for the event_exit of that
  // fault, the next event_exit call (vmx/nmi.cpp).
  bool iret_unblocked_ = false, iret_fault_nmi_ = false;
  // Boundary exits (vmx/events.cpp): the controls that can cause them, computed at
  // entry, and what is pending.
  enum : uint8_t {
    kBoundMtf = 1, kBoundNmiExit = 2, kBoundNmiWindow = 4, kBoundExtInt = 8, kBoundIntWindow = 16,
  };
  uint8_t boundary_ctl_ = 0;
  // APIC virtualization (vmx/apicv*.cpp), set by apicv_entry().
  uint64_t apic_access_page_ = ~0ull;
  uint64_t vapic_page_ = 0;        // virtual-APIC page (with "use TPR shadow")
  bool vid_ = false;               // "virtual-interrupt delivery"
  bool vint_recognized_ = false;   // a pending virtual interrupt is recognized (29.2.1)
  bool apic_restart_ = false;      // the kVecVmExit in flight restarts the instruction
  bool apic_step_ = false;         // the restarted instruction runs alone (apicv_restart)
  int apic_write_pending_ = -1;    // offset of a virtualized APIC write: emulation due
  uint32_t vapic_read(unsigned off);
  void vapic_write(unsigned off, uint32_t value);
  unsigned highest_vector(unsigned base);  // of VISR/VIRR; 0 when empty
  bool tpr_virtualization(isa::Cpu& c);   // true when it exited (29.1.2)
  void ppr_virtualization();              // 29.1.3
  bool eoi_virtualization(isa::Cpu& c);   // 29.1.4; true when it exited
  void self_ipi_virtualization(isa::Cpu& c, uint8_t vector);  // 29.1.5
  void evaluate_virtual_interrupts(isa::Cpu& c);  // 29.2.1
  bool apic_write_emulation(isa::Cpu& c);  // 29.4.3.2; true when it exited
  bool apicv_boundary(isa::Cpu& c);        // pending APIC-write emulation
  void deliver_virtual_interrupt(isa::Cpu& c);  // 29.2.2
  bool posted_interrupt(isa::Cpu& c, uint8_t vector);  // 29.6; true when processed
  bool mtf_pending_ = false;
  bool preempt_fired_ = false;
  uint64_t preempt_due_ = ~0ull;
  void arm_preemption_timer(isa::Cpu& c);
  void save_preemption_timer(isa::Cpu& c);
  // Root-time accounting of the last exit: the VMCS and reason it is charged to.
  uint64_t last_exit_cycle_ = 0;
  uint64_t last_exit_vmcs_ = ~0ull;
  uint16_t last_exit_reason_ = 0;
  bool last_exit_open_ = false;
  ExitStats* last_exit_stats_ = nullptr;  // counters.by_vmcs's node of the two above
};

}  // namespace vmx
