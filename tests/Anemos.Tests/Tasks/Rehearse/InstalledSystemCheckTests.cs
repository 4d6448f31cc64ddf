using Anemos.Tasks.Rehearse;

namespace Anemos.Tests.Tasks.Rehearse;

/// <summary>
/// The key a rehearsal pins for the health check when it has not the host's own: the one ssh
/// negotiates. Found by the template's rehearsal: its scans answered ecdsa and rsa first (one
/// connection per type, one timing out under emulation), the first key was pinned, and ssh then
/// negotiated ed25519 (ANEMOS4001).
/// </summary>
public sealed class InstalledSystemCheckTests
{
    [Fact]
    public void TheKeyToPinIsTheTypeSshPrefersWhateverOrderTheScansAnsweredIn()
    {
        var keys = InstalledSystemCheck.InSshPreference([
            ("ecdsa-sha2-nistp256", "SHA256:ecdsa"), ("ssh-rsa", "SHA256:rsa"), ("ssh-ed25519", "SHA256:ed25519")]);
        Assert.Equal(["SHA256:ed25519", "SHA256:ecdsa", "SHA256:rsa"], keys);
        Assert.Equal(["SHA256:ecdsa", "SHA256:rsa"], InstalledSystemCheck.InSshPreference([("ssh-rsa", "SHA256:rsa"), ("ecdsa-sha2-nistp384", "SHA256:ecdsa")]));
    }
}
