namespace Anemos.Core;

/// <summary>
/// What a file is, from its first bytes: the one place the build, the deploy and the helper
/// recognise archives the kernel unpacks, newc segments and programs.
/// </summary>
public static class FileMagic
{
    static readonly byte[] Newc = "070701"u8.ToArray();

    static readonly byte[][] InitramfsStarts =
    [
        Newc, "070702"u8.ToArray(), // newc, crc
        [0x1F, 0x8B], // gzip
        [0x28, 0xB5, 0x2F, 0xFD], // zstd
        [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00], // xz
        [0x5D, 0x00, 0x00], // lzma
        [0x02, 0x21, 0x4C, 0x18], // lz4 legacy
        [0x42, 0x5A, 0x68], // bzip2
        [0x89, 0x4C, 0x5A, 0x4F], // lzo
    ];

    static readonly byte[] Elf = [0x7F, (byte)'E', (byte)'L', (byte)'F'];

    /// <summary>An archive the kernel can unpack as (part of) an initramfs.</summary>
    public static bool LooksLikeInitramfs(string path) => StartsWithAny(path, InitramfsStarts);

    /// <summary>An uncompressed newc cpio, the only kind a host segment may be.</summary>
    public static bool IsNewc(string path) => StartsWithAny(path, [Newc]);

    /// <summary>The same test on bytes already in memory (a segment read from a pipe).</summary>
    public static bool IsNewc(ReadOnlySpan<byte> head) => head.StartsWith(Newc);

    /// <summary>A script with a shebang, or an ELF executable.</summary>
    public static bool IsProgram(string path) => StartsWithAny(path, ["#!"u8.ToArray(), Elf]);

    /// <summary>
    /// `uname -m`'s name for an ELF program's machine (its header's e_machine), or null for a file that
    /// is not ELF: which machine a helper binary starts on.
    /// </summary>
    public static string? ElfMachine(string path)
    {
        if (!File.Exists(path)) return null;
        Span<byte> header = stackalloc byte[20];
        using (var stream = File.OpenRead(path))
            if (stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length) return null;
        if (!header.StartsWith(Elf)) return null;
        // EI_DATA (byte 5): 2 is big-endian; e_machine is the half-word at 18.
        ushort machine = header[5] == 2 ? System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(header[18..]) : System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(header[18..]);
        return machine switch
        {
            62 => "x86_64",
            183 => "aarch64",
            243 => "riscv64",
            _ => "ELF machine " + machine.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
    }

    static bool StartsWithAny(string path, byte[][] starts)
    {
        Span<byte> start = stackalloc byte[8];
        int read;
        using (var stream = File.OpenRead(path)) read = stream.ReadAtLeast(start, start.Length, throwOnEndOfStream: false);
        var head = start[..read];
        foreach (byte[] magic in starts)
            if (head.StartsWith(magic)) return true;
        return false;
    }
}
