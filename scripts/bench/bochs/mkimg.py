#!/usr/bin/env python3
"""Make a bootable 1.44 MB floppy image from a nestsim bare-metal multiboot kernel.

The image boots on Bochs and QEMU (BIOS firmware): boot.asm loads the kernel, and
enters it at e_entry as a Multiboot v1 loader would (32-bit protected mode, EAX =
0x2BADB002, EBX = the multiboot information). The kernel is an ELF32 (the workloads'
NAME.elf) or ELF64 (NAME.elf64) x86 executable; its entry point must be the 32-bit
multiboot entry.

usage: mkimg.py KERNEL.elf OUT.img [--append ARGS]
  --append ARGS: the command line becomes "floppy ARGS" (what -append / --append give
  QEMU and nestsim); printable ASCII without double quotes, at most 200 bytes.
"""
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PT_LOAD = 1
# Stage 2 and the blob are loaded at 0x7E00 and stay well below the EBDA (0x9FC00);
# the boot sector advances ES one sector at a time up to here.
MAX_LOADED = 0x70000 - 0x7E00 - 4096


def fail(msg):
    sys.exit(f"mkimg: {msg}")


def load_segments(path):
    data = open(path, "rb").read()
    if len(data) < 64 or data[:4] != b"\x7fELF":
        fail(f"{path}: not an ELF file")
    if data[4] not in (1, 2) or data[5] != 1:
        fail(f"{path}: not a little-endian ELF32 or ELF64 file")
    elf64 = data[4] == 2
    if elf64:
        (_, e_machine, _, e_entry, e_phoff, _, _, _, e_phentsize, e_phnum) = struct.unpack_from(
            "<HHIQQQIHHH", data, 16)
    else:
        (_, e_machine, _, e_entry, e_phoff, _, _, _, e_phentsize, e_phnum) = struct.unpack_from(
            "<HHIIIIIHHH", data, 16)
    if e_machine not in (3, 62):
        fail(f"{path}: not an x86 ELF (e_machine {e_machine})")
    segs = []
    for i in range(e_phnum):
        off = e_phoff + i * e_phentsize
        if off + (56 if elf64 else 32) > len(data):
            fail(f"{path}: truncated program header table")
        if elf64:
            p_type, _, p_offset, _, p_paddr, p_filesz, p_memsz, _ = struct.unpack_from(
                "<IIQQQQQQ", data, off)
        else:
            p_type, p_offset, _, p_paddr, p_filesz, p_memsz, _, _ = struct.unpack_from(
                "<IIIIIIII", data, off)
        if p_type != PT_LOAD or p_memsz == 0:
            continue
        if p_offset + p_filesz > len(data):
            fail(f"{path}: segment {i} extends past the end of the file")
        segs.append((p_paddr, data[p_offset:p_offset + p_filesz], p_memsz))
    if not segs:
        fail(f"{path}: no PT_LOAD segments")
    return e_entry, segs


def flatten(segs):
    """One blob from the lowest p_paddr; gaps and inner BSS become zeros, the trailing
    BSS is left to the boot code (memsz > len(blob))."""
    lo = min(p for p, _, _ in segs)
    hi_mem = max(p + m for p, _, m in segs)
    hi_file = max(p + len(b) for p, b, _ in segs)
    blob = bytearray(hi_file - lo)
    for p, b, _ in segs:
        blob[p - lo:p - lo + len(b)] = b
    return lo, bytes(blob), hi_mem - lo


def main():
    args = sys.argv[1:]
    append = None
    if len(args) == 4 and args[2] == "--append":
        append = args[3]
        args = args[:2]
        if len(append) > 200 or any(c == '"' or not " " <= c <= "~" for c in append):
            fail("--append wants at most 200 printable ASCII characters without '\"'")
    if len(args) != 2:
        sys.exit(__doc__.strip())
    elf, out = args
    entry, segs = load_segments(elf)
    load, blob, memsz = flatten(segs)
    if len(blob) > MAX_LOADED:
        fail(f"{elf}: {len(blob)} bytes of initialised data; the floppy boot path takes {MAX_LOADED}")
    if not load <= entry < load + memsz:
        fail(f"{elf}: entry {entry:#x} outside the loaded image")
    with tempfile.TemporaryDirectory() as tmp:
        blob_path = os.path.join(tmp, "kernel.bin")
        with open(blob_path, "wb") as f:
            f.write(blob)
        cmd = ["nasm", "-f", "bin", "-w+all", "-o", out,
               f"-DKERNEL_BLOB='{blob_path}'", f"-DKERNEL_LOAD={load:#x}",
               f"-DKERNEL_MEMSZ={memsz:#x}", f"-DKERNEL_ENTRY={entry:#x}",
               os.path.join(HERE, "boot.asm")]
        if append:
            cmd.insert(-1, f'-DKERNEL_ARGS="{append}"')
        r = subprocess.run(cmd)
        if r.returncode != 0:
            fail("nasm failed: " + " ".join(cmd))


if __name__ == "__main__":
    main()
