using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Build.Framework;

namespace Anemos.Tasks.Rehearse;

/// <summary>
/// The rehearsal's disks (AnemosRehearseDisk), fresh in the work folder for every rehearsal:
/// blank sparse files as a new server's disks, or a copy of a Source image (a /home disk a deploy
/// must leave alone). They are attached in order (vda, vdb, …), each with the serial anemos-diskN.
/// An install with the host's secrets writes them onto a disk (samples/dns installs its ssh host
/// key), so the images are the user's alone (0600, in a 0700 folder) and are deleted at the end
/// unless the operator keeps them (<see cref="ForgetSecrets"/>).
/// </summary>
public sealed partial class RehearsalDisks
{
    const string DefaultSize = "8G";
    const UnixFileMode UserOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    [GeneratedRegex(@"^([0-9]+)([KMGT]?)(i?B)?$")]
    private static partial Regex SizeText();

    /// <summary>The image files, in attachment order.</summary>
    public IReadOnlyList<string> Files { get; }
    /// <summary>The images copied from a Source: what the install must leave as it found it.</summary>
    public IReadOnlyList<string> Sourced { get; }

    RehearsalDisks(List<string> files, List<string> sourced) => (Files, Sourced) = (files, sourced);

    /// <summary>The serial of the disk at <paramref name="index"/>, as a server's disk has one: /dev/disk/by-id/virtio-anemos-diskN.</summary>
    public static string SerialOf(int index) => "anemos-disk" + index.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// A size as AnemosRehearseDisk's Size takes it: a positive number with K, M, G or T (powers of
    /// 1024), optionally followed by B or iB; none is bytes. Null when it is not one.
    /// </summary>
    public static long? ParseSize(string text)
    {
        var match = SizeText().Match(text);
        if (!match.Success || !long.TryParse(match.Groups[1].Value, CultureInfo.InvariantCulture, out long number) || number <= 0) return null;
        int shift = match.Groups[2].Value is { Length: 1 } unit ? ("KMGT".IndexOf(unit[0]) + 1) * 10 : 0;
        return number << shift;
    }

    /// <summary>The rehearsal's work folder, the user's alone (0700); one an older SDK made 0755 is narrowed.</summary>
    public static void CreateWorkFolder(string workDirectory)
    {
        Directory.CreateDirectory(workDirectory);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(workDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    /// <summary>
    /// At the end of a rehearsal whose VM had the host's <paramref name="secretCount"/> secrets: each
    /// image was attached to it and may hold them, so all are deleted, unless <paramref name="keep"/>
    /// (AnemosRehearseKeepDisks), which <paramref name="report"/> warns of with what they hold
    /// (ANEMOS3130). Without secrets the images stay for inspection. Returns how many were deleted.
    /// </summary>
    public int ForgetSecrets(int secretCount, bool keep, string hostName, Action<Diagnostic, object?[]> report)
    {
        if (secretCount == 0) return 0;
        if (keep)
        {
            report(Diagnostics.RehearseDisksKeptWithSecrets, [hostName, string.Join(", ", Files), secretCount]);
            return 0;
        }
        foreach (string file in Files) File.Delete(file);
        return Files.Count;
    }

    /// <summary>
    /// Creates the disks in <paramref name="workDirectory"/> (one blank 8G disk0 without items);
    /// each item that cannot be made is reported as ANEMOS3106 and skipped.
    /// </summary>
    public static RehearsalDisks Create(ITaskItem[] items, string workDirectory, string projectDirectory, Action<Diagnostic, object?[]> report)
    {
        var files = new List<string>();
        var sourced = new List<string>();
        if (items.Length == 0) items = [new Microsoft.Build.Utilities.TaskItem("disk0", new Dictionary<string, string> { ["Size"] = DefaultSize })];
        foreach (var item in items)
        {
            string sizeText = item.GetMetadata("Size") is { Length: > 0 } s ? s.Trim() : DefaultSize;
            if (ParseSize(sizeText) is not { } size)
            {
                report(Diagnostics.InvalidRehearseDisk, [item.ItemSpec, sizeText]);
                continue;
            }
            string path = Path.Combine(workDirectory, Path.GetFileName(item.ItemSpec) + ".img");
            File.Delete(path);
            string source = item.GetMetadata("Source");
            if (source.Length > 0)
            {
                string sourcePath = Path.GetFullPath(source, projectDirectory);
                if (!File.Exists(sourcePath)) { report(Diagnostics.InvalidRehearseDisk, [item.ItemSpec, $"Source {source} (missing)"]); continue; }
                File.Copy(sourcePath, path);
                if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UserOnly);
                sourced.Add(path);
                if (new FileInfo(path).Length < size)
                    using (var file = new FileStream(path, FileMode.Open)) file.SetLength(size);
            }
            else
            {
                using var file = CreateImage(path);
                file.SetLength(size);
            }
            files.Add(path);
        }
        return new(files, sourced);
    }

    /// <summary>A new image file, the user's alone (0600) from its creation.</summary>
    static FileStream CreateImage(string path)
    {
        if (OperatingSystem.IsWindows()) return new FileStream(path, FileMode.CreateNew);
        return new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UserOnly });
    }

    /// <summary>
    /// The disks for the install, in order, each with its serial. cache=unsafe: the images are scratch files,
    /// so the guest's flushes (dpkg syncs every file it unpacks) need not reach this machine's disk;
    /// what the guest wrote is in the file when QEMU has exited.
    /// </summary>
    public static IReadOnlyList<QemuDisk> ForInstall(IEnumerable<string> files) =>
        files.Select((file, i) => new QemuDisk(file) { Serial = SerialOf(i), Cache = "unsafe" }).ToList();

    /// <summary>The install disk alone, booted first by the firmware, with the serial a first disk has.</summary>
    public static QemuDisk ForBoot(string file) => new(file) { Serial = SerialOf(0), BootIndex = 0 };
}
