using System.Text.RegularExpressions;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Integration;

/// <summary>A second build does nothing; each change rebuilds exactly what depends on it.</summary>
[EndToEnd(Needs.PackedSdk)]
public sealed class IncrementalBuildTests : IDisposable
{
    /// <summary>A task of ours that ran (-v:d names every task that runs; a skipped target runs none).</summary>
    internal static readonly Regex AnemosTask = new(@"Task ""(ResolveAnemosHosts|ValidateImgbuild|PackAnemosPayload|StageAnemosInput|WriteAnemosOverlay|AssembleAnemosInitramfs|BuildAnemosBaseImage)""");
    static readonly string[] Artifacts =
    [
        "payload.tar.gz", "vmlinuz", "base.img",
        "hosts/x/overlay.cpio", "hosts/x/initramfs.img", "hosts/x/manifest.json",
        "hosts/y/overlay.cpio", "hosts/y/initramfs.img", "hosts/y/manifest.json",
    ];

    readonly TestProject _project = TestProject.CreateDeployProject();

    public void Dispose() => _project.Dispose();

    Dictionary<string, DateTime> Times() =>
        Artifacts.ToDictionary(a => a, a => File.GetLastWriteTimeUtc(_project.PathOf(Path.Combine("bin", "anemos", a))));

    ProcessResult Build(params string[] arguments)
    {
        var result = _project.Build(["-v:d", .. arguments]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }

    /// <summary>Builds and returns the artifacts whose file changed.</summary>
    string[] Rebuilt(params string[] arguments)
    {
        var before = Times();
        Thread.Sleep(20);
        Build(arguments);
        var after = Times();
        return Artifacts.Where(a => after[a] != before[a]).ToArray();
    }

    // Now, not in the future: a time ahead of the clock would stay newer than whatever the rebuild
    // writes within it, and the build after would rebuild again (on a fast machine only).
    static void Touch(string path)
    {
        Thread.Sleep(10);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow);
    }

    [Fact]
    public void ASecondBuildRunsNoAnemosTask()
    {
        Build();
        var before = Times();
        var second = Build();
        Assert.DoesNotMatch(AnemosTask, second.Output);
        Assert.Equal(before, Times());
        Assert.Contains("anemos x:", second.Output); // the summary is still printed
    }

    [Fact]
    public void TouchingAnInputFileRebuildsPayloadAndEveryHostButNotTheBase()
    {
        Build();
        Touch(_project.PathOf("files/etc/motd"));
        Assert.Equal(
            ["payload.tar.gz", "hosts/x/overlay.cpio", "hosts/x/initramfs.img", "hosts/y/overlay.cpio", "hosts/y/initramfs.img"],
            Rebuilt().Where(a => !a.EndsWith("manifest.json")));
        // The IMGBUILD's target and the manifests may be unchanged by that rebuild: the next build is still a no-op.
        Assert.DoesNotMatch(AnemosTask, Build().Output);
    }

    [Fact]
    public void ChangingOneHostsVariableRebuildsOnlyThatHost()
    {
        Build();
        string projectText = File.ReadAllText(_project.ProjectFile);
        File.WriteAllText(_project.ProjectFile, projectText.Replace("192.0.2.1", "192.0.2.111"));
        Touch(_project.ProjectFile);
        Assert.Equal(["hosts/x/overlay.cpio", "hosts/x/initramfs.img", "hosts/x/manifest.json"], Rebuilt());
        // and the next build is quiet again
        Assert.Empty(Rebuilt());
    }

    [Fact]
    public void AddingOrRemovingAFileRepacksThePayload()
    {
        Build();
        _project.Write("files/etc/new.conf", "new\n");
        Assert.Contains("payload.tar.gz", Rebuilt());
        Assert.Contains("files/etc/new.conf", ProcessRunner.Run("tar", "-tzf", _project.PathOf("bin/anemos/payload.tar.gz")).Output);
        File.Delete(_project.PathOf("files/etc/new.conf"));
        Assert.Contains("payload.tar.gz", Rebuilt());
        Assert.DoesNotContain("new.conf", ProcessRunner.Run("tar", "-tzf", _project.PathOf("bin/anemos/payload.tar.gz")).Output);
    }

    [Fact]
    public void AChangedPropertyIsNoticed()
    {
        Build();
        var changed = Rebuilt("-p:AnemosKernelCommandLine=console=ttyS0");
        Assert.Contains("hosts/x/manifest.json", changed);
        Assert.Contains("hosts/y/manifest.json", changed);
        Assert.DoesNotContain("payload.tar.gz", changed);
        Assert.Contains("\"rootfstype=ramfs mitigations=off init_on_alloc=0 console=ttyS0\"", File.ReadAllText(_project.PathOf("bin/anemos/hosts/x/manifest.json")));
        Assert.Contains("hosts/x/overlay.cpio", Rebuilt("-p:AnemosKernelCommandLine=console=ttyS0", "-p:AnemosOnSuccess=poweroff"));
    }

    [Fact]
    public void AFailingBuildIsNeverTakenAsUpToDate()
    {
        Build();
        _project.Write("deploy", "no shebang\n", executable: true);
        Touch(_project.PathOf("deploy"));
        var first = _project.Build();
        Assert.NotEqual(0, first.ExitCode);
        Assert.Contains("ANEMOS2104", first.Output);
        var second = _project.Build();
        Assert.NotEqual(0, second.ExitCode);
        Assert.Contains("ANEMOS2104", second.Output);
    }
}
