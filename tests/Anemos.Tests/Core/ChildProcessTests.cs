using System.ComponentModel;
using System.Text;
using Anemos.Core;

namespace Anemos.Tests.Core;

/// <summary>The one way the build, the deploy and the helper run another program.</summary>
public sealed class ChildProcessTests
{
    [Fact]
    public void InputGoesInOutputAndErrorsComeBackWithTheExitCode()
    {
        byte[] input = new byte[300_000]; // more than a pipe holds: both sides must be drained at once
        new Random(7).NextBytes(input);
        using var output = new MemoryStream();

        var result = ChildProcess.Run("sh", ["-c", "cat; echo done >&2; exit 3"], new MemoryStream(input), output);

        Assert.Equal(3, result.ExitCode);
        Assert.Equal("done\n", result.Errors);
        Assert.Equal(input, output.ToArray());
    }

    [Fact]
    public void ArgumentsReachTheProgramAsTheyAreAndOutputIsCollectedAsText()
    {
        var result = ChildProcess.Run("printf", ["%s|", "a b", "'quoted'", "$HOME"], workingDirectory: "/");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("a b|'quoted'|$HOME|", result.Output);
    }

    [Fact]
    public void AProgramThatIsNotInstalledIsAWin32Exception()
    {
        Assert.Throws<Win32Exception>(() => ChildProcess.Run("anemos-no-such-program", []));
    }

    /// <summary>A stream that calls back on its first write: the event a test waits for.</summary>
    sealed class FirstWrite(Action onFirstWrite) : MemoryStream
    {
        bool _seen;
        public override void Write(byte[] buffer, int offset, int count) => Seen(() => base.Write(buffer, offset, count));
        public override void Write(ReadOnlySpan<byte> buffer) { base.Write(buffer); Seen(() => { }); }
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) { Write(buffer, offset, count); return Task.CompletedTask; }
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) { Write(buffer.Span); return ValueTask.CompletedTask; }
        void Seen(Action write)
        {
            write();
            if (_seen) return;
            _seen = true;
            onFirstWrite();
        }
    }

    [Fact]
    public void CancellingKillsTheRunningProgram()
    {
        using var cancel = new CancellationTokenSource();
        // The program says it runs, then would wait for ten minutes; its first output cancels.
        var output = new FirstWrite(cancel.Cancel);
        var started = DateTime.UtcNow;

        Assert.ThrowsAny<OperationCanceledException>(() =>
            ChildProcess.Run("sh", ["-c", "echo running; exec sleep 600"], output: output, cancellationToken: cancel.Token));

        Assert.Equal("running\n", Encoding.UTF8.GetString(output.ToArray()));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromMinutes(5), "the program was killed, not waited for");
    }
}
