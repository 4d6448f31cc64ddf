#!/usr/bin/env bash
# bench/rehearse-dns.sh [MEMORY_MIB]: the whole-install rehearsal of samples/dns x under TCG, as the
# VM test RehearseInstallVmTests runs it (its local mirror, x's secrets, install then firmware boot),
# with MEMORY_MIB of VM memory (default 512). Prints rows in bench/run.sh's table form: install
# (QEMU start to the deploy init's result line), install done to healthy, total; and the engine's
# whole run against its bootstrap (mmdebstrap) and provision() steps, from its own step log. Measured, never
# asserted; about 15 minutes on an idle 2-core machine, so not part of bench/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
memory=${1:-512}
[ -f "artifacts/feed/Anemos.Sdk.$(sed -n 's:.*<AnemosVersion>\(.*\)</AnemosVersion>.*:\1:p' Directory.Build.props).nupkg" ] \
    || { echo "bench: the SDK is not packed; run ./build.sh first" >&2; exit 1; }
log=$(mktemp /tmp/anemos-bench-rehearse.XXXXXX)
trap 'rm -f "$log"' EXIT
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 ANEMOS_REHEARSE_MEMORY=$memory
status=0
dotnet test tests/Anemos.Tests/Anemos.Tests.csproj -c Release --filter 'FullyQualifiedName~RehearseInstallVmTests.DnsHostXInstallsBootsFromItsDiskAndAnswersWithItsOwnHostKey' \
    --logger 'console;verbosity=detailed' >"$log" 2>&1 || status=$?
# The rehearsal's last line: "rehearse x: installed in 9m12s, booted from disk to login in 41s, …; total 9m58s".
line=$(grep -a -o 'rehearse x: installed in .*' "$log" | tail -n 1 || true)
if [ "$status" != 0 ] || [ -z "$line" ]; then
    echo "bench: the rehearsal of samples/dns x with ${memory} MiB did not pass; its last lines:" >&2
    tail -n 30 "$log" >&2
    exit 1
fi
install=$(sed -n 's/.*installed in \([0-9ms]*\),.*/\1/p' <<<"$line")
healthy=$(sed -n 's/.*health check passed after \([0-9ms]*\);.*/\1/p' <<<"$line")
total=$(sed -n 's/.*total \([0-9ms]*\).*/\1/p' <<<"$line")
# The engine's own steps against the whole install (EngineSteps: every step but bootstrap and provision,
# which run mmdebstrap and the IMGBUILD's own commands): what the engine adds to a plain install in this VM.
steps=$(grep -a -o 'engine steps: .*' "$log" | tail -n 1 || true)
if [ -n "$steps" ]; then
    own=$(sed -n "s/.*the engine's own \([0-9]*\) s.*/\1/p" <<<"$steps")
    tools=$(sed -n 's/.*total \([0-9]*\) s.*/\1/p' <<<"$steps")
    tools=$((tools - own))
    r=$(awk -v o="$own" -v t="$tools" 'BEGIN { printf "%.2f", (o + t) / t }')
    printf '| %-26s | %14s | %14s | %6s | %-8s | %s |\n' "install vs its tools, VM" "$((own + tools)) s" "$tools s" "$r" \
        "$(awk -v r="$r" 'BEGIN { print (r <= 1.1) ? "ok" : "OVER GOAL" }')" "goal <= 1.1 x: the engine's whole run vs its bootstrap (mmdebstrap) and provision() steps; ${steps#engine steps: }"
fi
printf '| %-26s | %14s | %14s | %6s | %-8s | %s |\n' "rehearsal samples/dns x" "$total" "—" "—" "—" \
    "QEMU tcg, ${memory} MiB; install ${install}, install done to healthy ${healthy} (firmware boot, login, sshd, health check)"
