#!/bin/sh
# QEMU TCG MIPS on the benchmark kernels (int_loop, mixed): two iteration counts per
# kernel, MIPS from the instruction-count and wall-time differences (boot cancels).
# usage: run_bochs.sh [BUILD_DIR] [peers.py run options...]   (BUILD_DIR default build/release)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build/release}
[ $# -gt 0 ] && shift
exec python3 "$here/peers.py" run qemu --build "$build" "$@"
