namespace Anemos.Tasks.Ssh;

/// <summary>
/// A session's private folder (mode 0700) for its control socket and pin files, right under the
/// temp folder because Unix socket paths are short (108 bytes). It names its owner process
/// (<see cref="OwnedTempFolder"/>), so the next run can remove the folders of runs that were
/// killed, and stop their masters.
/// </summary>
static class ControlFolder
{
    const string Prefix = "anemos-ssh-";

    /// <summary>The control socket in a folder.</summary>
    public static string Socket(string folder) => Path.Combine(folder, "mux");

    public static string Create()
    {
        RemoveStale();
        return OwnedTempFolder.Create(Prefix);
    }

    /// <summary>
    /// Control folders of runs that were killed: their master, if it still lives, is told to exit,
    /// and the folder is removed. Folders of live runs, and folders that are not this user's own,
    /// are left alone (<see cref="OwnedTempFolder.RemoveStale"/>): another user's socket is not ours to stop.
    /// </summary>
    public static void RemoveStale(string? temp = null) => OwnedTempFolder.RemoveStale(Prefix, temp, folder =>
    {
        string socket = Socket(folder);
        if (File.Exists(socket))
            OpenSsh.Execute("ssh", ["-o", "ControlPath=" + socket, "-O", "exit", "--", "anemos-stale-master"], null, null, CancellationToken.None);
    });
}
