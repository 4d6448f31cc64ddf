using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Engine;

/// <summary>
/// A local pacman repository (file://) with one tiny package made here with makepkg (as the
/// unprivileged user nobody) and repo-add: anemos-hello holds a static busybox as /bin/sh (so
/// provision() can run in the image) and /etc/anemos-hello.conf (for patches).
/// </summary>
public sealed class ArchRepositoryFixture : IDisposable
{
    public const string Package = "anemos-hello";
    public const string ConfigContent = "greeting=hello\ncolor=blue\nsize=3\n";

    public string Root { get; } = TestProject.NewDirectory();
    public string Repository => Path.Combine(Root, "repo");

    public ArchRepositoryFixture()
    {
        Tier.RequireEndToEnd(Needs.Bootstrap);
        EngineTools.Require();
        string build = Path.Combine(Root, "build");
        Directory.CreateDirectory(build);
        Directory.CreateDirectory(Repository);
        File.Copy("/usr/bin/busybox", Path.Combine(build, "busybox"));
        File.WriteAllText(Path.Combine(build, "PKGBUILD"), $$"""
            pkgname={{Package}}
            pkgver=1.0
            pkgrel=1
            pkgdesc="Anemos engine test package"
            arch=(any)
            license=(MIT)
            options=(!strip !debug)
            package() {
                install -Dm755 "$startdir/busybox" "$pkgdir/bin/busybox"
                ln -s busybox "$pkgdir/bin/sh"
                install -d "$pkgdir/etc"
                printf '{{ConfigContent.Replace("\n", "\\n")}}' >"$pkgdir/etc/anemos-hello.conf"
            }
            """);
        var chown = ProcessRunner.Run("chown", "-R", "65534:65534", build, Repository);
        Assert.True(chown.ExitCode == 0, chown.ToString());
        // makepkg refuses root: build as nobody.
        var made = ProcessRunner.Run("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups",
                "env", $"HOME={build}", "PKGEXT=.pkg.tar.gz", $"PKGDEST={Repository}", $"BUILDDIR={build}/work", $"SRCDEST={build}",
                "makepkg", "--nodeps", "--noconfirm"],
            build, timeout: TimeSpan.FromMinutes(5));
        Assert.True(made.ExitCode == 0, "makepkg failed:\n" + made);
        string package = Directory.GetFiles(Repository, "*.pkg.tar.gz").Single();
        var added = ProcessRunner.Run("repo-add", "-q", Path.Combine(Repository, "anemostest.db.tar.gz"), package);
        Assert.True(added.ExitCode == 0, "repo-add failed:\n" + added);
    }

    /// <summary>An IMGBUILD project folder with a pacman.conf that knows only the local repository.</summary>
    public string NewProject(string name, string imgbuild)
    {
        string folder = Path.Combine(Root, "projects", name);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "pacman.conf"), $"""
            [options]
            Architecture = auto
            SigLevel = Never

            [anemostest]
            SigLevel = Never
            Server = file://{Repository}

            """);
        File.WriteAllText(Path.Combine(folder, "IMGBUILD"), imgbuild);
        return folder;
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
