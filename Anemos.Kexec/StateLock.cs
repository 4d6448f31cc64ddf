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
            file.SetLength(0);
            file.Write(System.Text.Encoding.ASCII.GetBytes($"{Environment.ProcessId}\n"));
            file.Flush();
            return new StateLock(file);
        }
        catch (IOException)
        {
            string holder = "another process";
            try { holder = "process " + File.ReadAllText(path).Trim(); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw new HelperException(HelperCodes.LockHeld, $"{stateDirectory} is locked by {holder}: another anemos-kexec is staging or booting. Wait for it to finish, then run this again.");
        }
    }

    public void Dispose() => _file.Dispose();
}
