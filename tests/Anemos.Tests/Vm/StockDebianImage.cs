using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Anemos.Tests.Engine;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Vm;

/// <summary>
/// A stock Debian 12 disk as a provider hands it out: systemd, a `debian` user with passwordless
/// sudo and the test's key, root refused over ssh, DHCP by systemd-networkd, Debian's kernel
/// booted by GRUB from the disk (serial console), a fixed ssh host key the test pins. Built on this
/// machine by our own engine (makeimg, raw msdos ext4 through a loop device) from the local mirror,
/// and cached under /var/cache/anemos-tests/stock-debian-HASH/ keyed by the IMGBUILD, its files
/// and the mirror's package set: a second run finds it in seconds. The keys are made with the
/// image and kept beside it. Boot it with snapshot=on: the cached disk never changes.
/// </summary>
/// <param name="BuildTime">How long makeimg took to build it (when it was built, not found).</param>
/// <param name="Cached">Found in the cache rather than built by this call.</param>
public sealed record StockDebianImage(string Disk, string DeployKey, string HostKeyFingerprint, TimeSpan BuildTime, bool Cached)
{
    /// <summary>The user a provider's image lets in, and the name its console's login prompt shows.</summary>
    public const string User = "debian", HostName = "debian";

    const string Imgbuild = """
        # A stock Debian 12 cloud-like image (tests/Anemos.Tests/Vm/StockDebianImage.cs), with the
        # cloud kernel Debian's own cloud images carry.
        target=debian
        debian_suite=bookworm
        debian_mirror=${MIRROR}
        debian_variant=minbase
        format="raw 8G msdos ext4"
        hostconf="hostname=debian timezone=UTC locale=C.UTF-8"
        packages="linux-image-cloud-amd64 grub-pc systemd-sysv sudo openssh-server iproute2"

        provision() {
            useradd -m -s /bin/bash debian
            install -d -m 0700 -o debian -g debian /home/debian/.ssh
            install -m 0600 -o debian -g debian /etc/stock/authorized_keys /home/debian/.ssh/authorized_keys
            chmod 0440 /etc/sudoers.d/debian
            # The pinned host key only: no other key type to negotiate.
            rm -f /etc/ssh/ssh_host_*
            install -m 0600 /etc/stock/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key
            install -m 0644 /etc/stock/ssh_host_ed25519_key.pub /etc/ssh/ssh_host_ed25519_key.pub
            rm -rf /etc/stock
            systemctl enable systemd-networkd.service ssh.service

            grub-install --target=i386-pc --modules="part_msdos ext2" "$ANEMOS_INSTALL_DISK"
            update-grub
            # No udev in the build's chroot, so no /dev/disk/by-uuid: grub-mkconfig names the loop
            # partition as the root. The machine knows its root by UUID, as fstab does.
            sed -i "s|root=$ANEMOS_ROOT_PARTITION |root=UUID=$ANEMOS_ROOT_UUID |" /boot/grub/grub.cfg
            grep -q "^[[:space:]]*linux.* root=UUID=$ANEMOS_ROOT_UUID " /boot/grub/grub.cfg
        }
        """;

    /// <summary>files/ of the IMGBUILD (the keys come from the cache folder).</summary>
    static readonly (string Path, string Text)[] Files =
    [
        ("etc/sudoers.d/debian", "debian ALL=(ALL) NOPASSWD:ALL\n"),
        ("etc/ssh/sshd_config.d/50-stock.conf", "PermitRootLogin no\nPasswordAuthentication no\nHostKey /etc/ssh/ssh_host_ed25519_key\n"),
        ("etc/systemd/network/50-dhcp.network", "[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\n"),
        ("etc/default/grub.d/50-stock.cfg",
            "GRUB_TERMINAL=\"console serial\"\nGRUB_SERIAL_COMMAND=\"serial --unit=0 --speed=115200\"\nGRUB_CMDLINE_LINUX=\"console=tty0 console=ttyS0,115200\"\nGRUB_TIMEOUT=0\n"),
    ];

    static string CacheRoot => Environment.GetEnvironmentVariable("ANEMOS_STOCK_IMAGE_CACHE") is { Length: > 0 } d ? d : "/var/cache/anemos-tests";

    /// <summary>The cached image for these inputs, built (and cached) when there is none.</summary>
    public static StockDebianImage Get(DebianMirrorFixture mirror)
    {
        var inputs = new StringBuilder(Imgbuild).Append('\0');
        foreach (var (path, text) in Files) inputs.Append(path).Append('\0').Append(text).Append('\0');
        inputs.Append(mirror.PackageSet);
        string key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(inputs.ToString())))[..16];
        string cache = Path.Combine(CacheRoot, "stock-debian-" + key);
        var image = new StockDebianImage(Path.Combine(cache, "disk.img"), Path.Combine(cache, "deploy"), "", TimeSpan.Zero, Cached: true);
        bool cached;
        // Two classes want the image at once (their fixtures start together): one builds, the other waits for it.
        using (CacheLock.Acquire(Path.Combine(CacheRoot, "stock-debian"), TimeSpan.FromMinutes(40)))
        {
            cached = File.Exists(image.Disk);
            if (!cached) Build(mirror, cache);
        }
        string fingerprint = ProcessRunner.Run("ssh-keygen", "-lf", Path.Combine(cache, "ssh_host_ed25519_key.pub")).StandardOutput.Split(' ')[1];
        var time = TimeSpan.FromSeconds(double.Parse(File.ReadAllText(Path.Combine(cache, "build-seconds")), System.Globalization.CultureInfo.InvariantCulture));
        return image with { HostKeyFingerprint = fingerprint, BuildTime = time, Cached = cached };
    }

    static void Build(DebianMirrorFixture mirror, string cache)
    {
        // Built beside the cache folder and renamed into place whole: an interrupted build leaves no half image.
        string work = cache + ".building-" + Environment.ProcessId;
        // Under the cache's lock no other build runs: a .building- folder is a killed run's (1 GiB each).
        foreach (string stale in Directory.GetDirectories(CacheRoot, "stock-debian-*.building-*")) Directory.Delete(stale, recursive: true);
        string folder = mirror.NewProject("stock-debian-" + Environment.ProcessId, Imgbuild);
        foreach (var (path, text) in Files) Write(Path.Combine(folder, "files", path), text);
        Directory.CreateDirectory(work);
        foreach (var (name, comment) in new[] { ("deploy", "debian@stock"), ("ssh_host_ed25519_key", "root@debian") })
        {
            var keygen = ProcessRunner.Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", Path.Combine(work, name));
            Assert.True(keygen.ExitCode == 0, keygen.ToString());
        }
        string stock = Path.Combine(folder, "files", "etc", "stock");
        Directory.CreateDirectory(stock);
        File.Copy(Path.Combine(work, "deploy.pub"), Path.Combine(stock, "authorized_keys"));
        File.Copy(Path.Combine(work, "ssh_host_ed25519_key"), Path.Combine(stock, "ssh_host_ed25519_key"));
        File.Copy(Path.Combine(work, "ssh_host_ed25519_key.pub"), Path.Combine(stock, "ssh_host_ed25519_key.pub"));

        var clock = Stopwatch.StartNew();
        // A whole Debian with a kernel and its initramfs (Debian's MODULES=most, as a stock image has
        // it): about 2 minutes on an idle machine, many more beside two VM tests.
        var result = Makeimg.Run(folder, mirror.Environment(), TimeSpan.FromMinutes(20), "--image", Path.Combine(work, "disk.img"));
        Makeimg.AssertSucceeded(result);
        File.WriteAllText(Path.Combine(work, "build-seconds"), clock.Elapsed.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture));
        Directory.Delete(folder, recursive: true);
        if (Directory.Exists(cache)) Directory.Delete(cache, recursive: true);
        Directory.Move(work, cache);
        // Images of older inputs are of no further use (each holds about 1 GiB).
        foreach (string old in Directory.GetDirectories(CacheRoot, "stock-debian-*").Where(d => d != cache && !d.Contains(".building-", StringComparison.Ordinal)))
            Directory.Delete(old, recursive: true);
    }

    static void Write(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }
}
