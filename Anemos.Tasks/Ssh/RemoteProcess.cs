using System.Diagnostics;

namespace Anemos.Tasks.Ssh;

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
            Anemos.Core.ChildProcess.Kill(process);
    }

    public void Dispose()
    {
        Close();
        process.Dispose();
    }
}
