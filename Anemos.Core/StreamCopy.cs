namespace Anemos.Core;

/// <summary>Bounded, cancellable stream copies that never hold a whole file in memory.</summary>
public static class StreamCopy
{
    public const int BufferSize = 1 << 20;

    /// <summary>Copies exactly <paramref name="length"/> bytes; a source that ends early is an error, never a short file.</summary>
    public static long CopyExactly(Stream source, Stream destination, long length, CancellationToken cancellationToken = default)
    {
        byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            long remaining = length;
            while (remaining > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int read = source.Read(buffer, 0, (int)Math.Min(buffer.Length, remaining));
                if (read == 0)
                    throw new EndOfStreamException($"The source ended {remaining} bytes before the expected {length} bytes.");
                destination.Write(buffer, 0, read);
                remaining -= read;
            }
            return length;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Copies to the end of <paramref name="source"/>, returning the byte count.</summary>
    public static long CopyToEnd(Stream source, Stream destination, CancellationToken cancellationToken = default)
    {
        byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            long total = 0;
            int read;
            while ((read = source.Read(buffer, 0, buffer.Length)) > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                destination.Write(buffer, 0, read);
                total += read;
            }
            return total;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
