// The traced run loop and the trace writer (sim/trace.h gives the format).
#include "sim/trace.h"

#include <capstone/capstone.h>

#include <algorithm>
#include <cinttypes>
#include <cstring>

#include "isa/fault.h"
#include "sim/machine.h"

namespace sim {

namespace {

constexpr const char* kModeNames[] = {"real", "v8086", "prot16", "prot32", "compat", "long"};
static_assert(sizeof(kModeNames) / sizeof(kModeNames[0]) == unsigned(TraceMode::kCount));

constexpr const char* kGprNames[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                       "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

}  // namespace

const char* trace_mode_name(TraceMode m) {
  return unsigned(m) < unsigned(TraceMode::kCount) ? kModeNames[unsigned(m)] : "?";
}

bool parse_trace_mode(std::string_view s, TraceMode& m) {
  for (unsigned i = 0; i < unsigned(TraceMode::kCount); i++)
    if (s == kModeNames[i]) {
      m = TraceMode(i);
      return true;
    }
  return false;
}

TraceMode trace_mode_of(const isa::Cpu& c) {
  if (!(c.cr0 & 1)) return TraceMode::kReal;
  if (c.rflags & isa::FLAG_VM) return TraceMode::kV8086;
  if (c.long64) return TraceMode::kLong;
  if (c.efer & isa::EFER_LMA) return TraceMode::kCompat;  // CS.L = 0
  return c.code_size == isa::CodeSize::k32 ? TraceMode::kProt32 : TraceMode::kProt16;
}

Tracer::Tracer(std::FILE* out, const TraceFilter& filter, TraceRegs regs)
    : out_(out), filter_(filter), regs_(regs) {
  const cs_mode modes[3] = {CS_MODE_16, CS_MODE_32, CS_MODE_64};
  for (unsigned i = 0; i < 3; i++) {
    csh h = 0;
    if (cs_open(CS_ARCH_X86, modes[i], &h) == CS_ERR_OK) cs_handle_[i] = h;
  }
}

Tracer::~Tracer() {
  for (size_t& h : cs_handle_)
    if (h) {
      csh c = h;
      cs_close(&c);
    }
  std::fflush(out_);
}

Tracer::Before Tracer::capture(const isa::Cpu& c, uint64_t pc) {
  Before b;
  b.icount = c.icount;
  b.rip = c.r[isa::kRegRip];
  b.pc = pc;
  b.cs = c.seg[isa::CS].selector;
  b.mode = trace_mode_of(c);
  b.code_size = c.code_size;
  std::memcpy(b.gpr, c.r, sizeof b.gpr);
  b.rflags = c.get_rflags();
  return b;
}

void Tracer::instruction(const Before& b, const uint8_t* bytes, unsigned len,
                         const isa::Cpu& after) {
  records_++;
  char hex[15 * 3 + 1] = {};
  for (unsigned i = 0; i < len && i < 15; i++) std::snprintf(hex + 3 * i, 4, "%02x ", bytes[i]);
  if (len) hex[3 * std::min(len, 15u) - 1] = 0;

  std::string text = "(unknown)";
  if (len == 0) text = "(bytes unavailable)";
  csh h = cs_handle_[unsigned(b.code_size)];
  if (h && len) {
    cs_insn* insn = nullptr;
    uint64_t addr = b.code_size == isa::CodeSize::k64 ? b.pc : (b.rip & 0xFFFFFFFF);
    if (cs_disasm(h, bytes, len, addr, 1, &insn) == 1) {
      text = insn->mnemonic;
      if (insn->op_str[0]) (text += ' ') += insn->op_str;
      cs_free(insn, 1);
    } else {
      text = "(bad)";
    }
  }
  if (b.mode == TraceMode::kLong)
    std::fprintf(out_, "%" PRIu64 " %s %04x:%016" PRIx64 " %016" PRIx64 "  %-29s  %s", b.icount,
                 trace_mode_name(b.mode), b.cs, b.rip, b.pc, hex, text.c_str());
  else
    std::fprintf(out_, "%" PRIu64 " %s %04x:%08" PRIx64 " %016" PRIx64 "  %-29s  %s", b.icount,
                 trace_mode_name(b.mode), b.cs, b.rip, b.pc, hex, text.c_str());
  if (regs_ != TraceRegs::kNone) {
    std::fputs("  |", out_);
    for (unsigned i = 0; i < 16; i++)
      if (regs_ == TraceRegs::kAll || after.r[i] != b.gpr[i])
        std::fprintf(out_, " %s=%" PRIx64, kGprNames[i], after.r[i]);
    uint64_t fl = after.get_rflags();
    if (regs_ == TraceRegs::kAll || fl != b.rflags) std::fprintf(out_, " rflags=%" PRIx64, fl);
  }
  std::fputc('\n', out_);
}

void Tracer::event(uint64_t icount, TraceMode mode, std::string_view kind, std::string_view detail) {
  std::fprintf(out_, "%" PRIu64 " %s ! %.*s %.*s\n", icount, trace_mode_name(mode),
               int(kind.size()), kind.data(), int(detail.size()), detail.data());
}

void Machine::set_tracer(Tracer* t) {
  tracer_ = t;
  if (!t) {
    dev_ctx_.trace = nullptr;
    return;
  }
  // Device and interrupt-line records, while the window is open (the same rule as
  // the core's events): "ICOUNT MODE ! dev uart0.thr w 0x41 (port 0x3f8, 1 byte)".
  dev_ctx_.trace = [this](std::string_view kind, std::string_view detail) {
    Tracer& tr = *tracer_;
    if (tr.done() || cpu_.icount < tr.filter().start || !tr.wants_kind(kind)) return;
    tr.event(cpu_.icount, trace_mode_of(cpu_), kind, detail);
  };
}

// Untraced before the window opens and after it closes (Machine::dispatch, exact
// instruction limits); stepwise inside it. Events are found by comparing the core's
// event counters around each step, so the engine needs no tracing hooks.
void Machine::run_traced(const RunLimits& lim) {
  Tracer& t = *tracer_;
  isa::Cpu& c = cpu_;
  if (t.done()) {
    dispatch(lim);
    return;
  }
  if (c.icount < t.filter().start) {
    RunLimits l = lim;
    l.max_insns = std::min(lim.max_insns, t.filter().start);
    dispatch(l);
    return;
  }
  while (!c.stop_request && c.icount < lim.max_insns && c.cycles < lim.max_cycles && !t.done()) {
    const uint64_t pc = pc_of(c.r[isa::kRegRip]);
    const Tracer::Before before = Tracer::capture(c, pc);
    const isa::Cpu::SysCounters sys = c.sys;
    step_one();
    if (c.icount != before.icount) {  // the instruction retired
      uint8_t bytes[15];
      unsigned len = 0;
      Block* b = code_.lookup(pc, before.code_size);
      if (b && b->pc == pc) {
        const isa::DecodedInst& d = b->insts[0];  // counted by execute_one
        len = std::min<unsigned>(d.len, 15);
        // The instruction's bytes as decoded: from the block's first page, and its
        // second page for an instruction that crosses into it.
        unsigned first = unsigned(std::min<uint64_t>(len, isa::kPageSize - (b->phys_pc & 0xFFF)));
        mem_.read(b->phys_pc, bytes, first);
        if (first < len) {
          if (b->phys[1] != ~0ull) mem_.read(b->phys[1], bytes + first, len - first);
          else len = first;
        }
      } else {
        // Code outside RAM (not cached), invalidated by its own write, or an
        // instruction that cleared the jump cache (MOV CR0/CR3/CR4, mode changes):
        // read the bytes again through the current translation (a fault means
        // none). After a CR3 or paging switch that is the new mapping, which for
        // code that keeps running is the same frame. The look-up is invisible to
        // the run: time and the statistics it touches are put back (only the
        // modelled TLB may hold the entry one fetch earlier than untraced).
        const uint64_t cycles = c.cycles;
        const Counters counters_before = counters;
        const mmu::Tlb::Counters tlb_before = tlb_.counters;
        try {
          uint64_t pa = translate(pc, isa::Access::kExec);
          len = unsigned(std::min<uint64_t>(15, isa::kPageSize - (pc & 0xFFF)));
          mem_.read(pa, bytes, len);
        } catch (const isa::CpuFault&) {
          len = 0;
        }
        c.cycles = cycles;
        counters = counters_before;
        tlb_.counters = tlb_before;
      }
      if (t.wants(before.icount, pc, before.mode)) t.instruction(before, bytes, len, c);
    }
    // Events of this step, in the order the core counts them.
    const TraceMode now = trace_mode_of(c);
    char buf[96];
    for (unsigned v = 0; v < 32; v++)
      if (c.sys.exceptions[v] != sys.exceptions[v]) {
        // The delivery chain this step started (Machine::on_fault and the event
        // loop record its first exception) gives the error code and #PF address.
        const isa::CpuFault& f = chain_first_;
        if (f.vector == v && f.vector == isa::VEC_PF)
          std::snprintf(buf, sizeof buf, "#PF error=0x%x cr2=0x%" PRIx64 " rip=0x%" PRIx64, f.error,
                        c.cr2, chain_rip_);
        else if (f.vector == v && isa::vector_has_error(uint8_t(v)))
          std::snprintf(buf, sizeof buf, "%s error=0x%x rip=0x%" PRIx64, isa::vector_name(uint8_t(v)),
                        f.error, chain_rip_);
        else
          std::snprintf(buf, sizeof buf, "%s rip=0x%" PRIx64, isa::vector_name(uint8_t(v)), before.rip);
        t.event(c.icount, now, "exception", buf);
      }
    for (unsigned v = 0; v < 256; v++)
      if (c.sys.interrupts[v] != sys.interrupts[v]) {
        std::snprintf(buf, sizeof buf, "vector %u", v);
        t.event(c.icount, now, "interrupt", buf);
      }
    if (c.sys.nmis != sys.nmis) t.event(c.icount, now, "nmi", "delivered");
    if (c.sys.double_faults != sys.double_faults) t.event(c.icount, now, "exception", "#DF");
    if (c.sys.triple_faults != sys.triple_faults) t.event(c.icount, now, "shutdown", "triple fault");
    if (now != before.mode) {
      std::snprintf(buf, sizeof buf, "%s -> %s", trace_mode_name(before.mode), trace_mode_name(now));
      t.event(c.icount, now, "mode", buf);
    }
    if (result_.reason == StopReason::kFault || result_.reason == StopReason::kShutdown) {
      std::snprintf(buf, sizeof buf, "%s (first exception %s error=0x%x at rip 0x%" PRIx64 ")",
                    stop_reason_name(result_.reason), isa::vector_name(result_.fault.vector),
                    result_.fault.error, result_.fault_rip);
      t.event(c.icount, now, "stop", buf);
    } else if (result_.reason != StopReason::kNone) {
      t.event(c.icount, now, "stop", stop_reason_name(result_.reason));
    }
  }
}

}  // namespace sim
