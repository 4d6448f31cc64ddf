using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Targets;

/// <summary>A project's own targets run around the build and the deploy when named in the hook properties.</summary>
public sealed class HookTargetTests
{
    static TestProject Project() => TestProject.CreateDeployProjectFromSources(
        """<AnemosHost Include="x" Address="127.0.0.1" Port="1" />""",
        """
        <BeforeAnemosBuildDependsOn>Announce</BeforeAnemosBuildDependsOn>
        <AfterAnemosBuildDependsOn>Archive</AfterAnemosBuildDependsOn>
        <BeforeAnemosDeployDependsOn>CheckWindow</BeforeAnemosDeployDependsOn>
        <AfterAnemosDeployDependsOn>Notify</AfterAnemosDeployDependsOn>
        """,
        """
        <Target Name="Announce"><Message Importance="high" Text="HOOK before-build" /></Target>
        <Target Name="Archive"><Message Importance="high" Text="HOOK after-build @(AnemosArtifact->Count()) artifacts" /></Target>
        <Target Name="CheckWindow"><Message Importance="high" Text="HOOK before-deploy $(Host)" /></Target>
        <Target Name="Notify"><Message Importance="high" Text="HOOK after-deploy" /></Target>
        """);

    [Fact]
    public void BuildHooksRunAroundTheBuild()
    {
        using var project = Project();
        var result = project.Build();
        Assert.True(result.ExitCode == 0, result.ToString());
        int before = result.Output.IndexOf("HOOK before-build", StringComparison.Ordinal);
        int summary = result.Output.IndexOf("anemos x: payload", StringComparison.Ordinal);
        int after = result.Output.IndexOf("HOOK after-build 6 artifacts", StringComparison.Ordinal);
        Assert.True(before >= 0 && before < summary && summary < after, result.ToString());
    }

    [Fact]
    public void DeployHooksRunBeforeTheDeployAndAfterOnlyOnSuccess()
    {
        using var project = Project();
        // Port 1 on loopback: the deploy fails at connect, after the before-hook.
        var result = project.Dotnet(["publish", project.ProjectFile, "--no-restore", "-nologo", "-nodeReuse:false", "-v:n", "-p:Host=x"]);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("HOOK before-deploy x", result.Output);
        Assert.True(result.Output.IndexOf("HOOK before-deploy x", StringComparison.Ordinal) < result.Output.IndexOf("error ANEMOS", StringComparison.Ordinal), result.ToString());
        Assert.DoesNotContain("HOOK after-deploy", result.Output);
    }

    [Fact]
    public void TheInputsHookRunsBeforeTheKernelIsRead()
    {
        // The kernel exists only once the hook made it, as samples/installer's fetched packages do.
        using var project = TestProject.CreateDeployProjectFromSources(
            """<AnemosHost Include="x" Address="127.0.0.1" />""",
            """
            <AnemosKernel>image/made.bin</AnemosKernel>
            <BeforeAnemosInputsDependsOn>MakeKernel</BeforeAnemosInputsDependsOn>
            """,
            """<Target Name="MakeKernel"><Copy SourceFiles="image/kernel.bin" DestinationFiles="image/made.bin" /></Target>""");
        var result = project.Build();
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(File.Exists(project.PathOf("bin/anemos/vmlinuz")), result.ToString());
    }

    [Fact]
    public void CustomPropsAndTargetsAreImportedAroundTheSdksOwn()
    {
        using var project = TestProject.CreateDeployProjectFromSources(
            """<AnemosHost Include="x" Address="127.0.0.1" />""",
            "<Trail>$(Trail)body;</Trail>");
        foreach (string file in new[] { "before.props", "after.props", "before.targets", "after.targets" })
            project.Write(file, $"<Project><PropertyGroup><Trail>$(Trail){file};</Trail></PropertyGroup></Project>");
        project.Write("after.targets", """
            <Project>
              <PropertyGroup><Trail>$(Trail)after.targets;</Trail></PropertyGroup>
              <Target Name="ShowTrail"><Message Importance="high" Text="TRAIL $(Trail) $(UsingAnemosSdk)" /></Target>
            </Project>
            """);
        var result = project.Build("-t:ShowTrail", "-p:CustomBeforeAnemosProps=" + project.PathOf("before.props"), "-p:CustomAfterAnemosProps=" + project.PathOf("after.props"),
            "-p:CustomBeforeAnemosTargets=" + project.PathOf("before.targets"), "-p:CustomAfterAnemosTargets=" + project.PathOf("after.targets"));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("TRAIL before.props;after.props;body;before.targets;after.targets; true", result.Output);

        // Optional: a named file that does not exist is not imported.
        var missing = project.Build("-t:Build", "-p:CustomBeforeAnemosTargets=" + project.PathOf("missing.targets"));
        Assert.True(missing.ExitCode == 0, missing.ToString());
    }
}
