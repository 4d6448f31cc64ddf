using Anemos.Core.Hashing;
using Anemos.Core.Initramfs;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Core;

/// <summary>The kept SHA-256 state of a base, resumed for the rest of an initramfs, checked against the system's sha256sum.</summary>
public sealed class Sha256MidstateTests : IDisposable
{
    readonly string _directory = TestProject.NewDirectory();

    public Sha256MidstateTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    public static TheoryData<int> BaseSizes()
    {
        // Block-aligned, around a block boundary, and random sizes (seeded, so a failure repeats).
        var sizes = new TheoryData<int> { 0, 1, 63, 64, 65, 128, 4096, 1 << 20, (1 << 20) + 61 };
        var random = new Random(16);
        for (int i = 0; i < 4; i++) sizes.Add(random.Next(1, 3_000_000));
        for (int i = 0; i < 2; i++) sizes.Add(random.Next(1, 40_000) * 64);
        return sizes;
    }

    [Theory]
    [MemberData(nameof(BaseSizes))]
    public void AnAssemblyResumedFromTheBasesStateHasTheBytesAndTheSha256OfAFullAssembly(int baseSize)
    {
        string basePath = Write("base", baseSize, seed: baseSize);
        string overlayPath = Write("overlay", 70_001, seed: 7);
        string resumed = Path.Combine(_directory, "resumed"), full = Path.Combine(_directory, "full");

        var state = Sha256Midstate.OfFile(basePath);
        var digest = InitramfsLayout.AssembleFile(basePath, state, [overlayPath], resumed);
        var fullDigest = InitramfsLayout.AssembleFile(basePath, [overlayPath], full);

        Assert.Equal(baseSize / 64 * 64, state.BytesHashed);
        Assert.Equal(File.ReadAllBytes(full), File.ReadAllBytes(resumed));
        Assert.StartsWith(digest.Sha256 + " ", ProcessRunner.Run("sha256sum", resumed).Output);
        Assert.Equal(fullDigest, digest);
        Assert.Empty(Directory.GetFiles(_directory, "*.tmp"));
    }

    public static TheoryData<string, int, int> Splits()
    {
        var data = new TheoryData<string, int, int>();
        foreach (string implementation in new[] { "managed", "openssl" })
        {
            foreach (var (whole, split) in new[] { (0, 0), (64, 1), (1000, 24), (100_000, 99_999), (1 << 20, 1 << 19) }) data.Add(implementation, whole, split);
            var random = new Random(implementation.Length);
            for (int i = 0; i < 3; i++)
            {
                int whole = random.Next(1, 2_000_000);
                data.Add(implementation, whole, random.Next(0, whole));
            }
        }
        return data;
    }

    static ResumableSha256 New(string implementation, Sha256Midstate? resumeFrom = null) => implementation == "managed"
        ? (resumeFrom is null ? new ManagedSha256() : new ManagedSha256(resumeFrom))
        : (resumeFrom is null ? new OpenSslSha256() : new OpenSslSha256(resumeFrom));

    /// <summary>Either implementation's state, kept as text and resumed by either, gives sha256sum's digest of the whole.</summary>
    [Theory]
    [MemberData(nameof(Splits))]
    public void AHashResumedFromAKeptStateEqualsSha256sumOfTheWhole(string implementation, int whole, int split)
    {
        byte[] bytes = new byte[whole];
        new Random(whole).NextBytes(bytes);
        string path = Path.Combine(_directory, "whole");
        File.WriteAllBytes(path, bytes);
        string expected = ProcessRunner.Run("sha256sum", path).Output;

        using var first = New(implementation);
        first.Append(bytes.AsSpan(0, split));
        Assert.StartsWith(Convert.ToHexStringLower(first.Current()) + " ", ProcessRunner.Run("sh", "-c", $"head -c {split} {path} | sha256sum").Output);
        var kept = Sha256Midstate.Parse(first.Midstate().ToString())!;
        Assert.Equal(split / 64 * 64, kept.BytesHashed);
        foreach (string other in new[] { "managed", "openssl" })
        {
            using var resumed = New(other, kept);
            resumed.Append(bytes.AsSpan((int)kept.BytesHashed));
            Assert.StartsWith(Convert.ToHexStringLower(resumed.Current()) + " ", expected);
        }
    }

    /// <summary>The build machine and a host with libcrypto take OpenSSL's state (the fast one); the managed hash stays for hosts without it.</summary>
    [Fact]
    public void WhereLibcryptoLoadsTheResumableHashIsOpenSsls()
    {
        Assert.True(OpenSslSha256.Available, "libcrypto's SHA256_Init/Update/Final did not load or did not agree with the managed hash on this machine");
        using var hash = ResumableSha256.Create();
        Assert.IsType<OpenSslSha256>(hash);
    }

    [Theory]
    [InlineData("")]
    [InlineData("65 6a09e667bb67ae853c6ef372a54ff53a510e527f9b05688c1f83d9ab5be0cd19")]
    [InlineData("64 6a09e667bb67ae853c6ef372a54ff53a510e527f9b05688c1f83d9ab5be0cd1")]
    [InlineData("64 6a09e667bb67ae853c6ef372a54ff53a510e527f9b05688c1f83d9ab5be0cdzz")]
    [InlineData("-64 6a09e667bb67ae853c6ef372a54ff53a510e527f9b05688c1f83d9ab5be0cd19")]
    public void AStateThatIsNotWholeBlocksAndEightWordsIsRefused(string text) => Assert.Null(Sha256Midstate.Parse(text));

    string Write(string name, int size, int seed)
    {
        byte[] bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        string path = Path.Combine(_directory, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
