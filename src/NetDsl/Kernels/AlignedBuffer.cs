using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace NetDsl.Kernels;

/// <summary>
/// A float buffer whose first element sits on a 64-byte (cache-line) boundary. Generated networks keep their parameters,
/// activations and workspace in these.
/// </summary>
/// <remarks>
/// Why: a managed <c>float[]</c> is only 8-byte aligned, so where its data starts relative to a cache line depends on what
/// was allocated before it, and differs between processes. Misaligned, every 512-bit load or store of the kernels straddles
/// two cache lines. The array is allocated on the pinned object heap (it never moves, so the alignment holds for its
/// lifetime) with 15 spare floats to start at the boundary. Everything stays managed and safe: no native memory to free,
/// and spans check their bounds as usual.
/// </remarks>
public sealed class AlignedBuffer
{
    /// <summary>The alignment of element 0, in bytes.</summary>
    public const int Alignment = 64;

    private readonly float[] _array;
    private readonly int _offset;

    /// <summary>Allocates <paramref name="length"/> zeroed floats starting on a 64-byte boundary.</summary>
    public AlignedBuffer(int length)
    {
        if (length < 0) throw new ArgumentOutOfRangeException(nameof(length), length, "AlignedBuffer: length must be 0 or more");
        if (length > Array.MaxLength - Alignment / sizeof(float))
            throw new ArgumentOutOfRangeException(nameof(length), length, $"AlignedBuffer: at most {Array.MaxLength - Alignment / sizeof(float)} floats");
        if (length >= PlacedFloats && length <= Array.MaxLength - PageFloats)
        {
            // A large buffer starts at a fixed place within a 4 KB page, a different one for each such buffer in turn. The
            // kernels stream several buffers at once; where their addresses fall modulo 4 KB decides whether loads wait on
            // unrelated stores (4K aliasing) and which cache sets they share. Left to the allocator, that differed between
            // processes, and so did the speed: LeNet-5's batch-256 inference measured 75k–83k samples/s on one thread.
            _array = GC.AllocateArray<float>(length + PageFloats - 1, pinned: true);
            int slot = (int)((uint)Interlocked.Increment(ref s_placed) * 7u % (uint)(4096 / Alignment));
            _offset = OffsetTo(_array, 4096, slot * Alignment);
        }
        else
        {
            _array = GC.AllocateArray<float>(length + Alignment / sizeof(float) - 1, pinned: true);
            _offset = OffsetTo(_array, Alignment, 0);
        }
        Length = length;
    }

    /// <summary>Floats from which a buffer is placed within its page (16 KB).</summary>
    private const int PlacedFloats = 4096;
    private const int PageFloats = 4096 / sizeof(float);
    private static int s_placed;

    /// <summary>Floats from the array's start to the first address ≡ <paramref name="at"/> (mod <paramref name="boundary"/>).</summary>
    private static unsafe int OffsetTo(float[] pinned, int boundary, int at)
    {
        nuint address = (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned));
        // Managed arrays are at least 4-byte aligned for float, so the distance is whole floats.
        int distance = (int)(((nuint)(boundary + at) - address % (nuint)boundary) % (nuint)boundary);
        return distance / sizeof(float);
    }

    /// <summary>The number of floats.</summary>
    public int Length { get; }

    /// <summary>All <see cref="Length"/> floats.</summary>
    public Span<float> Span
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => new(_array, _offset, Length);
    }

    /// <summary>Floats [start, start + length); bounds are checked against <see cref="Length"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<float> AsSpan(int start, int length) => Span.Slice(start, length);

    /// <summary>Floats [start, Length).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<float> AsSpan(int start) => Span.Slice(start);

    /// <summary>Element <paramref name="index"/>, bounds-checked against <see cref="Length"/>.</summary>
    public ref float this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref Span[index];
    }

    /// <summary>Sets every float to 0.</summary>
    public void Clear() => Span.Clear();

    /// <summary>Element 0's address (the array is pinned for the buffer's life), for kernels that keep pointers into
    /// several workspace buffers across a call.</summary>
    internal unsafe float* Pointer => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_array)) + _offset;

    /// <summary>The buffer as a span (the generated code passes buffers where kernels take spans).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static implicit operator Span<float>(AlignedBuffer buffer) => buffer.Span;

    /// <summary>The buffer as a read-only span.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static implicit operator ReadOnlySpan<float>(AlignedBuffer buffer) => buffer.Span;
}
