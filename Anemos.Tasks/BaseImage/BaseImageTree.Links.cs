namespace Anemos.Tasks.BaseImage;

/// <summary>Paths resolved inside the tree itself, following its own symlinks (a merged /usr, tool aliases), never the build machine's.</summary>
public sealed partial class BaseImageTree
{
    const int MaximumHops = 40;

    /// <summary>Whether the tree holds a regular file at the path, links followed.</summary>
    public bool HasFile(string path)
    {
        string current = path.Trim('/');
        for (int hops = 0; hops < MaximumHops; hops++)
        {
            string resolved = ResolveParents(current);
            if (!_entries.TryGetValue(resolved, out var node)) return false;
            if (node is not LinkNode link) return node is FileNode;
            string parent = resolved.Contains('/') ? resolved[..resolved.LastIndexOf('/')] : "";
            current = link.Target.StartsWith('/') ? link.Target.Trim('/') : Normalize(parent.Length == 0 ? link.Target : parent + "/" + link.Target);
        }
        return false;
    }

    /// <summary>Whether a command of that name is in usr/sbin, usr/bin, sbin or bin.</summary>
    public bool HasTool(string name) => new[] { "usr/sbin/", "usr/bin/", "sbin/", "bin/" }.Any(folder => HasFile(folder + name));

    /// <summary>The path with every directory component that is a link in the tree replaced by its target.</summary>
    string ResolveParents(string path)
    {
        string[] parts = path.Split('/');
        string resolved = "";
        for (int i = 0; i < parts.Length - 1; i++)
        {
            string next = resolved.Length == 0 ? parts[i] : resolved + "/" + parts[i];
            for (int hops = 0; hops < MaximumHops && _entries.TryGetValue(next, out var node) && node is LinkNode link; hops++)
                next = link.Target.StartsWith('/') ? Normalize(link.Target.Trim('/')) : Normalize(resolved.Length == 0 ? link.Target : resolved + "/" + link.Target);
            resolved = next;
        }
        return resolved.Length == 0 ? parts[^1] : resolved + "/" + parts[^1];
    }

    static string Normalize(string path)
    {
        var parts = new List<string>();
        foreach (string part in path.Split('/'))
        {
            if (part is "" or ".") continue;
            if (part == "..") { if (parts.Count > 0) parts.RemoveAt(parts.Count - 1); continue; }
            parts.Add(part);
        }
        return string.Join('/', parts);
    }
}
