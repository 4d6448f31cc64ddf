using Anemos.Core.Hashing;
using Anemos.Core.Initramfs;
using Anemos.Tasks;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Tasks.InProcess;

/// <summary>The base's kept sha256 state is used only for the base it was computed from.</summary>
public sealed class MidstateSidecarTests : IDisposable
{
    readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void AStateKeptForAnotherBaseIsComputedAgainAndTheInitramfsHashStaysTrue()
    {
        string basePath = Path.Combine(_folder.Path, "base.img");
        string overlay = _folder.Write("overlay.cpio", "overlay bytes");
        File.WriteAllBytes(basePath, Random(1000, seed: 1));
        var firstDigest = FileDigest.OfFile(basePath);
        var first = MidstateSidecar.Read(basePath, firstDigest);
        Assert.Equal($"{firstDigest.Sha256} {firstDigest.Size} {first}\n", File.ReadAllText(MidstateSidecar.PathOf(basePath)));

        // Another base of the same size: the kept state's key no longer matches its digest.
        File.WriteAllBytes(basePath, Random(1000, seed: 2));
        var digest = FileDigest.OfFile(basePath);
        var second = MidstateSidecar.Read(basePath, digest);
        Assert.NotEqual(first.State, second.State);
        Assert.StartsWith(digest.Sha256 + " ", File.ReadAllText(MidstateSidecar.PathOf(basePath)));

        string output = Path.Combine(_folder.Path, "initramfs.img");
        var assembled = InitramfsLayout.AssembleFile(basePath, MidstateSidecar.Read(basePath, digest), [overlay], output);
        Assert.StartsWith(assembled.Sha256 + " ", ProcessRunner.Run("sha256sum", output).Output);
    }

    static byte[] Random(int size, int seed)
    {
        byte[] bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
