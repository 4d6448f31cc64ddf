namespace Anemos.Kexec;

/// <summary>
/// The running system's OpenSSH host keys (/etc/ssh/ssh_host_TYPE_key, readable by root alone), which
/// `stage` carries into the deploy environment so its ssh answers with the key the deploy pinned
/// (docs/helper.md, stage). Only regular files with a private key's first line count.
/// </summary>
public static class HostKeyFiles
{
    public const string Directory = "/etc/ssh";
    const int MaxKeyBytes = 64 * 1024;

    public static IReadOnlyList<(string Name, byte[] Content)> Read(SystemFiles files)
    {
        var keys = new List<(string, byte[])>();
        foreach (string name in files.List(Directory))
        {
            if (!name.StartsWith("ssh_host_", StringComparison.Ordinal) || !name.EndsWith("_key", StringComparison.Ordinal)) continue;
            var info = new FileInfo(files.PathOf($"{Directory}/{name}"));
            if (!info.Exists || info.LinkTarget is not null || info.Length is 0 or > MaxKeyBytes) continue;
            byte[]? content = files.ReadBytes($"{Directory}/{name}");
            if (content is null || !System.Text.Encoding.ASCII.GetString(content, 0, Math.Min(content.Length, 64)).StartsWith("-----BEGIN ", StringComparison.Ordinal)) continue;
            keys.Add((name, content));
        }
        return keys;
    }
}
