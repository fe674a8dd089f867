#!/usr/bin/env python3
"""Writes a minimal ELF64 guest at 0x100000: by default one that never stops
(`inc rax; jmp back`), for runs that are killed or interrupted; with --ud2, one that
executes UD2 with no IDT, i.e. #UD, then #GP and #DF on the empty IDT: a triple fault;
with --flat BIN, the flat binary BIN (assembled with `org 0x100078`).

Usage: make_loop_elf.py OUT.elf [--ud2 | --flat BIN]
"""
import struct
import sys

BASE = 0x100000
code = bytes([0x48, 0xFF, 0xC0,   # inc rax
              0xEB, 0xFB])        # jmp -5 (back to inc)
if "--ud2" in sys.argv[2:]:
    code = bytes([0x90, 0x0F, 0x0B])  # nop; ud2
if "--flat" in sys.argv[2:]:
    with open(sys.argv[sys.argv.index("--flat") + 1], "rb") as f:
        code = f.read()
ehdr_size, phdr_size = 64, 56
offset = ehdr_size + phdr_size
ehdr = struct.pack("<4sBBBBB7xHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0,
                   2, 0x3E, 1, BASE + offset, ehdr_size, 0, 0,
                   ehdr_size, phdr_size, 1, 0, 0, 0)
phdr = struct.pack("<IIQQQQQQ", 1, 7, 0, BASE, BASE, offset + len(code),
                   offset + len(code), 0x1000)
with open(sys.argv[1], "wb") as f:
    f.write(ehdr + phdr + code)
