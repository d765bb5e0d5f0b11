using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetDsl.Kernels;

/// <summary>
/// One worker's packed weight for <see cref="ChannelLaneConv"/>, with a copy of the weight it was packed from: a call
/// with the same weight (inference, or the samples of one training step) reuses it.
/// </summary>
public sealed class ChannelLaneWeights
{
    /// <summary>The packed weight of a convolution <paramref name="geometry"/> with <paramref name="outC"/> output channels.</summary>
    public ChannelLaneWeights(in ConvGeometry geometry, int outC)
    {
        if (!ChannelLaneConv.Supports(geometry, outC)) throw new ArgumentException($"ChannelLaneWeights: {geometry} with {outC} output channels is not a stride-1, undilated convolution with a multiple of {ChannelLaneConv.Lanes} output channels.", nameof(geometry));
        Geometry = geometry;
        OutC = outC;
        Packed = new AlignedBuffer(ChannelLaneConv.PackedSize(geometry, outC));
        Source = new float[Packed.Length];
    }

    /// <summary>The convolution the weight is for.</summary>
    public ConvGeometry Geometry { get; }
    /// <summary>Output channels.</summary>
    public int OutC { get; }
    internal AlignedBuffer Packed { get; }
    internal float[] Source { get; }
    internal bool Filled { get; set; }
}

/// <summary>
/// Direct stride-1 convolution (cross-correlation, NCHW, one sample) with the output channels in the vector lanes, for
/// layers with few output channels (a multiple of 16) over a deeper input, such as LeNet-5's 6 → 16, 5×5. There im2col's
/// column matrix [C·kH·kW, OH·OW] costs half as much as the GEMM that reads it: each unfolded element is used by only 16
/// output channels. Here 16 output channels are one 512-bit register (two at 256 bits); each tap loads their 16 weights
/// once and adds w · x to ten output columns of a row (five at 256 bits), each x broadcast from the input. No column
/// matrix is written; the block of 16 channels × ten columns is written back channel-major (NCHW).
/// <para>Each element is bias, then + w·x in (channel, kernel row, kernel column) order, fused multiply-adds at every
/// vector width and in the scalar fallback: the same bits everywhere.</para>
/// </summary>
[SkipLocalsInit]
public static unsafe class ChannelLaneConv
{
    /// <summary>Output channels per vector: the layer's output channels are a multiple of this.</summary>
    public const int Lanes = 16;

    /// <summary>Output columns a 512-bit block computes (ten accumulators).</summary>
    private const int Columns512 = 10;
    /// <summary>Output columns a 256-bit block computes (ten accumulators, two per column).</summary>
    private const int Columns256 = 5;

    /// <summary>Whether <paramref name="g"/> with <paramref name="outC"/> output channels is a convolution this kernel
    /// computes: stride 1, no dilation, output channels a multiple of <see cref="Lanes"/>.</summary>
    public static bool Supports(in ConvGeometry g, int outC) => g.StrideH == 1 && g.StrideW == 1 && g.Dilation == 1 && outC > 0 && outC % Lanes == 0;

    /// <summary>Floats of the packed weight: outC · C·kH·kW.</summary>
    public static int PackedSize(in ConvGeometry g, int outC) => outC * g.ColRows;

    // The input is read in place when nothing around it is padding and a row holds a whole block of columns; otherwise it is
    // copied into a zero-padded plane with room for a block's columns past the last one (computed, never stored).
    private static bool InPlace(in ConvGeometry g) =>
        g.PadTop == 0 && g.PadLeft == 0 && g.OutW >= Columns512 && g.InH >= g.OutH + g.KernelH - 1 && g.InW >= g.OutW + g.KernelW - 1;
    private static int PaddedWidth(in ConvGeometry g) => Math.Max(g.OutW, Columns512) + g.KernelW - 1;
    private static int PaddedHeight(in ConvGeometry g) => g.OutH + g.KernelH - 1;

    /// <summary>Floats of scratch <see cref="Forward"/> needs: the zero-padded input.</summary>
    public static int ScratchSize(in ConvGeometry g) => g.InC * PaddedHeight(g) * PaddedWidth(g) + Columns512 + 16;

    /// <summary>The weight packed by <see cref="Pack(in ConvGeometry, int, ReadOnlySpan{float}, Span{float})"/> into
    /// <paramref name="cache"/>, packed again only when <paramref name="weight"/> differs (bit for bit) from the weight it
    /// was packed from.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ReadOnlySpan<float> Pack(ChannelLaneWeights cache, ReadOnlySpan<float> weight)
    {
        var source = cache.Source.AsSpan();
        if (weight.Length != source.Length) throw new ArgumentException($"ChannelLaneConv.Pack: weight has {weight.Length} floats, expected {source.Length}.", nameof(weight));
        if (!cache.Filled || !MemoryMarshal.Cast<float, int>(weight).SequenceEqual(MemoryMarshal.Cast<float, int>(source)))
        {
            Pack(cache.Geometry, cache.OutC, weight, cache.Packed.Span);
            weight.CopyTo(source);
            cache.Filled = true;
        }
        return cache.Packed.Span;
    }

    /// <summary>packed [outC / 16][C·kH·kW][16] = weight [outC, C·kH·kW], transposed per block of 16 output channels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pack(in ConvGeometry g, int outC, ReadOnlySpan<float> weight, Span<float> packed)
    {
        if (!Supports(g, outC)) throw new ArgumentException($"ChannelLaneConv: {g} with {outC} output channels is not a stride-1, undilated convolution with a multiple of {Lanes} output channels.", nameof(g));
        int taps = g.ColRows;
        if (weight.Length != outC * taps) throw new ArgumentException($"ChannelLaneConv.Pack: weight has {weight.Length} floats, expected {outC * taps}.", nameof(weight));
        if (packed.Length < outC * taps) throw new ArgumentException($"ChannelLaneConv.Pack: packed has {packed.Length} floats, needs {outC * taps}.", nameof(packed));
        fixed (float* pw = weight, pp = packed)
            for (int og = 0; og < outC; og += Lanes)
            {
                float* dst = pp + (nint)og * taps, src = pw + (nint)og * taps;
                for (int t = 0; t < taps; t++, dst += Lanes)
                    for (int l = 0; l < Lanes; l++) dst[l] = src[(nint)l * taps + t];
            }
    }

    /// <summary>y [outC, OutH, OutW] = conv(x [InC, InH, InW]) (+ bias), the weight packed by <see cref="Pack(ChannelLaneWeights, ReadOnlySpan{float})"/>. If
    /// <paramref name="relu"/> is not empty it also receives max(y, 0): a ReLU that follows, fused into the stores; y may
    /// then be empty (only the ReLU's output is stored). Only output rows [<paramref name="row0"/>, <paramref name="row1"/>)
    /// are computed (−1: to the last): a batch of one splits them across workers, each element the same sum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(in ConvGeometry g, int outC, ReadOnlySpan<float> packed, ReadOnlySpan<float> bias,
        ReadOnlySpan<float> x, Span<float> y, Span<float> scratch, Span<float> relu = default, int row0 = 0, int row1 = -1)
    {
        if (row1 < 0) row1 = g.OutH;
        if (row0 < 0 || row0 > row1 || row1 > g.OutH) throw new ArgumentOutOfRangeException(nameof(row0), $"ChannelLaneConv: rows [{row0}, {row1}) are not a range of [0, {g.OutH}).");
        if (!Supports(g, outC)) throw new ArgumentException($"ChannelLaneConv: {g} with {outC} output channels is not a stride-1, undilated convolution with a multiple of {Lanes} output channels.", nameof(g));
        int taps = g.ColRows, size = outC * g.OutH * g.OutW;
        if (packed.Length < outC * taps) throw new ArgumentException($"ChannelLaneConv: packed has {packed.Length} floats, expected {outC * taps}.", nameof(packed));
        if (!bias.IsEmpty && bias.Length != outC) throw new ArgumentException($"ChannelLaneConv: bias has {bias.Length} floats, expected {outC}.", nameof(bias));
        if (x.Length < g.InC * g.InH * g.InW) throw new ArgumentException($"ChannelLaneConv: x has {x.Length} floats, expected {g.InC * g.InH * g.InW}.", nameof(x));
        if (y.IsEmpty && relu.IsEmpty) throw new ArgumentException("ChannelLaneConv: y and relu are both empty; at least one output is needed.", nameof(y));
        if (!y.IsEmpty && y.Length < size) throw new ArgumentException($"ChannelLaneConv: y has {y.Length} floats, expected {size}.", nameof(y));
        if (!relu.IsEmpty && relu.Length < size) throw new ArgumentException($"ChannelLaneConv: relu has {relu.Length} floats, expected {size}.", nameof(relu));
        bool inPlace = InPlace(g);
        int wp = inPlace ? g.InW : PaddedWidth(g), plane = inPlace ? g.InH * g.InW : PaddedHeight(g) * wp;
        ReadOnlySpan<float> input = x;
        if (!inPlace)
        {
            if (scratch.Length < ScratchSize(g)) throw new ArgumentException($"ChannelLaneConv: scratch has {scratch.Length} floats, needs {ScratchSize(g)}.", nameof(scratch));
            var padded = scratch.Slice(0, ScratchSize(g));
            DirectConv.Pad(in g, x, padded, PaddedHeight(g), wp);
            input = padded;
        }
        fixed (float* pp = input, pw = packed, pb = bias, py = y, pr = relu)
        {
            float* b = bias.IsEmpty ? null : pb, r = relu.IsEmpty ? null : pr, o = y.IsEmpty ? null : py;
            if (Simd.Use512) Forward512(in g, outC, pw, b, pp, wp, plane, o, r, row0, row1);
            else if (Fma.IsSupported) Forward256(in g, outC, pw, b, pp, wp, plane, o, r, row0, row1);
            else ForwardScalar(in g, outC, pw, b, pp, wp, plane, o, r, row0, row1);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardScalar(in ConvGeometry g, int outC, float* w, float* bias, float* p, int wp, int plane, float* y, float* relu, int row0, int row1)
    {
        int kh = g.KernelH, kw = g.KernelW, taps = g.ColRows, ohw = g.OutH * g.OutW;
        for (int o = 0; o < outC; o++)
        {
            float* wo = w + (nint)(o / Lanes) * Lanes * taps + o % Lanes;
            for (int i = row0; i < row1; i++)
                for (int j = 0; j < g.OutW; j++)
                {
                    float acc = bias == null ? 0f : bias[o];
                    int t = 0;
                    for (int c = 0; c < g.InC; c++)
                        for (int u = 0; u < kh; u++)
                            for (int v = 0; v < kw; v++, t++)
                                acc = MathF.FusedMultiplyAdd(p[(nint)c * plane + (i + u) * wp + j + v], wo[(nint)t * Lanes], acc);
                    nint at = (nint)o * ohw + i * g.OutW + j;
                    if (y != null) y[at] = acc;
                    if (relu != null) relu[at] = Vec.Relu(acc);
                }
        }
    }

    /// <summary>Blocks of 16 output channels × 10 columns of one output row: ten accumulators, one weight load and ten
    /// broadcasts per tap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Forward512(in ConvGeometry g, int outC, float* w, float* bias, float* p, int wp, int plane, float* y, float* relu, int row0, int row1)
    {
        const int R = Columns512;
        int kh = g.KernelH, kw = g.KernelW, inC = g.InC, outH = g.OutH, outW = g.OutW, taps = g.ColRows, ohw = outH * outW;
        float* block = stackalloc float[R * Lanes];
        for (int og = 0; og < outC; og += Lanes)
        {
            float* wg = w + (nint)og * taps;
            var b = bias == null ? Vector512<float>.Zero : Vector512.Load(bias + og);
            for (int i = row0; i < row1; i++)
                for (int j = 0; j < outW; j += R)
                {
                    // The last block of a row overlaps the one before (the same values stored twice) rather than run short.
                    int j0 = j + R <= outW ? j : Math.Max(0, outW - R);
                    Vector512<float> a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b, a6 = b, a7 = b, a8 = b, a9 = b;
                    float* wt = wg;
                    for (int c = 0; c < inC; c++)
                        for (int u = 0; u < kh; u++)
                        {
                            float* s = p + (nint)c * plane + (nint)(i + u) * wp + j0;
                            for (int v = 0; v < kw; v++, s++, wt += Lanes)
                            {
                                var wv = Vector512.Load(wt);
                                a0 = Avx512F.FusedMultiplyAdd(Vector512.Create(s[0]), wv, a0);
                                a1 = Avx512F.FusedMultiplyAdd(Vector512.Create(s[1]), wv, a1);
                                a2 = Avx512F.FusedMultiplyAdd(Vector512.Create(s[2]), wv, a2);
                                a3 = Avx512F.FusedMultiplyAdd(Vector512.Create(s[3]), wv, a3);
                                a4 = Avx512F.FusedMultiplyAdd(Vector512.Create(s[4]), wv, a4);
                                a5 = Avx512F.FusedMultiplyAdd(Vector512.Create(s[5]), wv, a5);
                                a6 = Avx512F.FusedMultiplyAdd(Vector512.Create(s[6]), wv, a6);
                                a7 = Avx512F.FusedMultiplyAdd(Vector512.Create(s[7]), wv, a7);
                                a8 = Avx512F.FusedMultiplyAdd(Vector512.Create(s[8]), wv, a8);
                                a9 = Avx512F.FusedMultiplyAdd(Vector512.Create(s[9]), wv, a9);
                            }
                        }
                    a0.Store(block); a1.Store(block + 16); a2.Store(block + 32); a3.Store(block + 48); a4.Store(block + 64);
                    a5.Store(block + 80); a6.Store(block + 96); a7.Store(block + 112); a8.Store(block + 128); a9.Store(block + 144);
                    StoreTransposed(block, R, Math.Min(R, outW - j0), y == null ? null : y + (nint)og * ohw + (nint)i * outW + j0, relu == null ? null : relu + (nint)og * ohw + (nint)i * outW + j0, ohw);
                }
        }
    }

    /// <summary>Floats of scratch <see cref="AddWeightGradient"/> needs: the padded input, dy of one block of 16 channels
    /// transposed, and the block's weight gradient transposed.</summary>
    public static int WeightGradientScratchSize(in ConvGeometry g) => ScratchSize(g) + Lanes * g.OutH * g.OutW + Lanes * g.ColRows + 16;

    /// <summary>
    /// dWeight [outC, C, kH, kW] += Σ over <paramref name="samples"/> samples of dy ⊛ x, the output channels in the lanes:
    /// per input channel and kernel row, kW accumulators of 16 channels each take dy at every output position (one load)
    /// times the kW inputs it meets (broadcasts), so no column matrix is written (im2col's unfold had cost LeNet-5's conv2
    /// a third as much as the dot products that read it). Kernels up to 5 wide: returns false
    /// otherwise (nothing written), and the caller takes im2col's path. Also at 256 bits with FMA, the same bits (each lane
    /// the same fused multiply-adds in the same order); without FMA it returns false. The sums run per sample in (row,
    /// column) order and are added sample by sample: not the same bits as im2col's dot products.
    /// </summary>
    /// <param name="g">The convolution's geometry.</param>
    /// <param name="outC">Output channels.</param>
    /// <param name="dy">samples × [outC, OutH, OutW].</param>
    /// <param name="x">samples × [InC, InH, InW].</param>
    /// <param name="samples">Samples in <paramref name="dy"/> and <paramref name="x"/>.</param>
    /// <param name="scratch"><see cref="WeightGradientScratchSize"/> floats: the padded input and the transposed blocks.</param>
    /// <param name="dWeight">[outC, InC, kH, kW], added to.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool AddWeightGradient(in ConvGeometry g, int outC, ReadOnlySpan<float> dy, ReadOnlySpan<float> x, int samples,
        Span<float> scratch, Span<float> dWeight)
    {
        if (!(Simd.Use512 || Fma.IsSupported) || g.KernelW > 5) return false;
        if (!Supports(g, outC)) throw new ArgumentException($"ChannelLaneConv: {g} with {outC} output channels is not a stride-1, undilated convolution with a multiple of {Lanes} output channels.", nameof(g));
        int taps = g.ColRows, positions = g.OutH * g.OutW, inSize = g.InC * g.InH * g.InW, outSize = outC * positions;
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), samples, "ChannelLaneConv.AddWeightGradient: samples must be at least 1.");
        if (dy.Length < samples * outSize) throw new ArgumentException($"ChannelLaneConv.AddWeightGradient: dy has {dy.Length} floats, expected {samples} × {outSize}.", nameof(dy));
        if (x.Length < samples * inSize) throw new ArgumentException($"ChannelLaneConv.AddWeightGradient: x has {x.Length} floats, expected {samples} × {inSize}.", nameof(x));
        if (dWeight.Length != outC * taps) throw new ArgumentException($"ChannelLaneConv.AddWeightGradient: dWeight has {dWeight.Length} floats, expected {outC * taps}.", nameof(dWeight));
        if (scratch.Length < WeightGradientScratchSize(g)) throw new ArgumentException($"ChannelLaneConv.AddWeightGradient: scratch has {scratch.Length} floats, needs {WeightGradientScratchSize(g)}.", nameof(scratch));
        bool inPlace = InPlace(g);
        int wp = inPlace ? g.InW : PaddedWidth(g), plane = inPlace ? g.InH * g.InW : PaddedHeight(g) * wp;
        var padded = scratch.Slice(0, ScratchSize(g));
        // dyT and the block's transposed gradient start on a 64-byte boundary past the padded input
        fixed (float* ps = scratch, pdy = dy, px = x, pdw = dWeight)
        {
            float* dyT = (float*)(((nint)(ps + ScratchSize(g)) + 63) & ~(nint)63);
            float* dwT = dyT + Lanes * positions;
            for (int og = 0; og < outC; og += Lanes)
            {
                new Span<float>(dwT, Lanes * taps).Clear();
                for (int s = 0; s < samples; s++)
                {
                    float* input = px + (nint)s * inSize;
                    if (!inPlace)
                    {
                        DirectConv.Pad(in g, new ReadOnlySpan<float>(input, inSize), padded, PaddedHeight(g), wp);
                        input = ps;
                    }
                    // dyT [position][16] = the block's dy [16][position], a gather per position
                    float* d = pdy + (nint)s * outSize + (nint)og * positions;
                    Transpose(d, positions, dyT);
                    if (Simd.Use512)
                        switch (g.KernelW)
                        {
                            case 1: Gradient512<W1>(in g, input, wp, plane, dyT, dwT); break;
                            case 2: Gradient512<W2>(in g, input, wp, plane, dyT, dwT); break;
                            case 3: Gradient512<W3>(in g, input, wp, plane, dyT, dwT); break;
                            case 4: Gradient512<W4>(in g, input, wp, plane, dyT, dwT); break;
                            default: Gradient512<W5>(in g, input, wp, plane, dyT, dwT); break;
                        }
                    else
                        switch (g.KernelW)
                        {
                            case 1: Gradient256<W1>(in g, input, wp, plane, dyT, dwT); break;
                            case 2: Gradient256<W2>(in g, input, wp, plane, dyT, dwT); break;
                            case 3: Gradient256<W3>(in g, input, wp, plane, dyT, dwT); break;
                            case 4: Gradient256<W4>(in g, input, wp, plane, dyT, dwT); break;
                            default: Gradient256<W5>(in g, input, wp, plane, dyT, dwT); break;
                        }
                }
                for (int l = 0; l < Lanes; l++)
                {
                    float* row = pdw + (nint)(og + l) * taps;
                    for (int t = 0; t < taps; t++) row[t] += dwT[t * Lanes + l];
                }
            }
        }
        return true;
    }

    /// <summary><see cref="Gradient512{TWidth}"/> at 256 bits: each 16-lane accumulator as two halves, every lane the same
    /// fused multiply-adds in the same order, so the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gradient256<TWidth>(in ConvGeometry g, float* input, int wp, int plane, float* dyT, float* dwT)
        where TWidth : struct, IKernelWidth
    {
        int kw = TWidth.N, kh = g.KernelH, outH = g.OutH, outW = g.OutW;
        for (int c = 0; c < g.InC; c++)
            for (int u = 0; u < kh; u++)
            {
                Vector256<float> l0 = default, l1 = default, l2 = default, l3 = default, l4 = default;
                Vector256<float> h0 = default, h1 = default, h2 = default, h3 = default, h4 = default;
                float* dq = dyT;
                for (int i = 0; i < outH; i++)
                {
                    float* s = input + (nint)c * plane + (nint)(i + u) * wp;
                    for (int j = 0; j < outW; j++, dq += Lanes, s++)
                    {
                        var dl = Vector256.Load(dq);
                        var dh = Vector256.Load(dq + 8);
                        var x = Vector256.Create(s[0]);
                        l0 = Fma.MultiplyAdd(dl, x, l0); h0 = Fma.MultiplyAdd(dh, x, h0);
                        if (kw > 1) { x = Vector256.Create(s[1]); l1 = Fma.MultiplyAdd(dl, x, l1); h1 = Fma.MultiplyAdd(dh, x, h1); }
                        if (kw > 2) { x = Vector256.Create(s[2]); l2 = Fma.MultiplyAdd(dl, x, l2); h2 = Fma.MultiplyAdd(dh, x, h2); }
                        if (kw > 3) { x = Vector256.Create(s[3]); l3 = Fma.MultiplyAdd(dl, x, l3); h3 = Fma.MultiplyAdd(dh, x, h3); }
                        if (kw > 4) { x = Vector256.Create(s[4]); l4 = Fma.MultiplyAdd(dl, x, l4); h4 = Fma.MultiplyAdd(dh, x, h4); }
                    }
                }
                float* t = dwT + (nint)((c * kh + u) * kw) * Lanes;
                Add(t, l0, h0);
                if (kw > 1) Add(t + Lanes, l1, h1);
                if (kw > 2) Add(t + 2 * Lanes, l2, h2);
                if (kw > 3) Add(t + 3 * Lanes, l3, h3);
                if (kw > 4) Add(t + 4 * Lanes, l4, h4);
            }

        static void Add(float* t, Vector256<float> lo, Vector256<float> hi)
        {
            (Vector256.Load(t) + lo).Store(t);
            (Vector256.Load(t + 8) + hi).Store(t + 8);
        }
    }

    /// <summary>t [q][16] = d [16][q] for q &lt; <paramref name="positions"/>: two gathers of 8 per position.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose(float* d, int positions, float* t)
    {
        var lane = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) * Vector256.Create(positions);
        if (Avx2.IsSupported)
        {
            var high = lane + Vector256.Create(8 * positions);
            for (int q = 0; q < positions; q++)
            {
                Avx2.GatherVector256(d + q, lane, 4).Store(t + q * Lanes);
                Avx2.GatherVector256(d + q, high, 4).Store(t + q * Lanes + 8);
            }
            return;
        }
        for (int l = 0; l < Lanes; l++)
            for (int q = 0; q < positions; q++) t[q * Lanes + l] = d[(nint)l * positions + q];
    }

    /// <summary>dwT [tap][16] += one sample's dyT [position][16] times its input, one (channel, kernel row) at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gradient512<TWidth>(in ConvGeometry g, float* input, int wp, int plane, float* dyT, float* dwT)
        where TWidth : struct, IKernelWidth
    {
        int kw = TWidth.N, kh = g.KernelH, outH = g.OutH, outW = g.OutW;
        for (int c = 0; c < g.InC; c++)
            for (int u = 0; u < kh; u++)
            {
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default;
                float* dq = dyT;
                for (int i = 0; i < outH; i++)
                {
                    float* s = input + (nint)c * plane + (nint)(i + u) * wp;
                    for (int j = 0; j < outW; j++, dq += Lanes, s++)
                    {
                        var d = Vector512.Load(dq);
                        a0 = Avx512F.FusedMultiplyAdd(d, Vector512.Create(s[0]), a0);
                        if (kw > 1) a1 = Avx512F.FusedMultiplyAdd(d, Vector512.Create(s[1]), a1);
                        if (kw > 2) a2 = Avx512F.FusedMultiplyAdd(d, Vector512.Create(s[2]), a2);
                        if (kw > 3) a3 = Avx512F.FusedMultiplyAdd(d, Vector512.Create(s[3]), a3);
                        if (kw > 4) a4 = Avx512F.FusedMultiplyAdd(d, Vector512.Create(s[4]), a4);
                    }
                }
                float* t = dwT + (nint)((c * kh + u) * kw) * Lanes;
                (Vector512.Load(t) + a0).Store(t);
                if (kw > 1) (Vector512.Load(t + Lanes) + a1).Store(t + Lanes);
                if (kw > 2) (Vector512.Load(t + 2 * Lanes) + a2).Store(t + 2 * Lanes);
                if (kw > 3) (Vector512.Load(t + 3 * Lanes) + a3).Store(t + 3 * Lanes);
                if (kw > 4) (Vector512.Load(t + 4 * Lanes) + a4).Store(t + 4 * Lanes);
            }
    }

    /// <summary>Blocks of 16 output channels (two registers) × 5 columns: ten accumulators, two weight loads and five
    /// broadcasts per tap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Forward256(in ConvGeometry g, int outC, float* w, float* bias, float* p, int wp, int plane, float* y, float* relu, int row0, int row1)
    {
        const int R = Columns256;
        int kh = g.KernelH, kw = g.KernelW, inC = g.InC, outH = g.OutH, outW = g.OutW, taps = g.ColRows, ohw = outH * outW;
        float* block = stackalloc float[R * Lanes];
        for (int og = 0; og < outC; og += Lanes)
        {
            float* wg = w + (nint)og * taps;
            var bl = bias == null ? Vector256<float>.Zero : Vector256.Load(bias + og);
            var bh = bias == null ? Vector256<float>.Zero : Vector256.Load(bias + og + 8);
            for (int i = row0; i < row1; i++)
                for (int j = 0; j < outW; j += R)
                {
                    int j0 = j + R <= outW ? j : Math.Max(0, outW - R);
                    Vector256<float> l0 = bl, l1 = bl, l2 = bl, l3 = bl, l4 = bl, h0 = bh, h1 = bh, h2 = bh, h3 = bh, h4 = bh;
                    float* wt = wg;
                    for (int c = 0; c < inC; c++)
                        for (int u = 0; u < kh; u++)
                        {
                            float* s = p + (nint)c * plane + (nint)(i + u) * wp + j0;
                            for (int v = 0; v < kw; v++, s++, wt += Lanes)
                            {
                                var wl = Avx.LoadVector256(wt);
                                var wh = Avx.LoadVector256(wt + 8);
                                var x0 = Vector256.Create(s[0]);
                                l0 = Fma.MultiplyAdd(x0, wl, l0); h0 = Fma.MultiplyAdd(x0, wh, h0);
                                var x1 = Vector256.Create(s[1]);
                                l1 = Fma.MultiplyAdd(x1, wl, l1); h1 = Fma.MultiplyAdd(x1, wh, h1);
                                var x2 = Vector256.Create(s[2]);
                                l2 = Fma.MultiplyAdd(x2, wl, l2); h2 = Fma.MultiplyAdd(x2, wh, h2);
                                var x3 = Vector256.Create(s[3]);
                                l3 = Fma.MultiplyAdd(x3, wl, l3); h3 = Fma.MultiplyAdd(x3, wh, h3);
                                var x4 = Vector256.Create(s[4]);
                                l4 = Fma.MultiplyAdd(x4, wl, l4); h4 = Fma.MultiplyAdd(x4, wh, h4);
                            }
                        }
                    l0.Store(block); h0.Store(block + 8); l1.Store(block + 16); h1.Store(block + 24); l2.Store(block + 32);
                    h2.Store(block + 40); l3.Store(block + 48); h3.Store(block + 56); l4.Store(block + 64); h4.Store(block + 72);
                    StoreTransposed(block, R, Math.Min(R, outW - j0), y == null ? null : y + (nint)og * ohw + (nint)i * outW + j0, relu == null ? null : relu + (nint)og * ohw + (nint)i * outW + j0, ohw);
                }
        }
    }

    /// <summary>y[o · ohw + k] = block[k · 16 + o] for the 16 channels o and the first <paramref name="n"/> columns k (and
    /// max(·, 0) into relu): the block turned channel-major.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreTransposed(float* block, int columns, int n, float* y, float* relu, int ohw)
    {
        if (y != null)
            for (int o = 0; o < Lanes; o++)
        {
                float* yo = y + (nint)o * ohw;
                for (int k = 0; k < n; k++) yo[k] = block[k * Lanes + o];
            }
        if (relu == null) return;
        for (int o = 0; o < Lanes; o++)
        {
            float* ro = relu + (nint)o * ohw;
            for (int k = 0; k < n; k++)
            {
                float v = block[k * Lanes + o];
                ro[k] = Vec.Relu(v);
            }
        }
    }
}
