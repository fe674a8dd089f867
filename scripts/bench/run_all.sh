#!/bin/sh
# Builds the release preset, then runs nestsim, Bochs and (if installed) QEMU TCG on
# the same benchmark kernels in the same session and prints the comparison table
# (docs/PERFORMANCE.md). Results: build/release/bench/results/*.json.
# usage: run_all.sh [--repeat N]   (default 3: best of three runs per measurement)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
cmake --preset release >/dev/null
# Only what the measurement needs: the simulator and the benchmark kernels.
cmake --build build/release -j2 --target nestsim bench/all
out=build/release/bench/results
mkdir -p "$out"
rm -f "$out"/*.json

echo "host: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores," \
     "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)," \
     "$(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 "$here/peers.py" run nestsim --build build/release --json "$out/nestsim.json" "$@"
python3 "$here/peers.py" run bochs --build build/release --json "$out/bochs.json" "$@"
if command -v qemu-system-x86_64 >/dev/null; then
  python3 "$here/peers.py" run qemu --build build/release --json "$out/qemu.json" "$@"
else
  echo "qemu-system-x86_64 not installed: QEMU column skipped (apt-get install qemu-system-x86)"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
python3 "$here/peers.py" table "$out"/*.json
