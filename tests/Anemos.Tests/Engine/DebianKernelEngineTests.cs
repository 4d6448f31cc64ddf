using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Engine;

/// <summary>
/// makeimg with target=debian and a kernel in packages, from the local mirror samples/dns installs
/// from: one apt transaction installs the kernel, its initramfs waits through the bootstrap and is
/// built once in the provision step, after files/ put /etc/initramfs-tools in place (docs/imgbuild.md).
/// A failing initramfs hook fails that step with ANEMOS2243.
/// </summary>
[EndToEnd(Needs.Bootstrap)]
public sealed class DebianKernelEngineTests(DnsMirrorFixture fixture) : IClassFixture<DnsMirrorFixture>
{
    string Imgbuild => $$"""
        target=debian
        debian_suite={{fixture.Suite}}
        debian_mirror=${MIRROR}
        debian_variant=minbase
        format=dir
        packages="linux-image-cloud-amd64 initramfs-tools"
        """;

    /// <summary>The project with files/etc/initramfs-tools/conf.d/anemos.conf (and more files under files/).</summary>
    string Project(string name, params (string Path, string Content, UnixFileMode Mode)[] more)
    {
        string folder = fixture.NewProject(name, Imgbuild);
        // Debian 12's default is zstd and every module: gzip and the listed modules only prove the
        // configuration from files/ was read, and keep the build short.
        foreach (var (path, content, mode) in more.Prepend(("etc/initramfs-tools/conf.d/anemos.conf", "MODULES=list\nCOMPRESS=gzip\n", (UnixFileMode)0x1A4)))
        {
            string file = Path.Combine(folder, "files", path);
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            File.WriteAllText(file, content);
            File.SetUnixFileMode(file, mode);
        }
        return folder;
    }

    [Fact]
    public void TheKernelsInitramfsIsBuiltOnceWithTheInputFilesInPlace()
    {
        string folder = Project("kernel");
        var result = Makeimg.Run(folder, EngineInputs.Environment(folder, secrets: false, more: fixture.Environment()));
        Makeimg.AssertSucceeded(result);

        Assert.Matches(@"makeimg\[bootstrap\]: update-initramfs: deferred by makeimg until the input files are in place", result.Output);
        var built = System.Text.RegularExpressions.Regex.Matches(result.Output, @"makeimg\[provision\]: update-initramfs -c -k (\S+):");
        Assert.True(built.Count == 1, "one initramfs build, in the provision step:\n" + result.Output);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(result.Output, @"update-initramfs: Generating /boot/initrd\.img-"));

        string tree = Path.Combine(folder, "image");
        string initrd = Path.Combine(tree, "boot", "initrd.img-" + built[0].Groups[1].Value);
        using (var stream = File.OpenRead(initrd))
        {
            Assert.True(stream.ReadByte() == 0x1f && stream.ReadByte() == 0x8b, "the initramfs is gzip, as files/ configured it");
        }
        // The real update-initramfs is back, and the image keeps none of the bootstrap's settings.
        Assert.Contains("mkinitramfs", File.ReadAllText(Path.Combine(tree, "usr/sbin/update-initramfs")));
        Assert.False(File.Exists(Path.Combine(tree, "usr/sbin/update-initramfs.makeimg")));
        var diversions = ProcessRunner.Run("dpkg-divert", "--admindir", Path.Combine(tree, "var/lib/dpkg"), "--list");
        Assert.DoesNotContain("update-initramfs", diversions.Output);
        Assert.False(File.Exists(Path.Combine(tree, "etc/dpkg/dpkg.cfg.d/99mmdebstrap")));
        Assert.False(File.Exists(Path.Combine(tree, "etc/apt/apt.conf.d/99mmdebstrap")));
    }

    [Fact]
    public void AFailingInitramfsHookFailsTheProvisionStep()
    {
        string folder = Project("bad-hook", ("etc/initramfs-tools/hooks/fail", "#!/bin/sh\necho 'the test hook fails'\nexit 1\n", (UnixFileMode)0x1ED));
        var result = Makeimg.Run(folder, EngineInputs.Environment(folder, secrets: false, more: fixture.Environment()));
        string line = Makeimg.AssertFailed(result, "provision", "ANEMOS2243");
        Assert.Contains("update-initramfs -c -k", line);
        Assert.Contains("/etc/initramfs-tools", line);
    }
}
