using System;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Threading;
using ILGPU;
using ILGPU.Runtime.Cuda;

namespace NetDsl.Gpu;

/// <summary>
/// Optional cuBLAS for the large GEMMs of a twin (<see cref="GpuDevice.UseCuBlas"/>). ILGPU.Algorithms 1.5.3 binds
/// <c>libcublas.so.12</c> (and .11, .10); CUDA 13 machines ship <c>libcublas.so.13</c>, whose <c>cublasSgemm_v2</c> has the
/// same signature. So a resolver maps ILGPU's request to the first of: <c>NETDSL_CUBLAS</c> (a path), .so.12, .so.13, .so.
/// The generated GEMM stays the default and the tested path; cuBLAS only runs when asked for and found.
/// </summary>
public sealed class CuBlasGemm : IDisposable
{
    private static int s_resolverSet;
    private static string? s_loaded;
    private readonly CuBlas _blas;

    private CuBlasGemm(CuBlas blas) => _blas = blas;

    /// <summary>The library the resolver loaded (a name or path), or null before the first load.</summary>
    public static string? LoadedLibrary => s_loaded;

    /// <summary>cuBLAS on <paramref name="device"/>'s CUDA accelerator, or null with the reason (not CUDA, library missing).</summary>
    [RequiresDynamicCode("ILGPU compiles kernels at run time.")]
    [RequiresUnreferencedCode("ILGPU reads kernel IL through reflection.")]
    public static CuBlasGemm? TryCreate(GpuDevice device, out string reason)
    {
        if (device.Accelerator is not CudaAccelerator cuda)
        {
            reason = $"{device.Description} is not a CUDA accelerator";
            return null;
        }
        if (Interlocked.Exchange(ref s_resolverSet, 1) == 0)
        {
            try { NativeLibrary.SetDllImportResolver(typeof(CuBlas).Assembly, Resolve); }
            catch (InvalidOperationException) { /* ILGPU set its own: default probing decides */ }
        }
        try
        {
            var blas = new CuBlas(cuda);
            reason = $"cuBLAS {blas.Version} from {s_loaded ?? "the default search path"}";
            return new CuBlasGemm(blas);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or CuBlasException or TypeInitializationException or NotSupportedException)
        {
            reason = $"cuBLAS could not be loaded: {e.GetType().Name}: {e.Message}";
            return null;
        }
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (!name.Contains("cublas", StringComparison.OrdinalIgnoreCase)) return IntPtr.Zero;
        string? configured = Environment.GetEnvironmentVariable("NETDSL_CUBLAS");
        foreach (var candidate in new[] { configured, name, "libcublas.so.12", "libcublas.so.13", "libcublas.so" })
        {
            if (string.IsNullOrEmpty(candidate)) continue;
            if (NativeLibrary.TryLoad(candidate, out var handle))
            {
                s_loaded = candidate;
                return handle;
            }
        }
        return IntPtr.Zero;
    }

    /// <summary>Whether cuBLAS can run <paramref name="s"/>: one product (no slices), each operand with a unit stride along
    /// one index (a plain or transposed matrix), C row-major.</summary>
    public static bool Handles(in GemmShape s) =>
        s.Items == 1 && (s.Ak == 1 || s.Am == 1) && (s.Bn == 1 || s.Bk == 1) && s.Ldc >= s.N;

    /// <summary>C (+)= A·B for a shape <see cref="Handles"/> accepts. Row-major C is column-major Cᵀ = Bᵀ·Aᵀ, so cuBLAS gets
    /// B as its first operand and A as its second, each transposed or not by which of its strides is 1.</summary>
    public void Gemm(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, in GemmShape s)
    {
        if (!Handles(s)) throw new ArgumentException("cuBLAS takes one product of plain or transposed matrices", nameof(s));
        // First operand: Bᵀ as an N×K column-major matrix.
        var opB = s.Bn == 1 ? CuBlasOperation.NonTranspose : CuBlasOperation.Transpose;
        int ldb = s.Bn == 1 ? s.Bk : s.Bn;
        // Second operand: Aᵀ as a K×M column-major matrix.
        var opA = s.Ak == 1 ? CuBlasOperation.NonTranspose : CuBlasOperation.Transpose;
        int lda = s.Ak == 1 ? s.Am : s.Ak;
        _blas.Gemm(opB, opA, s.N, s.M, s.K, 1f, b, Math.Max(ldb, 1), a, Math.Max(lda, 1), s.Accumulate != 0 ? 1f : 0f, c, s.Ldc);
    }

    public void Dispose() => _blas.Dispose();
}
