using System.IO.Compression;
using Anemos.Core;
using Anemos.Tasks;
using Anemos.Tasks.Deploy;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Tasks;

/// <summary>
/// The machine a deploy kernel is built for, read from its image, and the plan phase's refusal of a
/// kernel for another machine than the host's (ANEMOS4050), before anything is uploaded.
/// </summary>
public sealed class KernelMachineCheckTests : IDisposable
{
    readonly string _root = Directory.CreateTempSubdirectory("anemos-kernel-machine-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_root, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>An arm64 Image's first bytes: its header, "ARM\x64" at 0x38 (the kernel's booting.rst).</summary>
    static byte[] Arm64Image()
    {
        byte[] image = new byte[4096];
        "ARM\x64"u8.CopyTo(image.AsSpan(0x38));
        return image;
    }

    static byte[] Gzip(byte[] bytes)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest)) gzip.Write(bytes);
        return buffer.ToArray();
    }

    [Fact]
    public void DebiansX86KernelIsABzImageForX64() =>
        Assert.Equal("x64", KernelMachine.Of(Repository.PathOf("samples", "base", ".deps", "linux", "boot", Path.GetFileName(Directory.GetFiles(Repository.PathOf("samples", "base", ".deps", "linux", "boot"), "vmlinuz-*")[0]))));

    [Fact]
    public void AnArm64ImageIsReadPlainAndGzipped()
    {
        Assert.Equal("arm64", KernelMachine.Of(Write("Image", Arm64Image())));
        Assert.Equal("arm64", KernelMachine.Of(Write("vmlinuz", Gzip(Arm64Image()))));
    }

    [Fact]
    public void AnEfiZbootImageSaysItsMachineInItsPeHeader()
    {
        byte[] zboot = new byte[1024];
        "MZ"u8.CopyTo(zboot);
        "zimg"u8.CopyTo(zboot.AsSpan(4));
        BitConverter.TryWriteBytes(zboot.AsSpan(0x3c), 0x80);
        "PE\0\0"u8.CopyTo(zboot.AsSpan(0x80));
        BitConverter.TryWriteBytes(zboot.AsSpan(0x84), (ushort)0xAA64);
        Assert.Equal("arm64", KernelMachine.Of(Write("zboot", zboot)));
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 0x1f, 0x8b, 0, 0 })] // gzip cut short
    [InlineData(new byte[] { (byte)'M', (byte)'Z', 0, 0 })]
    public void AnythingElseIsUnknownAndNotChecked(byte[] bytes)
    {
        string path = Write("other", bytes);
        Assert.Null(KernelMachine.Of(path));
        KernelMachineCheck.Check(path, "arm64", "root@x");
    }

    [Fact]
    public void AKernelForAnotherMachineIsRefusedBeforeAnythingIsUploaded()
    {
        string arm64 = Write("vmlinuz", Gzip(Arm64Image()));
        KernelMachineCheck.Check(arm64, "arm64", "root@arm");
        KernelMachineCheck.Check(arm64, null, "root@old-helper"); // a helper that said nothing: not checked
        var refused = Assert.Throws<AnemosException>(() => KernelMachineCheck.Check(arm64, "x64", "root@x86"));
        Assert.Equal("ANEMOS4050", refused.Diagnostic.Code);
        Assert.Contains($"The deploy kernel {arm64} is built for arm64, and root@x86 is x64 (its helper's facts)", refused.Message);
        Assert.Contains("Nothing was uploaded", refused.Message);
    }
}
