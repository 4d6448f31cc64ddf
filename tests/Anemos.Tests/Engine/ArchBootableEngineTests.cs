using Anemos.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Anemos.Tests.Engine;

/// <summary>
/// makeimg with target=arch installing from <see cref="ArchBootableRepositoryFixture"/>'s mirror:
/// samples/bitfehler-net's packages (the dir build), whose tree has an init that runs, an sshd
/// whose configuration and host keys pass its own test, a kernel with its initramfs, GRUB's tools,
/// nginx, sudo, vim and certbot, each checked by running it in a chroot of the tree; and base,
/// linux, grub and openssh on a raw disk with GRUB. Booting one is the VM tests' part
/// (BitfehlerNetRehearsalVmTests).
/// </summary>
[EndToEnd(Needs.Bootstrap)]
public sealed class ArchBootableEngineTests(ArchBootableRepositoryFixture fixture, ITestOutputHelper output) : IClassFixture<ArchBootableRepositoryFixture>
{
    static string Imgbuild(string format, string packages, string provision = "") => $"""
        imgname=archboot
        target=arch
        format="{format}"
        hostconf="hostname=archbox timezone=Europe/Berlin keymap=de"
        packages="{packages}"
        {provision}
        """;

    static ProcessResult InTree(string tree, params string[] command) =>
        ProcessRunner.Run("chroot", [tree, .. command], environment: new Dictionary<string, string?> { ["TMPDIR"] = null, ["LC_ALL"] = "C" });

    [Fact]
    public void ADirBuildOfBitfehlerNetsPackagesHasWhatABootNeedsAndItsServices()
    {
        string[] sample = ArchBootableRepositoryFixture.SamplePackages();
        string folder = fixture.NewProject("dir", Imgbuild("dir", string.Join(' ', sample)));
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
        foreach (string name in sample.Concat(["filesystem", "systemd", "openssh-server", "linux-image-" + fixture.KernelVersion]))
            Assert.Contains(name, names);

        var init = InTree(tree, "/usr/lib/systemd/systemd", "--version");
        Assert.True(init.ExitCode == 0 && init.StandardOutput.StartsWith("systemd 252"), init.ToString());
        Assert.Equal("/lib/systemd/systemd", new FileInfo(Path.Combine(tree, "usr/sbin/init")).LinkTarget);
        // A machine ID, as Arch's systemd makes at install: without one, networkd fails a static link over its DHCPv6 DUID.
        Assert.Matches("^[0-9a-f]{32}\n$", File.ReadAllText(Path.Combine(tree, "etc/machine-id")));

        // sshd -t reads its configuration and host keys; /run/sshd is a tmpfs's folder at boot
        // (ssh.service's RuntimeDirectory), /dev the kernel's.
        var sshd = ProcessRunner.Run("unshare", ["-m", "--propagation", "private", "sh", "-c",
            "mount -o bind /dev \"$1/dev\" && mount -t tmpfs tmpfs \"$1/run\" && mkdir \"$1/run/sshd\" && chroot \"$1\" /usr/sbin/sshd -t", "sh", tree]);
        Assert.True(sshd.ExitCode == 0, "sshd -t failed:\n" + sshd);
        Assert.True(File.Exists(Path.Combine(tree, "etc/ssh/ssh_host_ed25519_key")));
        Assert.Contains(File.ReadAllLines(Path.Combine(tree, "etc/passwd")), l => l.StartsWith("sshd:x:") && l.EndsWith(":/run/sshd:/usr/sbin/nologin"));
        // pwconv: the passwords are in /etc/shadow, root's locked.
        Assert.Contains(File.ReadAllLines(Path.Combine(tree, "etc/shadow")), l => l.StartsWith("root:*:") || l.StartsWith("root:!"));
        // Arch's names: sshd.service (a unit of its own, not Debian's alias of ssh.service, and, as
        // Arch's openssh, not enabled by the package), a wheel group, systemd-resolved.
        string sshdUnit = File.ReadAllText(Path.Combine(tree, "usr/lib/systemd/system/sshd.service"));
        Assert.Contains("ExecStart=/usr/sbin/sshd -D", sshdUnit);
        Assert.DoesNotContain("Alias=", sshdUnit);
        Assert.False(File.Exists(Path.Combine(tree, "etc/systemd/system/sshd.service")), "sshd.service is an alias");
        Assert.False(File.Exists(Path.Combine(tree, "etc/systemd/system/multi-user.target.wants/ssh.service")), "a package enabled ssh.service");
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

        // The rest of bitfehler-net: nginx accepts its configuration, sudo its sudoers (0440), vim and
        // certbot (Python 3) start; nginx.service under Arch's name; the firmware under /usr/lib/firmware.
        var nginx = InTree(tree, "/usr/sbin/nginx", "-t");
        Assert.True(nginx.ExitCode == 0, "nginx -t failed:\n" + nginx);
        Assert.True(File.Exists(Path.Combine(tree, "usr/lib/systemd/system/nginx.service")));
        var sudoers = InTree(tree, "/usr/sbin/visudo", "-c");
        Assert.True(sudoers.ExitCode == 0, "visudo -c failed:\n" + sudoers);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.GroupRead, File.GetUnixFileMode(Path.Combine(tree, "etc/sudoers")));
        Assert.True((File.GetUnixFileMode(Path.Combine(tree, "usr/bin/sudo")) & UnixFileMode.SetUser) != 0, "sudo is not setuid");
        var vim = InTree(tree, "/usr/bin/vim", "--version");
        Assert.True(vim.ExitCode == 0 && vim.StandardOutput.StartsWith("VIM - Vi IMproved"), vim.ToString());
        var certbot = InTree(tree, "/usr/bin/certbot", "--version");
        Assert.True(certbot.ExitCode == 0 && certbot.Output.Contains("certbot 2."), certbot.ToString());
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(tree, "usr/lib/firmware"), "*", SearchOption.AllDirectories));
        Assert.Equal("/usr/share/zoneinfo/Europe/Berlin", new FileInfo(Path.Combine(tree, "etc/localtime")).LinkTarget);
        Assert.True(File.Exists(Path.Combine(tree, "usr/share/zoneinfo/Europe/Berlin")));
    }

    [Fact]
    public void ARawBuildsProvisionInstallsGrubWhoseMenuStartsTheKernelWithItsInitramfs()
    {
        string folder = fixture.NewProject("raw", Imgbuild("raw 1G msdos ext4", ArchBootableRepositoryFixture.Packages, """
            provision() {
                systemctl enable sshd.service
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
        // Arch's unit name enables as IMGBUILDs write it (systemctl refuses an alias).
        Assert.Matches(@"Fast link dest: ""(/usr)?/lib/systemd/system/sshd\.service""", ArchEngineTests.Debugfs(partition.Device, "stat /etc/systemd/system/multi-user.target.wants/sshd.service"));
    }
}
