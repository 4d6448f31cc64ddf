using Anemos.Core;
using Anemos.Core.Download;
using Anemos.Core.Hashing;
using Anemos.Core.Manifest;
using Anemos.Core.Protocol;

namespace Anemos.Kexec;

/// <summary>
/// The state folder's cache of artifacts, named by sha256: a file is in it only once proven (its
/// proof record keeps the SHA-256 state after its whole blocks, so a base is hashed once), taken
/// from an upload (moved), a folder (copied) or its https URL (resumable). A refused upload is
/// removed so it is never tried again.
/// </summary>
public sealed class ArtifactCache(string stateDirectory, Action<string> report)
{
    static readonly HttpClient Http = new() { Timeout = TimeSpan.FromMinutes(30) };

    string CacheDirectory => Path.Combine(stateDirectory, HelperStateLayout.Cache);
    string TemporaryDirectory => Path.Combine(stateDirectory, HelperStateLayout.Temporary);

    static readonly Dictionary<string, string[]> ConventionalNames = new()
    {
        ["kernel"] = ["vmlinuz", "bzImage"],
        ["base"] = ["base.img"],
        ["overlay"] = ["overlay.cpio", "overlay.cpio.gz", "overlay.cpio.zst"],
    };

    /// <summary>The artifact's verified file in the cache, fetched from the folder or URL when missing.</summary>
    public string EnsureCached(string name, ManifestArtifact artifact, string? fromDirectory)
    {
        string cached = Path.Combine(CacheDirectory, artifact.Sha256);
        if (File.Exists(cached))
        {
            if (new FileInfo(cached).Length == artifact.Size && CacheProof.For(stateDirectory, artifact.Sha256, cached) is not null)
            {
                report($"{name}: in the cache");
                return cached;
            }
            if (new FileInfo(cached).Length == artifact.Size && FileDigest.OfFile(cached).Sha256 == artifact.Sha256)
            {
                CacheProof.Record(stateDirectory, artifact.Sha256, cached);
                report($"{name}: in the cache, proven again");
                return cached;
            }
            report($"{name}: the cached copy is damaged; removed");
            CacheProof.Forget(stateDirectory, artifact.Sha256);
            AtomicFile.TryDelete(cached);
        }

        if (fromDirectory is not null)
        {
            // An upload named by its sha256 must be whole; a conventional name (vmlinuz, base.img, …)
            // of another size belongs to another build and is passed over.
            string named = Path.Combine(fromDirectory, artifact.Sha256);
            if (File.Exists(named))
            {
                long size = new FileInfo(named).Length;
                if (size != artifact.Size)
                {
                    RemoveIfOurs(named);
                    throw new HelperException(HelperCodes.SizeMismatch, $"{name} {named} has {size} bytes but the manifest names {artifact.Size}. The upload is truncated or not the one built; upload it again.");
                }
                return Adopt(name, named, artifact, cached, move: IsOurs(named));
            }
            foreach (string conventional in ConventionalNames[name].Select(n => Path.Combine(fromDirectory, n)))
                if (File.Exists(conventional) && new FileInfo(conventional).Length == artifact.Size)
                    return Adopt(name, conventional, artifact, cached, move: false);
        }

        if (artifact.Url is { } url)
        {
            Download(name, url, artifact, cached);
            CacheProof.Record(stateDirectory, artifact.Sha256, cached);
            return cached;
        }

        throw new HelperException(HelperCodes.ArtifactMissing,
            $"{name} ({artifact.Sha256}) is not in the cache{(fromDirectory is null ? "" : $" nor in {fromDirectory}")} and has no URL. Upload it (named by its sha256) and stage again.");
    }

    /// <summary>
    /// The SHA-256 state after the cached base's whole blocks: kept in its proof record, else
    /// computed (one pass, the first time this base is staged), checked against the manifest's
    /// sha256 and kept.
    /// </summary>
    public Sha256Midstate BaseState(string cached, ManifestArtifact artifact)
    {
        if (CacheProof.For(stateDirectory, artifact.Sha256, cached)?.State is { } kept) return kept;
        FileDigest digest;
        Sha256Midstate state;
        using (var input = new FileStream(cached, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.SequentialScan))
            (digest, state) = HashKeepingState(input, Stream.Null);
        if (digest.Sha256 != artifact.Sha256)
        {
            CacheProof.Forget(stateDirectory, artifact.Sha256);
            AtomicFile.TryDelete(cached);
            throw new HelperException(HelperCodes.HashMismatch, $"The cached base {cached} no longer has sha256 {artifact.Sha256}; it was removed. Deploy again to upload it.");
        }
        CacheProof.Record(stateDirectory, artifact.Sha256, cached, state);
        return state;
    }

    /// <summary>
    /// Takes a supplied file into the cache: a deploy's upload (named by its sha256 under the state
    /// folder) is hashed in place and moved, so the host's disk never holds it twice; any other file
    /// is copied while hashing, never more than the manifest's size. A wrong hash is refused and the
    /// copy (or upload) removed. The same pass keeps the SHA-256 state after the entry's whole blocks
    /// in its proof record, so a base is never hashed a second time for its state (<see cref="BaseState"/>).
    /// </summary>
    string Adopt(string name, string source, ManifestArtifact artifact, string cached, bool move)
    {
        if (move)
        {
            FileDigest own;
            Sha256Midstate ownState;
            using (var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.SequentialScan))
                (own, ownState) = HashKeepingState(input, Stream.Null);
            if (own.Sha256 != artifact.Sha256 || own.Size != artifact.Size)
            {
                AtomicFile.TryDelete(source);
                throw new HelperException(HelperCodes.HashMismatch, $"{name} {source} has sha256 {own.Sha256} but the manifest names {artifact.Sha256}. It was changed or damaged on the way and was not used; upload it again.");
            }
            File.Move(source, cached, overwrite: true);
            CacheProof.Record(stateDirectory, artifact.Sha256, cached, ownState);
            report($"{name}: taken from {source}");
            return cached;
        }
        string temporary = Path.Combine(TemporaryDirectory, artifact.Sha256 + ".adopt");
        FileDigest digest;
        Sha256Midstate state;
        using (var input = File.OpenRead(source))
        using (var output = File.Create(temporary))
            (digest, state) = HashKeepingState(new BoundedStream(input, artifact.Size), output);
        if (digest.Sha256 != artifact.Sha256)
        {
            AtomicFile.TryDelete(temporary);
            RemoveIfOurs(source);
            throw new HelperException(HelperCodes.HashMismatch, $"{name} {source} has sha256 {digest.Sha256} but the manifest names {artifact.Sha256}. It was changed or damaged on the way and was not used; upload it again.");
        }
        File.Move(temporary, cached, overwrite: true);
        CacheProof.Record(stateDirectory, artifact.Sha256, cached, state);
        report($"{name}: taken from {source}");
        return cached;
    }

    /// <summary>Copies <paramref name="input"/> to <paramref name="output"/>, hashing on the way: the digest, and the state after the whole blocks.</summary>
    static (FileDigest Digest, Sha256Midstate State) HashKeepingState(Stream input, Stream output)
    {
        var hash = ResumableSha256.Create();
        using var hashing = new HashingStream(output, hash, 0, leaveOpen: true);
        StreamCopy.CopyToEnd(input, hashing);
        return (hashing.Digest(), hash.Midstate());
    }

    /// <summary>Uploads live under the state folder: a refused one is removed so it is never tried again.</summary>
    void RemoveIfOurs(string path)
    {
        if (IsOurs(path)) AtomicFile.TryDelete(Path.GetFullPath(path));
    }

    bool IsOurs(string path) =>
        Path.GetFullPath(path).StartsWith(Path.GetFullPath(stateDirectory) + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>A resumable https download (<see cref="VerifiedDownload"/>): a cut transfer continues from the bytes already there, and the whole file is proven.</summary>
    string Download(string name, string url, ManifestArtifact artifact, string cached)
    {
        if (!url.StartsWith("https://", StringComparison.Ordinal) || !Uri.TryCreate(url, UriKind.Absolute, out var uri))
            throw new HelperException(HelperCodes.DownloadFailed, $"{name} has the URL {url}; only https is used.");
        if (!OpenSsl.Available)
            throw new HelperException(HelperCodes.DownloadFailed, $"{name} would come from {url}, but this host has no libssl for https. Upload the file instead (the deploy does when the host cannot fetch).");
        string partial = Path.Combine(TemporaryDirectory, artifact.Sha256 + ".part");
        try
        {
            long kept = VerifiedDownload.Fetch(Http, uri, artifact.Sha256, artifact.Size, partial, cached);
            report($"{name}: downloaded from {url}{(kept > 0 ? $" (resumed at {kept} bytes)" : "")}");
            return cached;
        }
        catch (DownloadException e) when (e.Failure == DownloadFailure.NotTheExpectedFile)
        {
            throw new HelperException(HelperCodes.HashMismatch, $"{name} from {url} has sha256 {e.Actual!.Value.Sha256} ({e.Actual.Value.Size} bytes) but the manifest names {artifact.Sha256} ({artifact.Size} bytes). It was removed; check the URL.");
        }
        catch (DownloadException e) when (e.Failure == DownloadFailure.Refused)
        {
            throw new HelperException(HelperCodes.DownloadFailed, $"Downloading {name} from {url} failed: {e.Message}. Check the URL, or upload the file.");
        }
        catch (DownloadException e)
        {
            throw new HelperException(HelperCodes.DownloadFailed, $"Downloading {name} from {url} failed: {e.Message}. The bytes so far are kept; stage again to resume, or upload the file.");
        }
    }
}
