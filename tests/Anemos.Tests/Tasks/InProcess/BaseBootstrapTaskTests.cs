using Anemos.Tasks;
using Anemos.Tasks.BaseImage;

namespace Anemos.Tests.Tasks.InProcess;

/// <summary>
/// The base-image decision in process: CheckAnemosBaseBootstrap over a base-image.json as
/// BuildAnemosBaseImage writes it, ReadAnemosBaseImage's summary and Bootstrappers, and the
/// description refused when it is not one (ANEMOS1016).
/// </summary>
public sealed class BaseBootstrapTaskTests : IDisposable
{
    readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    string Description(params string[] bootstrappers) => Description(bootstrappers, []);

    string Description(string[] bootstrappers, string[] withoutKeyring)
    {
        var description = new BaseImageDescription
        {
            Sha256 = new string('a', 64),
            Size = 41_522_790,
            Compression = "zstd",
            UnpackedSize = 131_072_000,
            KernelRelease = "6.1.0-test",
            Bootstrappers = bootstrappers,
            BootstrappersWithoutKeyring = withoutKeyring,
            HasBusybox = true,
            Modules = ["virtio_blk"],
        };
        string path = Path.Combine(_folder.Path, "base", "base-image.json");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, description.ToJson());
        return path;
    }

    (bool Success, RecordingBuildEngine Engine, bool CannotInstall) Check(string imgbuild, string description)
    {
        var task = new CheckAnemosBaseBootstrap { BaseProject = "../base/base.proj", DescriptionFile = description, Imgbuild = _folder.Write("IMGBUILD", imgbuild) };
        var (success, engine) = RecordingBuildEngine.Run(task);
        return (success, engine, task.CannotInstall);
    }

    [Theory]
    [InlineData("target=debian\n", "arch,debian")]
    [InlineData("target=arch\n", "arch,debian")]
    [InlineData("target=alpine\n", "alpine")]
    [InlineData("target=${TARGET:-alpine}\n", "arch")] // computed at run time: any bootstrapper will do
    public void ABaseThatBootstrapsTheTargetIsAccepted(string imgbuild, string bootstrappers)
    {
        var (success, engine, cannotInstall) = Check(imgbuild + "format=\"raw 2G\"\npackages=base\n", Description(bootstrappers.Split(',')));
        Assert.True(success, string.Join('\n', engine.Errors.Select(e => e.Message)));
        Assert.False(cannotInstall);
    }

    [Theory]
    [InlineData("target=debian\n", "alpine", "target is debian", "it bootstraps: alpine", "mmdebstrap, apt, gpgv and debian-archive-keyring")]
    [InlineData("target=arch\n", "alpine,debian", "target is arch", "it bootstraps: alpine, debian", "pacman-package-manager, arch-install-scripts")]
    [InlineData("target=alpine\n", "", "target is alpine", "it bootstraps: nothing", "apk-tools-static")]
    [InlineData("target=${TARGET:-alpine}\n", "", "target is (computed at run time)", "it bootstraps: nothing", "a bootstrapper for the target it computes")]
    public void ABaseThatCannotBootstrapTheTargetIsRefusedNamingWhatToAdd(string imgbuild, string bootstrappers, string target, string bootstraps, string hint)
    {
        var (success, engine, cannotInstall) = Check(imgbuild + "format=\"raw 2G\"\npackages=base\n", Description(bootstrappers.Split(',', StringSplitOptions.RemoveEmptyEntries)));
        Assert.False(success);
        Assert.True(cannotInstall);
        var error = Assert.Single(engine.Errors);
        Assert.Equal("ANEMOS3013", error.Code);
        Assert.Contains(target, error.Message);
        Assert.Contains("the base image '../base/base.proj'", error.Message);
        Assert.Contains(bootstraps + ")", error.Message);
        Assert.Contains(hint, error.Message);
    }

    /// <summary>Issue 28: a base with a target's tools but not its keyring installs it only for an IMGBUILD that brings keys/*.gpg.</summary>
    [Theory]
    [InlineData("target=debian\n", "debian", "/usr/share/keyrings/debian-archive-keyring.gpg")]
    [InlineData("target=arch\n", "arch", "/usr/share/keyrings/archlinux.gpg")]
    public void ABaseWithoutTheTargetsKeyringIsRefusedUnlessTheImgbuildBringsKeys(string imgbuild, string target, string keyring)
    {
        string description = Description(["alpine"], [target]);
        var (success, engine, cannotInstall) = Check(imgbuild + "format=\"raw 2G\"\npackages=base\n", description);
        Assert.False(success);
        Assert.True(cannotInstall);
        var error = Assert.Single(engine.Errors);
        Assert.Equal("ANEMOS3148", error.Code);
        Assert.Contains($"target is {target}; the base image '../base/base.proj' has its tools but not its keyring {keyring}", error.Message);
        Assert.Contains("keys/", error.Message);

        // keys/ with no *.gpg in it is no keyring either (the engine refuses it: ANEMOS2221).
        _folder.Write("keys/README", "the archive key goes here\n");
        Assert.Equal("ANEMOS3148", Assert.Single(Check(imgbuild + "format=\"raw 2G\"\npackages=base\n", description).Engine.Errors).Code);

        _folder.Write("keys/archive.gpg", "a binary keyring\n");
        var (withKeys, keysEngine, keysCannotInstall) = Check(imgbuild + "format=\"raw 2G\"\npackages=base\n", description);
        Assert.True(withKeys, string.Join('\n', keysEngine.Errors.Select(e => e.Message)));
        Assert.False(keysCannotInstall);
    }

    [Theory]
    [InlineData("missing", "does not exist")]
    [InlineData("not-json", "is not a base image description")]
    [InlineData("no-bootstrappers", "is not a base image description")]
    [InlineData("schema-2", "has schemaVersion 2, and this SDK reads 1")]
    public void ADescriptionThatIsNoneIsRefused(string shape, string why)
    {
        string path = Description("debian");
        string text = File.ReadAllText(path);
        switch (shape)
        {
            case "missing": File.Delete(path); break;
            case "not-json": File.WriteAllText(path, "bootstrappers: debian\n"); break;
            case "no-bootstrappers": File.WriteAllText(path, text.Replace("\"bootstrappers\"", "\"bootstraps\"")); break;
            default: File.WriteAllText(path, text.Replace("\"schemaVersion\": 1", "\"schemaVersion\": 2")); break;
        }
        var (success, engine, cannotInstall) = Check("target=debian\nformat=\"raw 2G\"\npackages=base\n", path);
        Assert.False(success);
        Assert.False(cannotInstall);
        var error = Assert.Single(engine.Errors);
        Assert.Equal("ANEMOS1016", error.Code);
        Assert.Contains($"'{path}' {why}", error.Message);
    }

    [Fact]
    public void TheDescriptionReadsBackWhatWasWritten()
    {
        string path = Description(["arch"], ["debian"]);
        var read = BaseImageDescription.Read(path);
        Assert.Equal(["arch"], read.Bootstrappers);
        Assert.Equal(["debian"], read.BootstrappersWithoutKeyring);
        Assert.Equal(("zstd", 41_522_790L, 131_072_000L, "6.1.0-test", "makeimg", true), (read.Compression, read.Size, read.UnpackedSize, read.KernelRelease, read.Engine, read.HasBusybox));
        Assert.Equal(["virtio_blk"], read.Modules);
        Assert.Equal(File.ReadAllBytes(path), read.ToJson());
    }

    [Fact]
    public void TheSummaryLineAndTheBootstrappersComeFromTheDescription()
    {
        var task = new ReadAnemosBaseImage { DescriptionFile = Description("arch", "debian"), BaseFile = "bin/anemos/base.img" };
        var (success, engine) = RecordingBuildEngine.Run(task);
        Assert.True(success);
        Assert.Equal(["arch", "debian"], task.Bootstrappers);
        Assert.Contains(engine.Messages, m => m.Message == "  anemos base image: bin/anemos/base.img (aaaaaaaaaaaa) 39.6 MiB, 125 MiB unpacked; bootstraps: arch debian");

        var keyless = new ReadAnemosBaseImage { DescriptionFile = Description(["arch"], ["debian"]), BaseFile = "bin/anemos/base.img" };
        var (_, keylessEngine) = RecordingBuildEngine.Run(keyless);
        Assert.Equal(["arch"], keyless.Bootstrappers);
        Assert.Contains(keylessEngine.Messages, m => m.Message?.EndsWith("; bootstraps: arch; with the IMGBUILD's keys/ only (no keyring in the base): debian", StringComparison.Ordinal) == true);

        var quiet = new ReadAnemosBaseImage { DescriptionFile = Description() };
        var (_, silent) = RecordingBuildEngine.Run(quiet);
        Assert.Empty(quiet.Bootstrappers);
        Assert.DoesNotContain(silent.Messages, m => m.Message?.Contains("anemos base image") == true);
    }
}
