// Machine: one simulated PC. Owns the CPU, physical memory, devices and the
// decoded-code cache, implements the isa::Bus the core sees, and runs the
// fetch-decode-execute loop.
//
// Files: machine.cpp (construction, resets, decoding, run loop, events),
// translate.cpp (Bus memory slow paths, paging), system.cpp (ports, CPUID, platform
// MSRs, I/O instructions), trace.cpp (traced run loop).
//
// Run loop state machine:
//   running --(limit reached)--> stopped(kLimit)
//   running --(exit device / power-off)--> stopped(kExitDevice / kPowerOff)
//   running --(HLT with no interrupt source)--> stopped(kHalted)
//   running --(triple fault: an exception while delivering #DF)--> stopped(kShutdown)
//   running --(reset request: port 0xCF9)--> stopped(kReset)
// Exceptions are delivered through the IDT (isa/sys_int.cpp); RunResult::fault keeps
// the first exception of the chain that ended in a shutdown.
// Between blocks the loop checks limits, stop requests and Cpu::attention; inside a
// block it only dispatches handlers (no per-instruction checks besides the
// terminator). While anything needs per-instruction attention (pending events, TF,
// RF, interrupt shadows, debug traps, enabled DR7 breakpoints, HLT) it runs one
// instruction at a time (step_one) and handles events at each boundary.
#pragma once
#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "isa/cpu.h"
#include "isa/system.h"
#include "mmu/paging.h"
#include "mmu/phys_mem.h"
#include "mmu/nested.h"
#include "mmu/tlb.h"
#include "mmu/tlb_set.h"
#include "sim/code_cache.h"
#include "sim/cpu_model.h"
#include "sim/dev/device.h"
#include "sim/dev/irq.h"
#include "sim/events.h"
#include "sim/interrupts.h"
#include "vmx/vmx.h"

namespace sim {

struct MachineConfig {
  uint64_t ram_bytes = 128ull << 20;
  const CpuModel* model = nullptr;  // default_cpu_model() if null
  uint64_t seed = 0;                // RDRAND/RDSEED stream
  std::FILE* serial_out = stdout;
  std::FILE* serial_in = nullptr;   // COM1's receiver (null: nothing connected)
  bool serial_interactive = false;  // serial_in is a terminal: polled, not deterministic
  bool serial_paced = false;        // COM1 transmits at its line rate (default: at once)
  int64_t rtc_start = 1767225600;   // CMOS clock at power-on (Unix seconds; 2026-01-01)
};

// kReset: the guest asked for a machine reset (port 0xCF9, the FADT's reset register);
// with no firmware to restart, the run ends there.
enum class StopReason {
  kNone, kLimit, kExitDevice, kPowerOff, kHalted, kFault, kShutdown, kError, kReset
};
const char* stop_reason_name(StopReason r);

struct RunLimits {
  uint64_t max_insns = ~0ull;
  uint64_t max_cycles = ~0ull;
};

struct RunResult {
  StopReason reason = StopReason::kNone;
  uint32_t exit_value = 0;        // value written to the exit device
  isa::CpuFault fault{};          // kFault / kShutdown: the first exception of the chain
  uint64_t fault_rip = 0;
  std::string message;
};

class Machine final : public isa::Bus, private vmx::Env {
 public:
  explicit Machine(const MachineConfig& cfg);
  ~Machine() override;

  isa::Cpu& cpu() { return cpu_; }
  mmu::PhysMem& mem() { return mem_; }
  CodeCache& code() { return code_; }
  const CpuModel& model() const { return *model_; }

  // Puts the CPU in 64-bit mode at `entry` as the ELF64 loader contract says
  // (sim/loader.h): flat segments, identity paging (the tables are written at
  // kLoaderPml4), CPL 0, IF=0.
  void reset_long_mode(uint64_t entry, uint64_t rsp);
  // Flat 32-bit protected mode (CPL 0, paging off) or real mode (CS:IP = 0:entry);
  // used by tests and the random-code fuzz target until issue 3's mode transitions.
  void reset_protected32(uint32_t entry, uint32_t esp);
  void reset_real_mode(uint16_t ip, uint16_t sp);
  // Power-on reset of the CPU (time and counters restart, empty TLBs, the model's
  // MSR values), then `setup` writes the entry state a boot protocol hands over
  // (registers, segments with their caches, CR0/CR3/CR4/EFER, GDTR...), after which
  // the derived mode (CPL, code size) is recomputed. For loaders (sim/boot/).
  void reset_with(const std::function<void(isa::Cpu&)>& setup);

  RunResult run(const RunLimits& limits);
  void request_stop(StopReason r, uint32_t value = 0);

  // isa::Bus
  void read_slow(isa::Cpu& c, uint64_t lin, void* dst, unsigned size, isa::Access a) override;
  void write_slow(isa::Cpu& c, uint64_t lin, const void* src, unsigned size) override;
  void probe_write(isa::Cpu& c, uint64_t lin, unsigned size) override;
  uint32_t port_in(isa::Cpu& c, uint16_t port, unsigned size) override;
  void port_out(isa::Cpu& c, uint16_t port, unsigned size, uint32_t value) override;
  void cpuid(isa::Cpu& c, uint32_t leaf, uint32_t subleaf, uint32_t out[4]) override;
  uint64_t random64(isa::Cpu& c) override;
  void read_system(isa::Cpu& c, uint64_t lin, void* dst, unsigned size) override;
  void write_system(isa::Cpu& c, uint64_t lin, const void* src, unsigned size) override;
  void write_privileged(isa::Cpu& c, uint64_t lin, const void* src, unsigned size,
                        unsigned cpl) override;
  void paging_event(isa::Cpu& c, isa::PagingEvent ev, uint64_t addr, uint64_t pcid) override;
  bool platform_rdmsr(isa::Cpu& c, uint32_t index, uint64_t& value) override;
  bool platform_wrmsr(isa::Cpu& c, uint32_t index, uint64_t value) override;
  void halt(isa::Cpu& c) override;
  void shutdown(isa::Cpu& c, const char* why) override;

  // Executes one instruction (or delivers one pending event) with the same
  // semantics as the block loop; the traced run (sim/trace.cpp) is built on it.
  void step_one();
  // External interrupts (sim/interrupts.h): the controller driving INTR (not owned;
  // null = none). Devices call interrupt_changed() when their output may change.
  void set_interrupt_controller(InterruptController* ic) {
    intc_ = ic;
    cpu_.attention = true;
  }
  void interrupt_changed() { cpu_.attention = true; }
  // Latches an NMI (delivered when not blocked, SDM Vol. 3A 6.7.1).
  void raise_nmi() {
    cpu_.ev.nmi_pending = true;
    cpu_.attention = true;
  }
  // Latches an INIT signal (SDM Vol. 3A 9.1): a VM exit in VMX non-root operation,
  // held pending in VMX root operation (23.8, "INIT is blocked"), otherwise a reset
  // of the processor, which ends the run (StopReason::kReset: no firmware restarts it).
  void raise_init() {
    init_pending_ = true;
    cpu_.attention = true;
  }
  // Instruction tracing (sim/trace.h); null = off. Devices log their accesses and
  // interrupt lines through DeviceContext::trace while the trace window is open.
  void set_tracer(class Tracer* t);

  // Simulated time for devices (sim/events.h): the run loop fires due events at block
  // boundaries and a halted CPU skips to the next one.
  EventQueue& events() { return events_; }
  DeviceContext& device_context() { return dev_ctx_; }
  IrqRouter& irq() { return irq_; }
  // The devices (sim/platform.h).
  class Platform& platform() { return *platform_; }
  void apic_base_changed(isa::Cpu& c, uint64_t value) override;
  uint64_t read_cr8(isa::Cpu& c) override;
  void write_cr8(isa::Cpu& c, uint64_t value) override;
  void tsc_changed(isa::Cpu& c) override;

  struct Counters {
    uint64_t faults = 0, tlb_fills = 0, smc_invalidations = 0;
    // Paging (sim/translate.cpp): walks after a modelled-TLB miss, the paging-structure
    // references they made (reads and A/D writes), #PF raised by translation.
    uint64_t page_walks = 0, walk_refs = 0, page_faults = 0;
    // Under EPT: EPT references among walk_refs, EPT violations/misconfigurations.
    uint64_t ept_refs = 0, ept_exits = 0;
  };
  Counters counters;
  // Port accesses by port number (sim/system.cpp), for the statistics.
  std::vector<uint64_t> io_in_count = std::vector<uint64_t>(65536);
  std::vector<uint64_t> io_out_count = std::vector<uint64_t>(65536);

  // The modelled, tagged TLB (mmu/tlb.h); geometry from the CPU model.
  mmu::Tlb& tlb() { return tlb_; }

  // The VMX unit (vmx/vmx.h); the glue (instruction binding, Env, intercepts) is
  // sim/vmx_glue.cpp.
  vmx::Vmx& vmx() { return vmx_; }
  bool intercept(isa::Cpu& c, const isa::DecodedInst& d, isa::Intercept k, uint64_t arg) override;
  bool event_exit(isa::Cpu& c, const isa::Event& e, const isa::Event* vectoring) override;
  void exit_during_delivery(isa::Cpu& c, const isa::Event& e) override;
  void task_switch_exit(isa::Cpu& c, uint16_t sel, unsigned source) override;
  void iret_unblock_nmi(isa::Cpu& c) override;
  void iret_faulted(isa::Cpu& c, uint8_t vector) override;

 private:
  // Linear -> physical. Issue 3 replaces the identity with the page walker.
  uint64_t translate(uint64_t lin, isa::Access a);
  void check_canonical(uint64_t lin, unsigned size);
  void fill_tlb(uint64_t lin, uint64_t pa, isa::Access a);
  // Paging (sim/translate.cpp).
  struct Xlate {
    uint64_t pa;
    bool large;  // from a page larger than 4 KiB
    // log2 of the page the translation holds for, when known to be larger (paging
    // without EPT), else 12: the jump-cache banks revalidate that whole page at once.
    uint8_t shift = 12;
    bool nofill = false;  // never cache in the host TLB (the APIC-access page, VMX)
  };
  Xlate translate_access(uint64_t lin, const mmu::WalkAccess& a);
  Xlate translate_paging(uint64_t lin, const mmu::WalkAccess& a);  // without VMX APIC checks
  Xlate translate_nested(uint64_t lin, const mmu::WalkAccess& a);  // under EPT
  const mmu::PagingControls& paging_controls();
  mmu::TlbTag tlb_tag() const;
  void load_pdptes_or_gp();
  void reset_paging();  // called by reset_common: empty TLB, no PDPTEs
  static bool model_page1g(const CpuModel& m);
  void flush_host_tlb();
  void flush_host_page(uint64_t lin);
  void check_alignment(isa::Cpu& c, uint64_t lin, unsigned size);
  void write_pages(uint64_t lin, const void* src, unsigned size, const mmu::WalkAccess& a,
                   bool fill);
  Block* find_or_build_block(uint64_t rip);
  Block* build_block(uint64_t rip);
  bool fetch_window(uint64_t pc, uint8_t* buf, unsigned& avail, uint64_t phys[2]);
  void dispatch(const RunLimits& lim);
  void run_blocks(const RunLimits& lim);  // the hot loop of dispatch()
  void run_traced(const RunLimits& lim);  // sim/trace.cpp
  void execute_some(Block* b, uint64_t max);
  void retire_prefix(Block* b, const isa::DecodedInst* p);
  void on_fault(const isa::CpuFault& f, uint64_t rip, unsigned insn_len = 0);
  // Event handling at instruction boundaries (machine.cpp).
  bool needs_attention();
  void run_stepped(const RunLimits& lim);
  bool service_events();
  void execute_one();
  void deliver(const isa::Event& e, uint64_t rip);
  // Runs an event delivery; a VM exit raised inside it (vmx/vmx.h kVecVmExit) is
  // completed here, with RIP where the delivery found it.
  template <class F>
  void delivering(F&& f);
  void protect_code_page(uint64_t pa);
  uint64_t pc_of(uint64_t rip) const;
  void reset_common();
  // vmx::Env (sim/vmx_glue.cpp).
  void phys_read(uint64_t pa, void* dst, size_t n) override;
  void phys_write(uint64_t pa, const void* src, size_t n) override;
  void vmx_context_changed(isa::Cpu& c) override;
  bool vmx_needs_attention() override;
  void vmx_flush(Flush kind, uint16_t vpid, uint64_t eptp, uint64_t addr) override;
  bool vmx_intr_pending() override;
  uint8_t vmx_intr_acknowledge() override;
  void vmx_apic_eoi() override;
  bool vmx_tracing() const override { return bool(dev_ctx_.trace); }
  void vmx_trace(isa::Cpu& c, const char* line) override;
  void vmx_arm_preemption_timer(uint64_t due) override;
  void vmx_shutdown(isa::Cpu& c, const char* why) override;

  MachineConfig cfg_;
  const CpuModel* model_;
  mmu::PhysMem mem_;
  isa::Cpu cpu_;
  CodeCache code_;
  uint64_t rng_;
  RunResult result_;
  class Tracer* tracer_ = nullptr;
  InterruptController* intc_ = nullptr;
  // Devices' view of the machine (sim/dev/device.h) and the time they share.
  EventQueue events_;
  IrqRouter irq_;
  DeviceContext dev_ctx_;
  // The block loop's cycle deadline: min(run limit, next device event), recomputed
  // when either changes (EventQueue::on_change, run()).
  uint64_t limit_cycles_ = ~0ull;
  uint64_t deadline_ = ~0ull;
  std::unique_ptr<class Platform> platform_;  // after dev_ctx_, which it uses
  void update_deadline() { deadline_ = std::min(limit_cycles_, events_.next_due()); }
  void run_due_events();
  // The event that started the current delivery chain (reported on shutdown).
  isa::CpuFault chain_first_{};
  uint64_t chain_rip_ = 0;
  // Paging state (sim/translate.cpp). Declared after model_, which sizes the TLB.
  mmu::Tlb tlb_{model_->tlb};   // data accesses
  mmu::Tlb itlb_{model_->tlb};  // instruction fetches (not charged, translate.cpp)
  // Both TLBs plus the guest-physical TLB and EP4TA tags, for VMX invalidations.
  mmu::TlbSet tlbs_{{&tlb_, &itlb_}, model_->tlb};
  bool page1g_ = model_page1g(*model_);  // CPUID.80000001H:EDX.Page1GB of the model
  bool host_tlb_large_ = false;  // the host TLB holds entries from large pages
  // Host-TLB slots filled since the last flush_host_tlb() (as CodeCache does for its
  // jump cache): a flush clears those, or everything past kHostTlbUsedMax.
  static constexpr unsigned kHostTlbUsedMax = 64;
  uint16_t host_tlb_used_[kHostTlbUsedMax];
  unsigned host_tlb_used_n_ = 0;
  bool host_tlb_used_overflow_ = true;
  uint64_t paging_cr0_ = 0, paging_cr4_ = 0;  // as the last paging event saw them
  mmu::PagingControls ctl_;      // paging_controls(): built from ctl_in_
  uint64_t ctl_in_[6] = {};      // CR0, CR3, CR4, EFER, RFLAGS.AC, PKRU it was built from
  bool ctl_valid_ = false;
  // The translation context's TLB tags (VMX): VPID and EPT tag of non-root operation
  // with VPID / EPT enabled, else 0 (sim/vmx_glue.cpp keeps them).
  uint16_t vpid_tag_ = 0, ept_tag_ = 0;
  bool ctx_guest_ = false;  // the context is non-root operation
  bool ctx_vpid_on_ = false;  // ... with "enable VPID"
  EventQueue::Id preempt_timer_ = 0;  // the VMX-preemption timer (sim/vmx_glue.cpp)
  bool init_pending_ = false;          // an INIT signal not yet taken (raise_init)
  // The page-modification log of the current VMCS, for the EPT walker (vmx/events.cpp).
  struct PmlLog final : mmu::PmlLog {
    Machine& m;
    explicit PmlLog(Machine& mm) : m(mm) {}
    bool full() override { return m.vmx_.pml_full(); }
    void log(uint64_t gpa_page) override { m.vmx_.pml_log(gpa_page); }
  };
  PmlLog pml_{*this};
  // EPT of the current context (non-root operation with "enable EPT").
  bool ept_on_ = false;
  mmu::EptControls ept_ctl_;
  // VMX (declared last: it uses the machine as its Env).
  vmx::Vmx vmx_{*this, model_->vmx, model_->vmx_timing};
};

}  // namespace sim
