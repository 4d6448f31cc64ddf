using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Anemos.Core.Hashing;
using Anemos.Tests.Deploy;
using Anemos.Tests.Infrastructure;
using Anemos.Tests.Ssh;
using Xunit.Abstractions;

namespace Anemos.Tests.Vm;

/// <summary>
/// Only the description crosses the operator's link: a stock host VM (QEMU, TCG) reaches an HTTPS
/// server on 127.0.0.1 as https://10.0.2.100/ through a guestfwd and fetches the helper (curl), the
/// kernel and the base (the helper) itself, so a first deploy and a redeploy each send at most
/// 64 KiB over ssh, counted by a proxy between ssh and the VM. A published helper that is not this
/// SDK's falls back to the upload with ANEMOS4041, and without URLs everything travels. One VM
/// boot for all of it: the stock host keeps its state in RAM, so every deploy finds it without
/// helper or cache, as a reinstalled host is.
/// </summary>
[LongRunning(6)]
[EndToEnd(Needs.Qemu)]
public sealed class UrlDeployVmTests(SampleBaseFixture fixture, ITestOutputHelper output) : IClassFixture<SampleBaseFixture>
{
    const long Budget = 64 << 10;

    const string Payload = """
        #!/bin/sh
        # REVISION
        printf 'ANEMOS-DEPLOYED host=%s payload=%s healthy=yes\n' "$ANEMOS_HOST" "$ANEMOS_PAYLOAD_SHA256" | dd of="$ANEMOS_TARGET_DISK" conv=notrunc 2>/dev/null
        sync

        """;

    [Fact]
    public async Task WithUrlsAFirstDeployAndARedeployEachSendAtMost64KiBOverSsh()
    {
        string root = Path.Combine(fixture.Root, "urls");
        var keys = SshTestKeys.Create(Path.Combine(root, "keys"));
        var build = ProcessRunner.Run("dotnet", ["build", Path.Combine(fixture.Root, "base", "base.proj"), "-nologo", "-nodeReuse:false"], fixture.Root,
            new Dictionary<string, string?> { ["ANEMOS_DEBIAN_PACKAGES"] = Repository.DebianPackages }, TimeSpan.FromMinutes(10));
        Assert.True(build.ExitCode == 0, build.ToString());
        string artifacts = Path.Combine(fixture.Root, "base", "bin", "anemos");
        byte[] kernel = File.ReadAllBytes(Path.Combine(artifacts, "vmlinuz")), baseImage = File.ReadAllBytes(Path.Combine(artifacts, "base.img"));
        string kernelSha = FileDigest.OfBytes(kernel).Sha256, baseSha = FileDigest.OfBytes(baseImage).Sha256;

        // The build never needs the URLs: the kernel and base are in its cache by sha256 already.
        string cache = Path.Combine(root, "cache") + "/";
        Directory.CreateDirectory(cache + "sha256");
        File.WriteAllBytes(cache + "sha256/" + kernelSha, kernel);
        File.WriteAllBytes(cache + "sha256/" + baseSha, baseImage);

        await using var server = new LoopbackHttpsServer(root, IPAddress.Parse(StockHostVm.HttpsAddress));
        await server.StartAsync();
        string Url(string path) => $"https://{StockHostVm.HttpsAddress}{path}";
        server.Serve("/images/vmlinuz", kernel);
        server.Serve("/images/base.img", baseImage);

        using var vm = StockHostVm.Start(Path.Combine(root, "vm"), artifacts, keys.HostKey, keys.ClientKey + ".pub", https: server);
        using var proxy = new CuttingTcpProxy(vm.Port);
        using var project = TestProject.Create($"""
            <Project Sdk="Anemos.Sdk">
              <PropertyGroup>
                <AnemosKernel>{Url("/images/vmlinuz")}</AnemosKernel>
                <AnemosKernelSha256>{kernelSha}</AnemosKernelSha256>
                <AnemosBaseInitramfs>{Url("/images/base.img")}</AnemosBaseInitramfs>
                <AnemosBaseInitramfsSha256>{baseSha}</AnemosBaseInitramfsSha256>
                <AnemosCacheDirectory>{cache}</AnemosCacheDirectory>
                <AnemosHelperUrl>{Url("/anemos/anemos-kexec.gz")}</AnemosHelperUrl>
                <AnemosHelperSha256>HELPER_SHA256</AnemosHelperSha256>
                <AnemosSshConfigFile>{keys.ClientConfig}</AnemosSshConfigFile>
                <AnemosSshIdentityFile>{keys.ClientKey}</AnemosSshIdentityFile>
                <AnemosDeployLockDirectory>{Path.Combine(root, "locks")}</AnemosDeployLockDirectory>
                <AnemosDeployTimeout>300</AnemosDeployTimeout>
                <AnemosHealthCheck>test -e /run/healthy</AnemosHealthCheck>
              </PropertyGroup>
              <ItemGroup>
                <AnemosHost Include="vm" Address="127.0.0.1" Port="{proxy.Port}" HostKey="{keys.HostKeyFingerprint}" Network="none" />
              </ItemGroup>
            </Project>
            """, "host.proj", Path.Combine(root, "project"));
        project.Write("deploy", Payload.Replace("REVISION", "first"), executable: true);

        // What an operator publishes: the SDK's gzipped helper and its sha256, named without building.
        var published = project.Dotnet(["build", project.ProjectFile, "-nologo", "-getProperty:AnemosHelperGzipPath", "-getProperty:AnemosHelperGzipSha256"]);
        Assert.True(published.ExitCode == 0, published.ToString());
        var properties = JsonDocument.Parse(published.Output[published.Output.IndexOf('{')..]).RootElement.GetProperty("Properties");
        byte[] helperGzip = File.ReadAllBytes(properties.GetProperty("AnemosHelperGzipPath").GetString()!);
        string helperSha = properties.GetProperty("AnemosHelperGzipSha256").GetString()!;
        Assert.Equal(FileDigest.OfBytes(helperGzip).Sha256, helperSha);
        File.WriteAllText(project.ProjectFile, File.ReadAllText(project.ProjectFile).Replace("HELPER_SHA256", helperSha));
        server.Serve("/anemos/anemos-kexec.gz", helperGzip);

        (ProcessResult Result, long Sent, long Reported) Publish(string phase, params string[] arguments)
        {
            proxy.Arm(cutAfter: null);
            var result = ProcessRunner.Run("dotnet", ["publish", project.ProjectFile, "-nologo", "-nodeReuse:false", "-v:n", "-p:Host=vm", .. arguments],
                project.Directory, project.Environment, TimeSpan.FromMinutes(10));
            Assert.True(result.ExitCode == 0, $"{phase}:\n{result}\n--- VM console:\n{vm.Console}");
            long reported = JsonDocument.Parse(File.ReadAllText(project.PathOf("obj/anemos/hosts/vm/deploy.json"))).RootElement.GetProperty("bytesSent").GetInt64();
            output.WriteLine($"{phase}: {proxy.ForwardedToTarget} bytes to the host over ssh (proxy), {reported} bytes of files reported by the deploy");
            return (result, proxy.ForwardedToTarget, reported);
        }

        void AssertSaid(ProcessResult result, string text) =>
            Assert.True(result.Output.Contains(text, StringComparison.Ordinal), $"'{text}' is not in the deploy's output:\n{result}\n--- VM console:\n{vm.Console}");

        void AssertDeployed(ProcessResult result)
        {
            string payloadSha = JsonDocument.Parse(File.ReadAllText(project.PathOf("bin/anemos/hosts/vm/manifest.json"))).RootElement
                .GetProperty("payload").GetProperty("sha256").GetString()!;
            Assert.Equal($"ANEMOS-DEPLOYED host=vm payload={payloadSha} healthy=yes", vm.DiskRecord());
            AssertSaid(result, $"reports payload {payloadSha[..12]}, healthy");
        }

        // A first deploy: the host fetches the helper, the kernel and the base; ssh carries the overlay and the manifest.
        var first = Publish("first deploy with URLs");
        AssertDeployed(first.Result);
        AssertSaid(first.Result, $"installed, was missing; fetched by the host with curl from {Url("/anemos/anemos-kexec.gz")}");
        AssertSaid(first.Result, $"kernel fetched by the host from {Url("/images/vmlinuz")}, base fetched by the host from {Url("/images/base.img")}, overlay to upload (");
        Assert.DoesNotContain("ANEMOS4041", first.Result.Output);
        Assert.InRange(first.Sent, 1, Budget);
        Assert.InRange(first.Reported, 1, Budget);
        Assert.Equal([1, 1, 1], new[] { "/anemos/anemos-kexec.gz", "/images/vmlinuz", "/images/base.img" }.Select(server.Requests));

        // A redeploy after a change to the description: the reboot wiped the host's helper and cache, so it fetches again.
        project.Write("deploy", Payload.Replace("REVISION", "second"), executable: true);
        var again = Publish("redeploy with URLs");
        AssertDeployed(again.Result);
        AssertSaid(again.Result, "fetched by the host with curl");
        Assert.InRange(again.Sent, 1, Budget);
        Assert.Equal([2, 2, 2], new[] { "/anemos/anemos-kexec.gz", "/images/vmlinuz", "/images/base.img" }.Select(server.Requests));

        // Without URLs (for the figures): the helper, the kernel and the base travel, and the plan says why.
        project.Write("deploy", Payload.Replace("REVISION", "no URLs"), executable: true);
        var none = Publish("redeploy without URLs", $"-p:AnemosKernel={Path.Combine(artifacts, "vmlinuz")}", $"-p:AnemosBaseInitramfs={Path.Combine(artifacts, "base.img")}",
            "-p:AnemosHelperUrl=", "-p:AnemosHelperSha256=");
        AssertDeployed(none.Result);
        AssertSaid(none.Result, "kernel to upload (");
        AssertSaid(none.Result, "base to upload (");
        Assert.InRange(none.Reported, helperGzip.Length + kernel.Length + baseImage.Length, long.MaxValue);

        // The published helper is not this SDK's (a stale or damaged copy): the deploy still succeeds, uploads it and says so once.
        server.Serve("/anemos/anemos-kexec.gz", RandomNumberGenerator.GetBytes(helperGzip.Length));
        project.Write("deploy", Payload.Replace("REVISION", "fourth"), executable: true);
        var fallback = Publish("redeploy with a wrong helper at its URL");
        AssertDeployed(fallback.Result);
        // Said once (MSBuild repeats warnings in its summary: the same line, without the node's "1>").
        var warning = Assert.Single(fallback.Result.Output.Split('\n').Where(l => l.Contains("warning ANEMOS4041"))
            .Select(l => System.Text.RegularExpressions.Regex.Replace(l.Trim(), @"^\d+>", "")).Distinct());
        Assert.Contains($"could not fetch the helper from {Url("/anemos/anemos-kexec.gz")}: the file has sha256 ", warning);
        Assert.Contains($"It was uploaded instead ({ByteSize(helperGzip.Length)})", warning);
        AssertSaid(fallback.Result, $"installed, was missing; uploaded gzipped, {ByteSize(helperGzip.Length)}");
        Assert.InRange(fallback.Reported, helperGzip.Length, helperGzip.Length + Budget);
    }

    static string ByteSize(long bytes) => Anemos.Tasks.ByteSize.Format(bytes);
}
