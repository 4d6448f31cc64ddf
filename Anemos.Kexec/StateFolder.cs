using Anemos.Core.Protocol;

namespace Anemos.Kexec;

/// <summary>
/// The state folder is trusted only when nobody but root (or the helper's own user) could have
/// swapped anything on the way to it: an absolute canonical path, no symlink anywhere, every
/// folder owned by root or the helper's user and writable by nobody else (a root-owned sticky
/// folder such as /tmp excepted: others cannot rename what is not theirs there). A missing folder
/// is created, the last one with mode 0700 and exclusively; an existing one is never chmodded.
/// </summary>
public static class StateFolder
{
    const uint TypeMask = 0xF000, Directory = 0x4000, Symlink = 0xA000;
    const uint GroupOrOtherWrite = 0x12 /* 020 | 002 */, Sticky = 0x200;

    public static void Ensure(string path) => EnsureSafe(path, "state folder", "--state", HelperStateLayout.DefaultDirectory);

    /// <summary>Checks (and creates what is missing of) <paramref name="path"/>; refuses with ANEMOS5002 and the reason.</summary>
    public static void EnsureSafe(string path, string what, string option, string example)
    {
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException();
        if (!Path.IsPathFullyQualified(path) || Path.GetFullPath(path) != path || (path.Length > 1 && path.EndsWith('/')) || path == "/")
            throw Unsafe(path, what, option, example, "it is not an absolute canonical path (no '..', '.', '//' or trailing '/'; not / itself)");
        uint self = Native.EffectiveUserId();
        string current = "/";
        string[] parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i <= parts.Length; i++)
        {
            bool last = i == parts.Length;
            var stat = Native.StatNoFollow(current);
            if (stat is null)
            {
                try
                {
                    // Exclusively: a folder someone made between the check and here fails the check below instead.
                    System.IO.Directory.CreateDirectory(current, last
                        ? UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                        : (UnixFileMode)0x1ED /* 0755 */);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw Unsafe(path, what, option, example, $"{current} cannot be created: {e.Message}");
                }
                stat = Native.StatNoFollow(current);
                if (stat is null) throw Unsafe(path, what, option, example, $"{current} cannot be created");
            }
            var (owner, mode) = stat.Value;
            if ((mode & TypeMask) == Symlink) throw Unsafe(path, what, option, example, $"{current} is a symlink");
            if ((mode & TypeMask) != Directory) throw Unsafe(path, what, option, example, $"{current} is not a folder");
            if (owner != 0 && owner != self) throw Unsafe(path, what, option, example, $"{current} is owned by uid {owner}, neither root nor this user");
            bool sharedSticky = owner == 0 && (mode & Sticky) != 0 && !last;
            if ((mode & GroupOrOtherWrite) != 0 && !sharedSticky)
                throw Unsafe(path, what, option, example, $"{current} is writable by its group or others (mode {Convert.ToString(mode & 0xFFF, 8)})");
            if (!last) current = Path.Combine(current, parts[i]);
        }
    }

    static HelperException Unsafe(string path, string what, string option, string example, string reason) =>
        new(HelperCodes.StateFolder, $"The {what} {path} cannot be trusted: {reason}. Pass {option} with a folder only root can change, such as {example}.");
}
