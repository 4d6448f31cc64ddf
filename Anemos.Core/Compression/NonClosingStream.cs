namespace Anemos.Core.Compression;

/// <summary>Passes writes through and leaves the inner stream open on dispose, so "no compression" looks like the others to callers.</summary>
sealed class NonClosingStream(Stream inner) : WriteOnlyStream
{
    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);
    public override void WriteByte(byte value) => inner.WriteByte(value);
    public override void Flush() => inner.Flush();
}
