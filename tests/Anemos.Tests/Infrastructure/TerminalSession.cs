using System.Text.RegularExpressions;

namespace Anemos.Tests.Infrastructure;

/// <summary>
/// Runs a command line on a pseudo-terminal (util-linux `script`), as a user at a terminal runs it,
/// so that `dotnet build` picks its terminal logger; returns what the screen showed, with the
/// terminal's control sequences removed.
/// </summary>
public static partial class TerminalSession
{
    public static string Run(IDictionary<string, string?> environment, string directory, string commandLine, int minutes = 10)
    {
        var session = new Dictionary<string, string?>(environment) { ["TERM"] = "xterm-256color" };
        var result = ProcessRunner.Run("script", ["-q", "-e", "-c", commandLine, "/dev/null"], directory, session, TimeSpan.FromMinutes(minutes));
        string screen = ControlSequence().Replace(result.Output, "").Replace("\r", "");
        Assert.True(result.ExitCode == 0, $"`{commandLine}` on a terminal exited {result.ExitCode}:\n{screen}");
        return screen;
    }

    // CSI sequences (cursor moves, colours) and OSC sequences (the progress indicator).
    [GeneratedRegex(@"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x1b\x07]*(\x1b\\|\x07)|\x1b[=>]")]
    private static partial Regex ControlSequence();
}
