using System.Formats.Tar;
using System.Text;
using Microsoft.Build.Framework;

namespace Anemos.Tasks;

/// <summary>
/// Checks every payload input and packs them into payload.tar.gz, byte-identical for the same
/// inputs on any machine, checkout path or mtime: entries sorted by name, owner root (0/0),
/// modes as on disk, one timestamp, GNU long names (no per-process PAX header names) and a
/// gzip header without name or time. Symlinks are packed as links and never followed. What kind
/// of payload it is, ResolveAnemosPayload decides before.
/// </summary>
public sealed class PackAnemosPayload : AnemosTask
{
    [Required] public string ProjectDirectory { get; set; } = "";
    [Required] public ITaskItem[] Files { get; set; } = [];
    [Required] public string OutputFile { get; set; } = "";
    /// <summary><c>imgbuild</c> or <c>deploy</c>, as the target AnemosResolvePayload decided; this task checks that entry.</summary>
    [Required] public string PayloadKind { get; set; } = "";
    /// <summary>Seconds since 1970 for every entry's mtime; see docs/payload.md for how the targets choose it.</summary>
    public string? SourceDateEpoch { get; set; }
    /// <summary>AnemosPayloadSizeWarningMiB: a payload bigger than this (compressed) is warned about (ANEMOS2113); 0 or empty: never.</summary>
    public string? SizeWarningMiB { get; set; }

    [Output] public string? Sha256 { get; set; }
    [Output] public long Size { get; set; }

    protected override void ExecuteCore()
    {
        string root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(ProjectDirectory)) + Path.DirectorySeparatorChar;
        DateTimeOffset mtime = DateTimeOffset.FromUnixTimeSeconds(Tasks.SourceDateEpoch.Parse(SourceDateEpoch));
        long warningMiB = 0;
        if (!string.IsNullOrWhiteSpace(SizeWarningMiB) &&
            (!long.TryParse(SizeWarningMiB.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out warningMiB) || warningMiB > 1024 * 1024))
        {
            LogDiagnostic(Diagnostics.PayloadSizeWarningInvalid, SizeWarningMiB);
            return;
        }
        var entries = new SortedDictionary<string, PayloadEntry>(StringComparer.Ordinal);
        var reportedLinks = new HashSet<string>(StringComparer.Ordinal);

        foreach (var item in Files)
        {
            CancellationToken.ThrowIfCancellationRequested();
            string fullPath = Path.GetFullPath(item.GetMetadata("FullPath") is { Length: > 0 } f ? f : item.ItemSpec, root);
            fullPath = Path.TrimEndingDirectorySeparator(fullPath);
            if (!fullPath.StartsWith(root, StringComparison.Ordinal))
            {
                LogDiagnostic(Diagnostics.FileOutsideProject, item.ItemSpec, 0, item.ItemSpec, root);
                continue;
            }
            string relative = fullPath[root.Length..].Replace(Path.DirectorySeparatorChar, '/');
            if (relative.Split('/')[0] == "secrets")
            {
                LogDiagnostic(Diagnostics.SecretInPayload, fullPath, 0, relative);
                continue;
            }
            if (relative.Contains('\n') || relative.Split('/').Any(part => Encoding.UTF8.GetByteCount(part) > 255))
            {
                LogDiagnostic(Diagnostics.UncarriableName, fullPath, 0, relative, "a name part is longer than 255 bytes or holds a line break");
                continue;
            }
            AddWithAncestors(root, relative, entries, reportedLinks);
        }
        if (Log.HasLoggedErrors) return;
        if (PayloadKind == "imgbuild") CheckEngineNames(entries.Values);
        CheckEntry(entries);
        if (Log.HasLoggedErrors) return;

        var digest = PayloadArchive.Write(entries.Values, OutputFile, mtime, CancellationToken);
        DigestSidecar.Write(OutputFile, digest);
        Sha256 = digest.Sha256;
        Size = digest.Size;
        if (warningMiB > 0 && Size > warningMiB * 1024 * 1024) WarnLarge(entries.Values, warningMiB);
    }

    /// <summary>ANEMOS2113: the payload is bigger than a description should be; names its largest files, which are usually the cause.</summary>
    void WarnLarge(IEnumerable<PayloadEntry> entries, long warningMiB)
    {
        var largest = entries.Where(e => e.Type == TarEntryType.RegularFile)
            .Select(e => (e.Name, Length: new FileInfo(e.FullPath).Length))
            .OrderByDescending(e => e.Length).ThenBy(e => e.Name, StringComparer.Ordinal).Take(3)
            .Select(e => $"{e.Name} ({ByteSize.Format(e.Length)})");
        LogDiagnostic(Diagnostics.PayloadLarge, ProjectDirectory, 0, ByteSize.Format(Size), warningMiB, string.Join(", ", largest));
    }

    /// <summary>Adds the entry and the directories above it; a symlinked directory on the way is packed as the link, and what lies behind it is not.</summary>
    void AddWithAncestors(string root, string relative, SortedDictionary<string, PayloadEntry> entries, HashSet<string> reportedLinks)
    {
        string[] parts = relative.Split('/');
        for (int depth = 1; depth <= parts.Length; depth++)
        {
            string name = string.Join('/', parts, 0, depth);
            string path = root + name.Replace('/', Path.DirectorySeparatorChar);
            bool last = depth == parts.Length;
            if (entries.TryGetValue(name, out var known))
            {
                if (known.Type == TarEntryType.SymbolicLink) return;
                continue;
            }

            var info = new FileInfo(path);
            if (info.LinkTarget is { } linkTarget)
            {
                if (Directory.Exists(path) && !IsInside(root, ResolvedTarget(info)))
                {
                    if (reportedLinks.Add(name))
                        LogDiagnostic(Diagnostics.EscapingSymlink, path, 0, name, linkTarget);
                    return;
                }
                entries[name] = new PayloadEntry(name, path, TarEntryType.SymbolicLink, UnixFileMode.None, linkTarget);
                return;
            }
            if (Directory.Exists(path))
            {
                entries[name] = new PayloadEntry(name, path, TarEntryType.Directory, ModeOf(path, directory: true));
                continue;
            }
            if (!last || !info.Exists)
            {
                LogDiagnostic(Diagnostics.PayloadFileMissing, path, 0, name);
                return;
            }
            if (UnixFileKind.Unsupported(path) is { } kind)
            {
                LogDiagnostic(Diagnostics.UnsupportedFileKind, path, 0, name, kind);
                return;
            }
            entries[name] = new PayloadEntry(name, path, TarEntryType.RegularFile, ModeOf(path, directory: false));
        }
    }

    static string ResolvedTarget(FileInfo link)
    {
        try
        {
            return link.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? link.FullName;
        }
        catch (IOException)
        {
            return Path.GetFullPath(link.LinkTarget!, link.DirectoryName!);
        }
    }

    static bool IsInside(string root, string path)
    {
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path)) + Path.DirectorySeparatorChar;
        // The project folder itself may be reached through a symlink (/tmp on some systems): compare real paths too.
        string realRoot = RealPath(root);
        return full.StartsWith(root, StringComparison.Ordinal) || full.StartsWith(realRoot, StringComparison.Ordinal);
    }

    static string RealPath(string directory)
    {
        var info = new DirectoryInfo(directory);
        string? target = info.LinkTarget is null ? null : info.ResolveLinkTarget(true)?.FullName;
        return Path.TrimEndingDirectorySeparator(target ?? info.FullName) + Path.DirectorySeparatorChar;
    }

    /// <summary>
    /// ANEMOS2115: names under files/ that makeimg would silently skip. The engine copies regular files
    /// and symlinks except *.makeimg.patch and *.makeimg.template, and applies or expands only regular
    /// files of those names: a symlink so named would reach the image neither way, and a name that is
    /// only the suffix names no file to patch or write. (Line breaks are ANEMOS2109; pattern characters
    /// such as * are carried as themselves.)
    /// </summary>
    void CheckEngineNames(IEnumerable<PayloadEntry> entries)
    {
        foreach (var entry in entries)
        {
            if (!entry.Name.StartsWith("files/", StringComparison.Ordinal)) continue;
            string last = entry.Name[(entry.Name.LastIndexOf('/') + 1)..];
            foreach (string suffix in new[] { ".makeimg.patch", ".makeimg.template" })
            {
                if (!last.EndsWith(suffix, StringComparison.Ordinal)) continue;
                if (last == suffix)
                    LogDiagnostic(Diagnostics.EngineCannotCarry, entry.FullPath, 0, entry.Name, $"the name is only the suffix {suffix}, so it names no file in the image; name it after its file (etc/motd{suffix})");
                else if (entry.Type == TarEntryType.SymbolicLink)
                    LogDiagnostic(Diagnostics.EngineCannotCarry, entry.FullPath, 0, entry.Name, $"it is a symlink, and makeimg applies a *{suffix} only when it is a regular file (nor does it copy one); put the file itself there");
            }
        }
    }

    /// <summary>The payload's entry point: a regular file; a deploy program must be executable and a script or ELF program.</summary>
    void CheckEntry(SortedDictionary<string, PayloadEntry> entries)
    {
        string name = PayloadKind == "imgbuild" ? "IMGBUILD" : "deploy";
        if (!entries.TryGetValue(name, out var entry) || entry.Type != TarEntryType.RegularFile)
        {
            LogDiagnostic(Diagnostics.PayloadEntryNotFile, ProjectDirectory, 0, name);
            return;
        }
        if (PayloadKind != "deploy") return;
        if ((entry.Mode & UnixFileMode.UserExecute) == 0) LogDiagnostic(Diagnostics.DeployNotExecutable, entry.FullPath, 0);
        if (!Anemos.Core.FileMagic.IsProgram(entry.FullPath)) LogDiagnostic(Diagnostics.DeployNotProgram, entry.FullPath, 1);
    }

    /// <summary>Permission bits as on disk; Windows has none, so there directories get 0755 and files 0644.</summary>
    static UnixFileMode ModeOf(string path, bool directory)
    {
        if (!OperatingSystem.IsWindows()) return File.GetUnixFileMode(path);
        return directory ? (UnixFileMode)0x1ED : (UnixFileMode)0x1A4;
    }
}
