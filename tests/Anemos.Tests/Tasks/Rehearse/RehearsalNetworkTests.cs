using Anemos.Tasks;
using Anemos.Tasks.Rehearse;

namespace Anemos.Tests.Tasks.Rehearse;

/// <summary>Phase 2's user network in the host's shape (AnemosRehearseAddress, AnemosRehearseGateway), and the mirror's forward.</summary>
public sealed class RehearsalNetworkTests
{
    [Theory]
    [InlineData("198.51.100.53/24", "", "198.51.100.0/24", "198.51.100.1", "198.51.100.53")]
    [InlineData("198.51.100.1/24", "", "198.51.100.0/24", "198.51.100.2", "198.51.100.1")]
    [InlineData("192.0.2.77/26", "192.0.2.126", "192.0.2.64/26", "192.0.2.126", "192.0.2.77")]
    [InlineData(" 10.1.2.3/8 ", " 10.200.0.1 ", "10.0.0.0/8", "10.200.0.1", "10.1.2.3")]
    [InlineData("203.0.113.9/30", null, "203.0.113.8/30", "203.0.113.10", "203.0.113.9")]
    public void TheNetIsTheAddressMaskedAndTheGatewayIsGivenOrTheFirstFreeAddress(string address, string? gateway, string net, string host, string guest)
    {
        Assert.Equal(new RehearsalNetwork(net, host, guest), RehearsalNetwork.Parse(address, gateway));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void WithoutAnAddressTheVmKeepsQemusOwnNetwork(string? address) =>
        Assert.Null(RehearsalNetwork.Parse(address, "192.0.2.1"));

    [Theory]
    [InlineData("198.51.100.53", "")]
    [InlineData("198.51.100.53/31", "")]
    [InlineData("198.51.100.53/7", "")]
    [InlineData("2001:db8::53/64", "")]
    [InlineData("x.example.net/24", "")]
    [InlineData("198.51.100.53/24", "198.51.101.1")]
    [InlineData("198.51.100.53/24", "2001:db8::1")]
    public void AnAddressThatIsNotIPv4WithAPrefixOrAGatewayOutsideItIsRefused(string address, string gateway)
    {
        var error = Assert.Throws<AnemosException>(() => RehearsalNetwork.Parse(address, gateway));
        Assert.Equal("ANEMOS3117", error.Diagnostic.Code);
    }

    [Fact]
    public void SshIsForwardedToTheGuestsOwnAddress()
    {
        var network = RehearsalNetwork.Parse("198.51.100.53/24", null)!.WithSsh(2222);

        Assert.Equal("user,id=net0,restrict=on,net=198.51.100.0/24,host=198.51.100.1,hostfwd=tcp:127.0.0.1:2222-198.51.100.53:22", network.Netdev());
    }

    [Theory]
    [InlineData("http://127.0.0.1:3142/debian", 3142, "http://10.0.2.100/debian")]
    [InlineData(" http://localhost:8080/ ", 8080, "http://10.0.2.100/")]
    [InlineData("http://127.0.0.1:80/debian", 80, "http://10.0.2.100/debian")]
    public void TheMirrorIsALoopbackPortTheGuestReachesAtItsOwnAddress(string mirror, int port, string guestUrl)
    {
        var parsed = RehearsalMirror.Parse(mirror)!;

        Assert.Equal(new RehearsalMirror(port, guestUrl), parsed);
        Assert.Equal(new QemuGuestForward("10.0.2.100", 80, port), parsed.Forward);
    }

    [Theory]
    [InlineData("http://192.0.2.1:8080/debian")]
    [InlineData("https://127.0.0.1:8443/debian")]
    [InlineData("http://127.0.0.1/debian")]
    [InlineData("http://user@127.0.0.1:8080/debian")]
    [InlineData("http://127.0.0.1:8080/debian?x=1")]
    [InlineData("127.0.0.1:8080")]
    public void AMirrorElsewhereIsRefused(string mirror)
    {
        var error = Assert.Throws<AnemosException>(() => RehearsalMirror.Parse(mirror));
        Assert.Equal("ANEMOS3109", error.Diagnostic.Code);
    }
}
