using Anemos.Core.Hashing;
using Anemos.Core.Manifest;
using Anemos.Tasks.Deploy;

namespace Anemos.Tests.Tasks;

/// <summary>What a deploy sends, from the manifest and the host's facts alone.</summary>
public sealed class UploadPlanTests
{
    static readonly string Kernel = new('1', 64), Base = new('2', 64), Overlay = new('3', 64);

    static AnemosManifest Manifest(string? baseUrl = null) => new()
    {
        Host = "x",
        SdkVersion = "1.0.0",
        Kernel = new ManifestArtifact { Sha256 = Kernel, Size = 8 << 20 },
        Base = new ManifestArtifact { Sha256 = Base, Size = 40 << 20, Url = baseUrl },
        Payload = new ManifestArtifact { Sha256 = new string('4', 64), Size = 1000 },
        Overlay = new ManifestArtifact { Sha256 = Overlay, Size = 18 << 10 },
        Initramfs = new ManifestArtifact { Sha256 = new string('5', 64), Size = 41 << 20 },
    };

    static readonly DeployFiles Files = new("/b/kernel", "/b/base.img", "/b/overlay.cpio", "/b/manifest.json", new FileDigest(new string('6', 64), 900));

    [Fact]
    public void AFirstDeploySendsEveryArtifactUnderItsSha256AndTheManifestLast()
    {
        var plan = UploadPlan.Create(Manifest(), Files, [], hostFetchesHttps: false, secretCount: 0);

        Assert.Equal([(Kernel, "/b/kernel"), (Base, "/b/base.img"), (Overlay, "/b/overlay.cpio"), ("manifest.json", "/b/manifest.json")],
            plan.Uploads.Select(u => (u.Name, u.LocalPath)));
        Assert.Equal(new FileDigest(Base, 40 << 20), plan.Uploads[1].Digest);
        Assert.Equal(Files.ManifestDigest, plan.Uploads[3].Digest);
        Assert.Equal("kernel to upload (8.0 MiB), base to upload (40.0 MiB), overlay to upload (18.0 KiB), manifest to upload", plan.Summary);
    }

    [Fact]
    public void ARedeploySendsOnlyTheOverlayAndTheManifest()
    {
        var plan = UploadPlan.Create(Manifest(), Files, [Kernel, Base], hostFetchesHttps: true, secretCount: 2);

        Assert.Equal([Overlay, "manifest.json"], plan.Uploads.Select(u => u.Name));
        Assert.Equal("kernel cached, base cached, overlay to upload (18.0 KiB), manifest to upload, 2 secret(s)", plan.Summary);
    }

    [Theory]
    [InlineData(true, "base fetched by the host from https://example.org/base.img")]
    [InlineData(false, "base to upload (40.0 MiB: the host cannot fetch https)")]
    public void AnArtifactWithAUrlIsFetchedByAHostThatHasHttps(bool hostFetchesHttps, string note)
    {
        var plan = UploadPlan.Create(Manifest("https://example.org/base.img"), Files, [Kernel], hostFetchesHttps, secretCount: 0);

        Assert.Contains(note, plan.Notes);
        Assert.Equal(!hostFetchesHttps, plan.Uploads.Any(u => u.Name == Base));
    }
}
