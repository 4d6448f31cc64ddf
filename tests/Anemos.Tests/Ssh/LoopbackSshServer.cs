using System.Net;
using System.Net.Sockets;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Ssh;

/// <summary>
/// A real OpenSSH sshd on 127.0.0.1 and a free port, with its own host key and one authorized
/// client key; never the system's sshd, never another address. Its log shows each login.
/// </summary>
public sealed class LoopbackSshServer : IDisposable
{
    public string Directory { get; } = TestProject.NewDirectory();
    public int Port { get; }
    public string ClientKey => Path.Combine(Directory, "client_key");
    public string ClientConfig => Path.Combine(Directory, "ssh_config");
    public string KnownHosts => Path.Combine(Directory, "known_hosts");
    public string Log => Path.Combine(Directory, "sshd.log");
    public string HostKeyFingerprint { get; }
    readonly string _pidFile;

    public LoopbackSshServer()
    {
        System.IO.Directory.CreateDirectory(Directory);
        System.IO.Directory.CreateDirectory("/run/sshd"); // privilege separation folder sshd insists on
        foreach (string key in new[] { "host_key", "client_key" })
        {
            var keygen = ProcessRunner.Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", Path.Combine(Directory, key));
            Assert.True(keygen.ExitCode == 0, keygen.ToString());
        }
        File.Copy(ClientKey + ".pub", Path.Combine(Directory, "authorized_keys"));
        HostKeyFingerprint = Anemos.Tasks.Ssh.HostKeyFingerprint.Of(File.ReadAllText(Path.Combine(Directory, "host_key.pub")).Split(' ')[1]);
        File.WriteAllText(KnownHosts, "");
        // The client's config: nothing from the machine's ~/.ssh, an empty known_hosts.
        File.WriteAllText(ClientConfig, $"Host *\n  UserKnownHostsFile {KnownHosts}\n  GlobalKnownHostsFile /dev/null\n");

        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        _pidFile = Path.Combine(Directory, "sshd.pid");
        File.WriteAllText(Path.Combine(Directory, "sshd_config"), $"""
            ListenAddress 127.0.0.1
            Port {Port}
            HostKey {Path.Combine(Directory, "host_key")}
            AuthorizedKeysFile {Path.Combine(Directory, "authorized_keys")}
            PermitRootLogin prohibit-password
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            StrictModes no
            UsePAM no
            MaxSessions 50
            PidFile {_pidFile}
            LogLevel VERBOSE

            """);
        var sshd = ProcessRunner.Run("/usr/sbin/sshd", "-f", Path.Combine(Directory, "sshd_config"), "-E", Log);
        Assert.True(sshd.ExitCode == 0, "sshd did not start (is openssh-server installed?):\n" + sshd);
        for (int i = 0; i < 50 && !File.Exists(_pidFile); i++) Thread.Sleep(100);
    }

    public Anemos.Tasks.Ssh.SshTarget Target(string? hostKey = null) =>
        new("127.0.0.1", "root", Port) { ConfigFile = ClientConfig, IdentityFile = ClientKey, HostKey = hostKey };

    public int Logins => File.Exists(Log) ? File.ReadAllLines(Log).Count(l => l.Contains("Accepted publickey")) : 0;

    public void Dispose()
    {
        try
        {
            if (File.Exists(_pidFile)) ProcessRunner.Run("kill", File.ReadAllText(_pidFile).Trim());
        }
        finally
        {
            try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
        }
    }
}
