using Anemos.Tasks;
using Anemos.Tasks.Deploy;

namespace Anemos.Tests.Tasks;

/// <summary>Whom the deploy logs in as, before and after the handover (a first install from a stock image's `debian`).</summary>
public sealed class DeploySettingsTests
{
    const string StockKey = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", XKey = "SHA256:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";

    static Anemos.Tasks.Ssh.SshTarget StockTarget() => DeploySettings.Target("x", "127.0.0.1", "debian", "2222", StockKey, XKey, null, null);

    [Fact]
    public void TheNewSystemIsReachedAsTheDeployedUserWithTheDeployedKey()
    {
        var newSystem = DeploySettings.NewSystem("x", StockTarget(), XKey, "root");
        Assert.Equal("root", newSystem.User);
        Assert.Equal(XKey, newSystem.HostKey);
        Assert.Equal(2222, newSystem.Port);
        Assert.Equal("127.0.0.1", newSystem.Address);
    }

    [Fact]
    public void WithoutADeployedUserTheNewSystemIsReachedAsTheSameUser()
    {
        var newSystem = DeploySettings.NewSystem("x", StockTarget(), null, " ");
        Assert.Equal("debian", newSystem.User);
        Assert.Equal(StockKey, newSystem.HostKey);
    }

    [Fact]
    public void ADeployedUserThatIsNoLoginNameIsAnemos1006()
    {
        var error = Assert.Throws<AnemosException>(() => DeploySettings.NewSystem("x", StockTarget(), XKey, "-oProxyCommand=sh"));
        Assert.Equal("ANEMOS1006", error.Diagnostic.Code);
        Assert.Contains("-oProxyCommand=sh", error.Message);
    }

    [Fact]
    public void WithoutDeployedSettingsTheNewSystemIsTheProjectsOwnUserAndPin()
    {
        // A first install: the publish profile logs in to the stock image as debian with its pin; the host's metadata names neither deployed setting.
        var newSystem = DeploySettings.NewSystem("x", StockTarget(), null, null, projectHostKey: XKey, projectUser: DeploySettings.DefaultUser);
        Assert.Equal("root", newSystem.User);
        Assert.Equal(XKey, newSystem.HostKey);
    }

    [Theory]
    [InlineData("70000")]
    [InlineData("ssh")]
    public void ABadPortIsAnemos1004AsInTheInventory(string port)
    {
        var error = Assert.Throws<AnemosException>(() => DeploySettings.Target("x", "127.0.0.1", null, port, null, null, null, null));
        Assert.Equal("ANEMOS1004", error.Diagnostic.Code);
        Assert.Contains(port, error.Message);
    }
}
