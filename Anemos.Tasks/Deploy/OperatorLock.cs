namespace Anemos.Tasks.Deploy;

/// <summary>
/// The operator side's lock per host (address and port): two deploys of one host from this
/// machine, from any project or clone, never overlap. The holder writes who it is next to the lock.
/// </summary>
public sealed class OperatorLock : IDisposable
{
    readonly FileStream _file;
    readonly string _ownerPath;

    OperatorLock(FileStream file, string ownerPath)
    {
        _file = file;
        _ownerPath = ownerPath;
    }

    public static OperatorLock Acquire(string lockDirectory, string address, int port, string owner)
    {
        Directory.CreateDirectory(lockDirectory);
        string key = string.Concat($"{address}_{port}".Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_'));
        string path = Path.Combine(lockDirectory, key + ".lock");
        string ownerPath = path + ".owner";
        try
        {
            // .NET takes an flock for FileShare.None: it goes with the process, however that ends.
            var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            File.WriteAllText(ownerPath, $"{owner} (pid {Environment.ProcessId}, since {DateTimeOffset.UtcNow:u})");
            return new OperatorLock(file, ownerPath);
        }
        catch (IOException)
        {
            string holder = "another deploy";
            try { holder = File.ReadAllText(ownerPath).Trim(); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw new AnemosException(Diagnostics.OperatorLockHeld, $"{address}:{port}", holder, path);
        }
    }

    public void Dispose()
    {
        try { File.Delete(_ownerPath); } catch (IOException) { }
        _file.Dispose();
    }
}
