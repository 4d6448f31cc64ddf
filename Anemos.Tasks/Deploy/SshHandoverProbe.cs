using Anemos.Core.Protocol;
using Anemos.Tasks.Ssh;

namespace Anemos.Tasks.Deploy;

/// <summary>
/// The handover watcher's view of a real host: the old connection through the helper's boot
/// reply, and new logins as the deploy makes them (through the user's ssh config, with the
/// deployed pin: no side door to the address).
/// </summary>
public sealed class SshHandoverProbe(HelperClient helper, SshTarget newTarget, string? oldPin, Action releaseOldSystem) : IHandoverProbe
{
    /// <summary>How long a look at the old connection may take before it counts as a stall.</summary>
    public static readonly TimeSpan OldSystemLimit = TimeSpan.FromSeconds(5);
    /// <summary>How long the new system may take to print its boot id.</summary>
    public static readonly TimeSpan BootIdLimit = TimeSpan.FromSeconds(30);
    public const string BootIdCommand = "cat /proc/sys/kernel/random/boot_id";
    /// <summary>A login's question: the boot id, and whether this is the deploy environment (it has the deploy log).</summary>
    public static readonly string LoginCommand = $"{BootIdCommand}; if [ -e {Anemos.Core.Initramfs.DeployInitContract.Log} ]; then echo {DeployEnvironmentWord}; fi";
    const string DeployEnvironmentWord = "deploy-environment";

    bool _released;

    /// <summary>
    /// The old system's boot id. With it, an answer from another boot does not count as the old
    /// connection: once the old master is gone, ssh falls back to a new connection, which may reach
    /// the new system.
    /// </summary>
    public string? OldBootId { get; init; }

    public OldSystemReading ReadOldSystem(CancellationToken cancellationToken)
    {
        var (bootId, reply, raw) = helper.ReadBootResult(OldSystemLimit, cancellationToken);
        if (raw.ExitCode == 255) return new OldSystemReading(raw.TimedOut ? OldConnection.Stalled : OldConnection.Ended);
        if (OldBootId is not null && bootId != OldBootId) return new OldSystemReading(OldConnection.Ended);
        return new OldSystemReading(OldConnection.Answered, reply);
    }

    public void ReleaseOldSystem()
    {
        if (_released) return;
        _released = true;
        releaseOldSystem();
    }

    public string BootLogTail(CancellationToken cancellationToken) =>
        _released ? "" : helper.BootLogTail(TimeSpan.FromSeconds(10), cancellationToken);

    public string UnloadDeployKernel(IDisposable? oldSystemLogin, CancellationToken cancellationToken)
    {
        var client = oldSystemLogin is SshSession login ? helper.Over(login) : _released ? null : helper;
        if (client is null) return HandoverWatcher.UnloadUnknown;
        // Not cancellable: a deploy stopped at this point must still leave no installer loaded.
        var (reply, raw) = client.TryRun(new UnloadCommand(), timeout: TimeSpan.FromSeconds(30), cancellationToken: CancellationToken.None);
        return reply is { Ok: true }
            ? "the deploy kernel was unloaded, so no later reboot starts it"
            : $"unloading the deploy kernel failed ({reply?.Message ?? SshSession.LastLine(raw.Errors + "\n" + raw.Output)}): run anemos-kexec unload on the host before anything reboots it";
    }

    public LoginAttempt Login(CancellationToken cancellationToken)
    {
        SshSession? candidate = null;
        try
        {
            candidate = SshSession.Open(newTarget, cancellationToken);
            var read = candidate.Run(LoginCommand, BootIdLimit, cancellationToken);
            string[] lines = read.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            string? bootId = read.ExitCode == 0 ? lines.FirstOrDefault() : null;
            var attempt = new LoginAttempt.LoggedIn(candidate, bootId,
                read.TimedOut ? $"no answer within {BootIdLimit.TotalSeconds:0} s" : $"exit {read.ExitCode}: {SshSession.LastLine(read.Errors + "\n" + read.Output)}",
                InDeployEnvironment: read.ExitCode == 0 && lines.Contains(DeployEnvironmentWord));
            candidate = null;
            return attempt;
        }
        catch (SshConnectException e) when (e.Diagnostic == Diagnostics.HostKeyMismatch)
        {
            // The old system's key (a first install pins the stock image's): it is still shutting down.
            bool oldSystem = oldPin is not null && e.OfferedKeys.Any(f => HostKeyFingerprint.Matches(oldPin, f));
            return oldSystem ? new LoginAttempt.OldHostKey() : new LoginAttempt.OtherHostKey(e.Reason, e.Message);
        }
        catch (SshConnectException e)
        {
            return e.Unreachable ? new LoginAttempt.Unreachable(e.Reason) : new LoginAttempt.Refused(e.Message);
        }
        finally
        {
            candidate?.Dispose();
        }
    }
}
