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

    static string Listing(TestProject project) =>
        ProcessRunner.Run("tar", "-tzf", project.PathOf("bin/anemos/payload.tar.gz")).Output;

    [Fact]
    public void ThePayloadIsTheDescriptionAndOperatorSideFilesStayOut()
    {
        using var project = DeployProject("""<ItemGroup><AnemosPayloadFile Include="tools/helper.sh" /><AnemosPayloadFile Remove="files/etc/drop" /></ItemGroup>""");
        project.Write("files/etc/motd", "hello\n");
        project.Write("files/etc/drop", "removed by the project\n");
        project.Write("files/root/.ssh/authorized_keys", "ssh-ed25519 AAAA x\n"); // a dot-folder of the system: in
        project.Write("keys/archive.gpg", "key");
        project.Write("pacman.conf", "[options]\n");
        project.Write("repositories", "https://mirror.example.org/alpine/v3.20/main\n");
        project.Write("tools/helper.sh", "#!/bin/sh\n"); // in through Include
        project.Write("notes/todo.txt", "operator notes\n");
        project.Write(".github/workflows/anemos.yml", "on: push\n");
        project.Write(".gitlab-ci.yml", "build: {}\n");
        project.Write(".editorconfig", "root = true\n");
        project.Write("Directory.Build.rsp", "-nologo\n");
        project.Write("ci.rsp", "-nologo\n");
        project.Write("nuget.config", "<configuration />\n");
        project.Write("README.md", "docs\n");
        project.Write("disk.img", "left over\n");
        project.Write("deploy.d/ci.sh", "#!/bin/sh\n");
        var result = project.Build();
        Assert.True(result.ExitCode == 0, result.ToString());
        var entries = Listing(project).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(e => e.TrimEnd('/')).ToHashSet();
        foreach (string expected in new[] { "deploy", "files/etc/motd", "files/root/.ssh/authorized_keys", "keys/archive.gpg", "pacman.conf", "repositories", "tools/helper.sh" })
            Assert.True(entries.Contains(expected), $"{expected} is missing from the payload:\n{string.Join('\n', entries)}");
        foreach (string name in entries)
            Assert.True(name is "deploy" or "pacman.conf" or "repositories" || name.Split('/')[0] is "files" or "keys" or "tools", $"{name} is in the payload");
        Assert.DoesNotContain("files/etc/drop", entries);

        // The CI workflow is not the system: changing it leaves the payload's bytes alone.
        string before = File.ReadAllText(project.PathOf("bin/anemos/payload.tar.gz.sha256"));
        project.Write(".github/workflows/anemos.yml", "on: [push, pull_request]\n");
        project.Write("Directory.Build.rsp", "-nologo -v:m\n");
        Assert.Equal(0, project.Build().ExitCode);
        Assert.Equal(before, File.ReadAllText(project.PathOf("bin/anemos/payload.tar.gz.sha256")));
    }

    [Fact]
    public void AFolderNamedDeployIsNotTheDeployProgram()
    {
        using var project = TestProject.CreateDeployProjectFromSources("""<AnemosHost Include="x" />""");
        File.Delete(project.PathOf("deploy"));
        project.Write("IMGBUILD", "target=arch\nformat=dir\npackages=base\n");
        project.Write("deploy/ci.sh", "#!/bin/sh\n", executable: true);
        var result = project.Build("-t:AnemosResolvePayload");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("ANEMOS2102", result.Output);
    }

    [Fact]
    public void ANameMakeimgWouldSkipIsRefusedAtBuildTime()
    {
        using var project = DeployProject();
        File.Delete(project.PathOf("deploy"));
        project.Write("IMGBUILD", "target=arch\nformat=raw\npackages=base\n");
        project.Write("patches/motd.diff", "--- a\n+++ b\n");
        Directory.CreateDirectory(project.PathOf("files/etc"));
        File.CreateSymbolicLink(project.PathOf("files/etc/motd.makeimg.patch"), "../../patches/motd.diff");
        var result = BadInput.AssertError(project, "ANEMOS2115");
        Assert.Contains("files/etc/motd.makeimg.patch", result.Output);
    }

    [Fact]
    public void ALargePayloadIsWarnedAboutNamingItsLargestFiles()
    {
        using var project = DeployProject("""<PropertyGroup><AnemosPayloadSizeWarningMiB>1</AnemosPayloadSizeWarningMiB></PropertyGroup>""");
        var bytes = new byte[3 * 1024 * 1024];
        new Random(7).NextBytes(bytes); // random: gzip cannot shrink it below the limit
        Directory.CreateDirectory(project.PathOf("files/var/lib"));
        File.WriteAllBytes(project.PathOf("files/var/lib/disk.img"), bytes);
        var result = BadInput.AssertWarning(project, "ANEMOS2113");
        Assert.Contains("files/var/lib/disk.img (3.0 MiB)", result.Output);

        using var small = DeployProject("""<PropertyGroup><AnemosPayloadSizeWarningMiB>1</AnemosPayloadSizeWarningMiB></PropertyGroup>""");
        var quiet = small.Build();
        Assert.True(quiet.ExitCode == 0 && !quiet.Output.Contains("ANEMOS2113"), quiet.ToString());
    }

    [Theory]
    [InlineData("lots")]
    [InlineData("-1")]
    [InlineData("99999999")]
    public void ABadPayloadSizeWarningIsRefused(string value)
    {
        using var project = DeployProject($"<PropertyGroup><AnemosPayloadSizeWarningMiB>{value}</AnemosPayloadSizeWarningMiB></PropertyGroup>");
        BadInput.AssertError(project, "ANEMOS2114");
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
