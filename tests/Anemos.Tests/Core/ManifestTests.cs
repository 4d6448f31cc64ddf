using Anemos.Core.Hashing;
using Anemos.Core.Manifest;

namespace Anemos.Tests.Core;

public sealed class ManifestTests
{
    static ManifestArtifact Artifact(char c, long size) => new() { Sha256 = new string(c, 64), Size = size };

    static AnemosManifest Sample() => new()
    {
        Host = "x",
        SdkVersion = "1.2.3",
        Kernel = Artifact('a', 10) with { Url = "https://example.org/vmlinuz" },
        Base = Artifact('b', 20),
        Payload = Artifact('c', 30),
        Overlay = Artifact('d', 40),
        Initramfs = Artifact('e', 64),
        CommandLine = "console=ttyS0",
    };

    [Fact]
    public void RoundTripsThroughJson()
    {
        var manifest = Sample();
        string json = manifest.ToJson();
        Assert.Contains("\"schemaVersion\": 1", json);
        Assert.Contains("\"url\": \"https://example.org/vmlinuz\"", json);
        Assert.DoesNotContain("\"url\": null", json);
        var parsed = AnemosManifest.Parse(json);
        Assert.Equal(manifest.Kernel, parsed.Kernel);
        Assert.Equal(manifest.Initramfs, parsed.Initramfs);
        Assert.Equal("console=ttyS0", parsed.CommandLine);
        Assert.Equal(json, parsed.ToJson());
    }

    [Fact]
    public void RefusesAnotherSchemaVersion() =>
        Assert.Throws<InvalidDataException>(() => AnemosManifest.Parse(Sample().ToJson().Replace("\"schemaVersion\": 1", "\"schemaVersion\": 99")));

    [Fact]
    public void RefusesABadHash() =>
        Assert.Throws<InvalidDataException>(() => AnemosManifest.Parse(Sample().ToJson().Replace(new string('c', 64), "not-a-hash")));

    [Fact]
    public void RefusesMissingFields() =>
        Assert.Throws<InvalidDataException>(() => AnemosManifest.Parse("{\"schemaVersion\": 1, \"host\": \"x\"}"));

    [Fact]
    public void RefusesText() => Assert.Throws<InvalidDataException>(() => AnemosManifest.Parse("not json"));

    [Theory]
    [InlineData("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", true)]
    [InlineData("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", true)]
    [InlineData("e3b0", false)]
    [InlineData("g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", false)]
    [InlineData(null, false)]
    public void RecognisesSha256Text(string? text, bool expected) => Assert.Equal(expected, FileDigest.IsSha256(text));
}
