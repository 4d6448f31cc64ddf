using System.Text;
using Anemos.Kexec;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Kexec;

/// <summary>
/// Which host keys `stage` carries into the deploy environment: the ones the running sshd uses
/// (sshd_config's HostKey lines through its Include lines, else the defaults), each named by the
/// type read from the key itself. Keys made by the real ssh-keygen, in both of its formats.
/// </summary>
public sealed class HostKeyFilesTests : IDisposable
{
    readonly string _root = TestProject.NewDirectory();

    public void Dispose() { try { Directory.Delete(_root, recursive: true); } catch (IOException) { } }

    string PathOf(string absolute) => Path.Combine(_root, absolute.TrimStart('/'));

    void Write(string absolute, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(PathOf(absolute))!);
        File.WriteAllText(PathOf(absolute), text);
    }

    /// <summary>A new private key at <paramref name="absolute"/> (OpenSSH's own format unless <paramref name="pem"/>); its bytes.</summary>
    byte[] KeyGen(string absolute, string type, bool pem = false, string passphrase = "")
    {
        Directory.CreateDirectory(Path.GetDirectoryName(PathOf(absolute))!);
        var made = ProcessRunner.Run("ssh-keygen", ["-q", "-t", type, "-N", passphrase, "-C", "test", "-f", PathOf(absolute), .. pem ? new[] { "-m", "PEM" } : []]);
        Assert.True(made.ExitCode == 0, made.ToString());
        return File.ReadAllBytes(PathOf(absolute));
    }

    static Dictionary<string, string> Carried(IReadOnlyList<(string Name, byte[] Content)> keys) =>
        keys.ToDictionary(k => k.Name, k => Encoding.ASCII.GetString(k.Content));

    [Theory]
    [InlineData("ed25519", false, "", "ed25519")]
    [InlineData("rsa", false, "", "rsa")]
    [InlineData("ecdsa", false, "", "ecdsa")]
    [InlineData("rsa", true, "", "rsa")]
    [InlineData("ecdsa", true, "", "ecdsa")]
    [InlineData("ed25519", false, "a passphrase", "ed25519")] // the public part of an openssh-key-v1 is never encrypted
    public void AKeysTypeIsReadFromTheKeyItself(string type, bool pem, string passphrase, string expected) =>
        Assert.Equal(expected, HostKeyFiles.KeyType(KeyGen("/keys/key", type, pem, passphrase)));

    [Fact]
    public void NotAKeyHasNoType()
    {
        Assert.Null(HostKeyFiles.KeyType("-----BEGIN OPENSSH PRIVATE KEY-----\nnot base64 at all!\n-----END OPENSSH PRIVATE KEY-----\n"u8.ToArray()));
        Assert.Null(HostKeyFiles.KeyType("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"u8.ToArray()));
        Assert.Null(HostKeyFiles.KeyType("hello"u8.ToArray()));
    }

    [Fact]
    public void WithoutHostKeyLinesTheDefaultFilesTravelAndNothingThatIsNotAPrivateKey()
    {
        Write("/etc/ssh/sshd_config", "# all defaults\nPermitRootLogin prohibit-password\n");
        string ed25519 = Encoding.ASCII.GetString(KeyGen("/etc/ssh/ssh_host_ed25519_key", "ed25519"));
        string rsa = Encoding.ASCII.GetString(KeyGen("/etc/ssh/ssh_host_rsa_key", "rsa", pem: true));
        Write("/etc/ssh/ssh_host_ecdsa_key", "not a key\n");
        var carried = Carried(HostKeyFiles.Read(new SystemFiles(_root)));
        Assert.Equal(["ssh_host_ed25519_key", "ssh_host_rsa_key"], carried.Keys.Order());
        Assert.Equal(ed25519, carried["ssh_host_ed25519_key"]);
        Assert.Equal(rsa, carried["ssh_host_rsa_key"]);
    }

    [Fact]
    public void HostKeyLinesThroughIncludesNameTheKeysAndTheDefaultFilesStayBehind()
    {
        KeyGen("/etc/ssh/ssh_host_ed25519_key", "ed25519"); // not the key sshd uses: it must not travel
        Write("/etc/ssh/sshd_config", """
            Include /etc/ssh/sshd_config.d/*.conf
            # HostKey /etc/ssh/commented_out
            hostkey "/srv/ssh keys/box_rsa"
            """);
        Write("/etc/ssh/sshd_config.d/10-keys.conf", "HostKey=/srv/keys/box_ed25519\nHostKey = /srv/keys/second_ed25519\n");
        Write("/etc/ssh/sshd_config.d/.hidden.conf", "HostKey /srv/keys/hidden\n");
        Write("/etc/ssh/sshd_config.d/20-relative.conf", "Include relative.inc\n");
        Write("/etc/ssh/relative.inc", "HostKey keys/box_ecdsa # relative to /etc/ssh\n");
        string ed25519 = Encoding.ASCII.GetString(KeyGen("/srv/keys/box_ed25519", "ed25519"));
        KeyGen("/srv/keys/second_ed25519", "ed25519");
        string rsa = Encoding.ASCII.GetString(KeyGen("/srv/ssh keys/box_rsa", "rsa"));
        string ecdsa = Encoding.ASCII.GetString(KeyGen("/etc/ssh/keys/box_ecdsa", "ecdsa", pem: true));
        KeyGen("/srv/keys/hidden", "rsa");

        var files = new SystemFiles(_root);
        Assert.Equal(["/srv/keys/box_ed25519", "/srv/keys/second_ed25519", "/etc/ssh/keys/box_ecdsa", "/srv/ssh keys/box_rsa"], SshdConfig.HostKeyPaths(files));
        var carried = Carried(HostKeyFiles.Read(files));
        Assert.Equal(["ssh_host_ecdsa_key", "ssh_host_ed25519_key", "ssh_host_rsa_key"], carried.Keys.Order());
        Assert.Equal(ed25519, carried["ssh_host_ed25519_key"]); // the first of its type
        Assert.Equal(rsa, carried["ssh_host_rsa_key"]);
        Assert.Equal(ecdsa, carried["ssh_host_ecdsa_key"]);
    }

    [Fact]
    public void AnIncludeLoopEndsAndAMissingFileIsNoKey()
    {
        Write("/etc/ssh/sshd_config", "Include /etc/ssh/sshd_config\nHostKey /srv/missing_key\n");
        Assert.Empty(HostKeyFiles.Read(new SystemFiles(_root)));
    }
}
