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
    readonly SshTestKeys _keys;
    public string ClientKey => _keys.ClientKey;
    public string ClientConfig => _keys.ClientConfig;
    public string KnownHosts => _keys.KnownHosts;
    public string Log => Path.Combine(Directory, "sshd.log");
    public string HostKeyFingerprint => _keys.HostKeyFingerprint;
    readonly string _pidFile;

    public LoopbackSshServer()
    {
        Tier.RequireEndToEnd(Needs.Sshd);
        System.IO.Directory.CreateDirectory("/run/sshd"); // privilege separation folder sshd insists on
        _keys = SshTestKeys.Create(Directory);
        File.Copy(ClientKey + ".pub", Path.Combine(Directory, "authorized_keys"));

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
            {RootShellStartup}
            PidFile {_pidFile}
            LogLevel VERBOSE

            """);
        var sshd = ProcessRunner.Run("/usr/sbin/sshd", "-f", Path.Combine(Directory, "sshd_config"), "-E", Log);
        Assert.True(sshd.ExitCode == 0, "sshd did not start (is openssh-server installed?):\n" + sshd);
        for (int i = 0; i < 50 && !File.Exists(_pidFile); i++) Thread.Sleep(100);
    }

    /// <summary>
    /// Bash run by sshd sources root's ~/.bashrc for every command, even under `bash -c`; on these
    /// machines that file runs `pyenv init` and `pyenv virtualenv-init`, 0.5 s per command idle and
    /// over 2 s under load, which made ssh round trips most of every deploy test's time. A shell
    /// level of 1 tells bash it is not a top-level shell, so it skips the file. What a host's own
    /// shell startup costs is the host's, not what these tests prove.
    /// </summary>
    const string RootShellStartup = "SetEnv SHLVL=1";

    public Anemos.Tasks.Ssh.SshTarget Target(string? hostKey = null) =>
        new("127.0.0.1", "root", Port) { ConfigFile = ClientConfig, IdentityFile = ClientKey, HostKey = hostKey };

    public int Logins => File.Exists(Log) ? File.ReadAllLines(Log).Count(l => l.Contains("Accepted publickey")) : 0;

    /// <summary>The remote commands run so far, over any connection (sshd logs each session it starts).</summary>
    public int Commands => File.Exists(Log) ? File.ReadAllLines(Log).Count(l => l.Contains("Starting session: command")) : 0;

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
