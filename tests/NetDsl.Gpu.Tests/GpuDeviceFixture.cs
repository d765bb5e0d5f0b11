using System;
using NetDsl.Gpu;

namespace NetDsl.Gpu.Tests;

/// <summary>One ILGPU CPU accelerator (small groups, two processors) shared by the tests: kernels compile once per accelerator.</summary>
public sealed class CpuAccelerator : IDisposable
{
    public GpuDevice Device { get; } = GpuDevice.Cpu(threadsPerWarp: 4, warpsPerGroup: 4, processors: 2);
    public void Dispose() => Device.Dispose();
}

/// <summary>ILGPU's CPU accelerator with groups of 256 threads (8 warps of 32), so <see cref="LoadedKernels"/> picks the
/// large-tile GEMM, the one a GPU runs. Slow (every thread is simulated), so only small shapes run on it.</summary>
public sealed class LargeGroupAccelerator : IDisposable
{
    public GpuDevice Device { get; } = GpuDevice.Cpu(threadsPerWarp: 32, warpsPerGroup: 8, processors: 2);
    public void Dispose() => Device.Dispose();
}
