namespace Anemos.Core.Protocol;

/// <summary>A command line the helper refuses: ANEMOS5000 on the host, with this text.</summary>
public sealed class HelperUsageException(string message) : Exception(message);

/// <summary>
/// One helper command with its options (docs/helper.md). The deploy builds these and the helper
/// parses them back, through <see cref="HelperCommandLine"/>: one grammar for both ends.
/// </summary>
public abstract record HelperCommand
{
    public abstract string Name { get; }

    /// <summary>The command's own options, after its name.</summary>
    internal virtual IEnumerable<string> Options() => [];
}

public sealed record FactsCommand : HelperCommand
{
    public override string Name => "facts";
}

public sealed record VersionCommand : HelperCommand
{
    public override string Name => "--version";
}

/// <summary>Whether `stage` captures a part of the running system for the deploy init.</summary>
public enum Capture { Auto, None }

public sealed record StageCommand(string Manifest) : HelperCommand
{
    public override string Name => "stage";
    /// <summary>A folder holding uploaded artifacts by sha256 (and the manifest).</summary>
    public string? From { get; init; }
    public Capture Network { get; init; } = Capture.Auto;
    public Capture BootDisk { get; init; } = Capture.Auto;
    /// <summary>
    /// The host's TargetDisk when it is a kernel name (/dev/sda): the deploy kernel may name the disks
    /// in another order, so stage describes this disk of the running system for the init to find by identity.
    /// </summary>
    public string? TargetDisk { get; init; }

    /// <summary>
    /// The host's TargetDisk when stage must describe it: a kernel name (/dev/sda, /dev/nvme0n1).
    /// A /dev/disk/by-id/NAME already names an identity, which the deploy init resolves itself.
    /// </summary>
    public static string? TargetDiskToDescribe(string? targetDisk) =>
        targetDisk?.Trim() is { } path && path.StartsWith("/dev/", StringComparison.Ordinal) && path.Length > "/dev/".Length && !path["/dev/".Length..].Contains('/')
            ? path : null;

    /// <summary>The running system's ssh host keys, for the deploy environment's ssh (in RAM only, like the secrets).</summary>
    public Capture HostKeys { get; init; } = Capture.Auto;
    /// <summary>The keys that could log in to the running system as the deploy's user, for the deploy environment's root (docs/helper.md, stage).</summary>
    public Capture LoginKeys { get; init; } = Capture.Auto;
    /// <summary>Host-side segments appended after the proven initramfs (the secrets).</summary>
    public IReadOnlyList<string> Segments { get; init; } = [];
    /// <summary>Carry the running kernel's console= arguments into the deploy kernel.</summary>
    public bool KeepConsole { get; init; } = true;
    /// <summary>The secrets segment comes on standard input (never from a file) and is kept in RAM only.</summary>
    public bool SecretsOnStandardInput { get; init; }
    /// <summary>
    /// Then run `boot --dry-run`'s checks in the same process, on what it has just proven (no second
    /// hash pass, no second helper start): a refusal there is the refusal `boot` would give.
    /// </summary>
    public bool Preflight { get; init; }

    internal override IEnumerable<string> Options()
    {
        yield return "--manifest";
        yield return Manifest;
        if (From is not null) { yield return "--from"; yield return From; }
        if (Network != Capture.Auto) { yield return "--network"; yield return Network.ToString().ToLowerInvariant(); }
        if (BootDisk != Capture.Auto) { yield return "--boot-disk"; yield return BootDisk.ToString().ToLowerInvariant(); }
        if (TargetDisk is not null) { yield return "--target-disk"; yield return TargetDisk; }
        if (HostKeys != Capture.Auto) { yield return "--host-keys"; yield return HostKeys.ToString().ToLowerInvariant(); }
        if (LoginKeys != Capture.Auto) { yield return "--login-keys"; yield return LoginKeys.ToString().ToLowerInvariant(); }
        foreach (string segment in Segments) { yield return "--segment"; yield return segment; }
        if (!KeepConsole) yield return "--no-console";
        if (SecretsOnStandardInput) { yield return "--secrets"; yield return "-"; }
        if (Preflight) yield return "--preflight";
    }
}

public sealed record BootCommand(bool DryRun) : HelperCommand
{
    public override string Name => "boot";
    internal override IEnumerable<string> Options() => DryRun ? ["--dry-run"] : [];
}

public sealed record UnloadCommand : HelperCommand
{
    public override string Name => "unload";
}

public sealed record StatusCommand : HelperCommand
{
    public override string Name => "status";
}

public sealed record CollectGarbageCommand : HelperCommand
{
    public override string Name => "gc";
}

/// <summary>What a dry run ends with: the staged initramfs holding the deploy's secrets is deleted.</summary>
public sealed record DiscardCommand : HelperCommand
{
    public override string Name => "discard";
}

/// <summary>Holds the host's deploy lock while its standard input stays open.</summary>
public sealed record HoldCommand(string Owner) : HelperCommand
{
    public override string Name => "hold";
    /// <summary>Answer with the host's facts once the lock is held: a deploy's first look costs one helper start, not two.</summary>
    public bool WithFacts { get; init; }

    internal override IEnumerable<string> Options()
    {
        yield return "--owner";
        yield return Owner;
        if (WithFacts) yield return "--facts";
    }
}

/// <summary>The helper's whole command line: the global options and one command.</summary>
public sealed record HelperCommandLine(HelperCommand Command)
{
    public string StateDirectory { get; init; } = HelperStateLayout.DefaultDirectory;
    /// <summary>One JSON object on stdout (<see cref="HelperResult"/>), the progress on stderr.</summary>
    public bool Json { get; init; }
    /// <summary>Read the system's files under this folder instead of / (tests).</summary>
    public string? Root { get; init; }
    /// <summary>The RAM-backed folder for the secrets (default: the helper's own under /run).</summary>
    public string? RunDirectory { get; init; }

    const string Commands = "facts, stage --manifest FILE [--from DIR] [--network auto|none] [--boot-disk auto|none] [--host-keys auto|none] [--login-keys auto|none] [--segment FILE] [--secrets -] [--preflight], boot [--dry-run], discard, unload, status, gc, hold --owner TEXT [--facts], --version";

    public IReadOnlyList<string> ToArguments()
    {
        var arguments = new List<string> { "--state", StateDirectory };
        if (Root is not null) arguments.AddRange(["--root", Root]);
        if (RunDirectory is not null) arguments.AddRange(["--run", RunDirectory]);
        if (Json) arguments.Add("--json");
        arguments.Add(Command.Name);
        arguments.AddRange(Command.Options());
        return arguments;
    }

    /// <summary>Reads a command line as the helper gets it; <see cref="HelperUsageException"/> for one it does not understand.</summary>
    public static HelperCommandLine Parse(IEnumerable<string> args)
    {
        var arguments = new List<string>(args);
        bool json = Take(arguments, "--json");
        string state = Value(arguments, "--state") ?? HelperStateLayout.DefaultDirectory;
        string? root = Value(arguments, "--root");
        string? run = Value(arguments, "--run");
        string name = arguments.Count > 0 ? arguments[0] : "";
        arguments.RemoveRange(0, Math.Min(1, arguments.Count));
        HelperCommand command = name switch
        {
            "--version" or "version" => new VersionCommand(),
            "facts" => new FactsCommand(),
            "stage" => ParseStage(arguments),
            "boot" => new BootCommand(Take(arguments, "--dry-run")),
            "unload" => new UnloadCommand(),
            "status" => new StatusCommand(),
            "gc" => new CollectGarbageCommand(),
            "discard" => new DiscardCommand(),
            "hold" => new HoldCommand(Value(arguments, "--owner") ?? throw new HelperUsageException("hold needs --owner TEXT (who deploys: user@machine).")) { WithFacts = Take(arguments, "--facts") },
            _ => throw new HelperUsageException($"Unknown command '{name}'. Commands: {Commands}."),
        };
        if (arguments.Count > 0) throw new HelperUsageException($"Unknown arguments: {string.Join(' ', arguments)}.");
        return new HelperCommandLine(command) { StateDirectory = state, Json = json, Root = root, RunDirectory = run };
    }

    static StageCommand ParseStage(List<string> options)
    {
        string manifest = Value(options, "--manifest") ?? throw new HelperUsageException("stage needs --manifest FILE.");
        string? from = Value(options, "--from");
        var network = ParseCapture(options, "--network");
        var bootDisk = ParseCapture(options, "--boot-disk");
        string? targetDisk = Value(options, "--target-disk");
        var hostKeys = ParseCapture(options, "--host-keys");
        var loginKeys = ParseCapture(options, "--login-keys");
        var segments = new List<string>();
        while (Value(options, "--segment") is { } segment) segments.Add(segment);
        bool keepConsole = !Take(options, "--no-console");
        bool secrets = Value(options, "--secrets") switch
        {
            null => false,
            "-" => true,
            _ => throw new HelperUsageException("--secrets takes '-': the secrets segment comes on stdin, never from a file."),
        };
        bool preflight = Take(options, "--preflight");
        return new StageCommand(manifest) { From = from, Network = network, BootDisk = bootDisk, TargetDisk = targetDisk, HostKeys = hostKeys, LoginKeys = loginKeys, Segments = segments, KeepConsole = keepConsole, SecretsOnStandardInput = secrets, Preflight = preflight };
    }

    static Capture ParseCapture(List<string> options, string option) => Value(options, option) switch
    {
        null or "auto" => Capture.Auto,
        "none" => Capture.None,
        var other => throw new HelperUsageException($"{option} is '{other}'; use auto or none."),
    };

    static bool Take(List<string> list, string flag) => list.Remove(flag);

    static string? Value(List<string> list, string option)
    {
        int index = list.IndexOf(option);
        if (index < 0) return null;
        if (index + 1 >= list.Count) throw new HelperUsageException($"{option} needs a value.");
        string value = list[index + 1];
        list.RemoveRange(index, 2);
        return value;
    }
}
