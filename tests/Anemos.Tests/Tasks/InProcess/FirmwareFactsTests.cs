using Anemos.Core.Protocol;
using Anemos.Tasks;
using Anemos.Tasks.Deploy;

namespace Anemos.Tests.Tasks.InProcess;

/// <summary>
/// The host's firmware as a deploy reads it from the helper's facts (docs/deploy.md, "Firmware"):
/// Secure Boot on is refused before anything is uploaded (ANEMOS4045), Firmware metadata that names
/// the other firmware is a warning (ANEMOS4046), and deploy.json records what was found for the
/// rehearsal's auto firmware.
/// </summary>
public sealed class FirmwareFactsTests : IDisposable
{
    readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    static Facts With(string? firmware, bool? secureBoot) => new()
    {
        HelperVersion = "0.1.0", Architecture = "x64", Libc = "glibc", InitSystem = "systemd", ConsoleArguments = [],
        StateDirectory = "/var/lib/anemos", CachedSha256 = [], Kexec = new KexecFacts(), Network = NetworkSnapshot.Empty,
        Firmware = firmware, SecureBoot = secureBoot,
    };

    [Theory]
    [InlineData("uefi", true, "uefi, Secure Boot on")]
    [InlineData("uefi", false, "uefi")]
    [InlineData("uefi", null, "uefi, Secure Boot unknown")]
    [InlineData("bios", false, "bios")]
    [InlineData(null, null, "unknown")] // a helper too old to say
    public void TheFactsPhaseSaysWhichFirmwareTheHostBootedThrough(string? firmware, bool? secureBoot, string shown) =>
        Assert.Equal(shown, FirmwareFacts.Describe(With(firmware, secureBoot)));

    [Fact]
    public void SecureBootOnIsRefusedWithTheFix()
    {
        var refused = Assert.Throws<AnemosException>(() => FirmwareFacts.RefuseSecureBoot(With("uefi", true), "root@x.example.org"));
        Assert.Equal("ANEMOS4045", refused.Diagnostic.Code);
        Assert.Contains("root@x.example.org boots with Secure Boot on", refused.Message);
        Assert.Contains("Nothing was uploaded or loaded", refused.Message);
        Assert.Contains("Turn Secure Boot off", refused.Message);
        // Off, unknown (efivarfs not mounted) and BIOS go on.
        FirmwareFacts.RefuseSecureBoot(With("uefi", false), "x");
        FirmwareFacts.RefuseSecureBoot(With("uefi", null), "x");
        FirmwareFacts.RefuseSecureBoot(With("bios", false), "x");
    }

    [Theory]
    [InlineData("bios", "uefi", true)]
    [InlineData(" UEFI ", "bios", true)]
    [InlineData("uefi", "uefi", false)]
    [InlineData("", "uefi", false)] // no metadata: the rehearsal follows the facts
    [InlineData("bios", null, false)] // an old helper: nothing to compare
    public void MetadataThatNamesTheOtherFirmwareIsAWarning(string declared, string? found, bool warned)
    {
        var disagreement = FirmwareFacts.Disagreement(With(found, false), declared, "x");
        Assert.Equal(warned, disagreement is not null);
        if (disagreement is null) return;
        string message = string.Format(System.Globalization.CultureInfo.InvariantCulture, Diagnostics.HostFirmwareDiffers.Message, disagreement);
        Assert.Contains($"Set Firmware=\"{found}\" on the host", message);
        Assert.Equal("ANEMOS4046", Diagnostics.HostFirmwareDiffers.Code);
        Assert.True(Diagnostics.HostFirmwareDiffers.IsWarning);
    }

    [Theory]
    [InlineData("uefi", "uefi")]
    [InlineData("bios", "bios")]
    [InlineData(null, null)] // the facts were never read (the connect failed)
    public void DeployJsonRecordsTheFirmwareTheRehearsalFollows(string? firmware, string? recorded)
    {
        var engine = new RecordingBuildEngine();
        var progress = new DeployProgress(new Microsoft.Build.Utilities.TaskLoggingHelper(engine, "DeployAnemosHost"), "x") { Firmware = firmware };
        string report = Path.Combine(_folder.Path, "deploy.json");
        progress.WriteReport(report, "deployed", dryRun: false);
        Assert.Equal(recorded, DeployProgress.RecordedFirmware(report));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[1]")]
    [InlineData("""{"firmware":"coreboot"}""")]
    [InlineData("""{"firmware":7}""")]
    public void AReportThatSaysNothingUsefulLeavesTheDefault(string text) =>
        Assert.Null(DeployProgress.RecordedFirmware(_folder.Write("deploy.json", text)));
}
