namespace Anemos.Tests.Infrastructure;

/// <summary>
/// A root that holds no glibc, as a musl host's (Alpine's) is: musl's dynamic loader (Debian's musl
/// package, which build.sh's musl-tools brings), busybox-static as /bin/sh and one program. A command
/// runs chrooted there in a mount namespace of its own (unshare), with the kernel's /proc, /sys and
/// /dev and one folder of this machine at its own path, so nothing stays mounted after it.
/// </summary>
public sealed class RootWithoutGlibc : IDisposable
{
    const string MuslLoader = "/lib/ld-musl-x86_64.so.1";

    public string Root { get; }

    public RootWithoutGlibc(string program)
    {
        Assert.True(Environment.UserName == "root", "a chroot needs root: run the tests as root, as .ci/run does");
        Assert.True(File.Exists(MuslLoader), $"{MuslLoader} is missing: install musl-tools (build.sh does)");
        Root = TestProject.NewDirectory();
        foreach (string folder in new[] { "bin", "lib", "proc", "sys", "dev", "tmp", "run", "var/lib" })
            Directory.CreateDirectory(Path.Combine(Root, folder));
        Copy(MuslLoader, Path.Combine(Root, "lib", "ld-musl-x86_64.so.1"));
        Copy(ProcessRunner.Run("sh", "-c", "command -v busybox").StandardOutput.Trim(), Path.Combine(Root, "bin", "busybox"));
        File.CreateSymbolicLink(Path.Combine(Root, "bin", "sh"), "busybox");
        Copy(program, Path.Combine(Root, "bin", Path.GetFileName(program)));
        // Nothing of glibc: no loader of its, no libc.so.6 anywhere in the root.
        Assert.DoesNotContain(Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories), f => Path.GetFileName(f) is "libc.so.6" or "ld-linux-x86-64.so.2");
    }

    static void Copy(string from, string to)
    {
        File.Copy(from, to); // File.Copy follows the symlink Debian's loader is
        File.SetUnixFileMode(to, (UnixFileMode)0x1ED);
    }

    /// <summary>Runs /bin/NAME of the root with <paramref name="arguments"/>; <paramref name="shared"/> is this machine's folder at the same path inside.</summary>
    public ProcessResult Run(string name, string shared, IReadOnlyList<string> arguments, byte[]? standardInput = null)
    {
        Directory.CreateDirectory(shared);
        Directory.CreateDirectory(Root + shared);
        string quoted = string.Join(' ', arguments.Select(a => "'" + a.Replace("'", "'\\''") + "'"));
        string script = $"""
            set -e
            mount -t proc proc '{Root}/proc'
            mount --rbind /sys '{Root}/sys'
            mount --rbind /dev '{Root}/dev'
            mount --bind '{shared}' '{Root}{shared}'
            exec chroot '{Root}' /bin/{name} {quoted}
            """;
        return ProcessRunner.Run("unshare", ["--mount", "--propagation", "private", "sh", "-c", script],
            timeout: TimeSpan.FromMinutes(2), standardInput: standardInput);
    }

    public void Dispose()
    {
        // Never delete through a mount that outlived its namespace (the root's /dev is this machine's).
        if (File.ReadAllText("/proc/self/mountinfo").Contains(" " + Root + "/", StringComparison.Ordinal)) return;
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
