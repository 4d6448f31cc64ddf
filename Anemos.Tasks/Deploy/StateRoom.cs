namespace Anemos.Tasks.Deploy;

/// <summary>
/// The room a stage needs in the host's state folder at its peak, checked in the plan against the
/// helper's `stateFreeBytes` before anything is uploaded: each uploaded or fetched artifact once
/// (the helper moves an upload into its cache instead of copying it), the manifest, and the
/// initramfs twice (the proven part and the final file exist together while segments are
/// appended), plus a margin for the helper's own files.
/// </summary>
public static class StateRoom
{
    public const long MarginBytes = 16L * 1024 * 1024;

    public static long Peak(IEnumerable<long> arriving, long initramfsSize) =>
        arriving.Sum() + 2 * initramfsSize + MarginBytes;

    /// <summary>ANEMOS4030 before anything is uploaded, when the state folder cannot hold the stage's peak (docs/deploy.md).</summary>
    public static void Check(long? freeBytes, IEnumerable<long> arriving, long initramfsSize, string hostDisplay, string stateDirectory)
    {
        if (freeBytes is not { } free) return;
        var sizes = arriving.ToList();
        long peak = Peak(sizes, initramfsSize);
        if (free < peak)
            throw new AnemosException(Diagnostics.StateFolderFull, hostDisplay, stateDirectory, ByteSize.Format(free), ByteSize.Format(peak),
                $"{ByteSize.Format(sizes.Sum())} arriving, the initramfs {ByteSize.Format(initramfsSize)} twice, {ByteSize.Format(MarginBytes)} margin");
    }
}
