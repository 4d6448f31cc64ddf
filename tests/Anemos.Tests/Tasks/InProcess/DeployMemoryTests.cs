using Anemos.Tasks;
using Anemos.Tasks.Deploy;

namespace Anemos.Tests.Tasks.InProcess;

/// <summary>
/// The memory rule (docs/deploy.md, "Memory") against what was measured: samples/dns x installs with
/// 256 MiB of RAM (its installer with zram: the deploy init's compressed swap in RAM; the rootfs on
/// ramfs), and with 384 MiB without zram (its installer as it was: 42.1 MiB, 125 MiB unpacked), where
/// 290 MiB ran out of memory in dpkg; the busybox base runs a deploy in 96 MiB, not 80. A VM's kernel
/// counted 48.0 MiB MemTotal of 96 MiB and 331.4 MiB of 384 (Debian 12's 6.1 kernel).
/// </summary>
public sealed class DeployMemoryTests : IDisposable
{
    const long MiB = 1024 * 1024;
    // samples/installer and samples/base as built (their base-image.json and base.img sizes).
    const long InstallerBase = 32_463_413, InstallerUnpacked = 96_215_680, DnsOverlay = 4_604;
    const long OldInstallerBase = 44_104_270, OldInstallerUnpacked = 131_118_361;
    const long BusyboxBase = 2_781_237, BusyboxUnpacked = 8_537_060, DeployOverlay = 20_000;

    readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>A base-image.json with <paramref name="bootstrappers"/> (JSON strings, comma-separated): the installer's "arch","debian", the busybox base's none; and <paramref name="modules"/> likewise.</summary>
    string Description(long unpacked, string bootstrappers = "\"arch\",\"debian\"", string modules = "\"ext4\",\"zram\"") =>
        _folder.Write($"base-{unpacked}-{bootstrappers.Length}-{modules.Length}.json", $$"""{"schemaVersion":1,"unpackedSize":{{unpacked}},"bootstrappers":[{{bootstrappers}}],"modules":[{{modules}}]}""");

    DeployMemory Installer(string? minimum = null) => DeployMemory.Resolve(InstallerBase + DnsOverlay, InstallerBase, Description(InstallerUnpacked), minimum);
    DeployMemory Busybox() => DeployMemory.Resolve(BusyboxBase + DeployOverlay, BusyboxBase, Description(BusyboxUnpacked, "", ""), null);

    [Fact]
    public void TheInstallerWithCompressedSwapNeedsItsTreeAndTheInstallsToolsAndTheMeasuredVmsAgree()
    {
        var memory = Installer();
        Assert.Equal(204 * MiB, memory.RequiredBytes);
        Assert.Contains("which stays in RAM while the base installs, and 112.0 MiB for the install's tools beside it with compressed swap in RAM (zram)", memory.Why);
        Assert.Contains("base-image.json's unpackedSize", memory.Why);
        // 256 MiB of RAM installed x (measured); the figure's least VM is just below it.
        Assert.Equal(254, memory.VmRamMiB());
        memory.CheckRehearsal(256, "x");
        var refused = Assert.Throws<AnemosException>(() => memory.CheckRehearsal(253, "x"));
        Assert.Equal("ANEMOS3131", refused.Diagnostic.Code);
        Assert.Contains("AnemosRehearseMemory=253", refused.Message);
        Assert.Contains($"at least {memory.VmRamMiB()}", refused.Message);
    }

    [Fact]
    public void WithoutZramTheInstallNeedsTheToolsRoomMeasuredWithoutSwap()
    {
        var memory = DeployMemory.Resolve(InstallerBase + DnsOverlay, InstallerBase, Description(InstallerUnpacked, modules: "\"ext4\""), null);
        Assert.Equal(298 * MiB, memory.RequiredBytes);
        Assert.Contains("206.0 MiB for the install's tools beside it (the base has no zram module for compressed swap in RAM)", memory.Why);
        // 290 MiB unpacked it and ran out of memory in dpkg (measured).
        Assert.True(DeployMemory.VmMemTotal(290 * MiB) < memory.RequiredBytes);
        Assert.Equal(350, memory.VmRamMiB());

        // The installer as it was: 384 MiB installed x, 256 MiB did not.
        var old = DeployMemory.Resolve(OldInstallerBase + DnsOverlay, OldInstallerBase, Description(OldInstallerUnpacked, modules: ""), null);
        Assert.True(DeployMemory.VmMemTotal(384 * MiB) >= old.RequiredBytes);
        Assert.True(DeployMemory.VmMemTotal(256 * MiB) < old.RequiredBytes);
    }

    [Fact]
    public void ABaseThatOnlyRunsADeployNeedsRoomToUnpackOnly()
    {
        // No bootstrappers: the initramfs and its tree while the kernel unpacks it (ramfs, no half cap), and 32 MiB to work.
        var memory = DeployMemory.Resolve(InstallerBase + DnsOverlay, InstallerBase, Description(InstallerUnpacked, ""), null);
        Assert.Equal(155 * MiB, memory.RequiredBytes);
        Assert.Contains("while the kernel unpacks it, and 32.0 MiB to work", memory.Why);
    }

    [Fact]
    public void TheBusyboxBaseFitsTheSmallestVmThatRunsIt()
    {
        var memory = Busybox();
        Assert.Equal(43 * MiB, memory.RequiredBytes);
        Assert.Contains("while the kernel unpacks it", memory.Why);
        memory.CheckRehearsal(96, "vm");
        Assert.Equal("ANEMOS3131", Assert.Throws<AnemosException>(() => memory.CheckRehearsal(80, "vm")).Diagnostic.Code);
        // The VM figures measured: MemTotal 48.0 MiB of 96, 331.4 MiB of 384.
        Assert.InRange(DeployMemory.VmMemTotal(96 * MiB) / (double)MiB, 47, 50);
        Assert.InRange(DeployMemory.VmMemTotal(384 * MiB) / (double)MiB, 330, 333);
    }

    [Fact]
    public void AHostBelowTheFigureIsRefusedWithBothFigures()
    {
        var memory = Installer();
        var refused = Assert.Throws<AnemosException>(() => memory.Check(203 * MiB, "root@ns1.example.org"));
        Assert.Equal("ANEMOS4043", refused.Diagnostic.Code);
        Assert.Contains("root@ns1.example.org has 203.0 MiB of memory (MemTotal), but the deploy environment needs 204.0 MiB", refused.Message);
        Assert.Contains("Nothing was uploaded or loaded", refused.Message);
        memory.Check(204 * MiB, "root@ns1.example.org");
        // A helper that could not read MemTotal reports 0: nothing to compare.
        memory.Check(0, "root@ns1.example.org");
    }

    [Fact]
    public void WithoutBaseImageJsonTheUnpackedSizeIsEstimatedAndSaysSo()
    {
        var memory = DeployMemory.Resolve(InstallerBase + DnsOverlay, InstallerBase, Path.Combine(_folder.Path, "missing.json"), null);
        Assert.Contains("estimated as 3 × the compressed base", memory.Why);
        // Nothing says this base only runs a `deploy`: its tree and the install's tools are counted.
        Assert.True(memory.RequiredBytes >= 3 * InstallerBase + DeployMemory.InstallBytes);
    }

    [Fact]
    public void TheOverrideReplacesTheFigureForBothChecks()
    {
        var memory = Installer("200");
        Assert.Equal(200 * MiB, memory.RequiredBytes);
        Assert.Equal("AnemosMinimumMemory=200", memory.Why);
        memory.Check(203 * MiB, "h");
        memory.CheckRehearsal(256, "x");
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("256M")]
    [InlineData("1.5")]
    [InlineData("lots")]
    public void ABadOverrideIsRefused(string value)
    {
        var refused = Assert.Throws<AnemosException>(() => Installer(value));
        Assert.Equal("ANEMOS4044", refused.Diagnostic.Code);
        Assert.Contains($"AnemosMinimumMemory is '{value}'", refused.Message);
    }

    [Fact]
    public void ARehearsalWithTooLittleMemoryStopsBeforeQemuStarts()
    {
        string work = Path.Combine(_folder.Path, "work");
        var task = new RehearseAnemosHost
        {
            HostName = "x", KernelFile = _folder.Write("vmlinuz", "kernel"), InitramfsFile = _folder.Write("initramfs.img", new string('i', 64 * 1024)),
            BaseFile = _folder.Write("base.img", new string('b', 60 * 1024)), BaseDescriptionFile = Description(InstallerUnpacked),
            WorkDirectory = work, MemoryMiB = 200,
        };
        var (success, engine) = RecordingBuildEngine.Run(task);
        Assert.False(success);
        var error = Assert.Single(engine.Errors);
        Assert.Equal("ANEMOS3131", error.Code);
        Assert.False(Directory.Exists(work));
    }
}
