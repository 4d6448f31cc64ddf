using Anemos.Core;

namespace Anemos.Tasks.Deploy;

/// <summary>
/// The operator side's lock per host (address and port, or the address alone when the ssh config decides the port): two deploys of one host from this
/// machine, from any project or clone, never overlap.
/// </summary>
public static class OperatorLock
{
    public static OwnedFileLock Acquire(string lockDirectory, string address, int? port, string owner)
    {
        Directory.CreateDirectory(lockDirectory);
        string key = string.Concat($"{address}_{port?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "config"}".Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_'));
        string path = Path.Combine(lockDirectory, key + ".lock");
        return OwnedFileLock.TryAcquire(path, $"{owner} (pid {Environment.ProcessId}, since {DateTimeOffset.UtcNow:u})", out string holder)
            ?? throw new AnemosException(Diagnostics.OperatorLockHeld, port is null ? address : $"{address}:{port}", holder, path);
    }
}
