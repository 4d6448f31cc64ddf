using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Integration;

/// <summary>Broken payload inputs: file kinds, links, places and the deploy program.</summary>
[EndToEnd(Needs.PackedSdk)]
public sealed class BadPayloadTests
{
    [Fact]
    public void NoPayload()
    {
        using var project = TestProject.CreateDeployProject();
        File.Delete(project.PathOf("deploy"));
        BadInput.AssertError(project, "ANEMOS2101");
    }

    [Fact]
    public void BothImgbuildAndDeploy()
    {
        using var project = TestProject.CreateDeployProject();
        project.Write("IMGBUILD", "target=arch\nformat=raw\npackages=base\n");
        BadInput.AssertError(project, "ANEMOS2102");
    }

    [Fact]
    public void DeployNotExecutable()
    {
        using var project = TestProject.CreateDeployProject();
        File.SetUnixFileMode(project.PathOf("deploy"), (UnixFileMode)0x1A4);
        BadInput.AssertError(project, "ANEMOS2103");
    }

    [Fact]
    public void DeployNeitherScriptNorElf()
    {
        using var project = TestProject.CreateDeployProject();
        project.Write("deploy", "echo no shebang\n", executable: true);
        BadInput.AssertError(project, "ANEMOS2104");
    }

    [Fact]
    public void DeployAsElfProgramIsAccepted()
    {
        using var project = TestProject.CreateDeployProject();
        File.Copy("/bin/true", project.PathOf("deploy"), overwrite: true);
        var result = project.Build();
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public void FifoInTheFiles()
    {
        using var project = TestProject.CreateDeployProject();
        Assert.Equal(0, ProcessRunner.Run("mkfifo", project.PathOf("files/etc/pipe")).ExitCode);
        var result = BadInput.AssertError(project, "ANEMOS2105");
        Assert.Contains("fifo", result.Output);
    }

    [Fact]
    public void SymlinkedDirectoryLeavingTheProject()
    {
        using var project = TestProject.CreateDeployProject();
        string outside = project.PathOf("../outside-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(outside);
        File.WriteAllText(Path.Combine(outside, "secret.txt"), "not for the payload");
        try
        {
            File.CreateSymbolicLink(project.PathOf("files/escape"), outside);
            BadInput.AssertError(project, "ANEMOS2106");
            Assert.False(File.Exists(project.PathOf("bin/anemos/payload.tar.gz")));
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public void SymlinksInsideTheProjectArePackedAsLinksNeverFollowed()
    {
        using var project = TestProject.CreateDeployProject();
        File.CreateSymbolicLink(project.PathOf("files/etc/motd.link"), "motd");
        File.CreateSymbolicLink(project.PathOf("files/etc/dangling"), "/nonexistent/target");
        File.CreateSymbolicLink(project.PathOf("files/bin"), "usr/local/bin");
        var result = project.Build();
        Assert.True(result.ExitCode == 0, result.ToString());
        string listing = ProcessRunner.Run("tar", "-tvzf", project.PathOf("bin/anemos/payload.tar.gz")).Output;
        Assert.Matches(@"lrwxrwxrwx .* files/etc/motd.link -> motd\n", listing);
        Assert.Matches(@"lrwxrwxrwx .* files/etc/dangling -> /nonexistent/target\n", listing);
        Assert.Matches(@"lrwxrwxrwx .* files/bin -> usr/local/bin\n", listing);
        Assert.DoesNotContain("files/bin/tool", listing);
    }

    [Fact]
    public void PayloadFileOutsideTheProject()
    {
        using var project = TestProject.CreateDeployProject(extra: """<ItemGroup><AnemosPayloadFile Include="../outside.txt" /></ItemGroup>""");
        File.WriteAllText(project.PathOf("../outside.txt"), "x");
        try { BadInput.AssertError(project, "ANEMOS2107"); }
        finally { File.Delete(project.PathOf("../outside.txt")); }
    }

    [Fact]
    public void PayloadFileThatDoesNotExist()
    {
        using var project = TestProject.CreateDeployProject(extra: """<ItemGroup><AnemosPayloadFile Include="files/missing.conf" /></ItemGroup>""");
        BadInput.AssertError(project, "ANEMOS2108");
    }

    [Fact]
    public void NameWithALineBreak()
    {
        using var project = TestProject.CreateDeployProject();
        project.Write("files/bad\nname", "x");
        BadInput.AssertError(project, "ANEMOS2109");
    }

    [Fact]
    public void SecretsNeverEnterThePayload()
    {
        using var project = TestProject.CreateDeployProject(extra: """<ItemGroup><AnemosPayloadFile Include="secrets/tls.key" /></ItemGroup>""");
        project.Write("secrets/tls.key", "PRIVATE");
        BadInput.AssertError(project, "ANEMOS2110");
    }

    [Fact]
    public void SecretsFolderIsLeftOutByDefaultAndItemsCanBeTrimmed()
    {
        using var project = TestProject.CreateDeployProject(extra: """<ItemGroup><AnemosPayloadFile Remove="files/etc/motd" /></ItemGroup>""");
        project.Write("secrets/tls.key", "PRIVATE");
        project.Write("README.md", "docs");
        var result = project.Build();
        Assert.True(result.ExitCode == 0, result.ToString());
        string listing = ProcessRunner.Run("tar", "-tzf", project.PathOf("bin/anemos/payload.tar.gz")).Output;
        Assert.DoesNotContain("secrets", listing);
        Assert.DoesNotContain("README.md", listing);
        Assert.DoesNotContain("motd", listing);
        Assert.Contains("files/usr/local/bin/tool", listing);
    }
}
