using Anemos.Core.Hashing;
using Anemos.Core.Initramfs;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Core;

public sealed class InitramfsLayoutTests : IDisposable
{
    readonly string _directory = TestProject.NewDirectory();

    public InitramfsLayoutTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 3)]
    [InlineData(2, 2)]
    [InlineData(3, 1)]
    [InlineData(4, 0)]
    [InlineData(1_000_001, 3)]
    public void PaddingReachesTheNextFourByteBoundary(long baseSize, int padding) =>
        Assert.Equal(padding, InitramfsLayout.PaddingAfter(baseSize));

    [Fact]
    public void AssemblyIsBaseThenZerosThenOverlayAndItsDigestIsSha256sums()
    {
        string basePath = Path.Combine(_directory, "base");
        string overlayPath = Path.Combine(_directory, "overlay");
        string output = Path.Combine(_directory, "initramfs");
        byte[] baseBytes = new byte[5_000_001];
        new Random(3).NextBytes(baseBytes);
        byte[] overlay = [7, 7, 7, 7, 7];
        File.WriteAllBytes(basePath, baseBytes);
        File.WriteAllBytes(overlayPath, overlay);

        var digest = InitramfsLayout.AssembleFile(basePath, [overlayPath], output);

        byte[] written = File.ReadAllBytes(output);
        Assert.Equal(baseBytes.Length + 3 + overlay.Length, written.Length);
        Assert.Equal(baseBytes, written[..baseBytes.Length]);
        Assert.Equal(new byte[3], written[baseBytes.Length..(baseBytes.Length + 3)]);
        Assert.Equal(overlay, written[^overlay.Length..]);
        var sha256sum = ProcessRunner.Run("sha256sum", output);
        Assert.StartsWith(digest.Sha256 + " ", sha256sum.Output);
        Assert.Equal(FileDigest.OfFile(output), digest);
        Assert.Empty(Directory.GetFiles(_directory, "*.tmp"));
    }

    [Fact]
    public void AFailedAssemblyLeavesNoFile()
    {
        string output = Path.Combine(_directory, "initramfs");
        Assert.Throws<FileNotFoundException>(() => InitramfsLayout.AssembleFile(Path.Combine(_directory, "missing"), [], output));
        Assert.False(File.Exists(output));
        Assert.Empty(Directory.GetFiles(_directory));
    }
}
