using System.Text;
using Anemos.Kexec;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Kexec;

/// <summary>
/// Which keys `stage` carries into the deploy environment for root when the project names no
/// AuthorizedKeys: those that could log in to the running system as the deploy's user, from the files
/// its sshd reads (sshd_config's AuthorizedKeysFile, else the defaults), and only files that nobody
/// but root or that user could have written. A system tree under a temporary root, owned by this
/// test's own user, who plays the deploy's user.
/// </summary>
public sealed class LoginKeysTests : IDisposable
{
    const string Ed25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl operator@laptop";
    const string Rsa = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 colleague@desk";
    const string Restricted = "from=\"192.0.2.0/24\",no-pty ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBackupKeyBackupKeyBackupKeyBackupKeyBa backup@vault";

    readonly string _root = TestProject.NewDirectory();
    readonly uint _uid = UserId();
    readonly SystemFiles _files;

    public LoginKeysTests()
    {
        Directory.CreateDirectory(_root);
        File.SetUnixFileMode(_root, (UnixFileMode)0x1ED);
        _files = new SystemFiles(_root);
        // The deploy's user first: this test may run as root, whose uid the next line has too.
        Write("/etc/passwd", $"deployer:x:{_uid}:{_uid}::/home/deployer:/bin/sh\nroot:x:0:0:root:/root:/bin/sh\n");
    }

    public void Dispose() { try { Directory.Delete(_root, recursive: true); } catch (IOException) { } }

    static uint UserId() => uint.Parse(ProcessRunner.Run("id", "-u").StandardOutput.Trim());

    string PathOf(string absolute) => Path.Combine(_root, absolute.TrimStart('/'));

    void Write(string absolute, string text, int mode = 0x1A4)
    {
        string path = PathOf(absolute);
        for (string? folder = Path.GetDirectoryName(path); folder is not null && folder.Length > _root.Length; folder = Path.GetDirectoryName(folder))
            if (!Directory.Exists(folder)) { Directory.CreateDirectory(folder); File.SetUnixFileMode(folder, (UnixFileMode)0x1ED); }
        File.WriteAllText(path, text);
        File.SetUnixFileMode(path, (UnixFileMode)mode);
    }

    [Fact]
    public void TheDefaultFilesTravelVerbatimWithoutCommentsAndEachKeyOnce()
    {
        Write("/etc/ssh/sshd_config", "PermitRootLogin prohibit-password\n");
        Write("/home/deployer/.ssh/authorized_keys", $"# my keys\n{Ed25519}\n\n{Restricted}\r\n", 0x180);
        Write("/home/deployer/.ssh/authorized_keys2", $"{Rsa}\n{Ed25519}\n");

        var found = LoginKeys.Read(_files, _uid);

        Assert.Equal("deployer", found.User);
        Assert.Equal([Ed25519, Restricted, Rsa], found.Lines);
        Assert.Equal(["/home/deployer/.ssh/authorized_keys", "/home/deployer/.ssh/authorized_keys2"], found.Files);
        string file = Encoding.UTF8.GetString(found.ToFile());
        Assert.StartsWith("# the keys that could log in as deployer", file);
        Assert.EndsWith($"{Ed25519}\n{Restricted}\n{Rsa}\n", file);
        Assert.Equal("3 key(s) of deployer (/home/deployer/.ssh/authorized_keys, /home/deployer/.ssh/authorized_keys2)", found.Summary);
    }

    [Fact]
    public void SshdsOwnAuthorizedKeysFileCountsAndAMatchBlockDoesNot()
    {
        Write("/etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nMatch User backup\n    AuthorizedKeysFile /etc/ssh/backup_keys\n");
        Write("/etc/ssh/sshd_config.d/keys.conf", "AuthorizedKeysFile /etc/ssh/keys/%u .ssh/none_here\n");
        Write("/etc/ssh/keys/deployer", Ed25519 + "\n");
        Write("/home/deployer/.ssh/authorized_keys", Rsa + "\n");

        var found = LoginKeys.Read(_files, _uid);

        Assert.Equal([Ed25519], found.Lines);
        Assert.Equal(["/etc/ssh/keys/deployer"], found.Files);
    }

    [Theory]
    [InlineData("file")]
    [InlineData("folder")]
    [InlineData("home")]
    public void AFileOthersCouldHaveWrittenIsNotCarried(string where)
    {
        Write("/etc/ssh/sshd_config", "");
        Write("/home/deployer/.ssh/authorized_keys", Ed25519 + "\n");
        string writable = where switch { "file" => "/home/deployer/.ssh/authorized_keys", "folder" => "/home/deployer/.ssh", _ => "/home/deployer" };
        File.SetUnixFileMode(PathOf(writable), where == "file" ? (UnixFileMode)0x1B6 : (UnixFileMode)0x1FF);

        var found = LoginKeys.Read(_files, _uid);

        Assert.Empty(found.Lines);
        Assert.Contains(found.Skipped, reason => reason.Contains("writable by its group or others", StringComparison.Ordinal));
        Assert.StartsWith("none of deployer (/home/deployer/.ssh/authorized_keys", found.Summary);
    }

    [Fact]
    public void ASymlinkIsNotFollowed()
    {
        Write("/etc/ssh/sshd_config", "");
        Write("/tmp-keys", Ed25519 + "\n");
        Write("/home/deployer/.ssh/other", "");
        File.CreateSymbolicLink(PathOf("/home/deployer/.ssh/authorized_keys"), PathOf("/tmp-keys"));

        var found = LoginKeys.Read(_files, _uid);

        Assert.Empty(found.Lines);
        Assert.Contains(found.Skipped, reason => reason.Contains("a symlink is not followed", StringComparison.Ordinal));
    }

    [Fact]
    public void AUserWithoutAnAccountOrFilesHasNoKeys()
    {
        Write("/etc/ssh/sshd_config", "");
        Assert.Equal("none of uid 4242 (the user is not in /etc/passwd)", LoginKeys.Read(_files, 4242).Summary);
        Assert.Equal("none of deployer (no authorized_keys file)", LoginKeys.Read(_files, _uid).Summary);
        Write("/etc/ssh/sshd_config", "AuthorizedKeysFile none\n");
        Write("/home/deployer/.ssh/authorized_keys", Ed25519 + "\n");
        Assert.Empty(LoginKeys.Read(_files, _uid).Lines);
    }
}
