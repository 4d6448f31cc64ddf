using Anemos.Tasks;
using Anemos.Tasks.Rehearse;

namespace Anemos.Tests.Tasks.Rehearse;

/// <summary>
/// The rehearsal's QEMU arguments, pinned as they were before the command builder existed: the
/// same inputs must give the same VM (BIOS, the default firmware).
/// </summary>
public sealed class RehearsalArgumentsTests
{
    static RehearsalVm Vm(string accelerator = "tcg") => new() { HostName = "x", Qemu = "qemu-system-x86_64", Accelerator = accelerator, KernelFile = "/k/vmlinuz", MemoryMiB = 1024, CommandLine = "quiet", Firmware = QemuFirmware.Bios };

    [Fact]
    public void TheInstallBootsTheKernelWithEveryDiskAndTheMirrorRelay()
    {
        var arguments = Vm().InstallCommand(["/w/disk0.img", "/w/home.img"], "/w/initramfs.img", RehearsalMirror.Parse("http://deb.debian.org/debian")!.Forward(3142)).Arguments().ToArray();

        Assert.Equal((string[])[
            "-accel", "tcg", "-m", "1024",
            "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio", "-monitor", "none",
            "-kernel", "/k/vmlinuz", "-initrd", "/w/initramfs.img",
            "-append", "rootfstype=ramfs mitigations=off init_on_alloc=0 console=ttyS0 panic=-1 anemos.on_success=poweroff anemos.on_failure=poweroff quiet",
            "-netdev", "user,id=net0,restrict=on,guestfwd=tcp:10.0.2.100:80-cmd:/bin/bash -c 'exec 3<>/dev/tcp/127.0.0.1/3142; cat <&3 & exec cat >&3'",
            "-device", "virtio-net-pci,netdev=net0",
            "-drive", "file=/w/disk0.img,format=raw,if=none,id=disk0,cache=unsafe", "-device", "virtio-blk-pci,drive=disk0,serial=anemos-disk0",
            "-drive", "file=/w/home.img,format=raw,if=none,id=disk1,cache=unsafe", "-device", "virtio-blk-pci,drive=disk1,serial=anemos-disk1",
        ], arguments);
    }

    [Fact]
    public void TheInstallWithoutAMirrorHasARestrictedNetworkOnly()
    {
        var arguments = Vm("kvm").InstallCommand(["/w/disk0.img"], "/w/initramfs.img", null).Arguments().ToArray();

        Assert.Equal("user,id=net0,restrict=on", arguments[Array.IndexOf(arguments, "-netdev") + 1]);
        Assert.Equal("kvm", arguments[1]);
    }

    [Fact]
    public void TheBootStartsTheInstallDiskWithTheFirmwareAndForwardsSsh()
    {
        var arguments = Vm().BootCommand("/w/disk0.img", null, 2222).Arguments().ToArray();

        Assert.Equal((string[])[
            "-accel", "tcg", "-m", "1024",
            "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio", "-monitor", "none",
            "-boot", "c", "-netdev", "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:2222-:22", "-device", "virtio-net-pci,netdev=net0",
            "-drive", "file=/w/disk0.img,format=raw,if=none,id=disk0", "-device", "virtio-blk-pci,drive=disk0,serial=anemos-disk0,bootindex=0",
        ], arguments);
    }

    [Fact]
    public void TheBootShapesTheNetworkLikeTheHosts()
    {
        var network = RehearsalNetwork.Parse("198.51.100.53/24", null);

        var arguments = Vm().BootCommand("/w/disk0.img", network, 2222).Arguments().ToArray();

        Assert.Equal("user,id=net0,restrict=on,net=198.51.100.0/24,host=198.51.100.1,hostfwd=tcp:127.0.0.1:2222-198.51.100.53:22",
            arguments[Array.IndexOf(arguments, "-netdev") + 1]);
    }
}
