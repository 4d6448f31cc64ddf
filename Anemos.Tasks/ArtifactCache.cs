using System.Net.Http;
using Anemos.Core;
using Anemos.Core.Hashing;

namespace Anemos.Tasks;

/// <summary>
/// The per-user download cache: one file per sha256 under CACHE/sha256/. A download goes to a
/// unique temporary file, is hashed while it streams, and is renamed into place only when the
/// hash matches, so two builds downloading at once both end with the same verified file.
/// </summary>
public sealed class ArtifactCache(string directory)
{
    static readonly HttpClient Http = new() { Timeout = TimeSpan.FromMinutes(30) };

    public string PathFor(string sha256) => Path.Combine(directory, "sha256", sha256);

    public string Fetch(Uri url, string sha256, string propertyName, CancellationToken cancellationToken)
    {
        string path = PathFor(sha256);
        if (File.Exists(path))
        {
            // Verified on the way in; check again so that a damaged cache entry is replaced, not used.
            if (FileDigest.OfFile(path, cancellationToken).Sha256 == sha256) return path;
            AtomicFile.TryDelete(path);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string temporary = AtomicFile.TemporarySibling(path);
        try
        {
            FileDigest digest;
            using (var response = Http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken).GetAwaiter().GetResult())
            {
                if (!response.IsSuccessStatusCode)
                    throw new AnemosException(Diagnostics.DownloadFailed, propertyName, url, $"the server answered {(int)response.StatusCode} {response.ReasonPhrase}");
                using var body = response.Content.ReadAsStream(cancellationToken);
                using var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, StreamCopy.BufferSize);
                using var hashing = new HashingStream(file, leaveOpen: true);
                StreamCopy.CopyToEnd(body, hashing, cancellationToken);
                digest = hashing.Digest();
                file.Flush(flushToDisk: true);
            }
            if (digest.Sha256 != sha256)
                throw new AnemosException(Diagnostics.Sha256Mismatch, propertyName, url, digest.Sha256, sha256);
            File.Move(temporary, path, overwrite: true);
            return path;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new AnemosException(Diagnostics.DownloadFailed, propertyName, url, e.Message);
        }
        finally
        {
            AtomicFile.TryDelete(temporary);
        }
    }
}
