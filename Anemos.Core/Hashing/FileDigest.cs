namespace Anemos.Core.Hashing;

/// <summary>The identity of a byte sequence: its lower-case hex sha256 and its length.</summary>
public readonly record struct FileDigest(string Sha256, long Size)
{
    public static FileDigest OfFile(string path, CancellationToken cancellationToken = default)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, StreamCopy.BufferSize, FileOptions.SequentialScan);
        return OfStream(stream, cancellationToken);
    }

    /// <summary>The digest of an open file from its first byte, read through the handle whatever its position.</summary>
    public static FileDigest OfHandle(Microsoft.Win32.SafeHandles.SafeFileHandle handle, CancellationToken cancellationToken = default)
    {
        using var hash = Sha256Hash.Create();
        byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(StreamCopy.BufferSize);
        try
        {
            long offset = 0;
            int read;
            while ((read = RandomAccess.Read(handle, buffer, offset)) > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                hash.Append(buffer.AsSpan(0, read));
                offset += read;
            }
            return new(Convert.ToHexString(hash.Current()).ToLowerInvariant(), offset);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public static FileDigest OfStream(Stream stream, CancellationToken cancellationToken = default)
    {
        using var hashing = new HashingStream(Stream.Null);
        StreamCopy.CopyToEnd(stream, hashing, cancellationToken);
        return hashing.Digest();
    }

    public static FileDigest OfBytes(ReadOnlySpan<byte> bytes)
    {
        using var hash = Sha256Hash.Create();
        hash.Append(bytes);
        return new(Convert.ToHexString(hash.Current()).ToLowerInvariant(), bytes.Length);
    }

    public string ShortSha256 => Sha256.Length >= 12 ? Sha256[..12] : Sha256;

    /// <summary>True when <paramref name="text"/> is 64 hex digits (either case).</summary>
    public static bool IsSha256(string? text) =>
        text is { Length: 64 } && text.All(Uri.IsHexDigit);
}
