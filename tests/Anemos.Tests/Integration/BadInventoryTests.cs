using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Integration;

/// <summary>Broken inventories and settings: every host is checked, even when one is selected.</summary>
[EndToEnd(Needs.PackedSdk)]
public sealed class BadInventoryTests
{
    [Theory]
    [InlineData("no-hosts", "", "ANEMOS1001")]
    [InlineData("bad-name", """<AnemosHost Include="bad$name" />""", "ANEMOS1002")]
    [InlineData("duplicate", """<AnemosHost Include="x" /><AnemosHost Include="X" />""", "ANEMOS1003")]
    [InlineData("port-too-big", """<AnemosHost Include="x" Port="70000" />""", "ANEMOS1004")]
    [InlineData("port-not-a-number", """<AnemosHost Include="x" Port="ssh" />""", "ANEMOS1004")]
    [InlineData("address-is-an-option", """<AnemosHost Include="x" Address="-oProxyCommand=evil" />""", "ANEMOS1005")]
    [InlineData("address-with-space", """<AnemosHost Include="x" Address="a b" />""", "ANEMOS1005")]
    [InlineData("bad-user", """<AnemosHost Include="x" User="root;rm" />""", "ANEMOS1006")]
    [InlineData("variable-not-shell", """<AnemosHost Include="x" my-var="1" />""", "ANEMOS1007")]
    [InlineData("variable-reserved", """<AnemosHost Include="x" PATH="/tmp" />""", "ANEMOS1008")]
    [InlineData("variable-anemos-prefix", """<AnemosHost Include="x" ANEMOS_HOST="other" />""", "ANEMOS1008")]
    [InlineData("on-failure", """<AnemosHost Include="x" OnFailure="reboot" />""", "ANEMOS1010")]
    [InlineData("network", """<AnemosHost Include="x" Network="wifi" />""", "ANEMOS1011")]
    [InlineData("target-disk", """<AnemosHost Include="x" TargetDisk="sda" />""", "ANEMOS1012")]
    [InlineData("authorized-keys", """<AnemosHost Include="x" AuthorizedKeys="keys/missing.pub" />""", "ANEMOS1013")]
    public void IsRefused(string name, string hosts, string code)
    {
        using var project = TestProject.CreateDeployProject(hosts);
        BadInput.AssertError(project, code);
        _ = name;
    }

    [Theory]
    [InlineData("""<AnemosHost Include="x" /><AnemosHost Include="y" Group="x" />""", "x", "ANEMOS1014")]
    [InlineData("""<AnemosHost Include="x" /><AnemosHostGroup Include="dns" Hosts="x;nobody" />""", "dns", "ANEMOS1015")]
    [InlineData("""<AnemosHost Include="x" /><AnemosHostGroup Include="dns" Hosts="" />""", "dns", "ANEMOS1015")]
    public void ABadGroupIsRefused(string hosts, string selected, string code)
    {
        using var project = TestProject.CreateDeployProject(hosts);
        BadInput.AssertError(project, code, "-p:Host=" + selected);
    }

    [Fact]
    public void ABrokenHostIsReportedEvenWhenAnotherIsSelected()
    {
        using var project = TestProject.CreateDeployProject("""<AnemosHost Include="x" /><AnemosHost Include="y" Port="0" />""");
        BadInput.AssertError(project, "ANEMOS1004", "-p:Host=x");
    }

    [Fact]
    public void DeploySettingsReachHostEnvAndKeysTheOverlay()
    {
        using var project = TestProject.CreateDeployProject("""<AnemosHost Include="x" OnFailure="ssh" Network="static" TargetDisk="/dev/disk/by-id/nvme-one" AuthorizedKeys="keys/ops.pub" />""");
        project.Write("keys/ops.pub", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA ops@example\n");
        var result = project.Build();
        Assert.True(result.ExitCode == 0, result.ToString());
        string extracted = project.PathOf("extracted");
        Directory.CreateDirectory(extracted);
        Assert.Equal(0, ProcessRunner.Shell($"cpio -id --quiet < '{project.PathOf("bin/anemos/hosts/x/overlay.cpio")}'", extracted).ExitCode);
        string hostEnv = File.ReadAllText(Path.Combine(extracted, "anemos/host.env"));
        Assert.Contains("ANEMOS_ON_FAILURE='ssh'\n", hostEnv);
        Assert.Contains("ANEMOS_NETWORK='static'\n", hostEnv);
        Assert.Contains("ANEMOS_TARGET_DISK='/dev/disk/by-id/nvme-one'\n", hostEnv);
        Assert.DoesNotContain("OnFailure", hostEnv);
        string keys = Path.Combine(extracted, "anemos/authorized_keys");
        Assert.Equal("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA ops@example\n", File.ReadAllText(keys));
        Assert.Matches(@"-rw------- .* anemos/authorized_keys", ProcessRunner.Shell($"cpio -itv --quiet < '{project.PathOf("bin/anemos/hosts/x/overlay.cpio")}'").Output);
    }

    [Fact]
    public void UnknownHostListsTheKnownOnes()
    {
        using var project = TestProject.CreateDeployProject();
        var result = BadInput.AssertError(project, "ANEMOS1009", "-p:Host=zz");
        Assert.Contains("Known hosts: x, y", result.Output);
    }

    [Theory]
    [InlineData("compression", "-p:AnemosOverlayCompression=lz4", "ANEMOS0004")]
    [InlineData("on-success", "-p:AnemosOnSuccess=halt", "ANEMOS0005")]
    [InlineData("epoch", "-p:AnemosSourceDateEpoch=yesterday", "ANEMOS0006")]
    [InlineData("project-kind", "-p:AnemosProjectKind=Laptop", "ANEMOS0002")]
    [InlineData("on-failure-default", "-p:AnemosOnFailure=reboot", "ANEMOS1010")]
    [InlineData("network-default", "-p:AnemosNetwork=wifi", "ANEMOS1011")]
    public void BadSettingsAreRefused(string name, string argument, string code)
    {
        using var project = TestProject.CreateDeployProject();
        BadInput.AssertError(project, code, argument);
        _ = name;
    }
}
