using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Init;

/// <summary>
/// Every failure of the deploy init carries a code (docs/errors.md, kind init). The steps host-env,
/// network, verify, unpack and run are functions of anemos-init (load_host_env, network_up,
/// verify_payload, unpack_payload, run_payload), run here by the guest's own busybox sh with the
/// applets alone on PATH, against bad inputs in a temp folder: each refusal's failed line, its result
/// line and the log. Under ANEMOS_INIT_FUNCTIONS, fail() stops after that report (no shell, ssh or
/// poweroff outside a deploy). The engine, where a step needs it, is the real one.
/// </summary>
public sealed partial class InitFailureCodeTests : IDisposable
{
    static readonly string Init = GuestBusybox.Init;
    readonly string _root = TestProject.NewDirectory();
    readonly string _applets;

    public InitFailureCodeTests()
    {
        _applets = GuestBusybox.InstallApplets(Path.Combine(_root, "applets"));
    }

    public void Dispose() { try { Directory.Delete(_root, recursive: true); } catch (IOException) { } }

    string PathOf(string name) => Path.Combine(_root, name);

    string Write(string name, string text)
    {
        string path = PathOf(name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    sealed record StepRun(int ExitCode, string Output, string Log);

    /// <summary>
    /// Sources the init and runs one step's function as the init's main body does: its state folder
    /// (here under the temp folder), STEP set, PATH the busybox applets (and <paramref name="extraPath"/>);
    /// then, when the step passed, the shell command <paramref name="after"/>.
    /// </summary>
    StepRun Step(string step, string function, IReadOnlyList<string> arguments, Dictionary<string, string?>? environment = null, string? extraPath = null, string? after = null)
    {
        var variables = new Dictionary<string, string?>
        {
            ["ANEMOS_INIT_FUNCTIONS"] = "1",
            // Nothing from this machine's environment decides what the init does after a failure or which network it wants.
            ["ANEMOS_ON_FAILURE"] = null, ["ANEMOS_NETWORK"] = null, ["ANEMOS_PAYLOAD_KIND"] = null,
            ["ANEMOS_HOST"] = null, ["ANEMOS_PAYLOAD"] = null, ["ANEMOS_PAYLOAD_SHA256"] = null,
        };
        foreach (var (name, value) in environment ?? new()) variables[name] = value;
        variables["TEST_AFTER"] = after;
        string path = _applets + (extraPath is null ? "" : ":" + extraPath);
        var result = ProcessRunner.Run(Path.Combine(_applets, "sh"),
            ["-c", """
                . "$0"
                PATH=$1
                ANEMOS_STATE=$2/run/anemos
                ANEMOS_LOG=$ANEMOS_STATE/deploy.log
                ANEMOS_WORK=$ANEMOS_STATE/payload
                ANEMOS_SECRETS=$2/anemos/secrets
                mkdir -p "$ANEMOS_STATE"
                : >"$ANEMOS_LOG"
                STEP=$3
                shift 3
                "$@"
                echo "step passed"
                [ -z "${TEST_AFTER:-}" ] || eval "$TEST_AFTER"
                """, Init, path, _root, step, function, .. arguments],
            workingDirectory: _root, environment: variables, timeout: TimeSpan.FromMinutes(2));
        string log = PathOf("run/anemos/deploy.log");
        return new StepRun(result.ExitCode, result.Output, File.Exists(log) ? File.ReadAllText(log) : "");
    }

    /// <summary>The run failed in <paramref name="step"/> with <paramref name="code"/>: its failed line (console and log) and result line. Returns the message after the code.</summary>
    static string Failed(StepRun run, string step, string code)
    {
        Assert.True(run.ExitCode == 1, $"exit code {run.ExitCode}\n{run.Output}");
        Assert.DoesNotContain("step passed", run.Output);
        var failed = Regex.Match(run.Output, $@"anemos\[{Regex.Escape(step)}\]: failed: (ANEMOS\d{{4}}): (.*)");
        Assert.True(failed.Success, run.Output);
        Assert.Equal(code, failed.Groups[1].Value);
        Assert.Contains(failed.Value, run.Log);
        Assert.Matches($@"(?m)^ANEMOS-RESULT fail host=\S+ payload=\S+ step={Regex.Escape(step)}$", run.Output);
        Assert.EndsWith($" step={step}\n", run.Log);
        return failed.Groups[2].Value;
    }

    static void Passed(StepRun run)
    {
        Assert.True(run.ExitCode == 0 && run.Output.Contains("step passed"), run.Output);
        Assert.DoesNotContain("ANEMOS-RESULT", run.Output);
    }

    const string HostEnv = "ANEMOS_HOST='vm'\nANEMOS_PAYLOAD_KIND='deploy'\n";

    [Fact]
    public void AMissingHostEnvIsANEMOS3132()
    {
        string message = Failed(Step("host-env", "load_host_env", [PathOf("anemos/host.env"), PathOf("anemos/rehearse.env")]), "host-env", "ANEMOS3132");
        Assert.Contains($"{PathOf("anemos/host.env")} is missing", message);
        Assert.Contains("boot the host's initramfs", message);
    }

    [Fact]
    public void AMissingHostEnvFollowsTheCommandLinesFailureActionNotTheShell()
    {
        // A rehearsal's kernel that could not unpack the overlay (too little memory) has no host.env:
        // anemos.on_failure=poweroff on the command line still ends the machine, instead of a shell
        // that waits for the rehearsal's timeout.
        string cmdline = Write("proc-cmdline", "console=ttyS0 anemos.on_success=poweroff anemos.on_failure=poweroff\n");
        var run = Step("host-env", "load_host_env", [PathOf("anemos/host.env"), PathOf("anemos/rehearse.env")], new() { ["ANEMOS_INIT_CMDLINE"] = cmdline });
        Failed(run, "host-env", "ANEMOS3132");
        Assert.Contains("then: poweroff", run.Output);

        var withoutCommandLine = Step("host-env", "load_host_env", [PathOf("anemos/host.env"), PathOf("anemos/rehearse.env")], new() { ["ANEMOS_INIT_CMDLINE"] = PathOf("no-cmdline") });
        Assert.Contains("then: shell", withoutCommandLine.Output);
    }

    [Fact]
    public void AHostEnvThatIsNotValidShellOrFailsIsANEMOS3133AndAGoodOneIsExported()
    {
        string hostEnv = Write("anemos/host.env", HostEnv + "ANEMOS_NETWORK='dhcp\n");
        string message = Failed(Step("host-env", "load_host_env", [hostEnv, PathOf("anemos/rehearse.env")]), "host-env", "ANEMOS3133");
        Assert.Contains("is not valid shell (", message);
        Assert.Contains("build the host again", message);

        Write("anemos/host.env", HostEnv + "false\n");
        Assert.Contains("could not be sourced", Failed(Step("host-env", "load_host_env", [hostEnv, PathOf("anemos/rehearse.env")]), "host-env", "ANEMOS3133"));

        Write("anemos/host.env", HostEnv);
        var good = Step("host-env", "load_host_env", [hostEnv, PathOf("anemos/rehearse.env")], after: """sh -c 'echo "exported host=$ANEMOS_HOST"'""");
        Passed(good);
        Assert.Contains("exported host=vm", good.Output);
    }

    [Fact]
    public void ABadRehearseEnvIsANEMOS3134()
    {
        string hostEnv = Write("anemos/host.env", HostEnv);
        string rehearseEnv = Write("anemos/rehearse.env", "MIRROR=(http://10.0.2.100/debian\n");
        string message = Failed(Step("host-env", "load_host_env", [hostEnv, rehearseEnv]), "host-env", "ANEMOS3134");
        Assert.Contains("is not valid shell (", message);
        Assert.Contains("rehearse again", message);

        Write("anemos/rehearse.env", "MIRROR=http://10.0.2.100/debian\nfalse\n");
        Assert.Contains("could not be sourced", Failed(Step("host-env", "load_host_env", [hostEnv, rehearseEnv]), "host-env", "ANEMOS3134"));
    }

    [Fact]
    public void AStaticNetworkWithoutASnapshotIsANEMOS3135()
    {
        string message = Failed(Step("network", "network_up", [PathOf("anemos/network.conf")], new() { ["ANEMOS_NETWORK"] = "static" }), "network", "ANEMOS3135");
        Assert.Contains($"no network snapshot {PathOf("anemos/network.conf")}", message);
        Assert.Contains("set Network to auto or dhcp", message);
    }

    [Fact]
    public void AnUnknownNetworkIsANEMOS3136()
    {
        string message = Failed(Step("network", "network_up", [PathOf("anemos/network.conf")], new() { ["ANEMOS_NETWORK"] = "wifi" }), "network", "ANEMOS3136");
        Assert.Contains("ANEMOS_NETWORK is 'wifi'", message);
        Assert.Contains("auto, dhcp, static or none", message);
    }

    [Fact]
    public void APayloadWithAnotherSha256IsANEMOS3137()
    {
        string payload = Write("anemos/payload.tar.gz", "not the payload host.env names\n");
        string actual = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(payload)));
        string expected = new('0', 64);
        string message = Failed(Step("verify", "verify_payload", [], new() { ["ANEMOS_PAYLOAD"] = payload, ["ANEMOS_PAYLOAD_SHA256"] = expected }), "verify", "ANEMOS3137");
        Assert.Contains($"has sha256 {actual}, but host.env expects {expected}", message);
        Assert.Contains("build the host again", message);

        File.Delete(payload);
        Assert.Contains("sha256 none (it cannot be read)", Failed(Step("verify", "verify_payload", [], new() { ["ANEMOS_PAYLOAD"] = payload, ["ANEMOS_PAYLOAD_SHA256"] = expected }), "verify", "ANEMOS3137"));

        Write("anemos/payload.tar.gz", "the payload\n");
        Passed(Step("verify", "verify_payload", [], new() { ["ANEMOS_PAYLOAD"] = payload, ["ANEMOS_PAYLOAD_SHA256"] = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(payload))) }));
    }

    /// <summary>A gzipped tar of the folder <paramref name="name"/> under the temp folder, by GNU tar.</summary>
    string Tar(string name)
    {
        string archive = PathOf(name + ".tar.gz");
        var tar = ProcessRunner.Run("tar", "-czf", archive, "-C", PathOf(name), ".");
        Assert.True(tar.ExitCode == 0, tar.ToString());
        return archive;
    }

    [Fact]
    public void APayloadThatIsNotAGzippedTarIsANEMOS3138()
    {
        string payload = Write("anemos/payload.tar.gz", "plain text, not gzip\n");
        string message = Failed(Step("unpack", "unpack_payload", [], new() { ["ANEMOS_PAYLOAD"] = payload }), "unpack", "ANEMOS3138");
        Assert.Contains($"could not unpack the payload {payload} into {PathOf("run/anemos/payload")} (", message);
        Assert.Contains("build the host again", message);

        Write("good/deploy", "#!/bin/sh\n");
        Passed(Step("unpack", "unpack_payload", [], new() { ["ANEMOS_PAYLOAD"] = Tar("good") }));
        Assert.True(File.Exists(PathOf("run/anemos/payload/deploy")));
    }

    [Fact]
    public void APayloadWithItsOwnSecretsFileIsANEMOS3139AndTheSecretsAreLinkedOtherwise()
    {
        Write("anemos/secrets/token", "s\n");
        Write("with-secrets/deploy", "#!/bin/sh\n");
        Write("with-secrets/secrets", "a file where the deploy's secrets go\n");
        string message = Failed(Step("unpack", "unpack_payload", [], new() { ["ANEMOS_PAYLOAD"] = Tar("with-secrets") }), "unpack", "ANEMOS3139");
        Assert.Contains($"could not link the deploy's secrets {PathOf("anemos/secrets")} as {PathOf("run/anemos/payload/secrets")} (", message);
        Assert.Contains("pack the payload with this SDK", message);

        Directory.Delete(PathOf("run"), recursive: true);
        Write("good/deploy", "#!/bin/sh\n");
        Passed(Step("unpack", "unpack_payload", [], new() { ["ANEMOS_PAYLOAD"] = Tar("good") }));
        Assert.Equal("s\n", File.ReadAllText(PathOf("run/anemos/payload/secrets/token")));
    }

    [Fact]
    public void AMissingPayloadFolderIsANEMOS3140()
    {
        // run_payload enters ANEMOS_WORK, which the unpack step made: here no step made it.
        string message = Failed(Step("run", "run_payload", [], new() { ["ANEMOS_PAYLOAD_KIND"] = "deploy" }), "run", "ANEMOS3140");
        Assert.Contains($"cannot enter the payload folder {PathOf("run/anemos/payload")}", message);
    }

    [Fact]
    public void AFailingDeployProgramIsANEMOS3141WithItsStatusAfterItsOutput()
    {
        string deploy = Write("run/anemos/payload/deploy", "#!/bin/sh\necho 'partitioning'\necho 'no space left' >&2\nexit 7\n");
        File.SetUnixFileMode(deploy, (UnixFileMode)0b111_101_101);
        var run = Step("run", "run_payload", [], new() { ["ANEMOS_PAYLOAD_KIND"] = "deploy" });
        string message = Failed(run, "run", "ANEMOS3141");
        Assert.StartsWith("./deploy exited with status 7; its output above says why", message);
        Assert.Contains("no space left", run.Log);
        Assert.True(run.Log.IndexOf("no space left", StringComparison.Ordinal) < run.Log.IndexOf("ANEMOS3141", StringComparison.Ordinal), run.Log);
    }

    [Fact]
    public void AnImgbuildPayloadOnABaseWithoutMakeimgIsANEMOS3142()
    {
        Write("run/anemos/payload/IMGBUILD", "target=debian\n");
        string message = Failed(Step("run", "run_payload", [], new() { ["ANEMOS_PAYLOAD_KIND"] = "imgbuild" }), "run", "ANEMOS3142");
        Assert.Contains("this base image has no makeimg", message);
        Assert.Contains("AnemosEngine", message);
    }

    [Fact]
    public void AFailingEngineIsANEMOS3143InItsStepWithItsOwnLastLine()
    {
        // The real engine, as every base image carries it at /usr/bin/makeimg: it refuses the IMGBUILD in its read step.
        string engine = PathOf("engine");
        Directory.CreateDirectory(engine);
        File.CreateSymbolicLink(Path.Combine(engine, "makeimg"), Repository.PathOf("Anemos.Sdk", "engine", "makeimg"));
        Write("run/anemos/payload/IMGBUILD", "target=plan9\n");
        string disk = Write("disk.img", "");
        var run = Step("run", "run_payload", [], new() { ["ANEMOS_PAYLOAD_KIND"] = "imgbuild", ["ANEMOS_INSTALL_DISK"] = disk }, extraPath: engine);
        string message = Failed(run, "makeimg:read", "ANEMOS3143");
        Assert.Equal("makeimg exited with status 1; its last line says why and what to do: makeimg: read: ANEMOS2205: unknown target 'plan9'; set target=debian, arch or alpine", message);
        Assert.Equal(0, new FileInfo(disk).Length);
    }

    [Fact]
    public void AnUnknownPayloadKindIsANEMOS3144()
    {
        Directory.CreateDirectory(PathOf("run/anemos/payload"));
        string message = Failed(Step("run", "run_payload", [], new() { ["ANEMOS_PAYLOAD_KIND"] = "container" }), "run", "ANEMOS3144");
        Assert.Contains("the payload kind 'container'", message);
        Assert.Contains("build the base image with the same SDK as the host", message);
    }

    [Fact]
    public void EveryFailureOfTheInitCarriesACode()
    {
        string text = File.ReadAllText(Init);
        var calls = FailCall().Matches(text).Select(m => m.Groups[1].Value).ToList();
        Assert.True(calls.Count >= 14, string.Join('\n', calls));
        // The install disk's refusals are coded where choose_install_disk sets DISK_ERROR (ErrorCodeTests reads them there).
        Assert.All(calls, c => Assert.True(c == "$DISK_ERROR" || Regex.IsMatch(c, @"^ANEMOS31\d\d: \S"), c));
        Assert.All(DiskError().Matches(text), m => Assert.Matches(@"^ANEMOS31\d\d: ", m.Groups[1].Value));
    }

    [Fact]
    public void ShellcheckFindsNoWarnings()
    {
        Assert.True(ProcessRunner.Run("/bin/sh", "-c", "command -v shellcheck").ExitCode == 0, "shellcheck is missing: apt-get install shellcheck (test.sh installs it)");
        var result = ProcessRunner.Run("shellcheck", "-S", "warning", "-s", "sh", Init);
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [GeneratedRegex(@"\bfail ""([^""]*)""")]
    private static partial Regex FailCall();

    [GeneratedRegex(@"DISK_ERROR=""([^""]*)""")]
    private static partial Regex DiskError();
}
