using System;
using NetDsl.Gpu;

namespace NetDsl.Gpu.Tests;

/// <summary>One ILGPU CPU accelerator (small groups, two processors) shared by the tests: kernels compile once per accelerator.</summary>
public sealed class CpuAccelerator : IDisposable
{
    public GpuDevice Device { get; } = GpuDevice.Cpu(threadsPerWarp: 4, warpsPerGroup: 4, processors: 2);
    public void Dispose() => Device.Dispose();
}
