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
[EndToEnd(Needs.Qemu)]
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

    /// <summary>
    /// A project under <paramref name="name"/> whose base is samples/base plus dropbear (built), the
    /// test's keys (the client key is the hosts' AuthorizedKeys), OnFailure=ssh; its hosts go where
    /// &lt;!--HOST--&gt; is.
    /// </summary>
    (TestProject Project, SshTestKeys Keys) CreateProject(string name)
    {
        string root = Path.Combine(fixture.Root, name);
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
        project.Environment["ANEMOS_DEBIAN_PACKAGES"] = Repository.DebianPackages;
        project.Write("authorized_keys", File.ReadAllText(keys.ClientKey + ".pub"));
        var build = project.Dotnet(["build", Path.Combine(root, "base", "base.proj"), "-nologo", "-nodeReuse:false"]);
        Assert.True(build.ExitCode == 0, build.ToString());
        return (project, keys);
    }

    static string BaseArtifacts(TestProject project) => Path.Combine(project.Directory, "..", "base", "bin", "anemos");

    static string Host(string name, StockHostVm vm, SshTestKeys keys, string group = "") =>
        $"""<AnemosHost Include="{name}" Address="127.0.0.1" Port="{vm.Port}" HostKey="{keys.HostKeyFingerprint}" AuthorizedKeys="authorized_keys" Network="dhcp"{(group == "" ? "" : $" Group=\"{group}\"")} />""";

    [Fact]
    public void PublishStreamsTheDeployLogResumesAfterACutAndEndsAFailedInstallWithItsCause()
    {
        var (project, keys) = CreateProject("live");
        using var _ = project;
        project.Write("deploy", CuttingPayload, executable: true);

        using var vm = StockHostVm.Start(Path.Combine(fixture.Root, "live", "vm"), BaseArtifacts(project), keys.HostKey, keys.ClientKey + ".pub");
        File.WriteAllText(project.ProjectFile, File.ReadAllText(project.ProjectFile).Replace("<!--HOST-->", Host("vm", vm, keys)));

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
        var other = SshTestKeys.Create(Path.Combine(fixture.Root, "live", "other-keys"));
        var refused = Assert.Throws<SshConnectException>(() => SshSession.Open(target with { HostKey = other.HostKeyFingerprint }));
        Assert.Equal(Diagnostics.HostKeyMismatch, refused.Diagnostic);
    }

    /// <summary>
    /// Issue 28 point 12: a host without AuthorizedKeys is not watched blind. The stock host's sshd lets the
    /// test's key in through its own AuthorizedKeysFile (/etc/ssh/authorized_keys); the helper carries that
    /// file's keys into the deploy environment, so a failed payload ends the publish with ANEMOS4024 and the
    /// payload's last line, not with ANEMOS4017 when AnemosDeployTimeout runs out.
    /// </summary>
    [Fact]
    public void WithoutAuthorizedKeysTheOldSystemsKeysLetTheLiveLogInAndAFailureArrivesAtOnce()
    {
        var (project, keys) = CreateProject("login-keys");
        using var _ = project;
        project.Write("deploy", FailingPayload, executable: true);

        using var vm = StockHostVm.Start(Path.Combine(fixture.Root, "login-keys", "vm"), BaseArtifacts(project), keys.HostKey, keys.ClientKey + ".pub");
        File.WriteAllText(project.ProjectFile, File.ReadAllText(project.ProjectFile).Replace("<!--HOST-->",
            $"""<AnemosHost Include="vm" Address="127.0.0.1" Port="{vm.Port}" HostKey="{keys.HostKeyFingerprint}" Network="dhcp" />"""));

        var failed = project.PublishToVm("-p:Host=vm");
        AssertTheFailureArrivedAtOnceThroughTheLoginKeys(failed, $"{failed}\n--- VM console:\n{vm.Console}", "1 key(s) of root (/etc/ssh/authorized_keys)");
    }

    /// <summary>
    /// A failed payload ended the publish through the live log, which the old system's login keys let in:
    /// ANEMOS4024 with the payload's last line, from the handover in the deploy kernel's boot and the
    /// payload's few seconds, not when AnemosDeployTimeout (600 s) ran out.
    /// </summary>
    static void AssertTheFailureArrivedAtOnceThroughTheLoginKeys(ProcessResult failed, string context, string whoseKeys)
    {
        Assert.True(failed.ExitCode != 0, context);
        Assert.True(failed.Output.Contains($"deploy environment's ssh for root: the old system's login keys, {whoseKeys}", StringComparison.Ordinal), context);
        Assert.True(failed.Output.Contains("error ANEMOS4024", StringComparison.Ordinal), context);
        Assert.Contains("the install failed: no space left", failed.Output);
        Assert.DoesNotContain("no live log", failed.Output);
        Assert.DoesNotContain("ANEMOS4017", failed.Output);
        var wait = System.Text.RegularExpressions.Regex.Match(failed.Output, @"deploy vm: wait FAILED (\d+\.\d) s");
        Assert.True(wait.Success, context);
        Assert.True(double.Parse(wait.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) < 120, context);
    }

    /// <summary>
    /// Issue 28 point 12 on the server it is about: a stock Debian 12 (the tests' cloud-like image, SeaBIOS)
    /// deployed as its `debian` sudo user by a project without AuthorizedKeys. The helper reads the
    /// keys sshd lets in as debian (/home/debian/.ssh/authorized_keys) and carries them into the
    /// deploy environment as root's, so the live log logs in with the operator's key and a payload that
    /// fails ends the publish with ANEMOS4024 and its last line, not when AnemosDeployTimeout runs out.
    /// </summary>
    [Fact]
    public async Task OnAStockDebianWithoutAuthorizedKeysTheSudoUsersKeysLetTheLiveLogInAndAFailureArrivesAtOnce()
    {
        var mirror = new Anemos.Tests.Engine.DnsMirrorFixture();
        await mirror.InitializeAsync();
        try
        {
            var image = await Task.Run(() => StockDebianImage.Get(mirror));
            var (project, _) = CreateProject("debian-login-keys");
            using var __ = project;
            project.Write("deploy", FailingPayload, executable: true);
            string directory = Path.Combine(fixture.Root, "debian-login-keys", "vm");
            Directory.CreateDirectory(directory);
            string data = Path.Combine(fixture.Root, "debian-login-keys", "data.img");
            DnsSampleCopy.MakeDataDisk(data);
            using var vm = InstalledHostVm.Start(directory, image.Disk, data, mirror.Mirror, hostName: StockDebianImage.HostName);
            File.WriteAllText(project.ProjectFile, File.ReadAllText(project.ProjectFile).Replace("<!--HOST-->",
                $"""<AnemosHost Include="vm" Address="127.0.0.1" Port="{vm.Port}" HostKey="{image.HostKeyFingerprint}" Network="dhcp" />"""));

            // The operator's key is the key the image lets in as debian (the project's ssh_config reads nothing of this machine's ~/.ssh).
            var failed = project.PublishToVm("-p:Host=vm", $"-p:AnemosDeployUser={StockDebianImage.User}", $"-p:AnemosSshIdentityFile={image.DeployKey}");
            AssertTheFailureArrivedAtOnceThroughTheLoginKeys(failed, $"{failed}\n--- VM console:\n{vm.ConsoleTail(80)}", "1 key(s) of debian (/home/debian/.ssh/authorized_keys)");
        }
        finally
        {
            await mirror.DisposeAsync();
        }
    }

    /// <summary>
    /// Each host's lines, once the deploy follows its log (the marker file is the event: a payload this
    /// short would otherwise be over before the stream connects); a disk record. The install fails on
    /// the host named by FAIL_ON (a host variable).
    /// </summary>
    const string GroupPayload = """
        #!/bin/sh
        # REVISION
        waited=0
        while [ ! -e /run/anemos/deploy.log.followed ] && [ "$waited" -lt 300 ]; do sleep 1; waited=$((waited + 1)); done
        for n in 1 2 3; do echo "group line $n of $ANEMOS_HOST"; done
        if [ "$ANEMOS_HOST" = "$FAIL_ON" ]; then echo "the install of $ANEMOS_HOST failed" >&2; exit 7; fi
        printf 'ANEMOS-DEPLOYED host=%s payload=%s healthy=yes\n' "$ANEMOS_HOST" "$ANEMOS_PAYLOAD_SHA256" | dd of="$ANEMOS_TARGET_DISK" conv=notrunc 2>/dev/null
        sync

        """;

    /// <summary>
    /// Issue 15 point 4: a group streams each host's install in turn (every line of the first before
    /// the first line of the second), and a group whose first host's install fails ends with that
    /// host's ANEMOS4024 and never touches the second.
    /// </summary>
    [Fact]
    public void AGroupStreamsEachHostInTurnAndStopsAtTheFirstFailedInstall()
    {
        var (project, keys) = CreateProject("live-group");
        using var _ = project;
        using var first = StockHostVm.Start(Path.Combine(fixture.Root, "live-group", "vm1"), BaseArtifacts(project), keys.HostKey, keys.ClientKey + ".pub");
        using var second = StockHostVm.Start(Path.Combine(fixture.Root, "live-group", "vm2"), BaseArtifacts(project), keys.HostKey, keys.ClientKey + ".pub");
        string hosts = Host("vm1", first, keys, "pair") + "\n    " + Host("vm2", second, keys, "pair");
        File.WriteAllText(project.ProjectFile, File.ReadAllText(project.ProjectFile).Replace("<!--HOST-->", hosts));
        string Context(ProcessResult result) => $"{result}\n--- vm1 console:\n{first.Console}\n--- vm2 console:\n{second.Console}";
        static List<int> LinesOf(string output, string host) =>
            output.Split('\n').Select((line, index) => (line, index)).Where(l => l.line.Contains($"[{host}] ", StringComparison.Ordinal)).Select(l => l.index).ToList();

        // 1. Both deployed, each streamed in turn: vm1's lines (its result among them) all come before vm2's first.
        project.Write("deploy", GroupPayload.Replace("REVISION", "both"), executable: true);
        var both = project.PublishToVm("-p:Host=pair");
        Assert.True(both.ExitCode == 0, Context(both));
        var vm1Lines = LinesOf(both.Output, "vm1");
        var vm2Lines = LinesOf(both.Output, "vm2");
        Assert.True(vm1Lines.Count > 0 && vm2Lines.Count > 0 && vm1Lines.Max() < vm2Lines.Min(), $"the streams are not in turn:\n{Context(both)}");
        foreach (string host in new[] { "vm1", "vm2" })
        {
            Assert.True(both.Output.Contains($"[{host}] ANEMOS-RESULT ok host={host}", StringComparison.Ordinal), Context(both));
            for (int n = 1; n <= 3; n++)
                Assert.True(both.Output.Split('\n').Count(l => l.TrimEnd().EndsWith($"[{host}] group line {n} of {host}", StringComparison.Ordinal)) == 1, $"line {n} of {host} is not there exactly once:\n{Context(both)}");
        }
        Assert.StartsWith("ANEMOS-DEPLOYED host=vm1 ", first.DiskRecord());
        string vm2Record = second.DiskRecord();
        Assert.StartsWith("ANEMOS-DEPLOYED host=vm2 ", vm2Record);

        // 2. vm1's install fails: its ANEMOS4024 with the cause ends the group; vm2 is never logged into again.
        int vm2Logins = System.Text.RegularExpressions.Regex.Matches(second.Console, "Accepted publickey").Count;
        project.Write("deploy", GroupPayload.Replace("REVISION", "vm1 fails"), executable: true);
        File.WriteAllText(project.ProjectFile, File.ReadAllText(project.ProjectFile).Replace("Include=\"vm1\"", "Include=\"vm1\" FAIL_ON=\"vm1\""));
        var failed = project.PublishToVm("-p:Host=pair");
        Assert.True(failed.ExitCode != 0, Context(failed));
        Assert.True(failed.Output.Contains("error ANEMOS4024", StringComparison.Ordinal), Context(failed));
        Assert.Contains("the install of vm1 failed", failed.Output);
        Assert.Contains("failed or not started: vm1, vm2", failed.Output);
        Assert.Empty(LinesOf(failed.Output, "vm2"));
        Assert.Equal(vm2Record, second.DiskRecord());
        Assert.Equal(vm2Logins, System.Text.RegularExpressions.Regex.Matches(second.Console, "Accepted publickey").Count);
    }
}
