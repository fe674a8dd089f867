// The results database: one SQLite file that runs append to (docs/RESULTS.md gives
// the schema, table by table).
//
// Crash safety (rollback journal, synchronous=FULL):
//   open        creates the schema in one transaction, or checks that the file is a
//               nestsim database (application_id) of a schema this build reads
//               (user_version);
//   begin_run   inserts the run row with status 'running' and its configuration, in
//               its own transaction, and commits before the simulation starts;
//   end_run     updates the run row (status, stop reason, figures) and writes every
//               statistic, in one transaction.
// So a process killed at any point (SIGKILL included) leaves every earlier run
// complete, and the killed run either absent (killed before begin_run committed) or
// present with status 'running' and no statistics; SQLite rolls the hot journal of
// an interrupted end_run back on the next open.
//
// Errors (cannot open, not a database, not ours, newer schema, disk full) throw
// DbError with one line that names the file.
#pragma once
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

struct sqlite3;

namespace sim {

class StatsRegistry;

class DbError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What is known when a run starts.
struct RunRecord {
  std::string workload_path, workload_name, workload_format, workload_sha256;
  uint64_t workload_size = 0;
  std::string command_line;
  std::vector<std::pair<std::string, std::string>> config;  // every option, as given or defaulted
  std::string cpu_model;
};

// A record a guest sent through the report channel (sim/dev/misc.h ReportPort).
struct ReportRecord {
  uint64_t cycle = 0;
  std::string key, value;
};

// VM exits of one (VMCS, basic exit reason) pair (table `vm_exits`).
struct VmExitRecord {
  uint64_t vmcs = 0;           // physical address of the VMCS region
  uint16_t reason = 0;         // basic exit reason
  std::string name;            // its label ("cpuid")
  uint64_t count = 0;
  uint64_t root_cycles = 0;    // cycles in root operation until the next VM entry
};

// What is known when it ends.
struct RunOutcome {
  std::string status;       // "completed", "interrupted" or "error"
  std::string stop_reason;  // sim::stop_reason_name(), or "signal" when interrupted
  std::optional<int64_t> exit_value;  // value written to the exit device
  int exit_status = 0;                // the CLI's exit status
  std::optional<uint8_t> fault_vector;
  uint32_t fault_error = 0;
  uint64_t fault_rip = 0;
  std::string message;
  uint64_t instructions = 0, cycles = 0;
  double host_seconds = 0;
  std::vector<ReportRecord> reports;  // in arrival order (table `reports`)
  std::vector<VmExitRecord> vm_exits; // table `vm_exits`
};

class ResultsDb {
 public:
  static constexpr int kSchemaVersion = 3;
  static constexpr int32_t kApplicationId = 0x6E657374;  // "nest"

  explicit ResultsDb(const std::string& path);
  ~ResultsDb();
  ResultsDb(const ResultsDb&) = delete;
  ResultsDb& operator=(const ResultsDb&) = delete;

  // Returns the new run's id.
  int64_t begin_run(const RunRecord& run);
  void end_run(int64_t run_id, const RunOutcome& out, const StatsRegistry& stats);

  const std::string& path() const { return path_; }

 private:
  void exec(const char* sql);
  void check(int rc, const char* what);
  int64_t pragma_int(const char* name);
  void create_schema();

  std::string path_;
  sqlite3* db_ = nullptr;
};

// Host identity for the runs table: hostname, CPU model name, kernel ("Linux 6.1.0 x86_64").
std::string host_name();
std::string host_cpu();
std::string host_kernel();
// Current host time as ISO 8601 UTC with milliseconds ("2026-11-22T03:10:00.123Z").
std::string utc_now();

}  // namespace sim
