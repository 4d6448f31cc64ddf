using Anemos.Tests.Infrastructure;
using Anemos.Tests.Integration;

namespace Anemos.Tests.Targets;

/// <summary>
/// The target tier: the SDK's .targets straight from the repository with this run's task
/// assembly (TestProject.CreateFromSources), about a second a build, no packing.
/// </summary>
public sealed class PayloadTargetTests
{
    static TestProject DeployProject(string extra = "") =>
        TestProject.CreateDeployProjectFromSources("""<AnemosHost Include="x" ZONE="example.org" />""", extra: extra);

    [Fact]
    public void ThePayloadKindComesFromWhatThePayloadHolds()
    {
        // ANEMOS2102's own advice: an IMGBUILD left in the folder but removed from the payload.
        using var project = DeployProject("""<ItemGroup><AnemosPayloadFile Remove="IMGBUILD" /></ItemGroup>""");
        project.Write("IMGBUILD", "target=arch\nformat=dir\npackages=base\n");
        var result = project.Build();
        Assert.True(result.ExitCode == 0, result.ToString());
        string extracted = project.PathOf("extracted");
        Directory.CreateDirectory(extracted);
        Assert.Equal(0, ProcessRunner.Shell($"cpio -id --quiet < '{project.PathOf("bin/anemos/hosts/x/overlay.cpio")}'", extracted).ExitCode);
        Assert.Contains("ANEMOS_PAYLOAD_KIND='deploy'\n", File.ReadAllText(Path.Combine(extracted, "anemos/host.env")));
        string listing = ProcessRunner.Shell($"tar -tzf '{project.PathOf("bin/anemos/payload.tar.gz")}'").Output;
        Assert.Contains("deploy", listing.Split('\n'));
        Assert.DoesNotContain("IMGBUILD", listing);
    }

    [Fact]
    public void BothKindsInThePayloadAreRefused()
    {
        using var project = DeployProject();
        project.Write("IMGBUILD", "target=arch\nformat=dir\npackages=base\n");
        BadInput.AssertError(project, "ANEMOS2102");
    }

    [Fact]
    public void APayloadWithoutItsEntryIsRefused()
    {
        using var project = DeployProject("""<ItemGroup><AnemosPayloadFile Remove="deploy" /></ItemGroup>""");
        project.Write("files/IMGBUILD", "target=arch\nformat=dir\npackages=base\n"); // not at the root: not an entry
        BadInput.AssertError(project, "ANEMOS2101");
    }

    [Fact]
    public void ASecondBuildRunsNoAnemosTask()
    {
        using var project = DeployProject();
        Assert.Equal(0, project.Build().ExitCode);
        var second = project.Build("-v:d");
        Assert.True(second.ExitCode == 0, second.ToString());
        var anemosTasks = typeof(Anemos.Tasks.AnemosTask).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(Anemos.Tasks.AnemosTask))).Select(t => t.Name).ToList();
        Assert.NotEmpty(anemosTasks);
        var ran = anemosTasks.Where(name => second.Output.Contains($"Task \"{name}\"", StringComparison.Ordinal)).ToList();
        Assert.Empty(ran);
    }

    [Fact]
    public void TheSentinelAndTheOutputPathsAnswerWithoutBuilding()
    {
        using var project = DeployProject();
        var result = project.Dotnet(["build", project.ProjectFile, "--no-restore", "-nologo", "-p:Host=x", "-getProperty:UsingAnemosSdk", "-getProperty:AnemosInitramfsPath"]);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("\"UsingAnemosSdk\": \"true\"", result.Output);
        Assert.Contains("hosts/x/initramfs.img", result.Output);
        Assert.False(Directory.Exists(project.PathOf("bin/anemos")));
    }
}
