using Anemos.Tasks;
using Anemos.Tasks.Ssh;
using Anemos.Tests.Deploy;
using Anemos.Tests.Infrastructure;
using Anemos.Tests.Ssh;

namespace Anemos.Tests.Vm;

/// <summary>
/// The live log (docs/deploy.md, "The live log") against one stock host VM (QEMU, TCG, loopback only)
/// whose deploy base carries dropbear: the deploy environment answers ssh with the host's own key, and
/// publish streams its log. One VM for the cases, in order: a deploy whose payload cuts the stream
/// half-way (the stream resumes without repeating a line) and that comes back verified; then a
/// redeploy whose payload fails (ANEMOS4024 with the step and the log's tail), after which ssh with
/// the pinned key reaches the deploy environment (OnFailure=ssh) and another pin is refused by it.
/// </summary>
[LongRunning(5)]
public sealed class LiveLogVmTests(SampleBaseFixture fixture) : IClassFixture<SampleBaseFixture>
{
    /// <summary>Lines, then a cut of every connection that follows the log (dropbear's sessions, not its listener) once one follows: an event, no timer.</summary>
    const string CuttingPayload = """
        #!/bin/sh
        for n in 1 2 3 4 5; do echo "live line $n"; done
        waited=0
        while [ ! -e /run/anemos/deploy.log.followed ] && [ "$waited" -lt 300 ]; do sleep 1; waited=$((waited + 1)); done
        for pid in $(pidof dropbear); do [ "$pid" = "$(cat /run/dropbear.pid)" ] || kill "$pid"; done
        for n in 6 7 8 9 10; do echo "live line $n"; done
        printf 'ANEMOS-DEPLOYED host=%s payload=%s healthy=yes\n' "$ANEMOS_HOST" "$ANEMOS_PAYLOAD_SHA256" | dd of="$ANEMOS_TARGET_DISK" conv=notrunc 2>/dev/null
        sync

        """;

    const string FailingPayload = "#!/bin/sh\necho 'fetching the parts'\necho 'the install failed: no space left' >&2\nexit 7\n";

    /// <summary>samples/base plus dropbear from the installer base's Debian packages, with the libraries it needs.</summary>
    static void AddDropbear(string baseDirectory)
    {
        string root = Path.Combine(Repository.InstallerPackages, "root");
        var files = new (string Source, string Target, string Mode)[]
        {
            ("usr/sbin/dropbear", "usr/sbin/dropbear", "0755"),
            ("usr/bin/dropbearconvert", "usr/bin/dropbearconvert", "0755"),
            ("lib64/ld-linux-x86-64.so.2", "lib64/ld-linux-x86-64.so.2", "0755"),
        };
        var items = files.ToList();
        foreach (string library in new[] { "libtomcrypt.so.1", "libtommath.so.1", "libgmp.so.10", "libz.so.1", "libcrypt.so.1", "libc.so.6" })
        {
            string? found = new[] { "usr/lib/x86_64-linux-gnu", "lib/x86_64-linux-gnu" }.Select(d => d + "/" + library).FirstOrDefault(p => File.Exists(Path.Combine(root, p)));
            Assert.True(found is not null, $"{library} is not in {root}");
            items.Add((found!, "lib/x86_64-linux-gnu/" + library, "0755"));
        }
        string Resolve(string relative)
        {
            var info = new FileInfo(Path.Combine(root, relative));
            return info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? info.FullName;
        }
        string project = Path.Combine(baseDirectory, "base.proj");
        File.WriteAllText(project, File.ReadAllText(project).Replace("</Project>",
            "  <ItemGroup>\n" + string.Concat(items.Select(i => $"    <AnemosBaseFile Include=\"{Resolve(i.Source)}\" TargetPath=\"{i.Target}\" Mode=\"{i.Mode}\" />\n")) + "  </ItemGroup>\n</Project>\n"));
    }

    static int IndexOf(string output, string text)
    {
        int index = output.IndexOf(text, StringComparison.Ordinal);
        Assert.True(index >= 0, $"'{text}' is not in the output:\n{output}");
        return index;
    }

    [Fact]
    public void PublishStreamsTheDeployLogResumesAfterACutAndEndsAFailedInstallWithItsCause()
    {
        string root = Path.Combine(fixture.Root, "live");
        SampleBaseFixture.CopyBase(Path.Combine(root, "base"));
        TestProject.WriteSdkConfiguration(root);
        AddDropbear(Path.Combine(root, "base"));
        var keys = SshTestKeys.Create(Path.Combine(root, "keys"));
        var project = TestProject.Create($"""
            <Project Sdk="Anemos.Sdk">
              <PropertyGroup>
                <AnemosSshConfigFile>{keys.ClientConfig}</AnemosSshConfigFile>
                <AnemosSshIdentityFile>{keys.ClientKey}</AnemosSshIdentityFile>
                <AnemosDeployLockDirectory>{Path.Combine(keys.Directory, "locks")}</AnemosDeployLockDirectory>
                <AnemosDeployTimeout>600</AnemosDeployTimeout>
                <AnemosHealthCheck>test -e /run/healthy</AnemosHealthCheck>
                <AnemosOnFailure>ssh</AnemosOnFailure>
              </PropertyGroup>
              <ItemGroup>
                <ProjectReference Include="../base/base.proj" />
                <!--HOST-->
              </ItemGroup>
            </Project>
            """, "host.proj", Path.Combine(root, "host"));
        using var _ = project;
        project.Environment["ANEMOS_DEBIAN_PACKAGES"] = Repository.DebianPackages;
        project.Write("authorized_keys", File.ReadAllText(keys.ClientKey + ".pub"));
        project.Write("deploy", CuttingPayload, executable: true);
        var build = project.Dotnet(["build", Path.Combine(root, "base", "base.proj"), "-nologo", "-nodeReuse:false"]);
        Assert.True(build.ExitCode == 0, build.ToString());

        using var vm = StockHostVm.Start(Path.Combine(root, "vm"), Path.Combine(root, "base", "bin", "anemos"), keys.HostKey, keys.ClientKey + ".pub");
        File.WriteAllText(project.ProjectFile, File.ReadAllText(project.ProjectFile).Replace("<!--HOST-->",
            $"""<AnemosHost Include="vm" Address="127.0.0.1" Port="{vm.Port}" HostKey="{keys.HostKeyFingerprint}" AuthorizedKeys="authorized_keys" Network="dhcp" />"""));

        // 1. The install streamed: the init's steps in order, then the result, before the new system answers;
        //    the payload's cut made the stream resume, and no line came twice.
        var deployed = project.PublishToVm("-p:Host=vm");
        string context = $"{deployed}\n--- VM console:\n{vm.Console}";
        Assert.True(deployed.ExitCode == 0, context);
        string output = deployed.Output;
        int hostEnv = IndexOf(output, " anemos[host-env]: deploying host vm"), network = IndexOf(output, " anemos[network]: dropbear listens on port 22 with the host's own keys (ed25519)");
        int disk = IndexOf(output, " anemos[disk]: install disk: /dev/vda"), run = IndexOf(output, " anemos[run]: running ./deploy"), result = IndexOf(output, "[vm] ANEMOS-RESULT ok host=vm");
        int wait = System.Text.RegularExpressions.Regex.Match(output, @"deploy vm: wait \d").Index;
        Assert.True(hostEnv < disk && disk < network && network < run && run < result && result < wait, context);
        for (int n = 1; n <= 10; n++)
            Assert.True(output.Split('\n').Count(l => l.TrimEnd().EndsWith($"[vm] live line {n}", StringComparison.Ordinal)) == 1, $"live line {n} is not there exactly once:\n{context}");
        Assert.Matches(@"live log: \d+ line\(s\) over [2-9] connection\(s\)", output);
        Assert.Contains("STOCK-HOST booted a deployed system", vm.Console);

        // 2. A failed install: the coded error with the step and the log's tail, and how to get in.
        project.Write("deploy", FailingPayload, executable: true);
        var failed = project.PublishToVm("-p:Host=vm");
        context = $"{failed}\n--- VM console:\n{vm.Console}";
        Assert.True(failed.ExitCode != 0, context);
        Assert.True(failed.Output.Contains("error ANEMOS4024", StringComparison.Ordinal), context);
        Assert.Contains("failed in step run", failed.Output);
        Assert.Contains("the install failed: no space left", failed.Output);
        Assert.Contains($"ssh -p {vm.Port} root@127.0.0.1 with the deploy's key (host key {keys.HostKeyFingerprint})", failed.Output);
        Assert.DoesNotContain("ANEMOS4017", failed.Output);

        // 3. The deploy environment still answers with the pinned key (OnFailure=ssh), and refuses any other pin.
        var target = new SshTarget("127.0.0.1", "root", vm.Port) { HostKey = keys.HostKeyFingerprint, ConfigFile = keys.ClientConfig, IdentityFile = keys.ClientKey };
        using (var session = SshSession.Open(target))
            Assert.Contains("ANEMOS-RESULT fail host=vm", session.RunChecked("cat /run/anemos/deploy.log"));
        var other = SshTestKeys.Create(Path.Combine(root, "other-keys"));
        var refused = Assert.Throws<AnemosException>(() => SshSession.Open(target with { HostKey = other.HostKeyFingerprint }));
        Assert.Equal(Diagnostics.HostKeyMismatch, refused.Diagnostic);
    }
}
