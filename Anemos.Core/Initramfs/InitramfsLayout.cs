using Anemos.Core.Hashing;

namespace Anemos.Core.Initramfs;

/// <summary>
/// The deploy initramfs is the base initramfs bytes untouched, zero padding to a 4-byte boundary
/// (the kernel's unpacker requires each archive to start aligned), then the overlay. The build
/// and the host helper both assemble it here, so both produce the same bytes.
/// </summary>
public static class InitramfsLayout
{
    public const int Alignment = 4;

    static readonly byte[] Zeros = new byte[Alignment];

    public static int PaddingAfter(long baseSize) => (int)((Alignment - (baseSize % Alignment)) % Alignment);

    /// <summary>Streams base, padding and the given segments into <paramref name="output"/>, returning the digest of everything written.</summary>
    public static FileDigest Assemble(string basePath, IReadOnlyList<string> segmentPaths, Stream output, CancellationToken cancellationToken = default)
    {
        using var hashing = new HashingStream(output, leaveOpen: true);
        AppendAligned(basePath, hashing, cancellationToken);
        for (int i = 0; i < segmentPaths.Count; i++)
        {
            if (i < segmentPaths.Count - 1) AppendAligned(segmentPaths[i], hashing, cancellationToken);
            else Append(segmentPaths[i], hashing, cancellationToken);
        }
        hashing.Flush();
        return hashing.Digest();
    }

    /// <summary>Assembles into <paramref name="outputPath"/> atomically: a failure leaves no partial file.</summary>
    public static FileDigest AssembleFile(string basePath, IReadOnlyList<string> segmentPaths, string outputPath, CancellationToken cancellationToken = default) =>
        AtomicFile.Write(outputPath, stream => Assemble(basePath, segmentPaths, stream, cancellationToken));

    /// <summary>
    /// Assembles into <paramref name="outputPath"/> atomically, resuming the hash from the base's kept
    /// state (<paramref name="baseState"/>, for exactly this base): the kernel copies the base, and only
    /// its last partial block, the padding and the segments are hashed, so a host costs its own bytes.
    /// </summary>
    public static FileDigest AssembleFile(string basePath, Sha256Midstate baseState, IReadOnlyList<string> segmentPaths, string outputPath, CancellationToken cancellationToken = default) =>
        AssembleFileKeepingState(basePath, baseState, segmentPaths, outputPath, cancellationToken).Digest;

    /// <summary>
    /// <see cref="AssembleFile(string, Sha256Midstate, IReadOnlyList{string}, string, CancellationToken)"/>,
    /// and the state after the output's whole blocks, from which a longer file that starts with this
    /// output is hashed in turn (the helper's host-side segments after the proven initramfs).
    /// </summary>
    public static (FileDigest Digest, Sha256Midstate State) AssembleFileKeepingState(string basePath, Sha256Midstate baseState, IReadOnlyList<string> segmentPaths, string outputPath, CancellationToken cancellationToken = default) =>
        AtomicFile.Write(outputPath, output =>
        {
            long baseSize;
            ResumableSha256 hash;
            using (var input = new FileStream(basePath, FileMode.Open, FileAccess.Read, FileShare.Read, 0))
            {
                baseSize = input.Length;
                long tailLength = baseSize - baseState.BytesHashed;
                if (tailLength is < 0 or >= Sha256Midstate.BlockSize)
                    throw new ArgumentException($"The sha256 state covers {baseState.BytesHashed} bytes, which are not the whole blocks of '{basePath}' ({baseSize} bytes).", nameof(baseState));
                KernelFileCopy.CopyFromStart(input, output, baseSize, cancellationToken);
                // The base's last partial block is all of it that is hashed here.
                Span<byte> tail = stackalloc byte[Sha256Midstate.BlockSize];
                input.Position = baseState.BytesHashed;
                input.ReadExactly(tail[..(int)tailLength]);
                hash = ResumableSha256.Create(baseState);
                hash.Append(tail[..(int)tailLength]);
            }
            using var hashing = new HashingStream(output, hash, baseSize, leaveOpen: true);
            hashing.Write(Zeros.AsSpan(0, PaddingAfter(baseSize)));
            for (int i = 0; i < segmentPaths.Count; i++)
            {
                if (i < segmentPaths.Count - 1) AppendAligned(segmentPaths[i], hashing, cancellationToken);
                else Append(segmentPaths[i], hashing, cancellationToken);
            }
            hashing.Flush();
            return (hashing.Digest(), hash.Midstate());
        });

    static void AppendAligned(string path, Stream output, CancellationToken cancellationToken)
    {
        long size = Append(path, output, cancellationToken);
        Span<byte> zeros = stackalloc byte[Alignment];
        zeros.Clear();
        output.Write(zeros[..PaddingAfter(size)]);
    }

    static long Append(string path, Stream output, CancellationToken cancellationToken)
    {
        using var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, StreamCopy.BufferSize, FileOptions.SequentialScan);
        return StreamCopy.CopyToEnd(input, output, cancellationToken);
    }
}
