#!/usr/bin/env bash
# The main job: install what is missing, build (release), run the default demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build build/release -j"$(nproc)" --target nestsim hello
exec build/release/nestsim run build/release/workloads/hello.elf "$@"
