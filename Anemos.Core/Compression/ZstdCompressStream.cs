using System.Runtime.InteropServices;

namespace Anemos.Core.Compression;

/// <summary>Raised when the system's libzstd cannot be loaded; callers turn it into a coded error.</summary>
public sealed class ZstdUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Streaming zstd compression through the system's libzstd (libzstd.so.1): no managed zstd
/// package is in reach, and every distribution ships the library. Frames carry a checksum.
/// </summary>
public sealed unsafe class ZstdCompressStream : WriteOnlyStream
{
    const string Library = "libzstd.so.1";
    const int ParameterCompressionLevel = 100;
    const int ParameterChecksumFlag = 201;
    const int EndContinue = 0, EndFinish = 2;

    [StructLayout(LayoutKind.Sequential)]
    struct InBuffer { public void* Source; public nuint Size; public nuint Position; }

    [StructLayout(LayoutKind.Sequential)]
    struct OutBuffer { public void* Destination; public nuint Size; public nuint Position; }

    [DllImport(Library)] static extern nint ZSTD_createCCtx();
    [DllImport(Library)] static extern nuint ZSTD_freeCCtx(nint context);
    [DllImport(Library)] static extern nuint ZSTD_CCtx_setParameter(nint context, int parameter, int value);
    [DllImport(Library)] static extern nuint ZSTD_compressStream2(nint context, OutBuffer* output, InBuffer* input, int endOperation);
    [DllImport(Library)] static extern uint ZSTD_isError(nuint code);
    [DllImport(Library)] static extern nint ZSTD_getErrorName(nuint code);
    [DllImport(Library)] static extern nuint ZSTD_CStreamOutSize();

    readonly Stream _output;
    readonly nint _context;
    readonly byte[] _buffer;
    bool _disposed;

    public ZstdCompressStream(Stream output, int level = 3)
    {
        _output = output;
        try
        {
            _context = ZSTD_createCCtx();
            _buffer = new byte[(int)ZSTD_CStreamOutSize()];
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            throw new ZstdUnavailableException($"The system zstd library ({Library}) could not be loaded: {e.Message}", e);
        }
        if (_context == 0) throw new OutOfMemoryException("ZSTD_createCCtx failed.");
        Check(ZSTD_CCtx_setParameter(_context, ParameterCompressionLevel, level));
        Check(ZSTD_CCtx_setParameter(_context, ParameterChecksumFlag, 1));
    }

    public override void Write(ReadOnlySpan<byte> data)
    {
        fixed (byte* source = data)
        {
            var input = new InBuffer { Source = source, Size = (nuint)data.Length, Position = 0 };
            while (input.Position < input.Size)
                Drain(&input, EndContinue);
        }
    }

    nuint Drain(InBuffer* input, int mode)
    {
        fixed (byte* destination = _buffer)
        {
            var output = new OutBuffer { Destination = destination, Size = (nuint)_buffer.Length, Position = 0 };
            nuint remaining = ZSTD_compressStream2(_context, &output, input, mode);
            Check(remaining);
            _output.Write(_buffer, 0, (int)output.Position);
            return remaining;
        }
    }

    static void Check(nuint code)
    {
        if (ZSTD_isError(code) != 0)
            throw new IOException("zstd: " + Marshal.PtrToStringAnsi(ZSTD_getErrorName(code)));
    }

    protected override void Dispose(bool disposing)
    {
        if (!_disposed)
        {
            _disposed = true;
            try
            {
                if (disposing)
                {
                    var input = new InBuffer();
                    while (Drain(&input, EndFinish) != 0) { }
                    _output.Flush();
                }
            }
            finally
            {
                ZSTD_freeCCtx(_context);
            }
        }
        base.Dispose(disposing);
    }

    public override void Flush() => _output.Flush();
}
