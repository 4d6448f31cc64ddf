using Anemos.Core;
using Anemos.Core.Hashing;

namespace Anemos.Tasks;

/// <summary>
/// A "FILE.sha256" next to an artifact, holding "SHA256 SIZE", written by the task that made the
/// file so later steps need not read big files again. It is trusted only while it is at least as
/// new as the file and the size still matches; otherwise the file is hashed again.
/// </summary>
public static class DigestSidecar
{
    public static string PathOf(string file) => file + ".sha256";

    public static void Write(string file, FileDigest digest) =>
        AtomicFile.WriteIfDifferent(PathOf(file), System.Text.Encoding.ASCII.GetBytes($"{digest.Sha256} {digest.Size}\n"));

    public static FileDigest Read(string file, CancellationToken cancellationToken = default)
    {
        string sidecar = PathOf(file);
        var info = new FileInfo(file);
        if (File.Exists(sidecar) && File.GetLastWriteTimeUtc(sidecar) >= info.LastWriteTimeUtc)
        {
            string[] parts = File.ReadAllText(sidecar).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (parts.Length == 2 && FileDigest.IsSha256(parts[0]) && long.TryParse(parts[1], out long size) && size == info.Length)
                return new FileDigest(parts[0].ToLowerInvariant(), size);
        }
        var digest = FileDigest.OfFile(file, cancellationToken);
        Write(file, digest);
        return digest;
    }
}
