#!/bin/sh
# Runs VMX test kernels (workloads/vmx/*.elf, bench/vmx_cpuid*.elf) under Bochs 2.7, our
# reference for VMX behaviour: a kernel that fails here has a bug of its own; one that
# passes here and fails on nestsim points at the simulator.
#
# usage: run_bochs.sh [-m CPU_MODEL] [-a APPEND] KERNEL.elf...
#   CPU_MODEL: a Bochs cpu model with VMX (default corei7_skylake_x: EPT, VPID,
#   unrestricted guest, VMCS shadowing, preemption timer...).
#   APPEND: the multiboot command-line arguments (what --append gives nestsim).
# Prints each kernel's serial output and a summary line per kernel:
#   "bochs: NAME: exit V" (V = the kernel's rt_exit value, 0 = pass) or "bochs: NAME: no exit".
# Exit status: 0 when every kernel exited with 0.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
model=corei7_skylake_x
append=""
while getopts m:a: o; do
  case $o in
    m) model=$OPTARG ;;
    a) append=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || { echo "usage: $0 [-m CPU_MODEL] [-a APPEND] KERNEL.elf..." >&2; exit 2; }
command -v bochs >/dev/null || { echo "bochs is not installed (apt-get install bochs bochsbios vgabios)" >&2; exit 2; }
tmp=$(mktemp -d /tmp/nestsim-vmx-bochs.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
status=0
for elf in "$@"; do
  name=$(basename "$elf" .elf)
  img=$tmp/$name.img
  python3 "$here/../bench/bochs/mkimg.py" "$elf" "$img" ${append:+--append "$append"}
  serial=$tmp/$name.serial
  # Bochs ends every run through a "shutdown requested" panic; the kernel's value comes
  # on the port 0xE9 console as "rt_exit V".
  out=$(cd "$tmp" && BX_CPU_MODEL=$model BX_IMAGE=$img BX_SERIAL=$serial BX_LOG=$tmp/$name.log \
        bochs -q -f "$here/bochsrc" -rc "$here/../bench/bochs/continue.rc" 2>&1) || true
  [ -f "$serial" ] && cat "$serial"
  v=$(printf '%s\n' "$out" | sed -n 's/.*rt_exit \([0-9]*\).*/\1/p' | tail -1)
  if [ -n "$v" ]; then
    echo "bochs: $name: exit $v"
    [ "$v" = 0 ] || status=1
  else
    echo "bochs: $name: no exit; Bochs said:"
    printf '%s\n' "$out" | tail -8
    status=1
  fi
done
exit $status
