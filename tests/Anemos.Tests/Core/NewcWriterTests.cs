using System.Text;
using Anemos.Core.Cpio;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Core;

public sealed class NewcWriterTests : IDisposable
{
    readonly string _directory = TestProject.NewDirectory();

    public NewcWriterTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void GnuCpioListsAndExtractsWhatWeWrite()
    {
        string archive = Path.Combine(_directory, "test.cpio");
        byte[] big = new byte[300_001];
        new Random(1).NextBytes(big);
        using (var stream = File.Create(archive))
        using (var cpio = new NewcWriter(stream))
        {
            cpio.AddDirectory("anemos", mtime: 1700000000);
            cpio.AddFile("anemos/host.env", Encoding.UTF8.GetBytes("A='1'\n"), 0x1A4, 1700000000);
            using (var content = new MemoryStream(big)) cpio.AddFile("anemos/big.bin", content, big.Length, 0x1ED, 1700000000);
            cpio.AddSymlink("anemos/link", "host.env", 1700000000);
            cpio.AddCharacterDevice("console", 5, 1);
            cpio.Finish();
        }
        Assert.Equal(0, new FileInfo(archive).Length % 4);

        var list = ProcessRunner.Shell($"cpio -itv --quiet < '{archive}'");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Matches(@"drwxr-xr-x\s+2 root\s+root\s+0 .* anemos\n", list.Output);
        Assert.Matches(@"-rw-r--r--\s+1 root\s+root\s+6 .* anemos/host.env\n", list.Output);
        Assert.Matches(@"-rwxr-xr-x\s+1 root\s+root\s+300001 .* anemos/big.bin\n", list.Output);
        Assert.Matches(@"lrwxrwxrwx .* anemos/link -> host.env\n", list.Output);
        Assert.Matches(@"crw-------\s+1 root\s+root\s+5,\s+1 .* console\n", list.Output);

        string extracted = Path.Combine(_directory, "out");
        Directory.CreateDirectory(extracted);
        var extract = ProcessRunner.Shell($"cpio -id --quiet --no-absolute-filenames 'anemos*' < '{archive}'", extracted);
        Assert.True(extract.ExitCode == 0, extract.ToString());
        Assert.Equal(big, File.ReadAllBytes(Path.Combine(extracted, "anemos", "big.bin")));
        Assert.Equal("A='1'\n", File.ReadAllText(Path.Combine(extracted, "anemos", "host.env")));
    }

    [Fact]
    public void StreamedFileThatEndsEarlyIsAnErrorNotAShortEntry()
    {
        using var output = new MemoryStream();
        using var cpio = new NewcWriter(output, leaveOpen: true);
        Assert.Throws<EndOfStreamException>(() => cpio.AddFile("short", new MemoryStream(new byte[10]), 20));
    }

    [Fact]
    public void NothingCanFollowTheTrailer()
    {
        using var output = new MemoryStream();
        using var cpio = new NewcWriter(output, leaveOpen: true);
        cpio.Finish();
        Assert.Throws<InvalidOperationException>(() => cpio.AddDirectory("late"));
        Assert.EndsWith("TRAILER!!!", Encoding.ASCII.GetString(output.ToArray()).TrimEnd('\0'));
    }
}
