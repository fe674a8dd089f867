#!/usr/bin/env bash
# Install what is missing, build (dev preset), and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset dev >/dev/null
cmake --build build/dev -j"$(nproc)"
ctest --preset dev -j"$(nproc)"
