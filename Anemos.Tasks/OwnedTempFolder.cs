using System.Diagnostics;
using System.Globalization;

namespace Anemos.Tasks;

/// <summary>
/// A private folder (mode 0700) right under the temp folder that names the process owning it, so
/// the next run can remove the folders of runs that were killed (SIGKILL runs no cleanup): the ssh
/// control folders (<see cref="Ssh.ControlFolder"/>) and the rehearsal's secrets
/// (<see cref="Rehearse.RehearsalSecrets"/>).
/// </summary>
static class OwnedTempFolder
{
    const string OwnerFile = "owner";

    public static string Create(string prefix)
    {
        string directory = Directory.CreateTempSubdirectory(prefix).FullName;
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        // Who owns the folder: the next run removes it once this process is gone.
        File.WriteAllText(Path.Combine(directory, OwnerFile), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        return directory;
    }

    /// <summary>
    /// Folders named <paramref name="prefix"/>* of runs that were killed (their owner process is
    /// gone) are removed, after <paramref name="beforeRemove"/> had its say. Folders of live runs are
    /// left alone, and so is every folder that is not this user's own as Create makes it (see
    /// IsOurs): the temp folder is shared, and another user's tree is not ours to delete.
    /// </summary>
    public static void RemoveStale(string prefix, string? temp = null, Action<string>? beforeRemove = null)
    {
        IEnumerable<string> folders;
        try { folders = Directory.EnumerateDirectories(temp ?? Path.GetTempPath(), prefix + "*").ToList(); }
        catch (IOException) { return; }
        catch (UnauthorizedAccessException) { return; }
        foreach (string folder in folders)
        {
            try
            {
                if (!IsOurs(folder)) continue;
                string ownerFile = Path.Combine(folder, OwnerFile);
                if (!File.Exists(ownerFile))
                {
                    // A folder from before owner files, or one being created right now: only old ones go.
                    if (DateTime.UtcNow - Directory.GetLastWriteTimeUtc(folder) < TimeSpan.FromMinutes(5)) continue;
                }
                else if (int.TryParse(File.ReadAllText(ownerFile).Trim(), out int pid) && ProcessIsAlive(pid)) continue;
                beforeRemove?.Invoke(folder);
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
