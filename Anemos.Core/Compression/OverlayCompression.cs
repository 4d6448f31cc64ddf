namespace Anemos.Core.Compression;

/// <summary>How the overlay cpio is compressed. The kernel unpacks each of these after the base archive.</summary>
public enum OverlayCompression
{
    None,
    Gzip,
    Zstd,
}

public static class OverlayCompressionNames
{
    public static bool TryParse(string? text, out OverlayCompression compression)
    {
        switch ((text ?? "").Trim().ToLowerInvariant())
        {
            case "" or "none": compression = OverlayCompression.None; return true;
            case "gzip" or "gz": compression = OverlayCompression.Gzip; return true;
            case "zstd" or "zst": compression = OverlayCompression.Zstd; return true;
            default: compression = OverlayCompression.None; return false;
        }
    }

    public static string Name(this OverlayCompression compression) => compression switch
    {
        OverlayCompression.Gzip => "gzip",
        OverlayCompression.Zstd => "zstd",
        _ => "none",
    };

    /// <summary>Wraps <paramref name="output"/> so that what is written to the result is compressed. Dispose the result to finish the stream.</summary>
    public static Stream Compress(this OverlayCompression compression, Stream output) => compression switch
    {
        OverlayCompression.Gzip => new DeterministicGzipStream(output),
        OverlayCompression.Zstd => new ZstdCompressStream(output),
        _ => new NonClosingStream(output),
    };
}
