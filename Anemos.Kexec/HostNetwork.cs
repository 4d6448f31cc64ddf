using System.Text.Json;
using Anemos.Core.Protocol;

namespace Anemos.Kexec;

/// <summary>
/// The running system's network for the deploy environment (docs/helper.md, "facts"): iproute2's
/// JSON where `ip -j` works, else the kernel's own tables (busybox's `ip` prints no JSON, and a
/// server without iproute2 must not lose its static addresses: without them the installer falls
/// back to DHCP, which a server without a DHCP server never answers).
/// </summary>
public static class HostNetwork
{
    public static NetworkSnapshot Read(SystemFiles system)
    {
        if (system.Root != "/") return NetworkSnapshot.Empty;
        string? resolvConf = system.Read("/etc/resolv.conf");
        string? addresses = Ip("-j", "addr", "show");
        if (addresses is not null)
        {
            try { return NetworkSnapshot.Parse(addresses, Ip("-j", "-4", "route", "show"), Ip("-j", "-6", "route", "show"), resolvConf); }
            catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException) { } // not iproute2's JSON
        }
        return FromKernelTables(system, Native.Ipv4Addresses(), resolvConf);
    }

    /// <summary>The snapshot from /sys/class/net and /proc/net with the given IPv4 addresses (getifaddrs on a host).</summary>
    public static NetworkSnapshot FromKernelTables(SystemFiles system, IEnumerable<KernelIpv4Address> ipv4, string? resolvConf)
    {
        var links = system.List("/sys/class/net").Select(name => new KernelLink(
            name,
            int.TryParse(system.Read($"/sys/class/net/{name}/ifindex")?.Trim(), out int index) ? index : int.MaxValue,
            system.Read($"/sys/class/net/{name}/address")?.Trim() ?? "",
            Ethernet: system.Read($"/sys/class/net/{name}/type")?.Trim() == "1")); // ARPHRD_ETHER
        return KernelNetworkTables.Parse(links, ipv4, system.Read("/proc/net/route"), system.Read("/proc/net/if_inet6"), system.Read("/proc/net/ipv6_route"), resolvConf);
    }

    static string? Ip(params string[] arguments)
    {
        try
        {
            var result = Anemos.Core.ChildProcess.Run("ip", arguments);
            return result.ExitCode == 0 && result.Output.TrimStart().StartsWith('[') ? result.Output : null;
        }
        catch (System.ComponentModel.Win32Exception) { return null; } // no `ip` at all
    }
}
