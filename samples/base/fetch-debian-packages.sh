#!/bin/sh
# Fetches the Debian packages samples/base is made of, without installing anything:
# `apt-get download` + `dpkg-deb -x` into DEST (default: .deps next to this script).
#   DEST/busybox/          busybox-static, unpacked
#   DEST/linux/            the kernel package, unpacked
#   DEST/vmlinuz           -> linux/boot/vmlinuz-RELEASE
#   DEST/modules           -> linux/lib/modules/RELEASE
# The kernel package is the one linux-image-amd64 depends on now, unless ANEMOS_KERNEL_PACKAGE names one.
set -eu
dest=${1:-$(dirname "$0")/.deps}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)

need() {
    command -v "$1" >/dev/null 2>&1 || { echo "error ANEMOS0101: '$1' is missing; samples/base is made from Debian packages and needs apt-get and dpkg-deb (Debian or Ubuntu)." >&2; exit 1; }
}
need apt-get
need apt-cache
need dpkg-deb

kernel_package=${ANEMOS_KERNEL_PACKAGE:-$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n 1)}
if [ -z "$kernel_package" ]; then
    echo "error ANEMOS0102: apt knows no linux-image-amd64 package. Run 'apt-get update' (as root) and build again." >&2
    exit 1
fi

download() { # package folder
    if [ -f "$dest/$2.package" ] && [ "$(cat "$dest/$2.package")" = "$1" ]; then return; fi
    work=$(mktemp -d "$dest/.download.XXXXXX")
    # As root, apt would hand the download to its _apt user, who cannot write here.
    sandbox=; [ "$(id -u)" = 0 ] && sandbox="-o APT::Sandbox::User=root"
    (cd "$work" && apt-get download -q $sandbox "$1" >/dev/null) || { rm -rf "$work"; echo "error ANEMOS0103: apt-get download $1 failed; check the network and 'apt-get update'." >&2; exit 1; }
    rm -rf "${dest:?}/$2"
    dpkg-deb -x "$work"/*.deb "$dest/$2"
    rm -rf "$work"
    echo "$1" >"$dest/$2.package"
}

download busybox-static busybox
download "$kernel_package" linux

release=$(ls "$dest/linux/lib/modules" | head -n 1)
# The package leaves modules.dep to its install scripts; make it here, inside the unpacked tree only.
if [ ! -s "$dest/linux/lib/modules/$release/modules.dep" ]; then
    depmod=$(command -v depmod || echo /sbin/depmod)
    [ -x "$depmod" ] || { echo "error ANEMOS0101: 'depmod' is missing; install kmod (apt-get install kmod)." >&2; exit 1; }
    "$depmod" -b "$dest/linux" "$release"
fi
ln -sfn "linux/boot/vmlinuz-$release" "$dest/vmlinuz"
ln -sfn "linux/lib/modules/$release" "$dest/modules"
echo "samples/base: busybox-static and $kernel_package in $dest"
