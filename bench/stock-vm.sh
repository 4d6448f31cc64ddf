# Sourced by bench/run.sh and bench/redeploy.sh: the stock host VM a redeploy is measured against.
# Needs $repo (the checkout) and $accel (tcg or kvm) set by the caller.
# shellcheck disable=SC2154 # repo and accel come from the script that sources this file

# stock_vm_project DIR SSH_CONFIG IDENTITY PORT FINGERPRINT: DIR/proj/deploy.proj (one host "vm" on
# 127.0.0.1:PORT, its host key pinned) and its `deploy` payload, which records the payload on the disk. The deploy waits up to 600 s for the
# host to come back: at load 20 on 2 cores the kexec, the payload and the reboot took over 300 s.
stock_vm_project() {
    local d=$1 config=$2 identity=$3 port=$4 fingerprint=$5
    mkdir -p "$d/proj"
    cat >"$d/proj/deploy.proj" <<PROJECT
<Project Sdk="Anemos.Sdk">
  <PropertyGroup>
    <AnemosSshConfigFile>$config</AnemosSshConfigFile>
    <AnemosSshIdentityFile>$identity</AnemosSshIdentityFile>
    <AnemosDeployLockDirectory>$d/locks</AnemosDeployLockDirectory>
    <AnemosDeployTimeout>600</AnemosDeployTimeout>
  </PropertyGroup>
  <ItemGroup>
    <ProjectReference Include="$repo/samples/base/base.proj" />
    <AnemosHost Include="vm" Address="127.0.0.1" Port="$port" HostKey="$fingerprint" Network="none" />
  </ItemGroup>
</Project>
PROJECT
    printf '#!/bin/sh\nprintf "ANEMOS-DEPLOYED payload=%%s healthy=yes\\n" "$ANEMOS_PAYLOAD_SHA256" | dd of="$ANEMOS_TARGET_DISK" conv=notrunc 2>/dev/null\n' >"$d/proj/deploy"
    chmod +x "$d/proj/deploy"
}

# stock_vm_start DIR IMAGE PORT SECONDS: boots the stock host IMAGE in the background (its pid in $!)
# with a blank 16 MiB DIR/disk.img, its console in DIR/console.log and its sshd on 127.0.0.1:PORT.
stock_vm_start() {
    local d=$1 image=$2 port=$3 limit=$4
    truncate -s 16M "$d/disk.img"
    timeout "$limit" qemu-system-x86_64 -accel "$accel" -m 512 -display none -nodefaults -monitor none -serial "file:$d/console.log" \
        -kernel samples/base/bin/anemos/vmlinuz -initrd "$image" -append "console=ttyS0 panic=-1" \
        -drive "file=$d/disk.img,format=raw,if=virtio" \
        -netdev "user,id=n,restrict=on,hostfwd=tcp:127.0.0.1:$port-:22" -device virtio-net-pci,netdev=n </dev/null >/dev/null 2>&1 &
}
