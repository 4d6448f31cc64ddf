using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Init;

/// <summary>
/// Which keys the deploy environment's root takes (ssh_root_keys in anemos-init), run by the
/// guest's own busybox sh: the host's AuthorizedKeys from the overlay when the project names them,
/// and then only those; else the old system's login keys the helper appended; else none.
/// </summary>
public sealed class SshRootKeysTests : IDisposable
{
    readonly string _root = TestProject.NewDirectory();

    public void Dispose() { try { Directory.Delete(_root, recursive: true); } catch (IOException) { } }

    (int ExitCode, string Output) Keys()
    {
        var result = ProcessRunner.Run(GuestBusybox.Binary, ["sh", "-c", """. "$0"; ssh_root_keys "$1" """, GuestBusybox.Init, _root],
            environment: new Dictionary<string, string?> { ["ANEMOS_INIT_FUNCTIONS"] = "1" });
        return (result.ExitCode, result.StandardOutput.Trim());
    }

    [Fact]
    public void TheProjectsKeysWinThenTheOldSystemsThenNone()
    {
        Directory.CreateDirectory(_root);
        Assert.Equal(1, Keys().ExitCode);

        File.WriteAllText(Path.Combine(_root, "login_keys"), "ssh-ed25519 AAAA old-system\n");
        Assert.Equal((0, Path.Combine(_root, "login_keys")), Keys());

        // An empty AuthorizedKeys file in the overlay does not count; a non-empty one replaces the old system's keys.
        File.WriteAllText(Path.Combine(_root, "authorized_keys"), "");
        Assert.Equal((0, Path.Combine(_root, "login_keys")), Keys());
        File.WriteAllText(Path.Combine(_root, "authorized_keys"), "ssh-ed25519 AAAA project\n");
        Assert.Equal((0, Path.Combine(_root, "authorized_keys")), Keys());
    }
}
