using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Engine;

/// <summary>
/// A signed pacman repository, laid out as an Arch mirror (core/os/x86_64/core.db), with what an
/// Arch-layout system needs to boot to a login and answer ssh: the meta packages base, linux, grub
/// and openssh (and filesystem, which they all depend on). No Arch mirror is reachable here, so
/// their contents are Debian 12's binaries: each Debian package of their closure (as apt resolves
/// it on an empty system; fetched once with `apt-get download` into
/// /var/cache/anemos-tests/arch-bootable) is repackaged by makepkg (as nobody) under its Debian
/// name, its files at Debian's paths with /bin, /sbin and /lib* merged into /usr, as on a merged-/usr
/// Debian 12, so its binaries find their libraries; filesystem links /bin, /sbin, /lib and /lib64
/// there. What Debian's maintainer scripts would do, the metas' .INSTALL scripts do, each after its
/// dependencies are in (users and groups, shadow, PAM's common files, host keys, the initramfs).
/// The kernel is Debian's cloud kernel, renamed /boot/vmlinuz-linux; its initramfs,
/// /boot/initramfs-linux.img, is made by linux's post_install with Debian's mkinitramfs, inside
/// pacstrap's chroot (which has /proc, /sys and /dev), as Arch's mkinitcpio hook makes it at
/// install time: pacstrap's result boots without a step of the engine's.
/// The packages are signed by the <see cref="ArchRepositoryFixture"/>'s fresh packager key, which
/// only its test archlinux-keyring (in core too) makes valid, so every install runs the engine's
/// keyring refresh; the database is signed by its packager key, which keys/ trusts.
/// </summary>
public sealed class ArchBootableRepositoryFixture : IAsyncLifetime
{
    /// <summary>The Arch meta packages with the Debian packages each stands for (apt adds their dependencies).</summary>
    static readonly (string Name, string[] Debian, string Description)[] MetaPackages =
    [
        ("filesystem", ["base-files", "base-passwd", "usr-is-merged", "libc-bin", "dash", "bash", "coreutils"],
            "the merged-/usr links, the system users and groups, a shell"),
        ("base", ["systemd", "systemd-sysv", "systemd-resolved", "udev", "util-linux", "mount", "login", "passwd", "libpam-runtime", "kmod", "procps",
                "iproute2", "findutils", "grep", "sed", "gzip", "tar", "diffutils", "e2fsprogs", "tzdata", "ncurses-base"],
            "systemd as init and the tools of a minimal system"),
        ("linux", ["linux-image-cloud-amd64", "initramfs-tools", "zstd"], "Debian's cloud kernel as /boot/vmlinuz-linux with its initramfs"),
        ("grub", ["grub-pc-bin", "grub-efi-amd64-bin", "grub2-common"], "grub-install and grub-mkconfig for BIOS and UEFI"),
        ("openssh", ["openssh-server", "passwd"], "sshd with its privilege-separation user and host keys"),
    ];

    /// <summary>The Arch package names the IMGBUILDs install.</summary>
    public const string Packages = "base linux grub openssh";

    readonly ArchRepositoryFixture _keys = new();

    public string Root { get; } = TestProject.NewDirectory();
    /// <summary>A folder laid out as an Arch mirror: core/os/x86_64/core.db.</summary>
    public string ArchLayoutMirror => Path.Combine(Root, "arch-mirror");
    /// <summary>The kernel's version (its modules are under /usr/lib/modules/VERSION).</summary>
    public string KernelVersion { get; private set; } = "";
    /// <summary>How long making the repository took (with the packages cached: signing and repo-add).</summary>
    public TimeSpan BuildTime { get; private set; }
    /// <summary>The mirror's size on disk.</summary>
    public long MirrorBytes => Directory.GetFiles(ArchLayoutMirror, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);

    static string CacheDirectory =>
        System.Environment.GetEnvironmentVariable("ANEMOS_DEBIAN_MIRROR_CACHE") is { Length: > 0 } d
            ? Path.Combine(d, "arch-bootable") : "/var/cache/anemos-tests/arch-bootable";

    public async Task InitializeAsync()
    {
        Tier.RequireEndToEnd(Needs.Bootstrap);
        EngineTools.Require();
        var clock = Stopwatch.StartNew();
        // On the thread pool: the download and makepkg must not hold one of xunit's few test threads.
        await Task.Run(() =>
        {
            // The mirror's copies are made under the lock too: another run with another recipe would replace the cached packages.
            using (CacheLock.Acquire(CacheDirectory, TimeSpan.FromMinutes(30)))
            {
                var closures = MetaPackages.ToDictionary(m => m.Name, m => Closure(m.Name == "filesystem" ? m.Debian : [.. MetaPackages[0].Debian, .. m.Debian]));
                string debs = CachedDebs(closures.Values.SelectMany(c => c).Distinct().Order(StringComparer.Ordinal).ToList());
                PublishMirror(CachedPackages(debs, closures));
            }
        });
        BuildTime = clock.Elapsed;
    }

    static ProcessResult Sh(string script, params string[] arguments) =>
        ProcessRunner.Run("/bin/sh", ["-c", script, "sh", .. arguments], timeout: TimeSpan.FromMinutes(20));

    /// <summary>The Debian packages (NAME=VERSION) apt installs for <paramref name="roots"/> on an empty system, without recommends.</summary>
    static string[] Closure(string[] roots)
    {
        if (ProcessRunner.Run("apt-cache", "show", "linux-image-cloud-amd64").ExitCode != 0)
            Assert.True(ProcessRunner.Run("apt-get", ["update", "-q"], timeout: TimeSpan.FromMinutes(10)).ExitCode == 0, "apt-get update failed");
        Directory.CreateDirectory(CacheDirectory);
        string empty = Path.Combine(CacheDirectory, "empty-status");
        File.WriteAllText(empty, "");
        var simulated = ProcessRunner.Run("apt-get", ["install", "-s", "-q", "-o", "Dir::State::Status=" + empty,
            "-o", "APT::Install-Recommends=false", .. roots]);
        Assert.True(simulated.ExitCode == 0, $"apt-get cannot resolve {string.Join(' ', roots)}:\n{simulated}");
        return [.. Regex.Matches(simulated.StandardOutput, @"^Inst (\S+) \((\S+) ", RegexOptions.Multiline)
            .Select(m => $"{m.Groups[1].Value}={m.Groups[2].Value}")];
    }

    /// <summary>The folder of the .debs of <paramref name="set"/>, downloaded when the set changed.</summary>
    static string CachedDebs(List<string> set) => DebianMirrorFixture.CachedDebs(CacheDirectory, set);

    /// <summary>Our makepkg.conf: zstd at its fastest level on both cores, Debian's files as they are.</summary>
    const string MakepkgConf = """
        source /etc/makepkg.conf
        PKGEXT=.pkg.tar.zst
        COMPRESSZST=(zstd -c -q -T0 -1 -)
        OPTIONS=(!strip !docs !libtool !staticlibs emptydirs !zipman !purge !debug !lto)

        """;

    /// <summary>
    /// The folder of the unsigned packages, made by makepkg (4 to 10 minutes on two busy cores) when the .debs or
    /// the recipe changed: it is cached by the hash of the PKGBUILD, the .INSTALL scripts and
    /// makepkg.conf; the signatures are each run's, as its keys are.
    /// </summary>
    string CachedPackages(string debs, Dictionary<string, string[]> closures)
    {
        var debian = closures.Values.SelectMany(c => c).Distinct().Select(e => e.Split('=')).ToDictionary(e => e[0], e => e[1]);
        KernelVersion = debian.Keys.Single(n => Regex.IsMatch(n, @"^linux-image-\d.*-cloud-amd64$"))["linux-image-".Length..];
        var recipe = new Dictionary<string, string> { ["PKGBUILD"] = Pkgbuild(debian, closures), ["makepkg.conf"] = MakepkgConf };
        foreach (var (name, script) in InstallScripts()) recipe[name + ".install"] = script;
        string hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
            Encoding.UTF8.GetBytes(string.Concat(recipe.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{r.Key}\0{r.Value}\0")))))[..16];
        string cached = Path.Combine(CacheDirectory, "packages-" + hash);
        string complete = Path.Combine(cached, "complete");
        if (File.Exists(complete)) return cached;
        foreach (string old in Directory.GetDirectories(CacheDirectory, "packages-*")) Directory.Delete(old, recursive: true);

        string build = Path.Combine(Root, "build");
        string packages = Path.Combine(Root, "packages");
        Directory.CreateDirectory(Path.Combine(build, "debs"));
        Directory.CreateDirectory(packages);
        foreach (string name in debian.Keys)
        {
            string deb = Directory.GetFiles(debs, name + "_*.deb").Single(f => Path.GetFileName(f).Split('_')[0] == name);
            File.Copy(deb, Path.Combine(build, "debs", name + ".deb"));
        }
        foreach (var (name, text) in recipe) File.WriteAllText(Path.Combine(build, name), text);
        var chown = ProcessRunner.Run("chown", "-R", "65534:65534", build, packages);
        Assert.True(chown.ExitCode == 0, chown.ToString());
        var made = ProcessRunner.Run("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups",
                "env", $"HOME={build}", $"PKGDEST={packages}", $"BUILDDIR={build}/work", $"SRCDEST={build}",
                "makepkg", "--config", Path.Combine(build, "makepkg.conf"), "--nodeps", "--noconfirm"],
            build, timeout: TimeSpan.FromMinutes(20));
        Assert.True(made.ExitCode == 0, "makepkg failed:\n" + made);
        Directory.Delete(build, recursive: true);
        Directory.CreateDirectory(cached);
        foreach (string package in Directory.GetFiles(packages)) File.Move(package, Path.Combine(cached, Path.GetFileName(package)));
        File.WriteAllText(complete, "");
        return cached;
    }

    /// <summary>core/os/x86_64: the packages, signed by the fresh key, and the test archlinux-keyring; core.db signed by the packager key.</summary>
    void PublishMirror(string packages)
    {

        string core = Path.Combine(ArchLayoutMirror, "core", "os", "x86_64");
        Directory.CreateDirectory(core);
        string keyring = Directory.GetFiles(Path.Combine(_keys.ArchLayoutMirror, "core", "os", "x86_64"), "archlinux-keyring-*.pkg.tar.gz").Single();
        foreach (string file in new[] { keyring, keyring + ".sig" }) File.Copy(file, Path.Combine(core, Path.GetFileName(file)));
        var signed = Sh("""
            set -e
            packages=$1 core=$2 fresh=$3 packager=$4
            export GNUPGHOME=$5
            cp "$packages"/*.pkg.tar.zst "$core/"
            for package in "$core"/*.pkg.tar.zst; do
                gpg --batch --quiet --no-permission-warning --local-user "$fresh" --detach-sign "$package"
            done
            repo-add -q --sign --key "$packager" "$core/core.db.tar.gz" "$core"/*.pkg.tar.zst "$core"/archlinux-keyring-*.pkg.tar.gz
            """, packages, core, _keys.FreshFingerprint, _keys.PackagerFingerprint, _keys.GnupgHome);
        ProcessRunner.Run("gpgconf", "--homedir", _keys.GnupgHome, "--kill", "all");
        Assert.True(signed.ExitCode == 0, "signing the packages or repo-add failed:\n" + signed);
    }

    /// <summary>
    /// One split PKGBUILD: a package of each Debian package (its version in pkgdesc: a split
    /// PKGBUILD has one pkgver) and the metas, which depend on their closures.
    /// </summary>
    string Pkgbuild(Dictionary<string, string> debian, Dictionary<string, string[]> closures)
    {
        var text = new StringBuilder($$"""
            pkgbase=anemos-debian-bookworm
            pkgname=({{string.Join(' ', debian.Keys.Concat(MetaPackages.Select(m => m.Name)))}})
            pkgver=12
            pkgrel=1
            arch=(x86_64)
            license=(custom)

            # _debian NAME: the .deb's files in $pkgdir, /bin, /sbin and /lib* merged into /usr (as
            # Debian 12's merged-/usr systems have them), without documentation and without SysV
            # init scripts (Arch has none; with them systemctl enable wants Debian's update-rc.d).
            _debian() {
                dpkg-deb -x "$startdir/debs/$1.deb" "$pkgdir"
                cd "$pkgdir"
                for dir in bin sbin lib lib32 lib64 libx32; do
                    [ -d "$dir" ] && [ ! -L "$dir" ] || continue
                    mkdir -p "usr/$dir"
                    cp -a "$dir/." "usr/$dir/"
                    rm -rf "$dir"
                done
                rm -rf usr/share/doc usr/share/man usr/share/info usr/share/lintian etc/init.d etc/rc?.d
            }

            """);
        foreach (var (name, version) in debian)
        {
            text.Append($"package_{name}() {{\n    pkgdesc=\"Debian 12 {name} {version}, repackaged for the Anemos tests\"\n    _debian {name}\n");
            // Arch's kernel name, which grub-mkconfig pairs with /boot/initramfs-linux.img.
            if (name == "linux-image-" + KernelVersion) text.Append($"    mv boot/vmlinuz-{KernelVersion} boot/vmlinuz-linux\n");
            text.Append("}\n");
        }
        foreach (var (name, _, description) in MetaPackages)
        {
            var depends = closures[name].Select(e => e.Split('=')[0]).Append(name == "filesystem" ? null : "filesystem").OfType<string>();
            text.Append($"package_{name}() {{\n    pkgdesc=\"{description} (Debian 12's binaries)\"\n    arch=(any)\n")
                .Append($"    depends=({string.Join(' ', depends)})\n    install={name}.install\n")
                .Append(MetaFiles(name)).Append("}\n");
        }
        return text.ToString();
    }

    /// <summary>A meta package's own files (package()'s body).</summary>
    static string MetaFiles(string meta) => meta switch
    {
        "filesystem" => """
                for dir in bin sbin lib lib64; do ln -s "usr/$dir" "$pkgdir/$dir"; done
                install -d "$pkgdir/etc"
                printf '%s\n' /bin/sh /usr/bin/sh /bin/bash /usr/bin/bash /bin/dash /usr/bin/dash >"$pkgdir/etc/shells"

            """,
        // What pam-auth-update (a perl and debconf script) makes of libpam-runtime's pam_unix profile.
        "base" => """
                install -d "$pkgdir/etc/pam.d"
                cd "$pkgdir/etc/pam.d"
                printf '%s\n' 'auth [success=1 default=ignore] pam_unix.so nullok' 'auth requisite pam_deny.so' 'auth required pam_permit.so' >common-auth
                printf '%s\n' 'account [success=1 new_authtok_reqd=done default=ignore] pam_unix.so' 'account requisite pam_deny.so' 'account required pam_permit.so' >common-account
                printf '%s\n' 'password [success=1 default=ignore] pam_unix.so obscure yescrypt' 'password requisite pam_deny.so' 'password required pam_permit.so' >common-password
                printf '%s\n' 'session [default=1] pam_permit.so' 'session requisite pam_deny.so' 'session required pam_permit.so' 'session required pam_unix.so' >common-session
                cp common-session common-session-noninteractive

            """,
        _ => "    :\n",
    };

    /// <summary>The metas' .INSTALL scripts: what Debian's postinsts would do, run once their dependencies are in.</summary>
    IEnumerable<(string Meta, string Script)> InstallScripts() =>
    [
        ("filesystem", """
            post_install() {
                # base-passwd's postinst: the system users and groups from its masters.
                [ -e /etc/passwd ] || cp /usr/share/base-passwd/passwd.master /etc/passwd
                [ -e /etc/group ] || cp /usr/share/base-passwd/group.master /etc/group
            }

            """),
        ("base", """
            post_install() {
                # passwd's postinst (shadowconfig on) and systemd's: shadow files, systemd's users, a getty on tty1.
                pwconv
                grpconv
                systemd-sysusers
                systemctl enable getty@tty1.service
                # Arch's filesystem has wheel (sudo's group there); Debian's base-passwd has not.
                getent group wheel >/dev/null || groupadd --system wheel
            }

            """),
        ("linux", $$"""
            post_install() {
                # linux-image's postinst: the modules' index and, as its initramfs-tools hook, the
                # initramfs (Arch's name).
                depmod -a {{KernelVersion}}
                mkinitramfs -o /boot/initramfs-linux.img {{KernelVersion}}
            }

            """),
        ("grub", """
            post_install() {
                # grub-pc's postinst: /etc/default/grub, which grub-mkconfig reads, from Debian's template.
                [ -e /etc/default/grub ] || { mkdir -p /etc/default && cp /usr/share/grub/default/grub /etc/default/grub; }
            }

            """),
        ("openssh", """
            post_install() {
                # openssh-server's postinst: sshd_config, the privilege-separation user, host keys, the service.
                [ -e /etc/ssh/sshd_config ] || cp /usr/share/openssh/sshd_config /etc/ssh/sshd_config
                getent passwd sshd >/dev/null || useradd --system --home-dir /run/sshd --no-create-home --shell /usr/sbin/nologin --gid nogroup sshd
                ssh-keygen -A
                systemctl enable ssh.service
            }

            """),
    ];

    /// <summary>
    /// An IMGBUILD project folder: a pacman.conf whose only repository is core from this mirror,
    /// its database's signature required too, and keys/packager.gpg, the key that signed it.
    /// </summary>
    public string NewProject(string name, string imgbuild)
    {
        string folder = Path.Combine(Root, "projects", name);
        Directory.CreateDirectory(Path.Combine(folder, "keys"));
        File.Copy(_keys.PackagerKeyring, Path.Combine(folder, "keys", "packager.gpg"));
        File.WriteAllText(Path.Combine(folder, "pacman.conf"), $"""
            [options]
            Architecture = auto

            [core]
            SigLevel = Required
            Server = file://{ArchLayoutMirror}/$repo/os/$arch

            """);
        File.WriteAllText(Path.Combine(folder, "IMGBUILD"), imgbuild);
        return folder;
    }

    public Task DisposeAsync()
    {
        _keys.Dispose();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        return Task.CompletedTask;
    }
}
