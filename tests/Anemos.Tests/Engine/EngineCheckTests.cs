using System.Security.Cryptography;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Engine;

/// <summary>The engine's fast checks: shellcheck, usage, the read step, and a raw SIZE larger than the disk.</summary>
public sealed class EngineCheckTests : IDisposable
{
    readonly string _root = TestProject.NewDirectory();

    string Project(string imgbuild)
    {
        string folder = Path.Combine(_root, "p" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "IMGBUILD"), imgbuild);
        return folder;
    }

    [Fact]
    public void ShellcheckFindsNoWarnings()
    {
        EngineTools.Require();
        var result = ProcessRunner.Run("shellcheck", "-S", "warning", "-s", "sh", Makeimg.EnginePath);
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public void TheEngineIsExecutableInTheRepository()
    {
        Assert.True(File.GetUnixFileMode(Makeimg.EnginePath).HasFlag(UnixFileMode.UserExecute));
        var result = ProcessRunner.Run("git", "-C", Repository.Root, "ls-files", "-s", "Anemos.Sdk/engine/makeimg");
        Assert.StartsWith("100755 ", result.StandardOutput);
    }

    [Fact]
    public void AnUnknownTargetFailsTheReadStep()
    {
        string folder = Project("target=gentoo\nformat=dir\npackages=base\n");
        string stepFile = Path.Combine(folder, "step");
        var result = Makeimg.Run(folder, null, "--step-file", stepFile);
        string line = Makeimg.AssertFailed(result, "read", "ANEMOS2205");
        Assert.Contains("unknown target 'gentoo'", line);
        Assert.Equal("read\n", File.ReadAllText(stepFile));
    }

    [Fact]
    public void AnImgbuildThatFailsToSourceFailsTheReadStep()
    {
        string folder = Project("target=arch\nformat=dir\npackages=base\nfalse_command_that_does_not_exist_here || exit 3\n");
        var result = Makeimg.Run(folder, null);
        Makeimg.AssertFailed(result, "read", "ANEMOS2204");
    }

    [Fact]
    public void AnImgbuildThatCallsExitIsAFailureNotASuccess()
    {
        var result = Makeimg.Run(Project("target=arch\nformat=dir\npackages=base\nexit 0\n"), null);
        Assert.Contains("called exit", Makeimg.AssertFailed(result, "read", "ANEMOS2204"));
    }

    [Fact]
    public void ABadFormatFailsTheReadStep()
    {
        var result = Makeimg.Run(Project("target=arch\npackages=base\n"), null, "--format", "raw 12Q");
        Assert.Contains("raw size '12Q'", Makeimg.AssertFailed(result, "read", "ANEMOS2206"));
    }

    /// <summary>Failures that come before anything is bootstrapped, each with its own step and code.</summary>
    [Theory]
    [InlineData("no-imgbuild", "read", "ANEMOS2203")]
    [InlineData("step-file-unwritable", "read", "ANEMOS2202")]
    [InlineData("custom-without-cleanup", "read", "ANEMOS2207")]
    [InlineData("root-not-empty", "setup", "ANEMOS2210")]
    [InlineData("disk-not-a-device", "setup", "ANEMOS2212")]
    [InlineData("custom-setup-fails", "setup", "ANEMOS2217")]
    [InlineData("mkfs-missing", "setup", "ANEMOS2215")]
    [InlineData("bootstrapper-missing", "bootstrap", "ANEMOS2220")]
    [InlineData("keys-without-keyring", "bootstrap", "ANEMOS2221")]
    public void EachEarlyFailureHasItsStepAndCode(string shape, string step, string code)
    {
        string folder = Project("target=arch\nformat=dir\npackages=base\n");
        string[] arguments = [];
        switch (shape)
        {
            case "no-imgbuild": File.Delete(Path.Combine(folder, "IMGBUILD")); break;
            case "step-file-unwritable": arguments = ["--step-file", Path.Combine(folder, "no-such-folder", "step")]; break;
            case "custom-without-cleanup": File.WriteAllText(Path.Combine(folder, "IMGBUILD"), "target=arch\nformat=custom\npackages=base\nsetup() { :; }\n"); break;
            case "root-not-empty":
                File.WriteAllText(Path.Combine(folder, "tmp-root-marker"), "");
                Directory.CreateDirectory(Path.Combine(folder, "root"));
                File.WriteAllText(Path.Combine(folder, "root", "keep"), "mine\n");
                arguments = ["--root", Path.Combine(folder, "root")];
                break;
            case "disk-not-a-device": arguments = ["--format", "raw 1G", "--disk", Path.Combine(folder, "IMGBUILD")]; break;
            case "custom-setup-fails": File.WriteAllText(Path.Combine(folder, "IMGBUILD"), "target=arch\nformat=custom\npackages=base\nsetup() { return 3; }\ncleanup() { :; }\n"); break;
            case "mkfs-missing": arguments = ["--format", "raw 64M msdos f2fs", "--image", Path.Combine(folder, "disk.img")]; break; // no f2fs-tools here
            case "bootstrapper-missing": File.WriteAllText(Path.Combine(folder, "IMGBUILD"), "target=alpine\nformat=dir\npackages=alpine-base\n"); break;
            default:
                File.WriteAllText(Path.Combine(folder, "IMGBUILD"), "target=debian\nformat=dir\npackages=hello\ndebian_mirror=http://127.0.0.1:9/debian\n");
                Directory.CreateDirectory(Path.Combine(folder, "keys"));
                File.WriteAllText(Path.Combine(folder, "keys", "README"), "the keyring goes here\n");
                break;
        }
        var result = Makeimg.Run(folder, null, arguments);
        Makeimg.AssertFailed(result, step, code);
        if (shape == "root-not-empty") Assert.Equal("mine\n", File.ReadAllText(Path.Combine(folder, "root", "keep")));
    }

    [Theory]
    [InlineData("--format", "raw 1G", "--format raw writes a disk")]
    [InlineData("--no-such-option", null, "unknown option")]
    [InlineData("--disk", "/dev/null", "either --disk or --image")]
    public void UsageErrorsExitWithStatus2(string option, string? value, string expected)
    {
        string folder = Project("target=arch\nformat=dir\npackages=base\n");
        string[] arguments = option == "--disk" ? ["--disk", "/dev/null", "--image", "x.img"] : value is null ? [option] : [option, value];
        var result = Makeimg.Run(folder, null, arguments);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(expected.Replace("--format ", "format "), result.Output);
        Assert.Matches(@"^makeimg: (usage|read): ANEMOS2201: ", result.Output[result.StandardOutput.Length..]);
    }

    [Fact]
    public void ARawSizeLargerThanTheDiskFailsBeforeWritingAnything()
    {
        // A 16 MiB "disk" with random bytes at its start, attached as a loop device.
        string disk = Path.Combine(_root, "small-disk.img");
        Directory.CreateDirectory(_root);
        byte[] head = RandomNumberGenerator.GetBytes(1 << 20);
        using (var file = File.Create(disk))
        {
            file.Write(head);
            file.SetLength(16L << 20);
        }
        var attach = ProcessRunner.Run("losetup", "-f", "--show", disk);
        Assert.True(attach.ExitCode == 0, attach.ToString());
        string device = attach.StandardOutput.Trim();
        try
        {
            string folder = Project("target=arch\nformat=\"raw 1G msdos ext4\"\npackages=base\n");
            var result = Makeimg.Run(folder, null, "--disk", device);
            string line = Makeimg.AssertFailed(result, "setup", "ANEMOS2213");
            Assert.Contains("larger than " + device, line);
            Assert.Contains("nothing was written", line);
        }
        finally
        {
            ProcessRunner.Run("losetup", "-d", device);
        }
        byte[] after = new byte[head.Length];
        using (var file = File.OpenRead(disk)) file.ReadExactly(after);
        Assert.True(head.AsSpan().SequenceEqual(after), "the disk's first bytes changed");
    }

    /// <summary>A folder with an IMGBUILD for target alpine, its bootstrap a stand-in apk (bin/apk) that installs nothing.</summary>
    string AlpineProject(string imgbuild)
    {
        string folder = Project(imgbuild);
        string bin = Path.Combine(folder, "fake-bin");
        Directory.CreateDirectory(bin);
        File.WriteAllText(Path.Combine(bin, "apk"), "#!/bin/sh\nexit 0\n");
        File.SetUnixFileMode(Path.Combine(bin, "apk"), (UnixFileMode)0x1ED);
        return folder;
    }

    /// <summary>
    /// Issue 28, point 11, reproduced: in a chroot whose root is not a mount point, `unshare -m
    /// --propagation private` (what the engine tests wrap makeimg in) fails uncoded, but the engine
    /// itself needs no such thing: it runs there and mounts what it mounts (a tmpfs, a bind of the secrets).
    /// </summary>
    [Fact]
    public void TheEngineRunsInAChrootWhoseRootIsNotAMountPoint()
    {
        EngineTools.Require();
        string chroot = Path.Combine(_root, "chroot");
        string project = Path.Combine(chroot, "p");
        Directory.CreateDirectory(Path.Combine(project, "files", "etc"));
        Directory.CreateDirectory(Path.Combine(project, "secrets"));
        File.WriteAllText(Path.Combine(project, "IMGBUILD"), "target=alpine\nformat=dir\npackages=alpine-base\n");
        File.WriteAllText(Path.Combine(project, "files", "etc", "motd"), "hi\n");
        File.WriteAllText(Path.Combine(project, "secrets", "token"), "s\n");
        File.WriteAllText(Path.Combine(project, "apk"), "#!/bin/sh\nexit 0\n");
        File.SetUnixFileMode(Path.Combine(project, "apk"), (UnixFileMode)0x1ED);
        File.Copy(Makeimg.EnginePath, Path.Combine(chroot, "makeimg"));
        const string Script = """
            set -e
            cr=$1
            mkdir -p "$cr/usr" "$cr/etc" "$cr/dev" "$cr/proc" "$cr/sys" "$cr/tmp"
            for l in bin sbin lib lib32 lib64; do if [ -L "/$l" ]; then ln -s "$(readlink "/$l")" "$cr/$l"; fi; done
            mount --rbind /usr "$cr/usr"; mount --bind /etc "$cr/etc"; mount --rbind /dev "$cr/dev"
            mount -t proc proc "$cr/proc"; mount --rbind /sys "$cr/sys"
            set +e
            echo "root is a mount point: $(chroot "$cr" sh -c 'mountpoint -q / && echo yes || echo no')"
            chroot "$cr" unshare -m --propagation private true 2>&1 | sed 's/^/wrapper: /'
            chroot "$cr" sh -c 'cd /p && PATH=/p:$PATH TMPDIR=/tmp ANEMOS_SECRETS=/p/secrets sh /makeimg --output /p/out'
            echo "engine status $?"
            """;
        var result = ProcessRunner.Run("unshare", ["-m", "--propagation", "private", "sh", "-c", Script, "chroot", chroot], _root, timeout: TimeSpan.FromMinutes(2));
        Assert.Contains("root is a mount point: no", result.Output);
        Assert.Contains("wrapper: unshare: cannot change root filesystem propagation", result.Output);
        Assert.True(result.Output.Contains("engine status 0"), result.ToString());
        Assert.Contains("makeimg[secrets]: secrets at /run/anemos/secrets", result.Output);
        Assert.Equal("hi\n", File.ReadAllText(Path.Combine(project, "out", "etc", "motd")));
    }

    /// <summary>What the engine does need, to mount, is checked before the bootstrap: without CAP_SYS_ADMIN a build that mounts fails at once, coded.</summary>
    [Fact]
    public void WithoutTheRightToMountABuildThatMountsFailsBeforeTheBootstrap()
    {
        string folder = AlpineProject("target=alpine\nformat=dir\npackages=alpine-base\nprovision() { :; }\n");
        var environment = new Dictionary<string, string?>
        {
            ["PATH"] = Path.Combine(folder, "fake-bin") + ":" + System.Environment.GetEnvironmentVariable("PATH"),
            ["MAKEIMG_TEST_SHELL"] = "setpriv --bounding-set=-sys_admin --inh-caps=-sys_admin sh",
        };
        var result = Makeimg.Run(folder, environment, "--output", Path.Combine(folder, "out"));
        string line = Makeimg.AssertFailed(result, "read", "ANEMOS2208");
        Assert.Contains("CAP_SYS_ADMIN", line);
        Assert.DoesNotContain("makeimg[bootstrap]", result.Output);

        // A build that mounts nothing (dir, no provision, no secrets, not debian) still runs there.
        string plain = AlpineProject("target=alpine\nformat=dir\npackages=alpine-base\n");
        environment["PATH"] = Path.Combine(plain, "fake-bin") + ":" + System.Environment.GetEnvironmentVariable("PATH");
        Makeimg.AssertSucceeded(Makeimg.Run(plain, environment, "--output", Path.Combine(plain, "out")));
    }

    /// <summary>
    /// Input names are names, never patterns: files/etc/* is copied as itself, a patch and a template
    /// named with pattern characters reach their own file, though a folder etc/ beside files/ holds
    /// names those patterns would match (the engine runs in the payload's folder). The bootstrap is a
    /// stand-in apk that installs nothing: the files, patches and templates steps are the real ones.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void InputNamesAreCopiedAsThemselvesNeverExpanded(bool busybox)
    {
        string folder = Project("target=alpine\nformat=dir\npackages=alpine-base\n");
        string bin = Path.Combine(folder, "fake-bin");
        Directory.CreateDirectory(bin);
        File.WriteAllText(Path.Combine(bin, "apk"), "#!/bin/sh\nexit 0\n");
        File.SetUnixFileMode(Path.Combine(bin, "apk"), (UnixFileMode)0x1ED);
        void Put(string relative, string content)
        {
            string path = Path.Combine(folder, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, content);
        }
        Put("files/etc/*", "the star\n");
        Put("files/etc/*.makeimg.patch", "--- a\n+++ b\n@@ -1 +1 @@\n-the star\n+the star, patched\n");
        Put("files/etc/?.makeimg.template", "host=${ANEMOS_HOST}\n");
        Put("files/etc/[ab]", "brackets\n");
        Put("etc/decoy", "decoy\n"); // what etc/* matches in the payload's folder
        Put("etc/x", "decoy\n");     // what etc/? matches
        Put("etc/a", "decoy\n");     // what etc/[ab] matches
        var environment = new Dictionary<string, string?>
        {
            ["PATH"] = bin + ":" + System.Environment.GetEnvironmentVariable("PATH"),
            ["ANEMOS_HOST"] = "vm1",
        };
        string output = Path.Combine(folder, "out");
        var result = busybox ? Makeimg.RunWithBusybox(folder, environment, "--output", output) : Makeimg.Run(folder, environment, "--output", output);
        Makeimg.AssertSucceeded(result);
        Assert.Equal("the star, patched\n", File.ReadAllText(Path.Combine(output, "etc", "*")));
        Assert.Equal("host=vm1\n", File.ReadAllText(Path.Combine(output, "etc", "?")));
        Assert.Equal("brackets\n", File.ReadAllText(Path.Combine(output, "etc", "[ab]")));
        Assert.Equal(["*", "?", "[ab]"], Directory.GetFileSystemEntries(Path.Combine(output, "etc")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
