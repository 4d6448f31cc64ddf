using System.Text;
using Anemos.Core.Cpio;

namespace Anemos.Tests.Infrastructure;

/// <summary>
/// A temporary project folder that uses the freshly packed SDK (global.json pins its version,
/// nuget.config names the private feed), built with real `dotnet build` processes.
/// </summary>
public sealed class TestProject : IDisposable
{
    public string Directory { get; }
    public string ProjectFile { get; }
    public Dictionary<string, string?> Environment { get; }
    readonly bool _fromSources;

    TestProject(string directory, string projectFileName, bool fromSources = false)
    {
        Directory = directory;
        ProjectFile = Path.Combine(directory, projectFileName);
        _fromSources = fromSources;
        Environment = SdkFeed.DotnetEnvironment(fromSources ? null : SdkFeed.PackagesDirectory);
    }

    /// <summary>
    /// The target tier: a project that imports the SDK's Sdk.props/Sdk.targets straight from the
    /// repository, with the task assembly this test run was built with (AnemosTasksAssembly), so
    /// nothing is packed or restored and a build takes about a second. <paramref name="body"/> is
    /// what goes between the two imports.
    /// </summary>
    public static TestProject CreateFromSources(string body, string projectFileName = "host.proj")
    {
        string directory = NewDirectory();
        System.IO.Directory.CreateDirectory(directory);
        var project = new TestProject(directory, projectFileName, fromSources: true);
        project.Write(projectFileName, $"""
            <Project>
              <PropertyGroup>
                <AnemosTasksAssembly>{typeof(Anemos.Tasks.AnemosTask).Assembly.Location}</AnemosTasksAssembly>
                <AnemosSdkVersion>{Repository.Version}</AnemosSdkVersion>
              </PropertyGroup>
              <Import Project="{Repository.PathOf("Anemos.Sdk", "Sdk", "Sdk.props")}" />
            {body}
              <Import Project="{Repository.PathOf("Anemos.Sdk", "Sdk", "Sdk.targets")}" />
            </Project>
            """);
        return project;
    }

    public static TestProject Create(string projectXml, string projectFileName = "host.proj", string? directory = null)
    {
        directory ??= NewDirectory();
        System.IO.Directory.CreateDirectory(directory);
        var project = new TestProject(directory, projectFileName);
        WriteSdkConfiguration(directory);
        project.Write(projectFileName, projectXml);
        return project;
    }

    public static string NewDirectory() =>
        Path.Combine(Path.GetTempPath(), "anemos-tests", "p-" + Guid.NewGuid().ToString("N")[..12]);

    /// <summary>global.json and nuget.config that make &lt;Project Sdk="Anemos.Sdk"&gt; resolve to the package under test.</summary>
    public static void WriteSdkConfiguration(string directory)
    {
        File.WriteAllText(Path.Combine(directory, "global.json"),
            $$"""{ "sdk": { "version": "10.0.100", "rollForward": "latestFeature" }, "msbuild-sdks": { "Anemos.Sdk": "{{Repository.Version}}" } }""");
        File.WriteAllText(Path.Combine(directory, "nuget.config"),
            $"""<configuration><packageSources><clear /><add key="anemos-test" value="{SdkFeed.FeedDirectory}" /></packageSources></configuration>""");
    }

    public string PathOf(string relative) => Path.Combine(Directory, relative);

    public TestProject Write(string relative, string content, bool executable = false)
    {
        string path = PathOf(relative);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        if (executable) File.SetUnixFileMode(path, (UnixFileMode)0x1ED);
        return this;
    }

    public ProcessResult Build(params string[] arguments) =>
        Dotnet(["build", ProjectFile, "-nologo", "-nodeReuse:false", "-v:n", .. (_fromSources ? ["--no-restore"] : Array.Empty<string>()), .. arguments]);

    public ProcessResult Dotnet(IEnumerable<string> arguments) =>
        ProcessRunner.Run("dotnet", arguments, Directory, Environment, TimeSpan.FromMinutes(5));

    /// <summary>`dotnet publish` of this project at normal verbosity (the deploy's phase lines), with a deploy's time: a VM's kexec, boot and verify.</summary>
    public ProcessResult PublishToVm(params string[] arguments) =>
        ProcessRunner.Run("dotnet", ["publish", ProjectFile, "-nologo", "-nodeReuse:false", "-v:n", .. arguments], Directory, Environment, TimeSpan.FromMinutes(10));

    /// <summary>A stand-in kernel (the build only hashes and copies it) and a small newc base initramfs.</summary>
    public void WriteFakeBaseImage(string kernel = "kernel.bin", string baseInitramfs = "base.cpio")
    {
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(PathOf(kernel))!);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(PathOf(baseInitramfs))!);
        var random = new Random(42);
        byte[] kernelBytes = new byte[65536 + 3];
        random.NextBytes(kernelBytes);
        File.WriteAllBytes(PathOf(kernel), kernelBytes);
        using var stream = File.Create(PathOf(baseInitramfs));
        using var cpio = new NewcWriter(stream);
        cpio.AddDirectory("bin");
        cpio.AddFile("bin/hello", Encoding.ASCII.GetBytes("#!/bin/sh\necho hello\n"), 0x1ED);
        cpio.AddFile("odd-size", new byte[] { 1, 2, 3 }); // keeps the base's length off a 4-byte boundary
        cpio.Finish();
        stream.Write(new byte[] { 0 }); // a base that ends unaligned, as some compressors leave it
    }

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>The usual host project: a deploy payload, the fake base image, the given hosts and extra XML.</summary>
    public static string HostProject(string hosts, string properties = "", string extra = "") => $"""
        <Project Sdk="Anemos.Sdk">
          <PropertyGroup>
            <AnemosKernel>image/kernel.bin</AnemosKernel>
            <AnemosBaseInitramfs>image/base.cpio</AnemosBaseInitramfs>
            {properties}
          </PropertyGroup>
          <ItemGroup>
            {hosts}
          </ItemGroup>
          <ItemGroup>
            <AnemosPayloadFile Remove="image/**" />
          </ItemGroup>
          {extra}
        </Project>
        """;

    /// <summary>The target tier's deploy project: the fake base image, the given hosts, properties and extra XML, a deploy script.</summary>
    public static TestProject CreateDeployProjectFromSources(string hosts, string properties = "", string extra = "")
    {
        var project = CreateFromSources($"""
              <PropertyGroup>
                <AnemosKernel>image/kernel.bin</AnemosKernel>
                <AnemosBaseInitramfs>image/base.cpio</AnemosBaseInitramfs>
                {properties}
              </PropertyGroup>
              <ItemGroup>
                {hosts}
                <AnemosPayloadFile Remove="image/**" />
              </ItemGroup>
              {extra}
            """);
        project.WriteFakeBaseImage("image/kernel.bin", "image/base.cpio");
        project.Write("deploy", "#!/bin/sh\nexit 0\n", executable: true);
        return project;
    }

    /// <summary>A ready-to-build deploy project with hosts x and y.</summary>
    public static TestProject CreateDeployProject(string? hosts = null, string properties = "", string extra = "")
    {
        var project = Create(HostProject(hosts ?? """
            <AnemosHost Include="x" Address="x.example.net" IPV4="192.0.2.1" />
            <AnemosHost Include="y" Address="y.example.net" IPV4="192.0.2.2" NOTE="it's &quot;quoted&quot; %24(not) `run`" />
            """, properties, extra));
        project.WriteFakeBaseImage("image/kernel.bin", "image/base.cpio");
        project.Write("deploy", "#!/bin/sh\necho deploying \"$ANEMOS_HOST\"\n", executable: true);
        project.Write("files/etc/motd", "managed by Anemos\n");
        project.Write("files/usr/local/bin/tool", "#!/bin/sh\nexit 0\n", executable: true);
        return project;
    }
}
