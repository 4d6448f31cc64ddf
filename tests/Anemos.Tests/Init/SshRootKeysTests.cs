using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Init;

/// <summary>
/// Which keys the deploy environment's root takes (ssh_root_keys in anemos-init), run by the
/// guest's own busybox sh: the host's AuthorizedKeys from the overlay and the old system's login
/// keys the helper appended, both when both are there; none is a failure.
/// </summary>
public sealed class SshRootKeysTests : IDisposable
{
    readonly string _root = TestProject.NewDirectory();

    string Out => Path.Combine(_root, "root_authorized_keys");

    public void Dispose() { try { Directory.Delete(_root, recursive: true); } catch (IOException) { } }

    (int ExitCode, string Output) Keys()
    {
        var result = ProcessRunner.Run(GuestBusybox.Binary, ["sh", "-c", """. "$0"; ssh_root_keys "$1" "$2" """, GuestBusybox.Init, _root, Out],
            environment: new Dictionary<string, string?> { ["ANEMOS_INIT_FUNCTIONS"] = "1" });
        return (result.ExitCode, result.StandardOutput.Trim());
    }

    [Fact]
    public void TheProjectsKeysAndTheOldSystemsAreTakenTogetherAndNoneIsAFailure()
    {
        Directory.CreateDirectory(_root);
        Assert.Equal(1, Keys().ExitCode);

        File.WriteAllText(Path.Combine(_root, "login_keys"), "ssh-ed25519 AAAA old-system\n");
        Assert.Equal((0, "the old system's login keys (1 key(s))"), Keys());
        Assert.Equal("ssh-ed25519 AAAA old-system\n", File.ReadAllText(Out));

        // An empty AuthorizedKeys file in the overlay adds nothing; a non-empty one adds its keys.
        File.WriteAllText(Path.Combine(_root, "authorized_keys"), "");
        Assert.Equal((0, "the old system's login keys (1 key(s))"), Keys());
        File.WriteAllText(Path.Combine(_root, "authorized_keys"), "ssh-ed25519 AAAA project");
        Assert.Equal((0, "the host's AuthorizedKeys and the old system's login keys (1 key(s))"), Keys());
        Assert.Equal("ssh-ed25519 AAAA project\nssh-ed25519 AAAA old-system\n", File.ReadAllText(Out));

        // AnemosCarryLoginKeys=false: the helper appends no login_keys, the project's keys alone.
        File.Delete(Path.Combine(_root, "login_keys"));
        Assert.Equal((0, "the host's AuthorizedKeys"), Keys());
        Assert.Equal("ssh-ed25519 AAAA project\n", File.ReadAllText(Out));
    }
}
