using Anemos.Tasks;
using Anemos.Tasks.Deploy;

namespace Anemos.Tests.Tasks.InProcess;

/// <summary>
/// The memory rule (docs/deploy.md, "Memory") against what was measured: samples/dns x installs with
/// 384 MiB of RAM (its installer as it was: 42.1 MiB, 125 MiB unpacked) and its installer's kernel
/// cannot unpack it with 256, neither as it was nor at 31 MiB, 91.8 MiB unpacked (its rootfs, a
/// tmpfs of half the memory counted while the initramfs is still in it); the busybox base runs a
/// deploy in 96 MiB, not 80. A VM's kernel counted 48.0 MiB MemTotal of 96 MiB and 331.4 MiB of 384
/// (Debian 12's 6.1 kernel).
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

    /// <summary>A base-image.json with <paramref name="bootstrappers"/> (JSON strings, comma-separated): the installer's "arch","debian", the busybox base's none.</summary>
    string Description(long unpacked, string bootstrappers = "\"arch\",\"debian\"") =>
        _folder.Write($"base-{unpacked}.json", $$"""{"schemaVersion":1,"unpackedSize":{{unpacked}},"bootstrappers":[{{bootstrappers}}]}""");

    DeployMemory Installer(string? minimum = null) => DeployMemory.Resolve(InstallerBase + DnsOverlay, InstallerBase, Description(InstallerUnpacked), minimum);
    DeployMemory Busybox() => DeployMemory.Resolve(BusyboxBase + DeployOverlay, BusyboxBase, Description(BusyboxUnpacked, ""), null);

    [Fact]
    public void TheInstallerNeedsItsTreeAndTheInstallsToolsAndTheMeasuredVmsAgree()
    {
        var memory = Installer();
        Assert.Equal(298 * MiB, memory.RequiredBytes);
        Assert.Contains("which stays in RAM while the base installs, and 206.0 MiB for the install's tools beside it", memory.Why);
        Assert.Contains("base-image.json's unpackedSize", memory.Why);
        // 256 MiB cannot unpack it; 290 MiB unpacked it and ran out of memory in dpkg (both measured).
        Assert.True(DeployMemory.VmMemTotal(290 * MiB) < memory.RequiredBytes);
        var refused = Assert.Throws<AnemosException>(() => memory.CheckRehearsal(290, "x"));
        Assert.Equal("ANEMOS3131", refused.Diagnostic.Code);
        Assert.Contains("AnemosRehearseMemory=290", refused.Message);
        Assert.Contains($"at least {memory.VmRamMiB()}", refused.Message);
        Assert.Equal(350, memory.VmRamMiB());
        memory.CheckRehearsal(350, "x");
        Assert.Throws<AnemosException>(() => memory.CheckRehearsal(349, "x"));

        // The installer as it was: 384 MiB installed x, 256 MiB panicked.
        var old = DeployMemory.Resolve(OldInstallerBase + DnsOverlay, OldInstallerBase, Description(OldInstallerUnpacked), null);
        Assert.True(DeployMemory.VmMemTotal(384 * MiB) >= old.RequiredBytes);
        Assert.True(DeployMemory.VmMemTotal(256 * MiB) < old.RequiredBytes);
    }

    [Fact]
    public void TheRootfsTermIsTheTmpfsHalfCountedWhileTheInitramfsIsStillInRam()
    {
        // A base that only runs a `deploy` (no bootstrappers): its tree in the rootfs, the rest works beside it.
        var memory = DeployMemory.Resolve(InstallerBase + DnsOverlay, InstallerBase, Description(InstallerUnpacked, ""), null);
        Assert.Equal(239 * MiB, memory.RequiredBytes);
        Assert.Contains("a tmpfs that holds at most half the memory it counts while those are still in it", memory.Why);
        // Measured: 256 MiB cannot unpack the 91.8 MiB tree ("Initramfs unpacking failed: write error").
        Assert.True(DeployMemory.VmMemTotal(256 * MiB) < memory.RequiredBytes);
    }

    [Fact]
    public void TheBusyboxBaseFitsTheSmallestVmThatRunsIt()
    {
        var memory = Busybox();
        Assert.Equal(43 * MiB, memory.RequiredBytes);
        // Its rootfs (twice 8.2 MiB and the init's 8 MiB, with the initramfs and the kernel's init) and
        // the unpacking (the initramfs, the tree and 32 MiB) come to the same 43 MiB.
        Assert.Contains("a tmpfs that holds at most half the memory", memory.Why);
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
        Assert.Contains("root@ns1.example.org has 203.0 MiB of memory (MemTotal), but the deploy environment needs 298.0 MiB", refused.Message);
        Assert.Contains("Nothing was uploaded or loaded", refused.Message);
        memory.Check(331 * MiB, "root@ns1.example.org");
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
            WorkDirectory = work, MemoryMiB = 256,
        };
        var (success, engine) = RecordingBuildEngine.Run(task);
        Assert.False(success);
        var error = Assert.Single(engine.Errors);
        Assert.Equal("ANEMOS3131", error.Code);
        Assert.False(Directory.Exists(work));
    }
}
