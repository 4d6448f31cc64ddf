using System.Text.Json;
using Anemos.Core;
using Anemos.Core.Protocol;
using Anemos.Kexec;

// anemos-kexec: the host helper (docs/helper.md). Plain text for a person, one JSON object with --json.
Anemos.Core.Hashing.Sha256Hash.UseManaged = !OpenSsl.Available;
// Known before the command line is understood, so even a usage error answers in the form asked for.
bool json = args.Contains("--json");
string state = HelperStateLayout.DefaultDirectory;
var files = new SystemFiles("/");
var secretsFolder = new SecretsFolder(SecretsFolder.DefaultDirectory, state, files);
Native.RestrictNewFiles();
Action<string> report = json ? line => Console.Error.WriteLine(line) : line => Console.WriteLine(line);

try
{
    var commandLine = HelperCommandLine.Parse(args);
    state = commandLine.StateDirectory;
    files = new SystemFiles(commandLine.Root ?? "/");
    secretsFolder = new SecretsFolder(commandLine.RunDirectory ?? SecretsFolder.DefaultDirectory, state, files);
    HelperResult result = commandLine.Command switch
    {
        VersionCommand => Say(new HelperResult { Ok = true, Message = HelperVersion.Current }),
        FactsCommand => Say(new HelperResult { Ok = true, Facts = FactsReader.Collect(files, state, HostNetwork.Read(files)) }),
        StageCommand stage => Stage(stage),
        BootCommand boot => Boot(boot),
        UnloadCommand => Unload(),
        StatusCommand => Status(),
        CollectGarbageCommand => CollectGarbage(),
        DiscardCommand => Discard(),
        HoldCommand hold => Hold(hold),
        var other => throw new HelperException(HelperCodes.Usage, $"The command '{other.Name}' is not implemented."),
    };
    return ExitCodes.Success;
}
catch (HelperUsageException e)
{
    Fail(HelperCodes.Usage, e.Message);
    return ExitCodes.Usage;
}
catch (HelperException e)
{
    Fail(e.Code, e.Message);
    return e.Code == HelperCodes.Usage ? ExitCodes.Usage : ExitCodes.Refused;
}
catch (Exception e)
{
    Fail(HelperCodes.Internal, $"{e.GetType().Name}: {e.Message}. This is a bug in anemos-kexec; nothing was loaded.");
    return ExitCodes.Internal;
}

HelperResult Stage(StageCommand command)
{
    EnsureStateFolder();
    using var stateLock = StateLock.Acquire(state);
    SweepSecrets();
    // Refused before any secret is received: a TargetDisk the running system cannot name is the deploy's mistake.
    string? targetDisk = command.TargetDisk is { } target ? TargetDiskReader.Describe(files, target) : null;
    string? secretsSegment = command.SecretsOnStandardInput ? secretsFolder.Receive(Console.OpenStandardInput(), report) : null;
    string? networkConf = command.Network == Capture.Auto && HostNetwork.Read(files) is { Interfaces.Length: > 0 } snapshot ? snapshot.ToNetworkConf() : null;
    // Only a disk the deploy init can recognise (a serial, wwid or partition table id) is worth a segment.
    string? bootDisk = command.BootDisk == Capture.Auto && BootDiskReader.Find(files) is { Identifiable: true } disk ? disk.ToBootDiskFile() : null;
    if (bootDisk is null && command.BootDisk == Capture.Auto) report("boot disk: not identifiable; the deploy init decides without it");
    string? hostKeys = command.HostKeys == Capture.Auto ? secretsFolder.WriteHostKeys(HostKeyFiles.Read(files), report) : null;
    var loginKeys = command.LoginKeys == Capture.Auto ? LoginKeys.Read(files, LoginKeys.LoginUserId()) : null;
    if (loginKeys is not null) report($"login keys: {loginKeys.Summary}");
    string[] console = command.KeepConsole ? FactsReader.ConsoleArguments(files.Read("/proc/cmdline") ?? "") : [];
    StagedState staged;
    try { staged = new Stager(state, report, secretsFolder).Stage(command.Manifest, command.From, networkConf, command.Segments, console, bootDisk, secretsSegment, hostKeys, loginKeys, targetDisk); }
    finally { SweepSecrets(); }
    // What `boot --dry-run` would check, in this process and on the bytes just proven.
    if (command.Preflight) new Booter(state, files, report).Check(staged);
    return Say(new HelperResult { Ok = true, Staged = staged, Message = command.Preflight ? "staged; every check boot makes passed" : "staged" });
}

HelperResult Boot(BootCommand command)
{
    bool dryRun = command.DryRun;
    EnsureStateFolder();
    using var stateLock = StateLock.Acquire(state);
    SweepSecrets();
    new Booter(state, files, report).Boot(dryRun);
    return Say(new HelperResult { Ok = true, Message = dryRun ? "dry run: every check passed; nothing was loaded" : "handed over" });
}

HelperResult Unload()
{
    int errno = Native.KexecUnload();
    if (errno != 0) throw new HelperException(HelperCodes.LoadFailed, $"Unloading failed: {Native.Describe(errno)}.");
    return Say(new HelperResult { Ok = true, Message = "no kernel is loaded" });
}

HelperResult Status()
{
    string path = Path.Combine(state, HelperStateLayout.StagedState);
    var staged = File.Exists(path) ? JsonSerializer.Deserialize(File.ReadAllText(path), HelperJsonContext.Default.StagedState) : null;
    bool? loaded = files.Read("/sys/kernel/kexec_loaded")?.Trim() == "1";
    return Say(new HelperResult { Ok = true, Staged = staged, KexecLoaded = loaded, Message = staged is null ? "nothing staged" : $"staged host {staged.Host}" });
}

// `discard`: what a dry run ends with: the initramfs with the deploy's secrets is deleted (and the
// state naming it); without secrets, what is staged stays.
HelperResult Discard()
{
    EnsureStateFolder();
    using var stateLock = StateLock.Acquire(state);
    new Booter(state, files, report).Forget();
    SweepSecrets();
    return Say(new HelperResult { Ok = true, Message = "no secrets are kept on this host" });
}

// Every command under the state lock removes secrets nothing staged names: a deploy that failed
// between stage and boot, or an older helper's files, leave none behind for long.
void SweepSecrets()
{
    string? keep = null;
    string statePath = Path.Combine(state, HelperStateLayout.StagedState);
    try
    {
        if (File.Exists(statePath) && JsonSerializer.Deserialize(File.ReadAllText(statePath), HelperJsonContext.Default.StagedState) is { } staged)
        {
            if (secretsFolder.Holds(staged.InitramfsPath)) keep = staged.InitramfsPath;
            else if (staged.Segments.Contains("secrets.cpio"))
            {
                // An older helper appended the secrets into the state folder.
                AtomicFile.TryDelete(statePath);
                AtomicFile.TryDelete(staged.InitramfsPath);
            }
        }
    }
    catch (JsonException) { }
    secretsFolder.Sweep(keep);
}

HelperResult CollectGarbage()
{
    EnsureStateFolder();
    using var stateLock = StateLock.Acquire(state);
    SweepSecrets();
    string cache = Path.Combine(state, HelperStateLayout.Cache);
    var keep = new HashSet<string>(StringComparer.Ordinal);
    string manifestPath = Path.Combine(state, HelperStateLayout.StagedManifest);
    if (File.Exists(Path.Combine(state, HelperStateLayout.StagedState)) && File.Exists(manifestPath))
    {
        var manifest = Anemos.Core.Manifest.AnemosManifest.Parse(File.ReadAllText(manifestPath));
        foreach (var (_, artifact) in manifest.Artifacts()) keep.Add(artifact.Sha256);
    }
    var removed = new List<string>();
    if (Directory.Exists(cache))
        foreach (string file in Directory.EnumerateFiles(cache).Where(f => !keep.Contains(Path.GetFileName(f))).ToList())
        {
            File.Delete(file);
            removed.Add(Path.GetFileName(file));
        }
    // A proof record goes with its entry.
    string proofs = CacheProof.Directory(state);
    if (Directory.Exists(proofs))
        foreach (string proof in Directory.EnumerateFiles(proofs).Where(p => !File.Exists(Path.Combine(cache, Path.GetFileName(p)))).ToList())
            File.Delete(proof);
    string temporary = Path.Combine(state, HelperStateLayout.Temporary);
    foreach (string stale in Directory.Exists(temporary) ? Directory.EnumerateFiles(temporary).ToList() : [])
        File.Delete(stale);
    return Say(new HelperResult { Ok = true, Removed = removed.ToArray(), Message = $"removed {removed.Count} cache entries" });
}

// `hold`: the deploy's lock on the host, held while stdin stays open, so it ends with the
// deploy's ssh connection however that ends. A second deploy is refused with the holder's name.
HelperResult Hold(HoldCommand command)
{
    string owner = command.Owner;
    EnsureStateFolder();
    using var deployLock = DeployLock.Acquire(state, owner);
    // A deploy starts here: secrets an earlier one left (it failed between stage and boot) go now.
    using (var stateLock = OwnedFileLockOrNull()) if (stateLock is not null) SweepSecrets();
    // With --facts the first reply carries the facts, collected under the lock.
    var held = new HelperResult { Ok = true, Message = "held by " + owner, Facts = command.WithFacts ? FactsReader.Collect(files, state, HostNetwork.Read(files)) : null };
    // The command runs on: its reply is one line, which the deploy reads as its first.
    if (json) Console.WriteLine(JsonSerializer.Serialize(held, HelperJsonContext.OneLine.HelperResult));
    else Say(held);
    Console.Out.Flush();
    using var input = Console.OpenStandardInput();
    input.CopyTo(Stream.Null);
    return new HelperResult { Ok = true, Message = "released" };
}

OwnedFileLock? OwnedFileLockOrNull()
{
    try { return StateLock.Acquire(state); }
    catch (HelperException) { return null; }
}

// Checked (never chmodded) before anything in it is trusted: docs/helper.md, "State folder".
void EnsureStateFolder() => StateFolder.Ensure(state);

HelperResult Say(HelperResult result)
{
    if (json) Console.WriteLine(JsonSerializer.Serialize(result, HelperJsonContext.Default.HelperResult));
    else if (result.Facts is { } facts) Console.WriteLine(JsonSerializer.Serialize(facts, HelperJsonContext.Default.Facts));
    else if (result.Message is { } message) Console.WriteLine(message);
    return result;
}

void Fail(string code, string message)
{
    // One line, as the reply of a `hold` that is read as its first line.
    if (json) Console.WriteLine(JsonSerializer.Serialize(new HelperResult { Ok = false, Code = code, Message = message }, HelperJsonContext.OneLine.HelperResult));
    else Console.Error.WriteLine($"anemos-kexec: error {code}: {message}");
}
