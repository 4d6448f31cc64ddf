using System.Text;
using System.Text.Json;
using Grammar = Anemos.Core.Initramfs.DeployInitContract.NetworkConfGrammar;

namespace Anemos.Core.Protocol;

/// <summary>The running system's network, so the deploy kernel can bring the same addresses up (docs/deploy-init.md).</summary>
public sealed record NetworkSnapshot
{
    public required NetworkInterfaceFact[] Interfaces { get; init; }
    public required RouteFact[] Routes { get; init; }
    public required string[] Dns { get; init; }

    public static NetworkSnapshot Empty { get; } = new() { Interfaces = [], Routes = [], Dns = [] };

    /// <summary>Reads `ip -j addr` and `ip -j route` (iproute2's JSON) and resolv.conf; without iproute2, <see cref="KernelNetworkTables"/>.</summary>
    public static NetworkSnapshot Parse(string? addressJson, string? routeJson, string? route6Json, string? resolvConf)
    {
        var interfaces = new List<NetworkInterfaceFact>();
        if (!string.IsNullOrWhiteSpace(addressJson))
        {
            foreach (var link in JsonDocument.Parse(addressJson).RootElement.EnumerateArray())
            {
                string name = link.GetProperty("ifname").GetString() ?? "";
                string mac = link.TryGetProperty("address", out var a) ? a.GetString() ?? "" : "";
                string type = link.TryGetProperty("link_type", out var t) ? t.GetString() ?? "" : "";
                if (type != "ether" || mac.Length == 0) continue;
                var addresses = new List<AddressFact>();
                if (link.TryGetProperty("addr_info", out var infos))
                {
                    foreach (var info in infos.EnumerateArray())
                    {
                        string local = info.GetProperty("local").GetString() ?? "";
                        int prefix = info.GetProperty("prefixlen").GetInt32();
                        bool dynamic = info.TryGetProperty("dynamic", out var d) && d.ValueKind == JsonValueKind.True;
                        string scope = info.TryGetProperty("scope", out var s) ? s.GetString() ?? "" : "";
                        if (scope == "link") continue; // fe80::/64 comes back by itself
                        addresses.Add(new AddressFact(local, prefix, dynamic));
                    }
                }
                if (addresses.Count == 0) continue; // nothing to bring back
                interfaces.Add(new NetworkInterfaceFact(name, mac, addresses.Any(x => x.Dynamic && !x.Address.Contains(':')), addresses.ToArray()));
            }
        }

        var routes = new List<RouteFact>();
        foreach (string? json in new[] { routeJson, route6Json })
        {
            if (string.IsNullOrWhiteSpace(json)) continue;
            foreach (var route in JsonDocument.Parse(json).RootElement.EnumerateArray())
            {
                if (!route.TryGetProperty("gateway", out var gateway) || !route.TryGetProperty("dev", out var dev)) continue;
                string destination = route.TryGetProperty("dst", out var dst) ? dst.GetString() ?? "default" : "default";
                routes.Add(new RouteFact(destination, gateway.GetString() ?? "", dev.GetString() ?? ""));
            }
        }

        return new NetworkSnapshot { Interfaces = interfaces.ToArray(), Routes = routes.ToArray(), Dns = DnsServers(resolvConf) };
    }

    /// <summary>resolv.conf's name servers, but not a local stub (127.0.0.53 is systemd-resolved's, gone in the deploy environment).</summary>
    internal static string[] DnsServers(string? resolvConf) => (resolvConf ?? "").Split('\n')
        .Select(l => l.Trim().Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
        .Where(p => p.Length >= 2 && p[0] == "nameserver" && !p[1].StartsWith("127.", StringComparison.Ordinal))
        .Select(p => p[1]).ToArray();

    /// <summary>The snapshot as /anemos/network.conf: interfaces by MAC, since the deploy kernel may name them otherwise.</summary>
    public string ToNetworkConf()
    {
        var text = new StringBuilder(Grammar.Header + "\n");
        foreach (var link in Interfaces)
        {
            text.Append($"{Grammar.Link} {link.Mac} {link.Name}\n");
            if (link.Dhcp) text.Append($"{Grammar.Dhcp} {link.Mac}\n");
            foreach (var address in link.Addresses.Where(a => !(link.Dhcp && a.Dynamic)))
                text.Append($"{Grammar.Address} {link.Mac} {address.Address}/{address.Prefix}\n");
        }
        foreach (var route in Routes)
        {
            var link = Interfaces.FirstOrDefault(i => i.Name == route.Interface);
            if (link is null || (link.Dhcp && !route.Gateway.Contains(':'))) continue; // DHCP brings its own IPv4 routes
            text.Append($"{Grammar.Route} {route.Destination} {route.Gateway} {link.Mac}\n");
        }
        foreach (string server in Dns) text.Append($"{Grammar.Dns} {server}\n");
        return text.ToString();
    }
}

public sealed record NetworkInterfaceFact(string Name, string Mac, bool Dhcp, AddressFact[] Addresses);
public sealed record AddressFact(string Address, int Prefix, bool Dynamic);
public sealed record RouteFact(string Destination, string Gateway, string Interface);
