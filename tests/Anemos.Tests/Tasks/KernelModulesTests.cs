using Anemos.Tasks;
using Anemos.Tests.Infrastructure;

namespace Anemos.Tests.Tasks;

public sealed class KernelModulesTests : IDisposable
{
    readonly string _directory = TestProject.NewDirectory();

    public KernelModulesTests()
    {
        Directory.CreateDirectory(_directory);
        File.WriteAllText(Path.Combine(_directory, "modules.dep"), """
            kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
            kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
            kernel/drivers/virtio/virtio_ring.ko:
            kernel/drivers/nvme/host/nvme-core.ko:
            kernel/drivers/nvme/host/nvme.ko.xz: kernel/drivers/nvme/host/nvme-core.ko
            """);
        File.WriteAllText(Path.Combine(_directory, "modules.builtin"), "kernel/fs/ext4/ext4.ko\n");
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void LoadOrderPutsDependenciesFirstOnce()
    {
        var modules = new KernelModules(_directory);
        Assert.Equal(
            ["kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/virtio/virtio.ko", "kernel/drivers/block/virtio_blk.ko",
             "kernel/drivers/nvme/host/nvme-core.ko", "kernel/drivers/nvme/host/nvme.ko.xz"],
            modules.LoadOrder(["virtio_blk", "virtio", "nvme"]));
    }

    [Fact]
    public void ACycleInModulesDepIsACodedError()
    {
        File.WriteAllText(Path.Combine(_directory, "modules.dep"), "kernel/a.ko: kernel/b.ko\nkernel/b.ko: kernel/a.ko\n");
        var error = Assert.Throws<AnemosException>(() => new KernelModules(_directory).LoadOrder(["a"]));
        Assert.Equal("ANEMOS3017", error.Diagnostic.Code);
    }

    [Fact]
    public void NamesMatchWithDashesOrUnderscores()
    {
        var modules = new KernelModules(_directory);
        Assert.True(modules.Contains("nvme_core"));
        Assert.True(modules.Contains("nvme-core"));
        Assert.True(modules.IsBuiltin("ext4"));
        Assert.False(modules.Contains("e1000"));
    }
}
