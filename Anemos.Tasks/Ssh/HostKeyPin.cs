namespace Anemos.Tasks.Ssh;

/// <summary>
/// A pinned host key as the only key ssh accepts: no known_hosts file, no DNS, no IP check, no
/// certificate authority, and a KnownHostsCommand of ours that vouches for exactly the pinned key
/// (and records every key offered, for the error). ssh checks it during the key exchange, on the
/// connection it makes through the user's config (ProxyJump, aliases), before authenticating.
/// </summary>
sealed class HostKeyPin(string pinned, string folder)
{
    const string PinnedAlias = "anemos-pinned";

    /// <summary>Where the pin script records each key fingerprint the server offered.</summary>
    string OfferedFile => Path.Combine(folder, "offered");

    /// <summary>The fingerprints the server offered to this session's pinned connections, in order, without repeats.</summary>
    public IReadOnlyList<string> OfferedFingerprints =>
        File.Exists(OfferedFile) ? File.ReadAllLines(OfferedFile).Select(l => l.Trim()).Where(l => l.Length > 0).Distinct().ToList() : [];

    /// <summary>Writes the pin script into the session's folder and returns the ssh options that use it.</summary>
    public IEnumerable<string> WriteOptions()
    {
        string script = Path.Combine(folder, "pin");
        File.WriteAllText(script, $"""
            #!/bin/sh
            # anemos: $1 is the offered key's fingerprint (%f), $2 its type (%t), $3 the key (%K)
            [ -n "$1" ] || exit 0
            printf '%s\n' "$1" >> {ShellQuoting.Quote(OfferedFile)}
            [ "$1" = {ShellQuoting.Quote(Normalize(pinned))} ] && printf '{PinnedAlias} %s %s\n' "$2" "$3"
            exit 0

            """.Replace("\r", ""));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return ["-o", "UserKnownHostsFile=/dev/null", "-o", "GlobalKnownHostsFile=/dev/null", "-o", "VerifyHostKeyDNS=no",
            "-o", "CheckHostIP=no", "-o", "HostKeyAlias=" + PinnedAlias, "-o", "UpdateHostKeys=no",
            "-o", $"KnownHostsCommand=\"{script}\" %f %t %K"];
    }

    /// <summary>A fingerprint as ssh's %f prints it: "SHA256:" and unpadded base64.</summary>
    static string Normalize(string pinned) => pinned.Trim().TrimEnd('=');
}
