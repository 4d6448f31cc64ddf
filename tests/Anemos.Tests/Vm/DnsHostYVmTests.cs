using Anemos.Tasks.Rehearse;
using Anemos.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Anemos.Tests.Vm;

/// <summary>
/// samples/dns y, the second nameserver of the same description (issue 11, points 1 and 2 for y):
/// its rehearsal (<see cref="RehearsedDnsHostY"/>: y's kernel and initramfs install Debian on a
/// blank disk in QEMU, then that disk boots alone in y's own network, 198.51.100.53/24), and a
/// redeploy of the system the rehearsal installed: the disk boots as y, `dotnet publish -p:Host=y`
/// with a changed zone reinstalls it from the IMGBUILD, streams the install, and y comes back with
/// its own key and the change. y is the UEFI machine of samples/dns (its Firmware metadata; x is
/// the BIOS one): all of it runs under OVMF, the ESP and GRUB's removable path (issue 25).
/// Verdicts come from what the guest wrote and answered.
/// </summary>
[LongRunning(30)] // a whole install and its firmware boot, then a reinstall
[EndToEnd(Needs.Qemu)]
public sealed class DnsHostYVmTests(RehearsedDnsHostY host, ITestOutputHelper output) : IClassFixture<RehearsedDnsHostY>
{
    [Fact]
    public void DnsHostYInstallsBootsFromItsDiskAndAnswersWithItsOwnHostKey() => host.AssertInstalledBootedAndHealthy(output);

    [Fact]
    public void YIsAUefiMachineWhoseDiskHasAnEspWithGrubAtTheRemovablePath()
    {
        Assert.True(host.Succeeded, "the rehearsal of y failed:\n" + host.Why);
        string result = host.Result!.Output;
        // Both phases under OVMF: the engine saw /sys/firmware/efi and made the ESP before the root (msdos).
        Assert.Contains("rehearse y: QEMU (tcg, UEFI (OVMF)", result);
        Assert.Matches(@"root /dev/vda2 \(ext4, UUID [0-9a-f-]{36}\) mounted at \S+, EFI /dev/vda1 at /boot/efi", result);
        Assert.Matches(@"running provision\(\) in the image \(disk=/dev/vda root=/dev/vda2 boot=uefi\)", result);
        Assert.DoesNotContain("SeaBIOS", File.ReadAllText(Path.Combine(host.WorkDirectory, "boot-console.log")));

        // The disk as the firmware reads it: an msdos table, the ESP (type ef, vfat) first, GRUB at EFI/BOOT/BOOTX64.EFI.
        var table = ProcessRunner.Run("sfdisk", "--dump", host.InstallDisk);
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains("label: dos", table.StandardOutput);
        Assert.Matches(@"disk0\.img1 : start=\s*2048, size=\s*524288, type=ef", table.StandardOutput);
        Assert.Matches(@"disk0\.img2 : start=\s*526336, .*type=83, bootable", table.StandardOutput);
        string listing = DiskImage.ListFat(host.InstallDisk, 2048, 524288);
        output.WriteLine(listing);
        Assert.Contains("/EFI/BOOT/BOOTX64.EFI", listing, StringComparison.OrdinalIgnoreCase);

        // GRUB names the root by its UUID (the engine links /dev/disk/by-uuid for grub-mkconfig in an installer
        // without udev), not as /dev/vda2: the disk boots in any position (the reinstall below boots it second).
        // Read in the image itself (e2fsprogs' IMAGE?offset=N), not through a loop device another test's engine may detach or reuse.
        var config = ProcessRunner.Run("debugfs", "-R", "cat /boot/grub/grub.cfg", $"{host.InstallDisk}?offset={526336L * 512}");
        Assert.True(config.ExitCode == 0 && config.StandardOutput.Length > 0, config.ToString());
        Assert.Matches(@"(?m)^\s*linux\s+/boot/vmlinuz-\S+ root=UUID=[0-9a-f-]{36} ", config.StandardOutput);
        Assert.DoesNotContain("root=/dev/", config.StandardOutput);
    }

    [Fact]
    public void PublishReinstallsTheRehearsedYAndItComesBackWithTheChange()
    {
        Assert.True(host.Succeeded, "the rehearsal of y failed:\n" + host.Why);
        string directory = Path.Combine(host.Root, "vm");
        // The rehearsal's disks, the installed system behind the data disk (snapshot: the rehearsal's disk stays as
        // it was): the system boots from the second disk, which it names by UUID, not as the vda it was installed on,
        // and the reinstall takes that disk, though no TargetDisk names it (the first install's case, on UEFI).
        // y's firmware: the rehearsal's, with the variable store it left (a server keeps its NVRAM).
        Directory.CreateDirectory(directory);
        string rehearsalVars = Path.Combine(host.WorkDirectory, "OVMF_VARS.fd"), vars = Path.Combine(directory, "OVMF_VARS.fd");
        Assert.True(File.Exists(rehearsalVars), "the UEFI rehearsal left no variable store at " + rehearsalVars);
        File.Copy(rehearsalVars, vars);
        using var vm = InstalledHostVm.Start(directory, host.InstallDisk, host.DataDisk, host.Mirror.Mirror, network: DnsHostNetwork.Of("y"),
            bootDiskSecond: true, firmware: QemuFirmware.Uefi(vars));
        host.Copy.TargetVm(vm, directory);
        Assert.Equal(host.Fingerprint, vm.HostKeyFingerprint());
        DnsDeployChecks.PublishAChangeAndVerify(host.Copy, vm, "vdb", host.DataSha256, output);
    }
}
