using System.Formats.Tar;
using Anemos.Core;
using Anemos.Core.Compression;
using Anemos.Core.Hashing;

namespace Anemos.Tasks;

/// <summary>One entry of the payload: its name in the archive, where its bytes are, and what it is.</summary>
public sealed record PayloadEntry(string Name, string FullPath, TarEntryType Type, UnixFileMode Mode, string? LinkTarget = null);

/// <summary>
/// Writes payload.tar.gz from checked entries, byte for byte the same for the same entries and
/// epoch: GNU tar (long names as ././@LongLink, no per-process PAX header names), owner root
/// (0/0), one mtime, empty atime/ctime, and deterministic gzip. Written atomically.
/// </summary>
public static class PayloadArchive
{
    public static FileDigest Write(IEnumerable<PayloadEntry> entries, string outputFile, DateTimeOffset mtime, CancellationToken cancellationToken = default) =>
        AtomicFile.Write(outputFile, stream =>
        {
            using var hashing = new HashingStream(stream, leaveOpen: true);
            using (var gzip = new DeterministicGzipStream(hashing))
            using (var tar = new TarWriter(gzip, TarEntryFormat.Gnu, leaveOpen: true))
            {
                foreach (var entry in entries.OrderBy(e => e.Name, StringComparer.Ordinal))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    WriteEntry(tar, entry, mtime);
                }
            }
            return hashing.Digest();
        });

    static void WriteEntry(TarWriter tar, PayloadEntry entry, DateTimeOffset mtime)
    {
        string name = entry.Type == TarEntryType.Directory ? entry.Name + "/" : entry.Name;
        var tarEntry = new GnuTarEntry(entry.Type, name)
        {
            // No access or change time: GNU tar leaves those fields empty, and readers such as
            // busybox tar take anything there for a ustar name prefix.
            ModificationTime = mtime,
            Uid = 0,
            Gid = 0,
            UserName = "root",
            GroupName = "root",
            Mode = entry.Type == TarEntryType.SymbolicLink ? (UnixFileMode)0x1FF : entry.Mode,
        };
        if (entry.Type == TarEntryType.SymbolicLink) tarEntry.LinkName = entry.LinkTarget!;
        if (entry.Type == TarEntryType.RegularFile)
        {
            // Unbuffered: the tar writer reads in large blocks, and a buffer per file would cost 20,000 allocations for 20,000 files.
            using var content = new FileStream(entry.FullPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);
            tarEntry.DataStream = content;
            tar.WriteEntry(tarEntry);
        }
        else
        {
            tar.WriteEntry(tarEntry);
        }
    }
}
