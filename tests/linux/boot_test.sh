#!/bin/bash
# End-to-end Linux boot (issue 4 item 5): Debian's linux-image-amd64 kernel with a
# busybox initramfs boots on the serial console to /init, runs its command and
# powers off (ACPI S5) or halts (acpi=off: no power-off method, the kernel halts).
#   boot_test.sh NESTSIM REPO WORKDIR NAME [EXTRA KERNEL PARAMETERS...]
# The kernel and busybox come from scripts/linux/fetch-kernel.sh (cached in
# ${NESTSIM_CACHE:-$HOME/.cache/nestsim}/linux; downloaded once with apt-get download).
# Checks: both /init markers on the serial console, in order, with the command's
# output (uname) between them, and a clean end of the run (status 0: power-off or
# halt, not a run limit, fault or triple fault).
set -euo pipefail

nestsim=$1 repo=$2 work=$3 name=$4
shift 4
append="console=ttyS0${*:+ $*}"

mkdir -p "$work"
kernel=$("$repo/scripts/linux/fetch-kernel.sh" kernel)
busybox=$("$repo/scripts/linux/fetch-kernel.sh" busybox)
initrd=$work/$name.cpio.gz
python3 "$repo/scripts/linux/mkinitramfs.py" --busybox "$busybox" -o "$initrd"

serial=$work/$name.serial
log=$work/$name.log
echo "boot: $nestsim run $kernel --initrd $initrd --append '$append' --mem 512M"
start=$(date +%s.%N)
status=0
# --max-insns bounds a boot that loops (about 7 billion instructions are needed).
"$nestsim" run "$kernel" --initrd "$initrd" --append "$append" --mem 512M \
  --max-insns 40000000000 --serial-out "$serial" >"$log" 2>&1 || status=$?
end=$(date +%s.%N)
awk -v a="$start" -v b="$end" 'BEGIN { printf "host seconds: %.1f\n", b - a }'
tail -n 30 "$log"

# The tty turns \n into \r\n.
tr -d '\r' <"$serial" >"$serial.txt"
serial=$serial.txt

fail() {
  echo "FAIL ($name): $*"
  echo "--- serial output (last 60 lines) ---"
  tail -n 60 "$serial"
  exit 1
}
grep -q "nestsim-init: reached /init" "$serial" || fail "no '/init reached' marker"
grep -q "nestsim-init: done" "$serial" || fail "no 'done' marker"
sed -n '/nestsim-init: reached/,/nestsim-init: done/p' "$serial" | grep -q "^Linux " ||
  fail "no uname output between the markers"
sed -n '/nestsim-init: reached/,/nestsim-init: done/p' "$serial" | grep -qx "$append *" ||
  fail "no /proc/cmdline output ('$append') between the markers"
[ "$status" -eq 0 ] || fail "nestsim exited with status $status"
grep -Eq "^stop reason +(power-off|halted)" "$log" ||
  fail "the run did not end by power-off or halt: $(grep '^stop reason' "$log" || echo 'no stop reason')"
echo "PASS ($name)"
sed -n '/nestsim-init: reached/,/nestsim-init: done/p' "$serial"
