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

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}
