using Anemos.Tests.Infrastructure;
using Anemos.Tests.Integration;

namespace Anemos.Tests.Targets;

/// <summary>
/// A deploy from artifacts made by another job (AnemosNoBuild / --no-build) proves them against the
/// host's manifest before anything is sent. These refusals stop before ssh is even started; the
/// successful deploy from artifacts runs against a real sshd in DeployOverSshTests.
/// </summary>
public sealed class DeployFromArtifactsTests
{
    static TestProject BuiltProject()
    {
        var project = TestProject.CreateDeployProjectFromSources("""
            <AnemosHost Include="x" Address="127.0.0.1" Port="1" />
            <AnemosHost Include="y" Address="127.0.0.1" Port="1" />
            """);
        var build = project.Build();
        Assert.True(build.ExitCode == 0, build.ToString());
        return project;
    }

    static ProcessResult Publish(TestProject project, params string[] arguments) =>
        project.Dotnet(["publish", project.ProjectFile, "--no-restore", "-nologo", "-nodeReuse:false", "-v:n", "-p:Host=x", .. arguments]);

    [Theory]
    [InlineData("-p:AnemosNoBuild=true")]
    [InlineData("--no-build")]
    public void ATamperedOverlayIsRefusedBeforeAnythingIsSent(string noBuild)
    {
        using var project = BuiltProject();
        string overlay = project.PathOf("bin/anemos/hosts/x/overlay.cpio");
        var bytes = File.ReadAllBytes(overlay);
        bytes[^1] ^= 0x01;
        File.WriteAllBytes(overlay, bytes);

        var result = Publish(project, noBuild);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Matches(@"error ANEMOS4023: Host 'x': the overlay .*overlay\.cpio is not the one its build made: it has sha256 [0-9a-f]{64}", result.Output);
        Assert.DoesNotContain("deploy x: connect", result.Output);
        // Nothing was rebuilt over the tampered file either.
        Assert.Equal(bytes, File.ReadAllBytes(overlay));
    }

    [Fact]
    public void AnotherHostsManifestIsRefused()
    {
        using var project = BuiltProject();
        File.Copy(project.PathOf("bin/anemos/hosts/y/manifest.json"), project.PathOf("bin/anemos/hosts/x/manifest.json"), overwrite: true);
        var result = Publish(project, "--no-build");
        Assert.Contains("error ANEMOS4023: Host 'x': the manifest", result.Output);
        Assert.Contains("it is host 'y''s manifest", result.Output);
    }

    [Fact]
    public void MissingArtifactsAreNamed()
    {
        using var project = BuiltProject();
        File.Delete(project.PathOf("bin/anemos/base.img"));
        var result = Publish(project, "--no-build");
        Assert.Matches(@"error ANEMOS4022: AnemosNoBuild is set, but host 'x' has no artifact at .*base\.img", result.Output);
        Assert.False(File.Exists(project.PathOf("bin/anemos/base.img")), "a deploy from artifacts must not rebuild");
    }
}
