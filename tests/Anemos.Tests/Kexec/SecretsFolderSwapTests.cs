using Anemos.Kexec;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Kexec;

/// <summary>
/// tmpfs pages can be swapped out to a disk, ramfs pages never: on a host with swap on, the secrets
/// folder becomes a ramfs before a secret is written (issue 28, point 9). Real mounts (the tests run
/// as root, as the helper does); the host's swap areas come from a /proc/swaps under the helper's
/// root, so no test turns swap on.
/// </summary>
public sealed class SecretsFolderSwapTests : IDisposable
{
    readonly string _root = TestProject.NewDirectory();
    readonly string _ram;

    public SecretsFolderSwapTests()
    {
        _ram = Path.Combine("/dev/shm/anemos-tests", "swap-" + Path.GetFileName(_root));
        Directory.CreateDirectory(_ram);
        File.SetUnixFileMode(_ram, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.CreateDirectory(Path.Combine(_root, "proc"));
    }

    SecretsFolder Folder(string swaps)
    {
        File.WriteAllText(Path.Combine(_root, "proc", "swaps"), swaps);
        return new SecretsFolder(_ram, Path.Combine(_root, "state"), new SystemFiles(_root));
    }

    const string Header = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";

    [Fact]
    public void WithSwapOnTheTmpfsFolderBecomesARamfsBeforeAnySecretIsWritten()
    {
        File.WriteAllText(Path.Combine(_ram, "secrets.cpio"), "a secret of a state this stage replaces\n");
        File.WriteAllText(Path.Combine(_ram, "sshd.pid"), "1234\n");
        var lines = new List<string>();
        var folder = Folder(Header + "/dev/vda3                               partition\t1048572\t\t0\t\t-2\n");

        folder.Ensure(lines.Add);

        Assert.True(Native.IsOnRamfs(_ram), File.ReadAllText("/proc/self/mountinfo"));
        Assert.Equal([$"secrets folder: this host swaps to /dev/vda3; {_ram} is now a ramfs, which is never swapped"], lines);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_ram));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_ram));
        // The helper's own file under the tmpfs went before the ramfs hid it; another program's stays.
        Unmount();
        Assert.False(File.Exists(Path.Combine(_ram, "secrets.cpio")), "the old secret stayed under the ramfs");
        Assert.True(File.Exists(Path.Combine(_ram, "sshd.pid")));

        // Once a ramfs, a later stage mounts nothing more.
        Folder(Header + "/swapfile file 1048572 0 -2\n").Ensure(lines.Add);
        Folder(Header + "/swapfile file 1048572 0 -2\n").Ensure(lines.Add);
        Assert.Equal(2, lines.Count);
        Assert.EndsWith("swaps to /swapfile; " + _ram + " is now a ramfs, which is never swapped", lines[1]);
        Assert.Equal(1, MountsAt(_ram));
    }

    [Fact]
    public void WithoutSwapTheTmpfsFolderStaysAsItIs()
    {
        var lines = new List<string>();
        Folder(Header).Ensure(lines.Add);
        Assert.False(Native.IsOnRamfs(_ram));
        Assert.True(Native.IsInRam(_ram));
        Assert.Empty(lines);
        Assert.Equal(0, MountsAt(_ram));
    }

    static int MountsAt(string path) =>
        File.ReadAllLines("/proc/self/mountinfo").Count(line => line.Split(' ')[4] == path);

    void Unmount()
    {
        while (MountsAt(_ram) > 0)
            Assert.Equal(0, ProcessRunner.Run("umount", _ram).ExitCode);
    }

    public void Dispose()
    {
        try { Unmount(); } catch (Xunit.Sdk.XunitException) { }
        try { Directory.Delete(_ram, recursive: true); } catch (IOException) { }
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
