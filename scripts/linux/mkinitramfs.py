#!/usr/bin/env python3
"""Builds the initramfs the Linux boot test uses: a gzip'd "newc" cpio archive
(Documentation/driver-api/early-userspace/buffer-format.rst) holding a static
busybox, its applet links, /dev/console and /dev/null (device nodes written
straight into the archive, so no root is needed), /proc /sys /tmp /root, and /init:

    mount proc and sysfs
    print  "nestsim-init: reached /init"
    run    the command given with --command (default: uname -a; cat /proc/cmdline)
    print  "nestsim-init: done"
    poweroff -f      (ACPI power-off; with acpi=off the kernel halts instead)

The archive is reproducible: fixed order, owner 0, mtime 0, gzip without a name or
time stamp. python3 standard library only.

usage: mkinitramfs.py --busybox (BINARY | busybox-static_*.deb) -o OUT.cpio.gz
                      [--command 'SHELL COMMANDS']
"""
import argparse
import gzip
import io
import lzma
import os
import stat
import subprocess
import sys
import tarfile

MARK_START = "nestsim-init: reached /init"
MARK_DONE = "nestsim-init: done"
DEFAULT_COMMAND = "uname -a; cat /proc/cmdline"

# The applets /init and an interactive look around need; every one is a link to
# /bin/busybox (busybox dispatches on argv[0]).
APPLETS = [
    "sh", "ash", "cat", "date", "dmesg", "echo", "false", "free", "grep", "halt",
    "head", "ls", "mkdir", "mount", "poweroff", "ps", "reboot", "sed", "sleep",
    "tail", "test", "true", "umount", "uname", "uptime", "wc",
]


def die(msg):
    print(f"mkinitramfs.py: {msg}", file=sys.stderr)
    sys.exit(1)


def busybox_from_deb(path):
    """The ./bin/busybox member of a .deb: an ar archive whose data.tar.* holds it."""
    with open(path, "rb") as f:
        blob = f.read()
    if not blob.startswith(b"!<arch>\n"):
        die(f"{path}: not a Debian package (no ar magic)")
    off = 8
    while off + 60 <= len(blob):
        hdr = blob[off:off + 60]
        name = hdr[0:16].decode("ascii").strip().rstrip("/")
        size = int(hdr[48:58].decode("ascii").strip())
        data = blob[off + 60:off + 60 + size]
        off += 60 + size + (size & 1)
        if not name.startswith("data.tar"):
            continue
        if name.endswith(".xz"):
            raw = lzma.decompress(data)
        elif name.endswith(".gz"):
            raw = gzip.decompress(data)
        elif name == "data.tar":
            raw = data
        else:  # e.g. zstd: let dpkg-deb unpack it
            try:
                raw = subprocess.run(["dpkg-deb", "--fsys-tarfile", path], check=True,
                                     capture_output=True).stdout
            except (OSError, subprocess.CalledProcessError) as e:
                die(f"{path}: cannot read {name}: {e}")
        with tarfile.open(fileobj=io.BytesIO(raw)) as t:
            for m in t.getmembers():
                if m.name in ("./bin/busybox", "bin/busybox") and m.isfile():
                    return t.extractfile(m).read()
        die(f"{path}: no bin/busybox in {name}")
    die(f"{path}: no data.tar member")


class Cpio:
    """newc writer: 110-byte ASCII header, name and data each padded to 4 bytes."""

    def __init__(self):
        self.out = io.BytesIO()
        self.ino = 1

    def _entry(self, name, mode, data=b"", rdev=(0, 0), nlink=1):
        name_b = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1],
                  len(name_b), 0]
        self.ino += 1
        hdr = b"070701" + b"".join(b"%08X" % v for v in fields)
        self.out.write(hdr + name_b)
        self.out.write(b"\0" * (-(len(hdr) + len(name_b)) % 4))
        self.out.write(data)
        self.out.write(b"\0" * (-len(data) % 4))

    def dir(self, name):
        self._entry(name, stat.S_IFDIR | 0o755, nlink=2)

    def file(self, name, data, perm=0o644):
        self._entry(name, stat.S_IFREG | perm, data)

    def symlink(self, name, target):
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, name, major, minor, perm=0o600):
        self._entry(name, stat.S_IFCHR | perm, rdev=(major, minor))

    def finish(self):
        self.ino = 0
        self._entry("TRAILER!!!", 0)
        data = self.out.getvalue()
        return data + b"\0" * (-len(data) % 512)


def init_script(command):
    return f"""#!/bin/sh
# nestsim Linux boot test (scripts/linux/mkinitramfs.py)
mount -t proc proc /proc
mount -t sysfs sysfs /sys
echo "{MARK_START}"
{command}
echo "{MARK_DONE}"
poweroff -f
""".encode()


def build(busybox, command):
    c = Cpio()
    for d in ("bin", "dev", "proc", "sys", "tmp", "root", "sbin", "usr", "usr/bin", "usr/sbin"):
        c.dir(d)
    c.file("bin/busybox", busybox, 0o755)
    for a in APPLETS:
        c.symlink(f"bin/{a}", "busybox")
    c.chardev("dev/console", 5, 1)
    c.chardev("dev/null", 1, 3, 0o666)
    c.file("init", init_script(command), 0o755)
    return c.finish()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--busybox", required=True,
                    help="a static busybox binary or the busybox-static .deb")
    ap.add_argument("-o", "--output", required=True, help="the .cpio.gz to write")
    ap.add_argument("--command", default=DEFAULT_COMMAND,
                    help=f"shell commands /init runs (default: {DEFAULT_COMMAND})")
    a = ap.parse_args()
    try:
        if a.busybox.endswith(".deb"):
            bb = busybox_from_deb(a.busybox)
        else:
            with open(a.busybox, "rb") as f:
                bb = f.read()
    except OSError as e:
        die(f"{a.busybox}: {e.strerror}")
    if not bb.startswith(b"\x7fELF"):
        die(f"{a.busybox}: busybox is not an ELF executable")
    archive = build(bb, a.command)
    tmp = a.output + ".tmp"
    with open(tmp, "wb") as f:
        # mtime=0 and no file name: the same inputs give the same bytes.
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as g:
            g.write(archive)
    os.replace(tmp, a.output)


if __name__ == "__main__":
    main()
