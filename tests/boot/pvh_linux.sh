#!/usr/bin/env bash
# PVH entry end to end (sim/boot/pvh.cpp): Debian's kernel, uncompressed from the
# payload of its bzImage (Documentation/x86/boot.rst: payload_offset/payload_length;
# the vmlinux ELF carries XEN_ELFNOTE_PHYS32_ENTRY), with the project's busybox
# initramfs as the PVH module, boots to /init and powers off.
# Usage: pvh_linux.sh NESTSIM SOURCE_DIR WORK_DIR
set -euo pipefail
NESTSIM=$1
SRC=$2
WORK=$3
mkdir -p "$WORK"
kernel=$(bash "$SRC/scripts/linux/fetch-kernel.sh" kernel)
busybox=$(bash "$SRC/scripts/linux/fetch-kernel.sh" busybox)
vmlinux=$WORK/vmlinux-pvh
python3 - "$kernel" "$vmlinux" <<'PY'
import gzip, lzma, struct, subprocess, sys
b = open(sys.argv[1], "rb").read()
setup_sects = b[0x1F1] or 4
start = (setup_sects + 1) * 512
off, length = struct.unpack_from("<II", b, 0x248)
p = b[start + off:]
if p[:6] == b"\xfd7zXZ\x00":
    d = lzma.LZMADecompressor().decompress(p)
elif p[:2] == b"\x1f\x8b":
    d = gzip.GzipFile(fileobj=__import__("io").BytesIO(p[:length])).read()
elif p[:4] == b"\x28\xb5\x2f\xfd":
    d = subprocess.run(["zstd", "-dc"], input=p[:length], capture_output=True, check=True).stdout
else:
    sys.exit("unknown bzImage payload compression " + p[:6].hex())
if d[:4] != b"\x7fELF":
    sys.exit("the payload is not an ELF vmlinux")
open(sys.argv[2], "wb").write(d)
PY
python3 "$SRC/scripts/linux/mkinitramfs.py" --busybox "$busybox" -o "$WORK/pvh-initrd.cpio.gz"
status=0
"$NESTSIM" run "$vmlinux" --initrd "$WORK/pvh-initrd.cpio.gz" --append "console=ttyS0" --mem 256M \
  --max-insns 6000000000 > "$WORK/pvh.out" 2>&1 || status=$?
fails=0
check() {  # check DESCRIPTION PATTERN
  if grep -qE -e "$2" "$WORK/pvh.out"; then echo "ok: $1"; else echo "FAIL: $1"; fails=$((fails + 1)); fi
}
check "loaded as PVH" "^image .*\(pvh, "
check "the command line arrived" "Kernel command line: console=ttyS0"
check "the e820 map arrived" "BIOS-e820: \[mem 0x0000000000100000-0x000000000fffffff\] usable"
check "the initrd was unpacked" "Trying to unpack rootfs image as initramfs"
check "reached /init" "nestsim-init: reached /init"
check "powered off" "^stop reason +power-off"
if [ $status -ne 0 ] || [ $fails -ne 0 ]; then
  echo "status $status; last output:"; tail -40 "$WORK/pvh.out"; exit 1
fi
grep -E "^(instructions|host seconds) " "$WORK/pvh.out"
