using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Build.Framework;
using TaskLoggingHelper = Microsoft.Build.Utilities.TaskLoggingHelper;

namespace Anemos.Tasks.Rehearse;

/// <summary>
/// One QEMU run: its serial console (on QEMU's stdout) streamed into the build output and a log
/// file, the last lines kept, and what the rehearsal waits for on it: the deploy init's result
/// line, the install disk it named, a login prompt, the firmware giving up. A prompt ends without
/// a newline, so the console is read as it comes, not by lines.
/// </summary>
public sealed partial class QemuConsoleRun : IDisposable
{
    const int TailLines = 15;

    readonly TaskLoggingHelper _log;
    readonly string _hostName;
    readonly Process _process;
    readonly StreamWriter _console;
    readonly Task _reading;
    readonly Task<string> _errors;
    readonly Queue<string> _tail = new();
    readonly Stopwatch _clock = Stopwatch.StartNew();

    /// <summary>Terminal escape sequences: colours, cursor moves, resets and character sets.</summary>
    [GeneratedRegex(@"\x1b(\[[0-9;?]*[A-Za-z]|c|\([A-Z0-9])")]
    public static partial Regex EscapeSequence();

    [GeneratedRegex(@"install disk: /dev/vd([a-z])\b")]
    private static partial Regex InstallDiskLine();

    [GeneratedRegex(@"\S login:\s*$")]
    private static partial Regex LoginPrompt();

    /// <summary>
    /// The firmware found nothing to boot (SeaBIOS; OVMF, which then starts its shell), or the boot
    /// loader stopped at its rescue prompt (none ends with a newline).
    /// </summary>
    [GeneratedRegex(@"No bootable device|No bootable option or device was found|Shell> |grub rescue>")]
    private static partial Regex GaveUp();

    /// <summary>The last ANEMOS-RESULT line, else null.</summary>
    public string? Result { get; private set; }
    /// <summary>The install disk the deploy init named (0 for vda), else -1.</summary>
    public int InstallDiskIndex { get; private set; } = -1;
    /// <summary>When a login prompt appeared, from QEMU's start.</summary>
    public TimeSpan? LoginAt { get; private set; }
    /// <summary>What the console said when the firmware or the boot loader gave up, else null.</summary>
    public string? FirmwareGaveUp { get; private set; }
    /// <summary>systemd's [FAILED] lines.</summary>
    public List<string> FailedUnits { get; } = [];
    public bool HasExited => _process.HasExited;
    public string QemuErrors => _errors.IsCompleted ? _errors.Result.Trim() : "";
    public string LastLine { get { lock (_tail) return _tail.LastOrDefault() ?? "(nothing)"; } }

    public QemuConsoleRun(string qemu, IEnumerable<string> arguments, string consoleLog, TaskLoggingHelper log, string hostName)
    {
        (_log, _hostName) = (log, hostName);
        var start = new ProcessStartInfo(qemu)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        _console = new StreamWriter(consoleLog) { AutoFlush = true };
        _process = Process.Start(start)!;
        _process.StandardInput.Close();
        _errors = _process.StandardError.ReadToEndAsync();
        _reading = Task.Run(Read);
    }

    void Read()
    {
        var reader = _process.StandardOutput;
        var buffer = new char[4096];
        var line = new StringBuilder();
        int count;
        while ((count = reader.Read(buffer, 0, buffer.Length)) > 0)
        {
            for (int i = 0; i < count; i++)
            {
                if (buffer[i] == '\n') { Line(line.ToString()); line.Clear(); }
                else line.Append(buffer[i]);
            }
            if (line.Length > 0 && (LoginAt is null || FirmwareGaveUp is null))
                Notice(EscapeSequence().Replace(line.ToString(), ""));
        }
        if (line.Length > 0) Line(line.ToString());
    }

    void Line(string raw)
    {
        string clean = EscapeSequence().Replace(raw, "").TrimEnd('\r');
        _console.WriteLine(clean);
        if (clean.Trim().Length == 0) return;
        _log.LogMessage(MessageImportance.High, $"  [{_hostName}] {clean}");
        lock (_tail)
        {
            _tail.Enqueue(clean);
            if (_tail.Count > TailLines) _tail.Dequeue();
        }
        if (clean.Contains("ANEMOS-RESULT ", StringComparison.Ordinal)) Result = clean;
        if (InstallDiskIndex < 0 && InstallDiskLine().Match(clean) is { Success: true } disk) InstallDiskIndex = disk.Groups[1].Value[0] - 'a';
        if (clean.Contains("[FAILED]", StringComparison.Ordinal)) FailedUnits.Add(clean.Trim());
        Notice(clean);
    }

    /// <summary>A login prompt or the firmware's last word, on a whole line or on one still being written.</summary>
    void Notice(string text)
    {
        if (LoginAt is null && LoginPrompt().IsMatch(text)) LoginAt = _clock.Elapsed;
        if (FirmwareGaveUp is null && GaveUp().IsMatch(text)) FirmwareGaveUp = text.Trim();
    }

    /// <summary>Waits for QEMU to end by itself; false when the timeout stopped it.</summary>
    public bool WaitForExit(TimeSpan timeout, CancellationToken cancellation)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!_process.WaitForExit(500))
        {
            if (cancellation.IsCancellationRequested) { Stop(); cancellation.ThrowIfCancellationRequested(); }
            if (DateTime.UtcNow > deadline) { Stop(); return false; }
        }
        _reading.Wait();
        return true;
    }

    public void Stop()
    {
        try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        _process.WaitForExit();
        _reading.Wait();
    }

    /// <summary>
    /// Runs what watches this VM. A coded error stops the VM and prints the console's last lines
    /// before it goes on, so every failure shows what the guest said last.
    /// </summary>
    public T Watch<T>(Func<T> watcher)
    {
        try
        {
            return watcher();
        }
        catch (AnemosException)
        {
            Stop();
            string lines;
            lock (_tail) lines = string.Join(Environment.NewLine + "    ", _tail);
            _log.LogMessage(MessageImportance.High, $"  rehearse {_hostName}: the console's last lines:{Environment.NewLine}    {lines}");
            throw;
        }
    }

    public void Dispose()
    {
        Stop();
        _console.Dispose();
        _process.Dispose();
    }
}
