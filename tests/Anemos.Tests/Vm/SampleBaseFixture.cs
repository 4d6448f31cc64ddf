using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Vm;

/// <summary>
/// A private copy of samples/base (Debian's kernel and busybox, the SDK's deploy init) in a
/// folder with the SDK under test, for host projects that boot for real.
/// </summary>
public sealed class SampleBaseFixture : IDisposable
{
    public string Root { get; } = TestProject.NewDirectory();

    public SampleBaseFixture()
    {
        Directory.CreateDirectory(Root);
        CopyBase(Path.Combine(Root, "base"));
        TestProject.WriteSdkConfiguration(Root);
    }

    public static void CopyBase(string destination)
    {
        Directory.CreateDirectory(destination);
        foreach (string file in new[] { "base.proj", "fetch-debian-packages.sh" })
            File.Copy(Repository.PathOf("samples", "base", file), Path.Combine(destination, file));
    }

    /// <summary>
    /// A private copy of samples/base that an IMGBUILD host accepts: the stand-in makeimg at
    /// /usr/bin/makeimg (through AnemosEngine at build time) and stand-ins for /usr/bin/mmdebstrap,
    /// /usr/bin/apt-get and /usr/bin/gpgv with the archive keyring's file, so the base counts as able to bootstrap debian (the build derives a base's
    /// bootstrappers from those tools in its tree). The stand-ins are never run: the tests that use
    /// this base are about the deploy init's side of the engine contract, not about bootstrapping.
    /// </summary>
    public static string CopyImgbuildBase(string root)
    {
        Directory.CreateDirectory(root);
        string destination = Path.Combine(root, "base");
        CopyBase(destination);
        TestProject.WriteSdkConfiguration(root);
        File.WriteAllText(Path.Combine(destination, "bootstrapper"), "#!/bin/sh\necho 'a bootstrapper test stand-in' >&2\nexit 1\n");
        string project = Path.Combine(destination, "base.proj");
        File.WriteAllText(project, File.ReadAllText(project).Replace("</Project>", """
              <ItemGroup>
                <AnemosBaseFile Include="bootstrapper" TargetPath="usr/bin/mmdebstrap" Mode="0755" />
                <AnemosBaseFile Include="bootstrapper" TargetPath="usr/bin/apt-get" Mode="0755" />
                <AnemosBaseFile Include="bootstrapper" TargetPath="usr/bin/gpgv" Mode="0755" />
                <AnemosBaseFile Include="bootstrapper" TargetPath="usr/share/keyrings/debian-archive-keyring.gpg" Mode="0644" />
              </ItemGroup>
            </Project>
            """));
        return destination;
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}
