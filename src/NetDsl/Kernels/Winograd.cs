using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetDsl.Kernels;

/// <summary>
/// One worker's scratch for <see cref="Winograd"/> on one convolution: the buffers of its tile, F(2×2) or F(4×4)
/// (<see cref="WinogradDomain"/>), and the weight gradient's sums and products.
/// </summary>
public sealed class WinogradWorkspace
{
    /// <summary>Scratch for <paramref name="maxSamples"/> samples at a time of the convolution <paramref name="geometry"/>
    /// (3×3, stride 1, no dilation) from <paramref name="geometry"/>.InC to <paramref name="outC"/> channels.</summary>
    /// <param name="geometry">The convolution (3×3, stride 1, no dilation, padding of at most 2).</param>
    /// <param name="outC">Its output channels.</param>
    /// <param name="maxSamples">The most samples one call takes.</param>
    /// <param name="outputTile">The forward pass's output tile: 2 (F(2×2, 3×3)) or 4 (F(4×4, 3×3), Winograd4.cs). The
    /// weight gradient takes the same tile.</param>
    public WinogradWorkspace(in ConvGeometry geometry, int outC, int maxSamples, int outputTile = 2)
    {
        if (outputTile is not (2 or 4)) throw new ArgumentOutOfRangeException(nameof(outputTile), outputTile, "WinogradWorkspace: outputTile must be 2 or 4");
        if (!Winograd.Supports(geometry)) throw new ArgumentException($"WinogradWorkspace: {geometry} is not a 3×3, stride-1, undilated convolution with padding of at most 2.", nameof(geometry));
        if (outC < 1) throw new ArgumentOutOfRangeException(nameof(outC), outC, "WinogradWorkspace: outC must be at least 1");
        if (maxSamples < 1) throw new ArgumentOutOfRangeException(nameof(maxSamples), maxSamples, "WinogradWorkspace: maxSamples must be at least 1");
        Geometry = geometry;
        OutC = outC;
        MaxSamples = maxSamples;
        PackedSize = PackedGemm.PackedASize(outC, geometry.InC);
        ForwardDomain = new WinogradDomain(geometry, outC, maxSamples, outputTile, PackedSize);
        DU = new AlignedBuffer(checked(GradientDomain.Points * outC * geometry.InC));
        // The weight gradient's products: one point's adjoint packed for PackedGemm, and its transformed input transposed.
        PackedM = new AlignedBuffer(checked(PackedGemm.PackedASize(outC, maxSamples * GradientDomain.Tiles)));
        VT = new AlignedBuffer(checked(maxSamples * GradientDomain.Tiles * geometry.InC));
    }

    /// <summary>The forward pass's output tile: 2 or 4.</summary>
    public int OutputTile => ForwardDomain.Tile;
    /// <summary>4×4 output tiles per sample (<see cref="OutputTile"/> 4; 0 otherwise).</summary>
    public int Tiles4 => OutputTile == 4 ? ForwardDomain.Tiles : 0;
    /// <summary>The forward pass's buffers, in its tile.</summary>
    internal WinogradDomain ForwardDomain { get; }
    /// <summary>The weight gradient's: the forward pass's tile (its V and M are scratch between calls). In F(4×4) the
    /// products over the channels take 36 · 16 = 576 multiply-adds per 14×14 plane and channel pair against F(2×2)'s
    /// 16 · 49 = 784, and the transforms handle fewer values.</summary>
    internal WinogradDomain GradientDomain => ForwardDomain;

    /// <summary>The convolution this workspace is for.</summary>
    public ConvGeometry Geometry { get; }
    /// <summary>Output channels.</summary>
    public int OutC { get; }
    /// <summary>Most samples one call takes.</summary>
    public int MaxSamples { get; }
    /// <summary>2×2 output tiles per sample.</summary>
    public int Tiles => Winograd.TilesOf(Geometry);
    /// <summary>Row stride of the forward pass's V and M.</summary>
    public int Ld => ForwardDomain.Ld;
    /// <summary>Floats of one point's packed weights.</summary>
    internal int PackedSize { get; }
    /// <summary>The weight gradient in the transform domain, [16 or 36][OutC, InC], summed over a backward pass's samples.</summary>
    internal AlignedBuffer DU { get; }
    /// <summary>M[ξ] [OutC, tiles] packed in panels (<see cref="PackedGemm.PackA"/>), for the weight gradient's product.</summary>
    internal AlignedBuffer PackedM { get; }
    /// <summary>V[ξ]ᵀ [tiles, InC], for the weight gradient's product.</summary>
    internal AlignedBuffer VT { get; }
    /// <summary>DU holds a sum not yet added into a weight gradient.</summary>
    internal bool HasGradient { get; set; }
}

/// <summary>
/// One tile size's buffers of a <see cref="WinogradWorkspace"/>: the transformed input V [points][InC][Ld], the products
/// M [points][OutC][Ld], and the transformed, packed weights U with a copy of the weights they were made from (a later
/// call with the same weights skips the transform: inference reuses it, training redoes it once per step).
/// </summary>
internal sealed class WinogradDomain
{
    /// <param name="g">The convolution.</param>
    /// <param name="outC">Its output channels.</param>
    /// <param name="maxSamples">The most samples one call takes.</param>
    /// <param name="tile">The output tile: 2 or 4.</param>
    /// <param name="packedSize">Floats of one point's packed weights.</param>
    public WinogradDomain(in ConvGeometry g, int outC, int maxSamples, int tile, int packedSize)
    {
        Tile = tile;
        Points = (tile + 2) * (tile + 2);
        Tiles = (g.OutH + tile - 1) / tile * ((g.OutW + tile - 1) / tile);
        // Room for a vector of 8 tiles past the last one (the transforms write whole vectors) and 64-byte aligned rows.
        Ld = (maxSamples * Tiles + 8 + 15) / 16 * 16;
        // One cache line between the planes: at a stride of a multiple of 4 KiB the values of a tile, one per plane, would
        // all fall into one set of the 8-way L1 and evict each other.
        PlaneV = checked(g.InC * Ld + 16);
        PlaneM = checked(outC * Ld + 16);
        V = new AlignedBuffer(checked(Points * PlaneV));
        M = new AlignedBuffer(checked(Points * PlaneM));
        Packed = new AlignedBuffer(checked(Points * packedSize));
        Weights = new AlignedBuffer(outC * g.InC * 9);
    }

    /// <summary>Output tile: 2 or 4.</summary>
    public int Tile { get; }
    /// <summary>Points ξ of the transform domain: 16 or 36.</summary>
    public int Points { get; }
    /// <summary>Output tiles per sample.</summary>
    public int Tiles { get; }
    /// <summary>Row stride of V and M.</summary>
    public int Ld { get; }
    public int PlaneV { get; }
    public int PlaneM { get; }
    public AlignedBuffer V { get; }
    public AlignedBuffer M { get; }
    public AlignedBuffer Packed { get; }
    public AlignedBuffer Weights { get; }
    public bool Transformed { get; set; }
    public bool TransformedTransposed { get; set; }
    public long CheckedPass { get; set; }
}

/// <summary>
/// 3×3 stride-1 convolution (cross-correlation, NCHW, any padding up to 2) by Winograd's minimal filtering F(2×2, 3×3)
/// (Lavin and Gray, 2016). A 2×2 output tile y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A over its 4×4 input tile d, so the 36
/// multiply-adds per tile and channel pair become 16, done as 16 matrix products over the channels, one per point ξ of
/// the 4×4 transform domain:
/// <code>
///   V[ξ][c, t] = (Bᵀ d_{c,t} B)[ξ]     input channel c, tile t (several samples' tiles side by side)
///   U[ξ][o, c] = (G g_{o,c} Gᵀ)[ξ]     output channel o
///   M[ξ] = U[ξ] · V[ξ]                 PackedGemm, depth InC
///   y tile (o, t) = Aᵀ M[·][o, t] A + bias[o]
/// </code>
/// The input gradient of such a convolution is one too (the weights turned 180° and their channel axes swapped, padding
/// 2 − p), so <c>transposedWeight</c> computes it from the forward weights. Every transform is additions (and ×½ in U) in a
/// fixed order at any vector width, and the products are PackedGemm's, so results are bit-identical at 512 and 256 bits,
/// without SIMD, and for any split of the output channels across workers. The results differ from im2col's in the last
/// bits (a different sum), as PyTorch's own Winograd paths do.
/// </summary>
[SkipLocalsInit]
public static unsafe partial class Winograd
{
    /// <summary>Whether <paramref name="g"/> is a convolution these kernels compute: 3×3, stride 1, dilation 1, each
    /// padding at most 2 (so that its input gradient is one as well).</summary>
    public static bool Supports(in ConvGeometry g) =>
        g.KernelH == 3 && g.KernelW == 3 && g.StrideH == 1 && g.StrideW == 1 && g.Dilation == 1
        && g.PadTop is >= 0 and <= 2 && g.PadLeft is >= 0 and <= 2
        && g.OutH - g.InH + 2 - g.PadTop is >= 0 and <= 2 && g.OutW - g.InW + 2 - g.PadLeft is >= 0 and <= 2;

    /// <summary>2×2 output tiles of one sample: ⌈OH/2⌉·⌈OW/2⌉.</summary>
    public static int TilesOf(in ConvGeometry g) => (g.OutH + 1) / 2 * ((g.OutW + 1) / 2);

    /// <summary>
    /// y[s] = conv(x[s]) (+ bias) for <paramref name="samples"/> samples, output channels [<paramref name="oc0"/>,
    /// <paramref name="oc1"/>) only (oc0 a multiple of <see cref="PackedGemm.MR"/>; the rest of y is not touched).
    /// </summary>
    /// <param name="ws">This worker's workspace for the convolution (its geometry, channels and most samples).</param>
    /// <param name="weight">[OutC, InC, 3, 3]; with <paramref name="transposedWeight"/>, the weight of the convolution this
    /// one is the input gradient of: [InC, OutC, 3, 3], used turned by 180°.</param>
    /// <param name="transposedWeight">Compute the input gradient of the convolution <paramref name="weight"/> belongs to.</param>
    /// <param name="bias">[OutC], or empty for none.</param>
    /// <param name="x">samples × [InC, InH, InW].</param>
    /// <param name="y">samples × [OutC, OutH, OutW].</param>
    /// <param name="samples">Samples in x and y, at most the workspace's MaxSamples.</param>
    /// <param name="oc0">First output channel computed (a multiple of <see cref="PackedGemm.MR"/>).</param>
    /// <param name="oc1">One past the last output channel computed.</param>
    /// <param name="relu">If not empty, also receives max(y, 0) (samples × [OutC, OutH, OutW]): a ReLU that follows the
    /// convolution, fused into its stores. y may then be empty (only the ReLU's output is stored).</param>
    /// <param name="pass">A caller's number for a stretch in which the weights do not change (a network's forward or
    /// backward pass): the weights are compared with those of the cached transform once per pass. 0: on every call.</param>
    /// <param name="pool">If not empty, receives the 2×2, stride-2 max pool of max(y, 0) (samples × [OutC, ⌊OutH/2⌋,
    /// ⌊OutW/2⌋]): a ReLU and a max pool that follow the convolution, fused into its output transform (an output tile holds
    /// whole pooling windows, so the ReLU's output need not be stored at all). The same bits as <see cref="Pool.Max2x2"/>
    /// over <paramref name="relu"/>: the first maximum in row-major window order, NaN propagating.</param>
    /// <param name="argmax">With <paramref name="pool"/>, if not empty: each window's winner as Pool.Max2x2 records it (its
    /// index in the ReLU's plane, [OutH, OutW]), for the pool's backward pass; the same indices as Pool.Max2x2 gives.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(WinogradWorkspace ws, ReadOnlySpan<float> weight, bool transposedWeight, ReadOnlySpan<float> bias,
        ReadOnlySpan<float> x, Span<float> y, int samples, int oc0, int oc1, long pass = 0, Span<float> relu = default, Span<float> pool = default, Span<int> argmax = default)
    {
        var g = ws.Geometry;
        int inC = g.InC, outC = ws.OutC, inSize = inC * g.InH * g.InW, outSize = outC * g.OutH * g.OutW;
        if (samples < 1 || samples > ws.MaxSamples) throw new ArgumentOutOfRangeException(nameof(samples), samples, $"Winograd.Forward: samples must be between 1 and {ws.MaxSamples}");
        if (oc0 < 0 || oc0 % PackedGemm.MR != 0 || oc1 <= oc0 || oc1 > outC) throw new ArgumentOutOfRangeException(nameof(oc0), $"Winograd.Forward: channels [{oc0}, {oc1}) are not a range of [0, {outC}) starting at a multiple of {PackedGemm.MR}");
        if (weight.Length != outC * inC * 9) throw new ArgumentException($"Winograd.Forward: weight has {weight.Length} floats, expected {outC * inC * 9}.", nameof(weight));
        if (!bias.IsEmpty && bias.Length != outC) throw new ArgumentException($"Winograd.Forward: bias has {bias.Length} floats, expected {outC}.", nameof(bias));
        if (x.Length < samples * inSize) throw new ArgumentException($"Winograd.Forward: x has {x.Length} floats, expected {samples * inSize}.", nameof(x));
        if (y.IsEmpty && relu.IsEmpty && pool.IsEmpty) throw new ArgumentException("Winograd.Forward: y, relu and pool are all empty; at least one output is needed.", nameof(y));
        if (!y.IsEmpty && y.Length < samples * outSize) throw new ArgumentException($"Winograd.Forward: y has {y.Length} floats, expected {samples * outSize}.", nameof(y));
        if (!relu.IsEmpty && relu.Length < samples * outSize) throw new ArgumentException($"Winograd.Forward: relu has {relu.Length} floats, expected {samples * outSize}.", nameof(relu));
        int pooledPlane = g.OutH / 2 * (g.OutW / 2), pooledSize = outC * pooledPlane;
        if (!pool.IsEmpty && pool.Length < samples * pooledSize) throw new ArgumentException($"Winograd.Forward: pool has {pool.Length} floats, expected {samples * pooledSize} ({outC}×{g.OutH / 2}×{g.OutW / 2} a sample).", nameof(pool));
        if (!argmax.IsEmpty && pool.IsEmpty) throw new ArgumentException("Winograd.Forward: argmax needs pool (the winners of the pool it computes).", nameof(argmax));
        if (!argmax.IsEmpty && argmax.Length < samples * pooledSize) throw new ArgumentException($"Winograd.Forward: argmax has {argmax.Length} ints, expected {samples * pooledSize}.", nameof(argmax));

        var d = ws.ForwardDomain;
        if (pass == 0 || d.CheckedPass != pass)
        {
            TransformWeights(ws, d, weight, transposedWeight);
            d.CheckedPass = pass;
        }
        int tiles = d.Tiles, ld = d.Ld, n = samples * tiles;
        var v = d.V.Span;
        var m = d.M.Span;
        fixed (float* px = x, pv = v)
        {
            if (d.Tile == 4) InputTiles4(in g, px, pv, samples, d);
            else InputTiles(in g, px, pv, samples, d);
        }
        var packed = d.Packed.Span;
        for (int xi = 0; xi < d.Points; xi++)
            PackedGemm.Mul(oc1 - oc0, n, inC, packed.Slice(xi * ws.PackedSize + oc0 * inC), v.Slice(xi * d.PlaneV), ld,
                m.Slice(xi * d.PlaneM + oc0 * ld), ld, accumulate: false);
        fixed (float* pm = m, py = y, pb = bias, pr = relu, pp = pool)
        fixed (int* pa = argmax)
        {
            for (int s = 0; s < samples; s++)
                for (int o = oc0; o < oc1; o++)
                {
                    nint at = (nint)s * outSize + (nint)o * g.OutH * g.OutW;
                    float* mt = pm + (nint)o * ld + s * tiles, yt = y.IsEmpty ? null : py + at, rt = relu.IsEmpty ? null : pr + at;
                    float* pt = pool.IsEmpty ? null : pp + (nint)s * pooledSize + (nint)o * pooledPlane;
                    int* at2 = argmax.IsEmpty ? null : pa + (nint)s * pooledSize + (nint)o * pooledPlane;
                    float b = bias.IsEmpty ? 0f : pb[o];
                    if (d.Tile == 4) OutputTile4(in g, mt, d.PlaneM, b, yt, rt, pt, at2);
                    else OutputTile(in g, mt, d.PlaneM, b, yt, rt, pt, at2);
                }
        }
    }

    /// <summary>Every channel of <paramref name="samples"/> samples through F(2×2)'s input transform into d.V.</summary>
    private static void InputTiles(in ConvGeometry g, float* px, float* pv, int samples, WinogradDomain d)
    {
        int inSize = g.InC * g.InH * g.InW;
        for (int s = 0; s < samples; s++)
            for (int c = 0; c < g.InC; c++)
                InputTile(in g, px + (nint)s * inSize + (nint)c * g.InH * g.InW, pv + (nint)c * d.Ld + s * d.Tiles, d.PlaneV);
    }

    /// <summary>
    /// The weight gradient's transform-domain part for <paramref name="samples"/> samples, added to what the calls since
    /// the last <see cref="AddWeightGradient"/> left: y = Aᵀ(U ⊙ V)A makes dL/dU[ξ] = Σ_t (A dy_t Aᵀ)[ξ] · V_t[ξ], per
    /// channel pair a product over the tiles, dU[ξ] (+)= dM[ξ] · V[ξ]ᵀ (Gemm.Nt, depth samples × tiles).
    /// <see cref="AddWeightGradient"/> then turns the sum into dL/dg = Gᵀ dU G.
    /// </summary>
    /// <param name="ws">The forward pass's workspace of this worker (its transformed input is recomputed here).</param>
    /// <param name="x">samples × [InC, InH, InW], the forward pass's input.</param>
    /// <param name="dy">samples × [OutC, OutH, OutW], the gradient of its output.</param>
    /// <param name="samples">Samples in x and dy, at most the workspace's MaxSamples.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WeightGradient(WinogradWorkspace ws, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, int samples)
    {
        var g = ws.Geometry;
        int inC = g.InC, outC = ws.OutC, inSize = inC * g.InH * g.InW, outSize = outC * g.OutH * g.OutW;
        if (samples < 1 || samples > ws.MaxSamples) throw new ArgumentOutOfRangeException(nameof(samples), samples, $"Winograd.WeightGradient: samples must be between 1 and {ws.MaxSamples}");
        if (x.Length < samples * inSize) throw new ArgumentException($"Winograd.WeightGradient: x has {x.Length} floats, expected {samples * inSize}.", nameof(x));
        if (dy.Length < samples * outSize) throw new ArgumentException($"Winograd.WeightGradient: dy has {dy.Length} floats, expected {samples * outSize}.", nameof(dy));
        var d = ws.GradientDomain;
        int tiles = d.Tiles, ld = d.Ld, n = samples * tiles;
        fixed (float* px = x, pv = d.V.Span, pdy = dy, pm = d.M.Span)
        {
            if (d.Tile == 4) InputTiles4(in g, px, pv, samples, d);
            else InputTiles(in g, px, pv, samples, d);
            for (int s = 0; s < samples; s++)
                for (int o = 0; o < outC; o++)
                {
                    float* plane = pdy + (nint)s * outSize + (nint)o * g.OutH * g.OutW, mt = pm + (nint)o * ld + s * tiles;
                    if (d.Tile == 4) OutputAdjoint4(in g, plane, mt, d.PlaneM);
                    else OutputAdjoint(in g, plane, mt, d.PlaneM);
                }
        }
        var du = ws.DU.Span;
        // dU[ξ] [OutC, InC] += M[ξ] [OutC, n] · V[ξ]ᵀ [n, InC]: a packed GEMM over V[ξ] transposed. As dot products along the
        // n = samples · tiles columns (Gemm.Nt) the products ran at half the peak: n is short (147 for the cnn's conv2), so
        // each dot product's final sum cost a third of its multiply-adds.
        var packedM = ws.PackedM.Span;
        var vt = ws.VT.Span;
        for (int xi = 0; xi < d.Points; xi++)
        {
            PackedGemm.PackA(outC, n, d.M.Span.Slice(xi * d.PlaneM), ld, 1, packedM);
            PackedGemm.Transpose(inC, n, d.V.Span.Slice(xi * d.PlaneV), ld, vt, inC);
            PackedGemm.Mul(outC, inC, n, packedM, vt, inC, du.Slice(xi * outC * inC, outC * inC), inC, accumulate: ws.HasGradient);
        }
        ws.HasGradient = true;
    }

    /// <summary>dWeight [OutC, InC, 3, 3] += Gᵀ dU G, dU being what <see cref="WeightGradient"/> summed since the last
    /// call (nothing if it was not called); the next <see cref="WeightGradient"/> starts a new sum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddWeightGradient(WinogradWorkspace ws, Span<float> dWeight)
    {
        int inC = ws.Geometry.InC, outC = ws.OutC, pair = outC * inC;
        if (dWeight.Length != pair * 9) throw new ArgumentException($"Winograd.AddWeightGradient: dWeight has {dWeight.Length} floats, expected {pair * 9}.", nameof(dWeight));
        if (!ws.HasGradient) return;
        ws.HasGradient = false;
        var du = ws.DU.Span;
        if (ws.GradientDomain.Tile == 4)
        {
            AddWeightGradient4(du, pair, dWeight);
            return;
        }
        int p = 0;
        if (Avx2.IsSupported)
        {
            // Eight channel pairs at a time: dU's 16 planes are contiguous along the pairs.
            Vector256<float>* tv = stackalloc Vector256<float>[12];
            float* k = stackalloc float[72]; // the eight pairs' 3×3 results, [tap][pair]
            fixed (float* pdu = du, pdw = dWeight)
                for (; p + 8 <= pair; p += 8)
                {
                    for (int j = 0; j < 4; j++)
                        GT(Avx.LoadVector256(pdu + j * pair + p), Avx.LoadVector256(pdu + (4 + j) * pair + p), Avx.LoadVector256(pdu + (8 + j) * pair + p),
                            Avx.LoadVector256(pdu + (12 + j) * pair + p), out tv[j], out tv[4 + j], out tv[8 + j]);
                    for (int i = 0; i < 3; i++)
                    {
                        GT(tv[4 * i], tv[4 * i + 1], tv[4 * i + 2], tv[4 * i + 3], out var a, out var b, out var c);
                        Avx.Store(k + (3 * i) * 8, a);
                        Avx.Store(k + (3 * i + 1) * 8, b);
                        Avx.Store(k + (3 * i + 2) * 8, c);
                    }
                    AddEightPairs(k, pdw + (nint)p * 9);
                }
        }
        Span<float> t = stackalloc float[12];
        for (; p < pair; p++)
        {
            // t = Gᵀ dU (3×4), column by column; then each row of t times G
            for (int j = 0; j < 4; j++)
                GT(du[j * pair + p], du[(4 + j) * pair + p], du[(8 + j) * pair + p], du[(12 + j) * pair + p], out t[j], out t[4 + j], out t[8 + j]);
            var dw = dWeight.Slice(p * 9, 9);
            for (int i = 0; i < 3; i++)
            {
                GT(t[4 * i], t[4 * i + 1], t[4 * i + 2], t[4 * i + 3], out float a, out float b, out float c);
                dw[3 * i] += a;
                dw[3 * i + 1] += b;
                dw[3 * i + 2] += c;
            }
        }
    }

    /// <summary>dw[l·9 + tap] += k[tap·8 + l] for eight channel pairs l: the vector weight gradients' results, [tap][pair],
    /// into dWeight's [pair][3, 3].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddEightPairs(float* k, float* dw)
    {
        for (int l = 0; l < 8; l++, dw += 9)
            for (int tap = 0; tap < 9; tap++) dw[tap] += k[tap * 8 + l];
    }

    /// <summary><see cref="GT(float, float, float, float, out float, out float, out float)"/> on eight lanes: the same
    /// operations, so the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GT(Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3, out Vector256<float> a, out Vector256<float> b, out Vector256<float> c)
    {
        var half = Vector256.Create(0.5f);
        var e = (r1 + r2) * half;
        a = r0 + e;
        b = (r1 - r2) * half;
        c = e + r3;
    }

    /// <summary>Gᵀ = [[1, ½, ½, 0], [0, ½, −½, 0], [0, ½, ½, 1]] times a 4-vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GT(float r0, float r1, float r2, float r3, out float a, out float b, out float c)
    {
        float e = (r1 + r2) * 0.5f;
        a = r0 + e;
        b = (r1 - r2) * 0.5f;
        c = e + r3;
    }

    // A = [[1, 0], [1, 1], [1, −1], [0, −1]]: dM = A dy_t Aᵀ for a 2×2 tile of dy (zero past the edges), rows then
    // columns, each pair (a, b) → (a, a + b, a − b, −b).

    /// <summary>One output channel of one sample: each tile's dM goes to m[ξ·ldXi + t].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void OutputAdjoint(in ConvGeometry g, float* dy, float* m, nint ldXi)
    {
        int tilesH = (g.OutH + 1) / 2, tilesW = (g.OutW + 1) / 2;
        if (Avx2.IsSupported)
        {
            for (int ty = 0; ty < tilesH; ty++)
                for (int j0 = 0; j0 < tilesW; j0 += 8)
                {
                    // rows 2ty and 2ty + 1, columns 2j and 2j + 1 of tiles j0 .. j0 + 7
                    Vector256<float> e0, o0, e1 = default, o1 = default;
                    float* row = dy + (nint)(2 * ty) * g.OutW;
                    Split(Load(row, 2 * j0, g.OutW), Load(row, 2 * j0 + 8, g.OutW), out e0, out o0);
                    if (2 * ty + 1 < g.OutH) Split(Load(row + g.OutW, 2 * j0, g.OutW), Load(row + g.OutW, 2 * j0 + 8, g.OutW), out e1, out o1);
                    float* dst = m + ty * tilesW + j0;
                    Adjoint(e0, o0, dst, ldXi);
                    Adjoint(e0 + e1, o0 + o1, dst + 4 * ldXi, ldXi);
                    Adjoint(e0 - e1, o0 - o1, dst + 8 * ldXi, ldXi);
                    Adjoint(-e1, -o1, dst + 12 * ldXi, ldXi);
                }
            return;
        }
        int outH = g.OutH, outW = g.OutW;
        for (int ty = 0; ty < tilesH; ty++)
            for (int tx = 0; tx < tilesW; tx++)
            {
                float D(int r, int q) => 2 * ty + r < outH && 2 * tx + q < outW ? dy[(2 * ty + r) * outW + 2 * tx + q] : 0f;
                float a0 = D(0, 0), b0 = D(0, 1), a1 = D(1, 0), b1 = D(1, 1);
                float* dst = m + ty * tilesW + tx;
                AdjointScalar(a0, b0, dst, ldXi);
                AdjointScalar(a0 + a1, b0 + b1, dst + 4 * ldXi, ldXi);
                AdjointScalar(a0 - a1, b0 - b1, dst + 8 * ldXi, ldXi);
                AdjointScalar(-a1, -b1, dst + 12 * ldXi, ldXi);
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Adjoint(Vector256<float> a, Vector256<float> b, float* dst, nint ldXi)
    {
        Vector256.Store(a, dst);
        Vector256.Store(a + b, dst + ldXi);
        Vector256.Store(a - b, dst + 2 * ldXi);
        Vector256.Store(-b, dst + 3 * ldXi);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AdjointScalar(float a, float b, float* dst, nint ldXi)
    {
        dst[0] = a;
        dst[ldXi] = a + b;
        dst[2 * ldXi] = a - b;
        dst[3 * ldXi] = -b;
    }

    // ---------------------------------------------------------------- U = G g Gᵀ, packed per ξ for PackedGemm

    /// <summary>G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]]: row i of G·r for a 3-vector r.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void G(float r0, float r1, float r2, out float u0, out float u1, out float u2, out float u3)
    {
        float e = r0 + r2;
        u0 = r0;
        u1 = (e + r1) * 0.5f;
        u2 = (e - r1) * 0.5f;
        u3 = r2;
    }

    /// <summary>d.Packed = the weights' transform, packed per point for PackedGemm, unless d holds the transform of these
    /// very weights (compared as bits: −0 and 0, equal as floats, give different products' signs).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransformWeights(WinogradWorkspace ws, WinogradDomain d, ReadOnlySpan<float> weight, bool transposed)
    {
        var copy = d.Weights.Span;
        if (d.Transformed && d.TransformedTransposed == transposed
            && MemoryMarshal.Cast<float, int>(weight).SequenceEqual(MemoryMarshal.Cast<float, int>(copy))) return;
        if (d.Tile == 4) TransformWeights4(ws, d.Packed.Span, weight, transposed);
        else TransformWeights2(ws, d.Packed.Span, weight, transposed);
        weight.CopyTo(copy);
        d.Transformed = true;
        d.TransformedTransposed = transposed;
    }

    /// <summary>U = G g Gᵀ (4×4) of every filter, packed per point.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransformWeights2(WinogradWorkspace ws, Span<float> packed, ReadOnlySpan<float> weight, bool transposed)
    {
        int inC = ws.Geometry.InC, outC = ws.OutC, mr = PackedGemm.MR;
        Span<float> t = stackalloc float[12];
        for (int o = 0; o < outC; o++)
            for (int c = 0; c < inC; c++)
            {
                // g[u, v]: the forward kernel, or the transposed one's turned by 180° with the channel axes swapped
                ReadOnlySpan<float> k = transposed ? weight.Slice((c * outC + o) * 9, 9) : weight.Slice((o * inC + c) * 9, 9);
                float g00, g01, g02, g10, g11, g12, g20, g21, g22;
                if (!transposed) { g00 = k[0]; g01 = k[1]; g02 = k[2]; g10 = k[3]; g11 = k[4]; g12 = k[5]; g20 = k[6]; g21 = k[7]; g22 = k[8]; }
                else { g00 = k[8]; g01 = k[7]; g02 = k[6]; g10 = k[5]; g11 = k[4]; g12 = k[3]; g20 = k[2]; g21 = k[1]; g22 = k[0]; }
                // t = G g (4×3), column by column
                G(g00, g10, g20, out t[0], out t[3], out t[6], out t[9]);
                G(g01, g11, g21, out t[1], out t[4], out t[7], out t[10]);
                G(g02, g12, g22, out t[2], out t[5], out t[8], out t[11]);
                int at = o / mr * mr * inC + c * mr + o % mr;
                for (int i = 0; i < 4; i++)
                {
                    // row i of t Gᵀ: the four points ξ = 4i .. 4i + 3
                    G(t[3 * i], t[3 * i + 1], t[3 * i + 2], out float u0, out float u1, out float u2, out float u3);
                    packed[(4 * i) * ws.PackedSize + at] = u0;
                    packed[(4 * i + 1) * ws.PackedSize + at] = u1;
                    packed[(4 * i + 2) * ws.PackedSize + at] = u2;
                    packed[(4 * i + 3) * ws.PackedSize + at] = u3;
                }
            }
    }

    // ---------------------------------------------------------------- V = Bᵀ d B

    // Bᵀ = [[1, 0, −1, 0], [0, 1, 1, 0], [0, −1, 1, 0], [0, 1, 0, −1]]. For one tile row the four input rows r0..r3 go
    // through Bᵀ first (vertically), then each row's columns c0..c3 (horizontally):
    //   k0 = c0 − c2, k1 = c1 + c2, k2 = c2 − c1, k3 = c1 − c3.
    // Tile j's columns start at padded column 2j: c0 = E[j], c1 = O[j], c2 = E[j + 1], c3 = O[j + 1] with E and O the even
    // and odd padded columns, so eight tiles at a time are eight lanes.

    /// <summary>Transforms one channel of one sample: its tiles' 16 values go to v[ξ·ldXi + t].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InputTile(in ConvGeometry g, float* x, float* v, nint ldXi)
    {
        int tilesH = (g.OutH + 1) / 2, tilesW = (g.OutW + 1) / 2;
        if (Avx2.IsSupported && tilesW <= 8)
        {
            // One vector of tiles per tile row: the last two input rows of a tile row are the first two of the next, so
            // they are loaded and split once.
            int iw0 = -g.PadLeft;
            Row(in g, x, -g.PadTop, iw0, out var e0, out var o0, out var f0, out var q0);
            Row(in g, x, 1 - g.PadTop, iw0, out var e1, out var o1, out var f1, out var q1);
            for (int ty = 0; ty < tilesH; ty++)
            {
                Row(in g, x, 2 * ty + 2 - g.PadTop, iw0, out var e2, out var o2, out var f2, out var q2);
                Row(in g, x, 2 * ty + 3 - g.PadTop, iw0, out var e3, out var o3, out var f3, out var q3);
                Transform(e0, o0, f0, q0, e1, o1, f1, q1, e2, o2, f2, q2, e3, o3, f3, q3, v + ty * tilesW, ldXi);
                (e0, o0, f0, q0, e1, o1, f1, q1) = (e2, o2, f2, q2, e3, o3, f3, q3);
            }
            return;
        }
        if (Avx2.IsSupported)
        {
            for (int ty = 0; ty < tilesH; ty++)
                for (int j0 = 0; j0 < tilesW; j0 += 8)
                    InputTile256(in g, x, ty, j0, v + ty * tilesW + j0, ldXi);
            return;
        }
        Span<float> d = stackalloc float[16];
        for (int ty = 0; ty < tilesH; ty++)
            for (int tx = 0; tx < tilesW; tx++)
            {
                LoadTile(in g, x, 2 * ty - g.PadTop, 2 * tx - g.PadLeft, 4, d);
                float* dst = v + ty * tilesW + tx;
                for (int q = 0; q < 4; q++)
                {
                    // vertical, column q
                    float a0 = d[q] - d[8 + q], a1 = d[4 + q] + d[8 + q], a2 = d[8 + q] - d[4 + q], a3 = d[4 + q] - d[12 + q];
                    d[q] = a0; d[4 + q] = a1; d[8 + q] = a2; d[12 + q] = a3;
                }
                for (int r = 0; r < 4; r++)
                {
                    float c0 = d[4 * r], c1 = d[4 * r + 1], c2 = d[4 * r + 2], c3 = d[4 * r + 3];
                    dst[(4 * r) * ldXi] = c0 - c2;
                    dst[(4 * r + 1) * ldXi] = c1 + c2;
                    dst[(4 * r + 2) * ldXi] = c2 - c1;
                    dst[(4 * r + 3) * ldXi] = c1 - c3;
                }
            }
    }

    /// <summary>d = the size×size input tile whose top-left input pixel is (ih0, iw0), zero outside the image (the scalar
    /// paths of both tile sizes).</summary>
    private static void LoadTile(in ConvGeometry g, float* x, int ih0, int iw0, int size, Span<float> d)
    {
        for (int r = 0; r < size; r++)
            for (int q = 0; q < size; q++)
            {
                int ih = ih0 + r, iw = iw0 + q;
                d[size * r + q] = (uint)ih < (uint)g.InH && (uint)iw < (uint)g.InW ? x[ih * g.InW + iw] : 0f;
            }
    }

    /// <summary>Tiles [j0, j0 + 8) of tile row ty (lanes past the row's last tile are written with junk the next tile row,
    /// sample or the workspace's slack overwrites or ignores).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void InputTile256(in ConvGeometry g, float* x, int ty, int j0, float* dst, nint ldXi)
    {
        // Padded row 2ty + r, padded columns [2j0, 2j0 + 16) and [2j0 + 2, 2j0 + 18), split into even and odd columns.
        Vector256<float> e0, o0, f0, q0, e1, o1, f1, q1, e2, o2, f2, q2, e3, o3, f3, q3;
        Row(in g, x, 2 * ty - g.PadTop, 2 * j0 - g.PadLeft, out e0, out o0, out f0, out q0);
        Row(in g, x, 2 * ty + 1 - g.PadTop, 2 * j0 - g.PadLeft, out e1, out o1, out f1, out q1);
        Row(in g, x, 2 * ty + 2 - g.PadTop, 2 * j0 - g.PadLeft, out e2, out o2, out f2, out q2);
        Row(in g, x, 2 * ty + 3 - g.PadTop, 2 * j0 - g.PadLeft, out e3, out o3, out f3, out q3);
        Transform(e0, o0, f0, q0, e1, o1, f1, q1, e2, o2, f2, q2, e3, o3, f3, q3, dst, ldXi);
    }

    /// <summary>Bᵀ d B for eight tiles, from their four input rows' column sets (E, O, E′, O′ per row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transform(Vector256<float> e0, Vector256<float> o0, Vector256<float> f0, Vector256<float> q0,
        Vector256<float> e1, Vector256<float> o1, Vector256<float> f1, Vector256<float> q1,
        Vector256<float> e2, Vector256<float> o2, Vector256<float> f2, Vector256<float> q2,
        Vector256<float> e3, Vector256<float> o3, Vector256<float> f3, Vector256<float> q3, float* dst, nint ldXi)
    {
        // vertical: rows (r0 − r2, r1 + r2, r2 − r1, r1 − r3), for each of the four column sets
        var ve0 = e0 - e2; var ve1 = e1 + e2; var ve2 = e2 - e1; var ve3 = e1 - e3;
        var vo0 = o0 - o2; var vo1 = o1 + o2; var vo2 = o2 - o1; var vo3 = o1 - o3;
        var vf0 = f0 - f2; var vf1 = f1 + f2; var vf2 = f2 - f1; var vf3 = f1 - f3;
        var vq0 = q0 - q2; var vq1 = q1 + q2; var vq2 = q2 - q1; var vq3 = q1 - q3;
        Horizontal(ve0, vo0, vf0, vq0, dst, ldXi);
        Horizontal(ve1, vo1, vf1, vq1, dst + 4 * ldXi, ldXi);
        Horizontal(ve2, vo2, vf2, vq2, dst + 8 * ldXi, ldXi);
        Horizontal(ve3, vo3, vf3, vq3, dst + 12 * ldXi, ldXi);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Horizontal(Vector256<float> c0, Vector256<float> c1, Vector256<float> c2, Vector256<float> c3, float* dst, nint ldXi)
    {
        Vector256.Store(c0 - c2, dst);
        Vector256.Store(c1 + c2, dst + ldXi);
        Vector256.Store(c2 - c1, dst + 2 * ldXi);
        Vector256.Store(c1 - c3, dst + 3 * ldXi);
    }

    /// <summary>Input row <paramref name="ih"/> at columns iw0 + [0, 16) and iw0 + 2 + [0, 16) (zero outside the image),
    /// split into even (E, E′) and odd (O, O′) columns.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row(in ConvGeometry g, float* x, int ih, int iw0, out Vector256<float> e, out Vector256<float> o, out Vector256<float> f, out Vector256<float> q)
    {
        if ((uint)ih >= (uint)g.InH)
        {
            e = o = f = q = Vector256<float>.Zero;
            return;
        }
        float* row = x + (nint)ih * g.InW;
        var a = Load(row, iw0, g.InW);
        var b = Load(row, iw0 + 8, g.InW);
        var c = Load(row, iw0 + 16, g.InW);
        Split(a, b, out e, out o);
        // columns iw0 + 2 .. iw0 + 17: a and b shifted by two lanes, then c's first two
        var a2 = Avx2.PermuteVar8x32(a, Vector256.Create(2, 3, 4, 5, 6, 7, 0, 1));
        var b2 = Avx2.PermuteVar8x32(b, Vector256.Create(2, 3, 4, 5, 6, 7, 0, 1));
        var c2 = Avx2.PermuteVar8x32(c, Vector256.Create(2, 3, 4, 5, 6, 7, 0, 1));
        var high = Vector256.Create(0, 0, 0, 0, 0, 0, -1, -1).AsSingle();
        Split(Avx.BlendVariable(a2, b2, high), Avx.BlendVariable(b2, c2, high), out f, out q);
    }

    /// <summary>Columns [iw, iw + 8) of a row of <paramref name="width"/> floats, zero outside it (masked: nothing outside
    /// the row is read).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Load(float* row, int iw, int width)
    {
        if (iw >= 0 && iw + 8 <= width) return Avx.LoadVector256(row + iw);
        var lane = Vector256.Create(iw) + Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
        var inside = Vector256.GreaterThanOrEqual(lane, Vector256<int>.Zero) & Vector256.LessThan(lane, Vector256.Create(width));
        if (inside == Vector256<int>.Zero) return Vector256<float>.Zero;
        return Avx.MaskLoad(row + iw, inside.AsSingle());
    }

    /// <summary>Even lanes of (a, b) → e, odd lanes → o.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Split(Vector256<float> a, Vector256<float> b, out Vector256<float> e, out Vector256<float> o)
    {
        // [a0 a2 b0 b2 | a4 a6 b4 b6] then the 64-bit pairs in order 0, 2, 1, 3
        e = Avx2.Permute4x64(Avx.Shuffle(a, b, 0x88).AsDouble(), 0xD8).AsSingle();
        o = Avx2.Permute4x64(Avx.Shuffle(a, b, 0xDD).AsDouble(), 0xD8).AsSingle();
    }

    // ---------------------------------------------------------------- y = Aᵀ M A + bias

    // Aᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]]: vertically s0 = m0 + m1 + m2, s1 = m1 − m2 − m3 per column, then the same
    // across the columns of s0 and s1.

    /// <summary>Output channel tiles of one sample: m[ξ·ldXi + t] → y [OutH, OutW] (+ bias; relu: max(y, 0); pool: the 2×2
    /// max pool of that, [⌊OutH/2⌋, ⌊OutW/2⌋]: each 2×2 tile is one pooling window).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void OutputTile(in ConvGeometry g, float* m, nint ldXi, float bias, float* y, float* relu, float* pool, int* argmax)
    {
        int tilesH = (g.OutH + 1) / 2, tilesW = (g.OutW + 1) / 2;
        if (Avx2.IsSupported)
        {
            var b = Vector256.Create(bias);
            for (int ty = 0; ty < tilesH; ty++)
                for (int j0 = 0; j0 < tilesW; j0 += 8)
                    OutputTile256(in g, m + ty * tilesW + j0, ldXi, b, y, relu, pool, argmax, ty, j0);
            return;
        }
        for (int ty = 0; ty < tilesH; ty++)
            for (int tx = 0; tx < tilesW; tx++)
            {
                float* p = m + ty * tilesW + tx;
                float M(int xi) => p[xi * ldXi];
                float a0 = M(0) + M(4) + M(8), a1 = M(1) + M(5) + M(9), a2 = M(2) + M(6) + M(10), a3 = M(3) + M(7) + M(11);
                float b0 = M(4) - M(8) - M(12), b1 = M(5) - M(9) - M(13), b2 = M(6) - M(10) - M(14), b3 = M(7) - M(11) - M(15);
                float y00 = a0 + a1 + a2 + bias, y01 = a1 - a2 - a3 + bias, y10 = b0 + b1 + b2 + bias, y11 = b1 - b2 - b3 + bias;
                Put(g, y, relu, 2 * ty, 2 * tx, y00);
                Put(g, y, relu, 2 * ty, 2 * tx + 1, y01);
                Put(g, y, relu, 2 * ty + 1, 2 * tx, y10);
                Put(g, y, relu, 2 * ty + 1, 2 * tx + 1, y11);
                if (pool != null && ty < g.OutH / 2 && tx < g.OutW / 2)
                {
                    int at = ty * (g.OutW / 2) + tx;
                    pool[at] = PoolOfRelu(y00, y01, y10, y11, 2 * ty * g.OutW + 2 * tx, g.OutW, out int winner);
                    if (argmax != null) argmax[at] = winner;
                }
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Put(in ConvGeometry g, float* y, float* relu, int oh, int ow, float value)
    {
        if (oh >= g.OutH || ow >= g.OutW) return;
        if (y != null) y[oh * g.OutW + ow] = value;
        if (relu != null) relu[oh * g.OutW + ow] = Vec.Relu(value);
    }

    // A pooled window: the ReLU as the stores compute it (Vec.Relu, Vector256.Max), then Pool.MaxOf4, the choice
    // Pool.Max2x2 makes, so the same bits and winners as storing the ReLU and pooling it.

    /// <summary>One window of the 2×2 max pool over the ReLU of a, b (its top row) and c, d; <paramref name="winner"/> its
    /// index in a plane <paramref name="width"/> wide where a is at <paramref name="at"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float PoolOfRelu(float a, float b, float c, float d, int at, int width, out int winner) =>
        Pool.MaxOf4(Vec.Relu(a), Vec.Relu(b), Vec.Relu(c), Vec.Relu(d), at, width, out winner);

    /// <summary>Eight windows' pooled ReLU, lane by lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> PoolOfRelu(Vector256<float> a, Vector256<float> b, Vector256<float> c, Vector256<float> d)
    {
        var zero = Vector256<float>.Zero;
        return Pool.MaxOf4(Vector256.Max(a, zero), Vector256.Max(b, zero), Vector256.Max(c, zero), Vector256.Max(d, zero));
    }

    /// <summary>Eight windows' pooled ReLU with each lane's winner: a's index in <paramref name="at"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> PoolOfRelu(Vector256<float> a, Vector256<float> b, Vector256<float> c, Vector256<float> d, Vector256<int> at, int width, out Vector256<int> winner)
    {
        var zero = Vector256<float>.Zero;
        var (best, index) = Pool.MaxOf4(Vector256.Max(a, zero), Vector256.Max(b, zero), Vector256.Max(c, zero), Vector256.Max(d, zero), at, width);
        winner = index;
        return best;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void OutputTile256(in ConvGeometry g, float* m, nint ldXi, Vector256<float> bias, float* y, float* relu, float* pool, int* argmax, int ty, int j0)
    {
        var a0 = L(m, 0, ldXi) + L(m, 4, ldXi) + L(m, 8, ldXi);
        var a1 = L(m, 1, ldXi) + L(m, 5, ldXi) + L(m, 9, ldXi);
        var a2 = L(m, 2, ldXi) + L(m, 6, ldXi) + L(m, 10, ldXi);
        var a3 = L(m, 3, ldXi) + L(m, 7, ldXi) + L(m, 11, ldXi);
        var b0 = L(m, 4, ldXi) - L(m, 8, ldXi) - L(m, 12, ldXi);
        var b1 = L(m, 5, ldXi) - L(m, 9, ldXi) - L(m, 13, ldXi);
        var b2 = L(m, 6, ldXi) - L(m, 10, ldXi) - L(m, 14, ldXi);
        var b3 = L(m, 7, ldXi) - L(m, 11, ldXi) - L(m, 15, ldXi);
        var y00 = a0 + a1 + a2 + bias;
        var y01 = a1 - a2 - a3 + bias;
        var y10 = b0 + b1 + b2 + bias;
        var y11 = b1 - b2 - b3 + bias;
        int ow0 = 2 * j0;
        if (y != null || relu != null)
        {
            nint row0 = (nint)(2 * ty) * g.OutW, row1 = row0 + g.OutW;
            StoreRow(g, y == null ? null : y + row0, relu == null ? null : relu + row0, ow0, y00, y01);
            if (2 * ty + 1 < g.OutH) StoreRow(g, y == null ? null : y + row1, relu == null ? null : relu + row1, ow0, y10, y11);
        }
        // lane j is tile j0 + j: the pooling window of pooled column j0 + j
        int pw = g.OutW / 2;
        if (pool == null || ty >= g.OutH / 2 || j0 >= pw) return;
        if (argmax == null)
        {
            Store(pool + (nint)ty * pw, j0, pw, PoolOfRelu(y00, y01, y10, y11));
            return;
        }
        // the window of lane j starts at row 2ty, column 2(j0 + j) of the ReLU's plane
        var at = Vector256.Create(2 * ty * g.OutW + 2 * j0) + Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14);
        Store(pool + (nint)ty * pw, j0, pw, PoolOfRelu(y00, y01, y10, y11, at, g.OutW, out var winner));
        Store((float*)(argmax + (nint)ty * pw), j0, pw, winner.AsSingle());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> L(float* m, int xi, nint ldXi) => Avx.LoadVector256(m + xi * ldXi);

    /// <summary>Columns ow0 + [0, 16) of an output row: even columns from <paramref name="even"/>, odd from
    /// <paramref name="odd"/>; columns past OutW are not written.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(in ConvGeometry g, float* row, float* reluRow, int ow0, Vector256<float> even, Vector256<float> odd)
    {
        var lo = Avx.UnpackLow(even, odd);   // [e0 o0 e1 o1 | e4 o4 e5 o5]
        var hi = Avx.UnpackHigh(even, odd);  // [e2 o2 e3 o3 | e6 o6 e7 o7]
        var first = Avx.Permute2x128(lo, hi, 0x20);
        var second = Avx.Permute2x128(lo, hi, 0x31);
        if (row != null)
        {
            Store(row, ow0, g.OutW, first);
            if (ow0 + 8 < g.OutW) Store(row, ow0 + 8, g.OutW, second);
        }
        if (reluRow == null) return;
        // Vector256.Max(v, 0), as Vec.Relu: the same bits as the ReLU layer would compute
        Store(reluRow, ow0, g.OutW, Vector256.Max(first, Vector256<float>.Zero));
        if (ow0 + 8 < g.OutW) Store(reluRow, ow0 + 8, g.OutW, Vector256.Max(second, Vector256<float>.Zero));
    }

    /// <summary>The first min(8, width − ow) lanes at row + ow.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* row, int ow, int width, Vector256<float> value)
    {
        if (ow + 8 <= width) Avx.Store(row + ow, value);
        else DirectConv.Partial(row + ow, width - ow, value);
    }
}
