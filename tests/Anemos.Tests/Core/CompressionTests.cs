using Anemos.Core.Compression;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Core;

public sealed class CompressionTests : IDisposable
{
    readonly string _directory = TestProject.NewDirectory();
    readonly byte[] _data;

    public CompressionTests()
    {
        Directory.CreateDirectory(_directory);
        _data = new byte[2_000_000];
        var random = new Random(7);
        for (int i = 0; i < _data.Length; i++) _data[i] = (byte)(random.Next(4) + 'a'); // compressible
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    string Compress(OverlayCompression compression, string name)
    {
        string path = Path.Combine(_directory, name);
        using (var file = File.Create(path))
        using (var stream = compression.Compress(file))
        {
            stream.Write(_data, 0, 1000);
            stream.Write(_data, 1000, _data.Length - 1000);
        }
        return path;
    }

    [Fact]
    public void GzipIsReadByGnuGzipAndHasAFixedHeader()
    {
        string path = Compress(OverlayCompression.Gzip, "data.gz");
        var test = ProcessRunner.Run("gzip", "-t", path);
        Assert.True(test.ExitCode == 0, test.ToString());
        using var output = new MemoryStream();
        ProcessRunner.Run("gzip", ["-dc", path], standardOutput: output);
        Assert.Equal(_data, output.ToArray());

        byte[] header = File.ReadAllBytes(path)[..10];
        Assert.Equal(new byte[] { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 }, header); // no name, no time, OS = Unix
        Assert.Equal(File.ReadAllBytes(path), File.ReadAllBytes(Compress(OverlayCompression.Gzip, "again.gz")));
    }

    [Fact]
    public void ZstdIsReadByTheZstdTool()
    {
        string path = Compress(OverlayCompression.Zstd, "data.zst");
        var test = ProcessRunner.Run("zstd", "-t", "-q", path);
        Assert.True(test.ExitCode == 0, test.ToString());
        using var output = new MemoryStream();
        ProcessRunner.Run("zstd", ["-dc", "-q", path], standardOutput: output);
        Assert.Equal(_data, output.ToArray());
        Assert.True(new FileInfo(path).Length < _data.Length / 2);
    }

    [Fact]
    public void NoneWritesTheBytesAsTheyAre()
    {
        string path = Compress(OverlayCompression.None, "data.raw");
        Assert.Equal(_data, File.ReadAllBytes(path));
    }

    [Theory]
    [InlineData("", OverlayCompression.None)]
    [InlineData("none", OverlayCompression.None)]
    [InlineData("GZIP", OverlayCompression.Gzip)]
    [InlineData(" zstd ", OverlayCompression.Zstd)]
    public void CompressionNamesParse(string text, OverlayCompression expected)
    {
        Assert.True(OverlayCompressionNames.TryParse(text, out var compression));
        Assert.Equal(expected, compression);
    }

    [Fact]
    public void UnknownCompressionNameIsRefused() => Assert.False(OverlayCompressionNames.TryParse("lz4", out _));
}
