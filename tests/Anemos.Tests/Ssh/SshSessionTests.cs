using Anemos.Core.Hashing;
using Anemos.Tasks;
using Anemos.Tasks.Ssh;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Ssh;

/// <summary>The deploy's transport against a real sshd on 127.0.0.1: one connection, pinned host keys, resumable uploads.</summary>
[EndToEnd(Needs.Sshd)]
public sealed class SshSessionTests : IClassFixture<LoopbackSshServer>, IDisposable
{
    readonly LoopbackSshServer _server;
    readonly string _work = TestProject.NewDirectory();

    public SshSessionTests(LoopbackSshServer server)
    {
        _server = server;
        Directory.CreateDirectory(_work);
    }

    public void Dispose() { try { Directory.Delete(_work, recursive: true); } catch (IOException) { } }

    static AnemosException Refused(string code, Action action)
    {
        var error = Assert.ThrowsAny<AnemosException>(action);
        Assert.Equal(code, error.Diagnostic.Code);
        return error;
    }

    [Fact]
    public void ManyCommandsShareOneLogin()
    {
        int before = _server.Logins;
        using (var session = SshSession.Open(_server.Target(_server.HostKeyFingerprint)))
        {
            Assert.Equal("one", session.RunChecked("echo one").Trim());
            Assert.Equal("two", session.RunChecked("echo two").Trim());
            Assert.Equal("root", session.RunChecked("id -un").Trim());
        }
        Thread.Sleep(200);
        Assert.Equal(before + 1, _server.Logins);
    }

    [Fact]
    public void ADifferentHostKeyIsRefusedBeforeAnythingIsSent()
    {
        int before = _server.Logins;
        var error = Refused("ANEMOS4001", () => SshSession.Open(_server.Target("SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")));
        Assert.Contains(_server.HostKeyFingerprint, error.Message);
        // What a handover's watchers decide on, typed: the offered key, no message to take apart.
        Assert.Contains(_server.HostKeyFingerprint, Assert.IsType<SshConnectException>(error).OfferedKeys);
        Assert.Equal(before, _server.Logins);
    }

    [Fact]
    public void APinIsTheOnlyKeyEvenWhenTheConfigTrustsAnotherThroughARelay()
    {
        // The reproduction of issue 13: the pinned server (key A) answers at Address:Port, but the
        // user's config relays the login to another sshd holding only key B, and names a
        // GlobalKnownHostsFile that lists B. A check beside the connection (ssh-keyscan to the
        // address) sees A and lets ssh log in to B; the pin checked on the connection refuses B.
        using var relayed = new LoopbackSshServer();
        File.AppendAllText(Path.Combine(relayed.Directory, "authorized_keys"), File.ReadAllText(_server.ClientKey + ".pub"));
        string keyB = File.ReadAllText(Path.Combine(relayed.Directory, "host_key.pub")).Split(' ')[1];
        string global = Path.Combine(_work, "global_known_hosts");
        File.WriteAllText(global, $"[127.0.0.1]:{_server.Port} ssh-ed25519 {keyB}\nanemos-pinned ssh-ed25519 {keyB}\n127.0.0.1 ssh-ed25519 {keyB}\n");
        string jumpKnownHosts = Path.Combine(_work, "jump_known_hosts");
        File.WriteAllText(jumpKnownHosts, $"[127.0.0.1]:{_server.Port} ssh-ed25519 {File.ReadAllText(Path.Combine(_server.Directory, "host_key.pub")).Split(' ')[1]}\n");
        string config = Path.Combine(_work, "relay_config");
        File.WriteAllText(config, $"""
            Host 127.0.0.1
              UserKnownHostsFile {_server.KnownHosts}
              GlobalKnownHostsFile {global}
              ProxyCommand ssh -F /dev/null -i {_server.ClientKey} -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile={jumpKnownHosts} -o StrictHostKeyChecking=yes -p {_server.Port} -W 127.0.0.1:{relayed.Port} root@127.0.0.1

            """);
        var target = _server.Target(_server.HostKeyFingerprint) with { ConfigFile = config };

        var error = Refused("ANEMOS4001", () => SshSession.Open(target));
        Assert.Contains(relayed.HostKeyFingerprint, error.Message);
        Assert.DoesNotContain("Accepted", File.ReadAllText(relayed.Log));
    }

    [Fact]
    public void AnUnknownHostKeyIsNeverAcceptedSilently()
    {
        var error = Refused("ANEMOS4002", () => SshSession.Open(_server.Target()));
        Assert.Contains("Host key verification failed", error.Message);
        // A server that answered and was not trusted is not an unreachable one.
        var failed = Assert.IsType<SshConnectException>(error);
        Assert.False(failed.Unreachable);
        Assert.Contains("Host key verification failed", failed.Reason);
    }

    [Fact]
    public void APortWithNothingListeningIsUnreachableNotRefused()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int closed = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var error = Assert.IsType<SshConnectException>(Refused("ANEMOS4002", () => SshSession.Open(_server.Target(_server.HostKeyFingerprint) with { Port = closed })));

        Assert.True(error.Unreachable, error.Message);
        Assert.Contains("Connection refused", error.Reason);
    }

    [Fact]
    public void AFailingCommandIsACodedError()
    {
        using var session = SshSession.Open(_server.Target(_server.HostKeyFingerprint));
        var error = Refused("ANEMOS4003", () => session.RunChecked("echo broken >&2; exit 7"));
        Assert.Contains("exited with 7: broken", error.Message);
    }

    string LocalFile(int size, int seed)
    {
        string path = Path.Combine(_work, $"file-{seed}.bin");
        byte[] content = new byte[size];
        new Random(seed).NextBytes(content);
        File.WriteAllBytes(path, content);
        return path;
    }

    [Fact]
    public void UploadsProveTheHashAndResumeFromIntactBytes()
    {
        string local = LocalFile(3 << 20, 1);
        var digest = FileDigest.OfFile(local);
        string remote = Path.Combine(_work, "remote", "artifact");
        using var session = SshSession.Open(_server.Target(_server.HostKeyFingerprint));

        Assert.Equal(digest.Size, session.Upload(local, remote, digest));
        Assert.Equal(digest, FileDigest.OfFile(remote));

        // A cut transfer left the first MiB: only the rest travels.
        File.Delete(remote);
        File.WriteAllBytes(remote + ".part", File.ReadAllBytes(local)[..(1 << 20)]);
        Assert.Equal(digest.Size - (1 << 20), session.Upload(local, remote, digest));
        Assert.Equal(digest, FileDigest.OfFile(remote));

        // Bytes that are not this file's beginning are not trusted: everything travels again.
        File.Delete(remote);
        File.WriteAllBytes(remote + ".part", new byte[1 << 20]);
        Assert.Equal(digest.Size, session.Upload(local, remote, digest));
        Assert.Equal(digest, FileDigest.OfFile(remote));
        Assert.False(File.Exists(remote + ".part"));
    }

    [Fact]
    public void SeveralFilesTravelInOneLookOneWriteEachAndOneProof()
    {
        string[] locals = [LocalFile(2 << 20, 11), LocalFile(1 << 20, 12), LocalFile(3000, 13)];
        string folder = Path.Combine(_work, "several");
        var files = locals.Select((l, i) => new UploadFile(l, Path.Combine(folder, i == 2 ? "deeper" : "", $"file-{i}"), FileDigest.OfFile(l))).ToList();
        // A cut left the first file's first MiB (it resumes) and bytes that are not the second's beginning (it travels again).
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(files[0].RemotePath + ".part", File.ReadAllBytes(locals[0])[..(1 << 20)]);
        File.WriteAllBytes(files[1].RemotePath + ".part", new byte[4096]);
        using var session = SshSession.Open(_server.Target(_server.HostKeyFingerprint));
        int before = _server.Commands;

        long sent = session.UploadAll(files);

        Assert.Equal((1 << 20) + (1 << 20) + 3000, sent);
        foreach (var file in files)
        {
            Assert.Equal(file.Digest, FileDigest.OfFile(file.RemotePath));
            Assert.False(File.Exists(file.RemotePath + ".part"));
        }
        // What is there (the folders made with it), two prefix checks, three writes, one proof.
        Assert.Equal(1 + 2 + 3 + 1, _server.Commands - before);
    }

    [Fact]
    public void KillingTheTransferAtRandomPointsNeverLeavesAPartialFileInPlace()
    {
        string local = LocalFile(24 << 20, 2);
        var digest = FileDigest.OfFile(local);
        var random = new Random(3);
        for (int trial = 0; trial < 10; trial++)
        {
            string remote = Path.Combine(_work, "remote", $"trial-{trial}");
            using var session = SshSession.Open(_server.Target(_server.HostKeyFingerprint));
            using (var cut = new CancellationTokenSource(TimeSpan.FromMilliseconds(random.Next(20, 400))))
            {
                try { session.Upload(local, remote, digest, cut.Token); }
                catch (OperationCanceledException) { }
            }
            Assert.True(!File.Exists(remote) || FileDigest.OfFile(remote) == digest, $"trial {trial}: a partial file took the final name");
            long resent = session.Upload(local, remote, digest);
            Assert.Equal(digest, FileDigest.OfFile(remote));
            Assert.InRange(resent, 0, digest.Size);
        }
    }
}
