using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Anemos.Core.Protocol;
using Anemos.Tasks.Deploy;
using Anemos.Tasks.Ssh;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Ssh;

/// <summary>What the handover watcher sees of a real host: a real sshd on 127.0.0.1.</summary>
[EndToEnd(Needs.Sshd)]
public sealed class SshHandoverProbeTests : IClassFixture<LoopbackSshServer>, IDisposable
{
    readonly LoopbackSshServer _server;
    readonly string _state = TestProject.NewDirectory();

    public SshHandoverProbeTests(LoopbackSshServer server)
    {
        _server = server;
        Directory.CreateDirectory(_state);
    }

    public void Dispose() { try { Directory.Delete(_state, recursive: true); } catch (IOException) { } }

    string Pin => _server.HostKeyFingerprint;

    [Fact]
    public void TheOldConnectionReadsTheDetachedBootsReplyAndItsLog()
    {
        using var session = SshSession.Open(_server.Target(Pin));
        int released = 0;
        var probe = new SshHandoverProbe(new HelperClient(session, "root@x", _state), _server.Target(Pin), Pin, () => released++);

        var before = probe.ReadOldSystem(CancellationToken.None);
        Assert.Equal((OldConnection.Answered, null), (before.Connection, before.BootReply));

        File.WriteAllText(Path.Combine(_state, "boot.json"), "progress\n" + JsonSerializer.Serialize(
            new HelperResult { Ok = false, Code = "ANEMOS5014", Message = "Loading failed." }, HelperJsonContext.Default.HelperResult));
        File.WriteAllText(Path.Combine(_state, "boot.log"), "checking\nloading\n");
        var refused = probe.ReadOldSystem(CancellationToken.None);
        Assert.Equal(OldConnection.Answered, refused.Connection);
        Assert.Equal(("ANEMOS5014", "Loading failed."), (refused.BootReply?.Code, refused.BootReply?.Message));
        Assert.Equal("checking | loading", probe.BootLogTail(CancellationToken.None));

        probe.ReleaseOldSystem();
        probe.ReleaseOldSystem();
        Assert.Equal(1, released);
        Assert.Equal("", probe.BootLogTail(CancellationToken.None));
    }

    [Fact]
    public void AnAnswerFromAnotherBootIsNotTheOldConnection()
    {
        // Once the old master is gone, ssh falls back to a new connection, which may reach the new
        // system: its boot id tells it from the old one, whose connection has then ended.
        using var session = SshSession.Open(_server.Target(Pin));
        string thisBoot = File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim();
        var client = new HelperClient(session, "root@x", _state);

        var same = new SshHandoverProbe(client, _server.Target(Pin), Pin, () => { }) { OldBootId = thisBoot }.ReadOldSystem(CancellationToken.None);
        Assert.Equal(OldConnection.Answered, same.Connection);
        var other = new SshHandoverProbe(client, _server.Target(Pin), Pin, () => { }) { OldBootId = Guid.NewGuid().ToString("D") }.ReadOldSystem(CancellationToken.None);
        Assert.Equal(OldConnection.Ended, other.Connection);
    }

    [Fact]
    public void ALoginWithThePinReadsTheBootIdOfTheSystemThatAnswers()
    {
        var probe = new SshHandoverProbe(null!, _server.Target(Pin), Pin, () => { });

        var login = Assert.IsType<LoginAttempt.LoggedIn>(probe.Login(CancellationToken.None));

        using (login.Session)
            Assert.Equal(File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim(), login.BootId);
        Assert.True(HandoverWatcher.IsBootId(login.BootId));
    }

    [Fact]
    public void TheOldSystemsKeyIsToldApartFromAStrangersKey()
    {
        // The deployed pin is another key than the one this server presents.
        var deployed = _server.Target("SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");

        Assert.IsType<LoginAttempt.OldHostKey>(new SshHandoverProbe(null!, deployed, oldPin: Pin, () => { }).Login(CancellationToken.None));
        var stranger = Assert.IsType<LoginAttempt.OtherHostKey>(new SshHandoverProbe(null!, deployed, oldPin: null, () => { }).Login(CancellationToken.None));
        Assert.Contains(Pin.TrimEnd('='), stranger.Offered);
    }

    [Fact]
    public void APortNobodyListensOnIsUnreachable()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int closed = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var attempt = new SshHandoverProbe(null!, _server.Target(Pin) with { Port = closed }, Pin, () => { }).Login(CancellationToken.None);

        Assert.Contains("Connection refused", Assert.IsType<LoginAttempt.Unreachable>(attempt).Message);
    }
}
