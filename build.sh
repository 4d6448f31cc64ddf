#!/usr/bin/env bash
# Builds Anemos.Sdk and the samples: packs the SDK and its templates into artifacts/feed, then builds samples/base,
# samples/dns and samples/bitfehler-net (and with them their base, samples/installer), printing one summary line
# per host. Installs what is missing when run as root on Debian/Ubuntu, or says what to install.
set -euo pipefail
cd "$(dirname "$0")"
. eng/prerequisites.sh

anemos_require_dotnet
# clang links the NativeAOT helper (Anemos.Kexec), musl-gcc its musl variant; readelf measures the oldest glibc each helper variant runs on.
anemos_require_packages dpkg-deb:dpkg apt-get:apt git:git depmod:kmod readelf:binutils clang:clang musl-gcc:musl-tools
# The arm64 helper: clang links it against Debian's arm64 cross glibc and GCC's arm64 runtime files.
anemos_require_packages aarch64-linux-gnu-gcc:gcc-aarch64-linux-gnu
[ -e /usr/aarch64-linux-gnu/lib/crt1.o ] || anemos_require_packages aarch64-libc-dev:libc6-dev-arm64-cross
anemos_require_apt_lists

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# MSBuild nodes kept from an earlier build would still hold the previous task assembly (same
# version, same path): stop them, and build without keeping new ones.
dotnet build-server shutdown >/dev/null 2>&1 || true
export MSBUILDDISABLENODEREUSE=1

echo "== Packing Anemos.Sdk into artifacts/feed"
rm -rf artifacts/feed
dotnet pack Anemos.Sdk/Anemos.Sdk.csproj -c Release -nologo -v:q
echo "== Packing Anemos.Templates into artifacts/feed (dotnet new install artifacts/feed/Anemos.Templates.*.nupkg)"
dotnet pack templates/Anemos.Templates.csproj -c Release -nologo -v:q
# The samples restore the SDK into artifacts/packages: drop an older copy of the same version.
rm -rf artifacts/packages/anemos.sdk

# samples/base (busybox, for deploy payloads; the VM tests and the benchmark boot it) and the two
# IMGBUILD samples, which build their base samples/installer.
for sample in samples/base/base.proj samples/dns/dns.proj samples/bitfehler-net/bitfehler-net.proj; do
    echo "== Building $sample"
    dotnet build "$sample" -nologo -v:m "$@"
done
echo "== Done: artifacts are under samples/*/bin/anemos/"
