using System.Diagnostics;
using Anemos.Tests.Engine;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Vm;

/// <summary>
/// The first install of samples/dns x, done once and shared: a stock Debian 12 machine with UEFI
/// firmware (<see cref="StockDebianImage"/>, its disk attached second behind a data disk, OVMF with
/// a new machine's empty variable store boots it from the ESP's removable path)
/// is deployed with `dotnet publish -p:Host=x -p:PublishProfile=x-first-install` (a dry run, then
/// for real after a change to the overlay), the stock
/// image's host key pinned and its `debian` user's key as the operator's (also allowed as x's
/// root). The VM keeps running as x for the test, which judges the install.
/// </summary>
public sealed class FirstInstalledDnsHost : IAsyncLifetime
{
    public DnsMirrorFixture Mirror { get; } = new();
    public string Root { get; } = TestProject.NewDirectory();
    public DnsSampleCopy Copy { get; private set; } = null!;
    public StockDebianImage Image { get; private set; } = null!;
    public InstalledHostVm Vm { get; private set; } = null!;
    /// <summary>The data disk's sha256 before the VM started.</summary>
    public string DataSha256 { get; private set; } = "";
    /// <summary>The dry run before the first install (it installs the helper and fills the cache).</summary>
    public ProcessResult? DryRun { get; private set; }
    public ProcessResult? Result { get; private set; }
    /// <summary>Measured phases, in order (printed by the tests, never asserted).</summary>
    public List<(string What, TimeSpan Time)> Phases { get; } = [];
    public string? Failure { get; private set; }
    /// <summary>The VM's console, x's host key and the data disk's sha256 right after the first install.</summary>
    public string ConsoleAfterInstall { get; private set; } = "";
    public string HostKeyAfterInstall { get; private set; } = "";
    public string DataSha256AfterInstall { get; private set; } = "";
    /// <summary>The payload sha256 the first install deployed (manifest.json) and its deploy.json's outcome.</summary>
    public string PayloadAfterInstall { get; private set; } = "";
    public string OutcomeAfterInstall { get; private set; } = "";
    /// <summary>The firmware deploy.json recorded from the helper's facts.</summary>
    public string FirmwareAfterInstall { get; private set; } = "";
    /// <summary>What the first install sent (deploy.json), after the dry run.</summary>
    public long BytesSent { get; private set; }
    public bool Succeeded => Failure is null && Result is { ExitCode: 0 };

    /// <summary>Why a test that needs the first install failed: the publish's output and the console's tail.</summary>
    public string Why => $"{Failure}\n{DryRun}\n{Result}\n--- VM console tail:\n{(Vm is null ? "(no VM)" : Vm.ConsoleTail(60))}";

    public async Task InitializeAsync()
    {
        await Mirror.InitializeAsync();
        await Task.Run(Install);
    }

    void Install()
    {
        try
        {
            var clock = Stopwatch.StartNew();
            Image = StockDebianImage.Get(Mirror);
            Phases.Add((Image.Cached ? $"stock image (cached; its native build took {Image.BuildTime.TotalSeconds:0} s)" : "stock image, built natively by makeimg", clock.Elapsed));

            Copy = new DnsSampleCopy(Root, Mirror, operatorKey: Image.DeployKey);
            string directory = Path.Combine(Root, "vm");
            Directory.CreateDirectory(directory);
            string data = Path.Combine(Root, "data.img");
            DataSha256 = DnsSampleCopy.MakeDataDisk(data);

            clock.Restart();
            // UEFI, as most rented servers are now (issue 25): the helper kexecs under OVMF, the engine makes the ESP,
            // x's provision() puts GRUB at the removable path and the same firmware boots the new system.
            Vm = InstalledHostVm.Start(directory, Image.Disk, data, Mirror.Mirror, hostName: StockDebianImage.HostName, bootDiskSecond: true,
                firmware: Anemos.Tasks.Rehearse.QemuFirmware.UefiWithFreshVars(directory));
            Phases.Add(("stock boot: QEMU start to the login prompt and sshd", clock.Elapsed));
            Copy.TargetVm(Vm, directory);

            // A dry run first, as an operator would: it installs the helper through sudo and fills the host's
            // cache, and loads nothing. With a changed file after it, the first install is a redeploy whose only
            // change is the overlay: its connect..boot is that figure on a real Debian host (performance.md).
            clock.Restart();
            DryRun = Copy.Publish("-p:PublishProfile=x-first-install", $"-p:AnemosDeployHostKey={Image.HostKeyFingerprint}", "-p:AnemosDryRun=true");
            Phases.Add(("dry run: publish, the build included", clock.Elapsed));
            if (DryRun.ExitCode != 0)
            {
                Failure = "the dry run failed";
                return;
            }
            File.WriteAllText(Path.Combine(Copy.Dns, "files", "etc", "motd"), "x, installed by Anemos after a dry run\n");

            clock.Restart();
            Result = Copy.Publish("-p:PublishProfile=x-first-install", $"-p:AnemosDeployHostKey={Image.HostKeyFingerprint}");
            Phases.Add(("first install: publish, the build included", clock.Elapsed));
            ConsoleAfterInstall = Vm.Console;
            PayloadAfterInstall = Copy.Payload();
            var report = Copy.DeployReport();
            OutcomeAfterInstall = report.GetProperty("outcome").GetString() ?? "";
            FirmwareAfterInstall = report.TryGetProperty("firmware", out var firmware) ? firmware.GetString() ?? "" : "";
            BytesSent = report.GetProperty("bytesSent").GetInt64();
            if (Result.ExitCode == 0) HostKeyAfterInstall = Vm.HostKeyFingerprint();
            DataSha256AfterInstall = RehearsedDnsHost.Sha256Of(Vm.DataDisk);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Failure = e.ToString();
        }
    }

    public async Task DisposeAsync()
    {
        Vm?.Dispose();
        await Mirror.DisposeAsync();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
