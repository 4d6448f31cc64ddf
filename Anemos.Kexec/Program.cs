using System.Diagnostics;
using System.Text.Json;
using Anemos.Core;
using Anemos.Kexec;

// anemos-kexec: the host helper (docs/helper.md). Plain text for a person, one JSON object with --json.
Anemos.Core.Hashing.Sha256Hash.UseManaged = !OpenSsl.Available;
var arguments = new List<string>(args);
bool json = Take(arguments, "--json");
string state = Value(arguments, "--state") ?? "/var/lib/anemos";
var secretsFolder = new SecretsFolder(Value(arguments, "--run") ?? SecretsFolder.DefaultDirectory, state);
Native.RestrictNewFiles();
var files = new SystemFiles(Value(arguments, "--root") ?? "/");
Action<string> report = json ? line => Console.Error.WriteLine(line) : line => Console.WriteLine(line);

try
{
    string command = arguments.Count > 0 ? arguments[0] : "";
    arguments.RemoveRange(0, Math.Min(1, arguments.Count));
    HelperResult result = command switch
    {
        "--version" or "version" => Say(new HelperResult { Ok = true, Message = HelperVersion.Current }),
        "facts" => Say(new HelperResult { Ok = true, Facts = FactsReader.Collect(files, state, Network(files)) }),
        "stage" => Stage(arguments),
        "boot" => Boot(arguments),
        "unload" => Unload(),
        "status" => Status(),
        "gc" => CollectGarbage(),
        "discard" => Discard(),
        "hold" => Hold(arguments),
        _ => throw new HelperException(HelperCodes.Usage, $"Unknown command '{command}'. Commands: facts, stage --manifest FILE [--from DIR] [--network auto|none] [--boot-disk auto|none] [--segment FILE] [--secrets -], boot [--dry-run], discard, unload, status, gc, hold --owner TEXT, --version."),
    };
    return ExitCodes.Success;
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

HelperResult Stage(List<string> options)
{
    string manifest = Value(options, "--manifest") ?? throw new HelperException(HelperCodes.Usage, "stage needs --manifest FILE.");
    string? from = Value(options, "--from");
    string network = Value(options, "--network") ?? "auto";
    string bootDiskOption = Value(options, "--boot-disk") ?? "auto";
    var segments = new List<string>();
    while (Value(options, "--segment") is { } segment) segments.Add(segment);
    bool keepConsole = !Take(options, "--no-console");
    string? secretsInput = Value(options, "--secrets");
    if (secretsInput is not null and not "-") throw new HelperException(HelperCodes.Usage, "--secrets takes '-': the secrets segment comes on stdin, never from a file.");
    Refuse(options);

    EnsureStateFolder();
    using var stateLock = StateLock.Acquire(state);
    SweepSecrets();
    string? secretsSegment = secretsInput is null ? null : secretsFolder.Receive(Console.OpenStandardInput());
    string? networkConf = network switch
    {
        "none" => null,
        "auto" => Network(files) is { Interfaces.Length: > 0 } snapshot ? snapshot.ToNetworkConf() : null,
        _ => throw new HelperException(HelperCodes.Usage, $"--network is '{network}'; use auto or none."),
    };
    string? bootDisk = bootDiskOption switch
    {
        "none" => null,
        // Only a disk the deploy init can recognise (a serial, wwid or partition table id) is worth a segment.
        "auto" => BootDiskReader.Find(files) is { Identifiable: true } disk ? disk.ToBootDiskFile() : null,
        _ => throw new HelperException(HelperCodes.Usage, $"--boot-disk is '{bootDiskOption}'; use auto or none."),
    };
    if (bootDisk is null && bootDiskOption == "auto") report("boot disk: not identifiable; the deploy init decides without it");
    string[] console = keepConsole ? FactsReader.ConsoleArguments(files.Read("/proc/cmdline") ?? "") : [];
    StagedState staged;
    try { staged = new Stager(state, report, secretsFolder).Stage(manifest, from, networkConf, segments, console, bootDisk, secretsSegment); }
    finally { SweepSecrets(); }
    return Say(new HelperResult { Ok = true, Staged = staged, Message = "staged" });
}

HelperResult Boot(List<string> options)
{
    bool dryRun = Take(options, "--dry-run");
    Refuse(options);
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
    string path = Path.Combine(state, "staged", "state.json");
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
    string statePath = Path.Combine(state, "staged", "state.json");
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
    string cache = Path.Combine(state, "cache", "sha256");
    var keep = new HashSet<string>(StringComparer.Ordinal);
    string manifestPath = Path.Combine(state, "staged", "manifest.json");
    if (File.Exists(Path.Combine(state, "staged", "state.json")) && File.Exists(manifestPath))
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
    foreach (string stale in Directory.Exists(Path.Combine(state, "tmp")) ? Directory.EnumerateFiles(Path.Combine(state, "tmp")).ToList() : [])
        File.Delete(stale);
    return Say(new HelperResult { Ok = true, Removed = removed.ToArray(), Message = $"removed {removed.Count} cache entries" });
}

// `hold`: the deploy's lock on the host, held while stdin stays open, so it ends with the
// deploy's ssh connection however that ends. A second deploy is refused with the holder's name.
HelperResult Hold(List<string> options)
{
    string owner = Value(options, "--owner") ?? throw new HelperException(HelperCodes.Usage, "hold needs --owner TEXT (who deploys: user@machine).");
    Refuse(options);
    EnsureStateFolder();
    using var deployLock = DeployLock.Acquire(state, owner);
    // A deploy starts here: secrets an earlier one left (it failed between stage and boot) go now.
    using (var stateLock = OwnedFileLockOrNull()) if (stateLock is not null) SweepSecrets();
    Say(new HelperResult { Ok = true, Message = "held by " + owner });
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

NetworkSnapshot Network(SystemFiles system)
{
    if (system.Root != "/") return NetworkSnapshot.Empty;
    string? Ip(params string[] ipArguments)
    {
        try
        {
            var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string a in ipArguments) start.ArgumentList.Add(a);
            using var process = Process.Start(start);
            if (process is null) return null;
            string output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception) { return null; }
    }
    return NetworkSnapshot.Parse(Ip("-j", "addr", "show"), Ip("-j", "-4", "route", "show"), Ip("-j", "-6", "route", "show"), system.Read("/etc/resolv.conf"));
}

HelperResult Say(HelperResult result)
{
    if (json) Console.WriteLine(JsonSerializer.Serialize(result, HelperJsonContext.Default.HelperResult));
    else if (result.Facts is { } facts) Console.WriteLine(JsonSerializer.Serialize(facts, HelperJsonContext.Default.Facts));
    else if (result.Message is { } message) Console.WriteLine(message);
    return result;
}

void Fail(string code, string message)
{
    if (json) Console.WriteLine(JsonSerializer.Serialize(new HelperResult { Ok = false, Code = code, Message = message }, HelperJsonContext.Default.HelperResult));
    else Console.Error.WriteLine($"anemos-kexec: error {code}: {message}");
}

static bool Take(List<string> list, string flag) => list.Remove(flag);

static string? Value(List<string> list, string option)
{
    int index = list.IndexOf(option);
    if (index < 0) return null;
    if (index + 1 >= list.Count) throw new HelperException(HelperCodes.Usage, $"{option} needs a value.");
    string value = list[index + 1];
    list.RemoveRange(index, 2);
    return value;
}

static void Refuse(List<string> left)
{
    if (left.Count > 0) throw new HelperException(HelperCodes.Usage, $"Unknown arguments: {string.Join(' ', left)}.");
}
