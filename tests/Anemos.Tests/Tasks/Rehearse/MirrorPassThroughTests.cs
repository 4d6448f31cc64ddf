using System.Net;
using System.Net.Sockets;
using System.Text;
using Anemos.Tasks.Rehearse;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Tasks.Rehearse;

/// <summary>
/// The rehearsal's caching pass-through against a real HTTPS mirror on 127.0.0.1: packages are
/// fetched once and then served from the cache (by a second pass-through, as the next rehearsal
/// starts one), indexes every time, requests pipelined on one connection are answered in order,
/// a cut upstream leaves nothing in the cache, and nothing outside the mirror's path is fetched.
/// </summary>
public sealed class MirrorPassThroughTests : IAsyncLifetime
{
    const string Package = "/debian/pool/main/h/hello/hello_2.10-3_amd64.deb";
    const string Index = "/debian/dists/bookworm/InRelease";
    readonly string _folder = Directory.CreateDirectory(TestProject.NewDirectory()).FullName;
    readonly byte[] _package = RandomNumberGenerator(300_000, 1);
    readonly byte[] _index = Encoding.ASCII.GetBytes("-----BEGIN PGP SIGNED MESSAGE-----\nSuite: bookworm\n");
    LoopbackHttpsServer _mirror = null!;

    string Cache => Path.Combine(_folder, "cache");

    public async Task InitializeAsync()
    {
        _mirror = new LoopbackHttpsServer(_folder);
        await _mirror.StartAsync();
        _mirror.Serve(Package, _package);
        _mirror.Serve(Index, _index);
    }

    public async Task DisposeAsync()
    {
        await _mirror.DisposeAsync();
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }

    static byte[] RandomNumberGenerator(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    MirrorPassThrough Start(long? cutAfter = null, Uri? upstream = null)
    {
        var passThrough = new MirrorPassThrough(upstream ?? new Uri(_mirror.BaseAddress, "/debian"), Cache, _mirror.TrustingHandler(cutAfter));
        passThrough.Start();
        return passThrough;
    }

    static HttpClient Guest(MirrorPassThrough passThrough) => new() { BaseAddress = new Uri($"http://127.0.0.1:{passThrough.Port}") };

    [Fact]
    public async Task APackageIsFetchedOnceAndServedFromTheCacheByTheNextRehearsalWhileIndexesAreFetchedEachTime()
    {
        using (var first = Start())
        using (var guest = Guest(first))
        {
            Assert.Equal(_package, await guest.GetByteArrayAsync(Package));
            Assert.Equal(_index, await guest.GetByteArrayAsync(Index));
            Assert.Equal(_index, await guest.GetByteArrayAsync(Index));
            Assert.Equal(new PassThroughCounts(0, 1, _package.Length, 2, 0, null), first.Counts);
        }
        string cached = Path.Combine(Cache, MirrorPassThrough.CacheFolderName(new Uri(_mirror.BaseAddress, "/debian")), Package.TrimStart('/'));
        Assert.Equal(_package, File.ReadAllBytes(cached));

        using var second = Start();
        using var guest2 = Guest(second);
        Assert.Equal(_package, await guest2.GetByteArrayAsync(Package));
        Assert.Equal(_index, await guest2.GetByteArrayAsync(Index));
        Assert.Equal(new PassThroughCounts(1, 0, 0, 1, 0, null), second.Counts);
        Assert.Equal(1, _mirror.Requests(Package));
        Assert.Equal(3, _mirror.Requests(Index));
    }

    [Fact]
    public async Task RequestsPipelinedOnOneConnectionAreAnsweredInOrder()
    {
        using var passThrough = Start();
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, passThrough.Port);
        var stream = client.GetStream();
        // apt's http method sends several requests before reading the first answer.
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"GET {Index} HTTP/1.1\r\nHost: 10.0.2.100\r\n\r\nHEAD {Package} HTTP/1.1\r\nHost: 10.0.2.100\r\n\r\nGET {Package} HTTP/1.1\r\nHost: 10.0.2.100\r\n\r\nGET /debian/pool/missing.deb HTTP/1.1\r\nHost: 10.0.2.100\r\n\r\n"));
        var reader = new ResponseReader(stream);
        Answered(200, _index, await reader.ReadAsync(head: false));
        Answered(200, [], await reader.ReadAsync(head: true));
        Answered(200, _package, await reader.ReadAsync(head: false));
        Answered(404, [], await reader.ReadAsync(head: false));
    }

    /// <summary>
    /// An Arch mirror is a pacman Server whose $repo and $arch the guest fills in: the paths under
    /// its fixed part are served, packages and their signatures cached, the databases fetched each time.
    /// </summary>
    [Fact]
    public async Task APacmanServersRepositoriesAreServedAndItsPackagesCached()
    {
        const string ArchPackage = "/archlinux/core/os/x86_64/hello-2.12-1-x86_64.pkg.tar.zst";
        const string Database = "/archlinux/core/os/x86_64/core.db";
        _mirror.Serve(ArchPackage, _package);
        _mirror.Serve(ArchPackage + ".sig", _index);
        _mirror.Serve(Database, _index);
        using var passThrough = Start(upstream: new Uri(_mirror.BaseAddress, "/archlinux/$repo/os/$arch"));
        using var guest = Guest(passThrough);
        Assert.Equal(_index, await guest.GetByteArrayAsync(Database));
        Assert.Equal(_package, await guest.GetByteArrayAsync(ArchPackage));
        Assert.Equal(_index, await guest.GetByteArrayAsync(ArchPackage + ".sig"));
        Assert.Equal(new PassThroughCounts(0, 2, _package.Length + _index.Length, 1, 0, null), passThrough.Counts);
        // Outside the Server's fixed part: nothing is fetched.
        Assert.Equal(HttpStatusCode.NotFound, (await guest.GetAsync(Package)).StatusCode);
        Assert.Equal(0, _mirror.Requests(Package));
    }

    [Fact]
    public async Task AnUpstreamCutMidPackageEndsTheConnectionAndLeavesNothingInTheCache()
    {
        using (var cut = Start(cutAfter: 100_000))
        using (var guest = Guest(cut))
        {
            await Assert.ThrowsAnyAsync<Exception>(() => guest.GetByteArrayAsync(Package));
            Assert.Equal(1, cut.Counts.Failures);
            Assert.Contains(Package, cut.Counts.FirstFailure);
            Assert.Equal(0, cut.Counts.Fetched);
        }
        Assert.Empty(Directory.GetFiles(Cache, "*", SearchOption.AllDirectories));

        using var whole = Start();
        using var guest2 = Guest(whole);
        Assert.Equal(_package, await guest2.GetByteArrayAsync(Package));
        Assert.Equal(1, whole.Counts.Fetched);
    }

    [Fact]
    public async Task AnUnreachableMirrorAnswers502AndIsCountedWithItsUrl()
    {
        var upstream = new Uri($"http://127.0.0.1:{LoopbackPort.Free()}/debian");
        using var passThrough = Start(upstream: upstream);
        using var guest = Guest(passThrough);

        var response = await guest.GetAsync(Index);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal(1, passThrough.Counts.Failures);
        Assert.StartsWith(upstream + "/dists/bookworm/InRelease: ", passThrough.Counts.FirstFailure);
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("/debian-other/pool/x.deb")]
    [InlineData("/debian/../etc/passwd")]
    [InlineData("/debian/%2e%2e/etc/passwd")]
    [InlineData("/debian/dists/bookworm/InRelease?x=1")]
    public async Task NothingOutsideTheMirrorsPathIsFetched(string target)
    {
        using var passThrough = Start();
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, passThrough.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: 10.0.2.100\r\n\r\n"));

        Answered(404, [], await new ResponseReader(stream).ReadAsync(head: false));
        Assert.Equal(new PassThroughCounts(0, 0, 0, 0, 0, null), passThrough.Counts);
        Assert.Equal(0, _mirror.Requests("/etc/passwd"));
    }

    static void Answered(int status, byte[] body, (int Status, byte[] Body) response)
    {
        Assert.Equal(status, response.Status);
        Assert.Equal(body, response.Body);
    }

    /// <summary>Reads HTTP/1.1 responses with a Content-Length, one after another.</summary>
    sealed class ResponseReader(NetworkStream stream)
    {
        readonly List<byte> _pending = [];

        public async Task<(int Status, byte[] Body)> ReadAsync(bool head)
        {
            int end;
            while ((end = IndexOfHeaderEnd()) < 0) await FillAsync();
            string header = Encoding.ASCII.GetString(_pending.GetRange(0, end).ToArray());
            _pending.RemoveRange(0, end + 4);
            int status = int.Parse(header.Split(' ')[1]);
            int length = int.Parse(header.Split("\r\n").Single(l => l.StartsWith("Content-Length: ", StringComparison.OrdinalIgnoreCase))["Content-Length: ".Length..]);
            if (head) return (status, []);
            while (_pending.Count < length) await FillAsync();
            var body = _pending.GetRange(0, length).ToArray();
            _pending.RemoveRange(0, length);
            return (status, body);
        }

        int IndexOfHeaderEnd()
        {
            for (int i = 0; i + 3 < _pending.Count; i++)
                if (_pending[i] == '\r' && _pending[i + 1] == '\n' && _pending[i + 2] == '\r' && _pending[i + 3] == '\n') return i;
            return -1;
        }

        async Task FillAsync()
        {
            var buffer = new byte[65536];
            int read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            if (read == 0) throw new IOException("the pass-through closed the connection");
            _pending.AddRange(buffer.AsSpan(0, read).ToArray());
        }
    }
}
