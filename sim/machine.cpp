#include "sim/machine.h"

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstring>

#include "isa/bind.h"
#include "sim/loader.h"
#include "sim/platform.h"
#include "sim/system.h"

namespace sim {

using isa::Access;
using isa::CpuFault;

const char* stop_reason_name(StopReason r) {
  switch (r) {
    case StopReason::kNone: return "running";
    case StopReason::kLimit: return "limit";
    case StopReason::kExitDevice: return "exit-device";
    case StopReason::kPowerOff: return "power-off";
    case StopReason::kHalted: return "halted";
    case StopReason::kFault: return "unhandled-exception";
    case StopReason::kShutdown: return "shutdown";
    case StopReason::kError: return "error";
    case StopReason::kReset: return "reset";
  }
  return "?";
}

Machine::Machine(const MachineConfig& cfg)
    : cfg_(cfg),
      model_(cfg.model ? cfg.model : &default_cpu_model()),
      mem_(cfg.ram_bytes),
      rng_(cfg.seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull) {
  bind_system_forms(isa::handler_table());
  bind_vmx_forms(isa::handler_table());
  cpu_.bus = this;
  dev_ctx_.events = &events_;
  dev_ctx_.cycles = &cpu_.cycles;
  dev_ctx_.cpu_hz = model_->tsc_hz;
  dev_ctx_.irq = &irq_;
  irq_.trace = &dev_ctx_.trace;
  // A device that moves the next event (an OUT that arms a timer) also sets
  // attention, so the block loop, which keeps the deadline in a register, returns to
  // dispatch() and picks the new one up at the next boundary.
  events_.on_change([this] {
    update_deadline();
    cpu_.attention = true;
  });
  cpu_.event_cycles = model_->timing.event;
  // The VMX-preemption timer (vmx/events.cpp): an exit at the next boundary.
  preempt_timer_ = events_.add("vmx-preemption", [this](uint64_t) {
    vmx_.preemption_timer_fired();
    cpu_.attention = true;
  });
  PlatformConfig pc;
  pc.serial_out = cfg.serial_out;
  pc.serial_in = cfg.serial_in;
  pc.serial_interactive = cfg.serial_interactive;
  pc.serial_paced = cfg.serial_paced;
  pc.rtc_start = cfg.rtc_start;
  platform_ = std::make_unique<Platform>(*this, pc);
  platform_->reset();
}

Machine::~Machine() = default;

void Machine::request_stop(StopReason r, uint32_t value) {
  if (result_.reason == StopReason::kNone) {
    result_.reason = r;
    result_.exit_value = value;
  }
  cpu_.stop_request = true;
}

// ---- CPU state -------------------------------------------------------------

void Machine::reset_common() {
  isa::Cpu& c = cpu_;
  static_cast<isa::CpuState&>(c) = isa::CpuState{};
  c.lf = isa::LazyFlags{};
  c.cpl = 0;
  c.attention = false;
  c.icount = 0;  // a reset starts a new run: counters and time restart with it
  c.cycles = 0;
  c.flush_tlb();
  code_.flush_jump_cache();
  reset_paging();  // sim/translate.cpp: empty modelled TLB
  vmx_.reset(c);   // outside VMX operation, no VMCS
  vpid_tag_ = ept_tag_ = 0;
  ctx_guest_ = ctx_vpid_on_ = false;
  init_pending_ = false;
  apply_model_msrs(c, *model_);  // sim/system.cpp: the model's power-up MSR values
  // Time restarts at 0, so the devices restart with it (power-on state, firmware
  // tables rewritten; loaders never use the firmware area).
  if (platform_) platform_->reset();
}

void Machine::apic_base_changed(isa::Cpu&, uint64_t value) { platform_->apic_base_changed(value); }

// CR8 is TPR[7:4] of the local APIC (SDM Vol. 3A 11.8.6.1); writing it changes which
// interrupts the APIC presents.
// In VMX non-root operation with "use TPR shadow" the virtual TPR stands in for it
// (SDM Vol. 3C 29.3; vmx/apicv.cpp).
uint64_t Machine::read_cr8(isa::Cpu& c) {
  if (NS_UNLIKELY(vmx_.tpr_shadow(c))) return vmx_.read_vcr8(c);
  return platform_->lapic.tpr() >> 4;
}
void Machine::write_cr8(isa::Cpu& c, uint64_t value) {
  if (NS_UNLIKELY(vmx_.tpr_shadow(c))) return vmx_.write_vcr8(c, value);
  platform_->lapic.set_tpr(uint8_t(value << 4));
}
void Machine::tsc_changed(isa::Cpu&) { platform_->lapic.tsc_changed(); }

void Machine::reset_protected32(uint32_t entry, uint32_t esp) {
  reset_common();
  isa::Cpu& c = cpu_;
  c.rip() = entry;
  c.r[isa::RSP] = esp;
  c.cr0 = 0x00000033;  // PE MP ET NE
  c.cr4 = 0x00040600;  // OSFXSR OSXMMEXCPT OSXSAVE
  c.xcr0 = 0x7;
  for (unsigned s = 0; s < 6; s++) {
    c.seg[s] = {0x10, 0xC093, 0xFFFFFFFF, 0};
    c.seg_base_eff[s] = 0;
  }
  c.seg[isa::CS] = {0x08, 0xC09B, 0xFFFFFFFF, 0};
  c.update_mode();
}

void Machine::reset_with(const std::function<void(isa::Cpu&)>& setup) {
  reset_common();
  setup(cpu_);
  cpu_.update_mode();
  cpu_.flush_tlb();
}

void Machine::reset_real_mode(uint16_t ip, uint16_t sp) {
  reset_common();
  isa::Cpu& c = cpu_;
  c.rip() = ip;
  c.r[isa::RSP] = sp;
  c.cr0 = 0x60000010;
  for (unsigned s = 0; s < 6; s++) {
    c.seg[s] = {0, 0x0093, 0xFFFF, 0};
    c.seg_base_eff[s] = 0;
  }
  c.seg[isa::CS].attr = 0x009B;
  c.update_mode();
}

void Machine::reset_long_mode(uint64_t entry, uint64_t rsp) {
  reset_common();
  isa::Cpu& c = cpu_;
  // The loader contract's identity map (sim/loader.h): PML4[0] -> PDPT, PDPT[0..3]
  // map 0-4 GiB with 1 GiB supervisor pages (P, RW, PS).
  uint64_t pml4e = (kLoaderPml4 + 0x1000) | 0x3;
  mem_.write(kLoaderPml4, &pml4e, 8);
  for (uint64_t i = 0; i < 4; i++) {
    uint64_t e = (i << 30) | 0x83;
    mem_.write(kLoaderPml4 + 0x1000 + i * 8, &e, 8);
  }
  c.rip() = entry;
  c.r[isa::RSP] = rsp;
  c.rflags = isa::FLAG_FIXED1;
  // CR0: PE MP ET NE WP PG; CR4: PAE OSFXSR OSXMMEXCPT OSXSAVE; EFER: SCE LME LMA NXE.
  c.cr0 = 0x80050033;
  c.cr4 = 0x00040620;
  c.efer = 0xD01;
  c.xcr0 = 0x7;
  c.cr3 = kLoaderPml4;
  for (unsigned s = 0; s < 6; s++) {
    c.seg[s].selector = 0x10;
    c.seg[s].base = 0;
    c.seg[s].limit = 0xFFFFFFFF;
    c.seg[s].attr = 0xC093;  // data, read/write, accessed, P, D/B, G
  }
  c.seg[isa::CS].selector = 0x08;
  c.seg[isa::CS].attr = 0xA09B;  // code, exec/read, accessed, P, L, G
  c.tr.attr = 0x8B;              // busy 64-bit TSS
  c.ldtr.attr = 0x82;
  c.update_mode();
}

uint64_t Machine::pc_of(uint64_t rip) const {
  return cpu_.long64 ? rip : uint32_t(cpu_.seg[isa::CS].base + rip);
}

// ---- decoding ----------------------------------------------------------------------

// Reads the 15 bytes of code at linear `pc`. Bytes beyond a page that cannot be
// fetched are not read: `avail` says how many are valid (an instruction that needs
// more faults when it is reached). Returns true when every byte read came from RAM,
// i.e. the code can be cached; phys[] receives the RAM pages touched.
bool Machine::fetch_window(uint64_t pc, uint8_t* buf, unsigned& avail, uint64_t phys[2]) {
  cpu_.slow_seg = isa::CS;  // fetch faults are #GP/#PF, never #SS
  unsigned first = unsigned(std::min<uint64_t>(15, isa::kPageSize - (pc & 0xFFF)));
  uint64_t pa = translate(pc, Access::kExec);
  bool ram = mem_.in_ram(pa & ~0xFFFull, isa::kPageSize);
  mem_.read(pa, buf, first);  // RAM, or MMIO/unassigned (all-ones)
  if (ram) phys[0] = pa & ~0xFFFull;
  avail = first;
  if (first == 15) return ram;
  try {
    if (cpu_.long64) check_canonical(pc + first, 1);
    uint64_t pa2 = translate(pc + first, Access::kExec);
    mem_.read(pa2, buf + first, 15 - first);
    avail = 15;
    if (mem_.in_ram(pa2 & ~0xFFFull, isa::kPageSize)) phys[1] = pa2 & ~0xFFFull;
    else ram = false;
  } catch (const CpuFault&) {
    // The next page is not fetchable: decode what we have.
  }
  return ram;
}

// Jump-cache miss: find the block by the physical address of RIP (a new address
// space or a linear alias of known code), or decode a new one. A block that spans
// two pages is reused only if its second page is still mapped to the same frame.
Block* Machine::find_or_build_block(uint64_t rip) {
  cpu_.slow_seg = isa::CS;
  uint64_t pc = pc_of(rip);
  if (cpu_.long64) check_canonical(pc, 1);
  Block* b = code_.lookup_phys(translate(pc, Access::kExec), cpu_.code_size);
  if (b && b->phys[1] != ~0ull) {
    uint64_t second = (pc & ~0xFFFull) + isa::kPageSize;
    bool same = false;
    try {
      same = (!cpu_.long64 || cpu_.canonical(second)) &&
             (translate(second, Access::kExec) & ~0xFFFull) == b->phys[1];
    } catch (const CpuFault&) {
    }
    if (!same) b = nullptr;
  }
  if (!b) return build_block(rip);
  code_.enter(b, pc);
  return b;
}

namespace {
// Instructions a block goes on after (superblocks, sim/code_cache.h): conditional
// branches with their fall-through...
bool is_conditional_direct(isa::Form f) {
  using isa::Form;
  return f == Form::jcc_jb || f == Form::jcc_jz || f == Form::loopne_jb || f == Form::loope_jb ||
         f == Form::loop_jb || f == Form::jrcxz_jb;
}
// ...direct JMP and CALL with their target...
bool follows_target(isa::Form f) {
  using isa::Form;
  return f == Form::jmp_jb || f == Form::jmp_jz || f == Form::call_jz;
}
// ...and the VMX instructions that end a block only for a VM exit they may cause.
bool goes_on_unless_exit(isa::Form f) {
  return f == isa::Form::vmread_ey_gy || f == isa::Form::vmwrite_gy_ey;
}
static_assert(CodeCache::kMaxInsts * 255 < 65536, "Separator::cycles holds 16 bits");
}  // namespace

Block* Machine::build_block(uint64_t rip) {
  cpu_.slow_seg = isa::CS;
  isa::CodeSize mode = cpu_.code_size;
  uint64_t pc = pc_of(rip);
  if (cpu_.long64) check_canonical(pc, 1);
  const uint64_t first_pa = translate(pc, Access::kExec);
  isa::DecodedInst tmp[2 * CodeCache::kMaxInsts];  // instructions and separators
  uint64_t starts[CodeCache::kMaxInsts];            // linear address of each instruction
  constexpr unsigned kMaxCalls = 8;
  uint64_t call_returns[kMaxCalls];  // return addresses of the CALLs followed, innermost last
  unsigned calls = 0;
  uint64_t pages[2] = {~0ull, ~0ull};
  unsigned n = 0, m = 0;  // instructions, entries
  uint32_t cycles = 0;
  uint64_t cur = pc;
  bool cacheable = true;
  while (n < CodeCache::kMaxInsts) {
    uint8_t buf[15];
    unsigned avail;
    uint64_t ph[2] = {~0ull, ~0ull};
    bool ram;
    try {
      ram = fetch_window(cur, buf, avail, ph);
    } catch (const CpuFault&) {
      if (n == 0) throw;  // the first instruction's fetch faults now
      break;
    }
    if (!ram) {
      if (n > 0) break;
      cacheable = false;  // executing from MMIO/unassigned space: decode, run once
    }
    isa::DecodedInst& d = tmp[m];
    isa::DecodeStatus st = isa::decode(buf, avail, mode, d);
    if (st == isa::kDecodeNeedMore) {
      if (n > 0) break;
      // The instruction runs into a page that cannot be fetched: touch the first
      // byte past the window so that fault (#PF/#GP) is raised now.
      uint8_t dummy;
      cpu_.slow_seg = isa::CS;
      read_slow(cpu_, cur + avail, &dummy, 1, Access::kExec);
      d = isa::DecodedInst{};  // not reached when the read faults, as it must
      d.form = isa::Form::invalid;
      d.len = uint8_t(avail ? avail : 1);
      isa::bind(d);
      st = isa::kDecodeUd;
    }
    if (st == isa::kDecodeTooLong) bind_too_long(d);
    // RDTSC-class forms start their own block (and end it, F_END), so they see every
    // cycle retired before them (isa/msr.cpp, docs/TIMING.md).
    if (n > 0 && d.info().iclass == isa::C_TSC) break;
    if (d.len > 15 || d.len == 0) d.len = 1;
    // Outside 64-bit mode every byte fetched must lie within the CS limit
    // (SDM Vol. 3A 5.3): the instruction faults with #GP(0) when it is reached.
    if (!cpu_.long64 && (cur - pc + rip) + d.len - 1 > cpu_.seg[isa::CS].limit) {
      if (n > 0) break;
      isa::raise_gp0();
    }
    // The pages this instruction's bytes come from; a block covers at most two.
    uint64_t need[2] = {ph[0], ((cur + d.len - 1) & ~0xFFFull) != (cur & ~0xFFFull) ? ph[1] : ~0ull};
    uint64_t np[2] = {pages[0], pages[1]};
    bool fits = true;
    for (uint64_t p : need) {
      if (p == ~0ull || p == np[0] || p == np[1]) continue;
      if (np[0] == ~0ull) np[0] = p;
      else if (np[1] == ~0ull) np[1] = p;
      else fits = false;
    }
    if (!fits) break;
    pages[0] = np[0], pages[1] = np[1];
    d.cycles = model_->inst_cycles(d);
    cycles += d.cycles;
    starts[n] = cur;
    cur += d.len;
    n++, m++;
    uint32_t fl = d.info().flags;
    if (st != isa::kDecodeOk || (fl & isa::F_UD)) break;
    // A repeated string may yield and run again (isa/exec_string.cpp): end here.
    if ((fl & isa::F_REP) && (d.flags & (isa::IF_REP | isa::IF_REPNE))) break;
    if (!cacheable) break;
    if (!(fl & (isa::F_END | isa::F_BRANCH))) continue;
    // Superblocks (sim/code_cache.h): where to go on after this instruction, if known.
    // A continuation decoded here already is a loop: that gets a block of its own.
    const uint64_t at = cur - d.len;
    const uint64_t page = pc & ~0xFFFull;
    auto on_first_page = [&](uint64_t a) {
      return (a & ~0xFFFull) == page && std::find(starts, starts + n, a) == starts + n;
    };
    uint64_t next;
    if (fl & isa::F_END) {
      if (!goes_on_unless_exit(d.form)) break;
      next = cur;
    } else if (is_conditional_direct(d.form)) {
      // A backward branch closes a loop and is mostly taken: there the block ends, as
      // a side exit on every iteration would cost more than the block look-up saved.
      if (int64_t(d.imm) < 0) break;
      next = cur;
    } else if (follows_target(d.form) && cpu_.long64 && d.osize == 8 &&
               on_first_page(cur + d.imm)) {
      if (d.form == isa::Form::call_jz) {
        if (calls == kMaxCalls) break;
        call_returns[calls++] = cur;
      }
      cur += d.imm;  // no separator: the target is exact (see code_cache.h)
      continue;
    } else if (d.form == isa::Form::ret && calls > 0 && d.osize == 8 &&
               on_first_page(call_returns[calls - 1])) {
      next = call_returns[--calls];
    } else {
      break;
    }
    if (next != cur && !on_first_page(next)) break;
    tmp[m++] = Separator::make(int32_t(int64_t(next) - int64_t(at)), n, cycles);
    cur = next;
  }
  if (m > 0 && is_separator(tmp[m - 1])) m--;  // the block ends at that branch after all
  Block* b = code_.alloc(m);
  if (!b) {
    code_.flush();
    mem_.clear_all_code_pages();
    b = code_.alloc(m);
  }
  b->pc = pc;
  b->phys_pc = first_pa;
  b->phys[0] = pages[0];
  b->phys[1] = pages[1];
  b->n = n;
  b->m = uint16_t(m);
  b->cycles = cycles;
  b->mode = mode;
  b->valid = cacheable;
  b->chainable = cacheable && !(tmp[m - 1].info().flags & isa::F_END);
  b->chain = nullptr;
  b->chain_rip = 0;
  b->chain_epoch = 0;
  b->execs = 0;
  std::memcpy(static_cast<void*>(b->insts), tmp, m * sizeof(isa::DecodedInst));
  b->insts[m] = isa::DecodedInst{};
  b->insts[m].fn = nullptr;
  b->end = b->insts + m;
  if (cacheable) {
    for (uint64_t p : pages)
      if (p != ~0ull) protect_code_page(p);
    code_.insert(b);
  }
  return b;
}

// ---- execution -------------------------------------------------------------------

// An exception from an instruction (RIP restored to it) or from fetching one: it is
// delivered through the IDT (isa/sys_int.cpp). The chain it starts is remembered so
// that a triple fault can report its first exception.
template <class F>
void Machine::delivering(F&& f) {
  try {
    f();
  } catch (const CpuFault& g) {
    if (g.vector != vmx::kVecVmExit) throw;
    vmx_.complete_pending_exit(cpu_);
    return;
  }
  // With the monitor trap flag an MTF exit follows the delivery of an event or a fault,
  // before its handler's first instruction (SDM Vol. 3C 25.5.2).
  vmx_.instruction_done(cpu_);
}

void Machine::on_fault(const CpuFault& f, uint64_t rip, unsigned insn_len) {
  if (f.vector == vmx::kVecVmExit) {  // a VM exit raised inside an access (vmx/vmx.h)
    cpu_.ev.pending_dbg = 0;
    vmx_.complete_pending_exit(cpu_, insn_len);
    cpu_.attention = true;
    return;
  }
  counters.faults++;
  cpu_.ev.pending_dbg = 0;  // the instruction did not complete: no debug traps
  chain_first_ = f;
  chain_rip_ = rip;
  delivering([&] { isa::deliver_fault(cpu_, f); });
  cpu_.attention = true;
}

// Cpu::stop_request and Cpu::attention are adjacent bytes (isa/cpu.h): the block loop
// tests both with one 16-bit load, so watching for events costs it nothing.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
static_assert(offsetof(isa::Cpu, attention) == offsetof(isa::Cpu, stop_request) + 1);
#pragma GCC diagnostic pop
inline bool stop_or_attention(const isa::Cpu& c) {
  uint16_t v;
  std::memcpy(&v, &c.stop_request, sizeof v);
  return v != 0;
}

void Machine::dispatch(const RunLimits& lim) {
  isa::Cpu& c = cpu_;
  limit_cycles_ = lim.max_cycles;
  update_deadline();
  // Blocks while nothing needs attention; instruction by instruction while anything
  // does (events, single-step, breakpoints). Device events due by now fire first.
  while (!c.stop_request && c.icount < lim.max_insns && c.cycles < lim.max_cycles) {
    if (c.cycles >= events_.next_due()) run_due_events();
    if (c.stop_request) break;
    if (c.attention) run_stepped(lim);
    else run_blocks(lim);
  }
}

// Fires the device events due at the current cycle (sim/events.h). Their effects
// (interrupt lines, a stop request) are seen at this instruction boundary.
void Machine::run_due_events() {
  events_.run_due(cpu_.cycles);
}

// The hot loop: runs blocks back to back until a stop request, Cpu::attention, a
// cycle limit, or a block that would cross the instruction limit (left to
// execute_some). Per block it costs a jump-cache probe and two compares; per
// instruction, the RIP update and one indirect call. A fault restores RIP to the
// faulting instruction, retires only the instructions before it (precise
// exceptions) and is delivered through the IDT.
void Machine::run_blocks(const RunLimits& lim) {
  isa::Cpu& c = cpu_;
  const uint64_t max_insns = lim.max_insns;
  const uint64_t deadline = deadline_;  // changes set Cpu::attention (EventQueue::on_change)
  Block* b = nullptr;
  Block* prev = nullptr;  // the block just completed, whose chain may give the next
  const isa::DecodedInst* p = nullptr;
  uint64_t rip = c.r[isa::kRegRip];
  try {
    for (;;) {
      // deadline: the cycle limit or the next device event, whichever is first.
      if (NS_UNLIKELY(stop_or_attention(c)) || NS_UNLIKELY(c.cycles >= deadline)) return;
      rip = c.r[isa::kRegRip];
      p = nullptr;
      uint64_t epoch = code_.epoch();  // the block's separators stop when it changes
      // The chain of the block just run: recorded in this epoch, or, after a clearing
      // of the jump cache (a VM entry or exit, a CR3 write), on the terms of the banks.
      if (prev && prev->chain_rip == rip &&
          (prev->chain_epoch == epoch ||
           (c.long64 && c.canonical(rip) && code_.rechain(prev, rip, c.code_size)))) {
        b = prev->chain;
      } else {
        const uint64_t pc = pc_of(rip);
        b = code_.lookup(pc, c.code_size);
        // A miss: the block banked for this PC when its page was translated in this
        // visit already (sim/code_cache.h "jump-cache banks"), else the slow path.
        if (NS_UNLIKELY(!b) && c.long64 && c.canonical(pc)) b = code_.lookup_banked(pc, c.code_size);
        if (NS_UNLIKELY(!b)) {
          uint64_t flushes = code_.counters.flushes;
          b = find_or_build_block(rip);
          if (code_.counters.flushes != flushes) prev = nullptr;  // prev was freed
          epoch = code_.epoch();
        }
        if (prev && prev->chainable && b->valid) {
          prev->chain = b;
          prev->chain_rip = rip;
          prev->chain_epoch = epoch;
        }
      }
      if (NS_UNLIKELY(c.icount + b->n > max_insns)) {
        execute_some(b, max_insns - c.icount);
        return;
      }
      // A block's first entry, and the entry after a separator, is an instruction with
      // a handler: self-modifying code nulls them only while an instruction before
      // them runs, and the loop stops at the next entry then.
      p = b->insts;
      for (;;) {
        do {
          rip = c.r[isa::kRegRip];
          c.r[isa::kRegRip] = rip + p->len;
          p->fn(c, *p);
        } while ((++p)->fn);
        // A separator: on where the block expects to go on, while nothing needs
        // attention and the jump cache was not cleared (every VM entry and exit clears
        // it, as does anything that may change a translation).
        if (NS_LIKELY(p == b->end) || !is_separator(*p) ||
            c.r[isa::kRegRip] != rip + uint64_t(Separator::delta(*p)) || stop_or_attention(c) ||
            code_.epoch() != epoch)
          break;
        ++p;
      }
      if (NS_LIKELY(p == b->end)) {
        c.icount += b->n;
        c.cycles += b->cycles;
        b->execs++;
        prev = b;
      } else if (is_separator(*p)) {  // a side exit: left at a separator
        c.icount += Separator::insts(*p);
        c.cycles += Separator::cycles(*p);
        Separator::count_exit(*p);
        code_.counters.side_exits++;
        prev = b->valid ? b : nullptr;
      } else {  // cut short by self-modifying code
        retire_prefix(b, p);
        prev = nullptr;
      }
    }
  } catch (const CpuFault& f) {
    if (p) {  // an instruction faulted; those before it retired
      c.r[isa::kRegRip] = rip;
      retire_prefix(b, p);
    }  // else: fetching/decoding the block's first instruction faulted
    on_fault(f, rip, p ? p->len : 0);
  }
}

// The instructions of b before entry p retired, the block not completing.
void Machine::retire_prefix(Block* b, const isa::DecodedInst* p) {
  for (const isa::DecodedInst* q = b->insts; q != p; ++q)
    if (!is_separator(*q)) cpu_.icount++, cpu_.cycles += q->cycles;
  code_.count_partial(b, unsigned(p - b->insts));
}

// Executes at most `max` instructions of b (exact instruction limits).
void Machine::execute_some(Block* b, uint64_t max) {
  isa::Cpu& c = cpu_;
  uint64_t done = 0, last = 0;  // last: the RIP of the instruction last run
  const uint64_t epoch = code_.epoch();
  for (unsigned i = 0; i < b->m && done < max; i++) {
    const isa::DecodedInst& d = b->insts[i];
    if (is_separator(d)) {  // as in run_blocks
      if (c.r[isa::kRegRip] != last + uint64_t(Separator::delta(d)) || c.attention ||
          code_.epoch() != epoch)
        return;
      continue;
    }
    if (!d.fn) return;  // self-modifying code
    uint64_t rip = c.r[isa::kRegRip];
    last = rip;
    done++;
    c.r[isa::kRegRip] = rip + d.len;
    try {
      d.fn(c, d);
    } catch (const CpuFault& f) {
      c.r[isa::kRegRip] = rip;
      on_fault(f, rip, d.len);
      return;
    }
    c.icount++;
    c.cycles += d.cycles;
    code_.count_executed(d);
    if (c.stop_request) return;
  }
}

// ---- events at instruction boundaries -----------------------------------------------

// HLT (and MWAIT): the CPU stops fetching until an event (SDM Vol. 3A 6.8 / Vol. 2A
// HLT); the run loop wakes it or ends the run when nothing can (interrupts.h).
void Machine::halt(isa::Cpu& c) {
  c.ev.activity = isa::Activity::kHlt;
  c.attention = true;
}

void Machine::shutdown(isa::Cpu& c, const char* why) {
  // A triple fault in VMX non-root operation is a VM exit (SDM Vol. 3C 25.2).
  if (c.vmx.mode == isa::VmxMode::kNonRoot) {
    vmx_.triple_fault(c);
    return;
  }
  c.ev.activity = isa::Activity::kShutdown;
  result_.fault = chain_first_;
  result_.fault_rip = chain_rip_;
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s (first exception %s, error 0x%x, at rip 0x%llx)", why,
                isa::vector_name(chain_first_.vector), chain_first_.error,
                static_cast<unsigned long long>(chain_rip_));
  result_.message = buf;
  request_stop(StopReason::kShutdown);
}

// Whether the next instruction boundary needs more than the block loop does.
bool Machine::needs_attention() {
  const isa::Cpu& c = cpu_;
  const isa::EventState& ev = c.ev;
  if (ev.shadow || ev.pending_dbg || ev.activity != isa::Activity::kActive) return true;
  if (c.vmx.mode == isa::VmxMode::kNonRoot && vmx_.boundary_pending(c)) return true;
  if (init_pending_ && c.vmx.mode != isa::VmxMode::kRoot) return true;
  if ((c.rflags & (isa::FLAG_TF | isa::FLAG_RF)) || isa::breakpoints_enabled(c)) return true;
  if (ev.nmi_pending && !ev.nmi_blocked) return true;
  return (c.rflags & isa::FLAG_IF) && intc_ && intc_->intr_pending();
}

// Delivers an event that does not come from an instruction; `rip` is where the
// program continues after the handler (the start of a new delivery chain).
void Machine::deliver(const isa::Event& e, uint64_t rip) {
  chain_first_ = isa::CpuFault{e.vector, e.has_error, e.error, 0};
  chain_rip_ = rip;
  delivering([&] { isa::deliver_event(cpu_, e); });
}

// One instruction boundary's events, in the priority order of SDM Vol. 3A Table 6-2:
// traps of the previous instruction (#DB), NMI, maskable interrupts. The MOV-SS
// shadow holds back all of them, the STI shadow NMI and INTR (6.8.3). Returns true
// when the boundary was used up (an event delivered, or the CPU is halted).
bool Machine::service_events() {
  isa::Cpu& c = cpu_;
  isa::EventState& ev = c.ev;
  const bool guest = c.vmx.mode == isa::VmxMode::kNonRoot;
  // INIT (SDM Vol. 3A Table 6-2: above NMI and interrupts): an exit in non-root
  // operation (25.2), blocked in root operation, a processor reset otherwise.
  if (init_pending_ && c.vmx.mode != isa::VmxMode::kRoot) {
    init_pending_ = false;
    if (guest) {
      vmx_.init_exit(c);
      return true;
    }
    result_.message = "INIT signal (the processor resets; there is no firmware to run)";
    request_stop(StopReason::kReset);
    return true;
  }
  if (ev.activity == isa::Activity::kShutdown) {
    // In VMX non-root operation the shutdown state waits for what can still exit (the
    // preemption timer, an NMI with NMI exiting...); otherwise the machine stops.
    if (guest && vmx_.boundary(c)) return true;
    if (guest && vmx_.preemption_due() != ~0ull) {
      c.cycles = std::max(c.cycles + 1, std::min(vmx_.preemption_due(), limit_cycles_));
      if (c.cycles >= events_.next_due()) run_due_events();
      return true;
    }
    request_stop(StopReason::kShutdown);
    return true;
  }
  const uint64_t rip = c.r[isa::kRegRip];
  // A pending MTF exit comes before debug traps, which stay pending (vmx/vmx.h).
  if (guest && ev.pending_dbg && vmx_.boundary_before_traps(c)) return true;
  if (ev.pending_dbg && !(ev.shadow & isa::SHADOW_MOV_SS)) {
    const uint64_t bits = ev.pending_dbg;
    ev.pending_dbg = 0;
    chain_first_ = isa::CpuFault{isa::VEC_DB, false, 0, 0};
    chain_rip_ = rip;
    delivering([&] { isa::deliver_debug(c, bits); });
    return true;
  }
  // VMX non-root operation: MTF, preemption timer, NMI/external-interrupt exiting and
  // the window exits come before ordinary delivery (vmx/events.cpp).
  if (guest && vmx_.boundary(c)) return true;
  if (!ev.shadow) {
    if (ev.nmi_pending && !ev.nmi_blocked) {
      ev.nmi_pending = false;
      deliver(isa::Event{isa::VEC_NMI, isa::EventType::kNmi}, rip);
      return true;
    }
    if ((c.rflags & isa::FLAG_IF) && intc_ && intc_->intr_pending()) {
      deliver(isa::Event{intc_->acknowledge(), isa::EventType::kExternal}, rip);
      return true;
    }
  }
  if (ev.activity == isa::Activity::kHlt) {
    // Nothing to deliver: skip ahead to the next device event, so an idle guest
    // costs no host time. With IF = 0 only an NMI could wake the CPU; no device here
    // sends one by itself, so `cli; hlt` ends the run (kHalted), as does a halt with
    // every interrupt source masked.
    // With the platform's controller, device events matter only while some source
    // can still reach INTR (Platform::can_interrupt); a test's own controller says
    // when it may raise INTR itself.
    // In VMX non-root operation external-interrupt exiting wakes the CPU whatever IF
    // says, and so does the preemption timer.
    const bool wakeable = intc_ && ((c.rflags & isa::FLAG_IF) || (guest && vmx_.ext_int_exiting()));
    uint64_t next = ~0ull;
    if (wakeable && intc_ == &platform_->lapic)
      next = platform_->can_interrupt() ? events_.next_due() : ~0ull;
    else if (wakeable)
      next = intc_->next_event(c.cycles);
    if (guest) next = std::min(next, vmx_.preemption_due());
    if (next == ~0ull) {
      request_stop(StopReason::kHalted);
    } else {
      c.cycles = std::max(c.cycles + 1, std::min(next, limit_cycles_));
      if (c.cycles >= events_.next_due()) run_due_events();
    }
    return true;
  }
  return false;
}

// Executes the instruction at RIP on its own, with the checks the block loop leaves
// out: instruction breakpoints before it (a fault, unless RF), the interrupt shadow
// it consumes, and the single-step trap after it (SDM Vol. 3A 17.3.1).
void Machine::execute_one() {
  isa::Cpu& c = cpu_;
  const uint64_t rip = c.r[isa::kRegRip];
  if (isa::breakpoints_enabled(c) && !(c.rflags & isa::FLAG_RF)) {
    if (uint64_t hits = isa::match_instruction_breakpoints(c, pc_of(rip))) {
      chain_first_ = isa::CpuFault{isa::VEC_DB, false, 0, 0};
      chain_rip_ = rip;
      delivering([&] { isa::deliver_debug(c, hits); });
      return;
    }
  }
  Block* b;
  try {
    b = find_or_build_block(rip);
  } catch (const CpuFault& f) {
    on_fault(f, rip);
    return;
  }
  const isa::DecodedInst& d = b->insts[0];
  const bool tf = c.rflags & isa::FLAG_TF;
  c.ev.shadow = 0;                  // the shadow covered the boundary before this one
  c.rflags &= ~uint64_t(isa::FLAG_RF);  // RF lasts one instruction (IRET may set it again)
  c.r[isa::kRegRip] = rip + d.len;
  try {
    d.fn(c, d);
  } catch (const CpuFault& f) {
    c.r[isa::kRegRip] = rip;
    on_fault(f, rip, d.len);
    vmx_.instruction_done(c);  // MTF after a fault's delivery (25.5.2)
    return;
  }
  c.icount++;
  c.cycles += d.cycles;
  code_.count_executed(d);
  vmx_.instruction_done(c);  // MTF: an exit at the next boundary (still non-root only)
  // Single-step: a trap after the instruction if TF was set when it began; an INT n,
  // INT3 or INTO that delivered its event cleared TF on the way to its handler and
  // has no trap (17.3.1.4).
  if (tf && (!(d.info().flags & isa::F_TRAP) || (c.rflags & isa::FLAG_TF)))
    c.ev.pending_dbg |= isa::DR6_BS;
  // Whoever runs next (stepping, the tracer, the block loop) must look at the traps.
  if (c.ev.pending_dbg) c.attention = true;
}

void Machine::step_one() {
  if (cpu_.cycles >= events_.next_due()) run_due_events();
  if (needs_attention() && service_events()) return;
  execute_one();
}

// Instruction by instruction while anything needs attention; returns to the block
// loop as soon as nothing does (or at a stop or limit).
void Machine::run_stepped(const RunLimits& lim) {
  isa::Cpu& c = cpu_;
  while (!c.stop_request && c.icount < lim.max_insns && c.cycles < lim.max_cycles) {
    if (c.cycles >= events_.next_due()) run_due_events();
    c.attention = needs_attention();
    if (!c.attention) return;
    if (!service_events()) execute_one();
  }
  if (c.cycles > lim.max_cycles && c.ev.activity == isa::Activity::kHlt) c.cycles = lim.max_cycles;
}

RunResult Machine::run(const RunLimits& limits) {
  result_ = RunResult{};
  cpu_.stop_request = false;
  cpu_.attention = true;  // state may have been changed from outside: look at it
  while (!cpu_.stop_request) {
    if (cpu_.icount >= limits.max_insns || cpu_.cycles >= limits.max_cycles) {
      request_stop(StopReason::kLimit);
      break;
    }
    if (tracer_) run_traced(limits);
    else dispatch(limits);
  }
  return result_;
}

}  // namespace sim
