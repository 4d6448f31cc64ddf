using System.Security.Cryptography;
using Anemos.Tasks.Deploy;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Tasks;

/// <summary>
/// The command a host runs to fetch the gzipped helper itself, run by the real sh with the real
/// curl and wget against an HTTPS server on 127.0.0.1 that only the test's certificate vouches for.
/// </summary>
public sealed class HelperFetchTests : IAsyncLifetime
{
    readonly string _root = Directory.CreateTempSubdirectory("anemos-helper-fetch-").FullName;
    readonly byte[] _helper = RandomNumberGenerator.GetBytes(300_000);
    LoopbackHttpsServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = new LoopbackHttpsServer(_root);
        await _server.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    /// <summary>In a folder that does not exist yet, as STATE/bin on a host without a helper.</summary>
    string Target => Path.Combine(_root, "bin", "anemos-kexec.gz");

    HelperSource Source(string url) => new(new Uri(url), Convert.ToHexStringLower(SHA256.HashData(_helper)), _helper.Length);

    /// <summary>The fetch as the host runs it; PATH may leave out curl to take the wget path, or both.</summary>
    ProcessResult Fetch(HelperSource source, string? path = null)
    {
        string wgetrc = Path.Combine(_root, "wgetrc");
        File.WriteAllText(wgetrc, $"ca_certificate = {_server.CertificateFile}\n");
        return ProcessRunner.Run("sh", ["-c", HelperFetch.Command(source, Target)], _root, new Dictionary<string, string?>
        {
            ["CURL_CA_BUNDLE"] = _server.CertificateFile,
            ["WGETRC"] = wgetrc,
            ["PATH"] = path ?? Environment.GetEnvironmentVariable("PATH"),
        }, TimeSpan.FromMinutes(1));
    }

    /// <summary>A PATH of the tools the command uses, without the ones left out.</summary>
    string PathWithout(params string[] missing)
    {
        string bin = Path.Combine(_root, "bin-" + string.Join('-', missing));
        Directory.CreateDirectory(bin);
        foreach (string tool in new[] { "curl", "wget", "mkdir", "head", "wc", "tail", "rm", "mv", "sha256sum" }.Except(missing))
            File.CreateSymbolicLink(Path.Combine(bin, tool), ProcessRunner.Run("sh", "-c", "command -v " + tool).StandardOutput.Trim());
        return bin;
    }

    void AssertNothingLeft() => Assert.Equal([], Directory.EnumerateFiles(Path.GetDirectoryName(Target)!, "anemos-kexec.gz*"));

    [Fact]
    public void CurlFetchesTheHelperAndItCountsOnlyWithItsSizeAndSha256()
    {
        var result = Fetch(Source(_server.Serve("/anemos-kexec.gz", _helper)));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("curl", result.StandardOutput.Trim());
        Assert.Equal(_helper, File.ReadAllBytes(Target));
        Assert.Equal([Target], Directory.EnumerateFiles(Path.GetDirectoryName(Target)!, "anemos-kexec.gz*"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Target));
    }

    [Fact]
    public void WithoutCurlWgetFetchesIt()
    {
        var result = Fetch(Source(_server.Serve("/anemos-kexec.gz", _helper)), PathWithout("curl"));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("wget", result.StandardOutput.Trim());
        Assert.Equal(_helper, File.ReadAllBytes(Target));
    }

    [Fact]
    public void AHostWithNeitherSaysSoAndKeepsNothing()
    {
        var result = Fetch(Source(_server.Serve("/anemos-kexec.gz", _helper)), PathWithout("curl", "wget"));

        Assert.Equal(3, result.ExitCode);
        Assert.Equal("the host has neither curl nor wget", result.StandardOutput.Trim());
        Assert.Equal(0, _server.Requests("/anemos-kexec.gz"));
        AssertNothingLeft();
    }

    [Fact]
    public void OtherBytesOfTheSameSizeAreRefusedByTheirSha256()
    {
        var source = Source(_server.Serve("/anemos-kexec.gz", RandomNumberGenerator.GetBytes(_helper.Length)));
        var result = Fetch(source);

        Assert.Equal(5, result.ExitCode);
        Assert.Contains($"the file has sha256 ", result.StandardOutput);
        Assert.Contains($", not {source.Sha256}", result.StandardOutput);
        AssertNothingLeft();
    }

    [Fact]
    public void ABodyThatNeverEndsIsReadOnlyOneByteBeyondTheSize()
    {
        var result = Fetch(Source(_server.ServeEndless("/endless.gz")));

        Assert.Equal(4, result.ExitCode);
        Assert.StartsWith($"curl read {_helper.Length + 1} bytes, not {_helper.Length}", result.StandardOutput.Trim());
        AssertNothingLeft();
    }

    [Fact]
    public void AMissingFileSaysWhatTheServerAnswered()
    {
        var result = Fetch(Source(new Uri(_server.BaseAddress, "/missing.gz").ToString()));

        Assert.Equal(4, result.ExitCode);
        Assert.Contains($"curl read 0 bytes, not {_helper.Length}", result.StandardOutput);
        Assert.Contains("404", result.StandardOutput);
        AssertNothingLeft();
    }
}
