using System.Diagnostics;
using System.Text;
using Anemos.Core.Hashing;

namespace Anemos.Tasks.Ssh;

/// <summary>The outcome of one remote command.</summary>
public sealed record RemoteResult(int ExitCode, string Output, string Errors);

/// <summary>
/// One multiplexed OpenSSH connection to a host (ControlMaster, private socket folder), so a
/// deploy authenticates once and honours the user's ssh config, agent, ProxyJump and known_hosts.
/// Host keys are never ignored: a pinned key is checked before anything is sent, an unpinned
/// host must be in known_hosts. A user other than root works through `sudo -n`.
/// </summary>
public sealed class SshSession : IDisposable
{
    readonly SshTarget _target;
    readonly string _socketDirectory;
    readonly List<string> _options = [];
    bool _disposed;

    /// <summary>Bytes of file content sent through <see cref="Upload"/> (ssh's own framing not included).</summary>
    public long BytesSent { get; private set; }

    SshSession(SshTarget target, string socketDirectory)
    {
        _target = target;
        _socketDirectory = socketDirectory;
    }

    public static SshSession Open(SshTarget target, CancellationToken cancellationToken = default)
    {
        // Unix socket paths are short (108 bytes): a private folder right under /tmp.
        string directory = Directory.CreateTempSubdirectory("anemos-ssh-").FullName;
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var session = new SshSession(target, directory);
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

    void Connect(CancellationToken cancellationToken)
    {
        if (_target.ConfigFile is { } config) _options.AddRange(["-F", config]);
        if (_target.IdentityFile is { } identity) _options.AddRange(["-i", identity, "-o", "IdentitiesOnly=yes"]);
        _options.AddRange(["-p", _target.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-o", "BatchMode=yes", "-o", "ConnectTimeout=20",
            "-o", "ServerAliveInterval=10", "-o", "ControlPath=" + Path.Combine(_socketDirectory, "mux")]);

        if (_target.HostKey is { Length: > 0 } pinned)
        {
            // Ask the server for its keys first and compare: a host that is not the pinned one gets nothing, not even our name.
            var (keys, scanErrors) = ScanHostKeys(_target.Address, _target.Port, TimeSpan.FromSeconds(20), cancellationToken,
                found => found.Any(k => HostKeyFingerprint.Matches(pinned, k.Fingerprint)));
            if (keys.Count == 0)
                throw new AnemosException(Diagnostics.SshConnectFailed, _target.Display, $"no host key from port {_target.Port}: {DescribeScanFailure(scanErrors)}");
            var match = keys.FirstOrDefault(k => HostKeyFingerprint.Matches(pinned, k.Fingerprint));
            if (match.Blob is null)
                throw new AnemosException(Diagnostics.HostKeyMismatch, _target.Display, string.Join(", ", keys.Select(k => k.Fingerprint)), pinned);
            string knownHosts = Path.Combine(_socketDirectory, "known_hosts");
            string hostPattern = _target.Port == 22 ? _target.Address : $"[{_target.Address}]:{_target.Port}";
            File.WriteAllText(knownHosts, $"{hostPattern} {match.Type} {match.Blob}\n");
            _options.AddRange(["-o", "UserKnownHostsFile=" + knownHosts, "-o", "StrictHostKeyChecking=yes"]);
        }
        else
        {
            _options.AddRange(["-o", "StrictHostKeyChecking=yes"]);
        }

        var master = Execute("ssh", [.. _options, "-o", "ControlMaster=yes", "-o", "ControlPersist=yes", "-f", "-N", _target.Destination], null, null, cancellationToken);
        if (master.ExitCode != 0)
            throw new AnemosException(Diagnostics.SshConnectFailed, _target.Display, LastLine(master.Errors));
    }

    /// <summary>Key types asked for, one connection at a time: ssh-keyscan's parallel connections per type get dropped by slow servers and some forwarders.</summary>
    static readonly string[] KeyTypes = ["ed25519", "ecdsa", "rsa"];

    /// <summary>
    /// The host keys a server offers (ssh-keyscan), without logging in: also how a deploy sees a
    /// host go and come back. Stops at the first type that gives a key, or once <paramref name="enough"/> says so.
    /// </summary>
    public static (IReadOnlyList<(string Type, string Blob, string Fingerprint)> Keys, string Errors) ScanHostKeys(string address, int port, TimeSpan timeout,
        CancellationToken cancellationToken, Func<IReadOnlyList<(string Type, string Blob, string Fingerprint)>, bool>? enough = null)
    {
        var keys = new List<(string Type, string Blob, string Fingerprint)>();
        var errors = new StringBuilder();
        foreach (string type in KeyTypes)
        {
            var scan = Execute("ssh-keyscan", ["-T", ((int)Math.Max(1, timeout.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture),
                "-t", type, "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), address], null, null, cancellationToken);
            keys.AddRange(HostKeyFingerprint.FromKeyscan(scan.Output));
            errors.Append(scan.Errors);
            if (enough is null ? keys.Count > 0 : enough(keys)) break;
        }
        return (keys, errors.ToString());
    }

    /// <summary>Why a keyscan gave no key, in words: its last error, or whether a server answered at all.</summary>
    public static string DescribeScanFailure(string errors)
    {
        var lines = errors.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var problems = lines.Where(l => !l.StartsWith('#')).ToList();
        if (problems.Count > 0) return problems[^1].TrimEnd('.');
        return lines.Any(l => l.Contains("SSH-", StringComparison.Ordinal)) ? "an ssh server answered but sent no host key in time" : "no ssh server answered";
    }

    /// <summary>Runs a POSIX shell command on the host (as root: through sudo -n for another user).</summary>
    public RemoteResult Run(string command, Stream? input = null, Stream? output = null, CancellationToken cancellationToken = default) =>
        Execute("ssh", [.. _options, _target.Destination, RemoteCommand(command)], input, output, cancellationToken);

    /// <summary>Runs a command that must answer within <paramref name="timeout"/>; a silent connection gives exit code 255 and "timed out".</summary>
    public RemoteResult Run(string command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            return Execute("ssh", [.. _options, _target.Destination, RemoteCommand(command)], null, null, limit.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new RemoteResult(255, "", $"no answer within {timeout.TotalSeconds:0} s");
        }
    }

    /// <summary>
    /// Starts a command that keeps running while its standard input stays open, and returns once it
    /// printed its first line: how a deploy holds a lock on the host for exactly as long as it lives.
    /// </summary>
    public RemoteProcess Start(string command, CancellationToken cancellationToken)
    {
        var process = StartProcess("ssh", [.. _options, _target.Destination, RemoteCommand(command)]);
        var errors = process.StandardError.ReadToEndAsync(CancellationToken.None);
        var firstLine = process.StandardOutput.ReadLineAsync(cancellationToken).AsTask();
        try
        {
            firstLine.Wait(cancellationToken);
        }
        catch
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            process.Dispose();
            throw;
        }
        return new RemoteProcess(process, firstLine.Result, errors);
    }

    string RemoteCommand(string command) => _target.NeedsSudo ? "sudo -n sh -c " + ShellQuoting.Quote(command) : command;

    /// <summary>Runs a command and stops with ANEMOS4003 when it fails.</summary>
    public string RunChecked(string command, CancellationToken cancellationToken = default)
    {
        var result = Run(command, cancellationToken: cancellationToken);
        if (result.ExitCode != 0)
            throw new AnemosException(Diagnostics.RemoteCommandFailed, _target.Display, command, result.ExitCode, LastLine(result.Errors));
        return result.Output;
    }

    /// <summary>
    /// Sends a file to a temporary name next to <paramref name="remotePath"/>, resuming after a cut
    /// when the bytes already there are proven to be the file's first bytes, and renames it into
    /// place only once its sha256 is proven on the host. Returns the bytes sent.
    /// </summary>
    public long Upload(string localPath, string remotePath, FileDigest digest, CancellationToken cancellationToken = default)
    {
        string part = remotePath + ".part";
        string quotedPart = ShellQuoting.Quote(part);
        RunChecked($"mkdir -p {ShellQuoting.Quote(Path.GetDirectoryName(remotePath)!.Replace('\\', '/'))}", cancellationToken);
        long have = long.TryParse(Run($"stat -c %s {quotedPart} 2>/dev/null || echo 0", cancellationToken: cancellationToken).Output.Trim(), out long size) ? size : 0;
        if (have > digest.Size) have = 0;
        if (have > 0)
        {
            string remotePrefix = Run($"head -c {have} {quotedPart} | sha256sum", cancellationToken: cancellationToken).Output.Split(' ')[0].Trim();
            using var local = File.OpenRead(localPath);
            using var prefix = new HashingStream(Stream.Null);
            Anemos.Core.StreamCopy.CopyExactly(local, prefix, have, cancellationToken);
            if (remotePrefix != prefix.Digest().Sha256) have = 0; // not this file's beginning: start again
        }

        long sent = digest.Size - have;
        if (sent > 0 || have == 0)
        {
            using var content = File.OpenRead(localPath);
            content.Seek(have, SeekOrigin.Begin);
            var result = Run($"cat {(have > 0 ? ">>" : ">")} {quotedPart}", content, cancellationToken: cancellationToken);
            if (result.ExitCode != 0)
                throw new AnemosException(Diagnostics.UploadFailed, localPath, _target.Display, LastLine(result.Errors));
        }
        BytesSent += sent;

        string remoteSha = Run($"sha256sum {quotedPart}", cancellationToken: cancellationToken).Output.Split(' ')[0].Trim();
        if (remoteSha != digest.Sha256)
        {
            Run($"rm -f {quotedPart}", cancellationToken: cancellationToken);
            throw new AnemosException(Diagnostics.UploadFailed, localPath, _target.Display, $"the host has sha256 {remoteSha}, expected {digest.Sha256}; the partial file was removed");
        }
        RunChecked($"mv -f {quotedPart} {ShellQuoting.Quote(remotePath)}", cancellationToken);
        return sent;
    }

    internal static string LastLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault()?.TrimEnd('.') ?? "(no message)";

    /// <summary>An OpenSSH client program with all three streams redirected; ANEMOS4005 when it is not installed.</summary>
    static Process StartProcess(string program, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        try
        {
            return Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new AnemosException(Diagnostics.SshClientMissing, program, e.Message);
        }
    }

    static RemoteResult Execute(string program, IEnumerable<string> arguments, Stream? input, Stream? output, CancellationToken cancellationToken)
    {
        var process = StartProcess(program, arguments);
        using (process)
        using (cancellationToken.Register(() => { try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } }))
        {
            var errors = process.StandardError.ReadToEndAsync(CancellationToken.None);
            var text = new StringBuilder();
            Task reading = output is null
                ? Task.Run(() => text.Append(process.StandardOutput.ReadToEnd()))
                : process.StandardOutput.BaseStream.CopyToAsync(output);
            try
            {
                if (input is not null) input.CopyTo(process.StandardInput.BaseStream);
                process.StandardInput.Close();
            }
            catch (IOException) when (cancellationToken.IsCancellationRequested || process.HasExited) { }
            process.WaitForExit();
            reading.Wait(CancellationToken.None);
            cancellationToken.ThrowIfCancellationRequested();
            return new RemoteResult(process.ExitCode, text.ToString(), errors.Result);
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try
        {
            if (File.Exists(Path.Combine(_socketDirectory, "mux")) || Directory.EnumerateFileSystemEntries(_socketDirectory).Any())
                Execute("ssh", [.. _options, "-O", "exit", _target.Destination], null, null, CancellationToken.None);
        }
        catch (AnemosException) { }
        try { Directory.Delete(_socketDirectory, recursive: true); } catch (IOException) { }
    }
}

/// <summary>A remote command that runs until its standard input is closed (<see cref="SshSession.Start"/>).</summary>
public sealed class RemoteProcess(Process process, string? firstLine, Task<string> errors) : IDisposable
{
    /// <summary>The first line the command printed, or null when it ended without one.</summary>
    public string? FirstLine { get; } = firstLine;

    /// <summary>Closes the command's input and waits for it to end; returns what it printed on stderr.</summary>
    public string Errors()
    {
        Close();
        return errors.Result;
    }

    void Close()
    {
        try { process.StandardInput.Close(); } catch (IOException) { }
        if (!process.WaitForExit(TimeSpan.FromSeconds(3)))
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
    }

    public void Dispose()
    {
        Close();
        process.Dispose();
    }
}
