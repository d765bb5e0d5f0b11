using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetDsl.Kernels;

/// <summary>
/// One worker's scratch for <see cref="Winograd.Forward5"/> and <see cref="Winograd.Backward5"/> on one 5×5 convolution:
/// up to eight samples at a time, one per vector lane, in zero-padded planes ([channel][row][column][8 samples]); one
/// tile's transformed input and products; the backward pass's transformed input and output gradient of every tile; the
/// weight gradient's transform-domain sum (per lane until <see cref="Winograd.AddWeightGradient5"/>); the transformed
/// weights.
/// </summary>
public sealed class Winograd5Workspace
{
    /// <summary>Samples per call: one per lane of a 256-bit vector.</summary>
    public const int Lanes = 8;
    /// <summary>Points ξ of the 6×6 transform domain.</summary>
    public const int Points = 36;

    /// <summary>Scratch for the convolution <paramref name="geometry"/> (see <see cref="Winograd.Supports5"/>) to
    /// <paramref name="outC"/> output channels (a multiple of 8).</summary>
    public Winograd5Workspace(in ConvGeometry geometry, int outC)
    {
        if (!Winograd.Supports5(geometry, outC))
            throw new ArgumentException($"Winograd5Workspace: {geometry} to {outC} channels is not a 5×5, stride-1, undilated convolution with padding of at most 4, at most 8 input channels and a multiple of 8 output channels.", nameof(geometry));
        Geometry = geometry;
        OutC = outC;
        TilesH = (geometry.OutH + 1) / 2;
        TilesW = (geometry.OutW + 1) / 2;
        PadH = 2 * TilesH + 4;
        PadW = 2 * TilesW + 4;
        int tiles = TilesH * TilesW;
        X = new AlignedBuffer(checked(geometry.InC * PadH * PadW * Lanes));
        DX = new AlignedBuffer(checked(geometry.InC * PadH * PadW * Lanes));
        Y = new AlignedBuffer(checked(outC * 2 * TilesH * 2 * TilesW * Lanes));
        TileV = new AlignedBuffer(Points * 8 * Lanes);
        Rows = new AlignedBuffer(checked(geometry.InC * PadH * 6 * Lanes));
        TileM = new AlignedBuffer(checked(Points * outC * Lanes));
        V = new AlignedBuffer(checked(Points * tiles * 8 * Lanes));
        DM = new AlignedBuffer(checked(Points * tiles * outC * Lanes));
        DU = new AlignedBuffer(checked(Points * outC * 8 * Lanes));
        U = new AlignedBuffer(checked(Points * outC * 8));
        Weights = new AlignedBuffer(checked(outC * geometry.InC * 25));
    }

    /// <summary>The convolution this workspace is for.</summary>
    public ConvGeometry Geometry { get; }
    /// <summary>Output channels.</summary>
    public int OutC { get; }
    internal int TilesH { get; }
    internal int TilesW { get; }
    /// <summary>Rows and columns of the zero-padded input planes: every tile's 6×6 input inside.</summary>
    internal int PadH { get; }
    internal int PadW { get; }
    /// <summary>The input, [InC][PadH][PadW][8].</summary>
    internal AlignedBuffer X { get; }
    /// <summary>The input gradient, as X.</summary>
    internal AlignedBuffer DX { get; }
    /// <summary>The output (or its gradient), [OutC][2·TilesH][2·TilesW][8].</summary>
    internal AlignedBuffer Y { get; }
    /// <summary>One tile's transformed input (or, backward, its dV), [36][8 channels][8].</summary>
    internal AlignedBuffer TileV { get; }
    /// <summary>Bᵀ along the rows of one column of tiles, every padded row of every input channel, [InC][PadH][6][8]: a
    /// tile row shares four of its six input rows with the next.</summary>
    internal AlignedBuffer Rows { get; }
    /// <summary>One tile's products, [36][OutC][8].</summary>
    internal AlignedBuffer TileM { get; }
    /// <summary>Every tile's transformed input, [36][tile][8 channels][8]; channels past InC stay zero.</summary>
    internal AlignedBuffer V { get; }
    /// <summary>Every tile's dM = A dy Aᵀ, [36][tile][OutC][8].</summary>
    internal AlignedBuffer DM { get; }
    /// <summary>The weight gradient in the transform domain, [36][OutC][8 channels][8 lanes].</summary>
    internal AlignedBuffer DU { get; }
    internal bool HasGradient { get; set; }
    /// <summary>U = G g Gᵀ, [36][OutC][8 channels] (channels past InC zero).</summary>
    internal AlignedBuffer U { get; }
    internal AlignedBuffer Weights { get; }
    internal bool Transformed { get; set; }
    internal long CheckedPass { get; set; }
}

/// <summary>
/// 5×5 stride-1 convolution by Winograd's minimal filtering F(2×2, 5×5), eight samples at a time with the samples in the
/// vector lanes. A 2×2 output tile is y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A over its 6×6 input tile d: 36 multiply-adds per tile
/// and channel pair instead of 100. The interpolation points are F(4×4, 3×3)'s (0, ±1, ±2, ∞), so Bᵀ is the same:
/// <code>
///   G  = [[¼, 0, 0, 0, 0], [−⅙, −⅙, −⅙, −⅙, −⅙], [−⅙, ⅙, −⅙, ⅙, −⅙], [1/24, 1/12, ⅙, ⅓, ⅔], [1/24, −1/12, ⅙, −⅓, ⅔], [0, 0, 0, 0, 1]]
///   Aᵀ = [[1, 1, 1, 1, 1, 0], [0, 1, −1, 2, −2, 1]]
/// </code>
/// With a sample in each lane, every transform is whole-vector arithmetic on plain loads (no shuffles, no lanes idle at a
/// plane's edge), and each product over the channels is a broadcast weight times a vector: the shape of a small network's
/// convolution (LeNet-5's conv2: 6 → 16 channels, 10×10) is no longer too narrow for the vectors. The backward pass is the
/// adjoint: dM = A dy Aᵀ per tile, dU[ξ] += dM[ξ] ⊗ V[ξ] per lane (Gᵀ dU G, summed over the lanes, at the end of the
/// batch), dV[ξ] = U[ξ]ᵀ dM[ξ] and each tile's B dV Bᵀ added into dx where the tiles overlap. Everything is 256-bit vector
/// code in a fixed order, so the results are the same at every vector width and for any split of a batch into calls that
/// keeps each sample's lane (the weight gradient's lanes are summed in one fixed order).
/// </summary>
public static unsafe partial class Winograd
{
    /// <summary>Whether this machine runs F(2×2, 5×5)'s 256-bit vectors and fused multiply-adds in hardware (AVX2 and
    /// FMA). The kernels are correct without (Vector256 falls back to scalar code), but far slower than the lane kernel's
    /// own fallback there, so the generated code takes F(2×2, 5×5) only where this is true.</summary>
    public static bool Accelerated5 => Avx2.IsSupported && Fma.IsSupported;

    /// <summary>Whether <see cref="Forward5"/> computes the convolution <paramref name="g"/> to <paramref name="outC"/>
    /// channels: 5×5, stride 1, dilation 1, each padding at most 4, at most 8 input channels, a multiple of 8 output
    /// channels.</summary>
    public static bool Supports5(in ConvGeometry g, int outC) =>
        g.KernelH == 5 && g.KernelW == 5 && g.StrideH == 1 && g.StrideW == 1 && g.Dilation == 1
        && g.PadTop is >= 0 and <= 4 && g.PadLeft is >= 0 and <= 4 && g.OutH >= 1 && g.OutW >= 1
        && g.OutH - g.InH + 4 - g.PadTop is >= 0 and <= 4 && g.OutW - g.InW + 4 - g.PadLeft is >= 0 and <= 4
        && g.InC is >= 1 and <= 8 && outC >= 8 && outC % 8 == 0;

    /// <summary>y[s] = conv(x[s]) + bias for <paramref name="samples"/> (at most 8) samples.</summary>
    /// <param name="ws">This worker's workspace for the convolution.</param>
    /// <param name="weight">[OutC, InC, 5, 5].</param>
    /// <param name="bias">[OutC], or empty for none.</param>
    /// <param name="x">samples × [InC, InH, InW].</param>
    /// <param name="y">samples × [OutC, OutH, OutW].</param>
    /// <param name="samples">1 to 8.</param>
    /// <param name="pass">A caller's number for a stretch in which the weights do not change: the weights are compared
    /// with those of the cached transform once per pass. 0: on every call.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward5(Winograd5Workspace ws, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, ReadOnlySpan<float> x, Span<float> y, int samples, long pass = 0)
    {
        var g = ws.Geometry;
        int outC = ws.OutC, inSize = g.InC * g.InH * g.InW, outSize = outC * g.OutH * g.OutW;
        Check5(ws, weight, x, samples, "Forward5");
        if (!bias.IsEmpty && bias.Length != outC) throw new ArgumentException($"Winograd.Forward5: bias has {bias.Length} floats, expected {outC}.", nameof(bias));
        if (y.Length < samples * outSize) throw new ArgumentException($"Winograd.Forward5: y has {y.Length} floats, expected {samples * outSize}.", nameof(y));
        Prepare5(ws, weight, pass);
        fixed (float* px = x, py = y, pb = bias)
        {
            var xl = (Vector256<float>*)ws.X.Pointer;
            var yl = (Vector256<float>*)ws.Y.Pointer;
            var tv = (Vector256<float>*)ws.TileV.Pointer;
            var tm = (Vector256<float>*)ws.TileM.Pointer;
            float* u = ws.U.Pointer;
            ToLanes(px, samples, g.InC, g.InH, g.InW, g.PadTop, g.PadLeft, (float*)xl, ws.PadH, ws.PadW);
            int outW2 = 2 * ws.TilesW, outPlane = 2 * ws.TilesH * outW2;
            for (int tx = 0; tx < ws.TilesW; tx++) // down each column of tiles: the rows' transforms are shared
            {
                RowTransforms(ws, xl, tx);
                for (int ty = 0; ty < ws.TilesH; ty++)
                {
                    for (int c = 0; c < g.InC; c++) ColumnTransform(ws, c, ty, tv + c, 8);
                    Products(tv, u, outC, g.InC, tm);
                    for (int o = 0; o < outC; o++)
                    {
                        var b = Vector256.Create(bias.IsEmpty ? 0f : pb[o]);
                        OutputTileLanes(tm + o, outC, out var y00, out var y01, out var y10, out var y11);
                        Vector256<float>* at = yl + (nint)o * outPlane + 2 * ty * outW2 + 2 * tx;
                        at[0] = y00 + b;
                        at[1] = y01 + b;
                        at[outW2] = y10 + b;
                        at[outW2 + 1] = y11 + b;
                    }
                }
            }
            FromLanes((float*)yl, outC, 2 * ws.TilesH, outW2, 0, 0, g.OutH, g.OutW, py, samples);
        }
    }

    /// <summary>
    /// The backward pass of <paramref name="samples"/> (at most 8) samples: the weight gradient's transform-domain part
    /// added to the sum since the last <see cref="AddWeightGradient5"/>, and (if <paramref name="dx"/> is not empty) the
    /// input gradient, written (not added) to dx.
    /// </summary>
    /// <param name="ws">This worker's workspace (the forward pass's transformed input is recomputed here).</param>
    /// <param name="weight">[OutC, InC, 5, 5], the forward pass's.</param>
    /// <param name="x">samples × [InC, InH, InW], the forward pass's input.</param>
    /// <param name="dy">samples × [OutC, OutH, OutW], the gradient of its output.</param>
    /// <param name="samples">1 to 8. A sample's lane is its place in the call: calls that split a batch the same way
    /// give the same bits.</param>
    /// <param name="dx">samples × [InC, InH, InW], or empty: no input gradient.</param>
    /// <param name="pass">As in <see cref="Forward5"/>.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward5(Winograd5Workspace ws, ReadOnlySpan<float> weight, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, int samples, Span<float> dx, long pass = 0)
    {
        var g = ws.Geometry;
        int outC = ws.OutC, inSize = g.InC * g.InH * g.InW, outSize = outC * g.OutH * g.OutW;
        Check5(ws, weight, x, samples, "Backward5");
        if (dy.Length < samples * outSize) throw new ArgumentException($"Winograd.Backward5: dy has {dy.Length} floats, expected {samples * outSize}.", nameof(dy));
        if (!dx.IsEmpty && dx.Length < samples * inSize) throw new ArgumentException($"Winograd.Backward5: dx has {dx.Length} floats, expected {samples * inSize}.", nameof(dx));
        bool inputGradient = !dx.IsEmpty;
        if (inputGradient) Prepare5(ws, weight, pass);
        int tiles = ws.TilesH * ws.TilesW, outW2 = 2 * ws.TilesW, outPlane = 2 * ws.TilesH * outW2;
        fixed (float* px = x, pdy = dy, pdx = dx)
        {
            var xl = (Vector256<float>*)ws.X.Pointer;
            var dxl = (Vector256<float>*)ws.DX.Pointer;
            var yl = (Vector256<float>*)ws.Y.Pointer;
            var tv = (Vector256<float>*)ws.TileV.Pointer;
            var v = (Vector256<float>*)ws.V.Pointer;
            var dm = (Vector256<float>*)ws.DM.Pointer;
            float* u = ws.U.Pointer;
            ToLanes(px, samples, g.InC, g.InH, g.InW, g.PadTop, g.PadLeft, (float*)xl, ws.PadH, ws.PadW);
            ToLanes(pdy, samples, outC, g.OutH, g.OutW, 0, 0, (float*)yl, 2 * ws.TilesH, outW2);
            if (inputGradient) new Span<float>(dxl, g.InC * ws.PadH * ws.PadW * 8).Clear();
            nint pointStrideV = (nint)tiles * 8, pointStrideM = (nint)tiles * outC;
            Vector256<float>* r = stackalloc Vector256<float>[6];
            Vector256<float>* h = stackalloc Vector256<float>[36];
            for (int tx = 0; tx < ws.TilesW; tx++) // down each column of tiles: the rows' transforms are shared
            {
                RowTransforms(ws, xl, tx);
                for (int ty = 0; ty < ws.TilesH; ty++)
                {
                    int t = ty * ws.TilesW + tx;
                    for (int c = 0; c < g.InC; c++) ColumnTransform(ws, c, ty, v + (nint)t * 8 + c, pointStrideV);
                    // dM = A dy Aᵀ of this tile, every output channel: A down each of the tile's two columns (a, b) →
                    // (a, a + b, a − b, a + 2b, a − 2b, b), then along each row
                    nint row6 = 6 * pointStrideM;
                    for (int o = 0; o < outC; o++)
                    {
                        Vector256<float>* d = yl + (nint)o * outPlane + 2 * ty * outW2 + 2 * tx;
                        Vector256<float>* dst = dm + (nint)t * outC + o;
                        Vector256<float> a = d[0], b = d[outW2], p = d[1], q = d[outW2 + 1], two = Vector256.Create(2f);
                        Vector256<float> b2 = two * b, q2 = two * q;
                        A2(a, p, dst, pointStrideM);
                        A2(a + b, p + q, dst + row6, pointStrideM);
                        A2(a - b, p - q, dst + 2 * row6, pointStrideM);
                        A2(a + b2, p + q2, dst + 3 * row6, pointStrideM);
                        A2(a - b2, p - q2, dst + 4 * row6, pointStrideM);
                        A2(b, q, dst + 5 * row6, pointStrideM);
                    }
                    if (!inputGradient) continue;
                    // dV[ξ] = U[ξ]ᵀ dM[ξ], then B dV Bᵀ added where the tile lies
                    for (int xi = 0; xi < Winograd5Workspace.Points; xi++)
                        if (g.InC <= 6) TransposedProducts6(dm + xi * pointStrideM + (nint)t * outC, u + (nint)xi * outC * 8, outC, tv + xi * 8);
                        else TransposedProducts(dm + xi * pointStrideM + (nint)t * outC, u + (nint)xi * outC * 8, outC, tv + xi * 8);
                    for (int c = 0; c < g.InC; c++)
                    {
                        for (int j = 0; j < 6; j++)
                            BAdj(tv[j * 8 + c], tv[(6 + j) * 8 + c], tv[(12 + j) * 8 + c], tv[(18 + j) * 8 + c], tv[(24 + j) * 8 + c], tv[(30 + j) * 8 + c], h + j, 6);
                        Vector256<float>* at = dxl + ((nint)c * ws.PadH + 2 * ty) * ws.PadW + 2 * tx;
                        for (int i = 0; i < 6; i++, at += ws.PadW)
                        {
                            BAdj(h[6 * i], h[6 * i + 1], h[6 * i + 2], h[6 * i + 3], h[6 * i + 4], h[6 * i + 5], r, 1);
                            at[0] += r[0]; at[1] += r[1]; at[2] += r[2]; at[3] += r[3]; at[4] += r[4]; at[5] += r[5];
                        }
                    }
                }
            }
            if (g.InC <= 6) WeightProducts6(ws, v, dm, tiles, outC);
            else WeightProducts(ws, v, dm, tiles, outC);
            if (inputGradient) FromLanes((float*)dxl, g.InC, ws.PadH, ws.PadW, g.PadTop, g.PadLeft, g.InH, g.InW, pdx, samples);
        }
        ws.HasGradient = true;
    }

    /// <summary>dWeight [OutC, InC, 5, 5] += Gᵀ dU G, dU being what <see cref="Backward5"/> summed since the last call
    /// (its lanes added in one fixed order); the next <see cref="Backward5"/> starts a new sum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddWeightGradient5(Winograd5Workspace ws, Span<float> dWeight)
    {
        int inC = ws.Geometry.InC, outC = ws.OutC;
        if (dWeight.Length != outC * inC * 25) throw new ArgumentException($"Winograd.AddWeightGradient5: dWeight has {dWeight.Length} floats, expected {outC * inC * 25}.", nameof(dWeight));
        if (!ws.HasGradient) return;
        ws.HasGradient = false;
        var du = (Vector256<float>*)ws.DU.Pointer;
        // dU summed over the lanes: [36][OutC][8 channels], eight channels' lane sums at a time through an 8×8 transpose
        // (PackedGemm.Transpose8x8; lane k of the sum is ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)) of channel k),
        // or one by one.
        float* sums = stackalloc float[36 * 8];
        Span<float> z = stackalloc float[36];
        Span<float> t = stackalloc float[30]; // Gᵀ dU: 5×6
        Span<float> k = stackalloc float[5];
        var r = stackalloc Vector256<float>[8];
        for (int o = 0; o < outC; o++)
        {
            for (int xi = 0; xi < 36; xi++)
            {
                Vector256<float>* l = du + ((nint)xi * outC + o) * 8;
                if (Avx.IsSupported)
                {
                    PackedGemm.Transpose8x8((float*)l, 8, 8, (float*)r, 8, 8);
                    Vector256.Store(r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7])), sums + xi * 8);
                }
                else
                    for (int c = 0; c < inC; c++)
                    {
                        var v = l[c];
                        sums[xi * 8 + c] = v[0] + v[1] + (v[2] + v[3]) + (v[4] + v[5] + (v[6] + v[7]));
                    }
            }
            for (int c = 0; c < inC; c++)
            {
                for (int xi = 0; xi < 36; xi++) z[xi] = sums[xi * 8 + c];
                for (int j = 0; j < 6; j++) // down column j
                    G5T(z[j], z[6 + j], z[12 + j], z[18 + j], z[24 + j], z[30 + j], t, j, 6);
                var dw = dWeight.Slice((o * inC + c) * 25, 25);
                for (int row = 0; row < 5; row++) // along row row
                {
                    G5T(t[6 * row], t[6 * row + 1], t[6 * row + 2], t[6 * row + 3], t[6 * row + 4], t[6 * row + 5], k, 0, 1);
                    for (int q = 0; q < 5; q++) dw[5 * row + q] += k[q];
                }
            }
        }
    }

    private static void Check5(Winograd5Workspace ws, ReadOnlySpan<float> weight, ReadOnlySpan<float> x, int samples, string method)
    {
        var g = ws.Geometry;
        if (samples < 1 || samples > Winograd5Workspace.Lanes) throw new ArgumentOutOfRangeException(nameof(samples), samples, $"Winograd.{method}: samples must be between 1 and {Winograd5Workspace.Lanes}");
        if (weight.Length != ws.OutC * g.InC * 25) throw new ArgumentException($"Winograd.{method}: weight has {weight.Length} floats, expected {ws.OutC * g.InC * 25}.", nameof(weight));
        if (x.Length < samples * g.InC * g.InH * g.InW) throw new ArgumentException($"Winograd.{method}: x has {x.Length} floats, expected {samples * g.InC * g.InH * g.InW}.", nameof(x));
    }

    // ---------------------------------------------------------------- lanes in and out

    /// <summary>Samples [0, samples) of [channels][h][w] planes into lanes of [channels][ph][pw][8], at row and column
    /// offsets (top, left); everything else zero. Rows of at least 8 go through 8×8 transposes (<see cref="PackedGemm.Transpose8x8"/>:
    /// eight samples' eight columns in, missing samples read as zero, eight columns' eight samples out; the last block
    /// overlaps the one before).</summary>
    private static void ToLanes(float* src, int samples, int channels, int h, int w, int top, int left, float* dst, int ph, int pw)
    {
        int size = channels * h * w;
        // Cleared unless every lane of every place is written below (all eight samples, no border).
        if (samples < 8 || top != 0 || left != 0 || ph != h || pw != w || !Avx.IsSupported || w < 8) new Span<float>(dst, channels * ph * pw * 8).Clear();
        if (Avx.IsSupported && w >= 8)
        {
            for (int c = 0; c < channels; c++)
                for (int i = 0; i < h; i++)
                {
                    float* from = src + ((nint)c * h + i) * w;
                    float* to = dst + (((nint)c * ph + i + top) * pw + left) * 8;
                    for (int j = 0; ; j += 8)
                    {
                        if (j + 8 > w) j = w - 8;
                        PackedGemm.Transpose8x8(from + j, size, samples, to + (nint)j * 8, 8, 8);
                        if (j + 8 >= w) break;
                    }
                }
            return;
        }
        for (int s = 0; s < samples; s++)
        {
            float* from = src + (nint)s * size;
            for (int c = 0; c < channels; c++)
                for (int i = 0; i < h; i++)
                {
                    float* to = dst + (((nint)c * ph + i + top) * pw + left) * 8 + s;
                    float* row = from + ((nint)c * h + i) * w;
                    for (int j = 0; j < w; j++) to[j * 8] = row[j];
                }
        }
    }

    /// <summary>The inverse of <see cref="ToLanes"/>: lanes [0, samples) of [channels][ph][pw][8] at (top, left), h×w of
    /// each plane, to samples × [channels][h][w].</summary>
    private static void FromLanes(float* src, int channels, int ph, int pw, int top, int left, int h, int w, float* dst, int samples)
    {
        int size = channels * h * w;
        if (Avx.IsSupported && w >= 8)
        {
            // Eight columns' lanes transposed into eight samples' rows of eight, of which the samples present are stored.
            float* r = stackalloc float[64];
            for (int c = 0; c < channels; c++)
                for (int i = 0; i < h; i++)
                {
                    nint to = ((nint)c * h + i) * w;
                    float* from = src + (((nint)c * ph + i + top) * pw + left) * 8;
                    for (int j = 0; ; j += 8)
                    {
                        if (j + 8 > w) j = w - 8;
                        PackedGemm.Transpose8x8(from + (nint)j * 8, 8, 8, r, 8, 8);
                        for (int s = 0; s < samples; s++) Avx.Store(dst + (nint)s * size + to + j, Avx.LoadVector256(r + s * 8));
                        if (j + 8 >= w) break;
                    }
                }
            return;
        }
        for (int s = 0; s < samples; s++)
        {
            float* to = dst + (nint)s * size;
            for (int c = 0; c < channels; c++)
                for (int i = 0; i < h; i++)
                {
                    float* from = src + (((nint)c * ph + i + top) * pw + left) * 8 + s;
                    float* row = to + ((nint)c * h + i) * w;
                    for (int j = 0; j < w; j++) row[j] = from[j * 8];
                }
        }
    }

    // ---------------------------------------------------------------- the transforms, eight samples a vector

    /// <summary>Bᵀ along each padded row of tile column tx (columns 2tx … 2tx + 5), every input channel, into ws.Rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowTransforms(Winograd5Workspace ws, Vector256<float>* xl, int tx)
    {
        var rows = (Vector256<float>*)ws.Rows.Pointer;
        int planes = ws.Geometry.InC * ws.PadH, pw = ws.PadW;
        Vector256<float>* d = xl + 2 * tx;
        for (int r = 0; r < planes; r++, d += pw, rows += 6) Bt(d[0], d[1], d[2], d[3], d[4], d[5], rows, 1);
    }

    /// <summary>Bᵀ down the six rows of channel c's tile (ty, tx) from ws.Rows (tile column tx): point ξ to dst[ξ·stride].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ColumnTransform(Winograd5Workspace ws, int c, int ty, Vector256<float>* dst, nint stride)
    {
        Vector256<float>* h = (Vector256<float>*)ws.Rows.Pointer + ((nint)c * ws.PadH + 2 * ty) * 6;
        int step = (int)(6 * stride);
        for (int j = 0; j < 6; j++, dst += stride) // down column j: points 6i + j
            Bt(h[j], h[6 + j], h[12 + j], h[18 + j], h[24 + j], h[30 + j], dst, step);
    }

    /// <summary>M[ξ][o] = Σ_c U[ξ][o][c] · V[ξ][c] for one tile, eight output channels at a time (tv: [36][8 channels],
    /// tm: [36][outC]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Products(Vector256<float>* tv, float* u, int outC, int inC, Vector256<float>* tm)
    {
        if (outC == 16)
        {
            Products16(tv, u, inC, tm);
            return;
        }
        for (int xi = 0; xi < Winograd5Workspace.Points; xi++)
        {
            Vector256<float>* vx = tv + xi * 8;
            for (int o0 = 0; o0 < outC; o0 += 8)
            {
                float* w = u + ((nint)xi * outC + o0) * 8; // [8 output channels][8 input channels]
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                // pointers walked, not indexed: constant displacements, no index arithmetic per multiply-add
                Vector256<float>* xc = vx;
                for (float* wc = w, end = w + inC; wc < end; wc++, xc++)
                {
                    var x = *xc;
                    a0 = Vector256.FusedMultiplyAdd(Vector256.Create(wc[0]), x, a0);
                    a1 = Vector256.FusedMultiplyAdd(Vector256.Create(wc[8]), x, a1);
                    a2 = Vector256.FusedMultiplyAdd(Vector256.Create(wc[16]), x, a2);
                    a3 = Vector256.FusedMultiplyAdd(Vector256.Create(wc[24]), x, a3);
                    a4 = Vector256.FusedMultiplyAdd(Vector256.Create(wc[32]), x, a4);
                    a5 = Vector256.FusedMultiplyAdd(Vector256.Create(wc[40]), x, a5);
                    a6 = Vector256.FusedMultiplyAdd(Vector256.Create(wc[48]), x, a6);
                    a7 = Vector256.FusedMultiplyAdd(Vector256.Create(wc[56]), x, a7);
                }
                Vector256<float>* m = tm + (nint)xi * outC + o0;
                m[0] = a0; m[1] = a1; m[2] = a2; m[3] = a3; m[4] = a4; m[5] = a5; m[6] = a6; m[7] = a7;
            }
        }
    }

    /// <summary><see cref="Products"/> for 16 output channels, all at once: each input vector loaded once per point, and
    /// half the loop overhead of two blocks of eight.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Products16(Vector256<float>* tv, float* u, int inC, Vector256<float>* tm)
    {
        for (int xi = 0; xi < Winograd5Workspace.Points; xi++)
        {
            float* w = u + (nint)xi * 16 * 8; // [16 output channels][8 input channels]
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default, b6 = default, b7 = default;
            Vector256<float>* xc = tv + xi * 8;
            for (float* wc = w, end = w + inC; wc < end; wc++, xc++)
            {
                var x = *xc;
                a0 = Vector256.FusedMultiplyAdd(Vector256.Create(wc[0]), x, a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.Create(wc[8]), x, a1);
                a2 = Vector256.FusedMultiplyAdd(Vector256.Create(wc[16]), x, a2);
                a3 = Vector256.FusedMultiplyAdd(Vector256.Create(wc[24]), x, a3);
                a4 = Vector256.FusedMultiplyAdd(Vector256.Create(wc[32]), x, a4);
                a5 = Vector256.FusedMultiplyAdd(Vector256.Create(wc[40]), x, a5);
                a6 = Vector256.FusedMultiplyAdd(Vector256.Create(wc[48]), x, a6);
                a7 = Vector256.FusedMultiplyAdd(Vector256.Create(wc[56]), x, a7);
                b0 = Vector256.FusedMultiplyAdd(Vector256.Create(wc[64]), x, b0);
                b1 = Vector256.FusedMultiplyAdd(Vector256.Create(wc[72]), x, b1);
                b2 = Vector256.FusedMultiplyAdd(Vector256.Create(wc[80]), x, b2);
                b3 = Vector256.FusedMultiplyAdd(Vector256.Create(wc[88]), x, b3);
                b4 = Vector256.FusedMultiplyAdd(Vector256.Create(wc[96]), x, b4);
                b5 = Vector256.FusedMultiplyAdd(Vector256.Create(wc[104]), x, b5);
                b6 = Vector256.FusedMultiplyAdd(Vector256.Create(wc[112]), x, b6);
                b7 = Vector256.FusedMultiplyAdd(Vector256.Create(wc[120]), x, b7);
            }
            Vector256<float>* m = tm + (nint)xi * 16;
            m[0] = a0; m[1] = a1; m[2] = a2; m[3] = a3; m[4] = a4; m[5] = a5; m[6] = a6; m[7] = a7;
            m[8] = b0; m[9] = b1; m[10] = b2; m[11] = b3; m[12] = b4; m[13] = b5; m[14] = b6; m[15] = b7;
        }
    }

    /// <summary>dV[c] = Σ_o U[ξ][o][c] · dM[ξ][o] for one tile and point, channels [0, 6) only (at most six input
    /// channels: LeNet-5's conv2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TransposedProducts6(Vector256<float>* dm, float* u, int outC, Vector256<float>* dv)
    {
        // Even and odd output channels in separate sums (twelve chains: six would wait on the multiply-add's latency),
        // added at the end. outC is a multiple of 8.
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default;
        Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default;
        float* w = u;
        for (Vector256<float>* end = dm + outC; dm < end; dm += 2, w += 16)
        {
            var m = dm[0];
            var n = dm[1];
            a0 = Vector256.FusedMultiplyAdd(Vector256.Create(w[0]), m, a0);
            a1 = Vector256.FusedMultiplyAdd(Vector256.Create(w[1]), m, a1);
            a2 = Vector256.FusedMultiplyAdd(Vector256.Create(w[2]), m, a2);
            a3 = Vector256.FusedMultiplyAdd(Vector256.Create(w[3]), m, a3);
            a4 = Vector256.FusedMultiplyAdd(Vector256.Create(w[4]), m, a4);
            a5 = Vector256.FusedMultiplyAdd(Vector256.Create(w[5]), m, a5);
            b0 = Vector256.FusedMultiplyAdd(Vector256.Create(w[8]), n, b0);
            b1 = Vector256.FusedMultiplyAdd(Vector256.Create(w[9]), n, b1);
            b2 = Vector256.FusedMultiplyAdd(Vector256.Create(w[10]), n, b2);
            b3 = Vector256.FusedMultiplyAdd(Vector256.Create(w[11]), n, b3);
            b4 = Vector256.FusedMultiplyAdd(Vector256.Create(w[12]), n, b4);
            b5 = Vector256.FusedMultiplyAdd(Vector256.Create(w[13]), n, b5);
        }
        dv[0] = a0 + b0; dv[1] = a1 + b1; dv[2] = a2 + b2; dv[3] = a3 + b3; dv[4] = a4 + b4; dv[5] = a5 + b5;
    }

    /// <summary>dV[c] = Σ_o U[ξ][o][c] · dM[ξ][o] for one tile and point: all eight channel lanes of U (zero past InC).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TransposedProducts(Vector256<float>* dm, float* u, int outC, Vector256<float>* dv)
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        float* w = u;
        for (Vector256<float>* end = dm + outC; dm < end; dm++, w += 8)
        {
            var m = *dm;
            a0 = Vector256.FusedMultiplyAdd(Vector256.Create(w[0]), m, a0);
            a1 = Vector256.FusedMultiplyAdd(Vector256.Create(w[1]), m, a1);
            a2 = Vector256.FusedMultiplyAdd(Vector256.Create(w[2]), m, a2);
            a3 = Vector256.FusedMultiplyAdd(Vector256.Create(w[3]), m, a3);
            a4 = Vector256.FusedMultiplyAdd(Vector256.Create(w[4]), m, a4);
            a5 = Vector256.FusedMultiplyAdd(Vector256.Create(w[5]), m, a5);
            a6 = Vector256.FusedMultiplyAdd(Vector256.Create(w[6]), m, a6);
            a7 = Vector256.FusedMultiplyAdd(Vector256.Create(w[7]), m, a7);
        }
        dv[0] = a0; dv[1] = a1; dv[2] = a2; dv[3] = a3; dv[4] = a4; dv[5] = a5; dv[6] = a6; dv[7] = a7;
    }

    /// <summary><see cref="WeightProducts"/> for at most six input channels: channels [0, 6) of two output channels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WeightProducts6(Winograd5Workspace ws, Vector256<float>* v, Vector256<float>* dm, int tiles, int outC)
    {
        var du = (Vector256<float>*)ws.DU.Pointer;
        bool add = ws.HasGradient;
        for (int xi = 0; xi < Winograd5Workspace.Points; xi++)
        {
            Vector256<float>* vx = v + (nint)xi * tiles * 8, mx = dm + (nint)xi * tiles * outC;
            for (int o = 0; o < outC; o += 2)
            {
                Vector256<float>* acc = du + ((nint)xi * outC + o) * 8;
                Vector256<float> p0 = default, p1 = default, p2 = default, p3 = default, p4 = default, p5 = default;
                Vector256<float> q0 = default, q1 = default, q2 = default, q3 = default, q4 = default, q5 = default;
                if (add)
                {
                    p0 = acc[0]; p1 = acc[1]; p2 = acc[2]; p3 = acc[3]; p4 = acc[4]; p5 = acc[5];
                    q0 = acc[8]; q1 = acc[9]; q2 = acc[10]; q3 = acc[11]; q4 = acc[12]; q5 = acc[13];
                }
                Vector256<float>* vt = vx, mt = mx + o;
                for (int t = 0; t < tiles; t++, vt += 8, mt += outC)
                {
                    var m0 = mt[0];
                    var m1 = mt[1];
                    var x0 = vt[0]; p0 = Vector256.FusedMultiplyAdd(m0, x0, p0); q0 = Vector256.FusedMultiplyAdd(m1, x0, q0);
                    var x1 = vt[1]; p1 = Vector256.FusedMultiplyAdd(m0, x1, p1); q1 = Vector256.FusedMultiplyAdd(m1, x1, q1);
                    var x2 = vt[2]; p2 = Vector256.FusedMultiplyAdd(m0, x2, p2); q2 = Vector256.FusedMultiplyAdd(m1, x2, q2);
                    var x3 = vt[3]; p3 = Vector256.FusedMultiplyAdd(m0, x3, p3); q3 = Vector256.FusedMultiplyAdd(m1, x3, q3);
                    var x4 = vt[4]; p4 = Vector256.FusedMultiplyAdd(m0, x4, p4); q4 = Vector256.FusedMultiplyAdd(m1, x4, q4);
                    var x5 = vt[5]; p5 = Vector256.FusedMultiplyAdd(m0, x5, p5); q5 = Vector256.FusedMultiplyAdd(m1, x5, q5);
                }
                acc[0] = p0; acc[1] = p1; acc[2] = p2; acc[3] = p3; acc[4] = p4; acc[5] = p5;
                acc[8] = q0; acc[9] = q1; acc[10] = q2; acc[11] = q3; acc[12] = q4; acc[13] = q5;
            }
        }
    }

    /// <summary>dU[ξ][o][c] (+)= Σ_t dM[ξ][t][o] · V[ξ][t][c], lane by lane, two output channels and all eight channel lanes
    /// at a time, over every tile of the call.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WeightProducts(Winograd5Workspace ws, Vector256<float>* v, Vector256<float>* dm, int tiles, int outC)
    {
        var du = (Vector256<float>*)ws.DU.Pointer;
        bool add = ws.HasGradient;
        for (int xi = 0; xi < Winograd5Workspace.Points; xi++)
        {
            Vector256<float>* vx = v + (nint)xi * tiles * 8, mx = dm + (nint)xi * tiles * outC;
            for (int o = 0; o < outC; o += 2)
            {
                Vector256<float>* acc = du + ((nint)xi * outC + o) * 8;
                Vector256<float> p0 = default, p1 = default, p2 = default, p3 = default, p4 = default, p5 = default, p6 = default, p7 = default;
                Vector256<float> q0 = default, q1 = default, q2 = default, q3 = default, q4 = default, q5 = default, q6 = default, q7 = default;
                if (add)
                {
                    p0 = acc[0]; p1 = acc[1]; p2 = acc[2]; p3 = acc[3]; p4 = acc[4]; p5 = acc[5]; p6 = acc[6]; p7 = acc[7];
                    q0 = acc[8]; q1 = acc[9]; q2 = acc[10]; q3 = acc[11]; q4 = acc[12]; q5 = acc[13]; q6 = acc[14]; q7 = acc[15];
                }
                Vector256<float>* vt = vx, mt = mx + o;
                for (int t = 0; t < tiles; t++, vt += 8, mt += outC)
                {
                    var m0 = mt[0];
                    var m1 = mt[1];
                    var x0 = vt[0]; p0 = Vector256.FusedMultiplyAdd(m0, x0, p0); q0 = Vector256.FusedMultiplyAdd(m1, x0, q0);
                    var x1 = vt[1]; p1 = Vector256.FusedMultiplyAdd(m0, x1, p1); q1 = Vector256.FusedMultiplyAdd(m1, x1, q1);
                    var x2 = vt[2]; p2 = Vector256.FusedMultiplyAdd(m0, x2, p2); q2 = Vector256.FusedMultiplyAdd(m1, x2, q2);
                    var x3 = vt[3]; p3 = Vector256.FusedMultiplyAdd(m0, x3, p3); q3 = Vector256.FusedMultiplyAdd(m1, x3, q3);
                    var x4 = vt[4]; p4 = Vector256.FusedMultiplyAdd(m0, x4, p4); q4 = Vector256.FusedMultiplyAdd(m1, x4, q4);
                    var x5 = vt[5]; p5 = Vector256.FusedMultiplyAdd(m0, x5, p5); q5 = Vector256.FusedMultiplyAdd(m1, x5, q5);
                    var x6 = vt[6]; p6 = Vector256.FusedMultiplyAdd(m0, x6, p6); q6 = Vector256.FusedMultiplyAdd(m1, x6, q6);
                    var x7 = vt[7]; p7 = Vector256.FusedMultiplyAdd(m0, x7, p7); q7 = Vector256.FusedMultiplyAdd(m1, x7, q7);
                }
                acc[0] = p0; acc[1] = p1; acc[2] = p2; acc[3] = p3; acc[4] = p4; acc[5] = p5; acc[6] = p6; acc[7] = p7;
                acc[8] = q0; acc[9] = q1; acc[10] = q2; acc[11] = q3; acc[12] = q4; acc[13] = q5; acc[14] = q6; acc[15] = q7;
            }
        }
    }

    /// <summary>Aᵀ M A of one output channel's tile: m[ξ·stride].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void OutputTileLanes(Vector256<float>* m, nint stride, out Vector256<float> y00, out Vector256<float> y01, out Vector256<float> y10, out Vector256<float> y11)
    {
        // Aᵀ M (2 rows × 6 points) in locals, column by column, then each row
        nint row = 6 * stride;
        At2(m[0], m[row], m[2 * row], m[3 * row], m[4 * row], m[5 * row], out var t0, out var s0);
        m += stride;
        At2(m[0], m[row], m[2 * row], m[3 * row], m[4 * row], m[5 * row], out var t1, out var s1);
        m += stride;
        At2(m[0], m[row], m[2 * row], m[3 * row], m[4 * row], m[5 * row], out var t2, out var s2);
        m += stride;
        At2(m[0], m[row], m[2 * row], m[3 * row], m[4 * row], m[5 * row], out var t3, out var s3);
        m += stride;
        At2(m[0], m[row], m[2 * row], m[3 * row], m[4 * row], m[5 * row], out var t4, out var s4);
        m += stride;
        At2(m[0], m[row], m[2 * row], m[3 * row], m[4 * row], m[5 * row], out var t5, out var s5);
        At2(t0, t1, t2, t3, t4, t5, out y00, out y01);
        At2(s0, s1, s2, s3, s4, s5, out y10, out y11);
    }

    // Aᵀ applied to six values: p = m1 + m2, q = m1 − m2, r = m3 + m4, s = m3 − m4; y0 = (m0 + p) + r, y1 = (q + 2s) + m5.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void At2(Vector256<float> m0, Vector256<float> m1, Vector256<float> m2, Vector256<float> m3, Vector256<float> m4, Vector256<float> m5,
        out Vector256<float> y0, out Vector256<float> y1)
    {
        Vector256<float> p = m1 + m2, q = m1 - m2, r = m3 + m4, s = m3 - m4;
        y0 = m0 + p + r;
        y1 = q + Vector256.Create(2f) * s + m5;
    }

    // A (6×2), the adjoint of Aᵀ, applied to two values (a, b): (a, a + b, a − b, a + 2b, a − 2b, b).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void A2(Vector256<float> a, Vector256<float> b, Vector256<float>* m, nint stride)
    {
        var twice = Vector256.Create(2f) * b;
        m[0] = a;
        m[stride] = a + b;
        m[2 * stride] = a - b;
        m[3 * stride] = a + twice;
        m[4 * stride] = a - twice;
        m[5 * stride] = b;
    }

    // B (the transpose of Bᵀ) applied to six values k0..k5: r0 = 4k0, r1 = 4(k2 − k1) + 2(k4 − k3) + 4k5,
    // r2 = −5k0 − 4(k1 + k2) − (k3 + k4), r3 = (k1 − k2) + 2(k3 − k4) − 5k5, r4 = k0 + (k1 + k2) + (k3 + k4), r5 = k5.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BAdj(Vector256<float> k0, Vector256<float> k1, Vector256<float> k2, Vector256<float> k3, Vector256<float> k4, Vector256<float> k5, Vector256<float>* r, int stride)
    {
        var four = Vector256.Create(4f);
        var two = Vector256.Create(2f);
        var five = Vector256.Create(5f);
        Vector256<float> s12 = k1 + k2, d21 = k2 - k1, s34 = k3 + k4, d43 = k4 - k3;
        r[0] = four * k0;
        r[stride] = four * d21 + two * d43 + four * k5;
        r[2 * stride] = -(five * k0) - four * s12 - s34;
        r[3 * stride] = -d21 - two * d43 - five * k5;
        r[4 * stride] = k0 + s12 + s34;
        r[5 * stride] = k5;
    }

    // ---------------------------------------------------------------- U = G g Gᵀ

    /// <summary>The weights' transform, unless the workspace holds that of these very weights (compared as bits once per
    /// pass).</summary>
    private static void Prepare5(Winograd5Workspace ws, ReadOnlySpan<float> weight, long pass)
    {
        if (pass != 0 && ws.CheckedPass == pass && ws.Transformed) return;
        ws.CheckedPass = pass;
        var copy = ws.Weights.Span;
        if (ws.Transformed && MemoryMarshal.Cast<float, int>(weight).SequenceEqual(MemoryMarshal.Cast<float, int>(copy))) return;
        int inC = ws.Geometry.InC, outC = ws.OutC;
        var u = ws.U.Span;
        Span<float> t = stackalloc float[30]; // G g: 6×5
        Span<float> k = stackalloc float[36]; // (G g) Gᵀ: 6×6
        for (int o = 0; o < outC; o++)
            for (int c = 0; c < inC; c++)
            {
                var g = weight.Slice((o * inC + c) * 25, 25);
                for (int col = 0; col < 5; col++) G5(g[col], g[5 + col], g[10 + col], g[15 + col], g[20 + col], t, col, 5);
                for (int row = 0; row < 6; row++) G5(t[5 * row], t[5 * row + 1], t[5 * row + 2], t[5 * row + 3], t[5 * row + 4], k, 6 * row, 1);
                for (int xi = 0; xi < 36; xi++) u[(xi * outC + o) * 8 + c] = k[xi];
            }
        weight.CopyTo(copy);
        ws.Transformed = true;
    }

    /// <summary>G·r for a 5-vector r to u[at], u[at + stride], …: u0 = r0/4, u1,2 = −(e ± o)/6 with e = r0 + r2 + r4,
    /// o = r1 + r3; u3,4 = (f ± h)/6 with f = r0/4 + r2 + 4r4, h = r1/2 + 2r3; u5 = r4.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void G5(float r0, float r1, float r2, float r3, float r4, Span<float> u, int at, int stride)
    {
        float e = r0 + r2 + r4, o = r1 + r3, f = r0 * 0.25f + r2 + 4f * r4, h = r1 * 0.5f + 2f * r3;
        u[at] = r0 * 0.25f;
        u[at + stride] = -(e + o) * Sixth;
        u[at + 2 * stride] = -(e - o) * Sixth;
        u[at + 3 * stride] = (f + h) * Sixth;
        u[at + 4 * stride] = (f - h) * Sixth;
        u[at + 5 * stride] = r4;
    }

    /// <summary>Gᵀ (5×6) times z to k[at], k[at + stride], …: with P = z1 + z2, Q = z3 + z4, D = z2 − z1, E = z3 − z4:
    /// k0 = z0/4 − P/6 + Q/24, k1 = D/6 + E/12, k2 = (Q − P)/6, k3 = D/6 + E/3, k4 = 2Q/3 − P/6 + z5.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void G5T(float z0, float z1, float z2, float z3, float z4, float z5, Span<float> k, int at, int stride)
    {
        float p = z1 + z2, q = z3 + z4, d = z2 - z1, e = z3 - z4;
        k[at] = z0 * 0.25f - p * Sixth + q * (Sixth * 0.25f);
        k[at + stride] = d * Sixth + e * (Sixth * 0.5f);
        k[at + 2 * stride] = (q - p) * Sixth;
        k[at + 3 * stride] = d * Sixth + e * (1f / 3f);
        k[at + 4 * stride] = q * (2f / 3f) - p * Sixth + z5;
    }
}
