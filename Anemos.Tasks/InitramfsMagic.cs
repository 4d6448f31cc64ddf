namespace Anemos.Tasks;

/// <summary>Recognises the starts of archives the kernel can unpack as an initramfs.</summary>
public static class InitramfsMagic
{
    static readonly byte[][] Magics =
    [
        "070701"u8.ToArray(), "070702"u8.ToArray(), // newc, crc
        [0x1F, 0x8B], // gzip
        [0x28, 0xB5, 0x2F, 0xFD], // zstd
        [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00], // xz
        [0x5D, 0x00, 0x00], // lzma
        [0x02, 0x21, 0x4C, 0x18], // lz4 legacy
        [0x42, 0x5A, 0x68], // bzip2
        [0x89, 0x4C, 0x5A, 0x4F], // lzo
    ];

    public static bool LooksLikeInitramfs(string path)
    {
        Span<byte> start = stackalloc byte[8];
        int read;
        using (var stream = File.OpenRead(path)) read = stream.ReadAtLeast(start, start.Length, throwOnEndOfStream: false);
        var head = start[..read];
        foreach (byte[] magic in Magics)
            if (head.StartsWith(magic)) return true;
        return false;
    }
}
