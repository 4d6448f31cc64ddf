using System.Buffers.Binary;
using System.IO.Compression;

namespace Anemos.Core;

/// <summary>
/// The machine a Linux kernel image is built for, in the names .NET gives architectures (the
/// helper's facts say the host's so): an x86 bzImage ("HdrS" at 0x202, the boot protocol's
/// header), an arm64 Image ("ARM\x64" at 0x38), the same gzip-compressed (Debian's arm64 vmlinuz),
/// or an EFI zboot image (its PE machine). Null for anything else, which is then not checked.
/// </summary>
public static class KernelMachine
{
    const int Head = 0x400;

    public static string? Of(string path)
    {
        byte[] head = new byte[Head];
        int read;
        using (var stream = File.OpenRead(path)) read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        return Of(head.AsSpan(0, read), path);
    }

    static string? Of(ReadOnlySpan<byte> head, string path)
    {
        if (IsBzImage(head)) return "x64";
        if (IsArm64Image(head)) return "arm64";
        if (head.Length >= 2 && head[0] == 0x1f && head[1] == 0x8b)
        {
            // The Image's header is its first 64 bytes: unpack only those.
            byte[] image = new byte[64];
            using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
            int got;
            try { got = gzip.ReadAtLeast(image, image.Length, throwOnEndOfStream: false); }
            catch (InvalidDataException) { return null; }
            return IsArm64Image(image.AsSpan(0, got)) ? "arm64" : null;
        }
        // EFI zboot: "MZ", then "zimg"; the PE header's machine says the rest.
        if (head.Length >= 0x40 && head[0] == (byte)'M' && head[1] == (byte)'Z' && head.Slice(4, 4).SequenceEqual("zimg"u8))
        {
            int pe = BinaryPrimitives.ReadInt32LittleEndian(head[0x3c..]);
            if (pe < 0 || pe + 6 > head.Length || !head.Slice(pe, 4).SequenceEqual("PE\0\0"u8)) return null;
            return BinaryPrimitives.ReadUInt16LittleEndian(head[(pe + 4)..]) switch { 0xAA64 => "arm64", 0x8664 => "x64", _ => null };
        }
        return null;
    }

    /// <summary>An x86 bzImage: the boot protocol's header magic "HdrS" at 0x202.</summary>
    public static bool IsBzImage(ReadOnlySpan<byte> head) => head.Length >= 0x206 && head.Slice(0x202, 4).SequenceEqual("HdrS"u8);

    static bool IsArm64Image(ReadOnlySpan<byte> head) => head.Length >= 0x3c && head.Slice(0x38, 4).SequenceEqual("ARM\x64"u8);
}
