#include "sim/results_db.h"

#include <sqlite3.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>

#include "sim/stats.h"
#include "sim/version.h"

namespace sim {

namespace {

// Schema version 1 (docs/RESULTS.md describes every table and column).
constexpr const char* kSchema = R"sql(
CREATE TABLE runs(
  id              INTEGER PRIMARY KEY,
  workload_path   TEXT NOT NULL,
  workload_name   TEXT NOT NULL,
  workload_format TEXT,
  workload_sha256 TEXT,
  workload_size   INTEGER,
  command_line    TEXT NOT NULL,
  cpu_model       TEXT NOT NULL,
  host_name       TEXT,
  host_cpu        TEXT,
  host_kernel     TEXT,
  nestsim_version TEXT NOT NULL,
  started_at      TEXT NOT NULL,
  ended_at        TEXT,
  status          TEXT NOT NULL CHECK(status IN ('running', 'completed', 'interrupted', 'error')),
  stop_reason     TEXT,
  exit_value      INTEGER,
  exit_status     INTEGER,
  fault_vector    INTEGER,
  fault_error     INTEGER,
  fault_rip       INTEGER,
  message         TEXT,
  instructions    INTEGER,
  cycles          INTEGER,
  host_seconds    REAL
);
CREATE TABLE run_config(
  run_id INTEGER NOT NULL REFERENCES runs(id),
  key    TEXT NOT NULL,
  value  TEXT NOT NULL,
  PRIMARY KEY(run_id, key)
) WITHOUT ROWID;
CREATE TABLE stat_defs(
  name        TEXT PRIMARY KEY,
  kind        TEXT NOT NULL CHECK(kind IN ('scalar', 'vector')),
  size        INTEGER NOT NULL,
  unit        TEXT NOT NULL,
  description TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE stats(
  run_id INTEGER NOT NULL REFERENCES runs(id),
  name   TEXT NOT NULL,
  value  INTEGER NOT NULL,
  PRIMARY KEY(run_id, name)
) WITHOUT ROWID;
CREATE TABLE vector_stats(
  run_id INTEGER NOT NULL REFERENCES runs(id),
  name   TEXT NOT NULL,
  idx    INTEGER NOT NULL,
  label  TEXT NOT NULL,
  value  INTEGER NOT NULL,
  PRIMARY KEY(run_id, name, idx)
) WITHOUT ROWID;
)sql";

// Schema 2 (issue 4): the records guest programs send through nestsim's report
// channel (sim/dev/misc.h ReportPort), in the order they arrived.
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE reports(
  run_id INTEGER NOT NULL REFERENCES runs(id),
  seq    INTEGER NOT NULL,
  cycle  INTEGER NOT NULL,
  key    TEXT NOT NULL,
  value  TEXT NOT NULL,
  PRIMARY KEY(run_id, seq)
) WITHOUT ROWID;
)sql";

// Schema 3 (issue 5): VM exits by VMCS and basic exit reason, with the cycles the
// processor then spent in VMX root operation until the next VM entry.
constexpr const char* kSchemaV3 = R"sql(
CREATE TABLE vm_exits(
  run_id      INTEGER NOT NULL REFERENCES runs(id),
  vmcs        INTEGER NOT NULL,
  reason      INTEGER NOT NULL,
  name        TEXT NOT NULL,
  count       INTEGER NOT NULL,
  root_cycles INTEGER NOT NULL,
  PRIMARY KEY(run_id, vmcs, reason)
) WITHOUT ROWID;
)sql";

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql, const std::string& path) : path_(path) {
    if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK)
      throw DbError(path + ": " + sqlite3_errmsg(db));
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt& bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& bind(int i, double v) {
    sqlite3_bind_double(s_, i, v);
    return *this;
  }
  Stmt& bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), int(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind_null(int i) {
    sqlite3_bind_null(s_, i);
    return *this;
  }
  // Runs a statement that returns no rows, then resets it for the next bindings.
  void run() {
    int rc = sqlite3_step(s_);
    sqlite3_reset(s_);
    if (rc != SQLITE_DONE) throw DbError(path_ + ": " + sqlite3_errmsg(sqlite3_db_handle(s_)));
  }
  sqlite3_stmt* get() { return s_; }

 private:
  sqlite3_stmt* s_ = nullptr;
  const std::string& path_;
};

std::string first_line_of(const char* file, const char* key) {
  std::ifstream f(file);
  std::string line;
  while (std::getline(f, line))
    if (line.compare(0, std::char_traits<char>::length(key), key) == 0) {
      size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      size_t b = line.find_first_not_of(" \t", colon + 1);
      return b == std::string::npos ? "" : line.substr(b);
    }
  return "";
}

}  // namespace

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

std::string host_cpu() { return first_line_of("/proc/cpuinfo", "model name"); }

std::string host_kernel() {
  utsname u{};
  if (uname(&u) != 0) return "";
  return std::string(u.sysname) + " " + u.release + " " + u.machine;
}

std::string utc_now() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, int(ms));
  return buf;
}

ResultsDb::ResultsDb(const std::string& path) : path_(path) {
  int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw DbError(path + ": cannot open: " + msg);
  }
  try {
    // Another process appending at the same moment holds the lock briefly.
    sqlite3_busy_timeout(db_, 10000);
    // A rollback journal keeps the database one file; FULL syncs the journal and the
    // database at every commit, so a committed run survives power loss too.
    exec("PRAGMA journal_mode=DELETE");
    exec("PRAGMA synchronous=FULL");
    exec("PRAGMA foreign_keys=ON");
    exec("BEGIN IMMEDIATE");
    int64_t app = pragma_int("application_id");
    int64_t ver = pragma_int("user_version");
    int64_t tables = 0;
    {
      Stmt s(db_, "SELECT count(*) FROM sqlite_master", path_);
      if (sqlite3_step(s.get()) == SQLITE_ROW) tables = sqlite3_column_int64(s.get(), 0);
    }
    if (app == 0 && ver == 0 && tables == 0) {
      create_schema();
    } else if (app != kApplicationId) {
      throw DbError(path + ": not a nestsim results database (an SQLite file with other content)");
    } else if (ver > kSchemaVersion) {
      throw DbError(path + ": written by a newer nestsim (schema " + std::to_string(ver) +
                    ", this build knows up to " + std::to_string(kSchemaVersion) + ")");
    } else if (ver < 1) {
      throw DbError(path + ": nestsim results database with no schema version");
    } else if (ver < kSchemaVersion) {
      // Schema 1 -> 2 -> 3: new tables only; earlier runs are kept as they are.
      if (ver < 2) exec(kSchemaV2);
      exec(kSchemaV3);
      exec(("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str());
    }
    exec("COMMIT");
  } catch (const DbError&) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

ResultsDb::~ResultsDb() {
  if (db_) sqlite3_close(db_);
}

void ResultsDb::check(int rc, const char* what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return;
  std::string msg = sqlite3_errmsg(db_);
  if (rc == SQLITE_NOTADB) msg = "not an SQLite database";
  throw DbError(path_ + ": " + what + ": " + msg);
}

void ResultsDb::exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    if (rc == SQLITE_NOTADB) msg = "not an SQLite database";
    throw DbError(path_ + ": " + msg);
  }
}

int64_t ResultsDb::pragma_int(const char* name) {
  std::string sql = std::string("PRAGMA ") + name;
  Stmt s(db_, sql.c_str(), path_);
  int rc = sqlite3_step(s.get());
  check(rc, name);
  return rc == SQLITE_ROW ? sqlite3_column_int64(s.get(), 0) : 0;
}

void ResultsDb::create_schema() {
  exec(kSchema);
  exec(kSchemaV2);
  exec(kSchemaV3);
  exec(("PRAGMA application_id=" + std::to_string(kApplicationId)).c_str());
  exec(("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str());
}

int64_t ResultsDb::begin_run(const RunRecord& r) {
  exec("BEGIN IMMEDIATE");
  try {
    Stmt ins(db_,
             "INSERT INTO runs(workload_path, workload_name, workload_format, workload_sha256,"
             " workload_size, command_line, cpu_model, host_name, host_cpu, host_kernel,"
             " nestsim_version, started_at, status)"
             " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'running')",
             path_);
    ins.bind(1, r.workload_path).bind(2, r.workload_name).bind(3, r.workload_format);
    ins.bind(4, r.workload_sha256).bind(5, int64_t(r.workload_size)).bind(6, r.command_line);
    ins.bind(7, r.cpu_model).bind(8, host_name()).bind(9, host_cpu()).bind(10, host_kernel());
    ins.bind(11, std::string(NESTSIM_VERSION)).bind(12, utc_now());
    ins.run();
    int64_t id = sqlite3_last_insert_rowid(db_);
    Stmt cfg(db_, "INSERT OR REPLACE INTO run_config(run_id, key, value) VALUES(?1, ?2, ?3)", path_);
    for (const auto& [k, v] : r.config) {
      cfg.bind(1, id).bind(2, k).bind(3, v);
      cfg.run();
    }
    exec("COMMIT");
    return id;
  } catch (const DbError&) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void ResultsDb::end_run(int64_t id, const RunOutcome& o, const StatsRegistry& stats) {
  stats.prepare();
  exec("BEGIN IMMEDIATE");
  try {
    Stmt up(db_,
            "UPDATE runs SET ended_at = ?2, status = ?3, stop_reason = ?4, exit_value = ?5,"
            " exit_status = ?6, fault_vector = ?7, fault_error = ?8, fault_rip = ?9,"
            " message = ?10, instructions = ?11, cycles = ?12, host_seconds = ?13 WHERE id = ?1",
            path_);
    up.bind(1, id).bind(2, utc_now()).bind(3, o.status).bind(4, o.stop_reason);
    if (o.exit_value) up.bind(5, *o.exit_value);
    else up.bind_null(5);
    up.bind(6, int64_t(o.exit_status));
    if (o.fault_vector) {
      up.bind(7, int64_t(*o.fault_vector)).bind(8, int64_t(o.fault_error));
      up.bind(9, int64_t(o.fault_rip));
    } else {
      up.bind_null(7).bind_null(8).bind_null(9);
    }
    if (o.message.empty()) up.bind_null(10);
    else up.bind(10, o.message);
    up.bind(11, int64_t(o.instructions)).bind(12, int64_t(o.cycles)).bind(13, o.host_seconds);
    up.run();

    Stmt def(db_,
             "INSERT OR REPLACE INTO stat_defs(name, kind, size, unit, description)"
             " VALUES(?1, ?2, ?3, ?4, ?5)",
             path_);
    Stmt sc(db_, "INSERT OR REPLACE INTO stats(run_id, name, value) VALUES(?1, ?2, ?3)", path_);
    Stmt vec(db_,
             "INSERT OR REPLACE INTO vector_stats(run_id, name, idx, label, value)"
             " VALUES(?1, ?2, ?3, ?4, ?5)",
             path_);
    Stmt rep(db_,
             "INSERT INTO reports(run_id, seq, cycle, key, value) VALUES(?1, ?2, ?3, ?4, ?5)",
             path_);
    Stmt vmx(db_,
             "INSERT INTO vm_exits(run_id, vmcs, reason, name, count, root_cycles)"
             " VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
             path_);
    for (const VmExitRecord& e : o.vm_exits) {
      vmx.bind(1, id).bind(2, int64_t(e.vmcs)).bind(3, int64_t(e.reason)).bind(4, e.name);
      vmx.bind(5, int64_t(e.count)).bind(6, int64_t(e.root_cycles));
      vmx.run();
    }
    for (size_t i = 0; i < o.reports.size(); i++) {
      const ReportRecord& r = o.reports[i];
      rep.bind(1, id).bind(2, int64_t(i)).bind(3, int64_t(r.cycle)).bind(4, r.key).bind(5, r.value);
      rep.run();
    }
    for (const Stat& s : stats.stats()) {
      def.bind(1, s.name).bind(2, std::string(s.is_vector ? "vector" : "scalar"));
      def.bind(3, int64_t(s.size)).bind(4, s.unit).bind(5, s.desc);
      def.run();
      if (!s.is_vector) {
        sc.bind(1, id).bind(2, s.name).bind(3, int64_t(s.get(0)));
        sc.run();
        continue;
      }
      // Vectors keep their non-zero entries only (an absent index reads as 0).
      for (size_t i = 0; i < s.size; i++) {
        uint64_t v = s.get(i);
        if (!v) continue;
        vec.bind(1, id).bind(2, s.name).bind(3, int64_t(i)).bind(4, s.label(i)).bind(5, int64_t(v));
        vec.run();
      }
    }
    exec("COMMIT");
  } catch (const DbError&) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

}  // namespace sim
