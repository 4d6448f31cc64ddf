using Anemos.Tasks.Rehearse;

namespace Anemos.Tests.Tasks.Rehearse;

/// <summary>The QEMU command builder: one order of arguments for every VM, BIOS by default, UEFI by OVMF's pflash pair.</summary>
public sealed class QemuCommandTests
{
    static readonly QemuCommand Install = new()
    {
        Accelerator = "tcg",
        MemoryMiB = 256,
        NoReboot = true,
        Kernel = new("/k/vmlinuz", "/w/initramfs.img", "console=ttyS0"),
        Disks = [new QemuDisk("/w/disk0.img") { Serial = "anemos-disk0", Cache = "unsafe" }],
    };

    [Fact]
    public void BiosIsTheDefaultAndAddsNoArguments()
    {
        Assert.Equal((string[])[
            "-accel", "tcg", "-m", "256", "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio", "-monitor", "none",
            "-kernel", "/k/vmlinuz", "-initrd", "/w/initramfs.img", "-append", "console=ttyS0",
            "-netdev", "user,id=net0,restrict=on", "-device", "virtio-net-pci,netdev=net0",
            "-drive", "file=/w/disk0.img,format=raw,if=none,id=disk0,cache=unsafe", "-device", "virtio-blk-pci,drive=disk0,serial=anemos-disk0",
        ], Install.Arguments());
        Assert.Empty(QemuFirmware.Bios.Arguments());
        Assert.False(QemuFirmware.Bios.IsUefi);
    }

    [Fact]
    public void UefiIsOvmfsCodeReadOnlyAndTheVmsOwnVariableStore()
    {
        var arguments = (Install with { Firmware = QemuFirmware.Uefi("/w/OVMF_VARS.fd"), Machine = "q35" }).Arguments();

        Assert.Equal((string[])[
            "-accel", "tcg", "-m", "256", "-machine", "q35", "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio", "-monitor", "none",
            "-drive", "if=pflash,format=raw,unit=0,file=/usr/share/OVMF/OVMF_CODE_4M.fd,readonly=on",
            "-drive", "if=pflash,format=raw,unit=1,file=/w/OVMF_VARS.fd",
            "-kernel", "/k/vmlinuz",
        ], arguments.Take(19));
    }

    [Fact]
    public void AFreshVariableStoreIsACopyOfOvmfsTemplateInTheVmsFolder()
    {
        if (!File.Exists(QemuFirmware.OvmfVarsTemplate)) return; // the ovmf package is not installed here
        string folder = Directory.CreateTempSubdirectory("anemos-uefi-").FullName;
        try
        {
            var firmware = QemuFirmware.UefiWithFreshVars(folder);

            Assert.True(firmware.IsUefi);
            Assert.Equal(Path.Combine(folder, "OVMF_VARS.fd"), firmware.VarsFile);
            Assert.Equal(File.ReadAllBytes(QemuFirmware.OvmfVarsTemplate), File.ReadAllBytes(firmware.VarsFile!));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void AMachineWithoutAKernelBootsItsFirstDiskAndItsConsoleCanGoToAFile()
    {
        var command = new QemuCommand
        {
            MemoryMiB = 1024,
            ConsoleFile = "/w/console.log",
            Disks = [new QemuDisk("/w/boot.img") { Serial = "anemos-disk0", Cache = "unsafe", Snapshot = true, BootIndex = 0 }, new QemuDisk("/w/data.img")],
        };

        Assert.Equal((string[])[
            "-accel", "tcg", "-m", "1024", "-display", "none", "-nodefaults", "-serial", "file:/w/console.log", "-monitor", "none",
            "-boot", "c", "-netdev", "user,id=net0,restrict=on", "-device", "virtio-net-pci,netdev=net0",
            "-drive", "file=/w/boot.img,format=raw,if=none,id=disk0,cache=unsafe,snapshot=on", "-device", "virtio-blk-pci,drive=disk0,serial=anemos-disk0,bootindex=0",
            "-drive", "file=/w/data.img,format=raw,if=none,id=disk1", "-device", "virtio-blk-pci,drive=disk1",
        ], command.Arguments());
    }

    [Fact]
    public void TheUserNetworkTakesAShapeForwardsSshInAndRelaysTheGuestOut()
    {
        var network = new QemuNetwork
        {
            Net = "198.51.100.0/24",
            Host = "198.51.100.1",
            DhcpStart = "198.51.100.53",
            HostForwards = [new(2222, 22, "198.51.100.53")],
            GuestForwards = [new("198.51.100.100", 80, 3142)],
        };

        Assert.Equal("user,id=net0,restrict=on,net=198.51.100.0/24,host=198.51.100.1,dhcpstart=198.51.100.53,hostfwd=tcp:127.0.0.1:2222-198.51.100.53:22,"
            + "guestfwd=tcp:198.51.100.100:80-cmd:/bin/bash -c 'exec 3<>/dev/tcp/127.0.0.1/3142; cat <&3 & exec cat >&3'", network.Netdev());
        Assert.Equal("hostfwd=tcp:127.0.0.1:2222-:22", new QemuHostForward(2222, 22).Option());
    }
}
