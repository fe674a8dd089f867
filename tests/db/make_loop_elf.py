#!/usr/bin/env python3
"""Writes a minimal ELF64 guest that never stops: `inc rax; jmp back` at 0x100000.

Used by the results-database tests for runs that are killed or interrupted.
Usage: make_loop_elf.py OUT.elf
"""
import struct
import sys

BASE = 0x100000
code = bytes([0x48, 0xFF, 0xC0,   # inc rax
              0xEB, 0xFB])        # jmp -5 (back to inc)
ehdr_size, phdr_size = 64, 56
offset = ehdr_size + phdr_size
ehdr = struct.pack("<4sBBBBB7xHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0,
                   2, 0x3E, 1, BASE + offset, ehdr_size, 0, 0,
                   ehdr_size, phdr_size, 1, 0, 0, 0)
phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, BASE, BASE, offset + len(code),
                   offset + len(code), 0x1000)
with open(sys.argv[1], "wb") as f:
    f.write(ehdr + phdr + code)
