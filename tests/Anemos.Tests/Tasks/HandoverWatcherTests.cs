using Anemos.Core.Protocol;
using Anemos.Tasks;
using Anemos.Tasks.Deploy;

namespace Anemos.Tests.Tasks;

/// <summary>
/// The wait after the handover, with a scripted host and a clock of the test's own: it decides
/// only on positive evidence (a new boot id read successfully), whatever the host does meanwhile.
/// </summary>
public sealed class HandoverWatcherTests
{
    const string OldBootId = "0b6a0f6e-6f4c-4d0e-9a43-6f1b7f0c1a01";
    const string NewBootId = "7c1d2e3f-4a5b-4c6d-8e7f-901a2b3c4d5e";

    /// <summary>Time moves only when the watcher waits or the host takes time to answer.</summary>
    sealed class ScriptedClock : IWatchClock
    {
        public DateTimeOffset UtcNow { get; private set; } = new(2026, 1, 1, 10, 0, 0, TimeSpan.Zero);
        public void Wait(TimeSpan delay, CancellationToken cancellationToken) => UtcNow += delay;
        public void Spend(TimeSpan time) => UtcNow += time;
    }

    sealed class Session : IDisposable
    {
        public bool Disposed { get; private set; }
        public void Dispose() => Disposed = true;
    }

    /// <summary>
    /// A host that answers from two scripts, one for the old connection and one for logins; the
    /// last entry of each repeats. Every call is written to <see cref="Events"/>.
    /// </summary>
    sealed class ScriptedHost(ScriptedClock clock, OldSystemReading[] old, Func<LoginAttempt>[] logins) : IHandoverProbe
    {
        int _old, _login;
        public List<string> Events { get; } = [];

        public OldSystemReading ReadOldSystem(CancellationToken cancellationToken)
        {
            var reading = old[Math.Min(_old++, old.Length - 1)];
            // A stall costs the whole limit; an answer or an ended connection comes at once.
            if (reading.Connection == OldConnection.Stalled) clock.Spend(SshHandoverProbe.OldSystemLimit);
            Events.Add("old:" + reading.Connection);
            return reading;
        }

        public void ReleaseOldSystem() => Events.Add("release");

        public string BootLogTail(CancellationToken cancellationToken) => "anemos-kexec: loading";

        public string UnloadDeployKernel(IDisposable? oldSystemLogin, CancellationToken cancellationToken)
        {
            Events.Add(oldSystemLogin is null ? "unload:old-connection" : "unload:login");
            return "the deploy kernel was unloaded, so no later reboot starts it";
        }

        public LoginAttempt Login(CancellationToken cancellationToken)
        {
            var attempt = logins[Math.Min(_login++, logins.Length - 1)]();
            Events.Add("login:" + attempt.GetType().Name);
            return attempt;
        }
    }

    static OldSystemReading Answers(HelperResult? reply = null) => new(OldConnection.Answered, reply);
    static readonly OldSystemReading Stalls = new(OldConnection.Stalled), Ends = new(OldConnection.Ended);
    static Func<LoginAttempt> LogsIn(string? bootId, Session? session = null) => () => new LoginAttempt.LoggedIn(session ?? new Session(), bootId, bootId is null ? "no answer within 30 s" : "exit 0");
    static readonly Func<LoginAttempt> Down = () => new LoginAttempt.Unreachable("Connection refused");
    static readonly Func<LoginAttempt> OldKey = () => new LoginAttempt.OldHostKey();

    static (HandoverWatcher Watcher, ScriptedHost Host, ScriptedClock Clock) Watch(OldSystemReading[] old, params Func<LoginAttempt>[] logins)
    {
        var clock = new ScriptedClock();
        var host = new ScriptedHost(clock, old, logins);
        return (new HandoverWatcher(host, clock, "root@x"), host, clock);
    }

    [Fact]
    public void AStalledConnectionKeepsTheLockAndOnlyANewBootIdEndsTheWait()
    {
        // The old key answers every login until the old connection is seen to end.
        var (watcher, host, _) = Watch([Answers(), Stalls, Stalls, Answers(new HelperResult { Ok = true, Message = "handed over" }), Ends],
            [.. Enumerable.Repeat(OldKey, 16), Down, LogsIn(NewBootId)]);

        var verdict = watcher.Watch(OldBootId, 1800, CancellationToken.None);

        // The lock (the old connection) is released once, when ssh says the connection ended, not at a stall.
        // A stalled connection is looked at again only after StalledInterval (15 s: eight logins 2 s apart); the logins go on meanwhile.
        string[] logins = [.. Enumerable.Repeat("login:OldHostKey", 8)];
        Assert.Equal(["old:Answered", "old:Stalled", .. logins, "old:Stalled", .. logins, "old:Answered", "old:Ended", "release", "login:Unreachable", "login:LoggedIn"], host.Events);
        Assert.Contains("went away at 10:00:", verdict.Evidence);
        Assert.Contains("(its connection ended)", verdict.Evidence);
        Assert.Contains($"new boot id {NewBootId[..8]}… (was {OldBootId[..8]}…)", verdict.Evidence);
        Assert.Contains("no ssh server at", verdict.Evidence);
    }

    [Fact]
    public void ABootIdThatCouldNotBeReadIsNotTheNewSystem()
    {
        // Seen down, then a login whose boot id read timed out (and one that printed nothing): the
        // old system may still be there with its kexec pending. Nothing else comes: the deadline ends it.
        var unread = new Session();
        var (watcher, host, clock) = Watch([Ends], Down, LogsIn(null, unread), LogsIn(""), LogsIn("not a boot id"));

        var error = Assert.Throws<AnemosException>(() => watcher.Watch(OldBootId, 600, CancellationToken.None));

        Assert.Equal("ANEMOS4017", error.Diagnostic.Code);
        Assert.Contains("its boot id could not be read", error.Message);
        Assert.True(unread.Disposed, "a login that proved nothing is closed");
        Assert.DoesNotContain("release", host.Events.Skip(2));
        Assert.True(clock.UtcNow >= new DateTimeOffset(2026, 1, 1, 10, 10, 0, TimeSpan.Zero));
    }

    [Fact]
    public void TheOldBootAnsweringAgainIsNotTheNewSystemAndEndsInDidNotLeave()
    {
        var (watcher, _, clock) = Watch([Ends], LogsIn(OldBootId));

        var error = Assert.Throws<AnemosException>(() => watcher.Watch(OldBootId, 1800, CancellationToken.None));

        Assert.Equal("ANEMOS4016", error.Diagnostic.Code);
        Assert.Contains("the old system answers again (same boot)", error.Message);
        Assert.Contains("the deploy kernel was unloaded", error.Message);
        Assert.True(clock.UtcNow > new DateTimeOffset(2026, 1, 1, 10, 10, 0, TimeSpan.Zero));
    }

    [Fact]
    public void AnOldSystemThatKeepsAnsweringEndsInDidNotLeaveWithTheHelpersLog()
    {
        var (watcher, host, _) = Watch([Answers()], LogsIn(NewBootId));

        var error = Assert.Throws<AnemosException>(() => watcher.Watch(OldBootId, 1800, CancellationToken.None));

        Assert.Equal("ANEMOS4016", error.Diagnostic.Code);
        Assert.Contains("the helper's boot.log ends: anemos-kexec: loading", error.Message);
        Assert.Contains("unload:old-connection", host.Events);
        Assert.Contains("the deploy kernel was unloaded", error.Message);
        Assert.DoesNotContain(host.Events, e => e.StartsWith("login", StringComparison.Ordinal));
    }

    [Fact]
    public void ANewBootIdIsEvidenceEvenWhileTheOldConnectionIsSilent()
    {
        var (watcher, host, _) = Watch([Stalls], Down, LogsIn(NewBootId));

        var verdict = watcher.Watch(OldBootId, 1800, CancellationToken.None);

        // The login after the stall finds the new system without another look at the silent connection (each look costs its whole limit).
        Assert.Equal(["old:Stalled", "login:Unreachable", "login:LoggedIn", "release"], host.Events);
        Assert.StartsWith("fell silent at 10:00:05", verdict.Evidence);
    }

    [Fact]
    public void ASilentConnectionUntilTheDeadlineDidNotReturn()
    {
        var (watcher, host, _) = Watch([Stalls], Down);

        var error = Assert.Throws<AnemosException>(() => watcher.Watch(OldBootId, 120, CancellationToken.None));

        Assert.Equal("ANEMOS4017", error.Diagnostic.Code);
        Assert.DoesNotContain("release", host.Events);
    }

    [Fact]
    public void ARefusalTheDetachedBootWroteStopsTheWait()
    {
        var (watcher, _, _) = Watch([Answers(new HelperResult { Ok = false, Code = "ANEMOS5014", Message = "Loading failed." })], LogsIn(NewBootId));

        var error = Assert.Throws<AnemosException>(() => watcher.Watch(OldBootId, 1800, CancellationToken.None));

        Assert.Equal("ANEMOS4015", error.Diagnostic.Code);
        Assert.Contains("ANEMOS5014: Loading failed.", error.Message);
    }

    [Fact]
    public void AnUnknownHostKeyOrAServerThatKeepsRefusingIsALoginError()
    {
        var (stranger, _, _) = Watch([Ends], () => new LoginAttempt.OtherHostKey("SHA256:other", "Host key verification failed"));
        Assert.Equal("ANEMOS4018", Assert.Throws<AnemosException>(() => stranger.Watch(OldBootId, 1800, CancellationToken.None)).Diagnostic.Code);

        var (refusing, host, _) = Watch([Ends], () => new LoginAttempt.Refused("Permission denied (publickey)"));
        var error = Assert.Throws<AnemosException>(() => refusing.Watch(OldBootId, 1800, CancellationToken.None));
        Assert.Equal("ANEMOS4018", error.Diagnostic.Code);
        Assert.Equal(HandoverWatcher.LoginFailureLimit, host.Events.Count(e => e == "login:Refused"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not a boot id")]
    public void AWaitNeedsTheOldBootIdToCompareWith(string oldBootId)
    {
        var (watcher, host, _) = Watch([Ends], LogsIn(NewBootId));
        Assert.Throws<ArgumentException>(() => watcher.Watch(oldBootId, 1800, CancellationToken.None));
        Assert.Empty(host.Events);
    }

    [Fact]
    public void TheDeployEnvironmentIsNotTheNewSystemAndItsOldKeyIsNoSignOfTheOldSystem()
    {
        // The deploy environment answers with the host's own key while it installs, for longer than the old system
        // may take to leave: a login there (same pin, a new boot id) is not the new system, and once it was seen the old
        // key answering is no ANEMOS4016. The live log runs once, after the old connection ended.
        var deployEnvironment = new Session();
        var clock = new ScriptedClock();
        var host = new ScriptedHost(clock, [Ends],
            [() => new LoginAttempt.LoggedIn(deployEnvironment, NewBootId, "exit 0", InDeployEnvironment: true), OldKey, OldKey, LogsIn("3f2e1d0c-1111-4c6d-8e7f-901a2b3c4d5e")]);
        int follows = 0;
        var watcher = new HandoverWatcher(host, clock, "root@x")
        {
            FollowDeployLog = (deadline, _) =>
            {
                follows++;
                host.Events.Add("follow");
                clock.Spend(TimeSpan.FromMinutes(15));
                return true;
            },
        };

        var verdict = watcher.Watch(OldBootId, 3600, CancellationToken.None);

        Assert.Equal(1, follows);
        Assert.Equal(["old:Ended", "release", "follow", "login:LoggedIn", "login:OldHostKey", "login:OldHostKey", "login:LoggedIn"], host.Events);
        Assert.True(deployEnvironment.Disposed, "the login to the deploy environment is closed");
        Assert.Contains("new boot id 3f2e1d0c", verdict.Evidence);
    }

    [Fact]
    public void AFailedInstallReportedByTheLiveLogEndsTheWait()
    {
        var (_, host, clock) = Watch([Ends], Down);
        var watcher = new HandoverWatcher(host, clock, "root@x")
        {
            FollowDeployLog = (_, _) => throw new AnemosException(Diagnostics.InstallFailed, "root@x", "run", "", ""),
        };

        var error = Assert.Throws<AnemosException>(() => watcher.Watch(OldBootId, 1800, CancellationToken.None));

        Assert.Equal("ANEMOS4024", error.Diagnostic.Code);
        Assert.DoesNotContain(host.Events, e => e.StartsWith("login:", StringComparison.Ordinal));
    }
}
