using Anemos.Core;
using Anemos.Core.Protocol;

namespace Anemos.Kexec;

/// <summary>
/// The lock a whole deploy holds on the host (state/deploy.lock), apart from the state lock that
/// one stage or boot takes: two operators deploying the same host at once are refused, and the
/// refusal names who holds it.
/// </summary>
public static class DeployLock
{
    public static OwnedFileLock Acquire(string stateDirectory, string owner) =>
        OwnedFileLock.TryAcquire(Path.Combine(stateDirectory, "deploy.lock"), $"{owner} (pid {Environment.ProcessId}, since {DateTimeOffset.UtcNow:u})", out string holder)
        ?? throw new HelperException(HelperCodes.DeployLockHeld, $"This host is being deployed by {holder}. Wait for that deploy to end; the lock goes with its connection.");
}
