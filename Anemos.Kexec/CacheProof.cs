using System.Globalization;
using Anemos.Core;
using Anemos.Core.Hashing;
using Anemos.Core.Protocol;

namespace Anemos.Kexec;

/// <summary>
/// What the helper knows about a cache entry it proved (cache/proof/SHA256): its size and write
/// time when it was proven, and for a base its SHA-256 state after its whole blocks. An entry whose
/// size and write time still match is not hashed again by `stage` (docs/helper.md, "Proven once"):
/// only root can change it, and `boot` hashes every byte it loads anyway.
/// </summary>
public sealed record CacheProof(long Size, long WriteTicks, Sha256Midstate? State)
{
    public static string Directory(string stateDirectory) => Path.Combine(stateDirectory, HelperStateLayout.CacheProofs);

    static string PathOf(string stateDirectory, string sha256) => Path.Combine(Directory(stateDirectory), sha256);

    /// <summary>The record for an entry, when it still describes the file as it is.</summary>
    public static CacheProof? For(string stateDirectory, string sha256, string entry)
    {
        string path = PathOf(stateDirectory, sha256);
        if (!File.Exists(path) || !File.Exists(entry)) return null;
        var proof = Parse(File.ReadAllText(path));
        var info = new FileInfo(entry);
        return proof is not null && proof.Size == info.Length && proof.WriteTicks == info.LastWriteTimeUtc.Ticks ? proof : null;
    }

    /// <summary>Records an entry just proven by its sha256 (and the state after its whole blocks, for a base).</summary>
    public static void Record(string stateDirectory, string sha256, string entry, Sha256Midstate? state = null)
    {
        System.IO.Directory.CreateDirectory(Directory(stateDirectory));
        var info = new FileInfo(entry);
        var proof = new CacheProof(info.Length, info.LastWriteTimeUtc.Ticks, state);
        AtomicFile.Write(PathOf(stateDirectory, sha256), stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            writer.Write(proof.ToString());
        });
    }

    public static void Forget(string stateDirectory, string sha256) => AtomicFile.TryDelete(PathOf(stateDirectory, sha256));

    /// <summary>Drops every record: the next stage hashes every entry again.</summary>
    public static void ForgetAll(string stateDirectory)
    {
        string directory = Directory(stateDirectory);
        if (System.IO.Directory.Exists(directory)) System.IO.Directory.Delete(directory, recursive: true);
    }

    /// <summary>"SIZE WRITE_TICKS[ BYTES STATE]".</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Size} {WriteTicks}{(State is null ? "" : " " + State)}");

    static CacheProof? Parse(string text)
    {
        string[] parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length is not (2 or 4)
            || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long size)
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long ticks))
            return null;
        Sha256Midstate? state = null;
        if (parts.Length == 4 && (state = Sha256Midstate.Parse(parts[2] + " " + parts[3])) is null) return null;
        return new CacheProof(size, ticks, state);
    }
}
