using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Init;

/// <summary>
/// The guest's own busybox (samples/base's package) and the deploy init, for tests that run the
/// init's functions as the initramfs does: its applets alone on PATH, not this machine's tools.
/// </summary>
public static class GuestBusybox
{
    public static string Init { get; } = Repository.PathOf("Anemos.Sdk", "init", "anemos-init");

    public static string Binary
    {
        get
        {
            string busybox = Path.Combine(Repository.DebianPackages, "busybox", "bin", "busybox");
            Assert.True(File.Exists(busybox), $"{busybox} is missing: ./build.sh fetches samples/base's packages");
            return busybox;
        }
    }

    /// <summary>Installs the applets as symlinks into <paramref name="folder"/> (made here) and returns it.</summary>
    public static string InstallApplets(string folder)
    {
        Directory.CreateDirectory(folder);
        var install = ProcessRunner.Run(Binary, "--install", "-s", folder);
        Assert.True(install.ExitCode == 0, install.ToString());
        return folder;
    }
}
