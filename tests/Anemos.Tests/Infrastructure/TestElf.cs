using System.Buffers.Binary;

namespace Anemos.Tests.Infrastructure;

/// <summary>The first bytes of an ELF program as the tests need them: a 64-bit little-endian header, and one program header, PT_INTERP, naming a loader.</summary>
public static class TestElf
{
    /// <param name="machine">e_machine: 62 x86_64, 183 aarch64; 0 leaves it unset.</param>
    /// <param name="loader">The dynamic loader PT_INTERP names; null for a static program (no program header).</param>
    public static byte[] Header(ushort machine = 0, string? loader = null)
    {
        byte[] name = System.Text.Encoding.ASCII.GetBytes((loader ?? "") + "\0");
        byte[] elf = new byte[64 + 56 + name.Length];
        elf[0] = 0x7f; elf[1] = (byte)'E'; elf[2] = (byte)'L'; elf[3] = (byte)'F';
        elf[4] = 2; elf[5] = 1; elf[6] = 1;                                     // ELF64, little-endian, version 1
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(18), machine);       // e_machine
        if (loader is null) return elf;
        BinaryPrimitives.WriteInt64LittleEndian(elf.AsSpan(0x20), 64);           // e_phoff
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(0x36), 56);          // e_phentsize
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(0x38), 1);           // e_phnum
        BinaryPrimitives.WriteUInt32LittleEndian(elf.AsSpan(64), 3);             // p_type PT_INTERP
        BinaryPrimitives.WriteInt64LittleEndian(elf.AsSpan(64 + 8), 120);        // p_offset
        BinaryPrimitives.WriteInt64LittleEndian(elf.AsSpan(64 + 32), name.Length); // p_filesz
        name.CopyTo(elf, 120);
        return elf;
    }
}
