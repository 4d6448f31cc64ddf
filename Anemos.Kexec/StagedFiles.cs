using Anemos.Core.Hashing;
using Anemos.Core.Protocol;
using Microsoft.Win32.SafeHandles;

namespace Anemos.Kexec;

/// <summary>
/// The staged kernel and initramfs, opened once: proven by sha256 through these descriptors and
/// handed to kexec_file_load as they are, so what loads is exactly what was proven.
/// </summary>
public sealed class StagedFiles : IDisposable
{
    readonly StagedState _state;
    readonly SafeFileHandle _kernel, _initramfs;

    StagedFiles(StagedState state, SafeFileHandle kernel, SafeFileHandle initramfs) => (_state, _kernel, _initramfs) = (state, kernel, initramfs);

    /// <summary>Opens both files; ANEMOS5004 when either is missing.</summary>
    public static StagedFiles Open(StagedState state)
    {
        var kernel = OpenOrRefuse("kernel", state.KernelPath, state.KernelSha256);
        try { return new StagedFiles(state, kernel, OpenOrRefuse("initramfs", state.InitramfsPath, state.InitramfsSha256)); }
        catch { kernel.Dispose(); throw; }
    }

    /// <summary>Hashes both files through the open descriptors; ANEMOS5004 when either changed since stage.</summary>
    public void Prove()
    {
        foreach (var (what, handle, path, sha256) in new[] { ("kernel", _kernel, _state.KernelPath, _state.KernelSha256), ("initramfs", _initramfs, _state.InitramfsPath, _state.InitramfsSha256) })
            if (FileDigest.OfHandle(handle).Sha256 != sha256) throw Changed(what, path, sha256);
    }

    /// <summary>kexec_file_load(2) of the proven descriptors; 0 or the errno.</summary>
    public int Load(string commandLine)
    {
        bool addedKernel = false, addedInitramfs = false;
        try
        {
            _kernel.DangerousAddRef(ref addedKernel);
            _initramfs.DangerousAddRef(ref addedInitramfs);
            return Native.KexecFileLoad((int)_kernel.DangerousGetHandle(), (int)_initramfs.DangerousGetHandle(), commandLine, 0);
        }
        finally
        {
            if (addedKernel) _kernel.DangerousRelease();
            if (addedInitramfs) _initramfs.DangerousRelease();
        }
    }

    public void Dispose()
    {
        _kernel.Dispose();
        _initramfs.Dispose();
    }

    static SafeFileHandle OpenOrRefuse(string what, string path, string sha256)
    {
        try { return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { throw Changed(what, path, sha256); }
    }

    static HelperException Changed(string what, string path, string sha256) =>
        new(HelperCodes.HashMismatch, $"The staged {what} {path} is missing or no longer has sha256 {sha256}. Stage again.");
}
