using System.Buffers.Binary;
using System.Text;

namespace Anemos.Core;

/// <summary>
/// The program interpreter (PT_INTERP) of an ELF file: the dynamic loader it names, which says the
/// C library the system's programs use. A machine may carry another library's loader beside its
/// own (Debian's musl package installs /lib/ld-musl-x86_64.so.1); /bin/sh's interpreter is the one
/// its programs run with. A helper variant's own interpreter says which hosts it starts on.
/// </summary>
public static class ElfInterpreter
{
    const uint ProgramInterpreter = 3;
    static ReadOnlySpan<byte> Magic => [0x7f, (byte)'E', (byte)'L', (byte)'F'];

    /// <summary>The loader a 64-bit little-endian ELF file names; null for a static program, another ELF class or byte order, or bytes cut short.</summary>
    public static string? Of(ReadOnlySpan<byte> elf)
    {
        if (elf.Length < 64 || !elf[..4].SequenceEqual(Magic) || elf[4] != 2 || elf[5] != 1) return null;
        long table = BinaryPrimitives.ReadInt64LittleEndian(elf[0x20..]);
        int entrySize = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x36..]);
        int entries = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x38..]);
        for (int i = 0; i < entries; i++)
        {
            long at = table + (long)i * entrySize;
            if (entrySize < 56 || at < 0 || at + 56 > elf.Length) return null;
            var entry = elf.Slice((int)at, 56);
            if (BinaryPrimitives.ReadUInt32LittleEndian(entry) != ProgramInterpreter) continue;
            long offset = BinaryPrimitives.ReadInt64LittleEndian(entry[8..]);
            long size = BinaryPrimitives.ReadInt64LittleEndian(entry[32..]);
            if (offset < 0 || size <= 0 || offset + size > elf.Length) return null;
            return Encoding.ASCII.GetString(elf.Slice((int)offset, (int)size)).TrimEnd('\0');
        }
        return null;
    }

    /// <summary>The loader the ELF file at <paramref name="path"/> names, from its first page; null as for <see cref="Of"/>, or when there is no such file.</summary>
    public static string? OfFile(string path)
    {
        if (!File.Exists(path)) return null;
        byte[] head = new byte[4096];
        int read;
        using (var stream = File.OpenRead(path)) read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        return Of(head.AsSpan(0, read));
    }

    /// <summary>Whether a loader's path is musl's (ld-musl-ARCH.so.1) rather than glibc's.</summary>
    public static bool IsMusl(string loader) => loader.Contains("ld-musl", StringComparison.Ordinal);
}
