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

# Packs the SDK, fetches samples/base's and samples/installer's Debian packages and builds the samples.
./build.sh

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 MSBUILDDISABLENODEREUSE=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
dotnet test tests/Anemos.Tests/Anemos.Tests.csproj -c Release -nologo "$@" 2>&1 | tee "$log" || status=$?

# The benchmark must keep running (its figures are not judged here): bench/run.sh --quick.
if [ "$status" = 0 ]; then
    bench/run.sh --quick || status=$?
fi

# One closing line any CI can read: "N passed, N failed".
summary=$(grep -Eo 'Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" | tail -n 1 || true)
if [ -n "$summary" ]; then
    failed=$(echo "$summary" | sed -E 's/Failed: +([0-9]+).*/\1/')
    passed=$(echo "$summary" | sed -E 's/.*Passed: +([0-9]+).*/\1/')
    skipped=$(echo "$summary" | sed -E 's/.*Skipped: +([0-9]+).*/\1/')
    echo "$passed passed, $failed failed, $skipped skipped"
fi
exit "$status"
