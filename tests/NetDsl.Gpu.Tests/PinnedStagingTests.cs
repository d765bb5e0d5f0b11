using System.Linq;
using ILGPU;
using ILGPU.Runtime;
using Xunit;

namespace NetDsl.Gpu.Tests;

/// <summary>The page-locked staging buffer: an upload (copied in parallel parts above <see cref="PinnedStaging{T}.ParallelPartBytes"/>)
/// and a download give back every element in its place, at lengths around the part boundaries.</summary>
public class PinnedStagingTests(CpuAccelerator accelerator) : IClassFixture<CpuAccelerator>
{
    [Theory]
    [InlineData(1)]
    [InlineData(32767)]
    [InlineData(65536)] // two parts of exactly the threshold
    [InlineData(65537)]
    [InlineData(200_704)] // batch 256 of 28×28 inputs
    [InlineData(1_000_003)]
    public void AnUploadThenADownloadGivesEveryElementBack(int length)
    {
        var a = accelerator.Device.Accelerator;
        using var staging = new PinnedStaging<float>(a, 1_000_008);
        using var device = a.Allocate1D<float>(length + 5);
        device.MemSetToZero();
        var data = Enumerable.Range(0, length).Select(i => i * 0.5f + 1).ToArray();
        staging.Upload(data, device.View);
        var back = new float[length + 5];
        staging.Download(device.View, back);
        Assert.Equal(data, back[..length]);
        Assert.All(back[length..], v => Assert.Equal(0f, v)); // nothing written past the upload
    }
}
