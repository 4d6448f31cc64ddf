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
/// </summary>
public sealed class ArchRepositoryFixture : IDisposable
{
    public const string Package = "anemos-hello";
    public const string StrangerPackage = "anemos-stranger";
    public const string UnsignedPackage = "anemos-unsigned";
    public const string ConfigContent = "greeting=hello\ncolor=blue\nsize=3\n";

    public string Root { get; } = TestProject.NewDirectory();
    public string Repository => Path.Combine(Root, "repo");
    /// <summary>A repository whose database the stranger key signed.</summary>
    public string StrangerRepository => Path.Combine(Root, "stranger-repo");
    /// <summary>The binary keyring of the packager key, which signed the repository.</summary>
    public string PackagerKeyring => Path.Combine(Root, "packager.gpg");
    public string PackagerFingerprint { get; }
    public string StrangerFingerprint { get; }

    string GnupgHome => Path.Combine(Root, "gnupg");

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
        }
        finally
        {
            // gpg started an agent for the signing keys: none outlives the fixture.
            ProcessRunner.Run("gpgconf", "--homedir", GnupgHome, "--kill", "all");
        }
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
    string MakePackage(string build, string name, string body)
    {
        string folder = Path.Combine(build, name);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "PKGBUILD"), $$"""
            pkgname={{name}}
            pkgver=1.0
            pkgrel=1
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
        return Directory.GetFiles(Repository, name + "-1.0-1-*.pkg.tar.gz").Single();
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
        Server = file://{(repository == "anemostest" ? Repository : StrangerRepository)}

        """;

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
