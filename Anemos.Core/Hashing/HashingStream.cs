namespace Anemos.Core.Hashing;

/// <summary>
/// A write-only stream that hashes every byte on its way to an inner stream, so a file is hashed
/// while it is written instead of being read back. A large write is hashed on this thread while
/// another writes it out: the two costs overlap instead of adding up.
/// </summary>
public sealed class HashingStream : WriteOnlyStream
{
    readonly Stream _inner;
    readonly bool _leaveOpen;
    readonly Sha256Hash _hash;
    long _length;

    public HashingStream(Stream inner, bool leaveOpen = false) : this(inner, Sha256Hash.Create(), 0, leaveOpen) { }

    /// <summary>Continues a hash that has already seen <paramref name="hashedLength"/> bytes (written elsewhere); takes ownership of it.</summary>
    public HashingStream(Stream inner, Sha256Hash hash, long hashedLength, bool leaveOpen = false)
    {
        _inner = inner;
        _hash = hash;
        _length = hashedLength;
        _leaveOpen = leaveOpen;
    }

    public FileDigest Digest() => new(Convert.ToHexString(_hash.Current()).ToLowerInvariant(), _length);

    const int ParallelThreshold = 256 * 1024;

    public override void Write(byte[] buffer, int offset, int count)
    {
        if (count < ParallelThreshold)
        {
            Write(buffer.AsSpan(offset, count));
            return;
        }
        // Both only read the buffer, which the caller keeps until this returns.
        var writing = Task.Run(() => _inner.Write(buffer, offset, count));
        _hash.Append(buffer.AsSpan(offset, count));
        writing.GetAwaiter().GetResult();
        _length += count;
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _hash.Append(buffer);
        _inner.Write(buffer);
        _length += buffer.Length;
    }

    public override void Flush() => _inner.Flush();
    public override long Length => _length;
    public override long Position { get => _length; set => throw new NotSupportedException(); }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
            if (!_leaveOpen) _inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
