using System.Diagnostics;
using Anemos.Tasks;
using Anemos.Tasks.Rehearse;
using Anemos.Tests.Infrastructure;
using Anemos.Tests.Tasks.InProcess;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace Anemos.Tests.Tasks.Rehearse;

/// <summary>
/// A rehearsal leaves none of the host's secrets behind (issue 28.3): its folder is the user's alone
/// (0700) and its images 0600; the images of an install that had secrets are deleted at the end
/// unless AnemosRehearseKeepDisks keeps them (ANEMOS3130); and the secrets folder of a rehearsal
/// that was killed is removed by the next one, which leaves live and other users' folders alone.
/// </summary>
public sealed class RehearsalSecretsLeftBehindTests : IDisposable
{
    readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    static string Mode(string path) => Convert.ToString((int)File.GetUnixFileMode(path), 8);

    RehearsalDisks Disks(string work)
    {
        _folder.Write("home.img", "home disk");
        File.SetUnixFileMode(Path.Combine(_folder.Path, "home.img"), (UnixFileMode)0x1A4); // 0644, as an operator's image may be
        ITaskItem[] items =
        [
            new TaskItem("disk0", new Dictionary<string, string> { ["Size"] = "16M" }),
            new TaskItem("home", new Dictionary<string, string> { ["Size"] = "1M", ["Source"] = "home.img" }),
        ];
        var disks = RehearsalDisks.Create(items, work, _folder.Path, (diagnostic, _) => Assert.Fail(diagnostic.Code));
        return disks;
    }

    [Fact]
    public void TheWorkFolderIsTheUsersAloneAndSoAreItsImages()
    {
        string work = Path.Combine(_folder.Path, "rehearse", "x");
        Directory.CreateDirectory(work);
        File.SetUnixFileMode(work, (UnixFileMode)0x1ED); // 0755, as an older SDK left it

        RehearsalDisks.CreateWorkFolder(work);
        var disks = Disks(work);

        Assert.Equal("700", Mode(work));
        Assert.All(disks.Files, image => Assert.Equal("600", Mode(image)));
    }

    [Fact]
    public void TheImagesOfAnInstallThatHadSecretsAreDeletedAtTheEnd()
    {
        string work = Path.Combine(_folder.Path, "work");
        RehearsalDisks.CreateWorkFolder(work);
        var disks = Disks(work);

        int deleted = disks.ForgetSecrets(secretCount: 1, keep: false, "x", (diagnostic, _) => Assert.Fail(diagnostic.Code));

        Assert.Equal(2, deleted);
        Assert.All(disks.Files, image => Assert.False(File.Exists(image), image));
    }

    [Fact]
    public void WithoutSecretsTheImagesStayForInspection()
    {
        string work = Path.Combine(_folder.Path, "work");
        RehearsalDisks.CreateWorkFolder(work);
        var disks = Disks(work);

        Assert.Equal(0, disks.ForgetSecrets(secretCount: 0, keep: false, "x", (diagnostic, _) => Assert.Fail(diagnostic.Code)));
        Assert.All(disks.Files, image => Assert.True(File.Exists(image), image));
    }

    [Fact]
    public void KeptImagesWithSecretsAreAWarningThatSaysWhatTheyHold()
    {
        string work = Path.Combine(_folder.Path, "work");
        RehearsalDisks.CreateWorkFolder(work);
        var disks = Disks(work);
        var reported = new List<string>();

        int deleted = disks.ForgetSecrets(secretCount: 2, keep: true, "x",
            (diagnostic, arguments) => reported.Add($"{(diagnostic.IsWarning ? "warning" : "error")} {diagnostic.Code}: {string.Format(System.Globalization.CultureInfo.InvariantCulture, diagnostic.Message, arguments)}"));

        Assert.Equal(0, deleted);
        Assert.All(disks.Files, image => Assert.True(File.Exists(image), image));
        string warning = Assert.Single(reported);
        Assert.StartsWith("warning ANEMOS3130: ", warning);
        Assert.Contains(disks.Files[0], warning);
        Assert.Contains("2 secret(s)", warning);
        Assert.Contains("private key", warning);
    }

    /// <summary>A folder as a rehearsal makes it, owned by <paramref name="pid"/>, with a secret in it.</summary>
    static string SecretsFolder(string temp, string name, int pid)
    {
        string folder = Directory.CreateDirectory(Path.Combine(temp, name), (UnixFileMode)0x1C0).FullName; // 0700
        File.WriteAllText(Path.Combine(folder, "owner"), pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        File.WriteAllText(Path.Combine(folder, "secrets.cpio"), "the host's key");
        return folder;
    }

    static int ExitedProcessId()
    {
        using var process = Process.Start("true")!;
        process.WaitForExit();
        return process.Id;
    }

    [Fact]
    public void TheSecretsOfAKilledRehearsalAreRemovedByTheNextAndNothingElse()
    {
        Assert.True(EffectiveUserId() == 0, "this test chowns a folder to nobody: run it as root");
        string temp = _folder.Path;
        string killed = SecretsFolder(temp, "anemos-rehearse-killed", ExitedProcessId());
        string live = SecretsFolder(temp, "anemos-rehearse-live", Environment.ProcessId);
        string foreign = SecretsFolder(temp, "anemos-rehearse-foreign", ExitedProcessId());
        Assert.Equal(0, ProcessRunner.Run("chown", "-R", "nobody:nogroup", foreign).ExitCode);
        string open = SecretsFolder(temp, "anemos-rehearse-open", ExitedProcessId());
        File.SetUnixFileMode(open, (UnixFileMode)0x1ED); // 0755: not the shape a rehearsal gives its folder

        RehearsalSecrets.RemoveStale(temp);

        Assert.False(Directory.Exists(killed));
        Assert.True(File.Exists(Path.Combine(live, "secrets.cpio")));
        Assert.True(File.Exists(Path.Combine(foreign, "secrets.cpio")));
        Assert.True(File.Exists(Path.Combine(open, "secrets.cpio")));
    }

    [Fact]
    public void ARehearsalRemovesKilledRehearsalsSecretsBeforeAnythingElse()
    {
        // In the real temp folder, as a rehearsal killed with SIGKILL left it; QEMU is never started here.
        string killed = SecretsFolder(Path.GetTempPath(), "anemos-rehearse-" + Guid.NewGuid().ToString("N")[..12], ExitedProcessId());
        try
        {
            var (success, engine) = RecordingBuildEngine.Run(new RehearseAnemosHost
            {
                HostName = "x", KernelFile = "vmlinuz", InitramfsFile = "initramfs.img", WorkDirectory = Path.Combine(_folder.Path, "work"),
                Qemu = Path.Combine(_folder.Path, "no-qemu"),
            });
            Assert.False(success);
            Assert.Contains(engine.Errors, e => e.Code == "ANEMOS3101");
            Assert.False(Directory.Exists(killed), "the killed rehearsal's secrets are still in " + killed);
        }
        finally
        {
            if (Directory.Exists(killed)) Directory.Delete(killed, recursive: true);
        }
    }

    static uint EffectiveUserId() => Anemos.Tasks.UnixFileKind.EffectiveUserId() ?? uint.MaxValue;
}
