using System.Text.Json;
using Anemos.Core.Protocol;
using Anemos.Tasks.Ssh;

namespace Anemos.Tasks.Deploy;

/// <summary>
/// The host helper over one ssh session, typed: commands from <see cref="HelperCommandLine"/>,
/// replies read as <see cref="HelperResult"/> (docs/helper.md). The only place the deploy speaks
/// the helper's protocol.
/// </summary>
public sealed class HelperClient(SshSession session, string display, string stateDirectory, string? runDirectory = null)
{
    /// <summary>Where the helper is installed on the host, under its state folder.</summary>
    public string InstalledPath { get; } = HelperStateLayout.On(stateDirectory, HelperStateLayout.Helper);

    public string StateDirectory => stateDirectory;

    /// <summary>The same helper over another session to the same host (a new login).</summary>
    public HelperClient Over(SshSession other) => new(other, display, stateDirectory, runDirectory);

    /// <summary>A helper command as one shell command line, every word quoted.</summary>
    public string CommandText(HelperCommand command, bool json = true, string? helperPath = null) =>
        string.Join(' ', new[] { helperPath ?? InstalledPath }
            .Concat(new HelperCommandLine(command) { StateDirectory = stateDirectory, Json = json, RunDirectory = runDirectory }.ToArguments())
            .Select(ShellQuoting.Quote));

    /// <summary>
    /// Runs a command with --json: its reply, or null when it printed none (missing helper, crash), with the raw result.
    /// <paramref name="thenOnSuccess"/>, a shell command, runs after it in the same round trip when the helper exits 0.
    /// </summary>
    public (HelperResult? Reply, RemoteResult Raw) TryRun(HelperCommand command, string? helperPath = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default,
        Stream? input = null, string? thenOnSuccess = null)
    {
        string text = CommandText(command, helperPath: helperPath) + (thenOnSuccess is null ? "" : " && " + thenOnSuccess);
        var raw = timeout is { } limit ? session.Run(text, limit, cancellationToken) : session.Run(text, input, cancellationToken: cancellationToken);
        return (ParseReply(raw.Output), raw);
    }

    /// <summary>Runs a command; its refusal becomes ANEMOS4015 with the helper's own code and words.</summary>
    public HelperResult Run(HelperCommand command, CancellationToken cancellationToken, Stream? input = null, string? thenOnSuccess = null)
    {
        var (reply, raw) = TryRun(command, cancellationToken: cancellationToken, input: input, thenOnSuccess: thenOnSuccess);
        if (reply is null)
            throw new AnemosException(Diagnostics.HelperRefused, display, command.Name, $"exit {raw.ExitCode}", SshSession.LastLine(raw.Errors) + ".");
        ThrowIfRefused(reply, command.Name);
        return reply;
    }

    /// <summary>ANEMOS4015 for a reply that refuses.</summary>
    public void ThrowIfRefused(HelperResult reply, string commandName)
    {
        if (!reply.Ok)
            throw new AnemosException(Diagnostics.HelperRefused, display, commandName, reply.Code ?? "unknown", reply.Message ?? "unknown");
    }

    /// <summary>
    /// The installed helper's facts (null when they cannot be read) and its version (null when no
    /// helper answered): one call, so a helper of another version can still be named.
    /// </summary>
    public (Facts? Facts, string? Version) ProbeFacts(CancellationToken cancellationToken)
    {
        var (reply, raw) = TryRun(new FactsCommand(), cancellationToken: cancellationToken);
        return (reply?.Facts, reply?.Facts?.HelperVersion ?? ParseVersion(raw.Output));
    }

    /// <summary>
    /// The deploy's lock on the host, held by one helper process (at <paramref name="helperPath"/>)
    /// for as long as this connection lives, which answers with the host's facts as soon as it holds
    /// it: one helper start for both. ANEMOS4013 when another deploy holds the lock. Null facts (and
    /// no hold) when no helper answered with them: none is installed, or one that does not know
    /// `hold --facts` (its version then comes from <see cref="ProbeFacts"/>).
    /// </summary>
    public (Facts? Facts, RemoteProcess? Hold) HoldWithFacts(string owner, string? helperPath, CancellationToken cancellationToken)
    {
        var hold = session.Start(CommandText(new HoldCommand(owner) { WithFacts = true }, helperPath: helperPath), cancellationToken);
        var reply = hold.FirstLine is { } line ? ParseReply(line) : null;
        if (reply is { Ok: true, Facts: { } facts }) return (facts, hold);
        hold.Dispose();
        if (reply is { Ok: false, Code: HelperCodes.DeployLockHeld })
            throw new AnemosException(Diagnostics.HostLockHeld, display, $"{reply.Code}: {reply.Message}");
        return (null, null);
    }

    /// <summary>ANEMOS4014: the helper does not run on the host, with the host's machine type.</summary>
    public AnemosException Unusable(RemoteResult result, CancellationToken cancellationToken)
    {
        string machine = session.Run("uname -m", cancellationToken: cancellationToken).Output.Trim();
        return new AnemosException(Diagnostics.HelperUnusable, display,
            $"{SshSession.LastLine(result.Errors + "\n" + result.Output)} (exit {result.ExitCode}, machine {(machine.Length > 0 ? machine : "unknown")})", HelperStateLayout.On(stateDirectory, HelperStateLayout.HelperFolder));
    }

    string BootResultPath => HelperStateLayout.On(stateDirectory, HelperStateLayout.BootResult);
    string BootLogPath => HelperStateLayout.On(stateDirectory, HelperStateLayout.BootLog);

    /// <summary>
    /// Starts `boot` detached: the handover ends this connection, and the helper must outlive it.
    /// Its reply goes to boot.json and its progress to boot.log, read by <see cref="ReadBootResult"/>.
    /// </summary>
    public void StartBoot(CancellationToken cancellationToken)
    {
        string boot = CommandText(new BootCommand(DryRun: false));
        string log = ShellQuoting.Quote(BootLogPath), result = ShellQuoting.Quote(BootResultPath);
        session.RunChecked($"rm -f {result}; cd / && (if command -v setsid >/dev/null 2>&1; then setsid {boot}; else nohup {boot}; fi) > {result} 2> {log} < /dev/null &",
            cancellationToken);
    }

    /// <summary>
    /// The boot id of the system that answered, the detached boot's reply so far (null while it has
    /// written none), and the raw read.
    /// </summary>
    public (string BootId, HelperResult? Reply, RemoteResult Raw) ReadBootResult(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var raw = session.Run($"cat /proc/sys/kernel/random/boot_id; cat {ShellQuoting.Quote(BootResultPath)} 2>/dev/null", timeout, cancellationToken);
        int newline = raw.Output.IndexOf('\n');
        string bootId = newline < 0 ? raw.Output.Trim() : raw.Output[..newline].Trim();
        return (bootId, raw.ExitCode == 0 && newline >= 0 ? ParseReply(raw.Output[(newline + 1)..]) : null, raw);
    }

    /// <summary>The last lines of the detached boot's log, joined by " | ", or "" when unreadable.</summary>
    public string BootLogTail(TimeSpan timeout, CancellationToken cancellationToken)
    {
        string log = session.Run($"tail -n 5 {ShellQuoting.Quote(BootLogPath)} 2>&1", timeout, cancellationToken).Output.Trim();
        return log.Length > 0 ? string.Join(" | ", log.Split('\n')) : "";
    }

    /// <summary>The one JSON object a helper printed with --json (progress may precede it), or null.</summary>
    public static HelperResult? ParseReply(string output)
    {
        int start = output.IndexOf('{');
        if (start < 0) return null;
        try
        {
            return JsonSerializer.Deserialize(output.AsSpan(start), HelperJsonContext.Default.HelperResult);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// The helper version in a facts reply, also from a helper of another version whose other facts
    /// this SDK would not read: so a deploy can say which version it replaces.
    /// </summary>
    public static string? ParseVersion(string output)
    {
        int start = output.IndexOf('{');
        if (start < 0) return null;
        try
        {
            return JsonSerializer.Deserialize(output.AsSpan(start), HelperJsonContext.Default.HelperVersionReply)?.Facts?.HelperVersion;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
