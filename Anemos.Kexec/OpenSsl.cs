using System.Runtime.InteropServices;

namespace Anemos.Kexec;

/// <summary>
/// Whether the host has the libssl .NET's cryptography and https need. Without it .NET aborts the
/// process on the first hash, so the helper asks first and hashes in managed code instead.
/// </summary>
public static class OpenSsl
{
    static readonly string[] Names = ["libssl.so.3", "libssl.so.1.1", "libssl.so.10", "libssl.so"];

    public static bool Available { get; } =
        Environment.GetEnvironmentVariable("ANEMOS_KEXEC_NO_OPENSSL") != "1"
        && Names.Any(name => NativeLibrary.TryLoad(name, out _));
}
