using System.Diagnostics;
using System.Text;

namespace Anemos.Tests.Infrastructure;

public sealed record ProcessResult(int ExitCode, string Output, string StandardOutput = "")
{
    public override string ToString() => $"exit code {ExitCode}\n{Output}";
}

/// <summary>Runs real programs (dotnet, cpio, tar, zstd, git) with a time limit, capturing their output.</summary>
public static class ProcessRunner
{
    public static ProcessResult Run(string fileName, IEnumerable<string> arguments, string? workingDirectory = null,
        IDictionary<string, string?>? environment = null, TimeSpan? timeout = null, Stream? standardOutput = null, byte[]? standardInput = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory ?? Directory.GetCurrentDirectory(),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        if (environment is not null)
            foreach (var (name, value) in environment)
            {
                if (value is null) start.Environment.Remove(name);
                else start.Environment[name] = value;
            }

        using var process = Process.Start(start)!;
        var text = new StringBuilder();
        var errorTask = Task.Run(() => process.StandardError.ReadToEnd());
        Task outputTask = standardOutput is null
            ? Task.Run(() => { string s = process.StandardOutput.ReadToEnd(); lock (text) text.Append(s); })
            : process.StandardOutput.BaseStream.CopyToAsync(standardOutput);
        // A program may exit before it reads its input (the NativeAOT helper refuses within milliseconds):
        // the closed pipe is no failure of the run; its exit code and output say what it did.
        try
        {
            if (standardInput is not null) process.StandardInput.BaseStream.Write(standardInput);
            process.StandardInput.Close();
        }
        catch (IOException) when (standardInput is not null) { }

        if (!process.WaitForExit(timeout ?? TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            // What it printed until then (a VM's console) is what explains the time-out: read it to the end.
            outputTask.Wait(TimeSpan.FromSeconds(10));
            errorTask.Wait(TimeSpan.FromSeconds(10));
            string printed;
            lock (text) printed = text.ToString();
            string tail = string.Join('\n', (printed + (errorTask.IsCompleted ? errorTask.Result : "")).Split('\n').TakeLast(60));
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} did not finish in time. Its last output:\n{tail}");
        }
        outputTask.Wait();
        string standardOutputText;
        lock (text) standardOutputText = text.ToString();
        string errors = errorTask.Result;
        lock (text) text.Append(errors);
        return new ProcessResult(process.ExitCode, text.ToString(), standardOutputText);
    }

    public static ProcessResult Run(string fileName, params string[] arguments) => Run(fileName, (IEnumerable<string>)arguments);

    /// <summary>Runs a shell command line (for pipelines such as zstd -dc | cpio -t).</summary>
    public static ProcessResult Shell(string command, string? workingDirectory = null) =>
        Run("/bin/sh", ["-c", command], workingDirectory);
}
