using System.Diagnostics;
using System.Globalization;

namespace Anemos.Tasks.Ssh;

/// <summary>
/// A session's private folder (mode 0700) for its control socket and pin files, right under the
/// temp folder because Unix socket paths are short (108 bytes). It names its owner process, so
/// the next run can remove the folders of runs that were killed, and stop their masters.
/// </summary>
static class ControlFolder
{
    const string Prefix = "anemos-ssh-";

    /// <summary>The control socket in a folder.</summary>
    public static string Socket(string folder) => Path.Combine(folder, "mux");

    public static string Create()
    {
        RemoveStale();
        string directory = Directory.CreateTempSubdirectory(Prefix).FullName;
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        // Who owns the folder: the next run removes it (and stops its master) once this process is gone.
        File.WriteAllText(Path.Combine(directory, "owner"), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        return directory;
    }

    /// <summary>
    /// Control folders of runs that were killed (their owner process is gone): their master, if
    /// it still lives, is told to exit, and the folder is removed. Folders of live runs are left alone,
    /// and so is every folder that is not this user's own as Create makes it (see IsOurs): the temp
    /// folder is shared, and another user's socket is not ours to stop, nor their tree ours to delete.
    /// </summary>
    public static void RemoveStale(string? temp = null)
    {
        IEnumerable<string> folders;
        try { folders = Directory.EnumerateDirectories(temp ?? Path.GetTempPath(), Prefix + "*").ToList(); }
        catch (IOException) { return; }
        catch (UnauthorizedAccessException) { return; }
        foreach (string folder in folders)
        {
            try
            {
                if (!IsOurs(folder)) continue;
                string ownerFile = Path.Combine(folder, "owner");
                if (!File.Exists(ownerFile))
                {
                    // A folder from before owner files, or one being created right now: only old ones go.
                    if (DateTime.UtcNow - Directory.GetLastWriteTimeUtc(folder) < TimeSpan.FromMinutes(5)) continue;
                }
                else if (int.TryParse(File.ReadAllText(ownerFile).Trim(), out int pid) && ProcessIsAlive(pid)) continue;
                string socket = Socket(folder);
                if (File.Exists(socket))
                    OpenSsh.Execute("ssh", ["-o", "ControlPath=" + socket, "-O", "exit", "--", "anemos-stale-master"], null, null, CancellationToken.None);
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            catch (AnemosException) { }
        }
    }

    /// <summary>
    /// A real folder (not a link), owned by this process's user, with no access for group or others:
    /// the shape Create gives it, which nobody else can give a folder in our name. Off Linux (no owner
    /// to read) nothing is swept.
    /// </summary>
    internal static bool IsOurs(string folder)
    {
        if (UnixFileKind.Stat(folder) is not { } stat || UnixFileKind.EffectiveUserId() is not { } me) return false;
        return (stat.Mode & 0xF000) == UnixFileKind.DirectoryType && stat.Owner == me && (stat.Mode & 0x3F /* 077 */) == 0;
    }

    static bool ProcessIsAlive(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }
}
