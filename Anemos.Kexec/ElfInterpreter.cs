using System.Buffers.Binary;
using System.Text;

namespace Anemos.Kexec;

/// <summary>
/// The program interpreter (PT_INTERP) of an ELF file: the dynamic loader it names, which says the
/// C library the system's programs use. A machine may carry another library's loader beside its
/// own (Debian's musl package installs /lib/ld-musl-x86_64.so.1); /bin/sh's interpreter is the one
/// its programs run with.
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

    /// <summary>musl or glibc, as /bin/sh's loader says; a static /bin/sh (no loader to ask): musl when only musl's loader is there.</summary>
    public static string Libc(SystemFiles files)
    {
        // The program headers and the interpreter's name sit in the first page of an executable.
        string? loader = files.ReadHead("/bin/sh", 4096) is { } shell ? Of(shell) : null;
        if (loader is not null) return loader.Contains("ld-musl", StringComparison.Ordinal) ? "musl" : "glibc";
        return files.Exists("/lib/ld-musl-x86_64.so.1") || files.Exists("/lib/ld-musl-aarch64.so.1") ? "musl" : "glibc";
    }
}
