#!/bin/sh
# Differential run of workloads/vmx/vmx_fuzz: the same seeded VMCS mutations on nestsim
# and on Bochs 2.7; prints the cases whose outcomes differ (nestsim line first, then
# Bochs's) and a count. A difference is a nestsim bug, a Bochs deviation
# (workloads/vmx/README.md), or a choice the SDM leaves open: triage each.
#
# usage: fuzz_diff.sh NESTSIM VMX_FUZZ.elf [SEED [COUNT]]
# Exit status: 0 when the outcomes agree, 1 when some differ, 2 when a run failed.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 NESTSIM VMX_FUZZ.elf [SEED [COUNT]]" >&2; exit 2; }
nestsim=$1
elf=$2
seed=${3:-1}
count=${4:-300}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/nestsim-vmx-fuzz.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$nestsim" run --append "seed=$seed count=$count" "$elf" > "$tmp/nestsim.out" 2>&1 || true
"$here/run_bochs.sh" -a "seed=$seed count=$count" "$elf" > "$tmp/bochs.out" 2>&1 || true
for e in nestsim bochs; do
  if ! grep -q "vmx_fuzz: all checks passed" "$tmp/$e.out"; then
    echo "fuzz_diff: the $e run did not finish; its output ends with:" >&2
    tail -5 "$tmp/$e.out" >&2
    exit 2
  fi
  grep '^fuzz [0-9]*:' "$tmp/$e.out" > "$tmp/$e.cases"
done
if cmp -s "$tmp/nestsim.cases" "$tmp/bochs.cases"; then
  echo "fuzz_diff: seed $seed, $count cases: the outcomes agree"
  exit 0
fi
# Side by side per case: the mutations are the same, the outcomes differ.
paste -d '\n' "$tmp/nestsim.cases" "$tmp/bochs.cases" |
  awk 'NR % 2 == 1 { n = $0; next } n != $0 { print "nestsim " n; print "bochs   " $0; d++ }
       END { printf "fuzz_diff: %d of %d cases differ\n", d, NR / 2 }'
exit 1
