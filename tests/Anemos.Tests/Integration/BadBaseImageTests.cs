using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Integration;

/// <summary>Missing or wrong kernels and base initramfs files, by path and by URL.</summary>
[EndToEnd(Needs.PackedSdk)]
public sealed class BadBaseImageTests
{
    const string Hosts = """<AnemosHost Include="x" />""";

    static TestProject Project(string properties)
    {
        var project = TestProject.Create($$"""
            <Project Sdk="Anemos.Sdk">
              <PropertyGroup>{{properties}}</PropertyGroup>
              <ItemGroup>{{Hosts}}</ItemGroup>
            </Project>
            """);
        project.WriteFakeBaseImage();
        project.Write("deploy", "#!/bin/sh\n", executable: true);
        return project;
    }

    const string Zeros = "0000000000000000000000000000000000000000000000000000000000000000";

    [Theory]
    [InlineData("no-base", "", "ANEMOS3001")]
    [InlineData("kernel-only", "<AnemosKernel>kernel.bin</AnemosKernel>", "ANEMOS3001")]
    [InlineData("kernel-missing", "<AnemosKernel>nope.bin</AnemosKernel><AnemosBaseInitramfs>base.cpio</AnemosBaseInitramfs>", "ANEMOS3002")]
    [InlineData("base-missing", "<AnemosKernel>kernel.bin</AnemosKernel><AnemosBaseInitramfs>nope.cpio</AnemosBaseInitramfs>", "ANEMOS3003")]
    [InlineData("kernel-wrong-sha", "<AnemosKernel>kernel.bin</AnemosKernel><AnemosKernelSha256>" + Zeros + "</AnemosKernelSha256><AnemosBaseInitramfs>base.cpio</AnemosBaseInitramfs>", "ANEMOS3004")]
    [InlineData("url-without-sha", "<AnemosKernel>https://127.0.0.1:1/vmlinuz</AnemosKernel><AnemosBaseInitramfs>base.cpio</AnemosBaseInitramfs>", "ANEMOS3005")]
    [InlineData("sha-not-hex", "<AnemosKernel>kernel.bin</AnemosKernel><AnemosKernelSha256>xyz</AnemosKernelSha256><AnemosBaseInitramfs>base.cpio</AnemosBaseInitramfs>", "ANEMOS3006")]
    [InlineData("plain-http", "<AnemosKernel>http://127.0.0.1:1/vmlinuz</AnemosKernel><AnemosKernelSha256>" + Zeros + "</AnemosKernelSha256><AnemosBaseInitramfs>base.cpio</AnemosBaseInitramfs>", "ANEMOS3007")]
    [InlineData("unreachable-url", "<AnemosKernel>https://127.0.0.1:1/vmlinuz</AnemosKernel><AnemosKernelSha256>" + Zeros + "</AnemosKernelSha256><AnemosBaseInitramfs>base.cpio</AnemosBaseInitramfs><AnemosCacheDirectory>cache</AnemosCacheDirectory>", "ANEMOS3008")]
    public void IsRefused(string name, string properties, string code)
    {
        using var project = Project(properties);
        BadInput.AssertError(project, code);
        Assert.False(File.Exists(project.PathOf("bin/anemos/vmlinuz")) && code is "ANEMOS3004", name);
    }

    [Fact]
    public void ABaseThatIsNoArchiveIsWarnedAbout()
    {
        using var project = Project("<AnemosKernel>kernel.bin</AnemosKernel><AnemosBaseInitramfs>kernel.bin</AnemosBaseInitramfs>");
        BadInput.AssertWarning(project, "ANEMOS3014");
    }

    [Fact]
    public void TwoBaseImageProjectsAreRefused()
    {
        using var project = TestProject.CreateDeployProject(
            properties: "",
            extra: """<ItemGroup><ProjectReference Include="a/a.proj" /><ProjectReference Include="b/b.proj" /></ItemGroup>""");
        File.WriteAllText(project.ProjectFile, File.ReadAllText(project.ProjectFile)
            .Replace("<AnemosKernel>image/kernel.bin</AnemosKernel>", "").Replace("<AnemosBaseInitramfs>image/base.cpio</AnemosBaseInitramfs>", ""));
        BadInput.AssertError(project, "ANEMOS3009");
    }

    [Fact]
    public void ABaseProjectAndBaseFilesTogetherAreRefused()
    {
        using var project = TestProject.CreateDeployProject(extra: """<ItemGroup><ProjectReference Include="base/base.proj" /></ItemGroup>""");
        BadInput.AssertError(project, "ANEMOS3019");
    }
}
