using System.Security.Cryptography;
using Anemos.Core.Hashing;

namespace Anemos.Tests.Kexec;

/// <summary>The managed SHA-256 the helper uses on hosts without libssl equals the platform's.</summary>
public sealed class Sha256Tests
{
    static string Managed(byte[] data, int chunk)
    {
        using var hash = new ManagedSha256();
        for (int offset = 0; offset < data.Length; offset += chunk)
            hash.Append(data.AsSpan(offset, Math.Min(chunk, data.Length - offset)));
        return Convert.ToHexString(hash.Current()).ToLowerInvariant();
    }

    [Fact]
    public void MatchesTheStandardVectors()
    {
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Managed([], 1));
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", Managed("abc"u8.ToArray(), 1));
        Assert.Equal("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
            Managed("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"u8.ToArray(), 7));
    }

    [Fact]
    public void MatchesThePlatformForEveryLengthAndChunking()
    {
        var random = new Random(5);
        foreach (int length in Enumerable.Range(0, 200).Concat([511, 512, 513, 1_000_003]))
        {
            byte[] data = new byte[length];
            random.NextBytes(data);
            string expected = Convert.ToHexString(SHA256.HashData(data)).ToLowerInvariant();
            foreach (int chunk in new[] { 1, 63, 64, 65, 4096 })
                if (length < 5000 || chunk == 4096)
                    Assert.Equal(expected, Managed(data, chunk));
        }
    }

    [Fact]
    public void CurrentCanBeAskedMidway()
    {
        using var hash = new ManagedSha256();
        hash.Append("ab"u8);
        _ = hash.Current();
        hash.Append("c"u8);
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", Convert.ToHexString(hash.Current()).ToLowerInvariant());
    }
}
