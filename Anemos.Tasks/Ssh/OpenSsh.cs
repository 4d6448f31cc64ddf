using System.Diagnostics;
using System.Text;

namespace Anemos.Tasks.Ssh;

/// <summary>The OpenSSH client programs as child processes; ANEMOS4005 when they are not installed.</summary>
static class OpenSsh
{
    /// <summary>A client program with all three streams redirected.</summary>
    public static Process Start(string program, IEnumerable<string> arguments)
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

    /// <summary>Runs a client program to its end: <paramref name="input"/> on stdin, stdout into <paramref name="output"/> or collected.</summary>
    public static RemoteResult Execute(string program, IEnumerable<string> arguments, Stream? input, Stream? output, CancellationToken cancellationToken)
    {
        var process = Start(program, arguments);
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
}
