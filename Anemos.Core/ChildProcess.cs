using System.Diagnostics;
using System.Text;

namespace Anemos.Core;

/// <summary>The outcome of a child process run to its end.</summary>
public sealed record ChildResult(int ExitCode, string Output, string Errors);

/// <summary>
/// The one way the build, the deploy and the helper run another program: arguments as a list (no
/// shell in between), all three streams redirected and drained at once (a full pipe never blocks
/// it), and the whole process tree killed when the caller cancels.
/// </summary>
public static class ChildProcess
{
    /// <summary>Starts <paramref name="program"/>; <see cref="System.ComponentModel.Win32Exception"/> when it cannot run (not installed).</summary>
    public static Process Start(string program, IEnumerable<string> arguments, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (workingDirectory is not null) start.WorkingDirectory = workingDirectory;
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        return Process.Start(start) ?? throw new System.ComponentModel.Win32Exception($"{program} did not start");
    }

    /// <summary>
    /// Runs a program to its end: <paramref name="input"/> on its stdin (none: closed at once), its
    /// stdout into <paramref name="output"/> or collected as text, its stderr collected.
    /// <see cref="System.ComponentModel.Win32Exception"/> when it cannot run.
    /// </summary>
    public static ChildResult Run(string program, IEnumerable<string> arguments, Stream? input = null, Stream? output = null,
        string? workingDirectory = null, CancellationToken cancellationToken = default)
    {
        using var process = Start(program, arguments, workingDirectory);
        using (cancellationToken.Register(() => Kill(process)))
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
            // The program ended before it took all the input: its exit code says why.
            catch (IOException) { }
            process.WaitForExit();
            reading.Wait(CancellationToken.None);
            cancellationToken.ThrowIfCancellationRequested();
            return new ChildResult(process.ExitCode, text.ToString(), errors.Result);
        }
    }

    /// <summary>Kills a process and its children; one that already ended is left alone.</summary>
    public static void Kill(Process process)
    {
        try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
    }
}
