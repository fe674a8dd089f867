#!/usr/bin/env python3
"""Measure MIPS of nestsim and its peers (Bochs, QEMU TCG) on the benchmark kernels.

Method: each engine runs the same kernel built for two iteration counts n_lo < n_hi
(bench/NAME-xK.elf). Boot, firmware and exit costs are the same in both runs, so

    MIPS = insns_per_iteration * (n_hi - n_lo) / (t_hi - t_lo) / 1e6

where insns_per_iteration comes from single-stepping the hosted build of the same
bench_run code (bench_icount; a REP string instruction counts once) and t is wall
time, computed per round (the two runs back to back) and reported as the median over
--repeat rounds. CPU time (user + sys of the engine) gives a second figure that is
less sensitive to other load on the host. For nestsim, its own
instruction count and MIPS report are recorded too.

Every run must pass: the kernel compares its result with the host's and reports
it; a failed or mismatching run aborts the measurement.

usage:
  peers.py run ENGINE[,ENGINE...] [--build DIR] [--bench int_loop,mixed] [--scales LO,HI]
                      [--repeat N] [--nice N] [--json OUT]
  peers.py table JSON...
ENGINE is nestsim, bochs or qemu; with several, their runs are interleaved round by
round, so that load from other work on the host affects all of them alike.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
BOCHS_DIR = os.path.join(HERE, "bochs")
# Iteration-count multiples (bench/CMakeLists.txt SCALES) per engine and benchmark:
# each run should last seconds, not fractions of one.
DEFAULT_SCALES = {
    ("nestsim", "int_loop"): (1, 2), ("nestsim", "mixed"): (1, 2),
    ("bochs", "int_loop"): (1, 2), ("bochs", "mixed"): (1, 2),
    ("qemu", "int_loop"): (32, 64), ("qemu", "mixed"): (16, 32),
    ("nestsim", "tlb_walk"): (1, 2), ("bochs", "tlb_walk"): (1, 2),
    ("qemu", "tlb_walk"): (16, 32),
}


def die(msg):
    sys.exit(f"peers.py: {msg}")


def kernel_path(build, bench, scale):
    name = bench if scale == 1 else f"{bench}-x{scale}"
    path = os.path.join(build, "bench", name + ".elf")
    if not os.path.exists(path):
        die(f"{path} is missing: build the benchmarks (scale {scale} must be in "
            f"NESTSIM_BENCH_SCALES)")
    return path


def insns_per_iteration(build, bench):
    """Exact instructions per bench_run iteration, from the hosted build, or for a
    kernel that has none (tlb_walk sets up its own paging) the PER_ITER figure that
    bench/CMakeLists.txt states and the bench.NAME.icount test checks."""
    tool = os.path.join(build, "bench", "bench_icount")
    host = os.path.join(build, "bench", bench + "-host.elf")
    if not os.path.exists(host):
        import re
        with open(os.path.join(ROOT, "bench", "CMakeLists.txt")) as f:
            m = re.search(r"nestsim_add_benchmark\(" + re.escape(bench) + r"\b[^)]*PER_ITER (\d+)",
                          f.read())
        if not m:
            die(f"{bench}: no hosted build and no PER_ITER in bench/CMakeLists.txt")
        return int(m.group(1))
    counts = []
    for n in (1, 2, 3):
        r = subprocess.run([tool, host, str(n)], capture_output=True, text=True)
        if r.returncode != 0:
            die(f"bench_icount {host} {n} failed: {r.stderr.strip()}")
        counts.append(int(r.stdout))
    per = counts[1] - counts[0]
    if counts[2] - counts[1] != per:
        die(f"{bench}: iterations do not retire a constant count: {counts}")
    return per


class Run:
    """One run of one kernel: wall and CPU seconds, the guest's serial output."""

    def __init__(self, wall, cpu, output, extra=None):
        self.wall, self.cpu, self.output, self.extra = wall, cpu, output, extra or {}


# Niceness increment for the engines (--nice): negative values (root only) let a
# measurement hold its core on a host busy with other work.
NICE = 0


def raise_priority():
    try:
        os.nice(NICE)
    except OSError:
        pass  # not permitted: run at normal priority


def timed(cmd, env=None, cwd=None):
    """Runs cmd; returns (exit status, wall seconds, cpu seconds, stdout+stderr)."""
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, env=env, cwd=cwd,
                         preexec_fn=raise_priority if NICE else None)
    out = p.stdout.read()  # before waiting, so a chatty engine cannot fill the pipe
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    p.stdout.close()
    p.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from reaping again
    return (p.returncode, wall, ru.ru_utime + ru.ru_stime,
            out.decode("utf-8", "replace"))


def check_kernel_output(engine, elf, serial):
    if "result matches the host" not in serial:
        die(f"{engine} on {elf}: the kernel did not report a correct result; output:\n"
            + serial[-2000:])
    m = re.search(r"iterations (\d+)", serial)
    if not m:
        die(f"{engine} on {elf}: no iteration count in the output")
    return int(m.group(1))


class Bochs:
    name = "bochs"

    def __init__(self, tmp):
        self.tmp = tmp
        if not shutil.which("bochs"):
            die("bochs is not installed (apt-get install bochs bochsbios vgabios)")

    def version(self):
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "bochs"],
                           capture_output=True, text=True)
        return "Bochs " + (r.stdout.strip() or "?")

    def run(self, elf):
        base = os.path.join(self.tmp, os.path.basename(elf))
        img = base + ".img"
        if not os.path.exists(img):
            subprocess.run([os.path.join(BOCHS_DIR, "mkimg.py"), elf, img], check=True)
        serial = base + ".bochs.serial"
        if os.path.exists(serial):
            os.remove(serial)
        env = dict(os.environ, BX_IMAGE=img, BX_SERIAL=serial, BX_LOG=base + ".bochs.log")
        cmd = ["bochs", "-q", "-f", os.path.join(BOCHS_DIR, "bochsrc"),
               "-rc", os.path.join(BOCHS_DIR, "continue.rc")]
        _, wall, cpu, out = timed(cmd, env=env, cwd=self.tmp)
        # Bochs exits through a "shutdown requested" panic whatever the kernel's
        # value; the value itself comes on the port 0xE9 console.
        if "rt_exit 0" not in out:
            die(f"bochs on {elf}: kernel did not exit with 0; bochs said:\n" + out[-3000:])
        text = open(serial, encoding="utf-8", errors="replace").read()
        return Run(wall, cpu, text)


class Qemu:
    name = "qemu"

    def __init__(self, tmp):
        self.tmp = tmp
        if not shutil.which("qemu-system-x86_64"):
            die("qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)")

    def version(self):
        r = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True, text=True)
        m = re.search(r"version (\S+)", r.stdout)
        return "QEMU " + (m.group(1) if m else "?") + " TCG"

    def run(self, elf):
        base = os.path.join(self.tmp, os.path.basename(elf))
        img = base + ".img"
        if not os.path.exists(img):
            subprocess.run([os.path.join(BOCHS_DIR, "mkimg.py"), elf, img], check=True)
        serial = base + ".qemu.serial"
        cmd = ["qemu-system-x86_64", "-machine", "pc,accel=tcg", "-cpu", "qemu64",
               "-m", "128", "-display", "none", "-monitor", "none", "-parallel", "none",
               "-nic", "none", "-serial", "file:" + serial,
               "-drive", "if=floppy,format=raw,file=" + img, "-boot", "a",
               "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-no-reboot"]
        status, wall, cpu, out = timed(cmd, cwd=self.tmp)
        if status != 1:  # isa-debug-exit: (0 << 1) | 1
            die(f"qemu on {elf}: exit status {status}, expected 1; output:\n" + out[-3000:])
        text = open(serial, encoding="utf-8", errors="replace").read()
        return Run(wall, cpu, text)


class Nestsim:
    name = "nestsim"

    def __init__(self, tmp, build):
        self.exe = None
        for cand in ("nestsim", "sim/nestsim", "sim/cli/nestsim"):
            p = os.path.join(build, cand)
            if os.path.isfile(p) and os.access(p, os.X_OK):
                self.exe = p
                break
        if not self.exe:
            die(f"no nestsim executable under {build}")

    def version(self):
        r = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                           capture_output=True, text=True)
        return "nestsim " + (r.stdout.strip() or "?")

    def run(self, elf):
        status, wall, cpu, out = timed([self.exe, "run", elf])
        if status != 1:
            die(f"nestsim on {elf}: exit status {status}, expected 1; output:\n" + out[-3000:])
        extra = {}
        # The statistics block nestsim prints at the end of a run.
        m = re.search(r"^instructions\s+(\d+)", out, re.M)
        if m:
            extra["insns"] = int(m.group(1))
        m = re.search(r"^MIPS\s+([\d.]+)", out, re.M)
        if m:
            extra["mips"] = float(m.group(1))
        return Run(wall, cpu, out, extra)


def summarize(engine, bench, per_iter, scales, runs, iters, repeat):
    """MIPS of one engine on one benchmark from its runs at the two scales."""
    best = {}
    for scale in scales:
        rs = runs[scale]
        best[scale] = min(rs, key=lambda r: r.wall), min(r.cpu for r in rs)
        print(f"  {engine.name} {bench} n={iters[scale]}: wall {best[scale][0].wall:.3f} s "
              f"(runs: {', '.join(f'{r.wall:.3f}' for r in rs)}), cpu {best[scale][1]:.3f} s",
              file=sys.stderr)
    lo, hi = scales
    insns = per_iter * (iters[hi] - iters[lo])
    # Runs at the two scales follow each other within a round, so they see similar
    # host conditions: MIPS per round, median over rounds.
    wall_r = [insns / (h.wall - l.wall) / 1e6 for l, h in zip(runs[lo], runs[hi])
              if h.wall > l.wall]
    cpu_r = [insns / (h.cpu - l.cpu) / 1e6 for l, h in zip(runs[lo], runs[hi])
             if h.cpu > l.cpu]
    if not wall_r or not cpu_r:
        die(f"{engine.name} {bench}: the longer run was never slower; use larger scales")
    res = {
        "engine": engine.name, "version": engine.version(), "bench": bench,
        "insns_per_iter": per_iter, "n_lo": iters[lo], "n_hi": iters[hi],
        "wall_lo": best[lo][0].wall, "wall_hi": best[hi][0].wall,
        "cpu_lo": best[lo][1], "cpu_hi": best[hi][1], "repeat": repeat,
        "mips_wall": statistics.median(wall_r), "mips_cpu": statistics.median(cpu_r),
        "mips_wall_rounds": wall_r, "mips_cpu_rounds": cpu_r,
        "loadavg_1min": os.getloadavg()[0], "nice": NICE,
    }
    lo_x, hi_x = best[lo][0].extra, best[hi][0].extra
    if "insns" in lo_x and "insns" in hi_x:
        # nestsim's own count must agree with the host's single-step count.
        res["self_insns_delta"] = hi_x["insns"] - lo_x["insns"]
        res["self_insns_expected"] = insns
    if "mips" in hi_x:
        res["self_mips"] = hi_x["mips"]
    return res


def measure(engines, build, bench, scales_of, repeat):
    """Runs every engine at its two scales, `repeat` rounds, engines interleaved
    within each round so that all of them see the same host conditions."""
    per_iter = insns_per_iteration(build, bench)
    runs = {e.name: {s: [] for s in scales_of[e.name]} for e in engines}
    iters = {e.name: {} for e in engines}
    for _ in range(repeat):
        for e in engines:
            for scale in scales_of[e.name]:
                elf = kernel_path(build, bench, scale)
                r = e.run(elf)
                iters[e.name][scale] = check_kernel_output(e.name, elf, r.output)
                runs[e.name][scale].append(r)
    return [summarize(e, bench, per_iter, scales_of[e.name], runs[e.name], iters[e.name],
                      repeat) for e in engines]


def cmd_run(args):
    global NICE
    NICE = args.nice
    build = os.path.abspath(args.build)
    names = args.engine.split(",")
    for n in names:
        if n not in ("nestsim", "bochs", "qemu"):
            die(f"unknown engine {n}")
    with tempfile.TemporaryDirectory(prefix="nestsim-peers-") as tmp:
        engines = []
        for n in names:
            engines.append(Bochs(tmp) if n == "bochs" else Qemu(tmp) if n == "qemu"
                           else Nestsim(tmp, build))
        results = []
        for bench in args.bench.split(","):
            scales_of = {}
            for n in names:
                scales = tuple(int(s) for s in args.scales.split(",")) if args.scales \
                    else DEFAULT_SCALES.get((n, bench), (1, 2))
                if len(scales) != 2 or scales[0] >= scales[1]:
                    die("--scales wants LO,HI with LO < HI")
                scales_of[n] = scales
            results += measure(engines, build, bench, scales_of, args.repeat)
    for r in results:
        line = (f"{r['engine']:8} {r['bench']:9} {r['mips_wall']:9.1f} MIPS (wall)"
                f" {r['mips_cpu']:9.1f} MIPS (cpu)  n {r['n_lo']}..{r['n_hi']}"
                f" x {r['insns_per_iter']} insns")
        if "self_insns_delta" in r:
            ok = "ok" if r["self_insns_delta"] == r["self_insns_expected"] else "MISMATCH"
            line += f"  [own count delta {r['self_insns_delta']}: {ok}]"
        print(line)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


def cmd_table(args):
    rows = {}
    versions = {}
    for path in args.json:
        for r in json.load(open(path)):
            rows.setdefault(r["bench"], {})[r["engine"]] = r
            versions[r["engine"]] = r["version"]
    engines = [e for e in ("nestsim", "bochs", "qemu") if e in versions]
    head = "| benchmark | " + " | ".join(f"{versions[e]} MIPS" for e in engines)
    if "nestsim" in engines and "bochs" in engines:
        head += " | nestsim/Bochs"
    if "nestsim" in engines and "qemu" in engines:
        head += " | nestsim/QEMU"
    print(head + " |")
    print("|" + "---|" * (head.count("|")))
    for bench, by in rows.items():
        cells = [bench]
        for e in engines:
            r = by.get(e)
            cells.append(f"{r['mips_wall']:.1f} (cpu {r['mips_cpu']:.1f})" if r else "-")
        for peer in ("bochs", "qemu"):
            if "nestsim" in engines and peer in engines:
                n, p = by.get("nestsim"), by.get(peer)
                cells.append(f"{n['mips_wall'] / p['mips_wall']:.2f}x "
                             f"(cpu {n['mips_cpu'] / p['mips_cpu']:.2f}x)" if n and p else "-")
        print("| " + " | ".join(cells) + " |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("engine", help="nestsim, bochs, qemu, or a comma-separated list "
                   "(measured interleaved, round by round)")
    r.add_argument("--build", default=os.path.join(ROOT, "build", "release"))
    r.add_argument("--bench", default="int_loop,mixed")
    r.add_argument("--scales", help="LO,HI iteration-count multiples")
    r.add_argument("--repeat", type=int, default=3)
    r.add_argument("--json")
    r.add_argument("--nice", type=int, default=0,
                   help="niceness increment of the engines (e.g. -10 as root on a busy host)")
    t = sub.add_parser("table")
    t.add_argument("json", nargs="+")
    args = ap.parse_args()
    cmd_run(args) if args.cmd == "run" else cmd_table(args)


if __name__ == "__main__":
    main()
