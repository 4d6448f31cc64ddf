using System.Runtime.InteropServices;

namespace Anemos.Tasks;

/// <summary>
/// The type of a file system entry without following symlinks. .NET reports fifos, sockets and
/// device nodes as ordinary files, so on Linux this asks libc's lstat for st_mode.
/// </summary>
public static unsafe class UnixFileKind
{
    const uint TypeMask = 0xF000;

    [DllImport("libc", EntryPoint = "lstat", SetLastError = true)]
    static extern int LStat(string path, byte* buffer);

    [DllImport("libc", EntryPoint = "__lxstat", SetLastError = true)]
    static extern int LegacyLStat(int version, string path, byte* buffer);

    /// <summary>A description such as "fifo" for an entry the payload cannot hold, or null for a file, directory or symlink.</summary>
    public static string? Unsupported(string path)
    {
        uint? mode = Mode(path);
        return (mode & TypeMask) switch
        {
            null or 0x8000 or 0x4000 or 0xA000 => null,
            0x1000 => "fifo (named pipe)",
            0xC000 => "socket",
            0x2000 => "character device",
            0x6000 => "block device",
            _ => "special file",
        };
    }

    static uint? Mode(string path) => Stat(path)?.Mode;

    public const uint DirectoryType = 0x4000;

    [DllImport("libc", EntryPoint = "geteuid")]
    static extern uint GetEffectiveUserId();

    /// <summary>This process's effective uid (Linux); null elsewhere.</summary>
    public static uint? EffectiveUserId() => OperatingSystem.IsLinux() ? GetEffectiveUserId() : null;

    /// <summary>Owner uid and st_mode (type and permission bits) of the entry itself, a symlink not followed; null when it does not exist or off Linux.</summary>
    public static (uint Owner, uint Mode)? Stat(string path)
    {
        if (!OperatingSystem.IsLinux()) return null;
        // struct stat: x86_64 has st_nlink (8 bytes) before st_mode, the generic layout (arm64) after it.
        (int modeOffset, int ownerOffset) = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => (24, 28),
            Architecture.Arm64 => (16, 24),
            _ => (-1, -1),
        };
        if (modeOffset < 0) return null;
        byte* buffer = stackalloc byte[512];
        int result;
        try
        {
            result = LStat(path, buffer);
        }
        catch (EntryPointNotFoundException)
        {
            // glibc before 2.33 exports only the versioned __lxstat (version 1 on x86_64, 0 elsewhere).
            result = LegacyLStat(RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 1 : 0, path, buffer);
        }
        return result == 0 ? (*(uint*)(buffer + ownerOffset), *(uint*)(buffer + modeOffset)) : null;
    }
}
