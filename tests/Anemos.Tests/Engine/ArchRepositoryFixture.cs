using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Engine;

/// <summary>
/// A local, signed pacman repository (file://), made here with makepkg (as the unprivileged user
/// nobody), gpg and repo-add. A throwaway "packager" key signs the packages and the database; the
/// engine trusts it through keys/packager.gpg next to each IMGBUILD. anemos-hello holds a static
/// busybox as /bin/sh (so provision() can run in the image) and /etc/anemos-hello.conf (for
/// patches). Beside it, signed by what the engine must refuse: anemos-stranger (signed by a second
/// key, "stranger", that no keyring holds) and anemos-unsigned (no signature). A second repository,
/// strangerdb, holds anemos-hello again, its database signed by the stranger key.
/// For the keyring refresh (issue 26): an archlinux-keyring newer than any keyring the engine
/// starts with, Arch's layout (usr/share/pacman/keyrings) and web of trust: three test master keys
/// (trusted marginally, level 4, as Arch's are), a "fresh" packager key and a "revoked" one, each
/// certified by all three masters (three marginal signatures make a key valid), the revoked one
/// listed in archlinux-revoked. anemoskeyring holds that keyring (signed by the packager key) with
/// anemos-fresh and anemos-revoked, signed by their keys; anemosnokeyring holds anemos-fresh alone;
/// strangerkeyring holds the keyring signed by the stranger key. <see cref="ArchLayoutMirror"/> lays
/// the same out as an Arch mirror (REPO/os/x86_64/REPO.db, for a pacman Server of
/// https://…/$repo/os/$arch): core with the keyring and anemos-fresh, extra with anemos-hello.
/// </summary>
public sealed class ArchRepositoryFixture : IDisposable
{
    public const string Package = "anemos-hello";
    public const string StrangerPackage = "anemos-stranger";
    public const string UnsignedPackage = "anemos-unsigned";
    public const string FreshPackage = "anemos-fresh";
    public const string RevokedPackage = "anemos-revoked";
    /// <summary>The test archlinux-keyring's version (pacman -Q prints "archlinux-keyring 20261207-1").</summary>
    public const string KeyringVersion = "20261207-1";
    public const string ConfigContent = "greeting=hello\ncolor=blue\nsize=3\n";

    public string Root { get; } = TestProject.NewDirectory();
    public string Repository => Path.Combine(Root, "repo");
    /// <summary>A repository whose database the stranger key signed.</summary>
    public string StrangerRepository => Path.Combine(Root, "stranger-repo");
    /// <summary>A folder laid out as an Arch mirror: core/os/x86_64/core.db and extra/os/x86_64/extra.db.</summary>
    public string ArchLayoutMirror => Path.Combine(Root, "arch-mirror");
    /// <summary>The binary keyring of the packager key, which signed the repository.</summary>
    public string PackagerKeyring => Path.Combine(Root, "packager.gpg");
    public string PackagerFingerprint { get; }
    public string StrangerFingerprint { get; }
    public IReadOnlyList<string> MasterFingerprints { get; }
    public string FreshFingerprint { get; }
    public string RevokedFingerprint { get; }
    /// <summary>Each repository's folder by its pacman.conf name.</summary>
    readonly Dictionary<string, string> _repositories = [];

    /// <summary>The gpg home with every test key's secret part, for fixtures that sign more packages.</summary>
    public string GnupgHome => Path.Combine(Root, "gnupg");

    public ArchRepositoryFixture()
    {
        Tier.RequireEndToEnd(Needs.Bootstrap);
        EngineTools.Require();
        string build = Path.Combine(Root, "build");
        Directory.CreateDirectory(build);
        Directory.CreateDirectory(Repository);
        Directory.CreateDirectory(StrangerRepository);
        File.Copy("/usr/bin/busybox", Path.Combine(build, "busybox"));
        PackagerFingerprint = NewKey("Anemos test packager <packager@anemos.test>");
        StrangerFingerprint = NewKey("Anemos test stranger <stranger@anemos.test>");
        MasterFingerprints = [.. Enumerable.Range(1, 3).Select(i => NewKey($"Anemos test master key {i} <master{i}@anemos.test>"))];
        FreshFingerprint = NewKey("Anemos test fresh packager <fresh@anemos.test>");
        RevokedFingerprint = NewKey("Anemos test revoked packager <revoked@anemos.test>");
        _repositories["anemostest"] = Repository;
        _repositories["strangerdb"] = StrangerRepository;
        try
        {
            Export(PackagerFingerprint, PackagerKeyring);
            string hello = MakePackage(build, Package, """
                install -Dm755 "$startdir/../busybox" "$pkgdir/bin/busybox"
                ln -s busybox "$pkgdir/bin/sh"
                install -d "$pkgdir/etc"
                printf '
                """ + ConfigContent.Replace("\n", "\\n") + "' >\"$pkgdir/etc/anemos-hello.conf\"");
            string stranger = MakePackage(build, StrangerPackage, "install -d \"$pkgdir/etc\"; echo stranger >\"$pkgdir/etc/anemos-stranger\"");
            string unsigned = MakePackage(build, UnsignedPackage, "install -d \"$pkgdir/etc\"; echo unsigned >\"$pkgdir/etc/anemos-unsigned\"");
            Sign(PackagerFingerprint, hello);
            Sign(StrangerFingerprint, stranger);
            AddToRepository(PackagerFingerprint, Path.Combine(Repository, "anemostest.db.tar.gz"), hello, stranger, unsigned);

            string copy = Path.Combine(StrangerRepository, Path.GetFileName(hello));
            File.Copy(hello, copy);
            File.Copy(hello + ".sig", copy + ".sig");
            AddToRepository(StrangerFingerprint, Path.Combine(StrangerRepository, "strangerdb.db.tar.gz"), copy);
            MakeKeyringRepositories(build);
        }
        finally
        {
            // gpg started an agent for the signing keys: none outlives the fixture.
            ProcessRunner.Run("gpgconf", "--homedir", GnupgHome, "--kill", "all");
        }
    }

    /// <summary>The refresh's repositories: the newer keyring with the packages only it makes valid.</summary>
    void MakeKeyringRepositories(string build)
    {
        foreach (string master in MasterFingerprints)
            foreach (string packager in new[] { FreshFingerprint, RevokedFingerprint })
            {
                var certified = Gpg("--pinentry-mode", "loopback", "--passphrase", "", "--local-user", master, "--quick-sign-key", packager);
                Assert.True(certified.ExitCode == 0, "gpg --quick-sign-key failed:\n" + certified);
            }
        string keyring = Path.Combine(build, "keyring");
        Directory.CreateDirectory(keyring);
        var exported = Gpg(["--output", Path.Combine(keyring, "archlinux.gpg"), "--export", .. MasterFingerprints, FreshFingerprint, RevokedFingerprint]);
        Assert.True(exported.ExitCode == 0, "gpg --export failed:\n" + exported);
        File.WriteAllText(Path.Combine(keyring, "archlinux-trusted"), string.Concat(MasterFingerprints.Select(m => $"{m}:4:\n")));
        File.WriteAllText(Path.Combine(keyring, "archlinux-revoked"), $"{RevokedFingerprint}\n");
        string keyringPackage = MakePackage(build, "archlinux-keyring", """
            for file in archlinux.gpg archlinux-trusted archlinux-revoked; do
                install -Dm644 "$startdir/../keyring/$file" "$pkgdir/usr/share/pacman/keyrings/$file"
            done
            """, KeyringVersion);
        string fresh = MakePackage(build, FreshPackage, "install -d \"$pkgdir/etc\"; echo fresh >\"$pkgdir/etc/anemos-fresh\"");
        string revoked = MakePackage(build, RevokedPackage, "install -d \"$pkgdir/etc\"; echo revoked >\"$pkgdir/etc/anemos-revoked\"");
        Sign(FreshFingerprint, fresh);
        Sign(RevokedFingerprint, revoked);
        NewRepository("anemoskeyring", Path.Combine(Root, "anemoskeyring"), (keyringPackage, PackagerFingerprint), (fresh, null), (revoked, null));
        NewRepository("anemosnokeyring", Path.Combine(Root, "anemosnokeyring"), (fresh, null));
        NewRepository("strangerkeyring", Path.Combine(Root, "strangerkeyring"), (keyringPackage, StrangerFingerprint), (fresh, null));
        NewRepository("core", Path.Combine(ArchLayoutMirror, "core", "os", "x86_64"), (keyringPackage, PackagerFingerprint), (fresh, null));
        string hello = Directory.GetFiles(Repository, Package + "-1.0-1-*.pkg.tar.gz").Single();
        NewRepository("extra", Path.Combine(ArchLayoutMirror, "extra", "os", "x86_64"), (hello, null));
    }

    /// <summary>A repository of copies of <paramref name="packages"/> in <paramref name="folder"/>, each signed by the key given, else with the signature it has; its database signed by the packager key.</summary>
    void NewRepository(string name, string folder, params (string Package, string? SignedBy)[] packages)
    {
        Directory.CreateDirectory(folder);
        var copies = new List<string>();
        foreach (var (package, signedBy) in packages)
        {
            string copy = Path.Combine(folder, Path.GetFileName(package));
            File.Copy(package, copy);
            if (signedBy is null) File.Copy(package + ".sig", copy + ".sig");
            else Sign(signedBy, copy);
            copies.Add(copy);
        }
        AddToRepository(PackagerFingerprint, Path.Combine(folder, name + ".db.tar.gz"), [.. copies]);
        _repositories[name] = folder;
    }

    ProcessResult Gpg(params string[] arguments) =>
        ProcessRunner.Run("gpg", ["--homedir", GnupgHome, "--batch", "--no-permission-warning", .. arguments]);

    /// <summary>A throwaway ed25519 signing key without a passphrase; returns its fingerprint.</summary>
    string NewKey(string userId)
    {
        Directory.CreateDirectory(GnupgHome);
        File.SetUnixFileMode(GnupgHome, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var made = Gpg("--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", userId, "ed25519", "sign", "never");
        Assert.True(made.ExitCode == 0, "gpg --quick-gen-key failed:\n" + made);
        var listed = Gpg("--with-colons", "--list-keys", userId);
        return listed.StandardOutput.Split('\n').First(l => l.StartsWith("fpr:")).Split(':')[9];
    }

    void Export(string fingerprint, string file)
    {
        var exported = Gpg("--output", file, "--export", fingerprint);
        Assert.True(exported.ExitCode == 0 && new FileInfo(file).Length > 0, "gpg --export failed:\n" + exported);
    }

    /// <summary>makepkg (as nobody: it refuses root) of a package whose package() is <paramref name="body"/>.</summary>
    string MakePackage(string build, string name, string body, string version = "1.0-1")
    {
        string folder = Path.Combine(build, name);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "PKGBUILD"), $$"""
            pkgname={{name}}
            pkgver={{version.Split('-')[0]}}
            pkgrel={{version.Split('-')[1]}}
            pkgdesc="Anemos engine test package"
            arch=(any)
            license=(MIT)
            options=(!strip !debug)
            package() {
            {{body}}
            }
            """);
        var chown = ProcessRunner.Run("chown", "-R", "65534:65534", build, Repository);
        Assert.True(chown.ExitCode == 0, chown.ToString());
        var made = ProcessRunner.Run("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups",
                "env", $"HOME={build}", "PKGEXT=.pkg.tar.gz", $"PKGDEST={Repository}", $"BUILDDIR={build}/work", $"SRCDEST={folder}",
                "makepkg", "--nodeps", "--noconfirm"],
            folder, timeout: TimeSpan.FromMinutes(5));
        Assert.True(made.ExitCode == 0, "makepkg failed:\n" + made);
        return Directory.GetFiles(Repository, $"{name}-{version}-*.pkg.tar.gz").Single();
    }

    /// <summary>A detached signature PACKAGE.sig, as makepkg --sign makes it.</summary>
    void Sign(string fingerprint, string package)
    {
        var signed = Gpg("--yes", "--local-user", fingerprint, "--detach-sign", package);
        Assert.True(signed.ExitCode == 0, "gpg --detach-sign failed:\n" + signed);
    }

    /// <summary>repo-add, the database signed (DB.sig) by <paramref name="fingerprint"/>.</summary>
    void AddToRepository(string fingerprint, string database, params string[] packages)
    {
        var added = ProcessRunner.Run("repo-add", ["-q", "--sign", "--key", fingerprint, database, .. packages],
            environment: new Dictionary<string, string?> { ["GNUPGHOME"] = GnupgHome });
        Assert.True(added.ExitCode == 0 && File.Exists(database + ".sig"), "repo-add --sign failed:\n" + added);
    }

    /// <summary>
    /// An IMGBUILD project folder: a pacman.conf that knows only the local repository and requires
    /// its database's signature too, and keys/packager.gpg, the key that signed it.
    /// </summary>
    public string NewProject(string name, string imgbuild)
    {
        string folder = Path.Combine(Root, "projects", name);
        Directory.CreateDirectory(Path.Combine(folder, "keys"));
        File.Copy(PackagerKeyring, Path.Combine(folder, "keys", "packager.gpg"));
        File.WriteAllText(Path.Combine(folder, "pacman.conf"), PacmanConf());
        File.WriteAllText(Path.Combine(folder, "IMGBUILD"), imgbuild);
        return folder;
    }

    /// <summary>A pacman.conf for the local repository (or <paramref name="repository"/>), with extra lines for [options] and the repository.</summary>
    public string PacmanConf(string options = "", string repositoryLines = "SigLevel = Required", string repository = "anemostest") => $"""
        [options]
        Architecture = auto
        {options}

        [{repository}]
        {repositoryLines}
        Server = file://{_repositories[repository]}

        """;

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
