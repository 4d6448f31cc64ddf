using System.Text.Json;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Engine;

/// <summary>
/// The raw layout under UEFI, written on a loop device by the engine itself: an ESP (256 MiB,
/// vfat) before the root in msdos and gpt tables alike, mounted at /boot/efi; a SIZE that leaves
/// no room for it is refused before anything is written. The machine here boots with BIOS, so the
/// engine is told it booted with UEFI through its internal test variable; the setup step is real
/// (sfdisk, mkfs, mount), and the run stops at the bootstrap (this machine has no apk).
/// </summary>
public sealed class EngineUefiLayoutTests : IDisposable
{
    readonly string _root = TestProject.NewDirectory();

    (string Folder, Dictionary<string, string?> Environment) Project(string format)
    {
        string folder = Path.Combine(_root, "p" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(folder, "efi"));
        File.WriteAllText(Path.Combine(folder, "IMGBUILD"), $"target=alpine\nformat=\"{format}\"\npackages=alpine-base\n");
        return (folder, new() { ["_ANEMOS_TEST_EFI_FIRMWARE"] = Path.Combine(folder, "efi") });
    }

    static List<(long Start, long Size, string Type)> Partitions(string image, out string label)
    {
        var dump = ProcessRunner.Run("sfdisk", "--json", image);
        Assert.True(dump.ExitCode == 0, dump.ToString());
        using var json = JsonDocument.Parse(dump.StandardOutput);
        var table = json.RootElement.GetProperty("partitiontable");
        label = table.GetProperty("label").GetString()!;
        return table.GetProperty("partitions").EnumerateArray()
            .Select(p => (p.GetProperty("start").GetInt64(), p.GetProperty("size").GetInt64(), p.GetProperty("type").GetString()!)).ToList();
    }

    static bool KernelMountsVfat => File.ReadAllText("/proc/filesystems").Contains("\tvfat\n");

    static string FileSystemAt(string image, long sector) =>
        ProcessRunner.Run("blkid", "-p", "-o", "value", "-s", "TYPE", "-O", (sector * 512).ToString(), image).StandardOutput.Trim();

    [Theory]
    [InlineData("msdos", "dos", 1, 2, "ef", "83")]
    [InlineData("gpt", "gpt", 2, 3, "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "0FC63DAF-8483-4772-8E79-3D69D8477DE4")]
    public void UnderUefiTheDiskGetsAnEspBeforeTheRootInEitherTable(string table, string label, int esp, int root, string espType, string rootType)
    {
        var (folder, environment) = Project($"raw 512M {table} ext4");
        string image = Path.Combine(folder, "disk.img");

        var result = Makeimg.Run(folder, environment, "--image", image);

        if (KernelMountsVfat)
        {
            Makeimg.AssertFailed(result, "bootstrap", "ANEMOS2220");
            Assert.Matches($@"root /dev/loop\d+p{root} \(ext4, UUID [0-9a-f-]{{36}}\) mounted at \S+, EFI /dev/loop\d+p{esp} at /boot/efi", result.Output);
        }
        else
        {
            // This machine's kernel has no vfat (some CI sandboxes): the ESP is made, and its mount is the coded error.
            string line = Makeimg.AssertFailed(result, "setup", "ANEMOS2216");
            Assert.Matches($@"cannot mount the EFI system partition /dev/loop\d+p{esp} \(mount: .*\); the installer's kernel needs vfat support", line);
        }
        var partitions = Partitions(image, out string actualLabel);
        Assert.Equal(label, actualLabel);
        Assert.Equal(root, partitions.Count);
        var (espStart, espSize, actualEspType) = partitions[esp - 1];
        Assert.Equal((espType, 524288L), (actualEspType, espSize));
        Assert.Equal(espStart + espSize, partitions[root - 1].Start);
        Assert.Equal(rootType, partitions[root - 1].Type);
        Assert.Equal("vfat", FileSystemAt(image, espStart));
        Assert.Equal("ext4", FileSystemAt(image, partitions[root - 1].Start));
    }

    [Fact]
    public void UnderBiosAnMsdosDiskKeepsItsSingleRoot()
    {
        var (folder, environment) = Project("raw 512M msdos ext4");
        environment["_ANEMOS_TEST_EFI_FIRMWARE"] = Path.Combine(folder, "no-such-folder");
        string image = Path.Combine(folder, "disk.img");

        var result = Makeimg.Run(folder, environment, "--image", image);

        Makeimg.AssertFailed(result, "bootstrap", "ANEMOS2220");
        var partitions = Partitions(image, out _);
        Assert.Equal([(2048L, 1046528L, "83")], partitions);
    }

    [Theory]
    [InlineData("msdos")]
    [InlineData("gpt")]
    public void ASizeWithoutRoomForTheEspIsRefusedBeforeAnythingIsWritten(string table)
    {
        var (folder, environment) = Project($"raw 200M {table} ext4");
        string image = Path.Combine(folder, "disk.img");

        var result = Makeimg.Run(folder, environment, "--image", image);

        string line = Makeimg.AssertFailed(result, "setup", "ANEMOS2218");
        Assert.Contains("cannot boot under UEFI", line);
        Assert.Contains("nothing was written", line);
        Assert.DoesNotContain("writing a", result.Output);
        using var file = File.OpenRead(image);
        var head = new byte[1 << 20];
        file.ReadExactly(head);
        Assert.True(head.All(b => b == 0), "the image's first MiB was written");
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
