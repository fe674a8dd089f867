#!/bin/sh
# Builds the release preset's simulator and benchmark kernels, then runs nestsim,
# Bochs and (if installed) QEMU TCG on the same kernels in the same session, their runs
# interleaved round by round, and prints the comparison table (docs/PERFORMANCE.md).
# Results: build/release/bench/results.json.
# usage: run_all.sh [peers.py run options, e.g. --repeat 5]   (default: best of 3)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
cmake --preset release >/dev/null
# Only what the measurement needs: the simulator and the benchmark kernels.
cmake --build build/release -j2 --target nestsim bench/all

engines=nestsim,bochs
if command -v qemu-system-x86_64 >/dev/null; then
  engines=$engines,qemu
else
  echo "qemu-system-x86_64 not installed: QEMU column skipped (apt-get install qemu-system-x86)"
fi
echo "host: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores," \
     "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)," \
     "$(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
out=build/release/bench/results.json
python3 "$here/peers.py" run "$engines" --build build/release --json "$out" "$@"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
python3 "$here/peers.py" table "$out"

# VMX round trips (issue 5): the CPUID-exit benchmark under nestsim and Bochs.
echo
echo "VMX round trips (bench/vmx_cpuid, CPUID exits):"
python3 "$here/vmx_cpuid.py" --engines nestsim,bochs --build build/release \
        --json build/release/bench/vmx_cpuid.json
