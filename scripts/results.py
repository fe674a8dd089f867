#!/usr/bin/env python3
"""Queries a nestsim results database (docs/RESULTS.md).

  results.py DB list                       one line per run
  results.py DB show RUN                   a run's record, configuration and statistics
  results.py DB stat RUN NAME              one statistic (scalar, or a vector's entries)
  results.py DB plot RUN NAME OUT.png      a vector statistic as a bar chart (matplotlib)
  results.py DB diff RUN1 RUN2             the statistics that differ between two runs
  results.py DB exits RUN                  VM exits by VMCS and reason, with their root-mode cycles

RUN is a run id or 'last'. Only the Python standard library is needed, except for
`plot`, which needs matplotlib (Debian: python3-matplotlib, installed by
scripts/install-deps.sh).
"""
import argparse
import os
import sqlite3
import sys

APPLICATION_ID = 0x6E657374  # "nest"
SCHEMA_VERSION = 3


def fail(msg):
    print(f"results.py: {msg}", file=sys.stderr)
    sys.exit(2)


def open_db(path):
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        app = db.execute("PRAGMA application_id").fetchone()[0]
        ver = db.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.Error as e:
        fail(f"{path}: {e}")
    if app != APPLICATION_ID:
        fail(f"{path}: not a nestsim results database")
    if ver > SCHEMA_VERSION:
        fail(f"{path}: schema {ver} is newer than this script ({SCHEMA_VERSION})")
    return db


def run_id(db, text):
    if text == "last":
        row = db.execute("SELECT max(id) FROM runs").fetchone()
        if row[0] is None:
            fail("the database has no runs")
        return row[0]
    try:
        rid = int(text)
    except ValueError:
        fail(f"run must be an id or 'last', got '{text}'")
    if not db.execute("SELECT 1 FROM runs WHERE id = ?", (rid,)).fetchone():
        fail(f"no run {rid}")
    return rid


def cmd_list(db, _args):
    print(f"{'id':>4}  {'started (UTC)':<24} {'status':<11} {'stop':<18} {'instructions':>14} "
          f"{'cycles':>14} {'MIPS':>7}  workload")
    for (rid, start, status, stop, insns, cycles, secs, name) in db.execute(
            "SELECT id, started_at, status, stop_reason, instructions, cycles, host_seconds,"
            " workload_name FROM runs ORDER BY id"):
        mips = f"{insns / secs / 1e6:.1f}" if insns and secs else "-"
        print(f"{rid:>4}  {start:<24} {status:<11} {stop or '-':<18} {insns if insns is not None else '-':>14} "
              f"{cycles if cycles is not None else '-':>14} {mips:>7}  {name}")


def cmd_show(db, args):
    rid = run_id(db, args.run)
    cur = db.execute("SELECT * FROM runs WHERE id = ?", (rid,))
    cols = [d[0] for d in cur.description]
    for col, val in zip(cols, cur.fetchone()):
        print(f"{col:<16} {val}")
    print("\nconfiguration")
    for key, val in db.execute("SELECT key, value FROM run_config WHERE run_id = ? ORDER BY key", (rid,)):
        print(f"  {key:<20} {val}")
    print("\nstatistics")
    for name, value, unit in db.execute(
            "SELECT s.name, s.value, d.unit FROM stats s LEFT JOIN stat_defs d USING(name)"
            " WHERE run_id = ? ORDER BY s.name", (rid,)):
        print(f"  {name:<40} {value:>16}  {unit or ''}")
    for name, label, value, unit in db.execute(
            "SELECT v.name, v.label, v.value, d.unit FROM vector_stats v LEFT JOIN stat_defs d"
            " USING(name) WHERE run_id = ? ORDER BY v.name, v.idx", (rid,)):
        print(f"  {name + '[' + label + ']':<40} {value:>16}  {unit or ''}")
    has_reports = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'reports'").fetchone()
    rows = db.execute("SELECT cycle, key, value FROM reports WHERE run_id = ? ORDER BY seq",
                      (rid,)).fetchall() if has_reports else []
    if rows:
        print("\nreports (guest report channel)")
        for cycle, key, value in rows:
            print(f"  {cycle:>16}  {key} = {value}")


def vector_entries(db, rid, name):
    return db.execute("SELECT idx, label, value FROM vector_stats WHERE run_id = ? AND name = ?"
                      " ORDER BY idx", (rid, name)).fetchall()


def cmd_stat(db, args):
    rid = run_id(db, args.run)
    row = db.execute("SELECT kind, unit, description FROM stat_defs WHERE name = ?", (args.name,)).fetchone()
    if not row:
        fail(f"no statistic '{args.name}'")
    kind, unit, desc = row
    print(f"# {args.name} ({unit}): {desc}")
    if kind == "scalar":
        v = db.execute("SELECT value FROM stats WHERE run_id = ? AND name = ?", (rid, args.name)).fetchone()
        print(v[0] if v else 0)
    else:
        for idx, label, value in vector_entries(db, rid, args.name):
            print(f"{idx}\t{label}\t{value}")


def cmd_plot(db, args):
    rid = run_id(db, args.run)
    row = db.execute("SELECT kind, unit, description FROM stat_defs WHERE name = ?", (args.name,)).fetchone()
    if not row or row[0] != "vector":
        fail(f"'{args.name}' is not a vector statistic")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        # Debian's python3-matplotlib belongs to the system interpreter; another
        # python3 first in PATH (a virtualenv, pyenv) may not see it.
        system = "/usr/bin/python3"
        if os.path.realpath(sys.executable) != os.path.realpath(system) and os.access(system, os.X_OK):
            os.execv(system, [system, os.path.abspath(__file__)] + sys.argv[1:])
        fail("plot needs matplotlib (apt-get install python3-matplotlib, or scripts/install-deps.sh)")
    entries = vector_entries(db, rid, args.name)
    if not entries:
        fail(f"run {rid} has no non-zero entries of {args.name}")
    labels = [e[1] for e in entries]
    values = [e[2] for e in entries]
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(labels)), 4))
    ax.bar(range(len(values)), values)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=90, fontsize=8)
    ax.set_ylabel(row[1])
    ax.set_title(f"run {rid}: {args.name}", fontsize=10)
    fig.tight_layout()
    fig.savefig(args.out)
    print(f"wrote {args.out}")


def all_values(db, rid):
    vals = dict(db.execute("SELECT name, value FROM stats WHERE run_id = ?", (rid,)))
    for name, label, value in db.execute(
            "SELECT name, label, value FROM vector_stats WHERE run_id = ?", (rid,)):
        vals[f"{name}[{label}]"] = value
    return vals


def cmd_diff(db, args):
    a, b = run_id(db, args.run1), run_id(db, args.run2)
    va, vb = all_values(db, a), all_values(db, b)
    print(f"{'statistic':<44} {'run ' + str(a):>16} {'run ' + str(b):>16} {'change':>9}")
    for name in sorted(set(va) | set(vb)):
        x, y = va.get(name, 0), vb.get(name, 0)
        if x == y:
            continue
        change = f"{(y - x) / x * 100:+.1f}%" if x else "new"
        print(f"{name:<44} {x:>16} {y:>16} {change:>9}")


def cmd_exits(db, args):
    rid = run_id(db, args.run)
    ver = db.execute("PRAGMA user_version").fetchone()[0]
    if ver < 3:
        fail("the database predates VM-exit records (schema 3)")
    rows = db.execute("SELECT vmcs, reason, name, count, root_cycles FROM vm_exits"
                      " WHERE run_id = ? ORDER BY vmcs, count DESC", (rid,)).fetchall()
    if not rows:
        print("no VM exits")
        return
    print(f"{'vmcs':>12}  {'reason':>6}  {'name':<26} {'exits':>12} {'root cycles':>14} {'per exit':>10}")
    for vmcs, reason, name, count, cycles in rows:
        per = f"{cycles / count:.0f}" if count else "-"
        print(f"{vmcs:>#12x}  {reason:>6}  {name:<26} {count:>12} {cycles:>14} {per:>10}")


def main():
    p = argparse.ArgumentParser(description="Query a nestsim results database.")
    p.add_argument("db")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="one line per run")
    s = sub.add_parser("show", help="a run's record, configuration and statistics")
    s.add_argument("run")
    s = sub.add_parser("stat", help="one statistic of a run")
    s.add_argument("run")
    s.add_argument("name")
    s = sub.add_parser("plot", help="plot a vector statistic to a PNG")
    s.add_argument("run")
    s.add_argument("name")
    s.add_argument("out")
    s = sub.add_parser("diff", help="the statistics that differ between two runs")
    s.add_argument("run1")
    s.add_argument("run2")
    s = sub.add_parser("exits", help="VM exits by VMCS and reason, with root-mode cycles")
    s.add_argument("run")
    args = p.parse_args()
    db = open_db(args.db)
    {"list": cmd_list, "show": cmd_show, "stat": cmd_stat, "plot": cmd_plot, "diff": cmd_diff,
     "exits": cmd_exits}[args.cmd](db, args)


if __name__ == "__main__":
    main()
