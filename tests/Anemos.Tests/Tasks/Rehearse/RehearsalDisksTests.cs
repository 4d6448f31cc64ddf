using Anemos.Tasks;
using Anemos.Tasks.Rehearse;
using Anemos.Tests.Tasks.InProcess;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace Anemos.Tests.Tasks.Rehearse;

/// <summary>AnemosRehearseDisk: sizes, blank and sourced disks, and the serials the install and the boot give them.</summary>
public sealed class RehearsalDisksTests : IDisposable
{
    readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData("512", 512L)]
    [InlineData("8K", 8L << 10)]
    [InlineData("64M", 64L << 20)]
    [InlineData("8G", 8L << 30)]
    [InlineData("2T", 2L << 40)]
    [InlineData("8GB", 8L << 30)]
    [InlineData("8GiB", 8L << 30)]
    [InlineData("100B", 100L)]
    public void ASizeIsANumberWithABinaryUnit(string text, long bytes) => Assert.Equal(bytes, RehearsalDisks.ParseSize(text));

    [Theory]
    [InlineData("lots")]
    [InlineData("0")]
    [InlineData("0G")]
    [InlineData("-1G")]
    [InlineData("8P")]
    [InlineData("8g")]
    [InlineData("1.5G")]
    [InlineData("8 G")]
    [InlineData("")]
    [InlineData("99999999999999999999")]
    public void AnythingElseIsNoSize(string text) => Assert.Null(RehearsalDisks.ParseSize(text));

    [Fact]
    public void DisksAreMadeInOrderBlankOrFromTheirSourceAndBadOnesAreReported()
    {
        string work = Path.Combine(_folder.Path, "work");
        Directory.CreateDirectory(work);
        _folder.Write("home.img", "home disk");
        ITaskItem[] items =
        [
            new TaskItem("disk0", new Dictionary<string, string> { ["Size"] = "16M" }),
            new TaskItem("bad", new Dictionary<string, string> { ["Size"] = "lots" }),
            new TaskItem("home", new Dictionary<string, string> { ["Size"] = "1M", ["Source"] = "home.img" }),
            new TaskItem("gone", new Dictionary<string, string> { ["Source"] = "missing.img" }),
        ];
        var reported = new List<(string Code, object?[] Arguments)>();

        var disks = RehearsalDisks.Create(items, work, _folder.Path, (diagnostic, arguments) => reported.Add((diagnostic.Code, arguments)));

        Assert.Equal([Path.Combine(work, "disk0.img"), Path.Combine(work, "home.img")], disks.Files);
        Assert.Equal([Path.Combine(work, "home.img")], disks.Sourced);
        Assert.Equal(16L << 20, new FileInfo(disks.Files[0]).Length);
        Assert.Equal(1L << 20, new FileInfo(disks.Files[1]).Length);
        Assert.StartsWith("home disk", File.ReadAllText(disks.Files[1]));
        Assert.Equal(["ANEMOS3106", "ANEMOS3106"], reported.Select(r => r.Code));
        Assert.Equal("lots", reported[0].Arguments[1]);
        Assert.Equal("Source missing.img (missing)", reported[1].Arguments[1]);
    }

    [Fact]
    public void WithoutItemsTheRehearsalHasOneBlank8GDisk()
    {
        var disks = RehearsalDisks.Create([], _folder.Path, _folder.Path, (_, _) => Assert.Fail("nothing to report"));

        Assert.Equal([Path.Combine(_folder.Path, "disk0.img")], disks.Files);
        Assert.Equal(8L << 30, new FileInfo(disks.Files[0]).Length);
    }

    [Fact]
    public void TheInstallSeesEveryDiskWithItsSerialAndTheBootOnlyTheInstallDiskFirst()
    {
        Assert.Equal(["anemos-disk0", "anemos-disk1"], RehearsalDisks.ForInstall(["/w/a.img", "/w/b.img"]).Select(d => d.Serial));
        Assert.All(RehearsalDisks.ForInstall(["/w/a.img"]), d => Assert.Equal("unsafe", d.Cache));
        Assert.Equal(new QemuDisk("/w/b.img") { Serial = "anemos-disk0", BootIndex = 0 }, RehearsalDisks.ForBoot("/w/b.img"));
    }
}
