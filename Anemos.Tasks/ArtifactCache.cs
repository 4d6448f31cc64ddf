using System.Net.Http;
using Anemos.Core;
using Anemos.Core.Download;
using Anemos.Core.Hashing;

namespace Anemos.Tasks;

/// <summary>
/// The per-user download cache: one file per sha256 under CACHE/sha256/, filled by
/// <see cref="VerifiedDownload"/> (the host helper's cache uses the same). The build holding
/// CACHE/sha256/HASH.lock downloads through HASH.part, which the next build resumes when a
/// transfer breaks; a build that finds the lock taken downloads through a file of its own, so two
/// builds at once both end with the same verified file.
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
        using var owned = OwnedFileLock.TryAcquire(path + ".lock", $"a build (process {Environment.ProcessId})", out _);
        string partial = owned is not null ? path + ".part" : AtomicFile.TemporarySibling(path);
        try
        {
            VerifiedDownload.Fetch(Http, url, sha256, size: null, partial, path, cancellationToken);
            return path;
        }
        catch (DownloadException e) when (e.Failure == DownloadFailure.NotTheExpectedFile)
        {
            throw new AnemosException(Diagnostics.Sha256Mismatch, propertyName, url, e.Actual!.Value.Sha256, sha256);
        }
        catch (DownloadException e)
        {
            throw new AnemosException(Diagnostics.DownloadFailed, propertyName, url, e.Message);
        }
        finally
        {
            if (owned is null) AtomicFile.TryDelete(partial);
        }
    }
}
