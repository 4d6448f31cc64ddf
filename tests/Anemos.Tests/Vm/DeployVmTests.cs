using System.Text.Json;
using Anemos.Tests.Deploy;
using Anemos.Tests.Infrastructure;
using Anemos.Tests.Ssh;

namespace Anemos.Tests.Vm;

/// <summary>
/// The product end to end: `dotnet publish -p:Host=vm` against stock host VMs (QEMU, TCG) reached
/// through loopback port forwards. The deploy installs the helper, uploads, sends a secret,
/// stages, kexecs; the deploy init runs a `deploy` payload that writes the payload sha256 and the
/// secret's presence (never its value) to the disk and reboots; the same VM comes back and is
/// verified. The verdict is the disk, the consoles and the reported phases.
/// </summary>
[LongRunning(7)]
[EndToEnd(Needs.Qemu)]
public sealed class DeployVmTests(SampleBaseFixture fixture) : IClassFixture<SampleBaseFixture>
{
    const string Payload = """
        #!/bin/sh
        # The test's payload: prove what arrived, then let the deploy init reboot into the "new system".
        secret=absent
        [ -f secrets/api/token ] && secret="present mode=$(stat -c %a secrets/api/token) bytes=$(wc -c < secrets/api/token)"
        printf 'ANEMOS-DEPLOYED host=%s payload=%s healthy=%s secret=%s\n' "$ANEMOS_HOST" "$ANEMOS_PAYLOAD_SHA256" "$HEALTHY" "$secret" \
            | dd of="$ANEMOS_TARGET_DISK" conv=notrunc 2>/dev/null
        sync

        """;

    TestProject CreateProject(string name, SshTestKeys keys, string hosts)
    {
        var project = TestProject.Create($"""
            <Project Sdk="Anemos.Sdk">
              <PropertyGroup>
                <AnemosSshConfigFile>{keys.ClientConfig}</AnemosSshConfigFile>
                <AnemosSshIdentityFile>{keys.ClientKey}</AnemosSshIdentityFile>
                <AnemosDeployLockDirectory>{Path.Combine(keys.Directory, "locks")}</AnemosDeployLockDirectory>
                <AnemosDeployTimeout>300</AnemosDeployTimeout>
                <AnemosHealthCheck>test -e /run/healthy</AnemosHealthCheck>
              </PropertyGroup>
              <ItemGroup>
                <ProjectReference Include="../base/base.proj" />
                {hosts}
                <AnemosSecret Include="api-token" EnvironmentVariable="ANEMOS_VM_TEST_TOKEN" TargetPath="api/token" />
              </ItemGroup>
            </Project>
            """, "host.proj", Path.Combine(fixture.Root, name));
        project.Environment["ANEMOS_DEBIAN_PACKAGES"] = Repository.DebianPackages;
        project.Environment["ANEMOS_VM_TEST_TOKEN"] = "vm-test-token-value";
        project.Write("deploy", Payload, executable: true);
        // The stock hosts boot the base image itself: build it first (the host project needs the VMs' ports).
        var build = project.Dotnet(["build", Path.Combine(fixture.Root, "base", "base.proj"), "-nologo", "-nodeReuse:false"]);
        Assert.True(build.ExitCode == 0, build.ToString());
        return project;
    }

    string BaseArtifacts => Path.Combine(fixture.Root, "base", "bin", "anemos");

    static string Host(string name, StockHostVm vm, SshTestKeys keys, string healthy) =>
        $"""<AnemosHost Include="{name}" Address="127.0.0.1" Port="{vm.Port}" HostKey="{keys.HostKeyFingerprint}" Network="none" HEALTHY="{healthy}" Group="pair" />""";

    [Fact]
    public void PublishDeploysAStockHostThroughKexecAndVerifiesTheNewSystem()
    {
        var keys = SshTestKeys.Create(Path.Combine(fixture.Root, "keys-single"));
        using var project = CreateProject("single", keys, "");
        using var vm = StockHostVm.Start(Path.Combine(fixture.Root, "vm-single"), BaseArtifacts, keys.HostKey, keys.ClientKey + ".pub");
        File.WriteAllText(project.ProjectFile, File.ReadAllText(project.ProjectFile).Replace("<ProjectReference Include=\"../base/base.proj\" />",
            "<ProjectReference Include=\"../base/base.proj\" />\n    " + Host("vm", vm, keys, "yes")));

        var result = project.PublishToVm("-p:Host=vm");
        string context = $"{result}\n--- VM console:\n{vm.Console}";
        Assert.True(result.ExitCode == 0, context);

        var phases = DeployOutput.PhaseLine().Matches(result.Output).Select(m => m.Groups[2].Value + m.Groups[3].Value).ToList();
        Assert.Equal(["connect", "facts", "plan", "upload", "stage", "boot", "wait", "verify"], phases);
        Assert.Contains("installed, was missing", result.Output);
        // The stock host's `ip` is busybox's, which prints no JSON: the helper reads the kernel's own
        // tables instead and finds the address the host's init gave eth0 (no ANEMOS4042).
        Assert.Contains("network eth0 10.0.2.15/24", result.Output);
        Assert.DoesNotContain("ANEMOS4042", result.Output);
        // samples/base has no ssh server: no live log, never said twice, and the wait goes on as without it.
        // It is said once when the old connection ended before the new system answered; when the old
        // connection only fell silent and the new system answered first, there was nothing to follow.
        Assert.True(result.Output.Split('\n').Count(l => l.Contains("deploy vm: no live log: ", StringComparison.Ordinal)) <= 1, context);
        Assert.DoesNotContain("[vm] ", result.Output);
        string payloadSha = JsonDocument.Parse(File.ReadAllText(project.PathOf("bin/anemos/hosts/vm/manifest.json"))).RootElement
            .GetProperty("payload").GetProperty("sha256").GetString()!;
        Assert.Contains($"reports payload {payloadSha[..12]}, healthy", result.Output);

        Assert.Equal($"ANEMOS-DEPLOYED host=vm payload={payloadSha} healthy=yes secret=present mode=600 bytes=19", vm.DiskRecord());
        string console = vm.Console;
        Assert.Contains("ANEMOS-RESULT ok host=vm", console);
        Assert.DoesNotContain("vm-test-token-value", console);
        Assert.DoesNotContain("vm-test-token-value", result.Output);
        Assert.Contains("STOCK-HOST booted a deployed system", console);

        var report = JsonDocument.Parse(File.ReadAllText(project.PathOf("obj/anemos/hosts/vm/deploy.json"))).RootElement;
        Assert.Equal("deployed", report.GetProperty("outcome").GetString());
        // The helper travels gzipped (the package's anemos-kexec.gz), with the kernel and base.
        using (var package = System.IO.Compression.ZipFile.OpenRead(SdkFeed.PackagePath))
            Assert.True(report.GetProperty("bytesSent").GetInt64() > package.GetEntry("tools/helper/linux-x64/anemos-kexec.gz")!.Length, context);
    }

    /// <summary>
    /// A musl host, as Alpine is (issue 27): /bin/sh runs on musl and no glibc lies where a program looks
    /// for one (sshd runs from a folder of its own). The deploy's probe picks the musl variant, which
    /// does the host's part; the new system comes back, and a second deploy (its helper gone with the
    /// RAM the first one lived in) goes the same way.
    /// </summary>
    [Fact]
    public void AMuslHostGetsTheMuslHelperAndIsDeployedTwice()
    {
        var keys = SshTestKeys.Create(Path.Combine(fixture.Root, "keys-musl"));
        using var project = CreateProject("musl", keys, "");
        using var vm = StockHostVm.Start(Path.Combine(fixture.Root, "vm-musl"), BaseArtifacts, keys.HostKey, keys.ClientKey + ".pub", libc: Anemos.Tasks.Deploy.HostLibc.Musl);
        string template = File.ReadAllText(project.ProjectFile);
        foreach (string round in new[] { "first", "second" })
        {
            File.WriteAllText(project.ProjectFile, template.Replace("<ProjectReference Include=\"../base/base.proj\" />",
                "<ProjectReference Include=\"../base/base.proj\" />\n    " + Host("vm", vm, keys, "yes").Replace(" />", $" ROUND=\"{round}\" />")));
            var result = project.PublishToVm("-p:Host=vm");
            string context = $"{round} deploy:\n{result}\n--- VM console:\n{vm.Console}";
            Assert.True(result.ExitCode == 0, context);
            Assert.True(result.Output.Contains("variant linux-musl-x64 (musl) for x86_64, musl 1.2"), context);
            Assert.Contains("installed, was missing", result.Output);
            string payloadSha = JsonDocument.Parse(File.ReadAllText(project.PathOf("bin/anemos/hosts/vm/manifest.json"))).RootElement
                .GetProperty("payload").GetProperty("sha256").GetString()!;
            Assert.True(result.Output.Contains($"reports payload {payloadSha[..12]}, healthy"), context);
            Assert.Equal($"ANEMOS-DEPLOYED host=vm payload={payloadSha} healthy=yes secret=present mode=600 bytes=19", vm.DiskRecord());
        }
        Assert.Equal(2, vm.Console.Split('\n').Count(l => l.Contains("STOCK-HOST booted a deployed system", StringComparison.Ordinal)));
    }

    [Fact]
    public void AHostThatDoesNotComeBackIsACodedErrorWithWhatWasLastSeen()
    {
        // The payload fails and the deploy init powers the machine off: nothing answers any more.
        var keys = SshTestKeys.Create(Path.Combine(fixture.Root, "keys-down"));
        using var project = CreateProject("down", keys, "");
        project.Write("deploy", "#!/bin/sh\necho 'the install failed' >&2\nexit 7\n", executable: true);
        using var vm = StockHostVm.Start(Path.Combine(fixture.Root, "vm-down"), BaseArtifacts, keys.HostKey, keys.ClientKey + ".pub");
        File.WriteAllText(project.ProjectFile, File.ReadAllText(project.ProjectFile)
            .Replace("<AnemosDeployTimeout>300</AnemosDeployTimeout>", "<AnemosDeployTimeout>60</AnemosDeployTimeout><AnemosOnFailure>poweroff</AnemosOnFailure>")
            .Replace("<ProjectReference Include=\"../base/base.proj\" />", "<ProjectReference Include=\"../base/base.proj\" />\n    " + Host("vm", vm, keys, "yes")));

        var result = project.PublishToVm("-p:Host=vm");
        string context = $"{result}\n--- VM console:\n{vm.Console}";
        Assert.True(result.ExitCode != 0, context);
        Assert.True(result.Output.Contains("error ANEMOS4017"), context);
        Assert.Contains("within AnemosDeployTimeout (60 s); last seen:", result.Output);
        // The guest's own word that the payload failed: on a loaded machine the deploy's 60 s can end
        // before the emulated guest gets there, so wait for the line itself (the event), not a time.
        vm.WaitForConsole("ANEMOS-RESULT fail host=vm", TimeSpan.FromMinutes(10));
        Assert.Contains("deploy vm: wait FAILED", result.Output);
    }

    [Fact]
    public void TheVerifyRefusesAnotherPayloadAndAnUnexpectedHostKey()
    {
        var keys = SshTestKeys.Create(Path.Combine(fixture.Root, "keys-verify"));
        var next = SshTestKeys.Create(Path.Combine(fixture.Root, "keys-verify-next"));
        using var project = CreateProject("verify", keys, "");
        // The payload reports what the host variables say: another payload, or a new host key after the reboot.
        project.Write("deploy", """
            #!/bin/sh
            payload=$REPORT_PAYLOAD
            [ "$payload" = actual ] && payload=$ANEMOS_PAYLOAD_SHA256
            printf 'ANEMOS-DEPLOYED host=%s payload=%s healthy=yes newkey=%s\n' "$ANEMOS_HOST" "$payload" "$NEWKEY" | dd of="$ANEMOS_TARGET_DISK" conv=notrunc 2>/dev/null
            sync

            """, executable: true);
        using var vm = StockHostVm.Start(Path.Combine(fixture.Root, "vm-verify"), BaseArtifacts, keys.HostKey, keys.ClientKey + ".pub", next.HostKey);
        string template = File.ReadAllText(project.ProjectFile);
        string WithHost(string variables) => template.Replace("<ProjectReference Include=\"../base/base.proj\" />",
            "<ProjectReference Include=\"../base/base.proj\" />\n    " + Host("vm", vm, keys, "yes").Replace(" />", " " + variables + " />"));

        // The old system (or any other) answering with another payload: ANEMOS4019.
        File.WriteAllText(project.ProjectFile, WithHost("REPORT_PAYLOAD=\"" + new string('0', 64) + "\" NEWKEY=\"no\""));
        var other = project.PublishToVm("-p:Host=vm");
        Assert.True(other.Output.Contains("error ANEMOS4019"), $"{other}\n--- VM console:\n{vm.Console}");
        Assert.Contains("reporting payload " + new string('0', 64), other.Output);

        // A new system with a host key nobody pinned: refused, never trusted silently (ANEMOS4018).
        File.WriteAllText(project.ProjectFile, WithHost("REPORT_PAYLOAD=\"actual\" NEWKEY=\"yes\""));
        var newKey = project.PublishToVm("-p:Host=vm");
        Assert.True(newKey.Output.Contains("error ANEMOS4018"), $"{newKey}\n--- VM console:\n{vm.Console}");
        Assert.Contains(next.HostKeyFingerprint, newKey.Output);
    }

    [Fact]
    public void AGroupStopsAtTheFirstHostThatIsNotHealthyAndNeverTouchesTheNext()
    {
        var keys = SshTestKeys.Create(Path.Combine(fixture.Root, "keys-group"));
        using var project = CreateProject("group", keys, "");
        using var first = StockHostVm.Start(Path.Combine(fixture.Root, "vm-group-1"), BaseArtifacts, keys.HostKey, keys.ClientKey + ".pub");
        using var second = StockHostVm.Start(Path.Combine(fixture.Root, "vm-group-2"), BaseArtifacts, keys.HostKey, keys.ClientKey + ".pub");
        File.WriteAllText(project.ProjectFile, File.ReadAllText(project.ProjectFile).Replace("<ProjectReference Include=\"../base/base.proj\" />",
            "<ProjectReference Include=\"../base/base.proj\" />\n    " + Host("vm1", first, keys, "no") + "\n    " + Host("vm2", second, keys, "yes")));

        var result = project.PublishToVm("-p:Host=pair");
        string context = $"{result}\n--- vm1 console:\n{first.Console}\n--- vm2 console:\n{second.Console}";
        Assert.True(result.ExitCode != 0, context);
        Assert.True(result.Output.Contains("error ANEMOS4020"), context);
        Assert.Contains("failed or not started: vm1, vm2", result.Output);

        // vm1 was deployed and came back, but unhealthy; vm2 never saw a login, and its disk is blank.
        Assert.StartsWith("ANEMOS-DEPLOYED host=vm1 ", first.DiskRecord());
        Assert.Contains("healthy=no", first.DiskRecord());
        Assert.Equal("", second.DiskRecord());
        Assert.DoesNotContain("Accepted publickey", second.Console);
        Assert.DoesNotContain(DeployOutput.PhaseLine().Matches(result.Output), m => m.Groups[1].Value == "vm2");
    }
}
