using Anemos.Tasks;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Tasks;

/// <summary>
/// A remote command reaches sh whatever root's (or the deploy user's) login shell is: sshd runs
/// `LOGIN_SHELL -c LINE`, so the line is run here through the real shells a server may have.
/// </summary>
public sealed class ShellQuotingTests
{
    public static TheoryData<string> Commands() => new()
    {
        "echo plain",
        "echo 'single quoted' \"$HOME\" `echo back` $(echo dollar)",
        "echo 'it'\\''s' \"$HOME\" $((1 + 2))",
        "set -e\nfor w in a b; do\n  printf '%s\\n' \"$w\"\ndone\necho done",
        "[ ! -e /nonexistent ] && echo 'absent!' || echo present",
        "cat <<'END'\nhere $HOME\nEND",
        "printf '%s\\n' 'back\\slash'",
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public void EveryLoginShellHandsTheCommandToShUnread(string command)
    {
        string expected = ProcessRunner.Run("sh", "-c", command).StandardOutput;
        string line = "exec sh -c " + ShellQuoting.QuoteForAnyLoginShell(command);
        foreach (string shell in new[] { "/bin/sh", "/bin/bash", "/usr/bin/tcsh", "/usr/bin/fish" })
        {
            Assert.True(File.Exists(shell), $"{shell} is missing: test.sh installs tcsh and fish, the login shells a server may give root.");
            var run = ProcessRunner.Run(shell, "-c", line);
            Assert.True(run.ExitCode == 0, $"{shell}: {run}");
            Assert.Equal(expected, run.StandardOutput);
        }
    }

    [Fact]
    public void ACommandWithoutNewlinesOrBangsStaysReadable()
    {
        Assert.Equal("'cat /proc/sys/kernel/random/boot_id'", ShellQuoting.QuoteForAnyLoginShell("cat /proc/sys/kernel/random/boot_id"));
    }
}
