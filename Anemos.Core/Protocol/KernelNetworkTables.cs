using System.Globalization;
using System.Net;
using System.Numerics;

namespace Anemos.Core.Protocol;

/// <summary>A network interface as /sys/class/net shows it.</summary>
public sealed record KernelLink(string Name, int Index, string Mac, bool Ethernet);

/// <summary>An IPv4 address as getifaddrs(3) reports it; the label may be an alias such as eth0:1.</summary>
public sealed record KernelIpv4Address(string Label, string Address, int Prefix);

/// <summary>
/// The network snapshot of a host without iproute2's JSON (busybox's `ip`, an old iproute2): the
/// interfaces from /sys/class/net, IPv4 addresses from getifaddrs(3) (no file in /proc lists them
/// with their interface), IPv6 addresses from /proc/net/if_inet6, routes from /proc/net/route and
/// /proc/net/ipv6_route. The same snapshot as <see cref="NetworkSnapshot.Parse"/> but for one fact:
/// these tables do not say whether an IPv4 address came from DHCP, so IPv4 addresses are kept as
/// static (they hold for the deploy's lifetime; docs/deploy-init.md).
/// </summary>
public static class KernelNetworkTables
{
    const int RouteGateway = 0x2;        // RTF_GATEWAY
    const int AddressPermanent = 0x80;   // IFA_F_PERMANENT: set for configured addresses, not for autoconf/DHCP ones
    const int ScopeHost = 0x10, ScopeLink = 0x20;

    public static NetworkSnapshot Parse(IEnumerable<KernelLink> links, IEnumerable<KernelIpv4Address> ipv4, string? route, string? ifInet6, string? ipv6Route, string? resolvConf)
    {
        var ipv6 = Rows(ifInet6).Where(r => r.Length >= 6).Select(r => (
            Device: r[5],
            Address: new AddressFact(Ipv6(r[0]), Hex(r[2]), Dynamic: (Hex(r[4]) & AddressPermanent) == 0),
            Scope: Hex(r[3]))).ToList();

        var interfaces = new List<NetworkInterfaceFact>();
        foreach (var link in links.Where(l => l.Ethernet && l.Mac.Length > 0).OrderBy(l => l.Index))
        {
            var addresses = ipv4.Where(a => DeviceOf(a.Label) == link.Name).Select(a => new AddressFact(a.Address, a.Prefix, Dynamic: false))
                .Concat(ipv6.Where(a => a.Device == link.Name && a.Scope != ScopeLink && a.Scope != ScopeHost).Select(a => a.Address))
                .ToArray();
            if (addresses.Length == 0) continue; // nothing to bring back
            interfaces.Add(new NetworkInterfaceFact(link.Name, link.Mac, Dhcp: false, addresses));
        }

        var routes = new List<RouteFact>();
        // Iface Destination Gateway Flags RefCnt Use Metric Mask ...; a header line first.
        foreach (var r in Rows(route).Skip(1).Where(r => r.Length >= 8 && (Hex(r[3]) & RouteGateway) != 0))
        {
            int prefix = BitOperations.PopCount(HexUnsigned(r[7]));
            string destination = prefix == 0 ? "default" : $"{Ipv4(r[1])}/{prefix}";
            routes.Add(new RouteFact(destination, Ipv4(r[2]), r[0]));
        }
        // Destination DestLength Source SourceLength NextHop Metric RefCnt Use Flags Device.
        foreach (var r in Rows(ipv6Route).Where(r => r.Length >= 10 && (Hex(r[8]) & RouteGateway) != 0))
        {
            int prefix = Hex(r[1]);
            string destination = prefix == 0 ? "default" : $"{Ipv6(r[0])}/{prefix}";
            routes.Add(new RouteFact(destination, Ipv6(r[4]), r[9]));
        }

        return new NetworkSnapshot { Interfaces = interfaces.ToArray(), Routes = routes.ToArray(), Dns = NetworkSnapshot.DnsServers(resolvConf) };
    }

    static string DeviceOf(string label) => label.Split(':')[0];

    static IEnumerable<string[]> Rows(string? table) => (table ?? "").Split('\n')
        .Select(l => l.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)).Where(r => r.Length > 0);

    static int Hex(string text) => int.Parse(text, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    static uint HexUnsigned(string text) => uint.Parse(text, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    // /proc/net/route prints the address's four bytes as one number in the host's byte order:
    // writing that number back in the host's order gives the bytes again, on any machine.
    static string Ipv4(string hostOrderHex) => new IPAddress(BitConverter.GetBytes(HexUnsigned(hostOrderHex))).ToString();

    static string Ipv6(string hex) => new IPAddress(Convert.FromHexString(hex)).ToString();
}
