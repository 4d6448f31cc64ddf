using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Engine;

/// <summary>
/// Runs our engine, Anemos.Sdk/engine/makeimg, for real: as root, in a private mount namespace
/// (`unshare -m --propagation private`), in the folder of an IMGBUILD. After the engine, the same
/// namespace lists whatever is still mounted under the run's TMPDIR: the engine must leave nothing.
/// </summary>
public static class Makeimg
{
    public static string EnginePath => Repository.PathOf("Anemos.Sdk", "engine", "makeimg");

    const string LeftoverMarker = "LEFTOVER MOUNT:";

    // $1: the engine; the rest: its arguments. Everything of a run (roots, images) is under its folder.
    const string Wrapper = """
        engine=$1
        shift
        folder=$(pwd)
        before=$(losetup -a 2>/dev/null | grep "$folder")
        # A folder of this machine the run must not see (an empty tmpfs over it, in this namespace only).
        if [ -n "${MAKEIMG_TEST_HIDE:-}" ]; then mount -t tmpfs tmpfs "$MAKEIMG_TEST_HIDE" || exit 99; fi
        ${MAKEIMG_TEST_SHELL:-sh} "$engine" "$@"
        status=$?
        grep " $folder" /proc/self/mounts | sed 's/^/LEFTOVER MOUNT: /'
        # Loop devices of the run's files that the test had not attached itself.
        losetup -a 2>/dev/null | grep "$folder" | while IFS= read -r line; do
            case "$before" in *"$line"*) ;; *) echo "LEFTOVER MOUNT: loop $line" ;; esac
        done
        exit $status
        """;

    /// <summary>
    /// Runs makeimg in <paramref name="folder"/>; its temporary roots go under folder/tmp. With
    /// MAKEIMG_TEST_HIDE in the environment, that folder of the machine is hidden from the run.
    /// </summary>
    public static ProcessResult Run(string folder, IDictionary<string, string?>? environment, params string[] arguments) =>
        Run(folder, environment, TimeSpan.FromMinutes(8), arguments);

    /// <summary>As <see cref="Run(string, IDictionary{string, string?}?, string[])"/>, for a build that may take longer than 8 minutes on a busy machine.</summary>
    public static ProcessResult Run(string folder, IDictionary<string, string?>? environment, TimeSpan timeout, params string[] arguments)
    {
        EngineTools.Require();
        string tmp = Path.Combine(folder, "tmp");
        Directory.CreateDirectory(tmp);
        var variables = new Dictionary<string, string?>(environment ?? new Dictionary<string, string?>())
        {
            ["TMPDIR"] = tmp,
            ["LC_ALL"] = "C",
        };
        var result = ProcessRunner.Run("unshare", ["-m", "--propagation", "private", "sh", "-c", Wrapper, "makeimg", EnginePath, .. arguments],
            folder, variables, timeout);
        Assert.False(result.Output.Contains(LeftoverMarker), "makeimg left mounts or loop devices behind:\n" + result);
        return result;
    }

    /// <summary>The applets the engine itself uses for text and files, taken from busybox instead of coreutils, GNU awk/sed/patch.</summary>
    static readonly string[] BusyboxApplets =
    [
        "awk", "sed", "grep", "find", "stat", "tr", "cp", "mv", "ln", "rm", "mkdir", "rmdir", "chmod", "chown", "mktemp",
        "readlink", "date", "tee", "sort", "head", "tail", "cat", "dirname", "patch", "tar", "gzip", "truncate", "ls", "id", "sync",
    ];

    /// <summary>Runs makeimg as the deploy initramfs does: busybox ash, with busybox's applets first on PATH.</summary>
    public static ProcessResult RunWithBusybox(string folder, IDictionary<string, string?>? environment, params string[] arguments)
    {
        EngineTools.Require();
        string applets = Path.Combine(folder, "busybox-bin");
        Directory.CreateDirectory(applets);
        foreach (string applet in BusyboxApplets)
            if (!File.Exists(Path.Combine(applets, applet))) File.CreateSymbolicLink(Path.Combine(applets, applet), "/usr/bin/busybox");
        var variables = new Dictionary<string, string?>(environment ?? new Dictionary<string, string?>())
        {
            ["MAKEIMG_TEST_SHELL"] = "busybox sh",
            ["PATH"] = applets + ":" + (environment is not null && environment.TryGetValue("PATH", out var path) && path is not null ? path : System.Environment.GetEnvironmentVariable("PATH")),
        };
        return Run(folder, variables, arguments);
    }

    public static void AssertSucceeded(ProcessResult result)
    {
        Assert.True(result.ExitCode == 0, "makeimg failed:\n" + result);
        Assert.Contains("makeimg[finish]: built ", result.Output);
    }

    /// <summary>A failure: exit 1 and exactly one stderr line "makeimg: STEP: CODE: …".</summary>
    public static string AssertFailed(ProcessResult result, string step, string code, int exitCode = 1)
    {
        Assert.True(result.ExitCode == exitCode, $"expected exit {exitCode} at {step} with {code}:\n" + result);
        string errors = result.Output[result.StandardOutput.Length..];
        var lines = errors.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string prefix = $"makeimg: {step}: {code}: ";
        Assert.True(lines.Length == 1 && lines[0].StartsWith(prefix, StringComparison.Ordinal),
            $"expected one stderr line starting '{prefix}':\n" + result);
        return lines[0];
    }

    /// <summary>Log lines have the documented shape.</summary>
    public static void AssertLogLines(ProcessResult result)
    {
        foreach (string line in result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ makeimg\[(read|setup|bootstrap|files|patches|templates|secrets|provision|finish)\]: ", line);
    }
}

/// <summary>
/// The tools the engine tests drive. Installed with apt-get when missing and running as root (as
/// eng/prerequisites.sh does for test.sh); otherwise the test fails saying what to install.
/// </summary>
public static class EngineTools
{
    static readonly (string Command, string Package)[] Needed =
    [
        ("mmdebstrap", "mmdebstrap"), ("debootstrap", "debootstrap"), ("apt-ftparchive", "apt-utils"), ("gpg", "gpg"), ("gpgv", "gpgv"),
        ("shellcheck", "shellcheck"), ("pacman", "pacman-package-manager"), ("repo-add", "pacman-package-manager"),
        ("pacstrap", "arch-install-scripts"), ("makepkg", "makepkg"), ("bsdtar", "libarchive-tools"),
        ("fakeroot", "fakeroot"), ("mkfs.vfat", "dosfstools"), ("mkfs.ext4", "e2fsprogs"), ("debugfs", "e2fsprogs"),
        ("sfdisk", "fdisk"), ("patch", "patch"), ("busybox", "busybox-static"), ("unshare", "util-linux"),
        ("losetup", "mount"), ("wget", "wget"), ("gzip", "gzip"),
    ];

    static readonly Lazy<string?> Problem = new(Install);

    public static void Require()
    {
        if (Problem.Value is { } problem) Assert.Fail(problem);
    }

    static bool Exists(string command) =>
        ProcessRunner.Run("/bin/sh", "-c", $"PATH=$PATH:/usr/sbin:/sbin command -v {command}").ExitCode == 0;

    static string? Install()
    {
        if (Environment.UserName != "root" && ProcessRunner.Run("id", "-u").StandardOutput.Trim() != "0")
            return "the engine tests run makeimg as root (it mounts, partitions loop devices and chroots); run them as root";
        var missing = Needed.Where(n => !Exists(n.Command)).Select(n => n.Package).Distinct().ToList();
        if (missing.Count == 0) return NamespaceProblem();
        var update = ProcessRunner.Run("apt-get", ["update", "-q", "-o", "DPkg::Lock::Timeout=600"], timeout: TimeSpan.FromMinutes(10));
        var install = ProcessRunner.Run("apt-get", ["install", "-y", "-q", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=600", .. missing],
            environment: new Dictionary<string, string?> { ["DEBIAN_FRONTEND"] = "noninteractive" }, timeout: TimeSpan.FromMinutes(15));
        if (install.ExitCode != 0)
            return $"apt-get install {string.Join(' ', missing)} failed; install them by hand:\n{update}\n{install}";
        var still = Needed.Where(n => !Exists(n.Command)).Select(n => n.Command).ToList();
        return still.Count == 0 ? NamespaceProblem() : "still missing after apt-get install: " + string.Join(' ', still);
    }

    /// <summary>Makeimg.Run wraps the engine in `unshare -m --propagation private`, which needs / to be a mount point (the engine does not).</summary>
    static string? NamespaceProblem()
    {
        var probe = ProcessRunner.Run("unshare", "-m", "--propagation", "private", "true");
        return probe.ExitCode == 0 ? null
            : $"the engine tests run makeimg in a private mount namespace, and `unshare -m --propagation private` failed ({probe.Output.Trim()}): " +
              "/ is not a mount point here (a chroot or container). Bind-mount the root onto itself before entering it (mount --bind DIR DIR); makeimg itself does not need it (docs/imgbuild.md).";
    }
}
