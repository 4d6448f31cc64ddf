using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Engine;

/// <summary>
/// A signed pacman repository, laid out as an Arch mirror (core and extra), with what an
/// Arch-layout system needs to boot to a login and answer ssh (the meta packages base, linux, grub
/// and openssh, and filesystem, which they all depend on) and the rest of samples/bitfehler-net's
/// packages (linux-firmware, sudo, nginx, certbot, certbot-nginx, vim). No Arch mirror is reachable here, so
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
/// keyring refresh; the databases are signed by its packager key, which keys/ trusts.
/// </summary>
public sealed class ArchBootableRepositoryFixture : IAsyncLifetime
{
    /// <summary>
    /// The Arch packages, each with its repository (as on Arch), the Debian packages it stands for
    /// (apt adds their dependencies) and a description. An Arch name that is also a Debian name
    /// (nginx, certbot, sudo, vim) is that Debian package itself, with the rest of its closure as
    /// its dependencies: a split PKGBUILD cannot hold two packages of one name.
    /// </summary>
    static readonly (string Name, string Repository, string[] Debian, string Description)[] ArchPackages =
    [
        ("filesystem", "core", ["base-files", "base-passwd", "usr-is-merged", "libc-bin", "dash", "bash", "coreutils"],
            "the merged-/usr links, the system users and groups, a shell"),
        ("base", "core", ["systemd", "systemd-sysv", "systemd-resolved", "udev", "util-linux", "mount", "login", "passwd", "libpam-runtime", "kmod", "procps",
                "iproute2", "findutils", "grep", "sed", "gzip", "tar", "diffutils", "e2fsprogs", "tzdata", "ncurses-base"],
            "systemd as init and the tools of a minimal system"),
        ("linux", "core", ["linux-image-cloud-amd64", "initramfs-tools", "zstd"], "Debian's cloud kernel as /boot/vmlinuz-linux with its initramfs"),
        ("linux-firmware", "core", ["firmware-linux-free"], "the kernel's free firmware files"),
        ("grub", "core", ["grub-pc-bin", "grub-efi-amd64-bin", "grub2-common"], "grub-install and grub-mkconfig for BIOS and UEFI"),
        ("openssh", "core", ["openssh-server", "passwd"], "sshd with its privilege-separation user and host keys, as sshd.service"),
        ("sudo", "core", ["sudo"], "sudo"),
        ("nginx", "extra", ["nginx"], "nginx with its systemd unit"),
        ("certbot", "extra", ["certbot"], "certbot, Python 3 with it"),
        ("certbot-nginx", "extra", ["python3-certbot-nginx"], "certbot's nginx plugin"),
        ("vim", "extra", ["vim"], "vim as /usr/bin/vim"),
    ];

    /// <summary>The Arch package names the engine tests' IMGBUILDs install: what a boot to a login and ssh needs.</summary>
    public const string Packages = "base linux grub openssh";

    /// <summary>The `packages` of samples/bitfehler-net's IMGBUILD, which this mirror must provide.</summary>
    public static string[] SamplePackages()
    {
        var line = Regex.Match(File.ReadAllText(Repository.PathOf("samples", "bitfehler-net", "IMGBUILD")), "(?m)^packages=\"([^\"]+)\"$");
        Assert.True(line.Success, "samples/bitfehler-net/IMGBUILD has no packages=\"…\" line");
        return line.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
    }

    readonly ArchRepositoryFixture _keys = new();

    public string Root { get; } = TestProject.NewDirectory();
    /// <summary>A folder laid out as an Arch mirror: core/os/x86_64/core.db and extra/os/x86_64/extra.db.</summary>
    public string ArchLayoutMirror => Path.Combine(Root, "arch-mirror");
    /// <summary>The binary keyring of the packager key, which signed the databases: keys/packager.gpg of a project that installs from this mirror.</summary>
    public string PackagerKeyring => _keys.PackagerKeyring;
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
                var closures = ArchPackages.ToDictionary(m => m.Name, m => Closure(m.Name == "filesystem" ? m.Debian : [.. ArchPackages[0].Debian, .. m.Debian]));
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

    /// <summary>
    /// REPO/os/x86_64 for core and extra: each package in its Arch repository (the Debian ones in
    /// core), signed by the fresh key, the test archlinux-keyring in core; each REPO.db signed by
    /// the packager key. Both, as the installer's pacman.conf names both.
    /// </summary>
    void PublishMirror(string packages)
    {
        var repositories = ArchPackages.ToDictionary(p => p.Name, p => p.Repository);
        string Folder(string repository) => Path.Combine(ArchLayoutMirror, repository, "os", "x86_64");
        foreach (string repository in repositories.Values.Distinct()) Directory.CreateDirectory(Folder(repository));
        string keyring = Directory.GetFiles(Path.Combine(_keys.ArchLayoutMirror, "core", "os", "x86_64"), "archlinux-keyring-*.pkg.tar.gz").Single();
        foreach (string file in new[] { keyring, keyring + ".sig" }) File.Copy(file, Path.Combine(Folder("core"), Path.GetFileName(file)));
        foreach (string package in Directory.GetFiles(packages, "*.pkg.tar.zst"))
        {
            string name = Regex.Match(Path.GetFileName(package), @"^(.+)-12-1-(x86_64|any)\.pkg\.tar\.zst$").Groups[1].Value;
            File.Copy(package, Path.Combine(Folder(repositories.GetValueOrDefault(name, "core")), Path.GetFileName(package)));
        }
        var signed = Sh("""
            set -e
            mirror=$1 fresh=$2 packager=$3
            export GNUPGHOME=$4
            for package in "$mirror"/*/os/x86_64/*.pkg.tar.zst; do
                gpg --batch --quiet --no-permission-warning --local-user "$fresh" --detach-sign "$package"
            done
            for folder in "$mirror"/*/os/x86_64; do
                repository=$(basename "$(dirname "$(dirname "$folder")")")
                find "$folder" -name '*.pkg.tar.zst' -o -name '*.pkg.tar.gz' | sort |
                    xargs repo-add -q --sign --key "$packager" "$folder/$repository.db.tar.gz"
            done
            """, ArchLayoutMirror, _keys.FreshFingerprint, _keys.PackagerFingerprint, _keys.GnupgHome);
        ProcessRunner.Run("gpgconf", "--homedir", _keys.GnupgHome, "--kill", "all");
        Assert.True(signed.ExitCode == 0, "signing the packages or repo-add failed:\n" + signed);
    }

    /// <summary>
    /// One split PKGBUILD: a package of each Debian package (its version in pkgdesc: a split
    /// PKGBUILD has one pkgver) but those an Arch package of the same name stands for, and the Arch
    /// packages, which depend on the rest of their closures.
    /// </summary>
    string Pkgbuild(Dictionary<string, string> debian, Dictionary<string, string[]> closures)
    {
        var archNames = ArchPackages.Select(p => p.Name).ToHashSet();
        var debianOnly = debian.Keys.Where(n => !archNames.Contains(n)).ToList();
        var text = new StringBuilder($$"""
            pkgbase=anemos-debian-bookworm
            pkgname=({{string.Join(' ', debianOnly.Concat(archNames))}})
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
                    # Hard links, not copies: the kernel's modules alone are a hundred MB.
                    cp -al "$dir/." "usr/$dir/"
                    rm -rf "$dir"
                done
                rm -rf usr/share/doc usr/share/man usr/share/info usr/share/lintian etc/init.d etc/rc?.d
            }

            """);
        foreach (string name in debianOnly)
        {
            text.Append($"package_{name}() {{\n    pkgdesc=\"Debian 12 {name} {debian[name]}, repackaged for the Anemos tests\"\n    _debian {name}\n");
            // Arch's kernel name, which grub-mkconfig pairs with /boot/initramfs-linux.img.
            if (name == "linux-image-" + KernelVersion) text.Append($"    mv boot/vmlinuz-{KernelVersion} boot/vmlinuz-linux\n");
            text.Append("}\n");
        }
        var scripts = InstallScripts().Select(s => s.Meta).ToHashSet();
        foreach (var (name, _, _, description) in ArchPackages)
        {
            bool isDebian = debian.ContainsKey(name);
            var depends = closures[name].Select(e => e.Split('=')[0]).Where(n => n != name).Append(name == "filesystem" ? null : "filesystem").OfType<string>();
            text.Append($"package_{name}() {{\n    pkgdesc=\"{description} (Debian 12's {(isDebian ? $"{name} {debian[name]}" : "binaries")})\"\n")
                .Append(isDebian ? "" : "    arch=(any)\n")
                .Append($"    depends=({string.Join(' ', depends.Distinct())})\n")
                .Append(scripts.Contains(name) ? $"    install={name}.install\n" : "")
                .Append(isDebian ? $"    _debian {name}\n" : "")
                .Append(ArchFiles(name)).Append("}\n");
        }
        return text.ToString();
    }

    /// <summary>An Arch package's own files, or what Debian's postinst would change in them (package()'s body, after _debian when it is a Debian package).</summary>
    static string ArchFiles(string name) => name switch
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
        // Arch's name for Debian's ssh.service (whose Alias= would shadow it once ssh.service is
        // enabled: systemctl refuses to enable an alias), enabled by the IMGBUILD, not the package.
        "openssh" => """
                install -d "$pkgdir/usr/lib/systemd/system"
                dpkg-deb --fsys-tarfile "$startdir/debs/openssh-server.deb" | tar -xO ./lib/systemd/system/ssh.service |
                    sed '/^Alias=/d' >"$pkgdir/usr/lib/systemd/system/sshd.service"

            """,
        // sudo's postinst: sudo refuses a sudoers that others can read.
        "sudo" => "    chmod 0440 etc/sudoers\n",
        // vim's postinst makes /usr/bin/vim an alternative for vim.basic; Arch's vim has it.
        "vim" => "    ln -s vim.basic usr/bin/vim\n",
        _ => "    :\n",
    };

    /// <summary>The Arch packages' .INSTALL scripts: what Debian's postinsts would do, run once their dependencies are in.</summary>
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
                # passwd's postinst (shadowconfig on) and systemd's (Arch's too): shadow files, the
                # machine ID (without it networkd fails every link it would give a DHCPv6 DUID, and
                # systemd warns at each boot), systemd's users, a getty on tty1.
                pwconv
                grpconv
                systemd-machine-id-setup
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
                # openssh-server's postinst: sshd_config, the privilege-separation user, host keys (the
                # service is left to the IMGBUILD, as Arch's openssh leaves it).
                [ -e /etc/ssh/sshd_config ] || cp /usr/share/openssh/sshd_config /etc/ssh/sshd_config
                getent passwd sshd >/dev/null || useradd --system --home-dir /run/sshd --no-create-home --shell /usr/sbin/nologin --gid nogroup sshd
                ssh-keygen -A
            }

            """),
    ];

    /// <summary>
    /// An IMGBUILD project folder: a pacman.conf with core and extra from this mirror, their
    /// databases' signatures required too, and keys/packager.gpg, the key that signed them.
    /// </summary>
    public string NewProject(string name, string imgbuild)
    {
        string folder = Path.Combine(Root, "projects", name);
        Directory.CreateDirectory(Path.Combine(folder, "keys"));
        File.Copy(PackagerKeyring, Path.Combine(folder, "keys", "packager.gpg"));
        File.WriteAllText(Path.Combine(folder, "pacman.conf"), $"""
            [options]
            Architecture = auto

            [core]
            SigLevel = Required
            Server = file://{ArchLayoutMirror}/$repo/os/$arch

            [extra]
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
