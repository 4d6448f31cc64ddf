#!/usr/bin/env bash
# bench/redeploy.sh [RUNS] FEED...: a redeploy's own overhead, side by side. For each feed (a folder
# holding an Anemos.Sdk package, e.g. artifacts/feed of two checkouts) one stock host VM; then RUNS
# rounds, each a redeploy after an overlay change into every VM in turn, so machine noise hits all
# of them alike. Prints each run's phases (ms) and the median of connect..boot per feed.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd) # read by bench/stock-vm.sh
export repo
runs=3
[[ "${1:-}" =~ ^[0-9]+$ ]] && { runs=$1; shift; }
[ $# -ge 1 ] || { echo "usage: bench/redeploy.sh [RUNS] FEED..." >&2; exit 2; }
feeds=()
for feed in "$@"; do feeds+=("$(cd "$feed" && pwd)"); done

work=$(mktemp -d /tmp/anemos-redeploy.XXXXXX)
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build bench/Anemos.Bench/Anemos.Bench.csproj -c Release -o "$work/harness" -nologo -v:q >/dev/null
harness() { dotnet "$work/harness/Anemos.Bench.dll" "$@"; }
accel=tcg
if { [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; } && [ -e /dev/kvm ]; then accel=kvm; fi
. bench/stock-vm.sh

ssh-keygen -q -t ed25519 -N '' -f "$work/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$work/client_key"
fingerprint=$(ssh-keygen -lf "$work/host_key.pub" | awk '{ print $2 }')
printf 'Host *\n  UserKnownHostsFile /dev/null\n  GlobalKnownHostsFile /dev/null\n' >"$work/ssh_config"
# The stock host gets the shared libraries the helper needs; the deploy brings the helper itself.
harness packed-helper "$(ls "${feeds[0]}"/Anemos.Sdk.*.nupkg | head -1)" "$work/anemos-kexec"
harness stock-image "$work/stock.img" samples/base/bin/anemos/base.img "$work/anemos-kexec" "$work/host_key" "$work/client_key.pub"

i=0
for feed in "${feeds[@]}"; do
    d="$work/$i"; mkdir -p "$d/proj"
    port=$(harness free-port)
    printf '<configuration><packageSources><clear /><add key="local" value="%s" /></packageSources></configuration>\n' "$feed" >"$d/proj/nuget.config"
    cp samples/global.json "$d/proj/"
    stock_vm_project "$d" "$work/ssh_config" "$work/client_key" "$port" "$fingerprint"
    stock_vm_start "$d" "$work/stock.img" "$port" 3600
    pids+=($!)
    i=$((i + 1))
done

for i in "${!feeds[@]}"; do
    for _ in $(seq 1 600); do
        grep -aq "STOCK-HOST ready" "$work/$i/console.log" 2>/dev/null && break
        sleep 0.5
    done
done

publish() { # index, log name, extra arguments
    local d="$work/$1" log="$work/$1/$2.log"; shift 2
    NUGET_PACKAGES="$d/packages" dotnet publish "$d/proj/deploy.proj" -nologo -v:n -p:Host=vm "$@" >"$log" 2>&1 \
        || { echo "redeploy: the deploy failed ($log):" >&2; tail -30 "$log" >&2; tail -20 "$d/console.log" >&2; exit 1; }
}
# The first deploy installs the helper and fills the cache (a dry run); every run after is a redeploy.
for i in "${!feeds[@]}"; do publish "$i" first -p:AnemosDryRun=true; done
declare -A totals
for run in $(seq 1 "$runs"); do
    for i in "${!feeds[@]}"; do
        echo "# run $run" >>"$work/$i/proj/deploy"
        publish "$i" "run$run"
        read -r _ _ _ phases < <(harness deploy-report "$work/$i/proj/obj/anemos/hosts/vm/deploy.json")
        ours=$(tr ',' '\n' <<<"$phases" | awk -F= '$1 != "wait" && $1 != "verify" { s += $2 } END { print s }')
        totals[$i]+="$ours "
        echo "feed $i run $run: connect..boot ${ours} ms ($phases)"
    done
done
for i in "${!feeds[@]}"; do
    median=$(tr ' ' '\n' <<<"${totals[$i]}" | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
    echo "feed $i (${feeds[$i]}): median connect..boot ${median} ms over $runs redeploys, QEMU $accel"
done
