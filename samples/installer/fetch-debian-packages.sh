#!/bin/sh
# Fetches the Debian packages samples/installer is made of, without installing anything:
# `apt-get download` + `dpkg-deb -x` into DEST (default: .deps next to this script).
#   DEST/linux/            the kernel package, unpacked (the same package as samples/base)
#   DEST/vmlinuz           -> linux/boot/vmlinuz-RELEASE
#   DEST/modules           -> linux/lib/modules/RELEASE
#   DEST/root/             every other package below, unpacked over each other, without
#                          documentation, manual pages and translations
#   DEST/debs/             the downloaded .deb files (a cache; delete it to download again)
# The kernel package is the one linux-image-amd64 depends on now, unless ANEMOS_KERNEL_PACKAGE names one.
# The list is explicit on purpose: the tools the engine (makeimg) runs, then the shared libraries
# they load, found with `apt-cache depends` once and checked by the build (every ELF file in
# root/ must find its libraries in root/, or this script fails).
set -eu
dest=${1:-$(dirname "$0")/.deps}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)

need() {
    command -v "$1" >/dev/null 2>&1 || { echo "error ANEMOS0101: '$1' is missing; samples/installer is made from Debian packages and needs apt-get, dpkg-deb and readelf (Debian or Ubuntu: apt-get install apt dpkg binutils)." >&2; exit 1; }
}
need apt-get
need apt-cache
need dpkg-deb
need readelf

# The tools: busybox for everything else, dash as /bin/sh (busybox's ash would run its own
# applets before a real tool on PATH: busybox losetup instead of util-linux's), coreutils and
# findutils (busybox's chroot, env, xargs and find -exec run busybox's own applet of a name before
# the program: `chroot TARGET dpkg` would run busybox's dpkg); the bootstrappers (mmdebstrap is perl
# and drives apt, which fetches with its own http method and checks Release signatures with gpgv;
# dpkg-deb and GNU tar unpack, and must not be busybox's applets of the same names; pacstrap is bash
# and runs pacman, pacman-key runs gpg and gpg-agent and sources makepkg's shell library); disks and
# file systems; patches and archives; an ssh server for later. wget stays for IMGBUILDs that fetch.
tools="busybox-static dash coreutils findutils
mmdebstrap apt libc-bin perl-base perl-modules-5.36 libperl5.36 wget ca-certificates gpgv debian-archive-keyring dpkg tar
pacman-package-manager makepkg arch-install-scripts archlinux-keyring bash gpg gpg-agent gpgconf
util-linux mount fdisk e2fsprogs logsave dosfstools
patch xz-utils zstd
dropbear-bin"

# Their shared libraries (Debian 12 package names). Not here on purpose: systemd, perl-modules,
# debconf, apt, pinentry, gnupg's network parts (dirmngr), the PAM modules.
libraries="libc6 libgcc-s1 libstdc++6 libcrypt1 zlib1g libzstd1 liblzma5 libbz2-1.0 liblz4-1
libacl1 libselinux1 libpcre2-8-0 libcap-ng0 libcap2 libaudit1 libpam0g libsystemd0 libudev1
libblkid1 libmount1 libsmartcols1 libuuid1 libfdisk1 libtinfo6 libncursesw6 libreadline8
libext2fs2 libcom-err2 libss2
libgnutls30 libnettle8 libhogweed6 libgmp10 libidn2-0 libunistring2 libp11-kit0 libffi8 libtasn1-6 libpsl5
libssl3 libcurl4 libbrotli1 libnghttp2-14 librtmp1 libssh2-1 libgssapi-krb5-2 libkrb5-3 libk5crypto3
libkrb5support0 libkeyutils1 libldap-2.5-0 libsasl2-2 libsasl2-modules-db libdb5.3
libalpm13 libarchive13 libxml2 libicu72 libgpgme11 libassuan0 libgpg-error0 libgcrypt20 libnpth0 libsqlite3-0
libtomcrypt1 libtommath1 libmd0 libattr1
libapt-pkg6.0 libseccomp2 libxxhash0"

packages=$(echo $tools $libraries)
# What root/ was made from: the package list and this script (a changed recipe unpacks again).
recipe="$packages $(sha256sum <"$0" | cut -c1-16)"

kernel_package=${ANEMOS_KERNEL_PACKAGE:-$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n 1)}
if [ -z "$kernel_package" ]; then
    echo "error ANEMOS0102: apt knows no linux-image-amd64 package. Run 'apt-get update' (as root) and build again." >&2
    exit 1
fi

# As root, apt would hand the download to its _apt user, who cannot write here.
sandbox=; [ "$(id -u)" = 0 ] && sandbox="-o APT::Sandbox::User=root"

download() { # folder package...
    folder=$1
    shift
    mkdir -p "$folder"
    (cd "$folder" && apt-get download -q $sandbox "$@" >/dev/null) || { echo "error ANEMOS0103: apt-get download $* failed; check the network and 'apt-get update'." >&2; exit 1; }
}

# The kernel, exactly as samples/base takes it.
if ! [ -f "$dest/linux.package" ] || [ "$(cat "$dest/linux.package")" != "$kernel_package" ]; then
    work=$(mktemp -d "$dest/.download.XXXXXX")
    download "$work" "$kernel_package"
    rm -rf "$dest/linux"
    dpkg-deb -x "$work"/*.deb "$dest/linux"
    rm -rf "$work"
    echo "$kernel_package" >"$dest/linux.package"
fi
release=$(ls "$dest/linux/lib/modules" | head -n 1)
# The package leaves modules.dep to its install scripts; make it here, inside the unpacked tree only.
if [ ! -s "$dest/linux/lib/modules/$release/modules.dep" ]; then
    depmod=$(command -v depmod || echo /sbin/depmod)
    [ -x "$depmod" ] || { echo "error ANEMOS0101: 'depmod' is missing; install kmod (apt-get install kmod)." >&2; exit 1; }
    "$depmod" -b "$dest/linux" "$release"
fi
ln -sfn "linux/boot/vmlinuz-$release" "$dest/vmlinuz"
ln -sfn "linux/lib/modules/$release" "$dest/modules"

# The root file system: rebuilt when the package list changes.
if [ -f "$dest/root.packages" ] && [ "$(cat "$dest/root.packages")" = "$recipe" ] && [ -d "$dest/root" ]; then
    touch "$dest/root.packages"
    echo "samples/installer: $kernel_package and $(echo $packages | wc -w) packages in $dest (cached)"
    exit 0
fi
if ! [ -f "$dest/debs.list" ] || [ "$(cat "$dest/debs.list")" != "$packages" ]; then
    rm -rf "$dest/debs.new"
    download "$dest/debs.new" $packages
    rm -rf "$dest/debs" && mv "$dest/debs.new" "$dest/debs"
    echo "$packages" >"$dest/debs.list"
fi

root="$dest/root.new"
rm -rf "$root"
mkdir -p "$root"
for deb in "$dest"/debs/*.deb; do
    dpkg-deb -x "$deb" "$root"
done

# Nothing a deploy reads: documentation, manual pages, translations, shell completions, lintian notes.
rm -rf "$root/usr/share/doc" "$root/usr/share/man" "$root/usr/share/info" "$root/usr/share/locale" \
       "$root/usr/share/lintian" "$root/usr/share/bash-completion" "$root/usr/share/zsh" "$root/usr/share/bug" \
       "$root/usr/share/doc-base" "$root/usr/share/gnupg/help."* "$root/usr/share/perl5" "$root/usr/share/menu"
# Character set converters nothing here needs (glibc's iconv modules); keep the two gconv config files.
find "$root/usr/lib/x86_64-linux-gnu/gconv" -name '*.so' -delete 2>/dev/null || true

# ICU without its data. pacman's libarchive links libxml2 (for xar archives), which links ICU's
# libicuuc, which links libicudata: 30 MiB of locale and converter tables, a quarter of the unpacked
# base, which a 256 MiB machine cannot hold (docs/base-image.md). Nothing an install runs reads them:
# libxml2 asks ICU only to convert an XML document's character set, and pacman reads .pkg.tar.zst.
# So libicudata is an empty ICU data package of our own (the header ICU checks, no entries: ICU
# then reports missing data, never crashes), and ICU's libraries that nothing here links go.
need clang
rm -f "$root"/usr/lib/x86_64-linux-gnu/libicui18n.so.* "$root"/usr/lib/x86_64-linux-gnu/libicuio.so.* \
      "$root"/usr/lib/x86_64-linux-gnu/libicutu.so.* "$root"/usr/lib/x86_64-linux-gnu/libicutest.so.*
icudata=$(cd "$root/usr/lib/x86_64-linux-gnu" && ls libicudata.so.*.* | head -n 1)
icu_major=$(echo "$icudata" | sed -n 's/^libicudata\.so\.\([0-9]*\)\..*/\1/p')
cat >"$dest/icudata-empty.c" <<C
/* ICU's common data header (udata.h's DataHeader) with an empty table of contents. */
struct icu_data_info {
    unsigned short size, reserved_word;
    unsigned char is_big_endian, charset_family, sizeof_uchar, reserved_byte;
    unsigned char data_format[4], format_version[4], data_version[4];
};
struct icu_empty_package {
    unsigned short header_size;
    unsigned char magic1, magic2;
    struct icu_data_info info;
    unsigned char padding[8];
    unsigned int count, reserved;
};
__attribute__((visibility("default"), aligned(16)))
const struct icu_empty_package icudt${icu_major}_dat = {
    32, 0xda, 0x27,
    { sizeof(struct icu_data_info), 0, 0, 0, 2, 0, { 'C', 'm', 'n', 'D' }, { 1, 0, 0, 0 }, { 0, 0, 0, 0 } },
    { 0 }, 0, 0
};
C
clang -shared -fPIC -O2 -nostdlib -Wl,-soname,libicudata.so.$icu_major -o "$root/usr/lib/x86_64-linux-gnu/$icudata" "$dest/icudata-empty.c" ||
    { echo "error ANEMOS0108: cannot build the installer's empty ICU data library with clang; install clang (apt-get install clang)." >&2; exit 1; }
rm -f "$dest/icudata-empty.c"

# mmdebstrap loads a few dozen of the 1,500 module files perl-modules and libperl ship: keep those
# (and their XS libraries under auto/), as the tree's own perl finds them (its own loader and
# libraries, @INC inside the tree) when it loads every module mmdebstrap names before its first sub.
# A module missing from the tree fails this build, not an install.
perl_dirs="usr/lib/x86_64-linux-gnu/perl/5.36 usr/share/perl/5.36"
keep=$("$root/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" --library-path "$root/lib/x86_64-linux-gnu:$root/usr/lib/x86_64-linux-gnu" \
    "$root/usr/bin/perl" -e '
        my $root = shift;
        @INC = map { "$root/$_" } ("usr/lib/x86_64-linux-gnu/perl-base", @ARGV);
        open(my $script, "<", "$root/usr/bin/mmdebstrap") or die "mmdebstrap: $!\n";
        while (<$script>) {
            last if /^sub /;
            if (/^use ([A-Za-z][\w:]*)/) { eval "use $1; 1" or die $@ }
            elsif (/^require "([^"]+)"/) { require $1 }
        }
        print "$_\n" for sort values %INC;' "$root" $perl_dirs 2>&1) ||
    { echo "error ANEMOS0107: mmdebstrap cannot load its perl modules from the installer's tree: $keep; add the package that provides them to fetch-debian-packages.sh." >&2; exit 1; }
for dir in $perl_dirs; do
    (cd "$root/$dir/" && find . \( -type f -o -type l \) | sed 's|^\./||') | awk -v keep="$keep" -v prefix="$root/$dir/" '
        BEGIN { n = split(keep, kept, "\n"); for (i = 1; i <= n; i++) wanted[kept[i]] = 1 }
        { module = $0; if (module ~ /^auto\//) { sub(/^auto\//, "", module); sub(/\/[^\/]*$/, ".pm", module) }
          if (!((prefix module) in wanted)) print }' | while read -r file; do rm -f "$root/$dir/$file"; done
    find "$root/$dir/" -depth -type d -empty -delete
done
rm -f "$root/usr/lib/x86_64-linux-gnu/libperl.so."* "$root/usr/bin/cpan5.36-x86_64-linux-gnu" "$root/usr/bin/perl5.36-x86_64-linux-gnu"

# Hard links (perl and perl5.36.0, the fsck and mkfs names) become symlinks to the first name,
# so the initramfs carries each file once.
find "$root" -type f -links +1 -printf '%i %P\n' | LC_ALL=C sort -k1,1n -k2 | while read -r inode path; do
    if [ "$inode" = "${first_inode:-}" ]; then
        up=$(dirname "$path")
        if [ "$up" = . ]; then up=; else up=$(echo "$up" | sed 's|[^/][^/]*|..|g'); fi
        ln -sfn "${up:+$up/}$first_path" "$root/$path"
    else
        first_inode=$inode first_path=$path
    fi
done

# What package scripts would have done: the CA bundle (update-ca-certificates) and the
# loader's cache (ldconfig), so wget, pacman and curl find certificates and libraries.
mkdir -p "$root/etc/ssl/certs"
find "$root/usr/share/ca-certificates" -name '*.crt' | LC_ALL=C sort | while read -r crt; do cat "$crt"; done >"$root/etc/ssl/certs/ca-certificates.crt"
printf '/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n' >"$root/etc/ld.so.conf"
# pacman's CheckSpace reads the mount points from /etc/mtab (util-linux's packages would make it).
ln -sfn ../proc/self/mounts "$root/etc/mtab"
# Debian's pacman.conf names no repository: pacstrap installs from Arch Linux's core and extra
# through the worldwide mirror unless the IMGBUILD brings its own pacman.conf. Signatures are
# checked against a keyring the engine makes for each build from archlinux-keyring's keys in
# /usr/share/keyrings and keys/, brought up to date from the mirror's archlinux-keyring (imgbuild.md).
cat >"$root/etc/pacman.conf" <<'CONF'
[options]
HoldPkg = pacman glibc
Architecture = x86_64
CheckSpace
ParallelDownloads = 5
SigLevel = Required DatabaseOptional
LocalFileSigLevel = Optional

[core]
Include = /etc/pacman.d/mirrorlist

[extra]
Include = /etc/pacman.d/mirrorlist
CONF
mkdir -p "$root/etc/pacman.d"
echo 'Server = https://geo.mirror.pkgbuild.com/$repo/os/$arch' >"$root/etc/pacman.d/mirrorlist"

# Every ELF file must find its libraries inside the tree.
missing=$(find "$root" -type f \( -perm -u+x -o -name '*.so*' \) | while read -r file; do
    readelf -d "$file" 2>/dev/null | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | while read -r soname; do
        [ -e "$root/lib/x86_64-linux-gnu/$soname" ] || [ -e "$root/usr/lib/x86_64-linux-gnu/$soname" ] || [ -e "$root/lib64/$soname" ] \
            || [ -e "$root/usr/lib/x86_64-linux-gnu/perl-base/auto/$soname" ] || echo "${file#$root/} needs $soname"
    done
done | sort -u)
if [ -n "$missing" ]; then
    echo "error ANEMOS0106: samples/installer's package list lacks shared libraries; add their packages to fetch-debian-packages.sh:" >&2
    echo "$missing" >&2
    exit 1
fi

rm -rf "$dest/root"
mv "$root" "$dest/root"
echo "$recipe" >"$dest/root.packages"
echo "samples/installer: $kernel_package and $(echo $packages | wc -w) packages in $dest ($(du -sm "$dest/root" | cut -f1) MiB unpacked)"
