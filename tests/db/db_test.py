#!/usr/bin/env python3
"""Results-database tests (docs/RESULTS.md): schema, appending runs, bad files,
crash safety under SIGKILL, SIGINT/SIGTERM recorded as 'interrupted', and
scripts/results.py on the result.

Usage: db_test.py NESTSIM HELLO_ELF RESULTS_PY
"""
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

NESTSIM, HELLO, RESULTS_PY = sys.argv[1:4]
VMX_ELF = sys.argv[4] if len(sys.argv) > 4 else None  # bench/vmx_cpuid kernel
HERE = os.path.dirname(os.path.abspath(__file__))
failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


def run(*args, **kw):
    return subprocess.run([NESTSIM, *args], capture_output=True, text=True, **kw)


def connect(path):
    return sqlite3.connect(path)


def rows(db, sql, *params):
    with connect(db) as c:
        return c.execute(sql, params).fetchall()


def wait_for_running(db, proc, timeout=20.0):
    """Waits until the process has committed its 'running' row and simulated a while."""
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            return False
        if os.path.exists(db):
            try:
                if rows(db, "SELECT count(*) FROM runs WHERE status = 'running'")[0][0]:
                    time.sleep(0.5)  # well inside the run loop
                    return True
            except sqlite3.Error:
                pass
        time.sleep(0.05)
    return False


def stats_of(db, run_id):
    return (rows(db, "SELECT name, value FROM stats WHERE run_id = ? ORDER BY name", run_id),
            rows(db, "SELECT name, idx, label, value FROM vector_stats WHERE run_id = ? "
                     "ORDER BY name, idx", run_id))


with tempfile.TemporaryDirectory() as tmp:
    db = os.path.join(tmp, "results.db")
    loop = os.path.join(tmp, "loop.elf")
    subprocess.run([sys.executable, os.path.join(HERE, "make_loop_elf.py"), loop], check=True)

    # ---- schema and one complete run -----------------------------------------------
    r = run("run", HELLO, "--db", db, "--seed", "7", "-q")
    check(r.returncode in (0, 1), f"hello with --db exits normally (got {r.returncode}: {r.stderr.strip()})")
    with connect(db) as c:
        check(c.execute("PRAGMA user_version").fetchone()[0] == 3, "user_version is 3")
        check(c.execute("PRAGMA application_id").fetchone()[0] == 0x6E657374, "application_id is 'nest'")
        tables = {t for (t,) in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        check({"runs", "run_config", "stat_defs", "stats", "vector_stats", "reports"} <= tables,
              f"tables {sorted(tables)}")
        run1 = c.execute("SELECT id, status, stop_reason, instructions, cycles, workload_name, "
                         "workload_sha256, cpu_model, nestsim_version, started_at, ended_at, "
                         "exit_status, host_kernel FROM runs").fetchall()
    check(len(run1) == 1, "one run row")
    rid, status, stop, insns, cycles, name, sha, model, ver, t0, t1, xs, kernel = run1[0]
    check(status == "completed", f"status completed (got {status})")
    check(stop in ("exit-device", "power-off", "halted"), f"stop reason recorded ({stop})")
    check(insns > 0 and cycles >= insns, f"instructions {insns}, cycles {cycles}")
    check(name == "hello.elf" and len(sha) == 64 and model and ver and t0 and t1 and kernel,
          "workload identity, model, version, times, host")
    check(xs == r.returncode, f"exit_status matches the process ({xs} vs {r.returncode})")
    cfg = dict(rows(db, "SELECT key, value FROM run_config WHERE run_id = ?", rid))
    check(cfg.get("seed") == "7" and cfg.get("ram") == "128" and cfg.get("db") == db,
          f"configuration rows (seed, ram, db): {cfg}")
    stat = dict(rows(db, "SELECT name, value FROM stats WHERE run_id = ?", rid))
    check(stat.get("core.instructions") == insns, "core.instructions equals runs.instructions")
    classes = sum(v for (v,) in rows(db, "SELECT value FROM vector_stats WHERE run_id = ? AND "
                                         "name = 'core.inst_class'", rid))
    check(classes + stat.get("core.insts_unattributed", -1) == insns,
          f"instruction classes + unattributed = instructions ({classes} + "
          f"{stat.get('core.insts_unattributed')} vs {insns})")
    check(stat.get("io.port_writes", 0) > 0, "port writes counted (COM1 output)")
    ndefs = rows(db, "SELECT count(*) FROM stat_defs WHERE unit != '' AND description != ''")[0][0]
    check(ndefs >= 20, f"stat definitions with unit and description ({ndefs})")
    labels = rows(db, "SELECT label FROM vector_stats WHERE run_id = ? AND name = 'run.stop_reason'", rid)
    check(labels == [(stop,)], f"run.stop_reason vector labelled by the reason ({labels})")

    # ---- append ------------------------------------------------------------------
    r = run("run", HELLO, "--db", db, "-q")
    ids = [i for (i,) in rows(db, "SELECT id FROM runs ORDER BY id")]
    check(len(ids) == 2 and ids[0] == rid, f"second run appended ({ids})")

    # ---- concurrent appends: several processes, one file -------------------------------
    procs = [subprocess.Popen([NESTSIM, "run", HELLO, "--db", db, "-q", "--seed", str(100 + i)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for i in range(4)]
    errs = [p.communicate()[1] for p in procs]
    check(all(p.returncode == 1 for p in procs), f"4 concurrent runs succeed ({[p.returncode for p in procs]} {errs})")
    seeds = sorted(v for (v,) in rows(db, "SELECT value FROM run_config WHERE key = 'seed' AND CAST(value AS INTEGER) >= 100"))
    check(seeds == ["100", "101", "102", "103"], f"each concurrent run has its row ({seeds})")
    check(rows(db, "SELECT count(*) FROM runs WHERE status != 'completed'") == [(0,)],
          "concurrent runs all completed")
    before = stats_of(db, rid)

    # ---- SIGKILL mid-run -----------------------------------------------------------
    p = subprocess.Popen([NESTSIM, "run", loop, "--db", db, "-q"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    started = wait_for_running(db, p)
    check(started, "long run committed its 'running' row")
    p.send_signal(signal.SIGKILL)
    p.wait()
    check(p.returncode == -signal.SIGKILL, "killed by SIGKILL")
    check(rows(db, "PRAGMA integrity_check") == [("ok",)], "integrity_check ok after SIGKILL")
    check(stats_of(db, rid) == before, "earlier run's stats intact after SIGKILL")
    killed = rows(db, "SELECT id, status, ended_at FROM runs ORDER BY id DESC LIMIT 1")[0]
    check(killed[1] == "running" and killed[2] is None,
          f"killed run's row stays 'running' with no end time ({killed})")
    check(rows(db, "SELECT count(*) FROM stats WHERE run_id = ?", killed[0]) == [(0,)],
          "killed run has no statistics")

    # ---- SIGINT / SIGTERM: recorded as interrupted, with statistics ----------------------
    for sig, want in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        p = subprocess.Popen([NESTSIM, "run", loop, "--db", db, "-q"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        started = wait_for_running(db, p)
        p.send_signal(sig)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        check(started and p.returncode == want, f"{sig.name}: exit status {p.returncode} (want {want})")
        last = rows(db, "SELECT id, status, stop_reason, instructions, ended_at FROM runs "
                        "ORDER BY id DESC LIMIT 1")[0]
        check(last[1] == "interrupted" and last[2] == "signal" and last[3] > 0 and last[4],
              f"{sig.name}: run recorded as interrupted ({last})")
        n = rows(db, "SELECT value FROM stats WHERE run_id = ? AND name = 'core.instructions'", last[0])
        check(n == [(last[3],)], f"{sig.name}: statistics written")
    # A reader of `--trace -` that goes away: SIGPIPE ends the run as interrupted.
    p = subprocess.Popen(f"'{NESTSIM}' run '{loop}' --db '{db}' -q --trace - | head -n 3 > /dev/null; "
                         "exit ${PIPESTATUS[0]}", shell=True, executable="/bin/bash")
    p.wait(timeout=60)
    last = rows(db, "SELECT status, exit_status, instructions FROM runs ORDER BY id DESC LIMIT 1")[0]
    check(p.returncode == 141 and last[0] == "interrupted" and last[1] == 141 and last[2] >= 2,
          f"SIGPIPE from a closed --trace - ends the run as interrupted ({p.returncode}, {last})")
    check(rows(db, "PRAGMA integrity_check") == [("ok",)], "integrity_check ok at the end")

    # ---- bad files -------------------------------------------------------------------
    other = os.path.join(tmp, "other.db")
    with connect(other) as c:
        c.execute("CREATE TABLE t(x)")
    r = run("run", HELLO, "--db", other, "-q")
    check(r.returncode == 2 and "not a nestsim results database" in r.stderr,
          f"foreign SQLite file refused ({r.returncode}: {r.stderr.strip()})")
    text = os.path.join(tmp, "text.db")
    with open(text, "w") as f:
        f.write("this is not a database, just some text that is long enough " * 20)
    r = run("run", HELLO, "--db", text, "-q")
    check(r.returncode == 2 and "not an SQLite database" in r.stderr and r.stderr.count("\n") == 1,
          f"text file refused in one line ({r.returncode}: {r.stderr.strip()})")
    newer = os.path.join(tmp, "newer.db")
    run("run", HELLO, "--db", newer, "-q")
    with connect(newer) as c:
        c.execute("PRAGMA user_version = 99")
    r = run("run", HELLO, "--db", newer, "-q")
    check(r.returncode == 2 and "newer nestsim" in r.stderr, f"newer schema refused ({r.stderr.strip()})")
    # Schema-1 (before the reports table) and schema-2 (before vm_exits) databases are
    # upgraded in place, runs kept.
    for old_ver, dropped in ((1, ("reports", "vm_exits")), (2, ("vm_exits",))):
        old = os.path.join(tmp, f"v{old_ver}.db")
        run("run", HELLO, "--db", old, "-q")
        with connect(old) as c:
            for t in dropped:
                c.execute(f"DROP TABLE {t}")
            c.execute(f"PRAGMA user_version = {old_ver}")
        r = run("run", HELLO, "--db", old, "-q")
        with connect(old) as c:
            ver = c.execute("PRAGMA user_version").fetchone()[0]
            nruns = c.execute("SELECT count(*) FROM runs WHERE status = 'completed'").fetchone()[0]
            has = c.execute("SELECT count(*) FROM sqlite_master"
                            " WHERE name IN ('reports', 'vm_exits')").fetchone()[0]
        check(r.returncode in (0, 1) and ver == 3 and nruns == 2 and has == 2,
              f"schema {old_ver} upgraded to 3 keeping its runs ({r.returncode}, v{ver}, {nruns} runs)")
    r = run("run", HELLO, "--db", os.path.join(tmp, "no", "such", "dir.db"), "-q")
    check(r.returncode == 2 and "--db" in r.stderr, f"unopenable path refused ({r.stderr.strip()})")

    # ---- scripts/results.py --------------------------------------------------------------
    r = subprocess.run([sys.executable, RESULTS_PY, db, "list"], capture_output=True, text=True)
    check(r.returncode == 0 and "hello.elf" in r.stdout and "interrupted" in r.stdout,
          f"results.py list ({r.returncode}: {r.stderr.strip()})")
    r = subprocess.run([sys.executable, RESULTS_PY, db, "show", str(rid)], capture_output=True, text=True)
    check(r.returncode == 0 and "core.instructions" in r.stdout and "core.inst_class[" in r.stdout,
          f"results.py show ({r.returncode}: {r.stderr.strip()})")
    r = subprocess.run([sys.executable, RESULTS_PY, db, "show", "9999"], capture_output=True, text=True)
    check(r.returncode != 0 and "9999" in r.stderr, "results.py show of a missing run fails clearly")

    r = subprocess.run([sys.executable, RESULTS_PY, db, "diff", str(rid), "last"], capture_output=True, text=True)
    check(r.returncode == 0 and "core.instructions" in r.stdout and "run.stop_reason[signal]" not in r.stdout,
          f"results.py diff ({r.returncode}: {r.stderr.strip()})")
    png = os.path.join(tmp, "classes.png")
    r = subprocess.run([sys.executable, RESULTS_PY, db, "plot", str(rid), "core.inst_class", png],
                       capture_output=True, text=True)
    if "needs matplotlib" in r.stderr:
        print("skip: results.py plot (matplotlib not installed)")
    else:
        with open(png, "rb") as f:
            check(r.returncode == 0 and f.read(8) == b"\x89PNG\r\n\x1a\n", "results.py plot writes a PNG")

    # ---- VM exits (schema 3): by VMCS and reason, with root-mode cycles ---------------
    if VMX_ELF:
        vdb = os.path.join(tmp, "vmx.db")
        r = run("run", VMX_ELF, "--append", "500", "--db", vdb, "-q")
        check(r.returncode == 1, f"vmx_cpuid with --db passes ({r.returncode}: {r.stderr.strip()})")
        with connect(vdb) as c:
            rows = c.execute("SELECT vmcs, reason, name, count, root_cycles FROM vm_exits").fetchall()
            cpuid = [x for x in rows if x[1] == 10]
            total = c.execute("SELECT value FROM stats WHERE name = 'vmx.exits'").fetchone()
            by_reason = c.execute("SELECT value FROM vector_stats WHERE name = 'vmx.exits_by_reason'"
                                  " AND label = 'cpuid'").fetchone()
        check(len(cpuid) == 1 and cpuid[0][2] == "cpuid" and cpuid[0][3] >= 500 and cpuid[0][4] > 0
              and cpuid[0][0] != 0, f"vm_exits records the CPUID exits with root cycles ({cpuid})")
        check(total and total[0] == sum(x[3] for x in rows),
              f"vmx.exits equals the vm_exits rows ({total}, {rows})")
        check(by_reason and by_reason[0] == cpuid[0][3], f"vmx.exits_by_reason[cpuid] ({by_reason})")
        r = subprocess.run([sys.executable, RESULTS_PY, vdb, "exits", "last"], capture_output=True, text=True)
        check(r.returncode == 0 and "cpuid" in r.stdout, f"results.py exits ({r.returncode}: {r.stdout[:200]})")

if failures:
    print(f"{len(failures)} database checks failed")
    sys.exit(1)
print("all database checks passed")
