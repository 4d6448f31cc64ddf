using System.Runtime.InteropServices;
using Anemos.Core.Protocol;

namespace Anemos.Kexec;

/// <summary>The few system calls the helper needs, through libc: no kexec-tools on the host.</summary>
public static partial class Native
{
    const uint KexecFileUnload = 0x1;
    const uint RebootCommandKexec = 0x45584543;

    [LibraryImport("libc", SetLastError = true)]
    private static partial long syscall(long number, long a, long b, long c, nint d, long e);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static unsafe partial long syscallStatx(long number, long directory, byte* path, long flags, long mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static unsafe partial long SyscallPointers(long number, long a, byte* b, long c, long d, byte* e);

    [LibraryImport("libc")]
    private static partial uint geteuid();

    [LibraryImport("libc")]
    private static partial uint umask(uint mask);

    [LibraryImport("libc")]
    private static partial void sync();

    [LibraryImport("libc", EntryPoint = "reboot", SetLastError = true)]
    private static partial int RebootSystem(uint command);

    [LibraryImport("libc", EntryPoint = "strerror")]
    private static partial nint StrError(int errno);

    [LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MountFileSystem(string source, string target, string type, ulong flags, string data);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int getifaddrs(out nint list);

    [LibraryImport("libc")]
    private static partial void freeifaddrs(nint list);

    public static bool IsRoot() => geteuid() == 0;

    const ushort AddressFamilyInet = 2; // AF_INET

    /// <summary>
    /// The IPv4 addresses getifaddrs(3) lists, with their interface label (eth0, or an alias such as
    /// eth0:1) and prefix length: what /proc does not show together. Empty when the call fails.
    /// </summary>
    public static IReadOnlyList<Anemos.Core.Protocol.KernelIpv4Address> Ipv4Addresses()
    {
        var addresses = new List<Anemos.Core.Protocol.KernelIpv4Address>();
        if (getifaddrs(out nint list) != 0) return addresses;
        try
        {
            // struct ifaddrs on LP64: next, name, flags (4 bytes, padded to 8), addr, netmask, ifu, data.
            for (nint entry = list; entry != 0; entry = Marshal.ReadIntPtr(entry, 0))
            {
                nint address = Marshal.ReadIntPtr(entry, 24), netmask = Marshal.ReadIntPtr(entry, 32);
                if (address == 0 || netmask == 0 || (ushort)Marshal.ReadInt16(address) != AddressFamilyInet) continue;
                string label = Marshal.PtrToStringUTF8(Marshal.ReadIntPtr(entry, 8)) ?? "";
                // sockaddr_in: family (2 bytes), port (2), then the address's 4 bytes in network order.
                byte[] bytes = new byte[4], mask = new byte[4];
                Marshal.Copy(address + 4, bytes, 0, 4);
                Marshal.Copy(netmask + 4, mask, 0, 4);
                int prefix = mask.Sum(b => System.Numerics.BitOperations.PopCount(b));
                addresses.Add(new(label, new System.Net.IPAddress(bytes).ToString(), prefix));
            }
        }
        finally { freeifaddrs(list); }
        return addresses;
    }

    public static uint EffectiveUserId() => geteuid();

    /// <summary>Files the helper creates are its own alone (0600, folders 0700), whatever umask it inherited.</summary>
    public static void RestrictNewFiles() => umask(0x3F /* 077 */);

    const long TmpfsMagic = 0x01021994, RamfsMagic = 0x858458f6;

    /// <summary>True when <paramref name="path"/> is on tmpfs or ramfs: what is written there never reaches a disk (swap aside).</summary>
    public static bool IsInRam(string path) => FileSystemType(path) is TmpfsMagic or RamfsMagic;

    /// <summary>True when <paramref name="path"/> is on ramfs, whose pages the kernel never swaps out.</summary>
    public static bool IsOnRamfs(string path) => FileSystemType(path) == RamfsMagic;

    /// <summary>
    /// Mounts a ramfs at <paramref name="path"/>, root's alone (0700, no devices, set-id or programs);
    /// returns 0 or the errno.
    /// </summary>
    public static int MountRamfs(string path)
    {
        const ulong NoSetId = 2, NoDevices = 4, NoExec = 8; // MS_NOSUID, MS_NODEV, MS_NOEXEC
        return MountFileSystem("anemos-secrets", path, "ramfs", NoSetId | NoDevices | NoExec, "mode=0700") == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>statfs(2)'s f_type of <paramref name="path"/>, or -1 when it cannot be read.</summary>
    static long FileSystemType(string path)
    {
        long number = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 43 : 137; // statfs(2)
        byte[] name = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        byte[] buffer = new byte[256];
        unsafe
        {
            fixed (byte* p = name)
            fixed (byte* b = buffer)
                if (SyscallPointers(number, (long)p, b, 0, 0, null) != 0) return -1;
        }
        return BitConverter.ToInt64(buffer, 0) & 0xFFFFFFFF; // f_type comes first on x86_64 and arm64
    }

    /// <summary>Owner, mode and type of a path itself (a symlink is not followed), from statx(2); null when it does not exist.</summary>
    public static (uint Owner, uint Mode)? StatNoFollow(string path)
    {
        long number = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 291 : 332; // statx(2)
        const long AtFdCwd = -100, AtSymlinkNoFollow = 0x100, StatxBasicStats = 0x7FF;
        byte[] name = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        byte[] buffer = new byte[256];
        unsafe
        {
            fixed (byte* p = name)
            fixed (byte* b = buffer)
                if (syscallStatx(number, AtFdCwd, p, AtSymlinkNoFollow, StatxBasicStats, b) != 0) return null;
        }
        return (BitConverter.ToUInt32(buffer, 20), BitConverter.ToUInt16(buffer, 28)); // stx_uid, stx_mode
    }

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
