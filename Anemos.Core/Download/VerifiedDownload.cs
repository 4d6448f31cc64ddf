using System.Net;
using System.Net.Http.Headers;
using Anemos.Core.Hashing;

namespace Anemos.Core.Download;

/// <summary>
/// The one way a file named by its sha256 comes over https, for the build's download cache and
/// the host helper's alike: the bytes go to a partial file that a later attempt resumes (an HTTP
/// range request; a server that ignores it sends the whole file again), never more than the
/// expected size is written (a server that sends on cannot fill the disk), the whole file is
/// hashed on its way in (the bytes already there first), and only a file whose sha256 and size
/// match is moved to its destination. A wrong file is deleted, never resumed.
/// </summary>
public static class VerifiedDownload
{
    /// <summary>Downloads <paramref name="url"/> to <paramref name="destination"/> through <paramref name="partial"/>.</summary>
    /// <param name="size">The expected size when known (the host's manifest names it; a build knows only the sha256): the bound and a second check.</param>
    /// <returns>The number of bytes that were already there and not fetched again (0: a whole download).</returns>
    /// <exception cref="DownloadException">The server refused, the transfer broke (the bytes so far stay in <paramref name="partial"/>), or the file is not the expected one (it was deleted).</exception>
    public static long Fetch(HttpClient http, Uri url, string sha256, long? size, string partial, string destination, CancellationToken cancellationToken = default)
    {
        long have = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        if (have > size)
        {
            File.Delete(partial);
            have = 0;
        }
        if (have > 0 && have == size)
        {
            // A whole file from an attempt that ended before its move: proven, not fetched again.
            if (FileDigest.OfFile(partial, cancellationToken).Sha256 == sha256)
            {
                File.Move(partial, destination, overwrite: true);
                return have;
            }
            File.Delete(partial);
            have = 0;
        }
        var hash = Sha256Hash.Create();
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            if (have > 0) request.Headers.Range = new RangeHeaderValue(have, null);
            using var response = http.Send(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (!response.IsSuccessStatusCode)
                throw new DownloadException(DownloadFailure.Refused, $"the server answered {(int)response.StatusCode} {response.ReasonPhrase}".TrimEnd());
            bool resumed = have > 0 && response.StatusCode == HttpStatusCode.PartialContent;
            if (!resumed) have = 0;
            using (var file = new FileStream(partial, resumed ? FileMode.Open : FileMode.Create, FileAccess.ReadWrite, FileShare.None, StreamCopy.BufferSize))
            {
                // The bytes kept from an earlier attempt are hashed first, then the rest as it streams.
                if (resumed) HashPrefix(file, have, hash, cancellationToken);
                using var body = response.Content.ReadAsStream(cancellationToken);
                using var hashing = new HashingStream(file, hash, have, leaveOpen: true);
                hash = null;
                StreamCopy.CopyToEnd(size is { } bound ? new BoundedStream(body, bound - have) : body, hashing, cancellationToken);
                var digest = hashing.Digest();
                if (digest.Sha256 != sha256 || digest.Size != (size ?? digest.Size))
                {
                    file.Dispose();
                    AtomicFile.TryDelete(partial);
                    string named = size is null ? sha256 : $"{sha256} ({size} bytes)";
                    throw new DownloadException(DownloadFailure.NotTheExpectedFile, $"it has sha256 {digest.Sha256} ({digest.Size} bytes), not {named}") { Actual = digest };
                }
                file.Flush(flushToDisk: true);
            }
            File.Move(partial, destination, overwrite: true);
            return have;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new DownloadException(DownloadFailure.Broken, e.Message);
        }
        finally
        {
            hash?.Dispose();
        }
    }

    static void HashPrefix(FileStream file, long length, Sha256Hash hash, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[StreamCopy.BufferSize];
        for (long left = length; left > 0;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int read = file.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (read == 0) throw new IOException($"the partial file ended after {length - left} of {length} bytes");
            hash.Append(buffer.AsSpan(0, read));
            left -= read;
        }
    }
}

public enum DownloadFailure
{
    /// <summary>The server answered with an error status.</summary>
    Refused,
    /// <summary>The connection or the transfer broke; the bytes so far are kept for a resume.</summary>
    Broken,
    /// <summary>The file arrived whole but is not the one named (sha256 or size); it was deleted.</summary>
    NotTheExpectedFile,
}

/// <summary>Why a <see cref="VerifiedDownload"/> did not deliver; each caller words it with its own code.</summary>
public sealed class DownloadException(DownloadFailure failure, string reason) : Exception(reason)
{
    public DownloadFailure Failure { get; } = failure;

    /// <summary>What arrived, for <see cref="DownloadFailure.NotTheExpectedFile"/>.</summary>
    public FileDigest? Actual { get; init; }
}
