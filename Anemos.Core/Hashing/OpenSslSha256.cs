using System.Runtime.InteropServices;

namespace Anemos.Core.Hashing;

/// <summary>
/// SHA-256 through libcrypto's SHA256_Init, SHA256_Update and SHA256_Final. Their context,
/// SHA256_CTX, keeps the chaining state in the open (eight words, the bit count, the partial block;
/// the same 112 bytes from OpenSSL 1.0 to 3.x), so the state after a base's whole blocks can be read
/// and later resumed at OpenSSL's speed (SHA instructions), about five times the managed hash's.
/// The functions are deprecated in OpenSSL 3 but exported; where they are missing, or the layout
/// does not give the managed hash's state on a probe, this is not <see cref="Available"/>.
/// </summary>
public sealed unsafe class OpenSslSha256 : ResumableSha256
{
    [StructLayout(LayoutKind.Sequential)]
    struct Context
    {
        public fixed uint H[8];
        public uint Nl, Nh; // the bit count, low and high words
        public fixed uint Data[16];
        public uint Num, MdLen; // bytes in Data, the digest's length
    }

    static readonly string[] Libraries = ["libcrypto.so.3", "libcrypto.so.1.1", "libcrypto.so.10", "libcrypto.so"];
    static readonly nint Init, Update, Final;

    /// <summary>Whether libcrypto's SHA256_CTX functions load and give the managed hash's state and digest.</summary>
    public static bool Available { get; }

    static OpenSslSha256()
    {
        foreach (string name in Libraries)
        {
            if (NativeLibrary.TryLoad(name, out nint library)
                && NativeLibrary.TryGetExport(library, "SHA256_Init", out Init)
                && NativeLibrary.TryGetExport(library, "SHA256_Update", out Update)
                && NativeLibrary.TryGetExport(library, "SHA256_Final", out Final))
            {
                Available = AgreesWithManaged();
                return;
            }
        }
    }

    Context _context;

    public OpenSslSha256()
    {
        fixed (Context* context = &_context)
            if (((delegate* unmanaged<Context*, int>)Init)(context) != 1) throw new InvalidOperationException("SHA256_Init failed.");
    }

    public OpenSslSha256(Sha256Midstate resumeFrom) : this()
    {
        CheckWords(resumeFrom);
        for (int i = 0; i < 8; i++) _context.H[i] = resumeFrom.State[i];
        ulong bits = (ulong)resumeFrom.BytesHashed * 8;
        _context.Nl = (uint)bits;
        _context.Nh = (uint)(bits >> 32);
    }

    public override void Append(ReadOnlySpan<byte> data)
    {
        fixed (Context* context = &_context)
        fixed (byte* bytes = data)
            if (((delegate* unmanaged<Context*, byte*, nuint, int>)Update)(context, bytes, (nuint)data.Length) != 1)
                throw new InvalidOperationException("SHA256_Update failed.");
    }

    public override byte[] Current()
    {
        // Final on a copy, so more data may still be appended afterwards.
        var copy = _context;
        byte[] digest = new byte[32];
        fixed (byte* output = digest)
            if (((delegate* unmanaged<byte*, Context*, int>)Final)(output, &copy) != 1) throw new InvalidOperationException("SHA256_Final failed.");
        return digest;
    }

    public override Sha256Midstate Midstate()
    {
        ulong bytes = (((ulong)_context.Nh << 32) | _context.Nl) / 8;
        var state = new uint[8];
        for (int i = 0; i < 8; i++) state[i] = _context.H[i];
        return new Sha256Midstate((long)bytes - _context.Num, state);
    }

    /// <summary>A probe across a block boundary and a resume: the layout is the one assumed here, or this is not used.</summary>
    static bool AgreesWithManaged()
    {
        byte[] probe = new byte[200];
        for (int i = 0; i < probe.Length; i++) probe[i] = (byte)(i * 7 + 1);
        var ours = new OpenSslSha256();
        var reference = new ManagedSha256();
        ours.Append(probe.AsSpan(0, 131));
        reference.Append(probe.AsSpan(0, 131));
        Sha256Midstate state = ours.Midstate(), expected = reference.Midstate();
        if (state.BytesHashed != expected.BytesHashed || !state.State.SequenceEqual(expected.State)) return false;
        if (!ours.Current().AsSpan().SequenceEqual(reference.Current())) return false;
        var resumed = new OpenSslSha256(expected);
        resumed.Append(probe.AsSpan((int)expected.BytesHashed));
        reference.Append(probe.AsSpan(131));
        return resumed.Current().AsSpan().SequenceEqual(reference.Current());
    }
}
