using Anemos.Tasks.Deploy;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Ssh;

/// <summary>
/// Following a deploy log over a real sshd on 127.0.0.1 (the deploy environment's side is the same
/// command, on a log in a test folder), through a proxy that cuts the connection at a byte: an event,
/// not a time. Whatever the cut splits (a line, a packet), every line arrives exactly once, in order.
/// </summary>
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

    string WriteLog(string result)
    {
        string log = Path.Combine(_directory, "deploy.log");
        var lines = Enumerable.Range(1, 400).Select(n => $"2026-01-01T10:00:00Z makeimg[bootstrap]: line {n:D4} (unpacked {n}/400) {new string('x', n % 50)}").Append(result);
        File.WriteAllText(log, string.Join('\n', lines) + "\n");
        return log;
    }

    (LiveLogOutcome Outcome, List<string> Written, DeployLogStream Stream) Follow(string log, CuttingTcpProxy proxy)
    {
        var written = new List<string>();
        var stream = new DeployLogStream(_server.Target(_server.HostKeyFingerprint) with { Port = proxy.Port }, _oldBootId, written.Add, SystemWatchClock.Instance, log);
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
        long total = proxy.Forwarded;

        // Cut at three points of that byte stream (the middle of the log among them): resumed, nothing twice or lost.
        foreach (long cutAt in new[] { total / 2, total * 2 / 3, total - 700 })
        {
            proxy.Arm(cutAt, refuseAfterCut: false);
            var (resumed, again, cutStream) = Follow(log, proxy);
            Assert.True(proxy.Cut, $"the proxy did not cut at byte {cutAt} of {total}");
            Assert.IsType<LiveLogOutcome.Finished>(resumed);
            Assert.Equal(expected, again);
            Assert.Equal(2, cutStream.Connections);
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

        var stranger = new DeployLogStream(_server.Target("SHA256:" + new string('A', 43)), _oldBootId, _ => { }, SystemWatchClock.Instance, WriteLog("ANEMOS-RESULT ok host=x payload=abc step=finish"));
        var refused = Assert.IsType<LiveLogOutcome.OtherSystem>(stranger.Follow(DateTimeOffset.UtcNow.AddMinutes(1), CancellationToken.None));
        Assert.Contains("another host key", refused.Why);
    }
}
