namespace Anemos.Core;

/// <summary>
/// An exclusive lock on a file that says who holds it. .NET takes an flock for FileShare.None, so
/// the lock goes with the process however it ends; the holder's description goes to a file of its
/// own (PATH.owner), because a locked file cannot be read by the one who is refused.
/// </summary>
public sealed class OwnedFileLock : IDisposable
{
    readonly FileStream _file;
    readonly string _ownerPath;

    OwnedFileLock(FileStream file, string ownerPath)
    {
        _file = file;
        _ownerPath = ownerPath;
    }

    /// <summary>The lock, or null with <paramref name="holder"/> naming who has it ("unknown" when it does not say).</summary>
    public static OwnedFileLock? TryAcquire(string path, string owner, out string holder, string? ownerPath = null)
    {
        ownerPath ??= path + ".owner";
        try
        {
            var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            File.WriteAllText(ownerPath, owner + "\n");
            holder = owner;
            return new OwnedFileLock(file, ownerPath);
        }
        catch (IOException)
        {
            holder = "unknown";
            try { holder = File.ReadAllText(ownerPath).Trim(); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            return null;
        }
    }

    public void Dispose()
    {
        AtomicFile.TryDelete(_ownerPath);
        _file.Dispose();
    }
}
