#!/bin/bash
# Fetches Debian's packaged kernel (or busybox-static) into a cache and prints the
# path of what was asked for:
#   fetch-kernel.sh [kernel]   the vmlinuz (bzImage) of the package linux-image-amd64
#                              depends on today (e.g. linux-image-6.1.0-56-amd64)
#   fetch-kernel.sh busybox    the static busybox binary of busybox-static
# Cache: ${NESTSIM_CACHE:-$HOME/.cache/nestsim}/linux. Packages come from the host's
# apt sources with `apt-get download` (no root, nothing installed) and are unpacked
# with `dpkg-deb -x` next to the .deb. Idempotent: when the cache already holds the
# package (or, offline, any version of it) nothing is downloaded. Without cache and
# network it fails with one line on stderr and status 1.
set -euo pipefail

what=${1:-kernel}
cache=${NESTSIM_CACHE:-$HOME/.cache/nestsim}/linux
mkdir -p "$cache"
# One fetcher at a time per cache (the boot tests run in parallel).
exec 9>"$cache/.lock"
flock 9

die() { echo "fetch-kernel.sh: $*" >&2; exit 1; }

# The newest cached .deb matching a glob (version sort), or nothing.
newest_deb() {
  ls -1 "$cache"/$1 2>/dev/null | sort -V | tail -n 1 || true
}

# Downloads package $1 into the cache unless a .deb of it is there already; prints the .deb.
fetch_deb() {
  local pkg=$1 deb
  deb=$(newest_deb "${pkg}_*.deb")
  if [ -z "$deb" ]; then
    (cd "$cache" && apt-get download "$pkg" >/dev/null 2>"$cache/apt-get.log") ||
      die "cannot download $pkg with apt-get (no network or no apt lists?) and no ${pkg}_*.deb in $cache; see $cache/apt-get.log"
    deb=$(newest_deb "${pkg}_*.deb")
    [ -n "$deb" ] || die "apt-get download $pkg left no .deb in $cache"
  fi
  echo "$deb"
}

# Unpacks a .deb once into <cache>/<package>_<version>/ and prints that directory.
unpack() {
  local deb=$1 dir
  dir=${deb%.deb}
  if [ ! -f "$dir/.unpacked" ]; then
    rm -rf "$dir.tmp"
    dpkg-deb -x "$deb" "$dir.tmp" || die "cannot unpack $deb"
    touch "$dir.tmp/.unpacked"
    rm -rf "$dir"
    mv "$dir.tmp" "$dir"
  fi
  echo "$dir"
}

case $what in
  kernel)
    # The versioned package the metapackage depends on; offline, the newest cached one.
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
          sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1 || true)
    if [ -n "$pkg" ]; then
      deb=$(fetch_deb "$pkg")
    else
      deb=$(newest_deb 'linux-image-[0-9]*-amd64_*.deb')
      [ -n "$deb" ] || die "apt-cache knows no linux-image-amd64 (run apt-get update?) and $cache holds no linux-image-*-amd64 .deb"
    fi
    dir=$(unpack "$deb")
    vmlinuz=$(ls -1 "$dir"/boot/vmlinuz-* 2>/dev/null | head -n 1 || true)
    [ -n "$vmlinuz" ] || die "$deb holds no boot/vmlinuz-*"
    echo "$vmlinuz"
    ;;
  busybox)
    deb=$(fetch_deb busybox-static)
    dir=$(unpack "$deb")
    [ -x "$dir/bin/busybox" ] || die "$deb holds no bin/busybox"
    echo "$dir/bin/busybox"
    ;;
  *)
    die "usage: fetch-kernel.sh [kernel|busybox]"
    ;;
esac
