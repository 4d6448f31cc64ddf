using Anemos.Tasks.Deploy;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Ssh;

/// <summary>
/// Following a deploy log over a real sshd on 127.0.0.1 (the deploy environment's side is the same
/// command, on a log in a test folder), through a proxy that cuts every connection the moment a given
/// line is written: an event, not a time. Whatever the cut splits (a line, a packet), every line arrives
/// exactly once, in order.
/// </summary>
[EndToEnd(Needs.Sshd)]
public sealed class DeployLogStreamTests : IClassFixture<LoopbackSshServer>, IDisposable
{
    readonly LoopbackSshServer _server;
    readonly string _directory = TestProject.NewDirectory();
    // Not this machine's boot: the stream takes the test machine for the deploy environment, which a new boot id is.
    readonly string _oldBootId = Guid.NewGuid().ToString("D");

    public DeployLogStreamTests(LoopbackSshServer server)
    {
        _server = server;
        Directory.CreateDirectory(_directory);
    }

    public void Dispose() { try { Directory.Delete(_directory, recursive: true); } catch (IOException) { } }

    /// <summary>A log far larger than every buffer between sshd and the reader (the ssh window, sockets, the pipe), so a cut always loses some of it.</summary>
    string WriteLog(string result, int lines = 20000)
    {
        string log = Path.Combine(_directory, "deploy.log");
        var text = Enumerable.Range(1, lines).Select(n => $"2026-01-01T10:00:00Z makeimg[bootstrap]: line {n:D5} (unpacked {n}/{lines}) {new string('x', n % 50)}").Append(result);
        File.WriteAllText(log, string.Join('\n', text) + "\n");
        return log;
    }

    /// <summary>Follows through the proxy; when <paramref name="cutAfterLine"/> is given, the proxy cuts every connection the moment that line is written: an event.</summary>
    (LiveLogOutcome Outcome, List<string> Written, DeployLogStream Stream) Follow(string log, CuttingTcpProxy proxy, int? cutAfterLine = null)
    {
        var written = new List<string>();
        void Write(string line)
        {
            written.Add(line);
            if (written.Count == cutAfterLine) proxy.CutNow();
        }
        var stream = new DeployLogStream(_server.Target(_server.HostKeyFingerprint) with { Port = proxy.Port }, _oldBootId, Write, SystemWatchClock.Instance, log);
        var outcome = stream.Follow(DateTimeOffset.UtcNow.AddMinutes(2), CancellationToken.None);
        return (outcome, written, stream);
    }

    [Fact]
    public void ACutStreamResumesAtTheFirstLineNotSeenAndPrintsNothingTwice()
    {
        string log = WriteLog("ANEMOS-RESULT fail host=x payload=abc step=makeimg:bootstrap");
        string[] expected = File.ReadAllLines(log);
        using var proxy = new CuttingTcpProxy(_server.Port);

        // Uncut: every line once, the failure's step and the tail, and the marks the deploy init waits for.
        proxy.Arm(null);
        var (whole, written, stream) = Follow(log, proxy);
        var finished = Assert.IsType<LiveLogOutcome.Finished>(whole);
        Assert.Equal(expected, written);
        Assert.Equal((false, "makeimg:bootstrap"), (finished.Ok, finished.Step));
        Assert.Equal(expected[^DeployLogStream.TailLines..], finished.Tail);
        Assert.Equal(1, stream.Connections);
        Assert.True(File.Exists(log + ".followed") && File.Exists(log + ".delivered"));

        // Cut early and half-way (whatever the buffers held then, even half a line, is read, the rest is not):
        // resumed at the first line not seen, nothing twice or lost.
        foreach (int cutAfterLine in new[] { 10, expected.Length / 2 })
        {
            proxy.Arm(null, refuseAfterCut: false);
            var (resumed, again, cutStream) = Follow(log, proxy, cutAfterLine);
            Assert.True(proxy.Cut, $"the proxy did not cut after line {cutAfterLine}");
            Assert.IsType<LiveLogOutcome.Finished>(resumed);
            Assert.Equal(expected, again);
            Assert.True(cutStream.Connections == 2, $"{cutStream.Connections} connection(s) for a cut after line {cutAfterLine}");
        }
    }

    [Fact]
    public void ASystemWithoutADeployLogIsAnotherSystemAndAnotherPinIsNoDeployEnvironment()
    {
        using var proxy = new CuttingTcpProxy(_server.Port);
        proxy.Arm(null);
        var (other, written, _) = Follow(Path.Combine(_directory, "missing.log"), proxy);
        Assert.IsType<LiveLogOutcome.OtherSystem>(other);
        Assert.Empty(written);

        var stranger = new DeployLogStream(_server.Target("SHA256:" + new string('A', 43)), _oldBootId, _ => { }, SystemWatchClock.Instance, WriteLog("ANEMOS-RESULT ok host=x payload=abc step=finish", lines: 10));
        var refused = Assert.IsType<LiveLogOutcome.OtherSystem>(stranger.Follow(DateTimeOffset.UtcNow.AddMinutes(1), CancellationToken.None));
        Assert.Contains("another host key", refused.Why);
    }

    [Fact]
    public void AnInstallThatOutlivesTheDeadlineEndsTheStreamAtTheDeadlineWithWhatItPrinted()
    {
        // A log without a result line: `tail -f` waits for more; the deadline (AnemosDeployTimeout's) ends the stream, not the log.
        string log = Path.Combine(_directory, "silent.log");
        File.WriteAllText(log, "2026-01-01T10:00:00Z anemos[run]: running makeimg\n");
        var written = new List<string>();
        var stream = new DeployLogStream(_server.Target(_server.HostKeyFingerprint), _oldBootId, written.Add, SystemWatchClock.Instance, log);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var outcome = stream.Follow(DateTimeOffset.UtcNow.AddSeconds(4), CancellationToken.None);

        Assert.Equal("AnemosDeployTimeout ran out", Assert.IsType<LiveLogOutcome.Unavailable>(outcome).Why);
        Assert.Equal(["2026-01-01T10:00:00Z anemos[run]: running makeimg"], written);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"the stream ended {clock.Elapsed} after a 4 s deadline");
    }
}
