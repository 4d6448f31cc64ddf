namespace Anemos.Kexec;

/// <summary>
/// The state folder's lock, so two stages (or a stage and a boot) never run at once. .NET takes
/// an flock on a file opened with FileShare.None; the holder writes its pid for the refusal message.
/// </summary>
public sealed class StateLock : IDisposable
{
    readonly FileStream _file;

    StateLock(FileStream file) => _file = file;

    public static StateLock Acquire(string stateDirectory)
    {
        string path = Path.Combine(stateDirectory, "lock");
        try
        {
            var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            // The pid goes to a file of its own: the locked one cannot be read while it is held.
            File.WriteAllText(path + ".pid", $"{Environment.ProcessId}\n");
            return new StateLock(file);
        }
        catch (IOException)
        {
            string holder = "another process";
            try { holder = "process " + File.ReadAllText(path + ".pid").Trim(); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw new HelperException(HelperCodes.LockHeld, $"{stateDirectory} is locked by {holder}: another anemos-kexec is staging or booting. Wait for it to finish, then run this again.");
        }
    }

    public void Dispose() => _file.Dispose();
}
