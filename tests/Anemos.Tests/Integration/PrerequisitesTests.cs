using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Integration;

/// <summary>
/// eng/prerequisites.sh, as build.sh and test.sh use it (set -euo pipefail), installing a package
/// that is really missing, with and without an existing /usr/sbin/policy-rc.d (every Debian
/// container image has one): the script must go on after the install, and leave policy-rc.d as it
/// found it. A small package nothing else uses (cowsay) is installed and removed again.
/// </summary>
[EndToEnd(Needs.AptInstall)]
public sealed class PrerequisitesTests
{
    const string Package = "cowsay";
    const string Command = "/usr/games/cowsay";
    const string Policy = "/usr/sbin/policy-rc.d";

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AMissingPackageIsInstalledAndTheScriptGoesOn(bool policyExists)
    {
        Assert.True(Environment.UserName == "root", "this test installs a Debian package: run it as root (CI does)");
        string aside = Policy + ".anemos-test-aside";
        bool hadPolicy = File.Exists(Policy);
        ProcessRunner.Run("apt-get", "remove", "-y", "-q", Package);
        try
        {
            if (hadPolicy && !policyExists) File.Move(Policy, aside);
            if (!hadPolicy && policyExists) File.WriteAllText(Policy, "#!/bin/sh\nexit 101\n");
            Assert.False(File.Exists(Command), $"{Package} could not be removed before the test");

            var result = ProcessRunner.Run("bash", ["-c", $"set -euo pipefail; . eng/prerequisites.sh; anemos_require_packages {Command}:{Package}; echo 'the script went on'"],
                Repository.Root, timeout: TimeSpan.FromMinutes(5));
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Contains($"Installing: {Package}", result.Output);
            Assert.Contains("the script went on", result.Output);
            Assert.True(File.Exists(Command), $"{Package} was not installed:\n{result}");
            Assert.Equal(policyExists, File.Exists(Policy));
        }
        finally
        {
            ProcessRunner.Run("apt-get", "remove", "-y", "-q", Package);
            if (!hadPolicy && policyExists) File.Delete(Policy);
            if (File.Exists(aside)) File.Move(aside, Policy, overwrite: true);
        }
    }
}
