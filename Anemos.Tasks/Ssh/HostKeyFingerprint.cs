using System.Security.Cryptography;

namespace Anemos.Tasks.Ssh;

/// <summary>OpenSSH's key fingerprints: "SHA256:" and the unpadded base64 of the sha256 of the key blob.</summary>
public static class HostKeyFingerprint
{
    public static string Of(string base64Blob) =>
        "SHA256:" + Convert.ToBase64String(SHA256.HashData(Convert.FromBase64String(base64Blob))).TrimEnd('=');

    /// <summary>Keys from ssh-keyscan output lines ("[host]:port type base64"), as (type, base64, fingerprint).</summary>
    public static IEnumerable<(string Type, string Blob, string Fingerprint)> FromKeyscan(string output)
    {
        foreach (string line in output.Split('\n'))
        {
            string[] parts = line.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 3 || parts[0].StartsWith('#')) continue;
            string? fingerprint = null;
            try { fingerprint = Of(parts[2]); } catch (FormatException) { }
            if (fingerprint is not null) yield return (parts[1], parts[2], fingerprint);
        }
    }

    public static bool Matches(string pinned, string fingerprint) =>
        string.Equals(pinned.Trim().TrimEnd('='), fingerprint, StringComparison.Ordinal);
}
