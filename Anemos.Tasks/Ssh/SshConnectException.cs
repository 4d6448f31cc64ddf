namespace Anemos.Tasks.Ssh;

/// <summary>
/// ssh could not open a session: ANEMOS4001 (the host presents another key than the pin) or
/// ANEMOS4002 (anything else). What a handover's watchers decide on is in fields, so no caller
/// takes the message apart.
/// </summary>
public sealed class SshConnectException : AnemosException
{
    SshConnectException(Diagnostic diagnostic, params object?[] arguments) : base(diagnostic, arguments) { }

    /// <summary>The fingerprints the host offered (ANEMOS4001); empty for ANEMOS4002.</summary>
    public IReadOnlyList<string> OfferedKeys { get; private init; } = [];
    /// <summary>ssh's own last error line (ANEMOS4002); the offered keys for ANEMOS4001.</summary>
    public string Reason { get; private init; } = "";
    /// <summary>Nothing answered at the other end (refused, timed out, closed before the key exchange), rather than a server that answered and refused us.</summary>
    public bool Unreachable { get; private init; }

    public static SshConnectException KeyMismatch(string display, IReadOnlyList<string> offered, string pin)
    {
        string keys = string.Join(", ", offered);
        return new(Diagnostics.HostKeyMismatch, display, keys, pin) { OfferedKeys = offered, Reason = keys };
    }

    public static SshConnectException Failed(string display, string sshError) =>
        new(Diagnostics.SshConnectFailed, display, sshError) { Reason = sshError, Unreachable = LooksUnreachable(sshError) };

    /// <summary>ssh's words (OpenSSH and the C library's) for a connection that reached no ssh server.</summary>
    static bool LooksUnreachable(string sshError) =>
        new[] { "Connection refused", "timed out", "No route to host", "Network is unreachable", "Connection closed", "Connection reset",
            "kex_exchange_identification", "Could not resolve", "banner exchange", "closed by remote host", "Broken pipe" }
            .Any(m => sshError.Contains(m, StringComparison.OrdinalIgnoreCase));
}
