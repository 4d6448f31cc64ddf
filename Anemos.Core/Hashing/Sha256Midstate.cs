using System.Globalization;

namespace Anemos.Core.Hashing;

/// <summary>
/// SHA-256's chaining state after the first <see cref="BytesHashed"/> bytes of a file (a multiple of
/// 64: SHA-256 works on 64-byte blocks). A hash of that file followed by other bytes resumes from it
/// and reads only the rest, so a big base image is hashed once, not for every host that extends it.
/// </summary>
public sealed record Sha256Midstate(long BytesHashed, IReadOnlyList<uint> State)
{
    public const int BlockSize = 64;

    /// <summary>Hashes the whole blocks of a file (streamed) and returns the state after them.</summary>
    public static Sha256Midstate OfFile(string path, CancellationToken cancellationToken = default)
    {
        using var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.SequentialScan);
        long wholeBlocks = input.Length / BlockSize * BlockSize;
        using var hash = ResumableSha256.Create();
        byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(StreamCopy.BufferSize);
        try
        {
            long remaining = wholeBlocks;
            while (remaining > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int read = input.Read(buffer, 0, (int)Math.Min(buffer.Length, remaining));
                if (read == 0) throw new EndOfStreamException($"'{path}' ended while its sha256 state was computed; it changed meanwhile.");
                hash.Append(buffer.AsSpan(0, read));
                remaining -= read;
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
        return hash.Midstate();
    }

    /// <summary>"BYTES STATE" with the eight state words as 64 hex digits.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{BytesHashed} {string.Concat(State.Select(word => word.ToString("x8", CultureInfo.InvariantCulture)))}");

    public static Sha256Midstate? Parse(string text)
    {
        string[] parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length != 2 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long bytes)
            || bytes % BlockSize != 0 || parts[1].Length != 64)
            return null;
        var state = new uint[8];
        for (int i = 0; i < 8; i++)
            if (!uint.TryParse(parts[1].AsSpan(i * 8, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out state[i])) return null;
        return new Sha256Midstate(bytes, state);
    }
}
