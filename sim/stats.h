// The statistics registry: every statistic a run reports, each with a name, a unit
// and a description (gem5's ADD_STAT), written to the results database
// (sim/results_db.h, docs/RESULTS.md) and printed by `nestsim run --stats`.
//
// Pull model: a statistic is a getter over a counter that already exists where the
// thing is counted (Cpu::icount, Cpu::SysCounters, Machine::Counters, PhysMem and
// CodeCache counters ...). Registering costs nothing while the simulator runs; the
// values are read only when a run ends (or when a report asks). So counting stays a
// plain `++` in the component, and no hot path knows this registry exists.
//
// Two kinds:
//   scalar  one value;
//   vector  `size` values indexed by one of the simulator's enums or tables
//           (exception vector, I/O port, MSR-table entry, instruction class, form),
//           each index with a label ("#PF", "0x3f8", "IA32_EFER", "alu", "add_ev_gv").
// Names are dotted paths, lower case: "core.exceptions", "code.blocks_built". A name
// is registered once (registering it again replaces the getter: the last machine
// wins, which is what a CLI run with one machine needs).
#pragma once
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace sim {

class Machine;
struct RunResult;

struct Stat {
  std::string name, unit, desc;
  bool is_vector = false;
  size_t size = 1;                               // entries (1 for scalars)
  std::function<uint64_t(size_t)> get;           // value of entry i (scalars: i = 0)
  std::function<std::string(size_t)> label;      // vectors: label of entry i
};

class StatsRegistry {
 public:
  using Labeler = std::function<std::string(size_t)>;

  void scalar(std::string name, std::string unit, std::string desc, const uint64_t* counter);
  void scalar(std::string name, std::string unit, std::string desc, std::function<uint64_t()> get);
  // A vector over an array of counters (counters[0..n)).
  void vector(std::string name, std::string unit, std::string desc, const uint64_t* counters,
              size_t n, Labeler label);
  void vector(std::string name, std::string unit, std::string desc, size_t n,
              std::function<uint64_t(size_t)> get, Labeler label);

  // Work to do once before values are read (folding counters kept in pieces, like
  // the code cache's per-block execution counts). prepare() runs it; print() and
  // ResultsDb::end_run() call prepare() themselves.
  void before_read(std::function<void()> fn) { prepare_.push_back(std::move(fn)); }
  void prepare() const {
    for (const auto& fn : prepare_) fn();
  }

  const std::vector<Stat>& stats() const { return stats_; }
  const Stat* find(std::string_view name) const;

  // Every statistic, one line per scalar and per non-zero vector entry
  // ("core.exceptions[#PF]  12  exceptions  ..."); zero vectors print nothing.
  void print(std::FILE* out) const;

 private:
  Stat& add(std::string name, std::string unit, std::string desc);
  std::vector<Stat> stats_;
  std::vector<std::function<void()>> prepare_;
};

// Registers everything the machine counts (core, memory, code cache, unimplemented
// forms, and the counters of the system-architecture components that exist).
// `m` must outlive the registry's use.
void register_machine_stats(StatsRegistry& r, Machine& m);
// VMX: entries, exits by reason with their root-operation cycles, VMX instructions
// (sim/vmx_glue.cpp). The per-VMCS breakdown goes to the results database's vm_exits
// table (vmx_exit_records).
void register_vmx_stats(StatsRegistry& r, Machine& m);
struct VmExitRecord;
std::vector<VmExitRecord> vmx_exit_records(Machine& m);
// The run's stop reason as a one-hot vector indexed by sim::StopReason. `res` must
// outlive the registry's use.
void register_run_stats(StatsRegistry& r, const RunResult& res);

// Labels shared with the trace and reports.
const char* inst_class_name(unsigned iclass);

}  // namespace sim
