using System.IO.Compression;

namespace Anemos.Core.Compression;

/// <summary>
/// gzip whose bytes depend only on the input. The runtime's GZipStream already writes no file
/// name and an mtime of 0; the one platform-dependent header byte, the OS (offset 9), is set to 3
/// (Unix) on its way out, so the same input gives the same file on Linux, macOS and Windows.
/// zlib computes the CRC, vectorised, and the output may be a pipe.
/// </summary>
public sealed class DeterministicGzipStream : WriteOnlyStream
{
    const int OsByteOffset = 9;
    const byte Unix = 3;

    readonly GZipStream _gzip;
    bool _disposed;

    public DeterministicGzipStream(Stream output, CompressionLevel level = CompressionLevel.Optimal) =>
        _gzip = new GZipStream(new HeaderFixingStream(output), level, leaveOpen: false);

    public override void Write(ReadOnlySpan<byte> buffer) => _gzip.Write(buffer);

    public override void Flush() => _gzip.Flush();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _gzip.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>Passes bytes through to the real output, rewriting the header's OS byte; leaves the output open.</summary>
    sealed class HeaderFixingStream(Stream output) : WriteOnlyStream
    {
        long _position;

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (_position <= OsByteOffset && _position + buffer.Length > OsByteOffset)
            {
                byte[] copy = buffer.ToArray();
                copy[OsByteOffset - _position] = Unix;
                output.Write(copy);
            }
            else
            {
                output.Write(buffer);
            }
            _position += buffer.Length;
        }

        public override void Flush() => output.Flush();
    }
}
