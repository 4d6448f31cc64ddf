using System.Runtime.InteropServices;

namespace Anemos.Kexec;

/// <summary>The few system calls the helper needs, through libc: no kexec-tools on the host.</summary>
public static partial class Native
{
    const uint KexecFileUnload = 0x1;
    const uint RebootCommandKexec = 0x45584543;

    [LibraryImport("libc", SetLastError = true)]
    private static partial long syscall(long number, long a, long b, long c, nint d, long e);

    [LibraryImport("libc")]
    private static partial uint geteuid();

    [LibraryImport("libc")]
    private static partial void sync();

    [LibraryImport("libc", EntryPoint = "reboot", SetLastError = true)]
    private static partial int RebootSystem(uint command);

    [LibraryImport("libc", EntryPoint = "strerror")]
    private static partial nint StrError(int errno);

    public static bool IsRoot() => geteuid() == 0;

    static long KexecFileLoadNumber => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 320,
        Architecture.Arm64 => 294,
        _ => throw new HelperException(HelperCodes.KexecUnsupported, $"kexec_file_load is not known on {RuntimeInformation.ProcessArchitecture}."),
    };

    /// <summary>kexec_file_load(2); returns 0 or the errno.</summary>
    public static int KexecFileLoad(int kernelFd, int initrdFd, string commandLine, uint flags)
    {
        byte[] text = System.Text.Encoding.ASCII.GetBytes(commandLine + "\0");
        unsafe
        {
            fixed (byte* cmdline = text)
            {
                long result = syscall(KexecFileLoadNumber, kernelFd, initrdFd, text.Length, (nint)cmdline, flags);
                return result == 0 ? 0 : Marshal.GetLastPInvokeError();
            }
        }
    }

    public static int KexecUnload()
    {
        long result = syscall(KexecFileLoadNumber, -1, -1, 0, 0, KexecFileUnload);
        return result == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    public static void Sync() => sync();

    /// <summary>reboot(LINUX_REBOOT_CMD_KEXEC): starts the loaded kernel at once. Returns only on failure (the errno).</summary>
    public static int RebootIntoLoadedKernel() => RebootSystem(RebootCommandKexec) == 0 ? 0 : Marshal.GetLastPInvokeError();

    public static string Describe(int errno) => $"{Marshal.PtrToStringAnsi(StrError(errno))} (errno {errno})";
}
