using System.ComponentModel;
using System.Diagnostics;
using Anemos.Core;

namespace Anemos.Tasks.Ssh;

/// <summary>The OpenSSH client programs as child processes; ANEMOS4005 when they are not installed.</summary>
static class OpenSsh
{
    /// <summary>A client program with all three streams redirected.</summary>
    public static Process Start(string program, IEnumerable<string> arguments)
    {
        try
        {
            return ChildProcess.Start(program, arguments);
        }
        catch (Win32Exception e)
        {
            throw new AnemosException(Diagnostics.SshClientMissing, program, e.Message);
        }
    }

    /// <summary>
    /// Runs a client program to its end: <paramref name="input"/> on stdin, stdout into
    /// <paramref name="output"/> or collected. When ssh ends before it took all the input (the
    /// connection was cut, the remote command failed), its exit code says so; callers prove what
    /// arrived (sha256).
    /// </summary>
    public static RemoteResult Execute(string program, IEnumerable<string> arguments, Stream? input, Stream? output, CancellationToken cancellationToken)
    {
        ChildResult result;
        try
        {
            result = ChildProcess.Run(program, arguments, input, output, cancellationToken: cancellationToken);
        }
        catch (Win32Exception e)
        {
            throw new AnemosException(Diagnostics.SshClientMissing, program, e.Message);
        }
        return new RemoteResult(result.ExitCode, result.Output, result.Errors);
    }
}
