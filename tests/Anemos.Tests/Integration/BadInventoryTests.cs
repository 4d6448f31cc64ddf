using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Integration;

/// <summary>Broken inventories and settings: every host is checked, even when one is selected.</summary>
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
    public void IsRefused(string name, string hosts, string code)
    {
        using var project = TestProject.CreateDeployProject(hosts);
        BadInput.AssertError(project, code);
        _ = name;
    }

    [Fact]
    public void ABrokenHostIsReportedEvenWhenAnotherIsSelected()
    {
        using var project = TestProject.CreateDeployProject("""<AnemosHost Include="x" /><AnemosHost Include="y" Port="0" />""");
        BadInput.AssertError(project, "ANEMOS1004", "-p:Host=x");
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
    public void BadSettingsAreRefused(string name, string argument, string code)
    {
        using var project = TestProject.CreateDeployProject();
        BadInput.AssertError(project, code, argument);
        _ = name;
    }
}
