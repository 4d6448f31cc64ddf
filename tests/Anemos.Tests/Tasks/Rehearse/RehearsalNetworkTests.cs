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
    [InlineData("http://127.0.0.1:3142/debian", "http://10.0.2.100/debian")]
    [InlineData(" http://localhost:8080/ ", "http://10.0.2.100/")]
    [InlineData("http://deb.debian.org/debian", "http://10.0.2.100/debian")]
    [InlineData("https://mirror.example.net/pub/debian/", "http://10.0.2.100/pub/debian/")]
    public void TheMirrorIsServedToTheGuestAtItsOwnAddressUnderTheUpstreamsPath(string mirror, string guestUrl)
    {
        var parsed = RehearsalMirror.Parse(mirror)!;

        Assert.Equal(guestUrl, parsed.GuestUrl);
        Assert.Equal(new Uri(mirror.Trim()), parsed.Upstream);
        Assert.Equal(new QemuGuestForward("10.0.2.100", 80, 41000), parsed.Forward(41000));
    }

    [Theory]
    [InlineData("ftp://127.0.0.1/debian")]
    [InlineData("file:///srv/mirror")]
    [InlineData("http://user@127.0.0.1:8080/debian")]
    [InlineData("http://127.0.0.1:8080/debian?x=1")]
    [InlineData("127.0.0.1:8080")]
    [InlineData("/srv/mirror")]
    public void AMirrorThatIsNotAnHttpUrlIsRefused(string mirror)
    {
        var error = Assert.Throws<AnemosException>(() => RehearsalMirror.Parse(mirror));
        Assert.Equal("ANEMOS3109", error.Diagnostic.Code);
    }

    [Theory]
    [InlineData("debian_mirror=${MIRROR:-http://deb.debian.org/debian}", null, "http://deb.debian.org/debian")]
    [InlineData("debian_mirror=${MIRROR-http://deb.debian.org/debian}", null, "http://deb.debian.org/debian")]
    [InlineData("debian_mirror=\"${MIRROR:-https://mirror.example.net/debian}\"", "", "https://mirror.example.net/debian")]
    [InlineData("debian_mirror=${MIRROR:-http://deb.debian.org/debian}", "http://mirror.hetzner.com/debian", "http://mirror.hetzner.com/debian")]
    public void WithoutAnemosRehearseMirrorTheImgbuildsOwnMirrorIsServedAsTheHostWouldSeeIt(string setting, string? hostValue, string upstream)
    {
        var mirror = RehearsalMirror.FromImgbuild($"target=debian\n{setting}\nformat=dir\npackages=hello\n", "MIRROR", hostValue, out string? why);

        Assert.Null(why);
        Assert.Equal(new Uri(upstream), mirror!.Upstream);
    }

    /// <summary>
    /// Arch: arch_mirror is a pacman Server, $repo and $arch left for pacman (single quotes keep the
    /// shell from expanding them); the guest's Server keeps them, and the pass-through fetches the
    /// path pacman asks for from the upstream's host (samples/bitfehler-net's line).
    /// </summary>
    [Theory]
    [InlineData("arch_mirror=${MIRROR:-'https://geo.mirror.pkgbuild.com/$repo/os/$arch'}", null, "https://geo.mirror.pkgbuild.com/$repo/os/$arch")]
    [InlineData("arch_mirror=${MIRROR:-'https://geo.mirror.pkgbuild.com/$repo/os/$arch'}", "http://mirror.example.net/archlinux/$repo/os/$arch", "http://mirror.example.net/archlinux/$repo/os/$arch")]
    [InlineData("arch_mirror=${MIRROR:-https://geo.mirror.pkgbuild.com/\\$repo/os/\\$arch}", null, "https://geo.mirror.pkgbuild.com/$repo/os/$arch")]
    public void AnArchImgbuildsArchMirrorIsServedWithPacmansVariablesKept(string setting, string? hostValue, string upstream)
    {
        var mirror = RehearsalMirror.FromImgbuild($"target=arch\n{setting}\nformat=dir\npackages=base\n", "MIRROR", hostValue, out string? why);

        Assert.Null(why);
        Assert.Equal(upstream, mirror!.Upstream.OriginalString);
        Assert.Equal("http://10.0.2.100" + new Uri(upstream).AbsolutePath, mirror.GuestUrl);
        Assert.EndsWith("/$repo/os/$arch", mirror.GuestUrl);
    }

    [Fact]
    public void BitfehlerNetsMirrorIsServedToItsRehearsal()
    {
        string imgbuild = File.ReadAllText(Anemos.Tests.Infrastructure.Repository.PathOf("samples", "bitfehler-net", "IMGBUILD"));
        var mirror = RehearsalMirror.FromImgbuild(imgbuild, "MIRROR", null, out string? why);
        Assert.Null(why);
        Assert.Equal("https://geo.mirror.pkgbuild.com/$repo/os/$arch", mirror!.Upstream.OriginalString);
    }

    [Theory]
    [InlineData("target=debian\nformat=dir\n", "is not set")]
    [InlineData("target=debian\ndebian_mirror=http://deb.debian.org/debian\n", "which does not read ${MIRROR}")]
    [InlineData("target=debian\ndebian_mirror=${OTHER:-http://deb.debian.org/debian}\n", "which does not read ${MIRROR}")]
    [InlineData("target=debian\ndebian_mirror=${MIRROR:-/srv/mirror}\n", "is not an http or https URL")]
    [InlineData("target=arch\nformat=dir\n", "its arch_mirror is not set, so the repositories of its pacman.conf (or the installer's) are used")]
    [InlineData("target=arch\narch_mirror='https://geo.mirror.pkgbuild.com/$repo/os/$arch'\n", "its arch_mirror is 'https://geo.mirror.pkgbuild.com/$repo/os/$arch' (line 2), which does not read ${MIRROR}")]
    public void AnImgbuildWhoseMirrorTheRehearsalCannotRedirectSaysWhy(string imgbuild, string reason)
    {
        Assert.Null(RehearsalMirror.FromImgbuild(imgbuild, "MIRROR", null, out string? why));
        Assert.Contains(reason, why);
    }

    [Theory]
    [InlineData("target=alpine\nformat=dir\n")]
    [InlineData("target=$(echo debian)\n")]
    [InlineData("deploy() {\n")]
    public void OtherTargetsHaveNoMirrorToServeAndNothingToSay(string imgbuild)
    {
        Assert.Null(RehearsalMirror.FromImgbuild(imgbuild, "MIRROR", null, out string? why));
        Assert.Null(why);
    }
}
