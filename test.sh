#!/usr/bin/env bash
# Runs every test: unit tests, real `dotnet build` processes against the freshly packed SDK,
# archives read back by GNU cpio, tar, gzip and zstd, a local HTTPS server for downloads, and the
# samples built from two copies for determinism. Installs what is missing when run as root on
# Debian/Ubuntu, or says what to install.
set -euo pipefail
cd "$(dirname "$0")"
. eng/prerequisites.sh

anemos_require_dotnet
anemos_require_packages cpio:cpio zstd:zstd gzip:gzip tar:tar git:git mkfifo:coreutils sha256sum:coreutils busybox:busybox-static strings:binutils qemu-system-x86_64:qemu-system-x86 sfdisk:fdisk debugfs:e2fsprogs /usr/bin/time:time ssh:openssh-client /usr/sbin/sshd:openssh-server sudo:sudo
# The arm64 helper's commands run under qemu-user, against Debian's arm64 cross glibc (HelperProcessTests).
anemos_require_packages qemu-aarch64:qemu-user
# Login shells a server may give root or the deploy user: remote commands must reach sh through them.
anemos_require_packages tcsh:tcsh fish:fish
# The host-side fetch of the helper (HelperFetchTests, the URL VM test's stock host) uses curl, else wget.
anemos_require_packages curl:curl
# UEFI rehearsals boot OVMF (Debian's ovmf: firmware files, no command to look for on PATH).
[ -e /usr/share/OVMF/OVMF_CODE_4M.fd ] || anemos_require_packages ovmf-firmware-files:ovmf
# The helper's network facts are checked against iproute2's own view of this machine (FactsTests).
anemos_require_packages ip:iproute2
# The engine tests: mmdebstrap (and debootstrap, as information) from a local signed mirror, pacstrap from a local makepkg repository, mkfs, patch, shellcheck.
anemos_require_packages mmdebstrap:mmdebstrap /usr/sbin/debootstrap:debootstrap apt-ftparchive:apt-utils gpg:gpg gpg-agent:gpg-agent gpgv:gpgv wget:wget shellcheck:shellcheck pacman:pacman-package-manager pacstrap:arch-install-scripts makepkg:makepkg bsdtar:libarchive-tools fakeroot:fakeroot /usr/sbin/mkfs.vfat:dosfstools mcopy:mtools patch:patch

# Packs the SDK, fetches samples/base's and samples/installer's Debian packages and builds the samples.
./build.sh

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 MSBUILDDISABLENODEREUSE=1
# The tests take the SDK ./build.sh just packed from this tree, not a pack of their own (SdkFeed).
export ANEMOS_TEST_PACKED_FEED="$PWD/artifacts/feed"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
project=tests/Anemos.Tests/Anemos.Tests.csproj
# The fast tier first (every test that needs no packed SDK, sshd, QEMU, distribution bootstrap or
# package install: tasks and the helper in process, targets imported from the sources, the init's
# and the engine's functions, core formats), then the end-to-end tier: the tests marked
# [EndToEnd(Needs.…)] (tests/Anemos.Tests/Infrastructure/EndToEndAttribute.cs). In the fast tier
# ANEMOS_TEST_TIER=fast makes the SDK pack, sshd, QEMU and the mirrors refuse to start, so an
# unmarked end-to-end test fails there. Arguments, e.g. a --filter of your own, replace this split.
fast='Tier!=EndToEnd'
rest='Tier=EndToEnd'
if [ "$#" -gt 0 ]; then
    dotnet test "$project" -c Release -nologo "$@" 2>&1 | tee "$log" || status=$?
else
    echo "== Fast tier: everything in process or with local tools"
    ANEMOS_TEST_TIER=fast dotnet test "$project" -c Release -nologo --filter "$fast" 2>&1 | tee "$log" || status=$?
    if [ "$status" = 0 ]; then
        echo "== End-to-end: the packed SDK, sshd, QEMU, bootstraps"
        # Normal verbosity lists every test with its duration: what each VM test costs CI.
        started=$(date +%s)
        dotnet test "$project" -c Release -nologo --no-build --filter "$rest" --logger "console;verbosity=normal" 2>&1 | tee -a "$log" || status=$?
        # What the VM tests cost, one line each and their sum, and the tier's wall time. xunit times a
        # test without its class fixture, so a class's shared install (a rehearsal, a first install)
        # is in the tier's minutes, not in these lines.
        echo "== VM tests by duration (the end-to-end tier took $(( ($(date +%s) - started) / 60 )) min, shared installs included)"
        awk '/^ +(Passed|Failed) Anemos\.Tests\.Vm\./ {
                line = $0; sub(/^ +/, "", line)
                s = 0; if (match(line, /\[[^]]*\]$/)) { t = substr(line, RSTART + 1, RLENGTH - 2); n = split(t, w, " ")
                    for (i = 1; i < n; i += 1) { if (w[i + 1] == "m") s += 60 * w[i]; else if (w[i + 1] == "s") s += w[i]; else if (w[i + 1] == "ms") s += w[i] / 1000 } }
                printf "%6.0f s  %s\n", s, line; sum += s }
            END { printf "%6.0f s  sum of the VM tests, their class fixtures not counted (%.1f min)\n", sum, sum / 60 }' "$log" | sort -n
    fi
fi

# The benchmark must keep running (its figures are not judged here): bench/run.sh --quick.
if [ "$status" = 0 ]; then
    bench/run.sh --quick || status=$?
fi

# One closing line any CI can read: "N passed, N failed", the sum over both runs.
# dotnet test ends with "Failed: N, Passed: N, Skipped: N, …" (minimal verbosity) or with a block of
# "Total tests: N", "Passed: N", "Failed: N", "Skipped: N" lines (normal verbosity, the second run).
summary=$(awk '
    /Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+/ {
        for (i = 1; i < NF; i++) { if ($i == "Failed:") f += $(i + 1); if ($i == "Passed:") p += $(i + 1); if ($i == "Skipped:") s += $(i + 1) }
        n++; next
    }
    /^Total tests: +[0-9]+$/ { n++; block = 1; next }
    block && /^ +Passed: +[0-9]+$/ { p += $2; next }
    block && /^ +Failed: +[0-9]+$/ { f += $2; next }
    block && /^ +Skipped: +[0-9]+$/ { s += $2; next }
    { block = 0 }
    END { if (n) printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log" || true)
if [ -n "$summary" ]; then
    echo "$summary"
elif [ "$status" != 0 ]; then
    echo "error: dotnet test failed (exit $status) before any test ran; see its output above." >&2
fi
exit "$status"
