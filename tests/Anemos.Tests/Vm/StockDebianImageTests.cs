using Anemos.Tests.Engine;
using Anemos.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Anemos.Tests.Vm;

/// <summary>
/// The stock Debian 12 disk the first-install test starts from, read from outside with sfdisk,
/// fsck.fat and debugfs: gpt with a BIOS boot partition, an ext4 root and an ESP with GRUB at the
/// removable path (it boots under BIOS and UEFI), GRUB's menu with Debian's kernel on the serial console,
/// the `debian` user with passwordless sudo and the test's key, the pinned host key only.
/// </summary>
[EndToEnd(Needs.Qemu)]
public sealed class StockDebianImageTests(DnsMirrorFixture mirror, ITestOutputHelper output) : IClassFixture<DnsMirrorFixture>
{
    [Fact]
    public async Task TheStockImageBootsDebianWithGrubAndLetsDebianInWithSudo()
    {
        // On the thread pool: the image is built once (minutes), often by FirstInstallVmTests'
        // fixture, and waiting for it must not hold one of xunit's test threads.
        var image = await Task.Run(() => StockDebianImage.Get(mirror));
        output.WriteLine(image.Cached ? $"stock image: cached (built natively in {image.BuildTime.TotalSeconds:0} s)" : $"stock image: built natively in {image.BuildTime.TotalSeconds:0} s");

        var (label, partitions) = DiskImage.PartitionTable(image.Disk);
        Assert.Equal("gpt", label);
        Assert.Equal(["21686148-6449-6E6F-744E-656564454649", "0FC63DAF-8483-4772-8E79-3D69D8477DE4", "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"],
            partitions.Select(p => p.Type).ToArray());
        // BIOS GRUB's core fills the BIOS boot partition's start; UEFI GRUB is at the ESP's removable path.
        Assert.NotEqual(0, DiskImage.ReadBytes(image.Disk, partitions[0].Start * 512, 512).Max());
        Assert.Contains("/EFI/BOOT/BOOTX64.EFI", DiskImage.ListFat(image.Disk, partitions[2].Start, partitions[2].Sectors), StringComparison.OrdinalIgnoreCase);
        // debugfs reads the partition in place (the image is 8 GiB: no copy).
        string root = $"{image.Disk}?offset={partitions[1].Start * 512}";
        string grub = DiskImage.ReadFile(root, "/boot/grub/grub.cfg");
        Assert.Matches(@"(?m)^\s*linux\s+/boot/vmlinuz-\S+ root=UUID=\S+ .*console=ttyS0", grub);
        Assert.Contains("debian ALL=(ALL) NOPASSWD:ALL", DiskImage.ReadFile(root, "/etc/sudoers.d/debian"));
        Assert.Equal(File.ReadAllText(image.DeployKey + ".pub"), DiskImage.ReadFile(root, "/home/debian/.ssh/authorized_keys"));
        Assert.Contains("PermitRootLogin no", DiskImage.ReadFile(root, "/etc/ssh/sshd_config.d/50-stock.conf"));
        Assert.Contains(":/home/debian:/bin/bash", DiskImage.ReadFile(root, "/etc/passwd"));
        Assert.StartsWith("ssh-ed25519 ", DiskImage.ReadFile(root, "/etc/ssh/ssh_host_ed25519_key.pub"));
    }
}
