using System.Security.Cryptography;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Vm;

/// <summary>
/// The install disk in a real kernel: samples/base boots in QEMU (TCG) through `dotnet build
/// -t:Rehearse` with two disks whose serials are anemos-disk0 and anemos-disk1; the payload writes
/// what it was given onto the disk the deploy init chose, and both disks are read back from outside.
/// A disk that must not be touched starts with random bytes and must keep every one of them.
/// </summary>
[EndToEnd(Needs.Qemu)]
public sealed class InstallDiskVmTests(SampleBaseFixture fixture) : IClassFixture<SampleBaseFixture>
{
    const long DiskSize = 8L * 1024 * 1024;

    const string RecordingDeploy = """
        #!/bin/sh
        # Writes what the deploy init chose onto that disk.
        set -eu
        { echo "install=$ANEMOS_INSTALL_DISK target=$ANEMOS_TARGET_DISK"; echo "marker=anemos-install-disk-test"; echo end; } >/tmp/record
        dd if=/tmp/record of="$ANEMOS_INSTALL_DISK" conv=notrunc 2>/dev/null
        sync
        echo "payload done"
        """;

    /// <summary>An 8 MiB image of random bytes: a disk with data on it (outside the project: not payload).</summary>
    static string DataDisk(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, RandomNumberGenerator.GetBytes((int)DiskSize));
        return path;
    }

    static TestProject HostProject(string directory, string hostMetadata, string disks, string? deploy, string? imgbuild = null)
    {
        var project = TestProject.Create($$"""
            <Project Sdk="Anemos.Sdk">
              <ItemGroup>
                <ProjectReference Include="../base/base.proj" />
                <AnemosHost Include="vm" {{hostMetadata}} />
              </ItemGroup>
              <ItemGroup>{{disks}}</ItemGroup>
            </Project>
            """, "host.proj", directory);
        project.Environment["ANEMOS_DEBIAN_PACKAGES"] = Repository.DebianPackages;
        if (deploy is not null) project.Write("deploy", deploy, executable: true);
        if (imgbuild is not null) project.Write("IMGBUILD", imgbuild);
        return project;
    }

    static ProcessResult Rehearse(TestProject project, params string[] arguments) =>
        project.Build(["-t:Rehearse", "-p:Host=vm", "-p:AnemosRehearseAccelerator=tcg", "-p:AnemosRehearseTimeout=240", .. arguments]);

    static string Disk(TestProject project, string name) => project.PathOf($"obj/anemos/rehearse/vm/{name}.img");

    static void AssertUntouched(string original, string disk) =>
        Assert.True(File.ReadAllBytes(original).AsSpan().SequenceEqual(File.ReadAllBytes(disk)), $"{Path.GetFileName(disk)} changed");

    [Fact]
    public void TheCapturedBootDiskIsChosenAndTheOtherDiskIsLeftAlone()
    {
        string directory = Path.Combine(fixture.Root, "boot-disk-second");
        string data = DataDisk(directory + "-data.img");
        using var project = HostProject(directory, "", $"""
            <AnemosRehearseDisk Include="disk0" Size="8M" Source="{data}" />
            <AnemosRehearseDisk Include="disk1" Size="8M" />
            """, RecordingDeploy);
        // What the helper would capture on a server that booted from its second disk.
        File.WriteAllText(directory + "-boot-disk", "# Anemos boot disk, format 1\ndevice sdb\nserial anemos-disk1\nsize 8388608\n");
        var result = Rehearse(project, $"-p:AnemosRehearseBootDisk={directory}-boot-disk");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("anemos[disk]: install disk: /dev/vdb (boot disk, serial anemos-disk1)", result.Output);
        Assert.Equal("install=/dev/vdb target=/dev/vdb\nmarker=anemos-install-disk-test\n", DiskImage.ReadRecord(Disk(project, "disk1")));
        AssertUntouched(data, Disk(project, "disk0"));
    }

    [Fact]
    public void ATargetDiskByIdWinsOverTheBootDisk()
    {
        string directory = Path.Combine(fixture.Root, "target-by-id");
        string data = DataDisk(directory + "-data.img");
        using var project = HostProject(directory, """TargetDisk="/dev/disk/by-id/virtio-anemos-disk1" """, $"""
            <AnemosRehearseDisk Include="disk0" Size="8M" Source="{data}" />
            <AnemosRehearseDisk Include="disk1" Size="8M" />
            """, RecordingDeploy);
        File.WriteAllText(directory + "-boot-disk", "# Anemos boot disk, format 1\nserial anemos-disk0\n");
        var result = Rehearse(project, $"-p:AnemosRehearseBootDisk={directory}-boot-disk");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("install disk: /dev/vdb (TargetDisk /dev/disk/by-id/virtio-anemos-disk1, serial anemos-disk1)", result.Output);
        Assert.Equal("install=/dev/vdb target=/dev/vdb\nmarker=anemos-install-disk-test\n", DiskImage.ReadRecord(Disk(project, "disk1")));
        AssertUntouched(data, Disk(project, "disk0"));
    }

    [Fact]
    public void ADeployProgramRunsWithAnEmptyInstallDiskWhenNothingDecides()
    {
        string directory = Path.Combine(fixture.Root, "deploy-undecided");
        using var project = HostProject(directory, "", """
            <AnemosRehearseDisk Include="disk0" Size="8M" />
            <AnemosRehearseDisk Include="disk1" Size="8M" />
            """, """
            #!/bin/sh
            # A deploy program that knows its own disk.
            set -eu
            { echo "install=[$ANEMOS_INSTALL_DISK] target=[$ANEMOS_TARGET_DISK]"; echo end; } >/tmp/record
            dd if=/tmp/record of=/dev/vdb conv=notrunc 2>/dev/null
            sync
            """);
        var result = Rehearse(project, "-p:AnemosRehearseBootDisk=none");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("install disk: undecided, ANEMOS_INSTALL_DISK is empty and ./deploy chooses (ANEMOS3121: several disks", result.Output);
        Assert.Equal("install=[] target=[]\n", DiskImage.ReadRecord(Disk(project, "disk1")));
    }

    [Fact]
    public void AnImgbuildWithTwoDisksAndNothingToGoByIsRefusedBeforeAnythingIsWritten()
    {
        string root = Path.Combine(fixture.Root, "imgbuild-root");
        SampleBaseFixture.CopyImgbuildBase(root);
        // A makeimg that would write on every disk: it must never run.
        string makeimg = Path.Combine(root, "makeimg");
        File.WriteAllText(makeimg, "#!/bin/sh\nfor d in /dev/vd?; do echo 'makeimg ran' | dd of=\"$d\" conv=notrunc 2>/dev/null; done\nsync\n");
        File.SetUnixFileMode(makeimg, (UnixFileMode)0x1ED);

        string directory = Path.Combine(root, "two-disks");
        string first = DataDisk(directory + "-first.img");
        string second = DataDisk(directory + "-second.img");
        using var project = HostProject(directory, "", $"""
            <AnemosRehearseDisk Include="disk0" Size="8M" Source="{first}" />
            <AnemosRehearseDisk Include="disk1" Size="8M" Source="{second}" />
            """, deploy: null, imgbuild: "target=debian\nformat=\"raw 1G msdos ext4\"\npackages=\"linux-image-amd64\"\n");
        // No TargetDisk and no boot disk: a server whose helper could not tell where it booted from.
        var result = Rehearse(project, $"-p:AnemosEngine={makeimg}", "-p:AnemosRehearseBootDisk=none");
        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Contains("failed: ANEMOS3121: several disks (vda (serial anemos-disk0, 8388608 bytes), vdb (serial anemos-disk1, 8388608 bytes)) and neither TargetDisk nor a captured boot disk: set TargetDisk on the host", result.Output);
        Assert.Matches(@"ANEMOS-RESULT fail host=vm payload=[0-9a-f]{64} step=disk", result.Output);
        Assert.Contains("at the deploy init's step 'disk'", result.Output);
        Assert.DoesNotContain("running makeimg", result.Output);
        AssertUntouched(first, Disk(project, "disk0"));
        AssertUntouched(second, Disk(project, "disk1"));
    }
}
