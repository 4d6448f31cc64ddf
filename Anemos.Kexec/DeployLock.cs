namespace Anemos.Kexec;

/// <summary>
/// The lock a whole deploy holds on the host (state/deploy.lock), apart from the state lock that
/// one stage or boot takes: two operators deploying the same host at once are refused, and the
/// refusal names who holds it.
/// </summary>
public sealed class DeployLock : IDisposable
{
    readonly FileStream _file;
    readonly string _ownerPath;

    DeployLock(FileStream file, string ownerPath)
    {
        _file = file;
        _ownerPath = ownerPath;
    }

    public static DeployLock Acquire(string stateDirectory, string owner)
    {
        string path = Path.Combine(stateDirectory, "deploy.lock");
        string ownerPath = path + ".owner";
        try
        {
            var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            File.WriteAllText(ownerPath, $"{owner} (pid {Environment.ProcessId}, since {DateTimeOffset.UtcNow:u})\n");
            return new DeployLock(file, ownerPath);
        }
        catch (IOException)
        {
            string holder = "another deploy";
            try { holder = File.ReadAllText(ownerPath).Trim(); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw new HelperException(HelperCodes.DeployLockHeld, $"This host is being deployed by {holder}. Wait for that deploy to end; the lock goes with its connection.");
        }
    }

    public void Dispose()
    {
        try { File.Delete(_ownerPath); } catch (IOException) { }
        _file.Dispose();
    }
}
