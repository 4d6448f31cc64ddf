namespace Anemos.Core.Protocol;

/// <summary>
/// The helper's codes, in one place so docs/errors.md and a test can keep them in step, and in
/// Anemos.Core so the deploy recognises a refusal by its constant, not by a literal.
/// </summary>
public static class HelperCodes
{
    public const string Usage = "ANEMOS5000";
    public const string ManifestInvalid = "ANEMOS5001";
    public const string StateFolder = "ANEMOS5002";
    public const string LockHeld = "ANEMOS5003";
    public const string HashMismatch = "ANEMOS5004";
    public const string SizeMismatch = "ANEMOS5005";
    public const string ArtifactMissing = "ANEMOS5006";
    public const string InitramfsNotProven = "ANEMOS5007";
    public const string DownloadFailed = "ANEMOS5008";
    public const string NothingStaged = "ANEMOS5009";
    public const string NotRoot = "ANEMOS5010";
    public const string KexecDisabled = "ANEMOS5011";
    public const string KexecUnsupported = "ANEMOS5012";
    public const string NotEnoughMemory = "ANEMOS5013";
    public const string LoadFailed = "ANEMOS5014";
    public const string HandoverFailed = "ANEMOS5015";
    public const string SegmentInvalid = "ANEMOS5016";
    public const string KernelUnsigned = "ANEMOS5017";
    public const string DeployLockHeld = "ANEMOS5018";
    public const string SecretsNotInRam = "ANEMOS5019";
    public const string TargetDiskUnknown = "ANEMOS5020";
    public const string SecretsSwappable = "ANEMOS5025";
    public const string Internal = "ANEMOS5099";
}
