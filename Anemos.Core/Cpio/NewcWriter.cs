using System.Text;

namespace Anemos.Core.Cpio;

/// <summary>
/// Writes a cpio archive in the "newc" format (magic 070701), the format the Linux kernel
/// unpacks from an initramfs. Every field is chosen by the caller, so archives are reproducible:
/// inode numbers are assigned sequentially, owners and times are whatever the caller passes.
/// </summary>
public sealed class NewcWriter : IDisposable
{
    public const int HeaderSize = 110;
    const string Magic = "070701";
    const string TrailerName = "TRAILER!!!";

    readonly Stream _output;
    readonly bool _leaveOpen;
    uint _nextInode = 1;
    bool _finished;

    public NewcWriter(Stream output, bool leaveOpen = false)
    {
        _output = output;
        _leaveOpen = leaveOpen;
    }

    /// <summary>Bytes written so far.</summary>
    public long Position { get; private set; }

    public void AddDirectory(string name, uint mode = 0x1ED /* 0755 */, long mtime = 0) =>
        WriteEntry(name, CpioFileType.Directory | (mode & 0xFFF), mtime, ReadOnlySpan<byte>.Empty, nlink: 2);

    public void AddFile(string name, ReadOnlySpan<byte> content, uint mode = 0x1A4 /* 0644 */, long mtime = 0) =>
        WriteEntry(name, CpioFileType.Regular | (mode & 0xFFF), mtime, content, nlink: 1);

    /// <summary>Adds a regular file whose content is streamed from <paramref name="content"/>, which must yield exactly <paramref name="length"/> bytes.</summary>
    public void AddFile(string name, Stream content, long length, uint mode = 0x1A4, long mtime = 0, CancellationToken cancellationToken = default)
    {
        if (length > uint.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(length), $"newc cpio cannot hold '{name}': {length} bytes is over 4 GiB.");
        WriteHeader(name, CpioFileType.Regular | (mode & 0xFFF), mtime, (uint)length, nlink: 1, rdevMajor: 0, rdevMinor: 0);
        long copied = StreamCopy.CopyExactly(content, _output, length, cancellationToken);
        Position += copied;
        Pad();
    }

    public void AddSymlink(string name, string target, long mtime = 0) =>
        WriteEntry(name, CpioFileType.Symlink | 0x1FF, mtime, Encoding.UTF8.GetBytes(target), nlink: 1);

    public void AddCharacterDevice(string name, uint major, uint minor, uint mode = 0x180 /* 0600 */, long mtime = 0)
    {
        WriteHeader(name, CpioFileType.CharacterDevice | (mode & 0xFFF), mtime, 0, 1, major, minor);
        Pad();
    }

    /// <summary>Writes the trailer entry. The archive is complete only after this.</summary>
    public void Finish()
    {
        if (_finished) return;
        _nextInode = 0;
        WriteEntry(TrailerName, 0, 0, ReadOnlySpan<byte>.Empty, nlink: 1);
        _finished = true;
        _output.Flush();
    }

    void WriteEntry(string name, uint mode, long mtime, ReadOnlySpan<byte> content, uint nlink)
    {
        WriteHeader(name, mode, mtime, (uint)content.Length, nlink, 0, 0);
        _output.Write(content);
        Position += content.Length;
        Pad();
    }

    void WriteHeader(string name, uint mode, long mtime, uint size, uint nlink, uint rdevMajor, uint rdevMinor)
    {
        if (_finished) throw new InvalidOperationException("The archive already has its trailer.");
        if (name.Length == 0 || name.Contains('\0')) throw new ArgumentException($"Invalid cpio entry name '{name}'.", nameof(name));
        if (mtime < 0 || mtime > uint.MaxValue) throw new ArgumentOutOfRangeException(nameof(mtime));

        byte[] nameBytes = Encoding.UTF8.GetBytes(name);
        uint inode = name == TrailerName ? 0 : _nextInode++;
        var header = new StringBuilder(HeaderSize);
        header.Append(Magic);
        foreach (uint field in new[] { inode, mode, 0u, 0u, nlink, (uint)mtime, size, 0u, 0u, rdevMajor, rdevMinor, (uint)nameBytes.Length + 1, 0u })
            header.Append(field.ToString("X8"));

        _output.Write(Encoding.ASCII.GetBytes(header.ToString()));
        _output.Write(nameBytes);
        _output.WriteByte(0);
        Position += HeaderSize + nameBytes.Length + 1;
        Pad();
    }

    void Pad()
    {
        int padding = (int)((4 - (Position % 4)) % 4);
        for (int i = 0; i < padding; i++) _output.WriteByte(0);
        Position += padding;
    }

    public void Dispose()
    {
        if (!_leaveOpen) _output.Dispose();
    }
}

/// <summary>File type bits of a cpio mode (the same as st_mode).</summary>
public static class CpioFileType
{
    public const uint Regular = 0x8000;
    public const uint Directory = 0x4000;
    public const uint Symlink = 0xA000;
    public const uint CharacterDevice = 0x2000;
}
