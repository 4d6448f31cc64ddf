using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Anemos.Tests.Engine;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Vm;

/// <summary>
/// A stock Debian 12 disk as a provider hands it out: systemd, a `debian` user with passwordless
/// sudo and the test's key, root refused over ssh, DHCP by systemd-networkd, Debian's kernel
/// booted by GRUB from the disk (serial console), a fixed ssh host key the test pins. Like Debian's
/// own cloud images the disk boots under BIOS and UEFI alike: gpt with a BIOS boot partition, the
/// root and an ESP with GRUB at the removable path, so SeaBIOS and OVMF machines start from the
/// same cached image. Built on this machine by our own engine (makeimg, raw gpt ext4 through a
/// loop device) from the local mirror; the ESP is added from outside (<see cref="AddEsp"/>),
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
        format="raw 8G gpt ext4"
        hostconf="hostname=debian timezone=UTC locale=C.UTF-8"
        packages="linux-image-cloud-amd64 grub-pc grub-efi-amd64-bin systemd-sysv sudo openssh-server iproute2"

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

            # Both loaders, one menu. BIOS GRUB's core goes in the BIOS boot partition; UEFI GRUB is one
            # standalone file (its modules inside) that finds the root by UUID and reads the same menu,
            # for the ESP the test adds (this build machine's kernel cannot mount vfat).
            grub-install --target=i386-pc --modules="part_gpt ext2" "$ANEMOS_INSTALL_DISK"
            mkdir -p /boot/stock-efi
            # Its modules are in its memdisk, but the disk's table and file system are loaded by name.
            printf 'insmod part_gpt\ninsmod ext2\nsearch --no-floppy --fs-uuid --set=root %s\nconfigfile ($root)/boot/grub/grub.cfg\n' "$ANEMOS_ROOT_UUID" > /boot/stock-efi/early.cfg
            grub-mkstandalone -O x86_64-efi -o /boot/stock-efi/BOOTX64.EFI "boot/grub/grub.cfg=/boot/stock-efi/early.cfg"
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
        AddEsp(Path.Combine(work, "disk.img"));
        File.WriteAllText(Path.Combine(work, "build-seconds"), clock.Elapsed.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture));
        Directory.Delete(folder, recursive: true);
        if (Directory.Exists(cache)) Directory.Delete(cache, recursive: true);
        Directory.Move(work, cache);
        // Images of older inputs are of no further use (each holds about 1 GiB).
        foreach (string old in Directory.GetDirectories(CacheRoot, "stock-debian-*").Where(d => d != cache && !d.Contains(".building-", StringComparison.Ordinal)))
            Directory.Delete(old, recursive: true);
    }

    /// <summary>Size of the ESP appended to the disk: room for FAT32 with one-sector clusters and GRUB's one file.</summary>
    const long EspBytes = 64L << 20;

    /// <summary>
    /// Appends an ESP to the built disk and puts provision()'s UEFI GRUB at its removable path
    /// (EFI/BOOT/BOOTX64.EFI). The engine makes and mounts an ESP itself only under UEFI, and this
    /// build machine's kernel has no vfat to mount one: the disk grows by the ESP, gpt's backup
    /// header moves to the new end (sfdisk), and dosfstools and mtools write the FAT in the file.
    /// </summary>
    static void AddEsp(string disk)
    {
        var (_, partitions) = DiskImage.PartitionTable(disk);
        string loader = disk + ".BOOTX64.EFI";
        var dump = ProcessRunner.Run("debugfs", "-R", $"dump /boot/stock-efi/BOOTX64.EFI {loader}", $"{disk}?offset={partitions[^1].Start * 512}");
        Assert.True(dump.ExitCode == 0 && File.Exists(loader) && new FileInfo(loader).Length > 0, "provision() left no UEFI GRUB: " + dump);
        long start;
        using (var file = new FileStream(disk, FileMode.Open, FileAccess.ReadWrite))
        {
            start = file.Length;
            file.SetLength(file.Length + EspBytes + (1 << 20)); // and a MiB for gpt's backup table
        }
        foreach (string command in (string[])[
            $"sfdisk --quiet --relocate gpt-bak-std '{disk}'",
            $"echo 'start={start / 512}, size={EspBytes / 512}, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B' | sfdisk --quiet --append '{disk}'",
            $"mkfs.fat -F 32 -s 1 -n ESP --offset {start / 512} '{disk}' {EspBytes / 1024}",
            $"MTOOLS_SKIP_CHECK=1 mmd -i '{disk}@@{start}' ::/EFI ::/EFI/BOOT",
            $"MTOOLS_SKIP_CHECK=1 mcopy -i '{disk}@@{start}' '{loader}' ::/EFI/BOOT/BOOTX64.EFI",
        ])
        {
            var step = ProcessRunner.Shell(command);
            Assert.True(step.ExitCode == 0, $"{command}: {step}");
        }
        File.Delete(loader);
    }

    static void Write(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }
}
