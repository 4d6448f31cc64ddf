using System.Diagnostics;
using System.Text;
using Anemos.Core.Hashing;

namespace Anemos.Tasks.Ssh;

/// <summary>The outcome of one remote command.</summary>
public sealed record RemoteResult(int ExitCode, string Output, string Errors);

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
    readonly List<string> _options = [];
    bool _disposed;

    /// <summary>Bytes of file content sent through <see cref="Upload"/> (ssh's own framing not included).</summary>
    public long BytesSent { get; private set; }

    SshSession(SshTarget target, string socketDirectory)
    {
        _target = target;
        _socketDirectory = socketDirectory;
    }

    /// <summary>How long a master connection outlives its last client: a killed deploy leaves no root session behind for longer.</summary>
    public const int ControlPersistSeconds = 60;

    const string FolderPrefix = "anemos-ssh-";
    const string PinnedAlias = "anemos-pinned";

    public static SshSession Open(SshTarget target, CancellationToken cancellationToken = default)
    {
        RemoveStaleFolders();
        // Unix socket paths are short (108 bytes): a private folder right under the temp folder.
        string directory = Directory.CreateTempSubdirectory(FolderPrefix).FullName;
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        // Who owns the folder: the next run removes it (and stops its master) once this process is gone.
        File.WriteAllText(Path.Combine(directory, "owner"), Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
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

    /// <summary>
    /// Control folders of runs that were killed (their owner process is gone): their master, if
    /// it still lives, is told to exit, and the folder is removed. Folders of live runs are left alone.
    /// </summary>
    public static void RemoveStaleFolders()
    {
        IEnumerable<string> folders;
        try { folders = Directory.EnumerateDirectories(Path.GetTempPath(), FolderPrefix + "*").ToList(); }
        catch (IOException) { return; }
        catch (UnauthorizedAccessException) { return; }
        foreach (string folder in folders)
        {
            try
            {
                string ownerFile = Path.Combine(folder, "owner");
                if (!File.Exists(ownerFile))
                {
                    // A folder from before owner files, or one being created right now: only old ones go.
                    if (DateTime.UtcNow - Directory.GetLastWriteTimeUtc(folder) < TimeSpan.FromMinutes(5)) continue;
                }
                else if (int.TryParse(File.ReadAllText(ownerFile).Trim(), out int pid) && ProcessIsAlive(pid)) continue;
                string socket = Path.Combine(folder, "mux");
                if (File.Exists(socket))
                    Execute("ssh", ["-o", "ControlPath=" + socket, "-O", "exit", "--", "anemos-stale-master"], null, null, CancellationToken.None);
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            catch (AnemosException) { }
        }
    }

    static bool ProcessIsAlive(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    /// <summary>Where the pin script records each key fingerprint the server offered.</summary>
    string OfferedFile => Path.Combine(_socketDirectory, "offered");

    /// <summary>The fingerprints the server offered to this session's pinned connections, in order, without repeats.</summary>
    public IReadOnlyList<string> OfferedFingerprints =>
        File.Exists(OfferedFile) ? File.ReadAllLines(OfferedFile).Select(l => l.Trim()).Where(l => l.Length > 0).Distinct().ToList() : [];

    /// <summary>The options every ssh of this session gets: config, identity, port when set, batch mode, the control socket, and the pin.</summary>
    void BuildOptions()
    {
        if (_target.ConfigFile is { } config) _options.AddRange(["-F", config]);
        if (_target.IdentityFile is { } identity) _options.AddRange(["-i", identity, "-o", "IdentitiesOnly=yes"]);
        // The port only when one is set: otherwise the user's config (a Host alias's Port) decides, as `ssh -G` shows.
        if (_target.Port is { } port) _options.AddRange(["-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        _options.AddRange(["-o", "BatchMode=yes", "-o", "ConnectTimeout=" + _target.ConnectTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-o", "ServerAliveInterval=10", "-o", "ControlPath=" + Path.Combine(_socketDirectory, "mux"), "-o", "StrictHostKeyChecking=yes"]);

        if (_target.HostKey is { Length: > 0 } pinned)
        {
            // The pin is the only key: no known_hosts file, no DNS, no IP check, no certificate
            // authority, and a KnownHostsCommand of ours that vouches for exactly the pinned key (and
            // records every key offered, for the error). ssh checks it during the key exchange, on the
            // connection it makes through the user's config (ProxyJump, aliases), before authenticating.
            string script = Path.Combine(_socketDirectory, "pin");
            File.WriteAllText(script, $"""
                #!/bin/sh
                # anemos: $1 is the offered key's fingerprint (%f), $2 its type (%t), $3 the key (%K)
                [ -n "$1" ] || exit 0
                printf '%s\n' "$1" >> {ShellQuoting.Quote(OfferedFile)}
                [ "$1" = {ShellQuoting.Quote(NormalizePin(pinned))} ] && printf '{PinnedAlias} %s %s\n' "$2" "$3"
                exit 0

                """.Replace("\r", ""));
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            _options.AddRange(["-o", "UserKnownHostsFile=/dev/null", "-o", "GlobalKnownHostsFile=/dev/null", "-o", "VerifyHostKeyDNS=no",
                "-o", "CheckHostIP=no", "-o", "HostKeyAlias=" + PinnedAlias, "-o", "UpdateHostKeys=no",
                "-o", $"KnownHostsCommand=\"{script}\" %f %t %K"]);
        }
    }

    /// <summary>A fingerprint as ssh's %f prints it: "SHA256:" and unpadded base64.</summary>
    static string NormalizePin(string pinned) => pinned.Trim().TrimEnd('=');

    void Connect(CancellationToken cancellationToken)
    {
        BuildOptions();
        var master = Execute("ssh", [.. _options, "-o", "ControlMaster=yes", "-o", $"ControlPersist={ControlPersistSeconds}", "-f", "-N", "--", _target.Destination],
            null, null, cancellationToken);
        if (master.ExitCode == 0) return;
        if (_target.HostKey is { } pin)
        {
            var offered = OfferedFingerprints;
            if (offered.Count > 0 && !offered.Any(f => HostKeyFingerprint.Matches(pin, f)))
                throw new AnemosException(Diagnostics.HostKeyMismatch, _target.Display, string.Join(", ", offered), pin);
        }
        throw new AnemosException(Diagnostics.SshConnectFailed, _target.Display, LastLine(master.Errors));
    }

    /// <summary>
    /// Whether an ssh failure (ANEMOS4002's text) means nothing answered at the other end (refused,
    /// timed out, closed before the key exchange) rather than a server that answered and refused us.
    /// </summary>
    public static bool LooksUnreachable(string message) =>
        new[] { "Connection refused", "timed out", "No route to host", "Network is unreachable", "Connection closed", "Connection reset",
            "kex_exchange_identification", "Could not resolve", "banner exchange", "closed by remote host", "Broken pipe" }
            .Any(m => message.Contains(m, StringComparison.OrdinalIgnoreCase));

    /// <summary>Runs a POSIX shell command on the host (as root: through sudo -n for another user).</summary>
    public RemoteResult Run(string command, Stream? input = null, Stream? output = null, CancellationToken cancellationToken = default) =>
        Execute("ssh", [.. _options, "--", _target.Destination, RemoteCommand(command)], input, output, cancellationToken);

    /// <summary>Runs a command that must answer within <paramref name="timeout"/>; a silent connection gives exit code 255 and "timed out".</summary>
    public RemoteResult Run(string command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            return Execute("ssh", [.. _options, "--", _target.Destination, RemoteCommand(command)], null, null, limit.Token);
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
        var process = StartProcess("ssh", [.. _options, "--", _target.Destination, RemoteCommand(command)]);
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

    // Always through `sh -c`: the login shell only starts sh, so a root shell of csh or fish cannot misread the command.
    string RemoteCommand(string command) => (_target.NeedsSudo ? "sudo -n sh -c " : "exec sh -c ") + ShellQuoting.Quote(command);

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
        // Folders made here (the helper's state folder among them) are root's alone: the helper never chmods one later.
        RunChecked($"umask 077 && mkdir -p {ShellQuoting.Quote(Path.GetDirectoryName(remotePath)!.Replace('\\', '/'))}", cancellationToken);
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
            // ssh ended before it took all the input (the connection was cut, the remote command
            // failed): its exit code says so below; the callers prove what arrived (sha256).
            catch (IOException) { }
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
                Execute("ssh", [.. _options, "-O", "exit", "--", _target.Destination], null, null, CancellationToken.None);
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
