using System.Security.Cryptography;
using Anemos.Core.Download;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Core;

/// <summary>
/// The one download both caches use (the build's and the host helper's), against a real HTTPS
/// server on 127.0.0.1; a broken transfer is a body that breaks after a given number of bytes
/// (an event at a byte, not a timer).
/// </summary>
public sealed class VerifiedDownloadTests : IAsyncLifetime
{
    readonly string _root = TestProject.NewDirectory();
    readonly byte[] _content = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 17);
    LoopbackHttpsServer _server = null!;
    HttpClient _http = null!;
    Uri _url = null!;

    string Sha256 => Convert.ToHexStringLower(SHA256.HashData(_content));
    string Partial => Path.Combine(_root, "file.part");
    string Destination => Path.Combine(_root, "file");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        _server = new LoopbackHttpsServer(_root);
        await _server.StartAsync();
        _url = new Uri(_server.Serve("/file", _content));
        _http = _server.TrustingClient();
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    long Fetch(long? size) => VerifiedDownload.Fetch(_http, _url, Sha256, size, Partial, Destination);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AWholeDownloadArrivesProvenAndLeavesNoPartialFile(bool sizeKnown)
    {
        Assert.Equal(0, Fetch(sizeKnown ? _content.Length : null));
        Assert.Equal(_content, File.ReadAllBytes(Destination));
        Assert.False(File.Exists(Partial));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(64 * 1024)]
    [InlineData(1024 * 1024 + 3)]
    public void ACutTransferResumesFromTheBytesKept(int cutAfter)
    {
        using (var cutting = _server.TrustingClient(cutAfter))
        {
            var cut = Assert.Throws<DownloadException>(() => VerifiedDownload.Fetch(cutting, _url, Sha256, _content.Length, Partial, Destination));
            Assert.Equal(DownloadFailure.Broken, cut.Failure);
        }
        Assert.False(File.Exists(Destination));
        long kept = new FileInfo(Partial).Length;
        Assert.Equal(cutAfter, kept);
        Assert.Equal(_content.AsSpan(0, cutAfter).ToArray(), File.ReadAllBytes(Partial));

        Assert.Equal(kept, Fetch(_content.Length));
        Assert.Equal(_content, File.ReadAllBytes(Destination));
        Assert.Contains($"/file bytes={kept}-", _server.RangeRequests());
        Assert.False(File.Exists(Partial));
    }

    [Fact]
    public void AServerThatIgnoresRangesSendsTheWholeFileAgainAndItIsStillRight()
    {
        _server.IgnoreRanges("/file");
        File.WriteAllBytes(Partial, _content.AsSpan(0, 1000).ToArray());
        Assert.Equal(0, Fetch(_content.Length));
        Assert.Equal(_content, File.ReadAllBytes(Destination));
    }

    [Fact]
    public void AWholePartialFileIsProvenAndNotFetchedAgain()
    {
        File.WriteAllBytes(Partial, _content);
        Assert.Equal(_content.Length, Fetch(_content.Length));
        Assert.Equal(0, _server.Requests("/file"));
        Assert.Equal(_content, File.ReadAllBytes(Destination));
    }

    [Fact]
    public void AKeptPrefixThatIsNotTheFilesIsCaughtByTheHashAndDeleted()
    {
        // Bytes from another file under the same name: the resumed download completes, its hash tells.
        File.WriteAllBytes(Partial, new byte[1000]);
        var wrong = Assert.Throws<DownloadException>(() => Fetch(_content.Length));
        Assert.Equal(DownloadFailure.NotTheExpectedFile, wrong.Failure);
        Assert.NotEqual(Sha256, wrong.Actual!.Value.Sha256);
        Assert.False(File.Exists(Partial));
        Assert.False(File.Exists(Destination));

        Assert.Equal(0, Fetch(_content.Length));
        Assert.Equal(_content, File.ReadAllBytes(Destination));
    }

    [Fact]
    public void ABodyLongerThanTheExpectedSizeStopsOneByteAfterIt()
    {
        var endless = new Uri(_server.ServeEndless("/endless"));
        var refused = Assert.Throws<DownloadException>(() => VerifiedDownload.Fetch(_http, endless, Sha256, 4096, Partial, Destination));
        Assert.Equal(DownloadFailure.NotTheExpectedFile, refused.Failure);
        Assert.Equal(4097, refused.Actual!.Value.Size);
        Assert.False(File.Exists(Partial));
    }

    [Fact]
    public void AnErrorStatusIsARefusal()
    {
        var missing = new Uri(_server.BaseAddress, "/missing");
        var refused = Assert.Throws<DownloadException>(() => VerifiedDownload.Fetch(_http, missing, Sha256, null, Partial, Destination));
        Assert.Equal(DownloadFailure.Refused, refused.Failure);
        Assert.Contains("404", refused.Message);
        Assert.False(File.Exists(Destination));
    }
}
