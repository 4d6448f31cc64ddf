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
}
