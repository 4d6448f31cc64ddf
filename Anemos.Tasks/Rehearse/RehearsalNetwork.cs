using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Anemos.Tasks.Rehearse;

/// <summary>
/// The installed system's network in phase 2: QEMU's user network takes the shape of the host's
/// own (its net, its gateway as QEMU's address), so the installed static configuration answers.
/// </summary>
public sealed record RehearsalNetwork(string Net, string Gateway, string Guest)
{
    /// <summary>
    /// AnemosRehearseAddress (a.b.c.d/nn, nn 8 to 30) and its gateway, else the first address of the
    /// net that is not the guest's; null without an address. ANEMOS3117 when either is not IPv4 or
    /// the gateway lies outside the net.
    /// </summary>
    public static RehearsalNetwork? Parse(string? address, string? gateway)
    {
        if (string.IsNullOrWhiteSpace(address)) return null;
        string[] parts = address.Trim().Split('/');
        if (parts.Length != 2 || !TryParseIPv4(parts[0], out uint guest) || !int.TryParse(parts[1], out int prefix) || prefix is < 8 or > 30)
            throw new AnemosException(Diagnostics.RehearseAddressInvalid, address, gateway ?? "");
        uint mask = uint.MaxValue << (32 - prefix);
        uint net = guest & mask;
        uint host;
        if (!string.IsNullOrWhiteSpace(gateway))
        {
            if (!TryParseIPv4(gateway.Trim(), out host) || (host & mask) != net)
                throw new AnemosException(Diagnostics.RehearseAddressInvalid, address, gateway);
        }
        else host = net + 1 == guest ? net + 2 : net + 1;
        return new RehearsalNetwork($"{Format(net)}/{prefix}", Format(host), Format(guest));
    }

    /// <summary>The user network in this shape, with the guest's sshd forwarded to 127.0.0.1:<paramref name="port"/>.</summary>
    public QemuNetwork WithSsh(int port) => new() { Net = Net, Host = Gateway, HostForwards = [new(port, 22, Guest)] };

    static bool TryParseIPv4(string text, out uint value)
    {
        value = 0;
        if (!IPAddress.TryParse(text, out var address) || address.AddressFamily != AddressFamily.InterNetwork) return false;
        value = BinaryPrimitives.ReadUInt32BigEndian(address.GetAddressBytes());
        return true;
    }

    static string Format(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return new IPAddress(bytes).ToString();
    }
}
