namespace Anemos.Tasks.Rehearse;

/// <summary>
/// AnemosRehearseMirror: an http URL on this machine's loopback that the VM installs from. QEMU
/// forwards the guest's <see cref="GuestAddress"/>:80 to it; <see cref="GuestUrl"/> is how the guest names it.
/// </summary>
public sealed record RehearsalMirror(int Port, string GuestUrl)
{
    /// <summary>Where the guest reaches the mirror: inside QEMU's default user network 10.0.2.0/24.</summary>
    public const string GuestAddress = "10.0.2.100";

    /// <summary>Null when empty; ANEMOS3109 unless an http URL on 127.0.0.1 (or localhost) with a port, without query or user.</summary>
    public static RehearsalMirror? Parse(string? mirror)
    {
        if (string.IsNullOrWhiteSpace(mirror)) return null;
        if (!Uri.TryCreate(mirror.Trim(), UriKind.Absolute, out var uri) || uri.Scheme != "http"
            || uri.Host is not ("127.0.0.1" or "localhost") || uri.IsDefaultPort && !mirror.Contains(":80", StringComparison.Ordinal)
            || uri.Query.Length > 0 || uri.UserInfo.Length > 0)
            throw new AnemosException(Diagnostics.RehearseMirrorInvalid, mirror);
        return new(uri.Port, "http://" + GuestAddress + uri.AbsolutePath);
    }

    public QemuGuestForward Forward => new(GuestAddress, 80, Port);
}
