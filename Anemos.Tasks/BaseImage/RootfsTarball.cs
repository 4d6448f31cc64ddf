using System.Formats.Tar;

namespace Anemos.Tasks.BaseImage;

/// <summary>
/// Unpacks a root file system tarball into a private folder, never outside it: names that leave
/// the folder and entries below a symlink the archive made are refused. Hard links become
/// symlinks to the first name; device nodes, fifos and the like are skipped.
/// </summary>
public static class RootfsTarball
{
    /// <summary>Extracts <paramref name="source"/> into <paramref name="destination"/>; returns why it refused the archive (for ANEMOS3012), or null.</summary>
    public static string? Extract(Stream source, string destination, Action<string> skipped, CancellationToken cancellationToken)
    {
        using var reader = new TarReader(source);
        string root = Path.GetFullPath(destination) + Path.DirectorySeparatorChar;
        while (reader.GetNextEntry() is { } entry)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string name = entry.Name.TrimStart('.', '/');
            if (name.Length == 0) continue;
            string target = Path.GetFullPath(Path.Combine(destination, name));
            if (!target.StartsWith(root, StringComparison.Ordinal))
                return $"holds '{entry.Name}', which leaves the archive's root";
            // Checked on the tree as built so far, not on the text: `lib -> /tmp/x` then `lib/f` would write /tmp/x/f.
            if (SymlinkOnTheWay(destination, name) is { } link)
                return $"holds '{entry.Name}' below '{link}', which the archive made a symlink: extracting it would write outside the tree";
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            // An entry replaces a symlink of the same name rather than writing through it.
            if (new FileInfo(target).LinkTarget is not null) File.Delete(target);
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    Directory.CreateDirectory(target);
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile:
                    entry.ExtractToFile(target, overwrite: true);
                    break;
                case TarEntryType.SymbolicLink:
                    if (File.Exists(target) || Directory.Exists(target)) File.Delete(target);
                    File.CreateSymbolicLink(target, entry.LinkName);
                    break;
                case TarEntryType.HardLink:
                    // A hard link becomes a symlink to the first name: the initramfs gains nothing from sharing inodes.
                    if (File.Exists(target)) File.Delete(target);
                    File.CreateSymbolicLink(target, "/" + entry.LinkName.TrimStart('.', '/'));
                    break;
                default:
                    skipped($"skipped '{entry.Name}' ({entry.EntryType}); device nodes come from the deploy init's devtmpfs.");
                    continue;
            }
            if (entry.EntryType is not (TarEntryType.SymbolicLink or TarEntryType.HardLink) && !OperatingSystem.IsWindows())
                File.SetUnixFileMode(target, entry.Mode);
        }
        return null;
    }

    /// <summary>The first folder of <paramref name="name"/> (below <paramref name="destination"/>) that is a symlink, or null.</summary>
    static string? SymlinkOnTheWay(string destination, string name)
    {
        string[] parts = name.Split('/', StringSplitOptions.RemoveEmptyEntries);
        string path = destination;
        for (int i = 0; i < parts.Length - 1; i++)
        {
            path = Path.Combine(path, parts[i]);
            if (new DirectoryInfo(path).LinkTarget is not null) return string.Join('/', parts[..(i + 1)]);
        }
        return null;
    }
}
