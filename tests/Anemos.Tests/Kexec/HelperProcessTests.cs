using System.Text.Json;
using Anemos.Core.Protocol;
using Anemos.Tasks.Deploy;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Kexec;

/// <summary>The shipped helper binary: its commands, exit codes and --json answers.</summary>
[EndToEnd(Needs.PackedSdk)]
public sealed class HelperProcessTests : IDisposable
{
    readonly string _state = TestProject.NewDirectory();

    public void Dispose() { try { Directory.Delete(_state, recursive: true); } catch (IOException) { } }

    static JsonElement Json(ProcessResult result) => JsonDocument.Parse(result.StandardOutput).RootElement;

    [Fact]
    public void SaysItsVersion()
    {
        var result = PackagedHelper.Run("--version");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(Repository.Version, result.StandardOutput.Trim());
    }

    [Theory]
    [InlineData("linux-x64")]
    [InlineData("linux-x64-readytorun")]
    [InlineData(PackagedHelper.MuslVariant)]
    [InlineData(PackagedHelper.Arm64Variant)]
    public void AnswersFactsAsJson(string variant)
    {
        var result = PackagedHelper.RunVariant(variant, _state, ["--json", "--state", _state, "facts"]);
        Assert.True(result.ExitCode == 0, result.ToString());
        var facts = Json(result).GetProperty("facts");
        Assert.Equal(Repository.Version, facts.GetProperty("helperVersion").GetString());
        Assert.Equal(variant == PackagedHelper.Arm64Variant ? "arm64" : "x64", facts.GetProperty("architecture").GetString());
        Assert.True(facts.GetProperty("memTotalBytes").GetInt64() > 0);
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/osrelease").Trim(), facts.GetProperty("kernelRelease").GetString());
        Assert.True(facts.GetProperty("network").GetProperty("interfaces").GetArrayLength() >= 0);
        // The musl variant in its root: /bin/sh is busybox-static there and only musl's loader is beside it.
        Assert.Equal(variant == PackagedHelper.MuslVariant ? "musl" : "glibc", facts.GetProperty("libc").GetString());
    }

    [Fact]
    public void RefusesWithACodeAndAnExitCode()
    {
        var unknown = PackagedHelper.Run("--json", "frobnicate");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Equal("ANEMOS5000", Json(unknown).GetProperty("code").GetString());

        var nothing = PackagedHelper.Run("--json", "--state", _state, "boot", "--dry-run");
        Assert.Equal(1, nothing.ExitCode);
        Assert.Equal("ANEMOS5009", Json(nothing).GetProperty("code").GetString());
        Assert.False(Json(nothing).GetProperty("ok").GetBoolean());

        var text = PackagedHelper.Run("--state", _state, "stage", "--manifest", Path.Combine(_state, "missing.json"));
        Assert.Equal(1, text.ExitCode);
        Assert.Contains("anemos-kexec: error ANEMOS5001:", text.Output);
    }

    [Fact]
    public void AStateFolderThatCannotBeMadeIsACodedRefusal()
    {
        var result = PackagedHelper.Run("--json", "--state", "/proc/anemos-cannot-be-here", "gc");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("ANEMOS5002", Json(result).GetProperty("code").GetString());
    }

    /// <summary>
    /// ANEMOS5025's bad input: a host that swaps (a /proc/swaps under --root) where the helper, root
    /// but without CAP_SYS_ADMIN (a restricted container's root), cannot mount the ramfs. The
    /// stage refuses before it writes the secret, and the folder stays as it was.
    /// </summary>
    [Fact]
    public void ASecretsFolderThatCouldSwapAndCannotBecomeARamfsIsACodedRefusal()
    {
        string root = Path.Combine(_state, "root");
        Directory.CreateDirectory(Path.Combine(root, "proc"));
        File.WriteAllText(Path.Combine(root, "proc", "swaps"), "Filename\tType\tSize\tUsed\tPriority\n/dev/vdb partition 1048572 0 -2\n");
        string ram = Path.Combine("/dev/shm/anemos-tests", "swap-" + Path.GetFileName(_state));
        Directory.CreateDirectory(ram);
        File.SetUnixFileMode(ram, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            var refused = ProcessRunner.Run("setpriv",
                ["--bounding-set", "-sys_admin", "--", PackagedHelper.File, "--json", "--state", Path.Combine(_state, "state"), "--run", ram, "--root", root,
                 "stage", "--manifest", Path.Combine(_state, "manifest.json"), "--secrets", "-"],
                standardInput: System.Text.Encoding.ASCII.GetBytes("070701 a secret that must not be written\n"));
            Assert.True(refused.ExitCode == 1, refused.ToString());
            Assert.Equal("ANEMOS5025", Json(refused).GetProperty("code").GetString());
            Assert.Contains("this host swaps to /dev/vdb", Json(refused).GetProperty("message").GetString());
            Assert.Empty(Directory.EnumerateFileSystemEntries(ram));
            Assert.False(Anemos.Kexec.Native.IsOnRamfs(ram));
        }
        finally
        {
            try { Directory.Delete(ram, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public void HashesWithoutLibsslToo()
    {
        // A host without libssl: the helper must not touch .NET's crypto (it would abort).
        var result = ProcessRunner.Run(PackagedHelper.File, ["--json", "--state", _state, "status"],
            environment: new Dictionary<string, string?> { ["ANEMOS_KEXEC_NO_OPENSSL"] = "1" });
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("nothing staged", Json(result).GetProperty("message").GetString());
    }

    /// <summary>Every variant the package carries (docs/helper.md, "Variants") understands every command line.</summary>
    [Theory]
    [InlineData("linux-x64")]
    [InlineData("linux-x64-readytorun")]
    [InlineData(PackagedHelper.MuslVariant)]
    [InlineData(PackagedHelper.Arm64Variant)]
    public void EveryCommandLineTheDeployBuildsIsUnderstoodByTheShippedHelper(string variant)
    {
        HelperCommand[] commands =
        [
            new FactsCommand(),
            new StatusCommand(),
            new CollectGarbageCommand(),
            new DiscardCommand(),
            new BootCommand(DryRun: true),
            new StageCommand(Path.Combine(_state, "upload", "manifest.json"))
            {
                From = Path.Combine(_state, "upload"), Network = Capture.None, BootDisk = Capture.None,
                Segments = [Path.Combine(_state, "upload", "secrets.cpio")], KeepConsole = false,
            },
            new HoldCommand("ops@laptop"),
        ];
        foreach (var command in commands)
        {
            var result = PackagedHelper.RunVariant(variant, _state, [.. new HelperCommandLine(command) { StateDirectory = _state, Json = true }.ToArguments()]);
            var reply = HelperClient.ParseReply(result.StandardOutput);
            Assert.True(reply is not null, $"{command.Name}: no reply\n{result}");
            // Understood: a refusal may follow (nothing is staged here), but never a usage error.
            Assert.True(reply.Code != "ANEMOS5000" && result.ExitCode != 2, $"{command.Name}: {reply.Code} {reply.Message}");
        }
    }

    [Fact]
    public void AStateFolderIsTrustedOnlyWhenOnlyRootCanChangeItAndIsNeverChmodded()
    {
        Directory.CreateDirectory(_state);
        string Refusal(string state)
        {
            var result = PackagedHelper.Run("--json", "--state", state, "gc");
            Assert.Equal(1, result.ExitCode);
            Assert.Equal("ANEMOS5002", Json(result).GetProperty("code").GetString());
            return Json(result).GetProperty("message").GetString()!;
        }
        Assert.Contains("not an absolute canonical path", Refusal("relative/state"));
        Assert.Contains("not an absolute canonical path", Refusal(_state + "/../state"));
        Assert.Contains("not an absolute canonical path", Refusal("/"));

        string real = Path.Combine(_state, "real");
        Directory.CreateDirectory(real);
        File.CreateSymbolicLink(Path.Combine(_state, "link"), real);
        Assert.Contains("is a symlink", Refusal(Path.Combine(_state, "link", "state")));

        string shared = Path.Combine(_state, "shared");
        Directory.CreateDirectory(shared);
        File.SetUnixFileMode(shared, (UnixFileMode)0x1FD); // 0775
        Assert.Contains("writable by its group or others", Refusal(shared));
        Assert.Contains("writable by its group or others", Refusal(Path.Combine(shared, "state")));
        Assert.Equal((UnixFileMode)0x1FD, File.GetUnixFileMode(shared));
        Assert.False(Directory.Exists(Path.Combine(shared, "state")));

        // An existing folder only root can change is used as it is: /srv stays readable by nginx.
        string served = Path.Combine(_state, "srv");
        Directory.CreateDirectory(served);
        File.SetUnixFileMode(served, (UnixFileMode)0x1ED); // 0755
        Assert.Equal(0, PackagedHelper.Run("--json", "--state", served, "gc").ExitCode);
        Assert.Equal((UnixFileMode)0x1ED, File.GetUnixFileMode(served));

        // A new one is made private.
        string fresh = Path.Combine(_state, "fresh");
        Assert.Equal(0, PackagedHelper.Run("--json", "--state", fresh, "gc").ExitCode);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(fresh));
    }
}
