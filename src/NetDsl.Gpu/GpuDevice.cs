using System;
using System.Diagnostics.CodeAnalysis;
using System.Linq;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;

namespace NetDsl.Gpu;

/// <summary>An ILGPU context and one accelerator. <see cref="Best"/> picks CUDA, then OpenCL, then ILGPU's CPU accelerator
/// (a simulator: correct, not fast).</summary>
public sealed class GpuDevice : IDisposable
{
    private GpuDevice(Context context, Accelerator accelerator)
    {
        Context = context;
        Accelerator = accelerator;
    }

    public Context Context { get; }
    public Accelerator Accelerator { get; }

    /// <summary>"Cuda: NVIDIA H100 …", "OpenCL: …" or "CPU: ILGPU CPU accelerator …".</summary>
    public string Description => $"{Accelerator.AcceleratorType}: {Accelerator.Name}";

    /// <summary>Whether twins on this device can record a <see cref="GpuProfile"/> (the device was created with profiling on).</summary>
    public bool Profiling => Context.Properties.EnableProfiling;

    /// <summary>Whether this is ILGPU's CPU simulator rather than a real accelerator.</summary>
    public bool IsSimulator => Accelerator.AcceleratorType == AcceleratorType.CPU;

    /// <summary>The best accelerator present: CUDA, then OpenCL, then the CPU accelerator. <paramref name="profiling"/> lets
    /// twins on it record where a step's device time goes (<see cref="GpuNetworkBase.Profile"/>).</summary>
    [RequiresDynamicCode("ILGPU compiles kernels at run time.")]
    [RequiresUnreferencedCode("ILGPU reads kernel IL through reflection.")]
    public static GpuDevice Best(bool profiling = false)
    {
        var context = Context.Create(b => { b.Default().EnableAlgorithms(); if (profiling) b.Profiling(); });
        try
        {
            var device = context.Devices.FirstOrDefault(d => d.AcceleratorType == AcceleratorType.Cuda)
                ?? context.Devices.FirstOrDefault(d => d.AcceleratorType == AcceleratorType.OpenCL)
                ?? context.Devices.First(d => d.AcceleratorType == AcceleratorType.CPU);
            return new GpuDevice(context, device.CreateAccelerator(context));
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>The first device of <paramref name="type"/>, or null when there is none (tests report "no device").</summary>
    [RequiresDynamicCode("ILGPU compiles kernels at run time.")]
    [RequiresUnreferencedCode("ILGPU reads kernel IL through reflection.")]
    public static GpuDevice? TryCreate(AcceleratorType type)
    {
        var context = Context.Create(b => b.Default().EnableAlgorithms());
        var device = context.Devices.FirstOrDefault(d => d.AcceleratorType == type);
        if (device is null) { context.Dispose(); return null; }
        return new GpuDevice(context, device.CreateAccelerator(context));
    }

    /// <summary>ILGPU's CPU accelerator with small groups (<paramref name="threadsPerWarp"/> × <paramref name="warpsPerGroup"/>
    /// threads on <paramref name="processors"/> processors): fast enough for tests on tiny shapes.</summary>
    [RequiresDynamicCode("ILGPU compiles kernels at run time.")]
    [RequiresUnreferencedCode("ILGPU reads kernel IL through reflection.")]
    public static GpuDevice Cpu(int threadsPerWarp = 4, int warpsPerGroup = 4, int processors = 2, bool profiling = false)
    {
        var context = Context.Create(b => { b.CPU(new CPUDevice(threadsPerWarp, warpsPerGroup, processors)).EnableAlgorithms(); if (profiling) b.Profiling(); });
        return new GpuDevice(context, context.GetCPUDevice(0).CreateAccelerator(context));
    }

    /// <summary>C (+)= A·B (see <see cref="GemmShape"/>) on the generated tiled GEMM kernel the twins use, on this device's
    /// stream; <see cref="GemmTile"/> says which tile. The shape's epilogue (<see cref="GemmShape.WithEpilogue"/>) reads the
    /// bias from <paramref name="bias"/> and writes the activation to <paramref name="d"/>.</summary>
    [RequiresDynamicCode("ILGPU compiles kernels at run time.")]
    [RequiresUnreferencedCode("ILGPU reads kernel IL through reflection.")]
    public void Gemm(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, in GemmShape s, ArrayView<float> bias = default, ArrayView<float> d = default)
    {
        if (s.BiasAlong != 0 && !bias.IsValid) throw new ArgumentException($"the shape adds a bias along {(s.BiasAlong == 1 ? "rows" : "columns")}: pass its view", nameof(bias));
        if (s.Activation != 0 && !d.IsValid) throw new ArgumentException("the shape applies an activation: pass the view it writes", nameof(d));
        Launcher.Gemm(a, b, c, s, bias, d);
    }

    /// <summary>One product on the kernel with output tile <paramref name="tile"/> (8; 64 and 128 where groups of 256 threads
    /// fit), in one launch or split along K into <paramref name="slices"/> whose partial sums are then added: for measuring
    /// the kernels and the launch choices themselves.</summary>
    [RequiresDynamicCode("ILGPU compiles kernels at run time.")]
    [RequiresUnreferencedCode("ILGPU reads kernel IL through reflection.")]
    public void Gemm(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, in GemmShape s, int tile, int slices = 1) => Launcher.GemmSplit(a, b, c, s, tile, slices);

    private Launcher? _launcher;

    private Launcher Launcher
    {
        [RequiresDynamicCode("ILGPU compiles kernels at run time.")]
        [RequiresUnreferencedCode("ILGPU reads kernel IL through reflection.")]
        get => _launcher ??= new Launcher(Accelerator, LoadedKernels.For(Accelerator));
    }

    /// <summary>"64x64/128x128" where groups of 256 threads fit (GPUs: 128 where both M and N reach it), else "8x8" (ILGPU's
    /// default CPU accelerator).</summary>
    public string GemmTile
    {
        [RequiresDynamicCode("ILGPU compiles kernels at run time.")]
        [RequiresUnreferencedCode("ILGPU reads kernel IL through reflection.")]
        get => LoadedKernels.For(Accelerator).Large ? "64x64/128x128/32x128/16x256" : "8x8";
    }

    private CuBlasGemm? _blas;

    /// <summary>Run a twin's large single GEMMs (dense layers; <see cref="CuBlasGemm.Handles"/>) on cuBLAS when it loads.
    /// Off by default: the generated GEMM is the tested path. Setting it reports in <see cref="CuBlasStatus"/> what happened.</summary>
    public bool UseCuBlas
    {
        get => _blas is not null;
        [RequiresDynamicCode("ILGPU compiles kernels at run time.")]
        [RequiresUnreferencedCode("ILGPU reads kernel IL through reflection.")]
        set
        {
            if (!value) { _blas?.Dispose(); _blas = null; CuBlasStatus = "off"; return; }
            if (_blas is not null) return;
            _blas = CuBlasGemm.TryCreate(this, out var reason);
            CuBlasStatus = reason;
        }
    }

    /// <summary>"off", the cuBLAS version and library in use, or why it could not be loaded.</summary>
    public string CuBlasStatus { get; private set; } = "off";

    /// <summary>cuBLAS when <see cref="UseCuBlas"/> is on and it loaded.</summary>
    public CuBlasGemm? Blas => _blas;

    public void Dispose()
    {
        _blas?.Dispose();
        _launcher?.Dispose();
        Accelerator.Dispose();
        Context.Dispose();
    }
}
