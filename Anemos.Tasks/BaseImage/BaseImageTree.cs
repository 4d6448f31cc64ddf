using Anemos.Core.Cpio;

namespace Anemos.Tasks.BaseImage;

/// <summary>
/// The base initramfs as a tree of entries by path (no leading '/'), in ordinal order, which is
/// the order the cpio is written in: the same inputs always give the same bytes. A later entry of
/// the same path wins, so root file system inputs lie over each other in order.
/// </summary>
public sealed partial class BaseImageTree
{
    public abstract record Node;
    public sealed record DirectoryNode(uint Mode) : Node;
    public sealed record FileNode(string Source, uint Mode) : Node;
    public sealed record LinkNode(string Target) : Node;
    public sealed record DeviceNode(uint Major, uint Minor, uint Mode) : Node;

    readonly SortedDictionary<string, Node> _entries = new(StringComparer.Ordinal);

    /// <summary>The skeleton every base starts from: the usual folders, /dev/console and /dev/null.</summary>
    public static BaseImageTree Skeleton()
    {
        var tree = new BaseImageTree();
        foreach (string directory in new[] { "bin", "dev", "etc", "etc/anemos", "lib", "mnt", "proc", "root", "run", "sbin", "sys", "tmp", "usr", "usr/bin", "usr/sbin", "var" })
            tree._entries[directory] = new DirectoryNode(directory == "tmp" ? 0x3FFu : 0x1EDu);
        tree._entries["dev/console"] = new DeviceNode(5, 1, 0x180);
        tree._entries["dev/null"] = new DeviceNode(1, 3, 0x1B6);
        return tree;
    }

    /// <summary>Adds (or replaces) an entry, and the folders above it that are missing (mode 0755).</summary>
    public void Add(string name, Node node)
    {
        AddParents(name);
        _entries[name] = node;
    }

    /// <summary>
    /// Adds a folder's contents below <paramref name="prefix"/>, links as links, modes as they are;
    /// fifos, sockets and device nodes are skipped (each named to <paramref name="skipped"/>).
    /// </summary>
    public void AddDirectory(string directory, string prefix, Action<string> skipped)
    {
        foreach (var info in new DirectoryInfo(directory).EnumerateFileSystemInfos())
        {
            string name = prefix.Length == 0 ? info.Name : prefix + "/" + info.Name;
            if (info.LinkTarget is { } link)
            {
                _entries[name] = new LinkNode(link);
            }
            else if (info is DirectoryInfo)
            {
                _entries[name] = new DirectoryNode(Mode(info.FullName));
                AddDirectory(info.FullName, name, skipped);
            }
            else if (UnixFileKind.Unsupported(info.FullName) is { } kind)
            {
                skipped($"{info.FullName}: skipped ({kind}); device nodes come from the deploy init's devtmpfs.");
            }
            else
            {
                _entries[name] = new FileNode(info.FullName, Mode(info.FullName));
            }
        }
    }

    /// <summary>Writes every entry to the cpio with the one timestamp; returns the bytes of its files (what the base takes unpacked).</summary>
    public long WriteTo(NewcWriter cpio, long mtime, CancellationToken cancellationToken)
    {
        long unpackedSize = 0;
        foreach (var (name, node) in _entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            switch (node)
            {
                case DirectoryNode d: cpio.AddDirectory(name, d.Mode, mtime); break;
                case LinkNode l: cpio.AddSymlink(name, l.Target, mtime); break;
                case DeviceNode c: cpio.AddCharacterDevice(name, c.Major, c.Minor, c.Mode, mtime); break;
                case FileNode f:
                    using (var content = File.OpenRead(f.Source))
                    {
                        unpackedSize += content.Length;
                        cpio.AddFile(name, content, content.Length, f.Mode, mtime, cancellationToken);
                    }
                    break;
            }
        }
        return unpackedSize;
    }

    void AddParents(string name)
    {
        string[] parts = name.Split('/');
        for (int i = 1; i < parts.Length; i++)
        {
            string parent = string.Join('/', parts, 0, i);
            if (!_entries.ContainsKey(parent)) _entries[parent] = new DirectoryNode(0x1ED);
        }
    }

    static uint Mode(string path) => OperatingSystem.IsWindows() ? 0x1EDu : (uint)File.GetUnixFileMode(path);
}
