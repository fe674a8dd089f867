#!/usr/bin/env python3
"""VMX round trips per second (issue 5 benchmark) of nestsim and Bochs on bench/vmx_cpuid.

The kernel (bench/vmx_cpuid/) is a minimal hypervisor whose guest executes CPUID N times;
each CPUID exits, the hypervisor advances the guest RIP and resumes. N comes from the
command line (nestsim --append, Bochs floppy mkimg.py --append). Each engine runs the
kernel with n_lo and n_hi round trips; boot, VMX set-up and exit cost the same in both,
so

    round trips per second = (n_hi - n_lo) / (t_hi - t_lo)

with t the wall time (and, as a second figure, the engine's CPU time), per round, median
over --repeat rounds; the engines' runs are interleaved round by round like peers.py.
Every run must report "result matches" with the expected count.

With --vpid the guest runs with VPID 1 (the kernel's "vpid" argument), so VM entries
and exits keep the TLB entries of both sides, as under KVM on VPID hardware. With
--minimal the hypervisor is the kernel's "minimal" one: its exit loop in 11 assembly
instructions (bench/vmx_cpuid/minimal.asm) instead of C over the hypervisor library,
which switches every guest GPR and checks every VMREAD/VMWRITE (~110 instructions).

usage: vmx_cpuid.py [--engines nestsim,bochs] [--build DIR] [--n-bochs LO,HI]
                    [--n-nestsim LO,HI] [--repeat N] [--bochs-cpu MODEL] [--vpid]
                    [--minimal] [--json OUT]
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

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from peers import timed  # noqa: E402  (wall and CPU time of one engine run)

BOCHS_DIR = os.path.join(HERE, "bochs")
VMX_BOCHSRC = os.path.join(ROOT, "scripts", "vmx", "bochsrc")
# Bochs does about 1e5 round trips per second; nestsim should do 1e6 or more.
DEFAULT_N = {"bochs": (100000, 400000), "nestsim": (1000000, 4000000)}


def die(msg):
    sys.exit(f"vmx_cpuid.py: {msg}")


def check(engine, out, n):
    m = re.search(r"vmx_cpuid: round trips (\d+)", out)
    if "vmx_cpuid: result matches" not in out or not m or int(m.group(1)) != n:
        die(f"{engine}: the kernel did not report {n} round trips; output:\n" + out[-3000:])


def kernel_args(n, words):
    return " ".join([str(n)] + words)


def run_bochs(elf, n, tmp, cpu, words):
    img = os.path.join(tmp, f"vmx_cpuid-{'-'.join([str(n)] + words)}.img")
    if not os.path.exists(img):
        subprocess.run([os.path.join(BOCHS_DIR, "mkimg.py"), elf, img, "--append",
                        kernel_args(n, words)], check=True)
    serial = os.path.join(tmp, "serial.txt")
    if os.path.exists(serial):
        os.remove(serial)
    env = dict(os.environ, BX_IMAGE=img, BX_SERIAL=serial, BX_LOG=os.path.join(tmp, "bochs.log"),
               BX_CPU_MODEL=cpu)
    _, wall, cpu_s, out = timed(["bochs", "-q", "-f", VMX_BOCHSRC, "-rc",
                                 os.path.join(BOCHS_DIR, "continue.rc")], env=env, cwd=tmp)
    if "rt_exit 0" not in out:
        die("bochs: the kernel did not exit with 0; bochs said:\n" + out[-3000:])
    check("bochs", open(serial, encoding="utf-8", errors="replace").read(), n)
    return wall, cpu_s


def run_nestsim(exe, elf, n, words):
    status, wall, cpu_s, out = timed([exe, "run", "--append", kernel_args(n, words), elf])
    if status != 1:
        die(f"nestsim: exit status {status}, expected 1; output:\n" + out[-3000:])
    check("nestsim", out, n)
    return wall, cpu_s


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engines", default="nestsim,bochs")
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "release"))
    ap.add_argument("--n-bochs")
    ap.add_argument("--n-nestsim")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--bochs-cpu", default="corei7_skylake_x")
    ap.add_argument("--vpid", action="store_true", help="the guest runs with VPID 1")
    ap.add_argument("--minimal", action="store_true",
                    help="the hypervisor's exit loop in assembly (minimal.asm)")
    ap.add_argument("--json")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    elf = os.path.join(build, "bench", "vmx_cpuid", "vmx_cpuid.elf")
    if not os.path.exists(elf):
        die(f"{elf} is missing: build the bench-vmx_cpuid target")
    engines = args.engines.split(",")
    ns = {}
    for e in engines:
        if e not in DEFAULT_N:
            die(f"unknown engine {e} (nestsim, bochs)")
        given = getattr(args, "n_" + e)
        ns[e] = tuple(int(x) for x in given.split(",")) if given else DEFAULT_N[e]
        if len(ns[e]) != 2 or ns[e][0] >= ns[e][1]:
            die(f"--n-{e} wants LO,HI with LO < HI")
    exe = next((os.path.join(build, c) for c in ("nestsim", "sim/nestsim", "sim/cli/nestsim")
                if os.access(os.path.join(build, c), os.X_OK)), None)
    if "nestsim" in engines and not exe:
        die(f"no nestsim executable under {build}")
    if "bochs" in engines and not shutil.which("bochs"):
        die("bochs is not installed")

    words = (["minimal"] if args.minimal else []) + (["vpid"] if args.vpid else [])
    runs = {e: {n: [] for n in ns[e]} for e in engines}
    with tempfile.TemporaryDirectory(prefix="nestsim-vmx-cpuid-") as tmp:
        for _ in range(args.repeat):
            for e in engines:
                for n in ns[e]:
                    r = run_bochs(elf, n, tmp, args.bochs_cpu, words) if e == "bochs" \
                        else run_nestsim(exe, elf, n, words)
                    runs[e][n].append(r)
                    print(f"  {e} n={n}: wall {r[0]:.3f} s, cpu {r[1]:.3f} s", file=sys.stderr)
    results = []
    for e in engines:
        lo, hi = ns[e]
        wall = [(hi - lo) / (h[0] - l[0]) for l, h in zip(runs[e][lo], runs[e][hi]) if h[0] > l[0]]
        cpu = [(hi - lo) / (h[1] - l[1]) for l, h in zip(runs[e][lo], runs[e][hi]) if h[1] > l[1]]
        if not wall or not cpu:
            die(f"{e}: the longer run was never slower; use larger counts")
        res = {"engine": e, "n_lo": lo, "n_hi": hi, "repeat": args.repeat,
               "trips_per_s_wall": statistics.median(wall),
               "trips_per_s_cpu": statistics.median(cpu),
               "rounds_wall": wall, "rounds_cpu": cpu, "loadavg_1min": os.getloadavg()[0],
               "vpid": args.vpid, "minimal": args.minimal}
        if e == "bochs":
            res["bochs_cpu"] = args.bochs_cpu
        results.append(res)
        print(f"{e:8} {res['trips_per_s_wall']:12,.0f} round trips/s (wall) "
              f"{res['trips_per_s_cpu']:12,.0f} (cpu)  n {lo}..{hi}")
    by = {r["engine"]: r for r in results}
    if "nestsim" in by and "bochs" in by:
        print(f"nestsim/Bochs: {by['nestsim']['trips_per_s_wall'] / by['bochs']['trips_per_s_wall']:.2f}x"
              f" (cpu {by['nestsim']['trips_per_s_cpu'] / by['bochs']['trips_per_s_cpu']:.2f}x)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
