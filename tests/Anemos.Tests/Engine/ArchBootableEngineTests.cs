using Anemos.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Anemos.Tests.Engine;

/// <summary>
/// makeimg with target=arch installing base, linux, grub and openssh from
/// <see cref="ArchBootableRepositoryFixture"/>'s mirror: the tree pacstrap leaves has an init that
/// runs, an sshd whose configuration and host keys pass its own test, a kernel with its initramfs
/// and GRUB's tools, each checked by running it in a chroot of the tree. Booting it is the VM
/// tests' part.
/// </summary>
[EndToEnd(Needs.Bootstrap)]
public sealed class ArchBootableEngineTests(ArchBootableRepositoryFixture fixture, ITestOutputHelper output) : IClassFixture<ArchBootableRepositoryFixture>
{
    static string Imgbuild(string format, string provision = "") => $"""
        imgname=archboot
        target=arch
        format="{format}"
        hostconf="hostname=archbox timezone=Europe/Berlin keymap=de"
        packages="{ArchBootableRepositoryFixture.Packages}"
        {provision}
        """;

    static ProcessResult InTree(string tree, params string[] command) =>
        ProcessRunner.Run("chroot", [tree, .. command], environment: new Dictionary<string, string?> { ["TMPDIR"] = null, ["LC_ALL"] = "C" });

    [Fact]
    public void ADirBuildOfBaseLinuxGrubAndOpensshHasWhatABootNeeds()
    {
        string folder = fixture.NewProject("dir", Imgbuild("dir"));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var result = Makeimg.Run(folder, EngineInputs.Environment(folder, secrets: false), TimeSpan.FromMinutes(20));
        Makeimg.AssertSucceeded(result);
        output.WriteLine($"repository built in {fixture.BuildTime.TotalSeconds:F0} s, {fixture.MirrorBytes >> 20} MiB; makeimg took {clock.Elapsed.TotalSeconds:F0} s");
        // The packages are signed by the key only the repository's archlinux-keyring makes valid.
        Assert.Contains($"makeimg[bootstrap]: keyring: brought up to date from the repositories' archlinux-keyring-{ArchRepositoryFixture.KeyringVersion}", result.Output);
        string tree = Path.Combine(folder, "archboot");

        var installed = ProcessRunner.Run("pacman", "--root", tree, "--dbpath", Path.Combine(tree, "var/lib/pacman"), "-Qq");
        Assert.True(installed.ExitCode == 0, installed.ToString());
        string[] names = installed.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        foreach (string meta in new[] { "filesystem", "base", "linux", "grub", "openssh", "systemd", "openssh-server", "linux-image-" + fixture.KernelVersion })
            Assert.Contains(meta, names);

        var init = InTree(tree, "/usr/lib/systemd/systemd", "--version");
        Assert.True(init.ExitCode == 0 && init.StandardOutput.StartsWith("systemd 252"), init.ToString());
        Assert.Equal("/lib/systemd/systemd", new FileInfo(Path.Combine(tree, "usr/sbin/init")).LinkTarget);

        // sshd -t reads its configuration and host keys; /run/sshd is a tmpfs's folder at boot
        // (ssh.service's RuntimeDirectory), /dev the kernel's.
        var sshd = ProcessRunner.Run("unshare", ["-m", "--propagation", "private", "sh", "-c",
            "mount -o bind /dev \"$1/dev\" && mount -t tmpfs tmpfs \"$1/run\" && mkdir \"$1/run/sshd\" && chroot \"$1\" /usr/sbin/sshd -t", "sh", tree]);
        Assert.True(sshd.ExitCode == 0, "sshd -t failed:\n" + sshd);
        Assert.True(File.Exists(Path.Combine(tree, "etc/ssh/ssh_host_ed25519_key")));
        Assert.Contains(File.ReadAllLines(Path.Combine(tree, "etc/passwd")), l => l.StartsWith("sshd:x:") && l.EndsWith(":/run/sshd:/usr/sbin/nologin"));
        // pwconv: the passwords are in /etc/shadow, root's locked.
        Assert.Contains(File.ReadAllLines(Path.Combine(tree, "etc/shadow")), l => l.StartsWith("root:*:") || l.StartsWith("root:!"));
        Assert.True(File.Exists(Path.Combine(tree, "etc/systemd/system/multi-user.target.wants/ssh.service")));
        // Arch's names: sshd.service (Debian's alias of ssh.service, linked when it was enabled), a wheel group, systemd-resolved.
        Assert.Equal("/lib/systemd/system/ssh.service", new FileInfo(Path.Combine(tree, "etc/systemd/system/sshd.service")).LinkTarget);
        Assert.Contains(File.ReadAllLines(Path.Combine(tree, "etc/group")), l => l.StartsWith("wheel:x:"));
        Assert.True(File.Exists(Path.Combine(tree, "usr/lib/systemd/system/systemd-resolved.service")));
        Assert.True(File.Exists(Path.Combine(tree, "etc/systemd/system/getty.target.wants/getty@tty1.service")));

        Assert.True(new FileInfo(Path.Combine(tree, "boot/vmlinuz-linux")).Length > 4 << 20, "no kernel at /boot/vmlinuz-linux");
        Assert.True(Directory.Exists(Path.Combine(tree, "usr/lib/modules", fixture.KernelVersion)));
        Assert.True(File.Exists(Path.Combine(tree, "usr/lib/modules", fixture.KernelVersion, "modules.dep")), "depmod did not run");
        var initramfs = InTree(tree, "lsinitramfs", "/boot/initramfs-linux.img");
        Assert.True(initramfs.ExitCode == 0, initramfs.ToString());
        Assert.Matches($@"(?m)^(usr/)?lib/modules/{fixture.KernelVersion}/kernel/drivers/block/virtio_blk\.ko", initramfs.StandardOutput);
        foreach (string tool in new[] { "grub-install", "grub-mkconfig" })
        {
            var version = InTree(tree, "/usr/sbin/" + tool, "--version");
            Assert.True(version.ExitCode == 0 && version.StandardOutput.Contains("GRUB"), version.ToString());
        }
        Assert.True(File.Exists(Path.Combine(tree, "usr/lib/grub/i386-pc/boot.img")));
        Assert.True(File.Exists(Path.Combine(tree, "usr/lib/grub/x86_64-efi/normal.mod")));
        Assert.Equal("archbox\n", File.ReadAllText(Path.Combine(tree, "etc/hostname")));
        Assert.Equal("/usr/share/zoneinfo/Europe/Berlin", new FileInfo(Path.Combine(tree, "etc/localtime")).LinkTarget);
        Assert.True(File.Exists(Path.Combine(tree, "usr/share/zoneinfo/Europe/Berlin")));
    }

    [Fact]
    public void ARawBuildsProvisionInstallsGrubWhoseMenuStartsTheKernelWithItsInitramfs()
    {
        string folder = fixture.NewProject("raw", Imgbuild("raw 1G msdos ext4", """
            provision() {
                grub-install --target=i386-pc "$ANEMOS_INSTALL_DISK"
                grub-mkconfig -o /boot/grub/grub.cfg
            }
            """));
        string image = Path.Combine(folder, "disk.img");
        var result = Makeimg.Run(folder, EngineInputs.Environment(folder, secrets: false), TimeSpan.FromMinutes(20), "--image", image);
        Makeimg.AssertSucceeded(result);
        Assert.Contains("Installation finished. No error reported.", result.Output);

        // boot.img, GRUB's first stage, is the disk's boot sector.
        byte[] bootSector = new byte[512];
        using (var disk = File.OpenRead(image)) disk.ReadExactly(bootSector);
        Assert.Contains("GRUB", System.Text.Encoding.ASCII.GetString(bootSector));
        var (_, partitions) = Vm.DiskImage.PartitionTable(image);
        using var partition = ArchEngineTests.PartitionOf(image, Assert.Single(partitions));
        string uuid = ProcessRunner.Run("blkid", "-p", "-s", "UUID", "-o", "value", partition.Device).StandardOutput.Trim();
        Assert.Matches(@"^[0-9a-f-]{36}$", uuid);
        string menu = ArchEngineTests.Debugfs(partition.Device, "cat /boot/grub/grub.cfg");
        Assert.Matches($@"(?m)^\s*linux\s+/boot/vmlinuz-linux root=UUID={uuid} ", menu);
        Assert.Matches(@"(?m)^\s*initrd\s+/boot/initramfs-linux\.img$", menu);
        Assert.Contains("normal.mod", ArchEngineTests.Debugfs(partition.Device, "ls -l /boot/grub/i386-pc"));
    }
}
