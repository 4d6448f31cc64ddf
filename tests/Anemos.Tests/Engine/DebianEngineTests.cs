using System.Net;
using System.Net.Sockets;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Engine;

/// <summary>
/// makeimg with target=debian: debootstrap --variant=minbase from a local signed mirror on
/// 127.0.0.1 (debian_mirror, keys/). Two full bootstraps (dir, tar gzip); the failures stop before
/// any package is fetched.
/// </summary>
public sealed class DebianEngineTests(DebianMirrorFixture fixture) : IClassFixture<DebianMirrorFixture>
{
    // base-files' /etc/host.conf is one line, "multi on".
    const string Patch = """
        --- a/etc/host.conf
        +++ b/etc/host.conf
        @@ -1 +1,2 @@
         multi on
        +# patched by Anemos

        """;

    const string Patched = "multi on\n# patched by Anemos\n";

    string Imgbuild(string format) => $$"""
        imgname=debtest
        target=debian
        debian_suite={{fixture.Suite}}
        debian_mirror=${MIRROR}
        debian_variant=minbase
        format="{{format}}"
        hostconf="hostname=debbox timezone=UTC locale=C.UTF-8"
        packages="
        {{DebianMirrorFixture.Extra}}
        "
        {{EngineInputs.Provision.Replace("echo \"provision done\"", "hello >/etc/hello.out\n    echo \"provision done\"")}}
        """;

    [Fact]
    public void ADirBuildHasTheExtraPackageTheInputsAndWhatProvisionWrote()
    {
        string folder = fixture.NewProject("dir", Imgbuild("dir"));
        EngineInputs.Write(folder, "etc/host.conf", Patch);
        var started = DateTime.UtcNow;
        var result = Makeimg.Run(folder, EngineInputs.Environment(folder, more: fixture.Environment()));
        Makeimg.AssertSucceeded(result);
        Makeimg.AssertLogLines(result);
        Console.WriteLine($"debootstrap --variant=minbase from the local mirror: makeimg took {(DateTime.UtcNow - started).TotalSeconds:F0} s");
        Assert.Contains($"--variant=minbase --include={DebianMirrorFixture.Extra} --keyring=", result.Output);
        // Package counts on debootstrap's own lines: each package retrieved, then unpacked and configured against that total.
        int total = System.Text.RegularExpressions.Regex.Matches(result.Output, @"\(package \d+ retrieved\)").Count;
        Assert.True(total > 10, result.Output);
        Assert.Contains($"(package {total} retrieved)", result.Output);
        Assert.Contains($"(unpacked {total}/{total})", result.Output);
        Assert.Contains($"(configured {total}/{total})", result.Output);

        string tree = Path.Combine(folder, "debtest");
        string status = File.ReadAllText(Path.Combine(tree, "var/lib/dpkg/status"));
        Assert.Contains($"Package: {DebianMirrorFixture.Extra}\nStatus: install ok installed\n", status);
        Assert.Equal("Hello, world!\n", File.ReadAllText(Path.Combine(tree, "etc/hello.out")));
        EngineInputs.AssertTree(tree, "etc/host.conf", Patched);
        Assert.Equal("debbox\n", File.ReadAllText(Path.Combine(tree, "etc/hostname")));
        Assert.Equal("UTC\n", File.ReadAllText(Path.Combine(tree, "etc/timezone")));
        Assert.Equal("LANG=C.UTF-8\n", File.ReadAllText(Path.Combine(tree, "etc/default/locale")));
        Assert.Equal("LANG=C.UTF-8\n", File.ReadAllText(Path.Combine(tree, "etc/locale.conf")));
        Assert.False(File.Exists(Path.Combine(tree, "usr/sbin/policy-rc.d")));
        // keys/ configures the bootstrap only.
        Assert.False(Directory.Exists(Path.Combine(tree, "keys")));
    }

    [Fact]
    public void ATarGzipBuildIsATarballGnuTarLists()
    {
        string folder = fixture.NewProject("tar", Imgbuild("dir"));
        EngineInputs.Write(folder, "etc/host.conf", Patch);
        string output = Path.Combine(folder, "out", "debian.tar.gz");
        var result = Makeimg.Run(folder, EngineInputs.Environment(folder, more: fixture.Environment()), "--format", "tar gzip", "--output", output);
        Makeimg.AssertSucceeded(result);
        var listing = ProcessRunner.Run("tar", "--numeric-owner", "-tvzf", output);
        Assert.True(listing.ExitCode == 0, listing.ToString());
        Assert.Matches(@"(?m)^-rwxr-xr-x 0/0 .* \./usr/bin/hello$", listing.StandardOutput);
        Assert.Matches(@"(?m)^-rw-r----- 0/0 .* \./etc/motd$", listing.StandardOutput);
        Assert.Matches(@"(?m)^lrwxrwxrwx 0/0 .* \./etc/motd.link -> motd$", listing.StandardOutput);
        Assert.Matches(@"(?m) \./etc/provisioned$", listing.StandardOutput);
        Assert.Matches(@"(?m) \./var/lib/dpkg/status$", listing.StandardOutput);
        Assert.DoesNotMatch(@"(?m) \./run/.+", listing.StandardOutput.Replace("./run/lock", "").Replace("./run/mount", ""));
    }

    [Fact]
    public void AnUnreachableMirrorFailsTheBootstrapStep()
    {
        // A loopback port that was just free: connection refused.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        string folder = fixture.NewProject("unreachable", Imgbuild("dir"));
        string stepFile = Path.Combine(folder, "step");
        var result = Makeimg.Run(folder, EngineInputs.Environment(folder, secrets: false, more: fixture.Environment($"http://127.0.0.1:{port}")),
            "--step-file", stepFile);
        string line = Makeimg.AssertFailed(result, "bootstrap", "ANEMOS2223");
        Assert.Contains($"http://127.0.0.1:{port}", line);
        Assert.Equal("bootstrap\n", File.ReadAllText(stepFile));
    }

    [Fact]
    public void AMirrorSignedByAnotherKeyFailsTheBootstrapStep()
    {
        string folder = fixture.NewProject("wrong-key", Imgbuild("dir"), keyring: fixture.OtherKeyring);
        var result = Makeimg.Run(folder, EngineInputs.Environment(folder, secrets: false, more: fixture.Environment()));
        string line = Makeimg.AssertFailed(result, "bootstrap", "ANEMOS2222");
        Assert.Contains("does not verify", line);
        Assert.DoesNotContain("Retrieving Packages", result.Output);
    }
}
