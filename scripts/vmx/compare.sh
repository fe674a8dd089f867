#!/bin/sh
# Every VMX kernel on nestsim and on Bochs 2.7, side by side: status and the kernel's own
# verdict ("all checks passed", "N of M checks FAILED", or how the run ended).
# usage: compare.sh NESTSIM BUILD_DIR        (kernels in BUILD_DIR/workloads/vmx/)
set -eu
[ $# -eq 2 ] || { echo "usage: $0 NESTSIM BUILD_DIR" >&2; exit 2; }
nestsim=$1
dir=$2/workloads/vmx
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/nestsim-vmx-compare.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
verdict() {  # file -> one line
  v=$(grep -E "all checks passed|checks FAILED" "$1" | tail -1 | sed 's/^[a-z_]*: //')
  [ -n "$v" ] || v="no verdict: $(grep -E "stop reason|unexpected|ASSERT|Bochs is exiting|exiting with" "$1" | head -1 | sed 's/  */ /g')"
  printf '%s' "$v"
}
printf '%-18s | %-44s | %s\n' kernel nestsim "Bochs 2.7"
for elf in "$dir"/vmx_*.elf; do
  name=$(basename "$elf" .elf)
  [ "$name" = vmx_fuzz ] && continue  # a differential tool: scripts/vmx/fuzz_diff.sh
  timeout 600 "$nestsim" run "$elf" > "$tmp/n" 2>&1 || true
  "$here/run_bochs.sh" "$elf" > "$tmp/b" 2>&1 || true
  printf '%-18s | %-44s | %s\n' "$name" "$(verdict "$tmp/n")" "$(verdict "$tmp/b")"
done
