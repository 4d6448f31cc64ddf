using Anemos.Core.Hashing;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Integration;

/// <summary>The samples build, and build byte-identically from two copies in different folders with different file times.</summary>
[EndToEnd(Needs.PackedSdk)]
public sealed class SampleTests : IDisposable
{
    readonly List<string> _directories = [];

    public void Dispose()
    {
        foreach (string directory in _directories)
            try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
    }

    /// <summary>Copies samples/installer (their base) and one sample into a fresh folder, as a clone would have them, every file with the given time.</summary>
    string CopySamples(string sample, DateTime fileTime)
    {
        string root = TestProject.NewDirectory();
        _directories.Add(root);
        foreach (string name in new[] { "installer", sample })
            CopyTree(Repository.PathOf("samples", name), Path.Combine(root, name), fileTime);
        TestProject.WriteSdkConfiguration(root);
        return root;
    }

    static void CopyTree(string source, string destination, DateTime fileTime)
    {
        Directory.CreateDirectory(destination);
        foreach (var entry in new DirectoryInfo(source).EnumerateFileSystemInfos())
        {
            if (entry.Name is "bin" or "obj" or ".deps") continue;
            string target = Path.Combine(destination, entry.Name);
            if (entry is DirectoryInfo) CopyTree(entry.FullName, target, fileTime);
            else
            {
                File.Copy(entry.FullName, target);
                File.SetLastWriteTimeUtc(target, fileTime);
            }
        }
    }

    ProcessResult Build(string projectFile)
    {
        var environment = SdkFeed.DotnetEnvironment(SdkFeed.PackagesDirectory);
        environment["ANEMOS_INSTALLER_PACKAGES"] = Repository.InstallerPackages;
        var result = ProcessRunner.Run("dotnet", ["build", projectFile, "-nologo", "-nodeReuse:false"], Path.GetDirectoryName(projectFile), environment, TimeSpan.FromMinutes(10));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("error", result.Output.Replace("0 Error(s)", ""), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("warning", result.Output.Replace("0 Warning(s)", ""), StringComparison.OrdinalIgnoreCase);
        return result;
    }

    [Fact]
    public void DnsBuildsByteIdenticallyFromTwoCopies()
    {
        string first = CopySamples("dns", new DateTime(2001, 2, 3, 4, 5, 6, DateTimeKind.Utc));
        string second = CopySamples("dns", new DateTime(2024, 6, 7, 8, 9, 10, DateTimeKind.Utc));
        var output = Build(Path.Combine(first, "dns", "dns.proj")).Output;
        Assert.Contains("anemos x:", output);
        Assert.Contains("anemos y:", output);
        Build(Path.Combine(second, "dns", "dns.proj"));

        foreach (string artifact in new[] { "payload.tar.gz", "base.img", "vmlinuz", "hosts/x/overlay.cpio", "hosts/x/initramfs.img", "hosts/y/overlay.cpio", "hosts/y/initramfs.img", "hosts/y/manifest.json" })
        {
            var a = FileDigest.OfFile(Path.Combine(first, "dns", "bin", "anemos", artifact));
            var b = FileDigest.OfFile(Path.Combine(second, "dns", "bin", "anemos", artifact));
            Assert.True(a == b, $"{artifact} differs between the two copies: {a.Sha256} and {b.Sha256}");
        }
        Assert.NotEqual(
            FileDigest.OfFile(Path.Combine(first, "dns", "bin", "anemos", "hosts/x/initramfs.img")),
            FileDigest.OfFile(Path.Combine(first, "dns", "bin", "anemos", "hosts/y/initramfs.img")));
    }

    [Fact]
    public void BitfehlerNetBuildsAndItsPayloadHoldsTheDescriptionOnly()
    {
        string root = CopySamples("bitfehler-net", DateTime.UtcNow);
        var output = Build(Path.Combine(root, "bitfehler-net", "bitfehler-net.proj")).Output;
        Assert.Contains("anemos bitfehler-net:", output);
        Assert.Contains("bootstraps: arch debian", output); // the installer base
        string listing = ProcessRunner.Run("tar", "-tzf", Path.Combine(root, "bitfehler-net", "bin", "anemos", "payload.tar.gz")).Output;
        Assert.Contains("IMGBUILD\n", listing);
        Assert.Contains("files/etc/fstab\n", listing);
        Assert.Contains("files/etc/nginx/sites/bitfehler.net.conf\n", listing);
        Assert.DoesNotContain(".proj", listing);
        Assert.DoesNotContain("README", listing);
    }

    [Fact]
    public void TheGitCommitTimeIsTheArchiveTime()
    {
        string root = CopySamples("dns", DateTime.UtcNow);
        var git = new Dictionary<string, string?>
        {
            ["GIT_AUTHOR_DATE"] = "2020-01-02T03:04:05Z", ["GIT_COMMITTER_DATE"] = "2020-01-02T03:04:05Z",
            ["GIT_AUTHOR_NAME"] = "t", ["GIT_AUTHOR_EMAIL"] = "t@example.org", ["GIT_COMMITTER_NAME"] = "t", ["GIT_COMMITTER_EMAIL"] = "t@example.org",
        };
        Assert.Equal(0, ProcessRunner.Run("git", ["init", "-q"], root).ExitCode);
        Assert.Equal(0, ProcessRunner.Run("git", ["add", "."], root).ExitCode);
        var commit = ProcessRunner.Run("git", ["commit", "-qm", "dns"], root, git);
        Assert.True(commit.ExitCode == 0, commit.ToString());
        Build(Path.Combine(root, "dns", "dns.proj"));
        string listing = ProcessRunner.Run("tar", "--utc", "-tvzf", Path.Combine(root, "dns", "bin", "anemos", "payload.tar.gz")).Output;
        Assert.All(listing.Trim().Split('\n'), line => Assert.Contains("2020-01-02 03:04", line));
    }
}
