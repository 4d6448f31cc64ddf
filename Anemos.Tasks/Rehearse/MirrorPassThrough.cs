using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Anemos.Tasks.Rehearse;

/// <summary>
/// A caching HTTP pass-through on 127.0.0.1 to a rehearsal's upstream mirror (docs/rehearse.md,
/// "The mirror"). The VM asks for paths under the upstream's own path; packages (files whose name
/// never changes content: .deb, .udeb, by-hash/, Arch's .pkg.tar.* and their .sig) are kept in
/// <see cref="CacheDirectory"/> and served from there on every later rehearsal, while the indexes
/// (InRelease, Packages; Arch's REPO.db) are fetched each time, so a rehearsal sees the mirror as it
/// is. apt checks every file against the signed indexes, pacman every package against the
/// database's checksum and its signature, so a cached file can only ever be the one the index names.
///
/// HTTP/1.1 with keep-alive and pipelining, GET and HEAD only: what apt's http method and pacman's
/// downloader send.
/// </summary>
public sealed class MirrorPassThrough : IDisposable
{
    readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    readonly HttpClient _upstream;
    readonly CancellationTokenSource _stop = new();
    readonly string _upstreamRoot;
    int _fromCache, _fetched, _indexes, _failures;
    long _fetchedBytes;
    string? _firstFailure;

    public Uri Upstream { get; }
    /// <summary>The packages of this upstream, in a folder of their own under the cache.</summary>
    public string CacheDirectory { get; }
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public MirrorPassThrough(Uri upstream, string cacheRoot, HttpMessageHandler? handler = null)
    {
        Upstream = upstream;
        // An Arch mirror's $repo and $arch are the guest's pacman to fill in: the paths it may ask
        // for lie under the part before the first of them.
        string path = upstream.AbsolutePath;
        int variable = path.IndexOf('$');
        _upstreamRoot = (variable < 0 ? path : path[..(path.LastIndexOf('/', variable) + 1)]).TrimEnd('/') + "/";
        CacheDirectory = Path.Combine(cacheRoot, CacheFolderName(upstream));
        _upstream = handler is null ? new HttpClient() : new HttpClient(handler);
        _upstream.Timeout = Timeout.InfiniteTimeSpan;
    }

    /// <summary>Where one upstream's packages live: readable, and distinct for every URL.</summary>
    public static string CacheFolderName(Uri upstream)
    {
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(upstream.AbsoluteUri.TrimEnd('/'))))[..12];
        return $"{upstream.Host}-{hash}";
    }

    public void Start()
    {
        _listener.Start();
        _ = AcceptAsync();
    }

    /// <summary>A pass-through listening on 127.0.0.1, its cache folder made and proven writable first (ANEMOS3147).</summary>
    public static MirrorPassThrough Start(Uri upstream, string cacheRoot)
    {
        var passThrough = new MirrorPassThrough(upstream, cacheRoot);
        try
        {
            Directory.CreateDirectory(passThrough.CacheDirectory);
            string probe = Path.Combine(passThrough.CacheDirectory, ".write-test-" + Environment.ProcessId);
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            passThrough.Dispose();
            throw new AnemosException(Diagnostics.RehearseMirrorCacheUnusable, cacheRoot, e.Message);
        }
        passThrough.Start();
        return passThrough;
    }

    /// <summary>What this rehearsal's VM got, for the build output.</summary>
    public PassThroughCounts Counts => new(_fromCache, _fetched, _fetchedBytes, _indexes, _failures, _firstFailure);

    async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { return; }
            _ = ServeAsync(client);
        }
    }

    async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        try
        {
            var stream = client.GetStream();
            var reader = new HttpRequestReader(stream);
            while (await reader.ReadAsync(_stop.Token) is { } request)
            {
                if (!await AnswerAsync(request, stream)) return;
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The VM closed the connection, or the rehearsal ended: nothing to answer.
        }
    }

    /// <summary>Answers one request; false when the connection must close (a body cut short, a malformed request).</summary>
    async Task<bool> AnswerAsync(HttpRequest request, NetworkStream client)
    {
        bool head = request.Method == "HEAD";
        if (request.Method is not ("GET" or "HEAD"))
            return await HeaderOnlyAsync(client, 405, "Method Not Allowed", keepAlive: false);
        string? path = SafePath(request.Target);
        if (path is null)
            return await HeaderOnlyAsync(client, 404, "Not Found", keepAlive: true);

        string? cached = IsPackage(path) ? Path.Combine(CacheDirectory, path.TrimStart('/')) : null;
        if (cached is not null && File.Exists(cached))
        {
            Interlocked.Increment(ref _fromCache);
            await using var file = File.OpenRead(cached);
            await WriteHeaderAsync(client, 200, "OK", file.Length);
            if (!head) await file.CopyToAsync(client, _stop.Token);
            return true;
        }

        var url = new Uri(Upstream, path);
        HttpResponseMessage response;
        try
        {
            response = await _upstream.SendAsync(new HttpRequestMessage(head ? HttpMethod.Head : HttpMethod.Get, url), HttpCompletionOption.ResponseHeadersRead, _stop.Token);
        }
        catch (HttpRequestException e)
        {
            Fail(url, e.Message);
            return await HeaderOnlyAsync(client, 502, "Bad Gateway", keepAlive: true);
        }
        using (response)
        {
            int status = (int)response.StatusCode;
            if (status != 200)
            {
                if (status >= 500) Fail(url, $"{status} {response.ReasonPhrase}");
                return await HeaderOnlyAsync(client, status, response.ReasonPhrase ?? "", keepAlive: true);
            }
            long? length = response.Content.Headers.ContentLength;
            if (length is null && !head)
            {
                // Without a length the body ends with the connection, as HTTP/1.0 ends it.
                await WriteHeaderAsync(client, 200, "OK", null);
                await (await response.Content.ReadAsStreamAsync(_stop.Token)).CopyToAsync(client, _stop.Token);
                return false;
            }
            await WriteHeaderAsync(client, 200, "OK", length);
            if (head) return true;
            await using var body = await response.Content.ReadAsStreamAsync(_stop.Token);
            if (cached is null)
            {
                Interlocked.Increment(ref _indexes);
                return await CopyExactlyAsync(body, client, length!.Value, null, url);
            }
            Directory.CreateDirectory(Path.GetDirectoryName(cached)!);
            // Only a whole body enters the cache; a cut one (upstream or VM) leaves nothing behind. The file is
            // in the cache and counted before the VM gets the last bytes, so a whole answer means a cached file.
            string part = cached + "." + Guid.NewGuid().ToString("N") + ".part";
            var file = new FileStream(part, FileMode.CreateNew, FileAccess.Write);
            bool moved = false;
            try
            {
                return await CopyExactlyAsync(body, client, length!.Value, file, url, async () =>
                {
                    await file.DisposeAsync();
                    // Another rehearsal may have cached the same file meanwhile: the same bytes by name.
                    File.Move(part, cached, overwrite: true);
                    moved = true;
                    Interlocked.Increment(ref _fetched);
                    Interlocked.Add(ref _fetchedBytes, length.Value);
                });
            }
            finally
            {
                await file.DisposeAsync();
                if (!moved) File.Delete(part);
            }
        }
    }

    /// <summary>
    /// Copies the upstream body to the VM (and the cache file); false when the upstream ends early.
    /// <paramref name="beforeLastWrite"/> runs once the file holds the whole body, before the VM gets its last bytes.
    /// </summary>
    async Task<bool> CopyExactlyAsync(Stream body, NetworkStream client, long length, FileStream? file, Uri url, Func<Task>? beforeLastWrite = null)
    {
        var buffer = new byte[81920];
        long copied = 0;
        if (length == 0 && beforeLastWrite is not null) await beforeLastWrite();
        while (copied < length)
        {
            int read;
            try { read = await body.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, length - copied)), _stop.Token); }
            catch (Exception e) when (e is IOException or HttpRequestException) { read = 0; Fail(url, e.Message); }
            if (read == 0)
            {
                if (copied < length && _firstFailure is null) Fail(url, $"the body ended after {copied} of {length} bytes");
                return false;
            }
            if (file is not null) await file.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            if (copied + read == length && beforeLastWrite is not null) await beforeLastWrite();
            await client.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            copied += read;
        }
        return true;
    }

    void Fail(Uri url, string why)
    {
        Interlocked.Increment(ref _failures);
        Interlocked.CompareExchange(ref _firstFailure, $"{url}: {why}", null);
    }

    /// <summary>The request's path when it lies under the upstream's path, has no dot segments and no query; null otherwise.</summary>
    string? SafePath(string target)
    {
        if (!target.StartsWith('/') || target.Contains('?') || target.Contains('#') || target.Contains('\\')) return null;
        string decoded = Uri.UnescapeDataString(target);
        if (decoded.Split('/').Any(segment => segment is "." or "..") || decoded.Contains('\0')) return null;
        if (!(target + "/").StartsWith(_upstreamRoot, StringComparison.Ordinal)) return null;
        return target;
    }

    /// <summary>
    /// Files whose name fixes their content: Debian's pool (name_version_arch) and by-hash indexes,
    /// Arch's packages (name-version-release-arch.pkg.tar.*) and their signatures. Arch's databases
    /// (REPO.db, REPO.files) change under the same name: indexes.
    /// </summary>
    static bool IsPackage(string path) =>
        path.EndsWith(".deb", StringComparison.Ordinal) || path.EndsWith(".udeb", StringComparison.Ordinal) || path.Contains("/by-hash/", StringComparison.Ordinal)
        || path.Contains(".pkg.tar.", StringComparison.Ordinal);

    static async Task<bool> HeaderOnlyAsync(NetworkStream client, int status, string reason, bool keepAlive)
    {
        await WriteHeaderAsync(client, status, reason, 0, keepAlive);
        return keepAlive;
    }

    static async Task WriteHeaderAsync(NetworkStream client, int status, string reason, long? length, bool keepAlive = true)
    {
        var header = new StringBuilder().Append("HTTP/1.1 ").Append(status).Append(' ').Append(reason).Append("\r\n");
        if (length is { } n) header.Append("Content-Length: ").Append(n).Append("\r\n");
        if (status == 200) header.Append("Content-Type: application/octet-stream\r\n");
        header.Append(keepAlive && length is not null ? "Connection: keep-alive\r\n" : "Connection: close\r\n").Append("\r\n");
        await client.WriteAsync(Encoding.ASCII.GetBytes(header.ToString()));
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _upstream.Dispose();
        _stop.Dispose();
    }
}

/// <summary>What a pass-through served: packages from its cache, packages fetched (and their bytes), indexes, failures.</summary>
public sealed record PassThroughCounts(int FromCache, int Fetched, long FetchedBytes, int Indexes, int Failures, string? FirstFailure);
