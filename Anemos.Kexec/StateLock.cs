using Anemos.Core;
using Anemos.Core.Protocol;

namespace Anemos.Kexec;

/// <summary>The state folder's lock, so two stages (or a stage and a boot) never run at once; lock.pid names the holder.</summary>
public static class StateLock
{
    public static OwnedFileLock Acquire(string stateDirectory)
    {
        string path = Path.Combine(stateDirectory, "lock");
        return OwnedFileLock.TryAcquire(path, Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), out string holder, path + ".pid")
            ?? throw new HelperException(HelperCodes.LockHeld, $"{stateDirectory} is locked by process {holder}: another anemos-kexec is staging or booting. Wait for it to finish, then run this again.");
    }
}
