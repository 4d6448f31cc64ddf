using System.Security.Cryptography;
using Anemos.Tasks;
using Anemos.Tasks.Deploy;

namespace Anemos.Tests.Tasks;

/// <summary>AnemosHelperUrl and AnemosHelperSha256, checked before any host is contacted (ANEMOS4040).</summary>
public sealed class HelperSourceTests : IDisposable
{
    readonly string _root = Directory.CreateTempSubdirectory("anemos-helper-source-").FullName;
    readonly string _helper;
    readonly string _sha256;

    public HelperSourceTests()
    {
        _helper = Path.Combine(_root, "anemos-kexec");
        File.WriteAllBytes(_helper, RandomNumberGenerator.GetBytes(1000));
        byte[] compressed = RandomNumberGenerator.GetBytes(400);
        File.WriteAllBytes(_helper + ".gz", compressed);
        _sha256 = Convert.ToHexStringLower(SHA256.HashData(compressed));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void NoUrlMeansTheHelperIsUploaded() => Assert.Null(HelperSource.Create("", "", _helper, default));

    [Fact]
    public void AUrlWithThisSdksSha256IsTheSourceWithTheGzippedHelpersSize()
    {
        var source = HelperSource.Create(" https://files.example.org/anemos-kexec.gz ", _sha256.ToUpperInvariant(), _helper, default);

        Assert.Equal(new HelperSource(new Uri("https://files.example.org/anemos-kexec.gz"), _sha256, 400), source);
    }

    [Theory]
    [InlineData("http://files.example.org/anemos-kexec.gz", "SHA", "over https only")]
    [InlineData("files.example.org/anemos-kexec.gz", "SHA", "over https only")]
    [InlineData("https://files.example.org/a b.gz", "SHA", "over https only")]
    [InlineData("https://files.example.org/anemos-kexec.gz", "", "AnemosHelperSha256 is not set")]
    [InlineData("https://files.example.org/anemos-kexec.gz", "abc", "AnemosHelperSha256 'abc' is not the 64 hex digits")]
    [InlineData("https://files.example.org/anemos-kexec.gz", "0000000000000000000000000000000000000000000000000000000000000000", "the URL would serve a helper this deploy does not run")]
    [InlineData("", "SHA", "AnemosHelperSha256 is set without it")]
    public void AWrongSettingIsAnemos4040BeforeAnythingIsContacted(string url, string sha256, string why)
    {
        var error = Assert.Throws<AnemosException>(() => HelperSource.Create(url, sha256.Replace("SHA", _sha256), _helper, default));

        Assert.Equal("ANEMOS4040", error.Diagnostic.Code);
        Assert.Contains(why, error.Message);
        Assert.Contains("-getProperty:AnemosHelperGzipPath", error.Message);
    }

    [Fact]
    public void AHelperWithoutItsGzipCannotBeFetched()
    {
        File.Delete(_helper + ".gz");

        var error = Assert.Throws<AnemosException>(() => HelperSource.Create("https://files.example.org/anemos-kexec.gz", _sha256, _helper, default));

        Assert.Equal("ANEMOS4040", error.Diagnostic.Code);
        Assert.Contains("no gzipped helper", error.Message);
    }
}
