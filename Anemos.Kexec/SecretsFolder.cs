using Anemos.Core.Protocol;

namespace Anemos.Kexec;

/// <summary>
/// Where an initramfs that carries the deploy's secrets lives between `stage` and `boot`: a folder
/// in RAM (tmpfs or ramfs, default /run/anemos, mode 0700, files 0600), never under the state
/// folder, so no secret reaches the host's disk or its backups. `boot` deletes it once the kernel
/// holds a copy or the boot is refused, `discard` after a dry run, and every command that takes
/// the state lock removes the helper's own files that the staged state does not name (and the
/// secrets file older helpers left in upload/); files of other names are never touched.
/// tmpfs pages can be swapped out to a disk: when the host has swap on, the folder becomes a ramfs
/// first (docs/helper.md).
/// </summary>
public sealed class SecretsFolder(string directory, string stateDirectory, SystemFiles? files = null)
{
    public const string DefaultDirectory = "/run/anemos";

    /// <summary>The largest secrets segment read from stdin: secrets are keys and tokens, not payloads.</summary>
    public const int MaxSegmentBytes = 16 * 1024 * 1024;

    public string Directory { get; } = directory;
    public string InitramfsPath => Path.Combine(Directory, "initramfs.img");
    public string SegmentPath => Path.Combine(Directory, "secrets.cpio");
    public string HostKeysPath => Path.Combine(Directory, "host-keys.cpio");

    /// <summary>
    /// Creates (or checks) the folder and refuses one that is not in RAM (ANEMOS5019). A tmpfs folder
    /// on a host with swap on becomes a ramfs, which is never swapped, or is refused (ANEMOS5025).
    /// </summary>
    public void Ensure(Action<string>? report = null)
    {
        StateFolder.EnsureSafe(Directory, "secrets folder", "--run", DefaultDirectory);
        if (!Native.IsInRam(Directory))
            throw new HelperException(HelperCodes.SecretsNotInRam,
                $"The secrets folder {Directory} is not on tmpfs or ramfs: the deploy's secrets would reach this host's disk. Pass --run DIR on a tmpfs (such as /dev/shm/anemos), or mount a tmpfs there.");
        if (Native.IsOnRamfs(Directory) || SwapDevices() is not { Count: > 0 } swaps) return;
        // The helper's own files under the tmpfs belong to a state this stage replaces: gone before the ramfs hides them.
        Sweep(keep: null);
        int errno = Native.MountRamfs(Directory);
        if (errno != 0 || !Native.IsOnRamfs(Directory))
            throw new HelperException(HelperCodes.SecretsSwappable,
                $"The secrets folder {Directory} is on tmpfs and this host swaps to {string.Join(", ", swaps)}, so the deploy's secrets could reach that disk, and a ramfs could not be mounted there ({(errno != 0 ? Native.Describe(errno) : "it is still tmpfs")}). Mount a ramfs at {Directory} (mount -t ramfs -o mode=0700 ramfs {Directory}), or turn swap off, then deploy again.");
        report?.Invoke($"secrets folder: this host swaps to {string.Join(", ", swaps)}; {Directory} is now a ramfs, which is never swapped");
    }

    /// <summary>The swap areas in use, from /proc/swaps (a header line, then one line per area); none when it cannot be read.</summary>
    List<string> SwapDevices() =>
        ((files ?? new SystemFiles()).Read("/proc/swaps") ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Skip(1).Select(line => line.Split(' ', 2)[0]).ToList();

    /// <summary>Reads the secrets segment from <paramref name="input"/>, at most <see cref="MaxSegmentBytes"/>, straight into RAM.</summary>
    public string Receive(Stream input, Action<string>? report = null)
    {
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException();
        Ensure(report);
        byte[] buffer = new byte[MaxSegmentBytes + 1];
        int read = input.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        try
        {
            if (read > MaxSegmentBytes)
                throw new HelperException(HelperCodes.SegmentInvalid, $"The secrets segment on stdin is larger than {MaxSegmentBytes / 1048576} MiB. Secrets are keys and tokens: ship large files in the payload.");
            if (!Anemos.Core.FileMagic.IsNewc(buffer.AsSpan(0, read)))
                throw new HelperException(HelperCodes.SegmentInvalid, "The secrets segment on stdin is not a newc cpio archive. Pass one that starts with 070701.");
            using (var file = new FileStream(SegmentPath, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
                file.Write(buffer, 0, read);
            return SegmentPath;
        }
        finally
        {
            Array.Clear(buffer);
        }
    }

    /// <summary>
    /// The running system's ssh host keys as a segment here, in RAM (docs/helper.md, stage): the deploy
    /// environment answers with the same keys, so the deploy's pin holds. Null when there are none, or
    /// when this folder is not in RAM (then the deploy environment has no keys of this host: its ssh
    /// stays off until a failure asks for it, as before).
    /// </summary>
    public string? WriteHostKeys(IReadOnlyList<(string Name, byte[] Content)> keys, Action<string> report)
    {
        if (keys.Count == 0 || OperatingSystem.IsWindows()) return null;
        try { Ensure(report); }
        catch (HelperException e)
        {
            report($"host keys: not carried ({e.Message})");
            return null;
        }
        try
        {
            using var file = new FileStream(HostKeysPath, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite });
            Anemos.Core.Initramfs.HostSegments.WriteHostKeys(file, keys);
        }
        finally
        {
            foreach (var (_, content) in keys) Array.Clear(content);
        }
        report($"host keys: {string.Join(", ", keys.Select(k => k.Name))} carried in RAM for the deploy environment's ssh");
        return HostKeysPath;
    }

    /// <summary>The names the helper writes here; nothing else in the folder is its to delete.</summary>
    static readonly string[] OwnNames = ["initramfs.img", "secrets.cpio", "host-keys.cpio"];

    /// <summary>One of the helper's own names, or the temporary sibling AtomicFile writes it through (".NAME.PID.GUID.tmp", left by a killed helper).</summary>
    public static bool IsOwnName(string fileName) =>
        OwnNames.Any(name => fileName == name ||
            (fileName.StartsWith("." + name + ".", StringComparison.Ordinal) && fileName.EndsWith(".tmp", StringComparison.Ordinal)));

    /// <summary>
    /// Removes the files the helper wrote here but <paramref name="keep"/> (the staged initramfs, when it
    /// lives here), and a secrets file left in upload/. Only the helper's own names: `--run /run` is
    /// accepted (root's, in RAM), and the host's pid files and sockets there are not the helper's.
    /// </summary>
    public void Sweep(string? keep)
    {
        Anemos.Core.AtomicFile.TryDelete(Path.Combine(stateDirectory, HelperStateLayout.Upload, "secrets.cpio"));
        if (!System.IO.Directory.Exists(Directory)) return;
        foreach (string file in System.IO.Directory.EnumerateFiles(Directory))
            if (file != keep && IsOwnName(Path.GetFileName(file))) Anemos.Core.AtomicFile.TryDelete(file);
    }

    public bool Holds(string path) => Path.GetDirectoryName(path) == Directory;
}
