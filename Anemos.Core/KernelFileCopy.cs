using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Anemos.Core;

/// <summary>
/// Copies bytes from one file into another inside the kernel (copy_file_range(2)): they never pass
/// through user space, and where the file system shares extents (btrfs, xfs) the copy is a reflink
/// that costs no data at all. Where the kernel or file system cannot (another OS, across file
/// systems, old kernels), the rest is copied as a stream.
/// </summary>
public static partial class KernelFileCopy
{
    // Bounded calls, so a cancellation is seen between them.
    const long ChunkSize = 64L << 20;
    const int EINVAL = 22, EXDEV = 18, ENOSYS = 38, EOPNOTSUPP = 95, EBADF = 9;

    [LibraryImport("libc", EntryPoint = "copy_file_range", SetLastError = true)]
    private static partial nint CopyFileRange(int inputFd, ref long inputOffset, int outputFd, ref long outputOffset, nuint length, uint flags);

    /// <summary>
    /// Copies exactly <paramref name="length"/> bytes from the start of <paramref name="source"/> to
    /// the current position of <paramref name="destination"/>, and leaves both positioned after them.
    /// </summary>
    public static void CopyFromStart(FileStream source, FileStream destination, long length, CancellationToken cancellationToken = default)
    {
        destination.Flush();
        long inputOffset = 0, outputOffset = destination.Position;
        if (OperatingSystem.IsLinux())
        {
            bool addedSource = false, addedDestination = false;
            SafeFileHandle input = source.SafeFileHandle, output = destination.SafeFileHandle;
            try
            {
                input.DangerousAddRef(ref addedSource);
                output.DangerousAddRef(ref addedDestination);
                int inputFd = (int)input.DangerousGetHandle(), outputFd = (int)output.DangerousGetHandle();
                while (inputOffset < length)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    nint copied = CopyFileRange(inputFd, ref inputOffset, outputFd, ref outputOffset, (nuint)Math.Min(ChunkSize, length - inputOffset), 0);
                    if (copied > 0) continue;
                    if (copied == 0)
                        throw new EndOfStreamException($"'{source.Name}' ended {length - inputOffset} bytes before the expected {length} bytes.");
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno is EINVAL or EXDEV or ENOSYS or EOPNOTSUPP or EBADF) break; // not here: copy the rest in user space
                    throw new IOException($"Copying '{source.Name}' into '{destination.Name}' failed: {Marshal.GetPInvokeErrorMessage(errno)}.");
                }
            }
            finally
            {
                if (addedSource) input.DangerousRelease();
                if (addedDestination) output.DangerousRelease();
            }
        }
        source.Position = inputOffset;
        destination.Position = outputOffset;
        if (inputOffset < length) StreamCopy.CopyExactly(source, destination, length - inputOffset, cancellationToken);
    }
}
