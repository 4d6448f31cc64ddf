// The tests drive Linux tools (GNU cpio and tar, zstd, sh, git) and build Linux artifacts.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
