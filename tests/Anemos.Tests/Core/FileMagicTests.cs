using Anemos.Core;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Core;

/// <summary>The one place file starts are recognised: archives the kernel unpacks, newc segments, programs.</summary>
public sealed class FileMagicTests : IDisposable
{
    readonly string _directory = TestProject.NewDirectory();

    public FileMagicTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    string Write(byte[] content)
    {
        string path = Path.Combine(_directory, Guid.NewGuid().ToString("N"));
        File.WriteAllBytes(path, content);
        return path;
    }

    [Theory]
    [InlineData(new byte[] { 0x1F, 0x8B, 8, 0 })] // gzip
    [InlineData(new byte[] { 0x28, 0xB5, 0x2F, 0xFD, 0 })] // zstd
    [InlineData(new byte[] { 0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00 })] // xz
    [InlineData(new byte[] { (byte)'0', (byte)'7', (byte)'0', (byte)'7', (byte)'0', (byte)'1' })] // newc
    public void ArchivesTheKernelUnpacksLookLikeAnInitramfs(byte[] start) =>
        Assert.True(FileMagic.LooksLikeInitramfs(Write(start)));

    [Fact]
    public void AKernelImageOrAnEmptyFileIsNoInitramfs()
    {
        Assert.False(FileMagic.LooksLikeInitramfs(Write([0x4D, 0x5A, 0, 0]))); // bzImage starts MZ
        Assert.False(FileMagic.LooksLikeInitramfs(Write([])));
    }

    [Fact]
    public void NewcIsRecognisedTheSameOnDiskAndInMemory()
    {
        byte[] newc = "070701000000"u8.ToArray(), crc = "070702000000"u8.ToArray();

        Assert.True(FileMagic.IsNewc(Write(newc)));
        Assert.True(FileMagic.IsNewc(newc));
        Assert.False(FileMagic.IsNewc(Write(crc)));
        Assert.False(FileMagic.IsNewc(crc));
        Assert.False(FileMagic.IsNewc("0707"u8));
    }

    [Fact]
    public void ScriptsAndElfAreProgramsTextIsNot()
    {
        Assert.True(FileMagic.IsProgram(Write("#!/bin/sh\n"u8.ToArray())));
        Assert.True(FileMagic.IsProgram(Write([0x7F, (byte)'E', (byte)'L', (byte)'F', 2, 1])));
        Assert.False(FileMagic.IsProgram(Write("echo hi\n"u8.ToArray())));
    }
}
