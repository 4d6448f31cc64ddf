using System.Buffers.Binary;
using System.Text;

namespace Anemos.Kexec;

/// <summary>
/// The running system's OpenSSH host keys, readable by root alone, which `stage` carries into the
/// deploy environment so its ssh answers with the key the deploy pinned (docs/helper.md, stage):
/// the keys sshd_config's `HostKey` lines name (<see cref="SshdConfig"/>), else sshd's default
/// /etc/ssh/ssh_host_TYPE_key files. Only regular files with a private key's first line count; each
/// travels as ssh_host_TYPE_key, its type read from the key itself, the first key of each type only
/// (the deploy init's server takes one key per type).
/// </summary>
public static class HostKeyFiles
{
    public const string Directory = "/etc/ssh";
    const int MaxKeyBytes = 64 * 1024;

    public static IReadOnlyList<(string Name, byte[] Content)> Read(SystemFiles files)
    {
        var configured = SshdConfig.HostKeyPaths(files);
        IEnumerable<string> paths = configured.Count > 0
            ? configured
            : files.List(Directory).Where(name => name.StartsWith("ssh_host_", StringComparison.Ordinal) && name.EndsWith("_key", StringComparison.Ordinal)).Select(name => $"{Directory}/{name}");
        var keys = new List<(string, byte[])>();
        var types = new HashSet<string>(StringComparer.Ordinal);
        foreach (string path in paths)
        {
            var info = new FileInfo(files.PathOf(path));
            if (!info.Exists || info.LinkTarget is not null || info.Length is 0 or > MaxKeyBytes) continue;
            byte[]? content = files.ReadBytes(path);
            if (content is null || !Encoding.ASCII.GetString(content, 0, Math.Min(content.Length, 64)).StartsWith("-----BEGIN ", StringComparison.Ordinal)) continue;
            if ((KeyType(content) ?? TypeFromName(Path.GetFileName(path))) is not { } type || !types.Add(type)) continue;
            keys.Add(($"ssh_host_{type}_key", content));
        }
        return keys;
    }

    /// <summary>
    /// A private key's type as OpenSSH names its host key files (rsa, ecdsa, ed25519, dsa): from the
    /// PEM label, or from the public key inside an `openssh-key-v1` container (whose public part is
    /// not encrypted even when the key is). Null when it cannot be read.
    /// </summary>
    public static string? KeyType(byte[] content)
    {
        string text = Encoding.ASCII.GetString(content);
        if (text.StartsWith("-----BEGIN RSA PRIVATE KEY-----", StringComparison.Ordinal)) return "rsa";
        if (text.StartsWith("-----BEGIN EC PRIVATE KEY-----", StringComparison.Ordinal)) return "ecdsa";
        if (text.StartsWith("-----BEGIN DSA PRIVATE KEY-----", StringComparison.Ordinal)) return "dsa";
        const string Begin = "-----BEGIN OPENSSH PRIVATE KEY-----", End = "-----END OPENSSH PRIVATE KEY-----";
        int start = text.IndexOf(Begin, StringComparison.Ordinal), end = text.IndexOf(End, StringComparison.Ordinal);
        if (start != 0 || end < 0) return null;
        byte[] blob;
        try
        {
            blob = Convert.FromBase64String(string.Concat(text[Begin.Length..end].Where(c => !char.IsWhiteSpace(c))));
        }
        catch (FormatException)
        {
            return null;
        }
        // "openssh-key-v1\0", then strings cipher, kdf, kdf options, a uint32 count, and the first public key,
        // whose first string is its type.
        ReadOnlySpan<byte> magic = "openssh-key-v1\0"u8;
        if (!blob.AsSpan().StartsWith(magic)) return null;
        int offset = magic.Length;
        for (int i = 0; i < 3; i++)
            if (!Skip(blob, ref offset)) return null;
        offset += 4;
        if (offset + 8 > blob.Length) return null;
        offset += 4; // the public key's length
        int typeLength = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(blob.AsSpan(offset)), 64);
        offset += 4;
        if (offset + typeLength > blob.Length) return null;
        string sshType = Encoding.ASCII.GetString(blob, offset, typeLength);
        return sshType switch
        {
            "ssh-ed25519" => "ed25519",
            "ssh-rsa" => "rsa",
            "ssh-dss" => "dsa",
            _ when sshType.StartsWith("ecdsa-sha2-", StringComparison.Ordinal) => "ecdsa",
            _ => null,
        };
    }

    static bool Skip(byte[] blob, ref int offset)
    {
        if (offset + 4 > blob.Length) return false;
        long length = BinaryPrimitives.ReadUInt32BigEndian(blob.AsSpan(offset));
        if (offset + 4 + length > blob.Length) return false;
        offset += 4 + (int)length;
        return true;
    }

    static string? TypeFromName(string name) =>
        name.StartsWith("ssh_host_", StringComparison.Ordinal) && name.EndsWith("_key", StringComparison.Ordinal) && name.Length > "ssh_host__key".Length
            ? name["ssh_host_".Length..^"_key".Length]
            : null;
}
