using System.IO.Compression;

namespace Anemos.Core.Compression;

/// <summary>
/// gzip whose bytes depend only on the input: no file name, mtime 0 (as .NET writes it) and the
/// header's OS byte fixed to 3 (Unix) whatever platform compresses. The header is written by
/// hand and the body by <see cref="DeflateStream"/>, so no byte needs patching afterwards and the
/// output may be a pipe.
/// </summary>
public sealed class DeterministicGzipStream : WriteOnlyStream
{
    static readonly byte[] Header = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];

    readonly Stream _output;
    readonly DeflateStream _deflate;
    uint _crc = 0xFFFFFFFF;
    uint _length;
    bool _disposed;

    public DeterministicGzipStream(Stream output, CompressionLevel level = CompressionLevel.Optimal)
    {
        _output = output;
        _output.Write(Header);
        _deflate = new DeflateStream(output, level, leaveOpen: true);
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _crc = Crc32.Append(_crc, buffer);
        _length = unchecked(_length + (uint)buffer.Length);
        _deflate.Write(buffer);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _deflate.Dispose();
            Span<byte> trailer = stackalloc byte[8];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(trailer, ~_crc);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(trailer[4..], _length);
            _output.Write(trailer);
            _output.Flush();
        }
        base.Dispose(disposing);
    }

    public override void Flush() => _deflate.Flush();
}

/// <summary>CRC-32 (IEEE 802.3, reflected) as gzip's trailer needs it; the BCL has none without a package.</summary>
static class Crc32
{
    static readonly uint[] Table = BuildTable();

    static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }

    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }
}
