using System.Globalization;
using System.Text;
using Anemos.Core.Initramfs;
using Anemos.Tasks.Ssh;

namespace Anemos.Tasks.Deploy;

/// <summary>How following the deploy environment's log ended.</summary>
public abstract record LiveLogOutcome
{
    /// <summary>The deploy init's result line arrived: ok or fail, the step, and the log's last lines up to it.</summary>
    public sealed record Finished(bool Ok, string Step, IReadOnlyList<string> Tail) : LiveLogOutcome;
    /// <summary>No deploy environment could be followed (no ssh, no answer in time, a refused login): the wait goes on without it.</summary>
    public sealed record Unavailable(string Why) : LiveLogOutcome;
    /// <summary>Another system answers at the address (the new one, or the old one again): the wait decides what it is.</summary>
    public sealed record OtherSystem(string Why) : LiveLogOutcome;
}

/// <summary>
/// Follows the deploy environment's log over ssh (docs/deploy.md, "The live log"): the same address,
/// port and pin as the deploy (the deploy environment answers with the host's own keys), as root with
/// the overlay's authorized keys. Each complete line is written once, in order; after a cut the next
/// connection resumes at the first line not seen (`tail -n +N`), so nothing is printed twice. It never
/// holds the deploy: without an answer within <see cref="AnswerLimit"/> (after the old system left, or
/// after a cut) it gives up, and the wait for the new system goes on as without it.
/// </summary>
public sealed class DeployLogStream(SshTarget target, string oldBootId, Action<string> write, IWatchClock clock, string logPath = DeployInitContract.Log)
{
    /// <summary>
    /// How long the deploy environment may take to answer ssh: its kernel, drivers and network come first.
    /// 120 s was too short for a kexec'd kernel under emulation on a busy machine (y's UEFI reinstall: its
    /// sshd answered after 130 s); a new system that answers first ends the wait anyway.
    /// </summary>
    public static readonly TimeSpan AnswerLimit = TimeSpan.FromSeconds(300);
    /// <summary>Between two connection attempts.</summary>
    public static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(2);
    /// <summary>How many of the log's last lines a failure carries.</summary>
    public const int TailLines = 30;
    /// <summary>Logins a deploy environment may refuse before the stream gives up (the operator's key is not among AuthorizedKeys).</summary>
    public const int RefusalLimit = 3;

    const string Following = "ANEMOS-LIVE following", Other = "ANEMOS-LIVE other-system", Old = "ANEMOS-LIVE old-system";

    readonly Queue<string> _tail = new();

    /// <summary>Log lines written so far: the next connection starts at line <see cref="LinesSeen"/> + 1.</summary>
    public int LinesSeen { get; private set; }
    /// <summary>Connections that delivered the log (more than one: the stream resumed after a cut).</summary>
    public int Connections { get; private set; }

    /// <summary>
    /// The command the deploy environment runs: proves it is one (its log, a new boot), marks that it is followed
    /// (<see cref="DeployInitContract.LogFollowed"/>), then follows from line <paramref name="from"/> and marks when it sent the result line.
    /// </summary>
    public static string Command(string oldBootId, int from, string logPath = DeployInitContract.Log) => string.Create(CultureInfo.InvariantCulture, $"""
        log={ShellQuoting.Quote(logPath)}
        if [ "$(cat /proc/sys/kernel/random/boot_id)" = {ShellQuoting.Quote(oldBootId)} ]; then echo '{Old}'; exit 0; fi
        if [ ! -e "$log" ]; then echo '{Other}'; exit 0; fi
        echo '{Following}'
        : >"$log{DeployInitContract.LogFollowed[DeployInitContract.Log.Length..]}"
        tail -n +{from} -f "$log" | while IFS= read -r line; do
            printf '%s\n' "$line"
            case "$line" in '{DeployInitContract.ResultPrefix}'*) : >"$log{DeployInitContract.LogDelivered[DeployInitContract.Log.Length..]}" ;; esac
        done
        """);

    public LiveLogOutcome Follow(DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        var answerBy = clock.UtcNow + AnswerLimit;
        string lastProblem = "no answer yet";
        int refusals = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (clock.UtcNow > deadline) return new LiveLogOutcome.Unavailable("AnemosDeployTimeout ran out");
            if (clock.UtcNow > answerBy)
                return new LiveLogOutcome.Unavailable(string.Create(CultureInfo.InvariantCulture, $"its ssh did not answer within {AnswerLimit.TotalSeconds:0} s ({lastProblem})"));
            SshSession? session = null;
            try
            {
                session = SshSession.Open(target, cancellationToken);
            }
            catch (SshConnectException e) when (e.Diagnostic == Diagnostics.HostKeyMismatch)
            {
                return new LiveLogOutcome.OtherSystem($"it answers with another host key ({e.Reason})");
            }
            catch (SshConnectException e)
            {
                if (!e.Unreachable && ++refusals >= RefusalLimit)
                    return new LiveLogOutcome.Unavailable($"its ssh refused the login as {target.User} ({e.Reason}); the deploy environment takes the host's AuthorizedKeys and the keys that could log in to the old system as the deploy's user (unless AnemosCarryLoginKeys is false)");
                lastProblem = e.Reason;
            }
            if (session is not null)
            {
                using (session)
                {
                    int before = LinesSeen;
                    var outcome = Read(session, deadline, cancellationToken);
                    if (outcome is not null) return outcome;
                    // A cut: the deploy environment gets the limit again to answer, and the next connection resumes.
                    if (LinesSeen > before) answerBy = clock.UtcNow + AnswerLimit;
                    lastProblem = $"the connection ended after line {LinesSeen}";
                }
            }
            clock.Wait(RetryInterval, cancellationToken);
        }
    }

    /// <summary>One connection's worth of the log; null when it ended before the result line.</summary>
    LiveLogOutcome? Read(SshSession session, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var remaining = deadline - clock.UtcNow;
        limit.CancelAfter(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero);
        using var process = session.StartReading(Command(oldBootId, LinesSeen + 1, logPath));
        _ = process.StandardError.ReadToEndAsync(CancellationToken.None);
        // Ending ssh ends the read whatever the pipe's own cancellation does: the deadline and a cancelled build always win.
        using var stop = limit.Token.Register(() => Anemos.Core.ChildProcess.Kill(process));
        var output = process.StandardOutput.BaseStream;
        var pending = new List<byte>();
        byte[] buffer = new byte[8192];
        bool confirmed = false;
        try
        {
            while (true)
            {
                int read;
                try { read = output.ReadAsync(buffer, limit.Token).AsTask().GetAwaiter().GetResult(); }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested) { return new LiveLogOutcome.Unavailable("AnemosDeployTimeout ran out"); }
                cancellationToken.ThrowIfCancellationRequested();
                if (limit.IsCancellationRequested) return new LiveLogOutcome.Unavailable("AnemosDeployTimeout ran out");
                // The end of the output: only complete lines counted; a partial one comes again after the resume.
                if (read == 0) return null;
                for (int i = 0; i < read; i++)
                {
                    if (buffer[i] != (byte)'\n') { pending.Add(buffer[i]); continue; }
                    string line = Encoding.UTF8.GetString(pending.ToArray()).TrimEnd('\r');
                    pending.Clear();
                    if (!confirmed)
                    {
                        if (line == Other) return new LiveLogOutcome.OtherSystem("it has no deploy log (not the deploy environment)");
                        // The old system, still shutting down: the deploy environment comes after it.
                        if (line == Old) return null;
                        confirmed = line == Following;
                        if (confirmed) Connections++;
                        continue;
                    }
                    LinesSeen++;
                    write(line);
                    _tail.Enqueue(line);
                    if (_tail.Count > TailLines) _tail.Dequeue();
                    if (line.StartsWith(DeployInitContract.ResultPrefix, StringComparison.Ordinal)) return Finished(line);
                }
            }
        }
        finally
        {
            Anemos.Core.ChildProcess.Kill(process);
        }
    }

    LiveLogOutcome.Finished Finished(string resultLine)
    {
        // ANEMOS-RESULT ok|fail host=… payload=… step=STEP
        var words = resultLine.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string step = words.FirstOrDefault(w => w.StartsWith("step=", StringComparison.Ordinal))?["step=".Length..] ?? "unknown";
        return new LiveLogOutcome.Finished(words.ElementAtOrDefault(1) == "ok", step, _tail.ToArray());
    }
}
