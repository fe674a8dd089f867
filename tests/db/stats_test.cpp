// The stats registry (sim/stats.h) and the instruction-class accounting behind it
// (CodeCache::fold_executions): exact totals across flushes, limits inside blocks and
// self-modifying code; registry semantics; results written by ResultsDb.
#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <cstdio>
#include <string>
#include <unistd.h>

#include "sim/machine.h"
#include "sim/results_db.h"
#include "sim/stats.h"
#include "tests/sys/harness.h"

namespace {

constexpr uint64_t kCode = 0x100000;

// mov ecx, N; loop: add eax, 1; dec ecx; jnz loop; hlt  ->  3N + 2 instructions.
void load_loop(sim::Machine& m, unsigned n) {
  auto code = systest::nasm("bits 64\norg 0x100000\nmov ecx, " + std::to_string(n) +
                            "\nl: add eax, 1\ndec ecx\njnz l\nhlt\n");
  m.mem().write(kCode, code.data(), unsigned(code.size()));
  m.reset_long_mode(kCode, 0x80000);
}

uint64_t get(const sim::StatsRegistry& r, const char* name, const char* label = nullptr) {
  r.prepare();
  const sim::Stat* s = r.find(name);
  REQUIRE(s);
  if (!label) return s->get(0);
  for (size_t i = 0; i < s->size; i++)
    if (s->label(i) == label) return s->get(i);
  FAIL("no label " << label << " in " << name);
  return 0;
}

uint64_t vector_sum(const sim::StatsRegistry& r, const char* name) {
  r.prepare();
  const sim::Stat* s = r.find(name);
  REQUIRE(s);
  uint64_t sum = 0;
  for (size_t i = 0; i < s->size; i++) sum += s->get(i);
  return sum;
}

}  // namespace

TEST_CASE("instruction classes count every complete block execution", "[stats]") {
  sim::Machine m(sim::MachineConfig{});
  sim::StatsRegistry r;
  sim::register_machine_stats(r, m);
  load_loop(m, 1000);
  sim::RunResult res = m.run(sim::RunLimits{});
  REQUIRE(res.reason == sim::StopReason::kHalted);
  CHECK(m.cpu().icount == 3002);
  CHECK(get(r, "core.instructions") == 3002);
  CHECK(get(r, "core.inst_class", "alu") == 2000);    // add, dec
  CHECK(get(r, "core.inst_class", "branch") == 1000);  // jnz
  CHECK(get(r, "core.inst_class", "mov") == 1);
  CHECK(vector_sum(r, "core.inst_class") == 3002);
  CHECK(vector_sum(r, "core.forms_executed") == 3002);
  CHECK(get(r, "core.insts_unattributed") == 0);
  // Reading twice gives the same values (folding is idempotent).
  CHECK(vector_sum(r, "core.inst_class") == 3002);
}

TEST_CASE("instruction classes survive a code-cache flush and a limit inside a block",
          "[stats]") {
  sim::Machine m(sim::MachineConfig{});
  sim::StatsRegistry r;
  sim::register_machine_stats(r, m);
  load_loop(m, 1000);
  sim::RunLimits lim;
  lim.max_insns = 1500;  // blocks: mov add dec jnz, then add dec jnz: 1500 = 4 + 3 * 498 + 2
  REQUIRE(m.run(lim).reason == sim::StopReason::kLimit);
  m.code().flush();  // folds the counts of every block before freeing them
  CHECK(m.code().counters.flushes == 1);
  REQUIRE(m.run(sim::RunLimits{}).reason == sim::StopReason::kHalted);
  CHECK(m.cpu().icount == 3002);
  uint64_t attributed = vector_sum(r, "core.inst_class");
  uint64_t unattributed = get(r, "core.insts_unattributed");
  CHECK(attributed == 3002);  // incl. the two instructions run before the limit cut a block
  CHECK(unattributed == 0);
}

TEST_CASE("self-modifying code keeps the invalidated blocks' counts", "[stats]") {
  sim::Machine m(sim::MachineConfig{});
  sim::StatsRegistry r;
  sim::register_machine_stats(r, m);
  // A loop that rewrites an immediate in its own block every iteration: each write
  // invalidates the block being executed (it completes its current instruction only).
  auto code = systest::nasm(
      "bits 64\norg 0x100000\nmov ecx, 50\n"
      "l: mov byte [rel imm], cl\n"
      "db 0xb8\nimm: dd 0\n"  // mov eax, imm32
      "dec ecx\njnz l\nhlt\n");
  m.mem().write(kCode, code.data(), unsigned(code.size()));
  m.reset_long_mode(kCode, 0x80000);
  REQUIRE(m.run(sim::RunLimits{}).reason == sim::StopReason::kHalted);
  CHECK(m.code().counters.invalidations > 0);
  CHECK(vector_sum(r, "core.inst_class") == m.cpu().icount);
  CHECK(get(r, "core.insts_unattributed") == 0);
}

TEST_CASE("registry: scalars, vectors, labels, replacement, printing", "[stats]") {
  sim::StatsRegistry r;
  uint64_t a = 5;
  uint64_t v[3] = {0, 7, 0};
  r.scalar("t.a", "things", "a scalar", &a);
  r.vector("t.v", "things", "a vector", v, 3, [](size_t i) { return "i" + std::to_string(i); });
  r.scalar("t.b", "things", "computed", [&a] { return a * 2; });
  CHECK(r.stats().size() == 3);
  a = 6;
  CHECK(r.find("t.a")->get(0) == 6);
  CHECK(r.find("t.b")->get(0) == 12);
  CHECK(r.find("t.v")->is_vector);
  CHECK(r.find("t.v")->label(1) == "i1");
  r.scalar("t.a", "things", "replaced", [] { return uint64_t(1); });
  CHECK(r.stats().size() == 3);
  CHECK(r.find("t.a")->desc == "replaced");
  CHECK(r.find("t.a")->get(0) == 1);
  CHECK(r.find("t.none") == nullptr);

  char* buf = nullptr;
  size_t len = 0;
  std::FILE* f = open_memstream(&buf, &len);
  r.print(f);
  std::fclose(f);
  std::string out(buf, len);
  free(buf);
  CHECK(out.find("t.a") != std::string::npos);
  CHECK(out.find("[i1]") != std::string::npos);
  CHECK(out.find("[i0]") == std::string::npos);  // zero entries are not printed
}

TEST_CASE("ResultsDb writes a run and its statistics", "[stats]") {
  char path[] = "/tmp/nestsim-db-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  unlink(path);  // a new, absent file: ResultsDb creates it
  sim::StatsRegistry r;
  uint64_t a = 42, v[4] = {0, 0, 3, 0};
  r.scalar("t.a", "things", "a scalar", &a);
  r.vector("t.v", "things", "a vector", v, 4, [](size_t i) { return "L" + std::to_string(i); });
  int64_t id;
  {
    sim::ResultsDb db(path);
    sim::RunRecord rec;
    rec.workload_path = "/x/y.elf";
    rec.workload_name = "y.elf";
    rec.command_line = "nestsim run /x/y.elf";
    rec.cpu_model = "server";
    rec.config = {{"ram", "128"}};
    id = db.begin_run(rec);
    sim::RunOutcome out;
    out.status = "completed";
    out.stop_reason = "halted";
    out.instructions = 10;
    db.end_run(id, out, r);
  }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path, &db) == SQLITE_OK);
  auto one = [&](const char* sql) {
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql, -1, &s, nullptr) == SQLITE_OK);
    std::string v = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0)
                        ? reinterpret_cast<const char*>(sqlite3_column_text(s, 0))
                        : "";
    sqlite3_finalize(s);
    return v;
  };
  CHECK(one("SELECT status || ',' || stop_reason || ',' || instructions FROM runs") ==
        "completed,halted,10");
  CHECK(one("SELECT value FROM stats WHERE name = 't.a'") == "42");
  CHECK(one("SELECT idx || ',' || label || ',' || value FROM vector_stats WHERE name = 't.v'") ==
        "2,L2,3");
  CHECK(one("SELECT count(*) FROM vector_stats") == "1");
  CHECK(one("SELECT unit || ',' || description || ',' || kind || ',' || size FROM stat_defs "
            "WHERE name = 't.v'") == "things,a vector,vector,4");
  CHECK(one("SELECT value FROM run_config WHERE key = 'ram'") == "128");
  sqlite3_close(db);
  unlink(path);
}
