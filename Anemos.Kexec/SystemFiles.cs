namespace Anemos.Kexec;

/// <summary>
/// Reads the kernel's and the system's files (/proc, /sys, /etc, /boot) below a root, "/" on a
/// host; tests point it at captured samples. A missing or unreadable file is null, never an error:
/// facts say "unknown" rather than fail.
/// </summary>
public sealed class SystemFiles(string root = "/")
{
    public string Root { get; } = root;

    public string PathOf(string absolute) => Path.Combine(Root, absolute.TrimStart('/'));

    public string? Read(string absolute)
    {
        try
        {
            string path = PathOf(absolute);
            return File.Exists(path) ? File.ReadAllText(path) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public byte[]? ReadBytes(string absolute)
    {
        try
        {
            string path = PathOf(absolute);
            return File.Exists(path) ? File.ReadAllBytes(path) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The first bytes of a file or block device (a disk's partition table), never the whole of it.</summary>
    public byte[]? ReadHead(string absolute, int count)
    {
        try
        {
            using var stream = new FileStream(PathOf(absolute), FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
            byte[] buffer = new byte[count];
            int read = stream.ReadAtLeast(buffer, count, throwOnEndOfStream: false);
            return buffer[..read];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return null;
        }
    }

    public bool Exists(string absolute) => File.Exists(PathOf(absolute)) || Directory.Exists(PathOf(absolute));

    public IEnumerable<string> List(string absoluteDirectory)
    {
        string path = PathOf(absoluteDirectory);
        return Directory.Exists(path) ? Directory.EnumerateFileSystemEntries(path).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal) : [];
    }
}
