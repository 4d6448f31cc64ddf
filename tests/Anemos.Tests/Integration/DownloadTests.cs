using Anemos.Core.Hashing;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Integration;

/// <summary>Kernels and bases from https URLs: fetched once into the per-user cache, verified before use.</summary>
[EndToEnd(Needs.PackedSdk)]
public sealed class DownloadTests : IAsyncLifetime
{
    TestProject _project = null!;
    LoopbackHttpsServer _server = null!;
    byte[] _kernel = null!;
    string _cache = null!;

    public async Task InitializeAsync()
    {
        _project = TestProject.CreateDeployProject();
        _kernel = File.ReadAllBytes(_project.PathOf("image/kernel.bin"));
        _cache = _project.PathOf("user-cache");
        _server = new LoopbackHttpsServer(_project.Directory);
        await _server.StartAsync();
        _project.Environment["SSL_CERT_FILE"] = _server.CertificateFile;
        _project.Environment["SSL_CERT_DIR"] = _project.PathOf("no-other-certificates");
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _project.Dispose();
    }

    ProcessResult Build(string url, string sha256) =>
        _project.Build($"-p:AnemosKernel={url}", $"-p:AnemosKernelSha256={sha256}", $"-p:AnemosCacheDirectory={_cache}");

    [Fact]
    public void AVerifiedDownloadIsCachedBySha256AndFetchedOnce()
    {
        string url = _server.Serve("/images/vmlinuz", _kernel);
        string sha256 = FileDigest.OfBytes(_kernel).Sha256;

        var first = Build(url, sha256.ToUpperInvariant());
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Equal(_kernel, File.ReadAllBytes(Path.Combine(_cache, "sha256", sha256)));
        Assert.Equal(_kernel, File.ReadAllBytes(_project.PathOf("bin/anemos/vmlinuz")));
        Assert.Contains($"\"url\": \"{url}\"", File.ReadAllText(_project.PathOf("bin/anemos/hosts/x/manifest.json")));

        // Another project (or a clean build) uses the cache: no second request.
        Directory.Delete(_project.PathOf("bin"), recursive: true);
        var second = Build(url, sha256);
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Equal(1, _server.Requests("/images/vmlinuz"));
    }

    [Fact]
    public void ADownloadWithTheWrongSha256IsRefusedAndNotKept()
    {
        string url = _server.Serve("/tampered", [.. _kernel, 0]);
        var result = BadInput.AssertError(_project, "ANEMOS3004", $"-p:AnemosKernel={url}",
            $"-p:AnemosKernelSha256={FileDigest.OfBytes(_kernel).Sha256}", $"-p:AnemosCacheDirectory={_cache}");
        Assert.Contains(url, result.Output);
        Assert.Empty(Directory.Exists(Path.Combine(_cache, "sha256")) ? Directory.GetFiles(Path.Combine(_cache, "sha256")) : []);
    }

    [Fact]
    public void AMissingFileIsADownloadError()
    {
        string url = new Uri(_server.BaseAddress, "/missing").ToString();
        var result = BadInput.AssertError(_project, "ANEMOS3008", $"-p:AnemosKernel={url}",
            $"-p:AnemosKernelSha256={FileDigest.OfBytes(_kernel).Sha256}", $"-p:AnemosCacheDirectory={_cache}");
        Assert.Contains("404", result.Output);
    }
}
