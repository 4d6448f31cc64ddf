using System.Text.Json;
using Anemos.Core.Protocol;
using Anemos.Tasks.Deploy;

namespace Anemos.Tests.Core;

/// <summary>The helper protocol both ends share: every command line and every reply survives the trip.</summary>
public sealed class HelperProtocolTests
{
    public static TheoryData<HelperCommandLine> CommandLines() =>
    [
        new(new FactsCommand()) { Json = true },
        new(new VersionCommand()),
        new(new StageCommand("/m/manifest.json")),
        new(new StageCommand("/var/lib/anemos/upload/manifest.json")
        {
            From = "/var/lib/anemos/upload",
            Network = Capture.None,
            BootDisk = Capture.None,
            HostKeys = Capture.None,
            LoginKeys = Capture.None,
            Segments = ["/run/a b.cpio", "/run/it's.cpio"],
            TargetDisk = "/dev/nvme0n1",
            KeepConsole = false,
            SecretsOnStandardInput = true,
            Preflight = true,
        }) { StateDirectory = "/srv/state with space", Json = true, Root = "/tmp/root", RunDirectory = "/run/anemos test" },
        new(new BootCommand(DryRun: true)) { Json = true },
        new(new BootCommand(DryRun: false)),
        new(new UnloadCommand()),
        new(new StatusCommand()) { Json = true },
        new(new CollectGarbageCommand()),
        new(new DiscardCommand()) { Json = true },
        new(new HoldCommand("ops@laptop -- 'quoted'")),
        new(new HoldCommand("ops@laptop") { WithFacts = true }) { Json = true },
    ];

    [Theory]
    [MemberData(nameof(CommandLines))]
    public void EveryCommandLineParsesBackToItself(HelperCommandLine commandLine)
    {
        var arguments = commandLine.ToArguments();
        var parsed = HelperCommandLine.Parse(arguments);

        Assert.Equal(commandLine.Command.GetType(), parsed.Command.GetType());
        Assert.Equal(commandLine.StateDirectory, parsed.StateDirectory);
        Assert.Equal(commandLine.Json, parsed.Json);
        Assert.Equal(commandLine.Root, parsed.Root);
        Assert.Equal(commandLine.RunDirectory, parsed.RunDirectory);
        Assert.Equal(arguments, parsed.ToArguments());
        if (commandLine.Command is StageCommand stage)
        {
            var back = Assert.IsType<StageCommand>(parsed.Command);
            Assert.Equal((stage.Manifest, stage.From, stage.Network, stage.BootDisk, stage.KeepConsole, stage.SecretsOnStandardInput, stage.Preflight, stage.HostKeys, stage.LoginKeys),
                (back.Manifest, back.From, back.Network, back.BootDisk, back.KeepConsole, back.SecretsOnStandardInput, back.Preflight, back.HostKeys, back.LoginKeys));
            Assert.Equal(stage.Segments, back.Segments);
            Assert.Equal(stage.TargetDisk, back.TargetDisk);
        }
        else
        {
            Assert.Equal(commandLine.Command, parsed.Command);
        }
    }

    [Fact]
    public void GlobalOptionsMayStandAnywhereAndTheStateHasOneDefault()
    {
        var parsed = HelperCommandLine.Parse(["boot", "--json", "--dry-run", "--state", "/s"]);
        Assert.Equal(new BootCommand(DryRun: true), parsed.Command);
        Assert.Equal(("/s", true), (parsed.StateDirectory, parsed.Json));
        Assert.Equal("/var/lib/anemos", HelperCommandLine.Parse(["facts"]).StateDirectory);
    }

    [Theory]
    [InlineData("Unknown command 'frobnicate'. Commands: facts, stage --manifest FILE [--from DIR] [--network auto|none] [--boot-disk auto|none] [--host-keys auto|none] [--login-keys auto|none] [--segment FILE] [--secrets -] [--preflight], boot [--dry-run], discard, unload, status, gc, hold --owner TEXT [--facts], --version.", "frobnicate")]
    [InlineData("--secrets takes '-': the secrets segment comes on stdin, never from a file.", "stage", "--manifest", "m", "--secrets", "/tmp/secrets.cpio")]
    [InlineData("stage needs --manifest FILE.", "stage")]
    [InlineData("--network is 'dhcp'; use auto or none.", "stage", "--manifest", "m", "--network", "dhcp")]
    [InlineData("--boot-disk is 'sda'; use auto or none.", "stage", "--manifest", "m", "--boot-disk", "sda")]
    [InlineData("--login-keys is 'mine'; use auto or none.", "stage", "--manifest", "m", "--login-keys", "mine")]
    [InlineData("hold needs --owner TEXT (who deploys: user@machine).", "hold")]
    [InlineData("--state needs a value.", "facts", "--state")]
    [InlineData("Unknown arguments: --force.", "boot", "--force")]
    public void AMisunderstoodCommandLineSaysWhatIsWrong(string message, params string[] arguments)
    {
        var error = Assert.Throws<HelperUsageException>(() => HelperCommandLine.Parse(arguments));
        Assert.Equal(message, error.Message);
    }

    static readonly Facts SampleFacts = new()
    {
        HelperVersion = "1.2.3",
        Architecture = "x64",
        KernelRelease = "6.1.0-13-amd64",
        Libc = "glibc",
        Root = true,
        MemTotalBytes = 4L << 30,
        MemAvailableBytes = 3L << 30,
        Kexec = new KexecFacts { LoadDisabled = false, Loaded = false, FileLoadConfigured = true, SignatureRequired = false },
        Lockdown = "none",
        SecureBoot = false,
        InitSystem = "systemd",
        ConsoleArguments = ["console=ttyS0,115200"],
        StateDirectory = "/var/lib/anemos",
        StateFreeBytes = 10L << 30,
        CachedSha256 = [new string('a', 64)],
        HttpsAvailable = true,
        Network = new NetworkSnapshot
        {
            Interfaces = [new NetworkInterfaceFact("eth0", "52:54:00:12:34:56", true, [new AddressFact("10.0.2.15", 24, true), new AddressFact("2001:db8::5", 64, false)])],
            Routes = [new RouteFact("default", "fe80::1", "eth0")],
            Dns = ["10.0.2.3"],
        },
        BootDisk = new BootDiskFact { Device = "vda", Via = "vda2", Serial = "disk-1", PtUuid = "0a0b0c0d", PtType = "msdos", Size = 8L << 30 },
    };

    static readonly StagedState SampleStaged = new()
    {
        Host = "x",
        ManifestSha256 = new string('1', 64),
        KernelPath = "/var/lib/anemos/cache/sha256/" + new string('2', 64),
        KernelSha256 = new string('2', 64),
        InitramfsPath = "/var/lib/anemos/staged/initramfs.img",
        ProvenSha256 = new string('3', 64),
        ProvenSize = 1234,
        InitramfsSha256 = new string('4', 64),
        InitramfsSize = 2345,
        CommandLine = "console=ttyS0 anemos.host=x",
        Segments = ["network", "secrets"],
        StagedAt = "2026-01-01T00:00:00Z",
    };

    public static TheoryData<HelperResult> Replies() =>
    [
        new() { Ok = true, Message = "1.2.3" },
        new() { Ok = true, Facts = SampleFacts },
        new() { Ok = true, Staged = SampleStaged, Message = "staged" },
        new() { Ok = true, Staged = SampleStaged, KexecLoaded = false, Message = "staged host x" },
        new() { Ok = true, Removed = [new string('5', 64)], Message = "removed 1 cache entries" },
        new() { Ok = false, Code = "ANEMOS5013", Message = "Not enough memory." },
    ];

    [Theory]
    [MemberData(nameof(Replies))]
    public void EveryReplyReadsBackAsTheHelperWroteIt(HelperResult reply)
    {
        // As the helper prints it: progress lines may come first, then the one object.
        string printed = "progress: fetching\n" + JsonSerializer.Serialize(reply, HelperJsonContext.Default.HelperResult);
        var read = HelperClient.ParseReply(printed);

        Assert.NotNull(read);
        Assert.Equal(JsonSerializer.Serialize(reply, HelperJsonContext.Default.HelperResult), JsonSerializer.Serialize(read, HelperJsonContext.Default.HelperResult));
        Assert.Equal(reply.Facts?.HelperVersion, HelperClient.ParseVersion(printed));
    }

    [Fact]
    public void TheVersionOfAHelperWithOtherFactsIsStillRead()
    {
        // A helper of another major: a fact this SDK requires is missing, another is new.
        const string other = """{ "ok": true, "facts": { "helperVersion": "9.0.0", "architecture": "x64", "quantumEntropy": 7 } }""";
        Assert.Null(HelperClient.ParseReply(other)?.Facts);
        Assert.Equal("9.0.0", HelperClient.ParseVersion(other));
        Assert.Null(HelperClient.ParseReply("bash: anemos-kexec: command not found"));
        Assert.Null(HelperClient.ParseVersion("{ not json"));
    }

    [Theory]
    [InlineData("/dev/sda", "/dev/sda")]
    [InlineData(" /dev/nvme0n1 ", "/dev/nvme0n1")]
    [InlineData("/dev/disk/by-id/virtio-anemos-disk0", null)] // an identity already: the init resolves it
    [InlineData("/dev/", null)]
    [InlineData("", null)]
    [InlineData(null, null)]
    public void StageDescribesATargetDiskOnlyWhenItIsAKernelName(string? targetDisk, string? described) =>
        Assert.Equal(described, StageCommand.TargetDiskToDescribe(targetDisk));
}
