using Anemos.Core.Protocol;

namespace Anemos.Tasks.Deploy;

/// <summary>The time the handover watcher reads and waits on: the system's, or a test's.</summary>
public interface IWatchClock
{
    DateTimeOffset UtcNow { get; }
    void Wait(TimeSpan delay, CancellationToken cancellationToken);
}

/// <summary>The wall clock; a wait ends early when the deploy is cancelled.</summary>
public sealed class SystemWatchClock : IWatchClock
{
    public static SystemWatchClock Instance { get; } = new();
    public DateTimeOffset UtcNow => DateTimeOffset.UtcNow;
    public void Wait(TimeSpan delay, CancellationToken cancellationToken) => cancellationToken.WaitHandle.WaitOne(delay);
}

/// <summary>How the old connection answered a look at the detached boot's reply.</summary>
public enum OldConnection
{
    /// <summary>The old system answered (with the boot's reply once it wrote one).</summary>
    Answered,
    /// <summary>No answer within the limit: no evidence either way; the connection may come back.</summary>
    Stalled,
    /// <summary>ssh said the connection is gone (closed, reset, refused).</summary>
    Ended,
}

/// <summary>A look at the old system over its connection.</summary>
public sealed record OldSystemReading(OldConnection Connection, HelperResult? BootReply = null);

/// <summary>What a login as the deploy makes it, with the deployed pin, found.</summary>
public abstract record LoginAttempt
{
    /// <summary>
    /// Logged in; <paramref name="BootId"/> is null when reading it failed or timed out. <paramref name="InDeployEnvironment"/>:
    /// the login reached the deploy environment (its ssh answers with the host's own keys while it installs), not the new system.
    /// </summary>
    public sealed record LoggedIn(IDisposable Session, string? BootId, string Detail, bool InDeployEnvironment = false) : LoginAttempt;
    /// <summary>The old system's host key answered (it is still shutting down).</summary>
    public sealed record OldHostKey : LoginAttempt;
    /// <summary>A host key that is neither pinned nor the old system's.</summary>
    public sealed record OtherHostKey(string Offered, string Message) : LoginAttempt;
    /// <summary>No ssh server answered.</summary>
    public sealed record Unreachable(string Message) : LoginAttempt;
    /// <summary>An ssh server answered but the login failed.</summary>
    public sealed record Refused(string Message) : LoginAttempt;
}

/// <summary>What the watcher needs from the host: the old connection, and new logins.</summary>
public interface IHandoverProbe
{
    /// <summary>Reads the detached boot's reply over the old connection, within a short limit.</summary>
    OldSystemReading ReadOldSystem(CancellationToken cancellationToken);
    /// <summary>Ends the host lock's hold and the old connection: they died with the old system.</summary>
    void ReleaseOldSystem();
    /// <summary>The end of the helper's boot.log over the old connection, or "".</summary>
    string BootLogTail(CancellationToken cancellationToken);
    /// <summary>
    /// Unloads the deploy kernel over a login to the old system (the old connection when
    /// <paramref name="oldSystemLogin"/> is null), so no later reboot starts the installer; says what happened.
    /// </summary>
    string UnloadDeployKernel(IDisposable? oldSystemLogin, CancellationToken cancellationToken);
    /// <summary>Logs in as the deploy does, with the deployed pin, and reads the boot id there.</summary>
    LoginAttempt Login(CancellationToken cancellationToken);
}

/// <summary>The new system, and the evidence the verdict rests on.</summary>
public sealed record HandoverVerdict(IDisposable NewSystem, string Evidence);

/// <summary>
/// Watches a handover (docs/deploy.md, wait): the old connection ends, then a login with the
/// deployed pin reads a boot id other than the old system's. Only that, a new boot id read
/// successfully, counts as the new system: a stalled connection is not one that ended (the host
/// lock is kept), and a login whose boot id could not be read proves nothing. A refusal the
/// detached boot wrote stops the deploy (ANEMOS4015); so does an old system still there after
/// <see cref="LeaveLimit"/> (ANEMOS4016) or a host not back by the deadline (ANEMOS4017).
/// </summary>
public sealed class HandoverWatcher(IHandoverProbe probe, IWatchClock clock, string display)
{
    /// <summary>
    /// Follows the deploy environment's live log once the old system has left (or a login found the deploy
    /// environment), until the deadline given; true when the deploy environment answered. It throws when the
    /// install failed. Null: no live log (the wait as before).
    /// </summary>
    public Func<DateTimeOffset, CancellationToken, bool>? FollowDeployLog { get; init; }

    /// <summary>How long the old system may take to leave after the handover.</summary>
    public static readonly TimeSpan LeaveLimit = TimeSpan.FromMinutes(10);
    /// <summary>Between two looks at the old connection, and between two logins.</summary>
    public static readonly TimeSpan OldSystemInterval = TimeSpan.FromSeconds(1), LoginInterval = TimeSpan.FromSeconds(2);
    /// <summary>
    /// Between two looks at an old connection that stalled: each costs the probe's whole limit, and
    /// between them the logins every <see cref="LoginInterval"/> find the new system (a host that
    /// kexecs leaves its old connection silent, not closed, until something answers for the address).
    /// </summary>
    public static readonly TimeSpan StalledInterval = TimeSpan.FromSeconds(15);
    /// <summary>Logins an answering ssh server may refuse (sshd just started) before it is an error.</summary>
    public const int LoginFailureLimit = 5;

    public HandoverVerdict Watch(string oldBootId, int timeoutSeconds, CancellationToken cancellationToken)
    {
        if (!IsBootId(oldBootId)) throw new ArgumentException($"'{oldBootId}' is not a boot id.", nameof(oldBootId));
        var handedOver = clock.UtcNow;
        var deadline = handedOver.AddSeconds(timeoutSeconds);
        var leaveBy = handedOver + LeaveLimit < deadline ? handedOver + LeaveLimit : deadline;
        bool connectionOpen = true;
        string lastSeen = "answering ssh";
        string? left = null, stalled = null, seenDown = null;
        DateTimeOffset lookAgainAt = handedOver;
        int loginFailures = 0;
        bool followed = false, deployEnvironmentSeen = false;
        void Follow()
        {
            if (FollowDeployLog is null || followed) return;
            followed = true;
            if (FollowDeployLog(deadline, cancellationToken))
            {
                deployEnvironmentSeen = true;
                lastSeen = $"{clock.UtcNow:HH:mm:ss} the deploy environment reported its result";
            }
        }
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (connectionOpen && clock.UtcNow >= lookAgainAt)
            {
                var reading = probe.ReadOldSystem(cancellationToken);
                if (reading.Connection == OldConnection.Answered)
                {
                    if (reading.BootReply is { } reply)
                    {
                        if (!reply.Ok)
                            throw new AnemosException(Diagnostics.HelperRefused, display, "boot", reply.Code ?? "unknown", reply.Message ?? "unknown");
                        lastSeen = "the helper handed over; the old system is shutting down";
                    }
                    stalled = null;
                    if (clock.UtcNow > leaveBy)
                        throw DidNotLeave(handedOver, lastSeen, probe.BootLogTail(cancellationToken), probe.UnloadDeployKernel(null, cancellationToken));
                    clock.Wait(OldSystemInterval, cancellationToken);
                    continue;
                }
                if (reading.Connection == OldConnection.Stalled)
                {
                    // Silence is no evidence that it left: the connection (and the host lock) is kept
                    // and asked again; meanwhile a login may find the new system.
                    stalled ??= $"at {clock.UtcNow:HH:mm:ss}";
                    lookAgainAt = clock.UtcNow + StalledInterval;
                    lastSeen = $"{clock.UtcNow:HH:mm:ss} the old connection does not answer (since {stalled[3..]})";
                }
                else
                {
                    connectionOpen = false;
                    left = $"at {clock.UtcNow:HH:mm:ss}";
                    probe.ReleaseOldSystem();
                    Follow();
                }
            }

            switch (probe.Login(cancellationToken))
            {
                case LoginAttempt.LoggedIn { InDeployEnvironment: true } login:
                    // The deploy environment answers with the host's own keys while it installs: not the new system.
                    login.Session.Dispose();
                    deployEnvironmentSeen = true;
                    lastSeen = $"{clock.UtcNow:HH:mm:ss} the deploy environment answers (installing)";
                    if (connectionOpen) { connectionOpen = false; left ??= $"at {clock.UtcNow:HH:mm:ss}"; probe.ReleaseOldSystem(); }
                    Follow();
                    break;
                case LoginAttempt.LoggedIn { BootId: { } bootId } login when IsBootId(bootId) && bootId != oldBootId:
                    if (connectionOpen) probe.ReleaseOldSystem();
                    string leaving = left is not null ? $"went away {left} (its connection ended)" : $"fell silent {stalled}";
                    return new HandoverVerdict(login.Session,
                        $"{leaving}{(seenDown is null ? "" : $", no ssh server {seenDown}")}; back with a new boot id {bootId[..8]}… (was {oldBootId[..8]}…), read over a login with the deployed host key");
                case LoginAttempt.LoggedIn login:
                    using (login.Session)
                    {
                        if (login.BootId != oldBootId)
                        {
                            lastSeen = $"{clock.UtcNow:HH:mm:ss} a login succeeded, but its boot id could not be read ({login.Detail})";
                            break;
                        }
                        lastSeen = $"{clock.UtcNow:HH:mm:ss} the old system answers again (same boot)";
                        // Over this login to the old system, the deploy kernel is unloaded before giving up.
                        if (clock.UtcNow > leaveBy) throw DidNotLeave(handedOver, lastSeen, "", probe.UnloadDeployKernel(login.Session, cancellationToken));
                    }
                    break;
                case LoginAttempt.OldHostKey when deployEnvironmentSeen:
                    // The deploy environment carries the old system's keys: that key answering is no sign of the old system.
                    lastSeen = $"{clock.UtcNow:HH:mm:ss} the deploy environment answers with the host's own key";
                    break;
                case LoginAttempt.OldHostKey:
                    lastSeen = $"{clock.UtcNow:HH:mm:ss} the old system's host key still answers";
                    if (clock.UtcNow > leaveBy) throw DidNotLeave(handedOver, lastSeen, "", UnloadUnknown);
                    break;
                case LoginAttempt.OtherHostKey other:
                    throw new AnemosException(Diagnostics.VerifyLoginFailed, display, other.Offered, other.Message);
                case LoginAttempt.Unreachable down:
                    seenDown ??= $"at {clock.UtcNow:HH:mm:ss}";
                    lastSeen = $"{clock.UtcNow:HH:mm:ss} no ssh server answered ({down.Message})";
                    break;
                case LoginAttempt.Refused refused:
                    // Just started: sshd may answer before it takes logins. A few tries, then a clear error.
                    lastSeen = $"{clock.UtcNow:HH:mm:ss} answers, but logging in failed: {refused.Message}";
                    if (++loginFailures >= LoginFailureLimit) throw new AnemosException(Diagnostics.VerifyLoginFailed, display, "an ssh server that answered", refused.Message);
                    break;
            }
            if (clock.UtcNow > deadline) throw DidNotReturn(left ?? (stalled is null ? null : $"(silent {stalled})"), timeoutSeconds, lastSeen);
            clock.Wait(LoginInterval, cancellationToken);
        }
    }

    /// <summary>A boot id as the kernel prints it (/proc/sys/kernel/random/boot_id): a UUID.</summary>
    public static bool IsBootId(string? text) => Guid.TryParseExact(text, "D", out _);

    /// <summary>What ANEMOS4016 says when no login to the old system could unload the deploy kernel.</summary>
    public const string UnloadUnknown = "the old system answers only new logins, so whether the deploy kernel is still loaded is unknown: run anemos-kexec unload on the host before anything reboots it";

    AnemosException DidNotLeave(DateTimeOffset handedOver, string lastSeen, string bootLog, string kernel) =>
        new(Diagnostics.HostDidNotLeave, display, (int)(clock.UtcNow - handedOver).TotalSeconds,
            bootLog.Length > 0 ? lastSeen + "; the helper's boot.log ends: " + bootLog : lastSeen, kernel);

    AnemosException DidNotReturn(string? left, int timeoutSeconds, string lastSeen) =>
        new(Diagnostics.HostDidNotReturn, display, left ?? "", timeoutSeconds, lastSeen);
}
