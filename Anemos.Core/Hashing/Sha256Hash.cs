using System.Buffers.Binary;
using System.Numerics;
using System.Security.Cryptography;

namespace Anemos.Core.Hashing;

/// <summary>
/// Incremental SHA-256. The runtime's (OpenSSL, with SHA instructions) is used where libssl can be
/// loaded; the host helper must run on servers without it, where .NET's crypto would abort the
/// process, so there a managed implementation (FIPS 180-4) takes over. Set <see cref="UseManaged"/>
/// before the first hash.
/// </summary>
public abstract class Sha256Hash : IDisposable
{
    public static bool UseManaged { get; set; }

    public static Sha256Hash Create() => UseManaged ? new ManagedSha256() : new PlatformSha256();

    public abstract void Append(ReadOnlySpan<byte> data);

    /// <summary>The digest of everything appended so far.</summary>
    public abstract byte[] Current();

    public virtual void Dispose() { }

    sealed class PlatformSha256 : Sha256Hash
    {
        readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        public override void Append(ReadOnlySpan<byte> data) => _hash.AppendData(data);
        public override byte[] Current() => _hash.GetCurrentHash();
        public override void Dispose() => _hash.Dispose();
    }
}

/// <summary>
/// A SHA-256 whose chaining state can be kept and resumed (<see cref="Sha256Midstate"/>), which
/// .NET's own hash cannot export: libcrypto's SHA256_CTX (<see cref="OpenSslSha256"/>, at OpenSSL's
/// speed) where it loads, else the managed one.
/// </summary>
public abstract class ResumableSha256 : Sha256Hash
{
    /// <summary>The state after every whole block appended so far; the last partial block is not in it.</summary>
    public abstract Sha256Midstate Midstate();

    /// <summary>A new hash, or one that continues from a kept state as if its bytes had just been appended.</summary>
    public static ResumableSha256 Create(Sha256Midstate? resumeFrom = null) =>
        !UseManaged && OpenSslSha256.Available
            ? (resumeFrom is null ? new OpenSslSha256() : new OpenSslSha256(resumeFrom))
            : (resumeFrom is null ? new ManagedSha256() : new ManagedSha256(resumeFrom));

    protected static void CheckWords(Sha256Midstate state)
    {
        if (state.State.Count != 8) throw new ArgumentException("A SHA-256 state has eight words.", nameof(state));
    }
}

/// <summary>SHA-256 in managed code (FIPS 180-4), for hosts without libssl, and the reference the OpenSSL state is checked against.</summary>
public sealed class ManagedSha256 : ResumableSha256
{
    static readonly uint[] K =
    [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];

    readonly uint[] _state = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    readonly byte[] _block = new byte[64];
    readonly uint[] _schedule = new uint[64];
    int _blockLength;
    ulong _totalBytes;

    public ManagedSha256() { }

    /// <summary>Continues from a kept state, as if its bytes had just been appended.</summary>
    public ManagedSha256(Sha256Midstate resumeFrom)
    {
        CheckWords(resumeFrom);
        for (int i = 0; i < _state.Length; i++) _state[i] = resumeFrom.State[i];
        _totalBytes = (ulong)resumeFrom.BytesHashed;
    }

    public override Sha256Midstate Midstate() => new((long)_totalBytes - _blockLength, [.. _state]);

    public override void Append(ReadOnlySpan<byte> data)
    {
        _totalBytes += (ulong)data.Length;
        if (_blockLength > 0)
        {
            int take = Math.Min(64 - _blockLength, data.Length);
            data[..take].CopyTo(_block.AsSpan(_blockLength));
            _blockLength += take;
            data = data[take..];
            if (_blockLength < 64) return;
            Compress(_state, _block, _schedule);
            _blockLength = 0;
        }
        while (data.Length >= 64)
        {
            Compress(_state, data[..64], _schedule);
            data = data[64..];
        }
        data.CopyTo(_block);
        _blockLength = data.Length;
    }

    public override byte[] Current()
    {
        // Pad a copy, so more data may still be appended afterwards.
        uint[] state = (uint[])_state.Clone();
        Span<byte> tail = stackalloc byte[128];
        tail.Clear();
        _block.AsSpan(0, _blockLength).CopyTo(tail);
        tail[_blockLength] = 0x80;
        int length = _blockLength + 9 <= 64 ? 64 : 128;
        BinaryPrimitives.WriteUInt64BigEndian(tail[(length - 8)..], _totalBytes * 8);
        uint[] schedule = new uint[64];
        for (int offset = 0; offset < length; offset += 64) Compress(state, tail.Slice(offset, 64), schedule);
        byte[] digest = new byte[32];
        for (int i = 0; i < 8; i++) BinaryPrimitives.WriteUInt32BigEndian(digest.AsSpan(i * 4), state[i]);
        return digest;
    }

    static void Compress(uint[] state, ReadOnlySpan<byte> block, uint[] w)
    {
        for (int i = 0; i < 16; i++) w[i] = BinaryPrimitives.ReadUInt32BigEndian(block[(i * 4)..]);
        for (int i = 16; i < 64; i++)
        {
            uint s0 = BitOperations.RotateRight(w[i - 15], 7) ^ BitOperations.RotateRight(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint s1 = BitOperations.RotateRight(w[i - 2], 17) ^ BitOperations.RotateRight(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f = state[5], g = state[6], h = state[7];
        for (int i = 0; i < 64; i++)
        {
            uint t1 = h + (BitOperations.RotateRight(e, 6) ^ BitOperations.RotateRight(e, 11) ^ BitOperations.RotateRight(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
            uint t2 = (BitOperations.RotateRight(a, 2) ^ BitOperations.RotateRight(a, 13) ^ BitOperations.RotateRight(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
        }
        state[0] += a; state[1] += b; state[2] += c; state[3] += d; state[4] += e; state[5] += f; state[6] += g; state[7] += h;
    }
}
