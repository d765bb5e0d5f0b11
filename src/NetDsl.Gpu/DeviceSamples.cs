using System;
using System.Diagnostics.CodeAnalysis;
using ILGPU;
using ILGPU.Runtime;

namespace NetDsl.Gpu;

/// <summary>
/// A data set's inputs kept on the device, so that a training step
/// (<see cref="GpuNetworkBase.TrainStep(DeviceSamples, ReadOnlySpan{int}, ReadOnlySpan{int}, NetDsl.Training.Loss, NetDsl.Training.Optimizer)"/>)
/// uploads its batch's sample indices (4 bytes a sample) and gathers the inputs on the device, instead of copying them into
/// page-locked memory and over the bus (at batch 256 of 28×28 images, 800 KB; an H100 profile put 86–130 µs of a step
/// there). <see cref="GpuTrainer.Fit"/> keeps the training set here when it fits in a quarter of the device's memory.
/// </summary>
public sealed class DeviceSamples : IDisposable
{
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _buffer;

    /// <summary>Copies <paramref name="inputs"/> (<paramref name="sampleSize"/> floats a sample, samples one after another)
    /// to <paramref name="device"/>.</summary>
    [RequiresDynamicCode("ILGPU compiles kernels at run time.")]
    [RequiresUnreferencedCode("ILGPU reads kernel IL through reflection.")]
    public DeviceSamples(GpuDevice device, ReadOnlySpan<float> inputs, int sampleSize)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (sampleSize < 1) throw new ArgumentOutOfRangeException(nameof(sampleSize), sampleSize, "sampleSize must be at least 1");
        if (inputs.Length == 0 || inputs.Length % sampleSize != 0)
            throw new ArgumentException($"inputs has {inputs.Length} floats, expected a positive multiple of sampleSize {sampleSize}", nameof(inputs));
        Device = device;
        SampleSize = sampleSize;
        Count = inputs.Length / sampleSize;
        _buffer = device.Accelerator.Allocate1D<float>(inputs.Length);
        _buffer.View.AsContiguous().CopyFromCPU(inputs);
    }

    /// <summary>The device the inputs live on.</summary>
    public GpuDevice Device { get; }

    /// <summary>Floats a sample.</summary>
    public int SampleSize { get; }

    /// <summary>Samples.</summary>
    public int Count { get; }

    internal ArrayView<float> View => _buffer.View;

    public void Dispose() => _buffer.Dispose();
}
