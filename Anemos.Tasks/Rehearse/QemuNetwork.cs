using System.Globalization;

namespace Anemos.Tasks.Rehearse;

/// <summary>
/// QEMU's user network, restricted: the guest reaches nothing but what is forwarded. Without a
/// <see cref="Net"/> it is QEMU's 10.0.2.0/24 (the guest 10.0.2.15 by DHCP).
/// </summary>
public sealed record QemuNetwork
{
    public const string Id = "net0";

    /// <summary>The network in CIDR form (a.b.c.d/nn), to give the guest its own address's shape.</summary>
    public string? Net { get; init; }
    /// <summary>QEMU's own address in <see cref="Net"/>: the guest's gateway.</summary>
    public string? Host { get; init; }
    /// <summary>The first address QEMU's DHCP hands out.</summary>
    public string? DhcpStart { get; init; }
    public IReadOnlyList<QemuHostForward> HostForwards { get; init; } = [];
    public IReadOnlyList<QemuGuestForward> GuestForwards { get; init; } = [];

    public string Netdev()
    {
        var parts = new List<string> { "user", "id=" + Id, "restrict=on" };
        if (Net is not null) parts.Add("net=" + Net);
        if (Host is not null) parts.Add("host=" + Host);
        if (DhcpStart is not null) parts.Add("dhcpstart=" + DhcpStart);
        parts.AddRange(HostForwards.Select(f => f.Option()));
        parts.AddRange(GuestForwards.Select(f => f.Option()));
        return string.Join(',', parts);
    }

    public IEnumerable<string> Arguments() => ["-netdev", Netdev(), "-device", "virtio-net-pci,netdev=" + Id];
}

/// <summary>127.0.0.1:HOSTPORT on this machine to the guest's port (its DHCP address when <see cref="GuestAddress"/> is null).</summary>
public sealed record QemuHostForward(int HostPort, int GuestPort, string? GuestAddress = null)
{
    public string Option() => string.Create(CultureInfo.InvariantCulture, $"hostfwd=tcp:127.0.0.1:{HostPort}-{GuestAddress}:{GuestPort}");
}

/// <summary>
/// The guest's ADDRESS:PORT to 127.0.0.1:HOSTPORT on this machine: one bash /dev/tcp relay per
/// connection (a tcp chardev would carry a single connection). The address must lie in the user
/// network's net.
/// </summary>
public sealed record QemuGuestForward(string GuestAddress, int GuestPort, int HostPort)
{
    public string Option() => string.Create(CultureInfo.InvariantCulture,
        $"guestfwd=tcp:{GuestAddress}:{GuestPort}-cmd:/bin/bash -c 'exec 3<>/dev/tcp/127.0.0.1/{HostPort}; cat <&3 & exec cat >&3'");
}
