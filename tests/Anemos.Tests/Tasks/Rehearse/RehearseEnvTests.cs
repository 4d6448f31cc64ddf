using Anemos.Tasks;
using Anemos.Tasks.Rehearse;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Tasks.Rehearse;

/// <summary>
/// /anemos/rehearse.env is sourced by the deploy init: written with host.env's quoting, so a mirror
/// URL holding shell syntax is a value, never a command; and its variable name is checked.
/// </summary>
public sealed class RehearseEnvTests : IDisposable
{
    readonly string _folder = Directory.CreateDirectory(TestProject.NewDirectory()).FullName;

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }

    string Assemble(string mirror, string variable = "MIRROR")
    {
        string initramfs = Path.Combine(_folder, "host-initramfs.img");
        File.WriteAllBytes(initramfs, new byte[512]);
        return new RehearsalInitramfs
        {
            InitramfsFile = initramfs, WorkDirectory = _folder, ProjectDirectory = _folder, BootDisk = "none",
            Mirror = RehearsalMirror.Parse(mirror), MirrorVariable = variable,
        }.Assemble(CancellationToken.None);
    }

    [Fact]
    public void AMirrorUrlWithShellSyntaxIsAValueNeverACommand()
    {
        string marker = Path.Combine(_folder, "ran");
        // Uri keeps $ ( ) ; in a path as they are (a space or a backquote it escapes): the guest URL holds a command substitution.
        string url = $"http://127.0.0.1:3142/debian/$(touch {marker})/`touch {marker}`;touch {marker}";
        string guestUrl = RehearsalMirror.Parse(url)!.GuestUrl;
        Assert.Contains("$(touch", guestUrl);
        Assemble(url);
        string extracted = Path.Combine(_folder, "extracted");
        Directory.CreateDirectory(extracted);
        var cpio = ProcessRunner.Shell($"cpio -id --quiet < '{Path.Combine(_folder, "rehearse.cpio")}'", extracted);
        Assert.True(cpio.ExitCode == 0, cpio.ToString());
        // Sourced as the deploy init sources it (set -a, then the file), by a real sh.
        var sourced = ProcessRunner.Run("sh", ["-c", "set -a; . ./" + Anemos.Core.Initramfs.HostSegments.RehearseEnvPath.TrimStart('/') + " && printf '%s' \"$MIRROR\""], extracted);
        Assert.True(sourced.ExitCode == 0, sourced.ToString());
        Assert.False(File.Exists(marker), "sourcing rehearse.env ran a command from the mirror URL");
        Assert.Equal(guestUrl, sourced.StandardOutput);
    }

    [Theory]
    [InlineData("1MIRROR")]
    [InlineData("MIR-ROR")]
    [InlineData("X=$(reboot)")]
    [InlineData("PATH")]
    [InlineData("ANEMOS_HOST")]
    public void AMirrorVariableAHostCouldNotSetIsRefused(string variable)
    {
        var e = Assert.Throws<AnemosException>(() => Assemble("http://127.0.0.1:3142/debian", variable));
        Assert.Equal("ANEMOS3129", e.Diagnostic.Code);
        Assert.False(File.Exists(Path.Combine(_folder, "rehearse.cpio")));
    }
}
