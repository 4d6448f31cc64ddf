using System.Globalization;
using System.Text;

namespace Anemos.Kexec;

/// <summary>
/// The keys that could log in to the running system as the deploy's user, which `stage` carries into
/// the deploy environment for root when the project names no AuthorizedKeys (docs/deploy.md, "The
/// live log"), so the live log can log in: the user whose sudo started the helper (SUDO_UID), else
/// root; its authorized_keys files as the running sshd finds them (<see cref="SshdConfig.AuthorizedKeysFiles"/>).
/// A file counts only when sshd's StrictModes would take it and nobody but root or the user could
/// have written it: a regular file (no symlink), and every folder from it up to the home (up to /
/// outside it) root's or the user's and writable by neither group nor others. Lines travel verbatim,
/// options included (`from=`, `command=`, `restrict` keep restricting, or a server that does not
/// know them refuses the line); blank lines and comments are left out.
/// </summary>
public static class LoginKeys
{
    const int MaxFileBytes = 64 * 1024;
    const uint TypeMask = 0xF000, RegularFile = 0x8000, Directory = 0x4000, GroupOrOtherWrite = 0x12;

    public sealed record Found(string User, IReadOnlyList<string> Files, IReadOnlyList<string> Lines, IReadOnlyList<string> Skipped)
    {
        /// <summary>The file /anemos/login_keys holds: a comment saying whose keys these are, then the lines.</summary>
        public byte[] ToFile() => Encoding.UTF8.GetBytes(
            $"# the keys that could log in as {User} to the system this deploy replaced ({string.Join(", ", Files)}), carried by anemos-kexec stage\n"
            + string.Concat(Lines.Select(line => line + "\n")));

        public string Summary => Lines.Count > 0
            ? $"{Lines.Count} key(s) of {User} ({string.Join(", ", Files)})" + (Skipped.Count > 0 ? $"; skipped {string.Join("; ", Skipped)}" : "")
            : $"none of {User}" + (Skipped.Count > 0 ? $" ({string.Join("; ", Skipped)})" : " (no authorized_keys file)");
    }

    /// <summary>The user that logged in for this deploy: sudo's invoking user when sudo started the helper as root, else the helper's own.</summary>
    public static uint LoginUserId()
    {
        uint self = Native.EffectiveUserId();
        return self == 0 && uint.TryParse(Environment.GetEnvironmentVariable("SUDO_UID"), NumberStyles.None, CultureInfo.InvariantCulture, out uint sudo) ? sudo : self;
    }

    public static Found Read(SystemFiles files, uint uid)
    {
        var account = Account(files, uid);
        if (account is not { } user) return new Found($"uid {uid}", [], [], ["the user is not in /etc/passwd"]);
        var lines = new List<string>();
        var used = new List<string>();
        var skipped = new List<string>();
        foreach (string word in SshdConfig.AuthorizedKeysFiles(files))
        {
            if (word.Equals("none", StringComparison.OrdinalIgnoreCase)) continue;
            if (Expand(word, user.Name, uid, user.Home) is not { } path)
            {
                skipped.Add($"{word}: a token this helper does not expand");
                continue;
            }
            if (Unsafe(files, path, uid, user.Home) is { } why)
            {
                if (why.Length > 0) skipped.Add($"{path}: {why}");
                continue;
            }
            byte[]? content = files.ReadBytes(path);
            if (content is null) continue;
            int before = lines.Count;
            foreach (string raw in Encoding.UTF8.GetString(content).Split('\n'))
            {
                string line = raw.TrimEnd('\r').Trim();
                if (line.Length > 0 && line[0] != '#' && !lines.Contains(line, StringComparer.Ordinal)) lines.Add(line);
            }
            if (lines.Count > before) used.Add(path);
        }
        return new Found(user.Name, used, lines, skipped);
    }

    static (string Name, string Home)? Account(SystemFiles files, uint uid)
    {
        foreach (string line in (files.Read("/etc/passwd") ?? "").Split('\n'))
        {
            string[] fields = line.Split(':');
            if (fields.Length >= 7 && uint.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out uint id) && id == uid && fields[5].StartsWith('/'))
                return (fields[0], fields[5].TrimEnd('/') is { Length: > 0 } home ? home : "/");
        }
        return null;
    }

    /// <summary>sshd_config(5)'s tokens for AuthorizedKeysFile (%%, %h, %U, %u); a relative path starts at the home. Null for a token it does not name.</summary>
    static string? Expand(string word, string user, uint uid, string home)
    {
        var path = new StringBuilder();
        for (int i = 0; i < word.Length; i++)
        {
            if (word[i] != '%') { path.Append(word[i]); continue; }
            if (++i >= word.Length) return null;
            switch (word[i])
            {
                case '%': path.Append('%'); break;
                case 'h': path.Append(home); break;
                case 'u': path.Append(user); break;
                case 'U': path.Append(uid.ToString(CultureInfo.InvariantCulture)); break;
                default: return null;
            }
        }
        string expanded = path.ToString();
        return expanded.StartsWith('/') ? expanded : $"{home.TrimEnd('/')}/{expanded}";
    }

    /// <summary>Why the file is not taken (empty: it does not exist), or null when it is safe to carry.</summary>
    static string? Unsafe(SystemFiles files, string path, uint uid, string home)
    {
        if (path.Split('/').Any(part => part is "." or "..")) return "not a canonical path";
        if (Native.StatNoFollow(files.PathOf(path)) is not { } stat) return "";
        var (owner, mode) = stat;
        if ((mode & TypeMask) != RegularFile) return "not a regular file (a symlink is not followed)";
        if (owner != 0 && owner != uid) return $"owned by uid {owner}, neither root nor the user";
        if ((mode & GroupOrOtherWrite) != 0) return $"writable by its group or others (mode {Convert.ToString(mode & 0xFFF, 8)})";
        if (new FileInfo(files.PathOf(path)).Length > MaxFileBytes) return $"larger than {MaxFileBytes / 1024} KiB";
        bool underHome = path.StartsWith(home.TrimEnd('/') + "/", StringComparison.Ordinal);
        for (string folder = Path.GetDirectoryName(path) ?? "/"; ; folder = Path.GetDirectoryName(folder) ?? "/")
        {
            if (Native.StatNoFollow(files.PathOf(folder)) is not { } folderStat) return $"{folder} cannot be read";
            var (folderOwner, folderMode) = folderStat;
            if ((folderMode & TypeMask) != Directory) return $"{folder} is not a folder (a symlink is not followed)";
            if (folderOwner != 0 && folderOwner != uid) return $"{folder} is owned by uid {folderOwner}, neither root nor the user";
            if ((folderMode & GroupOrOtherWrite) != 0) return $"{folder} is writable by its group or others (mode {Convert.ToString(folderMode & 0xFFF, 8)})";
            if (folder == "/" || (underHome && folder == home)) return null;
        }
    }
}
