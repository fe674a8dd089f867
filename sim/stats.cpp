#include "sim/stats.h"

#include <cinttypes>
#include <numeric>

#include "isa/bind.h"
#include "isa/fault.h"
#include "isa/forms.h"
#include "isa/msr.h"
#include "sim/machine.h"
#include "sim/platform.h"

namespace sim {

namespace {

// Indexed by isa::InstClass (isa/forms.h).
constexpr const char* kClassNames[] = {
    "nop",     "mov",     "alu",      "shift",     "mul",     "div",       "bit",
    "branch",  "call",    "ret",      "stack",     "string",  "lea",       "xchg",
    "atomic",  "flag",    "cpuid",    "tsc",       "rand",    "x87",       "x87_trans",
    "sse_mov", "sse_int", "sse_fp",   "sse_fpdiv", "sse_shuf", "sse_cvt",  "xsave",
    "system",  "io",
};
static_assert(sizeof(kClassNames) / sizeof(kClassNames[0]) == isa::C_COUNT,
              "one name per isa::InstClass");

// "#PF" for exception vectors, the number for the others ("32", "255").
std::string vector_label(size_t v) {
  if (v < 32) return isa::vector_name(uint8_t(v));
  return std::to_string(v);
}

std::string msr_label(size_t i) { return isa::msr_name(isa::MsrId(i)); }

std::string port_label(size_t port) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%zx", port);
  return buf;
}

std::string form_label(size_t f) { return isa::kForms[f].name ? isa::kForms[f].name : "invalid"; }

}  // namespace

const char* inst_class_name(unsigned iclass) {
  return iclass < isa::C_COUNT ? kClassNames[iclass] : "?";
}

Stat& StatsRegistry::add(std::string name, std::string unit, std::string desc) {
  for (Stat& s : stats_)
    if (s.name == name) {
      s = Stat{};
      s.name = std::move(name), s.unit = std::move(unit), s.desc = std::move(desc);
      return s;
    }
  Stat& s = stats_.emplace_back();
  s.name = std::move(name), s.unit = std::move(unit), s.desc = std::move(desc);
  return s;
}

void StatsRegistry::scalar(std::string name, std::string unit, std::string desc,
                           const uint64_t* counter) {
  scalar(std::move(name), std::move(unit), std::move(desc), [counter] { return *counter; });
}

void StatsRegistry::scalar(std::string name, std::string unit, std::string desc,
                           std::function<uint64_t()> get) {
  Stat& s = add(std::move(name), std::move(unit), std::move(desc));
  s.get = [g = std::move(get)](size_t) { return g(); };
}

void StatsRegistry::vector(std::string name, std::string unit, std::string desc,
                           const uint64_t* counters, size_t n, Labeler label) {
  vector(std::move(name), std::move(unit), std::move(desc), n,
         [counters](size_t i) { return counters[i]; }, std::move(label));
}

void StatsRegistry::vector(std::string name, std::string unit, std::string desc, size_t n,
                           std::function<uint64_t(size_t)> get, Labeler label) {
  Stat& s = add(std::move(name), std::move(unit), std::move(desc));
  s.is_vector = true;
  s.size = n;
  s.get = std::move(get);
  s.label = std::move(label);
}

const Stat* StatsRegistry::find(std::string_view name) const {
  for (const Stat& s : stats_)
    if (s.name == name) return &s;
  return nullptr;
}

void StatsRegistry::print(std::FILE* out) const {
  prepare();
  for (const Stat& s : stats_) {
    if (!s.is_vector) {
      std::fprintf(out, "%-40s %16" PRIu64 "  %-12s %s\n", s.name.c_str(), s.get(0),
                   s.unit.c_str(), s.desc.c_str());
      continue;
    }
    // A vector: its non-zero entries under one line that describes it.
    bool header = false;
    for (size_t i = 0; i < s.size; i++) {
      uint64_t v = s.get(i);
      if (!v) continue;
      if (!header)
        std::fprintf(out, "%-40s %16s  %-12s %s\n", s.name.c_str(), "(vector)", s.unit.c_str(),
                     s.desc.c_str());
      header = true;
      std::string n = "  [" + s.label(i) + "]";
      std::fprintf(out, "%-40s %16" PRIu64 "\n", n.c_str(), v);
    }
  }
}

void register_machine_stats(StatsRegistry& r, Machine& m) {
  isa::Cpu& c = m.cpu();
  CodeCache& code = m.code();

  // ---- core ------------------------------------------------------------------
  r.scalar("core.instructions", "instructions", "instructions retired", &c.icount);
  r.scalar("core.cycles", "cycles", "simulated core cycles (time derives from these)", &c.cycles);
  r.vector("core.exceptions", "exceptions",
           "exceptions delivered (IDT, or the IVT in real mode), by vector",
           c.sys.exceptions, 32, vector_label);
  r.vector("core.interrupts", "interrupts",
           "external and software interrupts delivered, by vector", c.sys.interrupts, 256,
           vector_label);
  r.scalar("core.nmis", "events", "NMIs delivered", &c.sys.nmis);
  r.scalar("core.double_faults", "events", "double faults (#DF) raised", &c.sys.double_faults);
  r.scalar("core.triple_faults", "events", "triple faults (shutdown)", &c.sys.triple_faults);
  r.scalar("core.msr_unknown", "accesses", "RDMSR/WRMSR of an MSR no table knows (#GP)",
           &c.sys.msr_unknown);
  r.scalar("core.mode_changes", "events",
           "mode recomputations (Cpu::update_mode: CR0/CR4/EFER writes, CS/SS loads, far "
           "transfers, event delivery, RFLAGS.VM changes), whether or not the mode changed",
           &c.sys.mode_changes);
  r.vector("core.msr_reads", "accesses", "RDMSR executions (successful or faulting), by MSR-table row",
           c.sys.msr.reads, isa::kMsrCount, msr_label);
  r.vector("core.msr_writes", "accesses", "WRMSR executions (successful or faulting), by MSR-table row",
           c.sys.msr.writes, isa::kMsrCount, msr_label);

  r.before_read([&code] { code.fold_executions(); });
  // Instructions by form and class: complete block executions folded by the code
  // cache (sim/code_cache.h), plus the instructions the run loop retires one by one
  // (stepped, traced, cut-short blocks). A REP string counts once per 4096-element
  // chunk; "unattributed" is what core.instructions has beyond the forms (0 unless
  // a path forgets to count).
  r.vector("core.forms_executed", "instructions",
           "instructions executed, by instruction form (complete blocks and traced steps)",
           isa::kFormCount, [&code](size_t f) { return code.form_executions()[f]; }, form_label);
  r.vector("core.inst_class", "instructions",
           "instructions executed, by timing/statistics class (isa::InstClass)", isa::C_COUNT,
           [&code](size_t k) {
             const uint64_t* f = code.form_executions();
             uint64_t sum = 0;
             for (unsigned i = 0; i < isa::kFormCount; i++)
               if (isa::kForms[i].iclass == k) sum += f[i];
             return sum;
           },
           [](size_t k) { return std::string(inst_class_name(unsigned(k))); });
  r.scalar("core.insts_unattributed", "instructions",
           "retired instructions not attributed to a form (0 unless a run-loop path "
           "forgets to count)",
           [&c, &code] {
             const uint64_t* f = code.form_executions();
             uint64_t sum = std::accumulate(f, f + isa::kFormCount, uint64_t(0));
             return c.icount > sum ? c.icount - sum : 0;
           });
  r.vector("isa.unimplemented_forms", "instructions",
           "executions of forms without semantics (each raised #UD)", isa::unimplemented_forms(),
           isa::kFormCount, form_label);

  // ---- machine -------------------------------------------------------------
  r.scalar("machine.faults", "faults",
           "exceptions raised by instructions or instruction fetch (then delivered)",
           &m.counters.faults);
  r.scalar("machine.tlb_fills", "fills", "host-pointer TLB entries installed", &m.counters.tlb_fills);
  r.scalar("machine.smc_invalidations", "events",
           "writes to pages holding decoded code (self-modifying code)",
           &m.counters.smc_invalidations);

  // ---- paging and the modelled TLB ----------------------------------------------
  r.scalar("paging.walks", "walks", "page walks after a miss in the modelled TLB",
           &m.counters.page_walks);
  r.scalar("paging.walk_refs", "references",
           "paging-structure references made by walks (entry reads and A/D writes)",
           &m.counters.walk_refs);
  r.scalar("paging.page_faults", "faults", "#PF raised by translation", &m.counters.page_faults);
  const mmu::Tlb::Counters& tc = m.tlb().counters;
  r.scalar("tlb.lookups", "lookups", "modelled-TLB lookups", &tc.lookups);
  r.scalar("tlb.hits", "lookups", "modelled-TLB hits", &tc.hits);
  r.scalar("tlb.misses", "lookups", "modelled-TLB misses", &tc.misses);
  r.scalar("tlb.fills", "entries", "modelled-TLB entries filled", &tc.fills);
  r.scalar("tlb.evictions", "entries", "valid modelled-TLB entries replaced by a fill", &tc.evictions);
  r.scalar("tlb.flushes", "events",
           "flushes of every PCID (INVPCID types 2/3, CR4.PGE/PCIDE and other mode changes)",
           &tc.flushes);
  r.scalar("tlb.invalidations", "entries",
           "valid modelled-TLB entries invalidated (INVLPG, INVPCID, MOV CR3, #PF, flushes)",
           &tc.invalidations);

  // ---- physical memory and ports ------------------------------------------------
  const mmu::PhysMem::Counters& pm = m.mem().counters();
  r.scalar("mem.mmio_reads", "accesses", "reads of memory-mapped devices", &pm.mmio_reads);
  r.scalar("mem.mmio_writes", "accesses", "writes to memory-mapped devices", &pm.mmio_writes);
  r.scalar("mem.unassigned_reads", "accesses", "reads of unassigned physical memory (all-ones)",
           &pm.unassigned_reads);
  r.scalar("mem.unassigned_writes", "accesses", "writes to unassigned physical memory (ignored)",
           &pm.unassigned_writes);
  r.scalar("io.port_reads", "accesses", "I/O port reads (IN, INS)", &pm.port_reads);
  r.scalar("io.port_writes", "accesses", "I/O port writes (OUT, OUTS)", &pm.port_writes);
  r.scalar("io.unassigned_port_reads", "accesses", "reads of ports no device claims (all-ones)",
           &pm.unassigned_port_reads);
  r.scalar("io.unassigned_port_writes", "accesses", "writes to ports no device claims (ignored)",
           &pm.unassigned_port_writes);
  r.vector("io.port_reads_by_port", "accesses", "I/O port reads, by port", m.io_in_count.data(),
           m.io_in_count.size(), port_label);
  r.vector("io.port_writes_by_port", "accesses", "I/O port writes, by port", m.io_out_count.data(),
           m.io_out_count.size(), port_label);

  // ---- decoded-code cache -----------------------------------------------------
  r.scalar("code.blocks_built", "blocks", "decoded blocks built", &code.counters.blocks_built);
  r.scalar("code.insts_decoded", "instructions", "instructions decoded into blocks",
           &code.counters.insts_decoded);
  r.scalar("code.invalidations", "blocks", "blocks invalidated by writes to their code",
           &code.counters.invalidations);
  r.scalar("code.flushes", "events", "whole-cache flushes (arena full)", &code.counters.flushes);
  r.scalar("code.side_exits", "events",
           "blocks left at a separator (a taken forward branch, a return elsewhere, "
           "a VM exit; sim/code_cache.h)",
           &code.counters.side_exits);

  // ---- devices (sim/platform.h) ---------------------------------------------------
  register_platform_stats(r, m.platform());
  register_vmx_stats(r, m);
}

void register_run_stats(StatsRegistry& r, const RunResult& res) {
  constexpr size_t kReasons = size_t(StopReason::kReset) + 1;
  r.vector("run.stop_reason", "runs", "why the run stopped (1 at the reason, by sim::StopReason)",
           kReasons, [&res](size_t i) { return uint64_t(size_t(res.reason) == i); },
           [](size_t i) { return std::string(stop_reason_name(StopReason(i))); });
}

}  // namespace sim
