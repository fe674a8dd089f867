#!/usr/bin/env bash
# Installs the Debian 12 packages nestsim needs, if any are missing (apt-get, with
# sudo when not root). Nothing else is downloaded.
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config nasm clang
      libcapstone-dev libboost-program-options-dev libsqlite3-dev sqlite3
      pybind11-dev python3-dev python3-pytest python3-numpy python3-matplotlib catch2
      qemu-system-x86)  # workload.qemu_compat runs our kernels under QEMU TCG too
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "nestsim: installing missing packages: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
