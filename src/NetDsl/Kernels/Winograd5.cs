using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetDsl.Kernels;

/// <summary>
/// One worker's scratch for <see cref="Winograd.Forward5"/> and <see cref="Winograd.Backward5"/> on one 5×5 convolution:
/// the transformed input V [36][InC][Ld] (the input gradient's dV in the backward pass), the products M [36][OutC][Ld]
/// (dM in the backward pass), the transformed weights packed per point for both products, and the weight gradient's
/// transform-domain sum dU.
/// </summary>
public sealed class Winograd5Workspace
{
    /// <summary>Scratch for <paramref name="maxSamples"/> samples at a time of the convolution <paramref name="geometry"/>
    /// (5×5, stride 1, see <see cref="Winograd.Supports5"/>) from geometry.InC to <paramref name="outC"/> channels.</summary>
    public Winograd5Workspace(in ConvGeometry geometry, int outC, int maxSamples)
    {
        if (!Winograd.Supports5(geometry)) throw new ArgumentException($"Winograd5Workspace: {geometry} is not a 5×5, stride-1, undilated convolution with padding of at most 4 and at most 12 output columns.", nameof(geometry));
        if (outC < 1) throw new ArgumentOutOfRangeException(nameof(outC), outC, "Winograd5Workspace: outC must be at least 1");
        if (maxSamples < 1) throw new ArgumentOutOfRangeException(nameof(maxSamples), maxSamples, "Winograd5Workspace: maxSamples must be at least 1");
        Geometry = geometry;
        OutC = outC;
        MaxSamples = maxSamples;
        TilesH = (geometry.OutH + 1) / 2;
        TilesW = (geometry.OutW + 1) / 2;
        int inC = geometry.InC, n = maxSamples * Tiles;
        // Room for a vector of 8 tiles past the last one (the transforms write whole vectors) and 64-byte aligned rows;
        // a cache line between the planes (a stride of a multiple of 4 KiB would put a tile's values in one L1 set).
        Ld = (n + 8 + 15) / 16 * 16;
        PlaneV = checked(inC * Ld + 16);
        PlaneM = checked(outC * Ld + 16);
        V = new AlignedBuffer(checked(Points * PlaneV));
        M = new AlignedBuffer(checked(Points * PlaneM));
        PackedSize = PackedGemm.PackedASize(outC, inC);
        PackedSizeT = PackedGemm.PackedASize(inC, outC);
        Packed = new AlignedBuffer(checked(Points * PackedSize));
        PackedT = new AlignedBuffer(checked(Points * PackedSizeT));
        Weights = new AlignedBuffer(checked(outC * inC * 25));
        DU = new AlignedBuffer(checked(Points * inC * outC));
        PackedV = new AlignedBuffer(checked(PackedGemm.PackedASize(inC, n)));
        MT = new AlignedBuffer(checked(n * outC));
    }

    /// <summary>Points ξ of the 6×6 transform domain.</summary>
    public const int Points = 36;
    /// <summary>The convolution this workspace is for.</summary>
    public ConvGeometry Geometry { get; }
    /// <summary>Output channels.</summary>
    public int OutC { get; }
    /// <summary>Most samples one call takes.</summary>
    public int MaxSamples { get; }
    /// <summary>Rows of 2×2 output tiles.</summary>
    public int TilesH { get; }
    /// <summary>Columns of 2×2 output tiles (at most 6).</summary>
    public int TilesW { get; }
    /// <summary>2×2 output tiles per sample.</summary>
    public int Tiles => TilesH * TilesW;
    internal int Ld { get; }
    internal int PlaneV { get; }
    internal int PlaneM { get; }
    internal AlignedBuffer V { get; }
    internal AlignedBuffer M { get; }
    internal int PackedSize { get; }
    internal int PackedSizeT { get; }
    /// <summary>U[ξ] [OutC, InC] per point, packed for PackedGemm (the forward pass's products).</summary>
    internal AlignedBuffer Packed { get; }
    /// <summary>U[ξ]ᵀ [InC, OutC] per point, packed (the input gradient's products).</summary>
    internal AlignedBuffer PackedT { get; }
    /// <summary>The weights U was made from (bits), to skip the transform when they did not change.</summary>
    internal AlignedBuffer Weights { get; }
    internal bool Transformed { get; set; }
    internal long CheckedPass { get; set; }
    /// <summary>dU[ξ] [InC, OutC], summed over the backward calls since the last AddWeightGradient5.</summary>
    internal AlignedBuffer DU { get; }
    internal bool HasGradient { get; set; }
    /// <summary>V[ξ] packed as the weight gradient's left operand.</summary>
    internal AlignedBuffer PackedV { get; }
    /// <summary>dM[ξ]ᵀ [tiles, OutC]: the weight gradient's right operand.</summary>
    internal AlignedBuffer MT { get; }
}

/// <summary>
/// 5×5 stride-1 convolution by Winograd's minimal filtering F(2×2, 5×5): a 2×2 output tile y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A
/// over its 6×6 input tile d, so the 100 multiply-adds per tile and channel pair become 36, done as 36 matrix products
/// over the channels (PackedGemm), one per point ξ of the transform domain. The interpolation points are F(4×4, 3×3)'s
/// (0, ±1, ±2, ∞), so Bᵀ is the same (<see cref="Bt(Vector256{float}, Vector256{float}, Vector256{float}, Vector256{float}, Vector256{float}, Vector256{float}, Vector256{float}*, int)"/>):
/// <code>
///   G  = [[¼, 0, 0, 0, 0], [−⅙, −⅙, −⅙, −⅙, −⅙], [−⅙, ⅙, −⅙, ⅙, −⅙], [1/24, 1/12, ⅙, ⅓, ⅔], [1/24, −1/12, ⅙, −⅓, ⅔], [0, 0, 0, 0, 1]]
///   Aᵀ = [[1, 1, 1, 1, 1, 0], [0, 1, −1, 2, −2, 1]]
/// </code>
/// The backward pass is the adjoint of the same sums: dM = A dy Aᵀ per output tile, then the weight gradient
/// dU[ξ] = Σ_t V_t[ξ] dM_t[ξ] (Gᵀ dU G at the end of the batch) and the input gradient dV[ξ] = U[ξ]ᵀ dM[ξ], each tile's
/// B dV Bᵀ added into dx where the tiles overlap. For convolutions with few channels (LeNet-5's conv2: 6 → 16) the
/// multiply-adds of direct and im2col convolution are what the time goes to; here each product keeps 36 of every 100.
/// The transforms are additions and multiplications by constants in a fixed order at 256 bits (eight tiles of a tile
/// row in the lanes: at most 6 tile columns) and the products are PackedGemm's, so the bits are the same at 512 and 256
/// bits and for any split of the samples; without SIMD the scalar transforms round differently.
/// </summary>
public static unsafe partial class Winograd
{
    /// <summary>Whether <paramref name="g"/> is a convolution <see cref="Forward5"/> computes: 5×5, stride 1, dilation 1,
    /// each padding at most 4, at most 12 output columns (a row of tiles fits eight lanes with two to spare, which the
    /// input gradient's overlapping tiles need).</summary>
    public static bool Supports5(in ConvGeometry g) =>
        g.KernelH == 5 && g.KernelW == 5 && g.StrideH == 1 && g.StrideW == 1 && g.Dilation == 1
        && g.PadTop is >= 0 and <= 4 && g.PadLeft is >= 0 and <= 4 && g.OutH >= 1 && g.OutW is >= 1 and <= 12
        && g.OutH - g.InH + 4 - g.PadTop is >= 0 and <= 4 && g.OutW - g.InW + 4 - g.PadLeft is >= 0 and <= 4;

    /// <summary>y[s] = conv(x[s]) + bias for <paramref name="samples"/> samples.</summary>
    /// <param name="ws">This worker's workspace for the convolution.</param>
    /// <param name="weight">[OutC, InC, 5, 5].</param>
    /// <param name="bias">[OutC], or empty for none.</param>
    /// <param name="x">samples × [InC, InH, InW].</param>
    /// <param name="y">samples × [OutC, OutH, OutW].</param>
    /// <param name="samples">Samples in x and y, at most the workspace's MaxSamples.</param>
    /// <param name="pass">A caller's number for a stretch in which the weights do not change: the weights are compared
    /// with those of the cached transform once per pass. 0: on every call.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward5(Winograd5Workspace ws, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, ReadOnlySpan<float> x, Span<float> y, int samples, long pass = 0)
    {
        var g = ws.Geometry;
        int inC = g.InC, outC = ws.OutC, inSize = inC * g.InH * g.InW, outSize = outC * g.OutH * g.OutW;
        if (samples < 1 || samples > ws.MaxSamples) throw new ArgumentOutOfRangeException(nameof(samples), samples, $"Winograd.Forward5: samples must be between 1 and {ws.MaxSamples}");
        if (weight.Length != outC * inC * 25) throw new ArgumentException($"Winograd.Forward5: weight has {weight.Length} floats, expected {outC * inC * 25}.", nameof(weight));
        if (!bias.IsEmpty && bias.Length != outC) throw new ArgumentException($"Winograd.Forward5: bias has {bias.Length} floats, expected {outC}.", nameof(bias));
        if (x.Length < samples * inSize) throw new ArgumentException($"Winograd.Forward5: x has {x.Length} floats, expected {samples * inSize}.", nameof(x));
        if (y.Length < samples * outSize) throw new ArgumentException($"Winograd.Forward5: y has {y.Length} floats, expected {samples * outSize}.", nameof(y));
        Prepare5(ws, weight, pass);
        int tiles = ws.Tiles, ld = ws.Ld, n = samples * tiles;
        fixed (float* px = x, pv = ws.V.Span)
            InputTiles5(ws, px, pv, samples);
        var v = ws.V.Span;
        var m = ws.M.Span;
        var packed = ws.Packed.Span;
        for (int xi = 0; xi < Winograd5Workspace.Points; xi++)
            PackedGemm.Mul(outC, n, inC, packed.Slice(xi * ws.PackedSize), v.Slice(xi * ws.PlaneV), ld, m.Slice(xi * ws.PlaneM), ld, accumulate: false);
        fixed (float* pm = m, py = y, pb = bias)
            for (int s = 0; s < samples; s++)
                for (int o = 0; o < outC; o++)
                    OutputTile5(ws, pm + (nint)o * ld + s * tiles, bias.IsEmpty ? 0f : pb[o], py + (nint)s * outSize + (nint)o * g.OutH * g.OutW);
    }

    /// <summary>
    /// The backward pass of <paramref name="samples"/> samples: the weight gradient's transform-domain part added to the
    /// sum since the last <see cref="AddWeightGradient5"/>, and (if <paramref name="dx"/> is not empty) the input gradient,
    /// written (not added) to dx.
    /// </summary>
    /// <param name="ws">This worker's workspace (the forward pass's transformed input is recomputed here).</param>
    /// <param name="weight">[OutC, InC, 5, 5], the forward pass's.</param>
    /// <param name="x">samples × [InC, InH, InW], the forward pass's input.</param>
    /// <param name="dy">samples × [OutC, OutH, OutW], the gradient of its output.</param>
    /// <param name="samples">Samples, at most the workspace's MaxSamples.</param>
    /// <param name="dx">samples × [InC, InH, InW], or empty: no input gradient.</param>
    /// <param name="pass">As in <see cref="Forward5"/>.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward5(Winograd5Workspace ws, ReadOnlySpan<float> weight, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, int samples, Span<float> dx, long pass = 0)
    {
        var g = ws.Geometry;
        int inC = g.InC, outC = ws.OutC, inSize = inC * g.InH * g.InW, outSize = outC * g.OutH * g.OutW;
        if (samples < 1 || samples > ws.MaxSamples) throw new ArgumentOutOfRangeException(nameof(samples), samples, $"Winograd.Backward5: samples must be between 1 and {ws.MaxSamples}");
        if (weight.Length != outC * inC * 25) throw new ArgumentException($"Winograd.Backward5: weight has {weight.Length} floats, expected {outC * inC * 25}.", nameof(weight));
        if (x.Length < samples * inSize) throw new ArgumentException($"Winograd.Backward5: x has {x.Length} floats, expected {samples * inSize}.", nameof(x));
        if (dy.Length < samples * outSize) throw new ArgumentException($"Winograd.Backward5: dy has {dy.Length} floats, expected {samples * outSize}.", nameof(dy));
        if (!dx.IsEmpty && dx.Length < samples * inSize) throw new ArgumentException($"Winograd.Backward5: dx has {dx.Length} floats, expected {samples * inSize}.", nameof(dx));
        int tiles = ws.Tiles, ld = ws.Ld, n = samples * tiles;
        fixed (float* px = x, pv = ws.V.Span, pdy = dy, pm = ws.M.Span)
        {
            InputTiles5(ws, px, pv, samples);
            for (int s = 0; s < samples; s++)
                for (int o = 0; o < outC; o++)
                    OutputAdjoint5(ws, pdy + (nint)s * outSize + (nint)o * g.OutH * g.OutW, pm + (nint)o * ld + s * tiles);
        }
        // dU[ξ] [InC, OutC] (+)= V[ξ] [InC, n] · dM[ξ]ᵀ [n, OutC]: InC rows (a panel of eight), OutC columns, depth n.
        var v = ws.V.Span;
        var m = ws.M.Span;
        var du = ws.DU.Span;
        var packedV = ws.PackedV.Span;
        var mt = ws.MT.Span;
        for (int xi = 0; xi < Winograd5Workspace.Points; xi++)
        {
            PackedGemm.PackA(inC, n, v.Slice(xi * ws.PlaneV), ld, 1, packedV);
            PackedGemm.Transpose(outC, n, m.Slice(xi * ws.PlaneM), ld, mt, outC);
            PackedGemm.Mul(inC, outC, n, packedV, mt, outC, du.Slice(xi * inC * outC, inC * outC), outC, accumulate: ws.HasGradient);
        }
        ws.HasGradient = true;
        if (dx.IsEmpty) return;
        // dV[ξ] [InC, n] = U[ξ]ᵀ [InC, OutC] · dM[ξ] [OutC, n], into V (no longer needed), then B dV Bᵀ into dx.
        Prepare5(ws, weight, pass);
        var packedT = ws.PackedT.Span;
        for (int xi = 0; xi < Winograd5Workspace.Points; xi++)
            PackedGemm.Mul(inC, n, outC, packedT.Slice(xi * ws.PackedSizeT), m.Slice(xi * ws.PlaneM), ld, v.Slice(xi * ws.PlaneV), ld, accumulate: false);
        fixed (float* pv = v, pdx = dx)
            for (int s = 0; s < samples; s++)
                for (int c = 0; c < inC; c++)
                    InputAdjoint5(ws, pv + (nint)c * ld + s * tiles, pdx + (nint)s * inSize + (nint)c * g.InH * g.InW);
    }

    /// <summary>dWeight [OutC, InC, 5, 5] += Gᵀ dU G, dU being what <see cref="Backward5"/> summed since the last call
    /// (nothing if it was not called); the next <see cref="Backward5"/> starts a new sum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddWeightGradient5(Winograd5Workspace ws, Span<float> dWeight)
    {
        int inC = ws.Geometry.InC, outC = ws.OutC;
        if (dWeight.Length != outC * inC * 25) throw new ArgumentException($"Winograd.AddWeightGradient5: dWeight has {dWeight.Length} floats, expected {outC * inC * 25}.", nameof(dWeight));
        if (!ws.HasGradient) return;
        ws.HasGradient = false;
        var du = ws.DU.Span;
        Span<float> z = stackalloc float[36];
        Span<float> t = stackalloc float[30]; // Gᵀ dU: 5×6
        Span<float> k = stackalloc float[5];
        int pairs = inC * outC;
        for (int o = 0; o < outC; o++)
            for (int c = 0; c < inC; c++)
            {
                for (int xi = 0; xi < 36; xi++) z[xi] = du[xi * pairs + c * outC + o];
                for (int j = 0; j < 6; j++) // down column j
                    G5T(z[j], z[6 + j], z[12 + j], z[18 + j], z[24 + j], z[30 + j], t, j, 6);
                var dw = dWeight.Slice((o * inC + c) * 25, 25);
                for (int r = 0; r < 5; r++) // along row r
                {
                    G5T(t[6 * r], t[6 * r + 1], t[6 * r + 2], t[6 * r + 3], t[6 * r + 4], t[6 * r + 5], k, 0, 1);
                    for (int q = 0; q < 5; q++) dw[5 * r + q] += k[q];
                }
            }
    }

    // ---------------------------------------------------------------- U = G g Gᵀ (6×6), packed per ξ, both ways

    /// <summary>The weights' transform, unless the workspace holds that of these very weights (compared as bits once per
    /// pass).</summary>
    private static void Prepare5(Winograd5Workspace ws, ReadOnlySpan<float> weight, long pass)
    {
        if (pass != 0 && ws.CheckedPass == pass && ws.Transformed) return;
        ws.CheckedPass = pass;
        var copy = ws.Weights.Span;
        if (ws.Transformed && MemoryMarshal.Cast<float, int>(weight).SequenceEqual(MemoryMarshal.Cast<float, int>(copy))) return;
        TransformWeights5(ws, weight);
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

    /// <summary>U = G g Gᵀ of every filter, packed per point as [OutC, InC] (forward) and [InC, OutC] (input gradient).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransformWeights5(Winograd5Workspace ws, ReadOnlySpan<float> weight)
    {
        int inC = ws.Geometry.InC, outC = ws.OutC, mr = PackedGemm.MR;
        var packed = ws.Packed.Span;
        var packedT = ws.PackedT.Span;
        Span<float> t = stackalloc float[30]; // G g: 6×5
        Span<float> u = stackalloc float[36]; // (G g) Gᵀ: 6×6
        for (int o = 0; o < outC; o++)
            for (int c = 0; c < inC; c++)
            {
                var k = weight.Slice((o * inC + c) * 25, 25);
                for (int col = 0; col < 5; col++) G5(k[col], k[5 + col], k[10 + col], k[15 + col], k[20 + col], t, col, 5);
                for (int row = 0; row < 6; row++) G5(t[5 * row], t[5 * row + 1], t[5 * row + 2], t[5 * row + 3], t[5 * row + 4], u, 6 * row, 1);
                int at = o / mr * mr * inC + c * mr + o % mr, atT = c / mr * mr * outC + o * mr + c % mr;
                for (int xi = 0; xi < 36; xi++)
                {
                    packed[xi * ws.PackedSize + at] = u[xi];
                    packedT[xi * ws.PackedSizeT + atT] = u[xi];
                }
            }
    }

    // ---------------------------------------------------------------- V = Bᵀ d B (6×6 tiles, two apart)

    // Tile j's columns start at padded column 2j: its six columns are E[j], O[j], E[j + 1], O[j + 1], E[j + 2], O[j + 2]
    // with E and O the even and odd padded columns, so the eight lanes are eight tiles of a tile row. Each padded row goes
    // through Bᵀ along the row once (a tile row shares four of its six rows with the next), then Bᵀ down each tile row's six.

    /// <summary>Every channel of <paramref name="samples"/> samples through the input transform into V.</summary>
    private static void InputTiles5(Winograd5Workspace ws, float* px, float* pv, int samples)
    {
        var g = ws.Geometry;
        int inSize = g.InC * g.InH * g.InW;
        for (int s = 0; s < samples; s++)
            for (int c = 0; c < g.InC; c++)
                InputTile5(ws, px + (nint)s * inSize + (nint)c * g.InH * g.InW, pv + (nint)c * ws.Ld + s * ws.Tiles);
    }

    /// <summary>One channel of one sample: its tiles' 36 values to v[ξ·PlaneV + t].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InputTile5(Winograd5Workspace ws, float* x, float* v)
    {
        var g = ws.Geometry;
        int tilesH = ws.TilesH, tilesW = ws.TilesW, rows = 2 * tilesH + 4;
        nint ldXi = ws.PlaneV;
        if (Avx2.IsSupported)
        {
            Vector256<float>* h = stackalloc Vector256<float>[6 * rows]; // h[6r + j]: padded row r along the row, point j
            Vector256<float>* kv = stackalloc Vector256<float>[6];
            int iw0 = -g.PadLeft;
            for (int r = 0; r < rows; r++)
            {
                int ih = r - g.PadTop;
                if ((uint)ih >= (uint)g.InH)
                {
                    for (int j = 0; j < 6; j++) h[6 * r + j] = Vector256<float>.Zero;
                    continue;
                }
                float* row = x + (nint)ih * g.InW;
                Split(Load(row, iw0, g.InW), Load(row, iw0 + 8, g.InW), out var e0, out var o0);
                Split(Load(row, iw0 + 2, g.InW), Load(row, iw0 + 10, g.InW), out var e1, out var o1);
                Split(Load(row, iw0 + 4, g.InW), Load(row, iw0 + 12, g.InW), out var e2, out var o2);
                Bt(e0, o0, e1, o1, e2, o2, h + 6 * r, 1);
            }
            for (int ty = 0; ty < tilesH; ty++)
            {
                Vector256<float>* top = h + 12 * ty; // padded rows 2ty … 2ty + 5
                float* dst = v + ty * tilesW;
                for (int j = 0; j < 6; j++)
                {
                    Bt(top[j], top[6 + j], top[12 + j], top[18 + j], top[24 + j], top[30 + j], kv, 1);
                    for (int i = 0; i < 6; i++) Vector256.Store(kv[i], dst + (6 * i + j) * ldXi);
                }
            }
            return;
        }
        Span<float> d = stackalloc float[36];
        Span<float> k = stackalloc float[6];
        for (int ty = 0; ty < tilesH; ty++)
            for (int tx = 0; tx < tilesW; tx++)
            {
                LoadTile(in g, x, 2 * ty - g.PadTop, 2 * tx - g.PadLeft, 6, d);
                for (int r = 0; r < 6; r++)
                {
                    Bt(d[6 * r], d[6 * r + 1], d[6 * r + 2], d[6 * r + 3], d[6 * r + 4], d[6 * r + 5], k);
                    k.CopyTo(d.Slice(6 * r, 6));
                }
                float* dst = v + ty * tilesW + tx;
                for (int j = 0; j < 6; j++)
                {
                    Bt(d[j], d[6 + j], d[12 + j], d[18 + j], d[24 + j], d[30 + j], k);
                    for (int i = 0; i < 6; i++) dst[(6 * i + j) * ldXi] = k[i];
                }
            }
    }

    // ---------------------------------------------------------------- y = Aᵀ M A + bias (2×2)

    // Aᵀ applied to six values: p = m1 + m2, q = m1 − m2, r = m3 + m4, s = m3 − m4; y0 = (m0 + p) + r, y1 = (q + 2s) + m5.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void At2(float m0, float m1, float m2, float m3, float m4, float m5, out float y0, out float y1)
    {
        float p = m1 + m2, q = m1 - m2, r = m3 + m4, s = m3 - m4;
        y0 = m0 + p + r;
        y1 = q + 2f * s + m5;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void At2(Vector256<float> m0, Vector256<float> m1, Vector256<float> m2, Vector256<float> m3, Vector256<float> m4, Vector256<float> m5,
        out Vector256<float> y0, out Vector256<float> y1)
    {
        Vector256<float> p = m1 + m2, q = m1 - m2, r = m3 + m4, s = m3 - m4;
        y0 = m0 + p + r;
        y1 = q + Vector256.Create(2f) * s + m5;
    }

    /// <summary>One output channel of one sample: m[ξ·PlaneM + t] → y [OutH, OutW] + bias.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void OutputTile5(Winograd5Workspace ws, float* m, float bias, float* y)
    {
        var g = ws.Geometry;
        int tilesH = ws.TilesH, tilesW = ws.TilesW;
        nint ldXi = ws.PlaneM;
        if (Avx2.IsSupported)
        {
            var b = Vector256.Create(bias);
            Vector256<float>* a = stackalloc Vector256<float>[12]; // Aᵀ M: 2 rows × 6 points
            for (int ty = 0; ty < tilesH; ty++)
            {
                float* p = m + ty * tilesW;
                for (int j = 0; j < 6; j++)
                    At2(L(p, j, ldXi), L(p, 6 + j, ldXi), L(p, 12 + j, ldXi), L(p, 18 + j, ldXi), L(p, 24 + j, ldXi), L(p, 30 + j, ldXi), out a[j], out a[6 + j]);
                At2(a[0], a[1], a[2], a[3], a[4], a[5], out var y00, out var y01);
                At2(a[6], a[7], a[8], a[9], a[10], a[11], out var y10, out var y11);
                StoreRow(in g, y + (nint)(2 * ty) * g.OutW, null, 0, y00 + b, y01 + b);
                if (2 * ty + 1 < g.OutH) StoreRow(in g, y + (nint)(2 * ty + 1) * g.OutW, null, 0, y10 + b, y11 + b);
            }
            return;
        }
        Span<float> u = stackalloc float[12];
        for (int ty = 0; ty < tilesH; ty++)
            for (int tx = 0; tx < tilesW; tx++)
            {
                float* p = m + ty * tilesW + tx;
                for (int j = 0; j < 6; j++)
                    At2(p[j * ldXi], p[(6 + j) * ldXi], p[(12 + j) * ldXi], p[(18 + j) * ldXi], p[(24 + j) * ldXi], p[(30 + j) * ldXi], out u[j], out u[6 + j]);
                At2(u[0], u[1], u[2], u[3], u[4], u[5], out float y00, out float y01);
                At2(u[6], u[7], u[8], u[9], u[10], u[11], out float y10, out float y11);
                Put(g, y, null, 2 * ty, 2 * tx, y00 + bias);
                Put(g, y, null, 2 * ty, 2 * tx + 1, y01 + bias);
                Put(g, y, null, 2 * ty + 1, 2 * tx, y10 + bias);
                Put(g, y, null, 2 * ty + 1, 2 * tx + 1, y11 + bias);
            }
    }

    // ---------------------------------------------------------------- dM = A dy Aᵀ (the adjoint of Aᵀ M A)

    // A (6×2) applied to two values (a, b): (a, a + b, a − b, a + 2b, a − 2b, b).

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void A2(float a, float b, Span<float> m, int at, int stride)
    {
        float twice = 2f * b;
        m[at] = a;
        m[at + stride] = a + b;
        m[at + 2 * stride] = a - b;
        m[at + 3 * stride] = a + twice;
        m[at + 4 * stride] = a - twice;
        m[at + 5 * stride] = b;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void A2(Vector256<float> a, Vector256<float> b, Vector256<float>* m, int stride)
    {
        var twice = Vector256.Create(2f) * b;
        m[0] = a;
        m[stride] = a + b;
        m[2 * stride] = a - b;
        m[3 * stride] = a + twice;
        m[4 * stride] = a - twice;
        m[5 * stride] = b;
    }

    /// <summary>One output channel of one sample: each 2×2 tile of dy (zero past the edges) as A dy Aᵀ (6×6) into
    /// m[ξ·PlaneM + t].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void OutputAdjoint5(Winograd5Workspace ws, float* dy, float* m)
    {
        var g = ws.Geometry;
        int tilesH = ws.TilesH, tilesW = ws.TilesW;
        nint ldXi = ws.PlaneM;
        if (Avx2.IsSupported)
        {
            Vector256<float>* even = stackalloc Vector256<float>[6]; // A applied down the even columns
            Vector256<float>* odd = stackalloc Vector256<float>[6];
            Vector256<float>* u = stackalloc Vector256<float>[6];
            for (int ty = 0; ty < tilesH; ty++)
            {
                float* row = dy + (nint)(2 * ty) * g.OutW;
                Split(Load(row, 0, g.OutW), Load(row, 8, g.OutW), out var e0, out var o0);
                Vector256<float> e1 = default, o1 = default;
                if (2 * ty + 1 < g.OutH) Split(Load(row + g.OutW, 0, g.OutW), Load(row + g.OutW, 8, g.OutW), out e1, out o1);
                A2(e0, e1, even, 1);
                A2(o0, o1, odd, 1);
                float* dst = m + ty * tilesW;
                for (int i = 0; i < 6; i++)
                {
                    A2(even[i], odd[i], u, 1);
                    for (int j = 0; j < 6; j++) Vector256.Store(u[j], dst + (6 * i + j) * ldXi);
                }
            }
            return;
        }
        Span<float> ev = stackalloc float[6];
        Span<float> od = stackalloc float[6];
        Span<float> us = stackalloc float[6];
        for (int ty = 0; ty < tilesH; ty++)
            for (int tx = 0; tx < tilesW; tx++)
            {
                float D(int r, int q) => 2 * ty + r < g.OutH && 2 * tx + q < g.OutW ? dy[(2 * ty + r) * g.OutW + 2 * tx + q] : 0f;
                A2(D(0, 0), D(1, 0), ev, 0, 1);
                A2(D(0, 1), D(1, 1), od, 0, 1);
                float* dst = m + ty * tilesW + tx;
                for (int i = 0; i < 6; i++)
                {
                    A2(ev[i], od[i], us, 0, 1);
                    for (int j = 0; j < 6; j++) dst[(6 * i + j) * ldXi] = us[j];
                }
            }
    }

    // ---------------------------------------------------------------- dx = Σ_t B dV_t Bᵀ (the adjoint of Bᵀ d B)

    // B (the transpose of Bᵀ) applied to six values k0..k5:
    //   r0 = 4k0, r1 = 4(k2 − k1) + 2(k4 − k3) + 4k5, r2 = −5k0 − 4(k1 + k2) − (k3 + k4),
    //   r3 = (k1 − k2) + 2(k3 − k4) − 5k5, r4 = k0 + (k1 + k2) + (k3 + k4), r5 = k5.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BAdj(float k0, float k1, float k2, float k3, float k4, float k5, Span<float> r, int at, int stride)
    {
        float s12 = k1 + k2, d21 = k2 - k1, s34 = k3 + k4, d43 = k4 - k3;
        r[at] = 4f * k0;
        r[at + stride] = 4f * d21 + 2f * d43 + 4f * k5;
        r[at + 2 * stride] = -5f * k0 - 4f * s12 - s34;
        r[at + 3 * stride] = -d21 - 2f * d43 - 5f * k5;
        r[at + 4 * stride] = k0 + s12 + s34;
        r[at + 5 * stride] = k5;
    }

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

    /// <summary>One input channel of one sample: each tile's B dV Bᵀ (dv[ξ·PlaneV + t]) added where it lies, written to
    /// dx [InH, InW]. A tile row's six rows of tile contributions are summed in even and odd column sets (tile j's column
    /// 2q or 2q + 1 is set column j + q), overlapping the next tile row's by four rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InputAdjoint5(Winograd5Workspace ws, float* dv, float* dx)
    {
        var g = ws.Geometry;
        int tilesH = ws.TilesH, tilesW = ws.TilesW, rows = 2 * tilesH + 4;
        nint ldXi = ws.PlaneV;
        if (Avx2.IsSupported)
        {
            Vector256<float>* sumE = stackalloc Vector256<float>[rows];
            Vector256<float>* sumO = stackalloc Vector256<float>[rows];
            for (int r = 0; r < rows; r++) sumE[r] = sumO[r] = Vector256<float>.Zero;
            Vector256<float>* t = stackalloc Vector256<float>[36]; // B dV: t[6r + j]
            Vector256<float>* c = stackalloc Vector256<float>[6];
            // Lanes past the row's last tile hold the next tile row's tiles: cleared before the sets are shifted.
            var inside = Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(tilesW)).AsSingle();
            var up1 = Vector256.Create(7, 0, 1, 2, 3, 4, 5, 6); // lane j → j + 1 (lane 7, cleared, comes round to lane 0)
            var up2 = Vector256.Create(6, 7, 0, 1, 2, 3, 4, 5);
            for (int ty = 0; ty < tilesH; ty++)
            {
                float* p = dv + ty * tilesW;
                for (int j = 0; j < 6; j++)
                    BAdj(L(p, j, ldXi), L(p, 6 + j, ldXi), L(p, 12 + j, ldXi), L(p, 18 + j, ldXi), L(p, 24 + j, ldXi), L(p, 30 + j, ldXi), t + j, 6);
                for (int r = 0; r < 6; r++)
                {
                    BAdj(t[6 * r], t[6 * r + 1], t[6 * r + 2], t[6 * r + 3], t[6 * r + 4], t[6 * r + 5], c, 1);
                    var e = (c[0] & inside) + Avx2.PermuteVar8x32(c[2] & inside, up1) + Avx2.PermuteVar8x32(c[4] & inside, up2);
                    var o = (c[1] & inside) + Avx2.PermuteVar8x32(c[3] & inside, up1) + Avx2.PermuteVar8x32(c[5] & inside, up2);
                    sumE[2 * ty + r] += e;
                    sumO[2 * ty + r] += o;
                }
            }
            float* line = stackalloc float[16];
            for (int r = 0; r < rows; r++)
            {
                int ih = r - g.PadTop;
                if ((uint)ih >= (uint)g.InH) continue;
                var lo = Avx.UnpackLow(sumE[r], sumO[r]);   // padded columns 0 1 2 3 | 8 9 10 11
                var hi = Avx.UnpackHigh(sumE[r], sumO[r]);  // 4 5 6 7 | 12 13 14 15
                Avx.Store(line, Avx.Permute2x128(lo, hi, 0x20));
                Avx.Store(line + 8, Avx.Permute2x128(lo, hi, 0x31));
                new ReadOnlySpan<float>(line + g.PadLeft, g.InW).CopyTo(new Span<float>(dx + (nint)ih * g.InW, g.InW));
            }
            return;
        }
        int width = 2 * tilesW + 4;
        Span<float> sum = stackalloc float[rows * width];
        sum.Clear();
        Span<float> ts = stackalloc float[36];
        Span<float> cs = stackalloc float[6];
        for (int ty = 0; ty < tilesH; ty++)
            for (int tx = 0; tx < tilesW; tx++)
            {
                float* p = dv + ty * tilesW + tx;
                for (int j = 0; j < 6; j++)
                    BAdj(p[j * ldXi], p[(6 + j) * ldXi], p[(12 + j) * ldXi], p[(18 + j) * ldXi], p[(24 + j) * ldXi], p[(30 + j) * ldXi], ts, j, 6);
                for (int r = 0; r < 6; r++)
                {
                    BAdj(ts[6 * r], ts[6 * r + 1], ts[6 * r + 2], ts[6 * r + 3], ts[6 * r + 4], ts[6 * r + 5], cs, 0, 1);
                    for (int q = 0; q < 6; q++) sum[(2 * ty + r) * width + 2 * tx + q] += cs[q];
                }
            }
        for (int ih = 0; ih < g.InH; ih++)
            for (int iw = 0; iw < g.InW; iw++) dx[(nint)ih * g.InW + iw] = sum[(ih + g.PadTop) * width + iw + g.PadLeft];
    }
}
