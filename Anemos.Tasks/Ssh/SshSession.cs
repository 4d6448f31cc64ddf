namespace Anemos.Tasks.Ssh;

/// <summary>The outcome of one remote command.</summary>
public sealed record RemoteResult(int ExitCode, string Output, string Errors)
{
    /// <summary>The command gave no answer within its limit (exit code 255): silence, which is not a closed connection.</summary>
    public bool TimedOut { get; init; }
}

/// <summary>
/// One multiplexed OpenSSH connection to a host (ControlMaster, private socket folder), so a
/// deploy authenticates once and honours the user's ssh config, agent, ProxyJump and known_hosts.
/// Host keys are never ignored: a pinned key is the only key ssh accepts (checked in the key
/// exchange, before authentication), an unpinned host must be in known_hosts. A user other than root works through `sudo -n`.
/// </summary>
public sealed class SshSession : IDisposable
{
    readonly SshTarget _target;
    readonly string _socketDirectory;
    readonly HostKeyPin? _pin;
    readonly List<string> _options = [];
    bool _disposed;

    SshSession(SshTarget target, string socketDirectory)
    {
        _target = target;
        _socketDirectory = socketDirectory;
        _pin = target.HostKey is { Length: > 0 } pinned ? new HostKeyPin(pinned, socketDirectory) : null;
    }

    /// <summary>Where this session connects, as the deploy resolved it.</summary>
    public SshTarget Target => _target;

    /// <summary>How long a master connection outlives its last client: a killed deploy leaves no root session behind for longer.</summary>
    public const int ControlPersistSeconds = 60;

    public static SshSession Open(SshTarget target, CancellationToken cancellationToken = default)
    {
        var session = new SshSession(target, ControlFolder.Create());
        try
        {
            session.Connect(cancellationToken);
            return session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>The options every ssh of this session gets: config, identity, port when set, batch mode, the control socket, and the pin.</summary>
    void BuildOptions()
    {
        if (_target.ConfigFile is { } config) _options.AddRange(["-F", config]);
        if (_target.IdentityFile is { } identity) _options.AddRange(["-i", identity, "-o", "IdentitiesOnly=yes"]);
        // The port only when one is set: otherwise the user's config (a Host alias's Port) decides, as `ssh -G` shows.
        if (_target.Port is { } port) _options.AddRange(["-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        _options.AddRange(["-o", "BatchMode=yes", "-o", "ConnectTimeout=" + _target.ConnectTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-o", "ServerAliveInterval=10", "-o", "ControlPath=" + ControlFolder.Socket(_socketDirectory), "-o", "StrictHostKeyChecking=yes"]);

        if (_pin is not null) _options.AddRange(_pin.WriteOptions());
    }

    void Connect(CancellationToken cancellationToken)
    {
        BuildOptions();
        var master = OpenSsh.Execute("ssh", [.. _options, "-o", "ControlMaster=yes", "-o", $"ControlPersist={ControlPersistSeconds}", "-f", "-N", "--", _target.Destination],
            null, null, cancellationToken);
        if (master.ExitCode == 0) return;
        if (_pin is not null && _target.HostKey is { } pin)
        {
            var offered = _pin.OfferedFingerprints;
            if (offered.Count > 0 && !offered.Any(f => HostKeyFingerprint.Matches(pin, f)))
                throw SshConnectException.KeyMismatch(_target.Display, [.. offered], pin);
        }
        throw SshConnectException.Failed(_target.Display, LastLine(master.Errors));
    }

    /// <summary>Runs a POSIX shell command on the host (as root: through sudo -n for another user).</summary>
    public RemoteResult Run(string command, Stream? input = null, Stream? output = null, CancellationToken cancellationToken = default) =>
        OpenSsh.Execute("ssh", [.. _options, "--", _target.Destination, RemoteCommand(command)], input, output, cancellationToken);

    /// <summary>Runs a command that must answer within <paramref name="timeout"/>; a silent connection gives exit code 255 and "timed out".</summary>
    public RemoteResult Run(string command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            return OpenSsh.Execute("ssh", [.. _options, "--", _target.Destination, RemoteCommand(command)], null, null, limit.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new RemoteResult(255, "", $"no answer within {timeout.TotalSeconds:0} s") { TimedOut = true };
        }
    }

    /// <summary>
    /// Starts a command that keeps running while its standard input stays open, and returns once it
    /// printed its first line: how a deploy holds a lock on the host for exactly as long as it lives.
    /// </summary>
    public RemoteProcess Start(string command, CancellationToken cancellationToken)
    {
        var process = OpenSsh.Start("ssh", [.. _options, "--", _target.Destination, RemoteCommand(command)]);
        var errors = process.StandardError.ReadToEndAsync(CancellationToken.None);
        var firstLine = process.StandardOutput.ReadLineAsync(cancellationToken).AsTask();
        try
        {
            firstLine.Wait(cancellationToken);
        }
        catch
        {
            Anemos.Core.ChildProcess.Kill(process);
            process.Dispose();
            throw;
        }
        return new RemoteProcess(process, firstLine.Result, errors);
    }

    /// <summary>Starts a command whose output the caller reads as it comes (a live log); the caller ends it by disposing the process.</summary>
    public System.Diagnostics.Process StartReading(string command)
    {
        var process = OpenSsh.Start("ssh", [.. _options, "--", _target.Destination, RemoteCommand(command)]);
        process.StandardInput.Close();
        return process;
    }

    // Always through `sh -c`: the login shell only starts sh, so a root shell of csh or fish cannot misread the command.
    string RemoteCommand(string command) => (_target.NeedsSudo ? "sudo -n sh -c " : "exec sh -c ") + ShellQuoting.QuoteForAnyLoginShell(command);

    /// <summary>Runs a command and stops with ANEMOS4003 when it fails.</summary>
    public string RunChecked(string command, CancellationToken cancellationToken = default)
    {
        var result = Run(command, cancellationToken: cancellationToken);
        if (result.ExitCode != 0)
            throw new AnemosException(Diagnostics.RemoteCommandFailed, _target.Display, command, result.ExitCode, LastLine(result.Errors));
        return result.Output;
    }

    internal static string LastLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault()?.TrimEnd('.') ?? "(no message)";

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try
        {
            if (File.Exists(ControlFolder.Socket(_socketDirectory)) || Directory.EnumerateFileSystemEntries(_socketDirectory).Any())
                OpenSsh.Execute("ssh", [.. _options, "-O", "exit", "--", _target.Destination], null, null, CancellationToken.None);
        }
        catch (AnemosException) { }
        try { Directory.Delete(_socketDirectory, recursive: true); } catch (IOException) { }
    }
}
