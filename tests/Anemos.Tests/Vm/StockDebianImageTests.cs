using Anemos.Tests.Engine;
using Anemos.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Anemos.Tests.Vm;

/// <summary>
/// The stock Debian 12 disk the first-install test starts from, read from outside with sfdisk and
/// debugfs: one msdos partition with ext4, GRUB's menu with Debian's kernel on the serial console,
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
        Assert.Equal("dos", label);
        Assert.Single(partitions);
        // debugfs reads the partition in place (the image is 8 GiB: no copy).
        string root = $"{image.Disk}?offset={partitions[0].Start * 512}";
        string grub = DiskImage.ReadFile(root, "/boot/grub/grub.cfg");
        Assert.Matches(@"(?m)^\s*linux\s+/boot/vmlinuz-\S+ root=UUID=\S+ .*console=ttyS0", grub);
        Assert.Contains("debian ALL=(ALL) NOPASSWD:ALL", DiskImage.ReadFile(root, "/etc/sudoers.d/debian"));
        Assert.Equal(File.ReadAllText(image.DeployKey + ".pub"), DiskImage.ReadFile(root, "/home/debian/.ssh/authorized_keys"));
        Assert.Contains("PermitRootLogin no", DiskImage.ReadFile(root, "/etc/ssh/sshd_config.d/50-stock.conf"));
        Assert.Contains(":/home/debian:/bin/bash", DiskImage.ReadFile(root, "/etc/passwd"));
        Assert.StartsWith("ssh-ed25519 ", DiskImage.ReadFile(root, "/etc/ssh/ssh_host_ed25519_key.pub"));
    }
}
