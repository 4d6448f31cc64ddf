using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Ssh;

/// <summary>
/// A test's own ssh keys: a server host key (and its fingerprint), a client key, an empty
/// known_hosts and an ssh_config that reads nothing of the machine's ~/.ssh.
/// </summary>
public sealed record SshTestKeys(string Directory, string HostKey, string HostKeyFingerprint, string ClientKey, string ClientConfig, string KnownHosts)
{
    public static SshTestKeys Create(string directory)
    {
        System.IO.Directory.CreateDirectory(directory);
        foreach (string key in new[] { "host_key", "client_key" })
        {
            var keygen = ProcessRunner.Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", Path.Combine(directory, key));
            Assert.True(keygen.ExitCode == 0, keygen.ToString());
        }
        string knownHosts = Path.Combine(directory, "known_hosts");
        string config = Path.Combine(directory, "ssh_config");
        File.WriteAllText(knownHosts, "");
        File.WriteAllText(config, $"Host *\n  UserKnownHostsFile {knownHosts}\n  GlobalKnownHostsFile /dev/null\n");
        string fingerprint = Anemos.Tasks.Ssh.HostKeyFingerprint.Of(File.ReadAllText(Path.Combine(directory, "host_key.pub")).Split(' ')[1]);
        return new SshTestKeys(directory, Path.Combine(directory, "host_key"), fingerprint, Path.Combine(directory, "client_key"), config, knownHosts);
    }
}
