using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetDsl.Kernels;

/// <summary>
/// Winograd F(4×4, 3×3): a 4×4 output tile y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A over its 6×6 input tile d, so the 144
/// multiply-adds per tile and channel pair become 36 (F(2×2, 3×3): 36 → 16 per 2×2 tile), as 36 matrix products over the
/// channels, one per point ξ of the 6×6 transform domain (interpolation points 0, ±1, ±2, ∞; Lavin and Gray, 2016):
/// <code>
///   Bᵀ = [[4, 0, −5, 0, 1, 0], [0, −4, −4, 1, 1, 0], [0, 4, −4, −1, 1, 0], [0, −2, −1, 2, 1, 0], [0, 2, −1, −2, 1, 0], [0, 4, 0, −5, 0, 1]]
///   G  = [[¼, 0, 0], [−⅙, −⅙, −⅙], [−⅙, ⅙, −⅙], [1/24, 1/12, ⅙], [1/24, −1/12, ⅙], [0, 0, 1]]
///   Aᵀ = [[1, 1, 1, 1, 1, 0], [0, 1, −1, 2, −2, 0], [0, 1, 1, 4, 4, 0], [0, 1, −1, 8, −8, 1]]
/// </code>
/// A sample's 14×14 output (the cnn's conv2) is 16 tiles: at batch 1 each product is [OutC, InC] · [InC, 16], one
/// 16-column strip of PackedGemm with nothing wasted, where F(2×2)'s 49 tiles fill a 32-column strip and a half-empty one
/// (the products' multiply-adds: 36·16 = 576 per channel pair against 16·64 = 1024). The transforms are a fixed sequence
/// of multiplications by constants and additions, the same at every vector width, so results are bit-identical at 512
/// and 256 bits; errors are larger than F(2×2)'s (larger transform coefficients), well inside the goldens'.
/// </summary>
public static unsafe partial class Winograd
{
    /// <summary>4×4 output tiles of one sample: ⌈OH/4⌉·⌈OW/4⌉.</summary>
    public static int Tiles4Of(in ConvGeometry g) => (g.OutH + 3) / 4 * ((g.OutW + 3) / 4);

    /// <summary>Every channel of <paramref name="samples"/> samples through F(4×4)'s input transform into d.V. Rows of
    /// four tiles (two tile rows per vector) read a zero-padded copy of each plane: no edge cases in the loads.</summary>
    private static void InputTiles4(in ConvGeometry g, float* px, float* pv, int samples, WinogradDomain d)
    {
        int inSize = g.InC * g.InH * g.InW;
        int padRows = 4 * ((g.OutH + 3) / 4) + 6;
        bool padded = Avx2.IsSupported && (g.OutW + 3) / 4 == 4 && PadStride * padRows <= 8192;
        float* pad = stackalloc float[padded ? PadStride * padRows : 0];
        if (padded) new Span<float>(pad, PadStride * padRows).Clear();
        for (int s = 0; s < samples; s++)
            for (int c = 0; c < g.InC; c++)
                InputTile4(in g, px + (nint)s * inSize + (nint)c * g.InH * g.InW, pv + (nint)c * d.Ld + s * d.Tiles, d.PlaneV, padded ? pad : null);
    }

    // ---------------------------------------------------------------- U = G g Gᵀ (6×6), packed per ξ

    /// <summary>⅙ as a float: G's sixths are multiplications by it (a division per value made the transform a tenth of the
    /// cnn's training step).</summary>
    private const float Sixth = 1f / 6f;

    /// <summary>G·r for a 3-vector r: u0 = r0/4, u1 = −(r0 + r2 + r1)·⅙, u2 = −(r0 + r2 − r1)·⅙,
    /// u3 = (r0/4 + r2 + r1/2)·⅙, u4 = (r0/4 + r2 − r1/2)·⅙, u5 = r2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void G4(float r0, float r1, float r2, Span<float> u, int at, int stride)
    {
        float e = r0 + r2, f = r0 * 0.25f + r2, h = r1 * 0.5f;
        u[at] = r0 * 0.25f;
        u[at + stride] = -(e + r1) * Sixth;
        u[at + 2 * stride] = -(e - r1) * Sixth;
        u[at + 3 * stride] = (f + h) * Sixth;
        u[at + 4 * stride] = (f - h) * Sixth;
        u[at + 5 * stride] = r2;
    }

    /// <summary>U = G g Gᵀ (6×6) of every filter, packed per point.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransformWeights4(WinogradWorkspace ws, Span<float> packed, ReadOnlySpan<float> weight, bool transposed)
    {
        int inC = ws.Geometry.InC, outC = ws.OutC, mr = PackedGemm.MR;
        if (Avx2.IsSupported && mr == 8)
        {
            // A panel's eight output channels side by side, as PackA lays them out: the same operations on eight lanes
            TransformWeights4Panels(ws, packed, weight, transposed);
            return;
        }
        Span<float> t = stackalloc float[18]; // G g: 6×3
        Span<float> u = stackalloc float[36]; // (G g) Gᵀ: 6×6
        Span<float> gk = stackalloc float[9];
        for (int o = 0; o < outC; o++)
            for (int c = 0; c < inC; c++)
            {
                // g[u, v]: the forward kernel, or the transposed one's turned by 180° with the channel axes swapped
                ReadOnlySpan<float> k = transposed ? weight.Slice((c * outC + o) * 9, 9) : weight.Slice((o * inC + c) * 9, 9);
                for (int i = 0; i < 9; i++) gk[i] = transposed ? k[8 - i] : k[i];
                for (int col = 0; col < 3; col++) G4(gk[col], gk[3 + col], gk[6 + col], t, col, 3);
                for (int row = 0; row < 6; row++) G4(t[3 * row], t[3 * row + 1], t[3 * row + 2], u, 6 * row, 1);
                int at = o / mr * mr * inC + c * mr + o % mr;
                for (int xi = 0; xi < 36; xi++) packed[xi * ws.PackedSize + at] = u[xi];
            }
    }

    /// <summary>G4 (the scalar one) on eight lanes: the same operations, so the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void G4(Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float>* u, int stride)
    {
        var quarter = Vector256.Create(0.25f);
        var sixth = Vector256.Create(Sixth);
        Vector256<float> e = r0 + r2, f = r0 * quarter + r2, h = r1 * Vector256.Create(0.5f);
        u[0] = r0 * quarter;
        u[stride] = -(e + r1) * sixth;
        u[2 * stride] = -(e - r1) * sixth;
        u[3 * stride] = (f + h) * sixth;
        u[4 * stride] = (f - h) * sixth;
        u[5 * stride] = r2;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransformWeights4Panels(WinogradWorkspace ws, Span<float> packed, ReadOnlySpan<float> weight, bool transposed)
    {
        int inC = ws.Geometry.InC, outC = ws.OutC;
        Vector256<float>* gk = stackalloc Vector256<float>[9];
        Vector256<float>* t = stackalloc Vector256<float>[18];
        Vector256<float>* u = stackalloc Vector256<float>[36];
        // Filter o + l sits l·stride floats after filter o: [OutC, InC, 3, 3], or the transposed [InC, OutC, 3, 3]
        int stride = transposed ? 9 : inC * 9;
        var lane = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
        var offsets = lane * Vector256.Create(stride);
        fixed (float* pw = weight, pp = packed)
        {
            for (int o0 = 0; o0 < outC; o0 += 8)
            {
                // lanes past the last channel read nothing and stay zero, as PackA pads
                var inside = Vector256.LessThan(lane, Vector256.Create(outC - o0)).AsSingle();
                for (int c = 0; c < inC; c++)
                {
                    float* first = transposed ? pw + ((nint)c * outC + o0) * 9 : pw + ((nint)o0 * inC + c) * 9;
                    for (int i = 0; i < 9; i++) // tap i of the eight filters (the transposed kernel turned by 180°)
                        gk[i] = Avx2.GatherMaskVector256(Vector256<float>.Zero, first + (transposed ? 8 - i : i), offsets, inside, 4);
                    for (int col = 0; col < 3; col++) G4(gk[col], gk[3 + col], gk[6 + col], t + col, 3);
                    for (int row = 0; row < 6; row++) G4(t[3 * row], t[3 * row + 1], t[3 * row + 2], u + 6 * row, 1);
                    float* at = pp + (nint)o0 * inC + c * 8;
                    for (int xi = 0; xi < 36; xi++) Vector256.Store(u[xi], at + (nint)xi * ws.PackedSize);
                }
            }
        }
    }

    // ---------------------------------------------------------------- V = Bᵀ d B (6×6)

    // Bᵀ applied to six values r0..r5 (first along each input row, horizontally, then down the six rows' results):
    //   k0 = (4r0 − 5r2) + r4        a = r4 − 4r2, b = r3 − 4r1:   k1 = a + b,  k2 = a − b
    //   k5 = (4r1 − 5r3) + r5        c = r4 − r2,  d = 2(r3 − r1): k3 = c + d,  k4 = c − d
    // Tile j's columns start at padded column 4j, so column q of a row of tiles is every fourth padded column from q.
    // A vector holds eight tiles: of one tile row, or, when a row has exactly four tiles (the cnn's 14×14), of two.

    /// <summary>Transforms one channel of one sample: its tiles' 36 values go to v[ξ·ldXi + t].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InputTile4(in ConvGeometry g, float* x, float* v, nint ldXi, float* pad)
    {
        int tilesH = (g.OutH + 3) / 4, tilesW = (g.OutW + 3) / 4;
        if (pad != null)
        {
            InputTile4Padded(in g, x, v, ldXi, pad, tilesH);
            return;
        }
        if (Avx2.IsSupported)
        {
            // h[6r + j]: input row r of the tiles, transformed along the row (point j)
            Vector256<float>* h = stackalloc Vector256<float>[36];
            Vector256<float>* kv = stackalloc Vector256<float>[6];
            // Tile rows in order, eight tiles at a time: a vector's lanes past a row's last tile spill into the next tile
            // row's first tiles, which that row then writes. (Rows of exactly four tiles take InputTile4Padded.)
            for (int ty = 0; ty < tilesH; ty++)
                for (int j0 = 0; j0 < tilesW; j0 += 8)
                {
                    int ih = 4 * ty - g.PadTop, iw0 = 4 * j0 - g.PadLeft;
                    for (int r = 0; r < 6; r++)
                    {
                        Row4(in g, x, ih + r, iw0, out var s0, out var s1, out var s2, out var s3, out var s4, out var s5);
                        Bt(s0, s1, s2, s3, s4, s5, h + 6 * r, 1);
                    }
                    float* dst = v + ty * tilesW + j0;
                    for (int j = 0; j < 6; j++)
                    {
                        // down the rows: points 6i + j, i = 0 … 5
                        Bt(h[j], h[6 + j], h[12 + j], h[18 + j], h[24 + j], h[30 + j], kv, 1);
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
                LoadTile(in g, x, 4 * ty - g.PadTop, 4 * tx - g.PadLeft, 6, d);
                for (int r = 0; r < 6; r++) // along row r
                {
                    Bt(d[6 * r], d[6 * r + 1], d[6 * r + 2], d[6 * r + 3], d[6 * r + 4], d[6 * r + 5], k);
                    k.CopyTo(d.Slice(6 * r, 6));
                }
                float* dst = v + ty * tilesW + tx;
                for (int j = 0; j < 6; j++) // down column j
                {
                    Bt(d[j], d[6 + j], d[12 + j], d[18 + j], d[24 + j], d[30 + j], k);
                    for (int i = 0; i < 6; i++) dst[(6 * i + j) * ldXi] = k[i];
                }
            }
    }

    /// <summary>Floats per row of the zero-padded plane copy: the four tiles' 18 columns and a vector's reach past them.</summary>
    private const int PadStride = 24;

    /// <summary><see cref="InputTile4"/> for rows of exactly four tiles, from a zero-padded copy of the plane (pad: its
    /// borders zero, PadStride floats a row): each vector holds two tile rows, each load two 4-column halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InputTile4Padded(in ConvGeometry g, float* x, float* v, nint ldXi, float* pad, int tilesH)
    {
        // the plane inside the zero border (the border stays zero from call to call: only these cells are written)
        for (int ih = 0; ih < g.InH; ih++)
        {
            float* src = x + (nint)ih * g.InW, dst = pad + (ih + g.PadTop) * PadStride + g.PadLeft;
            if (g.InW >= 8)
            {
                Avx.Store(dst, Avx.LoadVector256(src));
                Avx.Store(dst + g.InW - 8, Avx.LoadVector256(src + g.InW - 8));
                if (g.InW > 16) Avx.Store(dst + 8, Avx.LoadVector256(src + 8));
            }
            else
                for (int i = 0; i < g.InW; i++) dst[i] = src[i];
        }
        Vector256<float>* h = stackalloc Vector256<float>[36];
        Vector256<float>* kv = stackalloc Vector256<float>[6];
        for (int ty = 0; ty < tilesH; ty += 2)
        {
            for (int r = 0; r < 6; r++)
            {
                // lanes 0–3: tile row ty (padded row 4ty + r), lanes 4–7: tile row ty + 1 (4 rows down; zero past the last)
                float* pa = pad + (4 * ty + r) * PadStride, pb = pa + 4 * PadStride;
                var a = Vector256.Create(Sse.LoadVector128(pa), Sse.LoadVector128(pb));
                var b = Vector256.Create(Sse.LoadVector128(pa + 4), Sse.LoadVector128(pb + 4));
                var c = Vector256.Create(Sse.LoadVector128(pa + 8), Sse.LoadVector128(pb + 8));
                var d = Vector256.Create(Sse.LoadVector128(pa + 12), Sse.LoadVector128(pb + 12));
                var e = Vector256.Create(Sse.LoadVector128(pa + 16), Sse.LoadVector128(pb + 16));
                // a 4×4 transpose in each half: s_q = columns 4j + q of the four tiles
                var t0 = Avx.UnpackLow(a, b);   // a0 b0 a1 b1
                var t1 = Avx.UnpackHigh(a, b);  // a2 b2 a3 b3
                var t2 = Avx.UnpackLow(c, d);
                var t3 = Avx.UnpackHigh(c, d);
                var s0 = Avx.Shuffle(t0, t2, 0x44);
                var s1 = Avx.Shuffle(t0, t2, 0xEE);
                var s2 = Avx.Shuffle(t1, t3, 0x44);
                var s3 = Avx.Shuffle(t1, t3, 0xEE);
                // one tile on: (s_1, s_2, s_3, column 16 or 17)
                var s4 = Avx2.AlignRight(e.AsByte(), s0.AsByte(), 4).AsSingle();
                var s5 = Avx2.AlignRight(Avx2.AlignRight(e.AsByte(), e.AsByte(), 4), s1.AsByte(), 4).AsSingle();
                Bt(s0, s1, s2, s3, s4, s5, h + 6 * r, 1);
            }
            float* dst = v + ty * 4;
            for (int j = 0; j < 6; j++)
            {
                Bt(h[j], h[6 + j], h[12 + j], h[18 + j], h[24 + j], h[30 + j], kv, 1);
                for (int i = 0; i < 6; i++) Vector256.Store(kv[i], dst + (6 * i + j) * ldXi);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Bt(float r0, float r1, float r2, float r3, float r4, float r5, Span<float> k)
    {
        float a = r4 - 4f * r2, b = r3 - 4f * r1, c = r4 - r2, d = 2f * (r3 - r1);
        k[0] = 4f * r0 - 5f * r2 + r4;
        k[1] = a + b;
        k[2] = a - b;
        k[3] = c + d;
        k[4] = c - d;
        k[5] = 4f * r1 - 5f * r3 + r5;
    }

    /// <summary>The six outputs of Bᵀ (r0 … r5) to k[0], k[stride], …, k[5·stride].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Bt(Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3, Vector256<float> r4, Vector256<float> r5,
        Vector256<float>* k, int stride)
    {
        var four = Vector256.Create(4f);
        var five = Vector256.Create(5f);
        Vector256<float> a = r4 - four * r2, b = r3 - four * r1, c = r4 - r2, d = Vector256.Create(2f) * (r3 - r1);
        var k0 = four * r0 - five * r2 + r4;
        var k5 = four * r1 - five * r3 + r5;
        k[0] = k0;
        k[stride] = a + b;
        k[2 * stride] = a - b;
        k[3 * stride] = c + d;
        k[4 * stride] = c - d;
        k[5 * stride] = k5;
    }

    /// <summary>Input row <paramref name="ih"/> (zero outside the image) as six column sets: s_q holds columns
    /// iw0 + 4j + q of the eight tiles j.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row4(in ConvGeometry g, float* x, int ih, int iw0, out Vector256<float> s0, out Vector256<float> s1,
        out Vector256<float> s2, out Vector256<float> s3, out Vector256<float> s4, out Vector256<float> s5)
    {
        if ((uint)ih >= (uint)g.InH)
        {
            s0 = s1 = s2 = s3 = s4 = s5 = Vector256<float>.Zero;
            return;
        }
        float* row = x + (nint)ih * g.InW;
        var a = Load(row, iw0, g.InW);
        var b = Load(row, iw0 + 8, g.InW);
        var c = Load(row, iw0 + 16, g.InW);
        var d = Load(row, iw0 + 24, g.InW);
        // columns 0, 2, …, 14 and 1, 3, …, 15 of (a, b); the same of (c, d); then every fourth column
        Split(a, b, out var e0, out var o0);
        Split(c, d, out var e1, out var o1);
        Split(e0, e1, out s0, out s2);
        Split(o0, o1, out s1, out s3);
        // columns 4j + 4 and 4j + 5: s0 and s1 one tile on, the last lane from columns iw0 + 32 and iw0 + 33
        var next = Vector256.Create(1, 2, 3, 4, 5, 6, 7, 0);
        var last = Vector256.Create(0, 0, 0, 0, 0, 0, 0, -1).AsSingle();
        s4 = Avx.BlendVariable(Avx2.PermuteVar8x32(s0, next), Vector256.Create(At(row, iw0 + 32, g.InW)), last);
        s5 = Avx.BlendVariable(Avx2.PermuteVar8x32(s1, next), Vector256.Create(At(row, iw0 + 33, g.InW)), last);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float At(float* row, int iw, int width) => (uint)iw < (uint)width ? row[iw] : 0f;

    // ---------------------------------------------------------------- y = Aᵀ M A + bias (4×4)

    // Aᵀ applied to six values m0..m5: p = m1 + m2, q = m1 − m2, r = m3 + m4, s = m3 − m4;
    //   y0 = (m0 + p) + r,  y1 = q + 2s,  y2 = p + 4r,  y3 = (q + 8s) + m5.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void At4(float m0, float m1, float m2, float m3, float m4, float m5, out float y0, out float y1, out float y2, out float y3)
    {
        float p = m1 + m2, q = m1 - m2, r = m3 + m4, s = m3 - m4;
        y0 = m0 + p + r;
        y1 = q + 2f * s;
        y2 = p + 4f * r;
        y3 = q + 8f * s + m5;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void At4(Vector256<float> m0, Vector256<float> m1, Vector256<float> m2, Vector256<float> m3, Vector256<float> m4, Vector256<float> m5,
        out Vector256<float> y0, out Vector256<float> y1, out Vector256<float> y2, out Vector256<float> y3)
    {
        Vector256<float> p = m1 + m2, q = m1 - m2, r = m3 + m4, s = m3 - m4;
        y0 = m0 + p + r;
        y1 = q + Vector256.Create(2f) * s;
        y2 = p + Vector256.Create(4f) * r;
        y3 = q + Vector256.Create(8f) * s + m5;
    }

    /// <summary>One output channel's tiles of one sample: m[ξ·ldXi + t] → y [OutH, OutW] (+ bias; relu: max(y, 0) too; pool:
    /// the 2×2 max pool of that, [⌊OutH/2⌋, ⌊OutW/2⌋], from the tile's rows and columns in pairs while they are in registers).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void OutputTile4(in ConvGeometry g, float* m, nint ldXi, float bias, float* y, float* relu, float* pool, int* argmax)
    {
        int tilesH = (g.OutH + 3) / 4, tilesW = (g.OutW + 3) / 4;
        int ph = g.OutH / 2, pw = g.OutW / 2;
        bool stores = y != null || relu != null;
        if (Avx2.IsSupported)
        {
            var b = Vector256.Create(bias);
            Vector256<float>* t = stackalloc Vector256<float>[24]; // Aᵀ M: 4 rows × 6 points
            bool pairs = tilesW == 4;
            for (int ty = 0; ty < tilesH; ty += pairs ? 2 : 1)
                for (int j0 = 0; j0 < tilesW; j0 += 8)
                {
                    float* p = m + ty * tilesW + j0;
                    for (int j = 0; j < 6; j++) // down column j: rows r = 0 … 3 of Aᵀ M
                        At4(L(p, j, ldXi), L(p, 6 + j, ldXi), L(p, 12 + j, ldXi), L(p, 18 + j, ldXi), L(p, 24 + j, ldXi), L(p, 30 + j, ldXi),
                            out t[j], out t[6 + j], out t[12 + j], out t[18 + j]);
                    Vector256<float> top0 = default, top1 = default, top2 = default, top3 = default; // row r − 1 of a pooling pair
                    for (int r = 0; r < 4; r++)
                    {
                        Vector256<float>* q = t + 6 * r;
                        At4(q[0], q[1], q[2], q[3], q[4], q[5], out var c0, out var c1, out var c2, out var c3);
                        c0 += b; c1 += b; c2 += b; c3 += b;
                        int oh = 4 * ty + r, ow0 = 4 * j0;
                        if (stores)
                        {
                            // lanes j of c0..c3 are columns 4j .. 4j + 3 of tile j (pairs: lanes 4–7 the next tile row's)
                            Interleave4(c0, c1, c2, c3, out var r0, out var r1, out var r2, out var r3);
                            if (pairs)
                            {
                                StoreRun(in g, y, relu, oh, 0, r0);
                                StoreRun(in g, y, relu, oh, 8, r1);
                                StoreRun(in g, y, relu, oh + 4, 0, r2);
                                StoreRun(in g, y, relu, oh + 4, 8, r3);
                            }
                            else
                            {
                                StoreRun(in g, y, relu, oh, ow0, r0);
                                StoreRun(in g, y, relu, oh, ow0 + 8, r1);
                                StoreRun(in g, y, relu, oh, ow0 + 16, r2);
                                StoreRun(in g, y, relu, oh, ow0 + 24, r3);
                            }
                        }
                        if (pool == null) continue;
                        if ((r & 1) == 0) { top0 = c0; top1 = c1; top2 = c2; top3 = c3; continue; }
                        // lane j: the windows of tile j's columns (0, 1) and (2, 3) over rows r − 1 and r, pooled columns
                        // 2j and 2j + 1 of pooled row oh / 2
                        Vector256<float> left, right;
                        if (argmax == null)
                        {
                            left = PoolOfRelu(top0, top1, c0, c1);
                            right = PoolOfRelu(top2, top3, c2, c3);
                        }
                        else
                        {
                            // lane j's left window starts at row oh − 1 (pairs: lanes 4–7 four rows further), column 4j
                            var at = pairs
                                ? Vector256.Create((oh - 1) * g.OutW) + Vector256.Create(0, 4, 8, 12, 4 * g.OutW, 4 * g.OutW + 4, 4 * g.OutW + 8, 4 * g.OutW + 12)
                                : Vector256.Create((oh - 1) * g.OutW + 4 * j0) + Vector256.Create(0, 4, 8, 12, 16, 20, 24, 28);
                            left = PoolOfRelu(top0, top1, c0, c1, at, g.OutW, out var winnerLeft);
                            right = PoolOfRelu(top2, top3, c2, c3, at + Vector256.Create(2), g.OutW, out var winnerRight);
                            StorePooled(argmax, pairs, oh, j0, ph, pw, winnerLeft.AsSingle(), winnerRight.AsSingle());
                        }
                        StorePooled((int*)pool, pairs, oh, j0, ph, pw, left, right);
                    }
                }
            return;
        }
        Span<float> u = stackalloc float[24];
        Span<float> o = stackalloc float[16]; // the tile's output, for the pool
        for (int ty = 0; ty < tilesH; ty++)
            for (int tx = 0; tx < tilesW; tx++)
            {
                float* p = m + ty * tilesW + tx;
                for (int q = 0; q < 6; q++)
                    At4(p[q * ldXi], p[(6 + q) * ldXi], p[(12 + q) * ldXi], p[(18 + q) * ldXi], p[(24 + q) * ldXi], p[(30 + q) * ldXi], out u[q], out u[6 + q], out u[12 + q], out u[18 + q]);
                for (int r = 0; r < 4; r++)
                {
                    At4(u[6 * r], u[6 * r + 1], u[6 * r + 2], u[6 * r + 3], u[6 * r + 4], u[6 * r + 5], out float y0, out float y1, out float y2, out float y3);
                    o[4 * r] = y0 + bias; o[4 * r + 1] = y1 + bias; o[4 * r + 2] = y2 + bias; o[4 * r + 3] = y3 + bias;
                    for (int c = 0; c < 4; c++) Put(g, y, relu, 4 * ty + r, 4 * tx + c, o[4 * r + c]);
                }
                if (pool == null) continue;
                for (int pr = 0; pr < 2; pr++)
                    for (int pc = 0; pc < 2; pc++)
                    {
                        int prow = 2 * ty + pr, pcol = 2 * tx + pc, at = 8 * pr + 2 * pc;
                        if (prow >= ph || pcol >= pw) continue;
                        pool[prow * pw + pcol] = PoolOfRelu(o[at], o[at + 1], o[at + 4], o[at + 5], 2 * prow * g.OutW + 2 * pcol, g.OutW, out int winner);
                        if (argmax != null) argmax[prow * pw + pcol] = winner;
                    }
            }
    }

    /// <summary>The pooled values (or winners, as float bits) of one pair of tile rows: lane j of <paramref name="left"/> and
    /// <paramref name="right"/> are pooled columns 2j and 2j + 1 of pooled row oh / 2 (pairs: lanes 4–7 that of the next tile
    /// row, two pooled rows down). <paramref name="plane"/> is the pooled plane, as ints or floats (only bits are moved).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StorePooled(void* plane, bool pairs, int oh, int j0, int ph, int pw, Vector256<float> left, Vector256<float> right)
    {
        var lo = Avx.UnpackLow(left, right);   // [l0 r0 l1 r1 | l4 r4 l5 r5]
        var hi = Avx.UnpackHigh(left, right);  // [l2 r2 l3 r3 | l6 r6 l7 r7]
        var first = Avx.Permute2x128(lo, hi, 0x20);  // tiles 0–3: pooled columns 2·j0 + [0, 8)
        var second = Avx.Permute2x128(lo, hi, 0x31); // tiles 4–7
        float* p = (float*)plane;
        int prow = oh / 2, pcol = 2 * j0;
        if (pairs)
        {
            if (prow < ph) Store(p + (nint)prow * pw, 0, pw, first);
            if (prow + 2 < ph) Store(p + (nint)(prow + 2) * pw, 0, pw, second); // the next tile row
        }
        else if (prow < ph)
        {
            if (pcol < pw) Store(p + (nint)prow * pw, pcol, pw, first);
            if (pcol + 8 < pw) Store(p + (nint)prow * pw, pcol + 8, pw, second);
        }
    }

    // ---------------------------------------------------------------- the weight gradient: dM = A dy Aᵀ, dg = Gᵀ dU G

    // A (6×4) applied to four values d0..d3 (the adjoint of At4): dm0 = d0, dm1 = (d0 + d2) + (d1 + d3),
    //   dm2 = (d0 + d2) − (d1 + d3), dm3 = (d0 + 4d2) + (2d1 + 8d3), dm4 = (d0 + 4d2) − (2d1 + 8d3), dm5 = d3.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void A4(float d0, float d1, float d2, float d3, Span<float> m, int at, int stride)
    {
        float e = d0 + d2, f = d1 + d3, g = d0 + 4f * d2, h = 2f * d1 + 8f * d3;
        m[at] = d0;
        m[at + stride] = e + f;
        m[at + 2 * stride] = e - f;
        m[at + 3 * stride] = g + h;
        m[at + 4 * stride] = g - h;
        m[at + 5 * stride] = d3;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void A4(Vector256<float> d0, Vector256<float> d1, Vector256<float> d2, Vector256<float> d3, Vector256<float>* m, int stride)
    {
        Vector256<float> e = d0 + d2, f = d1 + d3, g = d0 + Vector256.Create(4f) * d2, h = Vector256.Create(2f) * d1 + Vector256.Create(8f) * d3;
        m[0] = d0;
        m[stride] = e + f;
        m[2 * stride] = e - f;
        m[3 * stride] = g + h;
        m[4 * stride] = g - h;
        m[5 * stride] = d3;
    }

    /// <summary>One output channel of one sample for the weight gradient: each 4×4 tile of dy (zero past the edges) as
    /// dM = A dy Aᵀ (6×6) into m[ξ·ldXi + t], ξ = 6·row + column as in <see cref="OutputTile4"/>. The vector path reads
    /// the tiles as OutputTile4 writes them (two tile rows per vector where a row is four tiles) and undoes
    /// <see cref="Interleave4"/>; the same operations per element as the scalar one, so the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void OutputAdjoint4(in ConvGeometry g, float* dy, float* m, nint ldXi)
    {
        int tilesH = (g.OutH + 3) / 4, tilesW = (g.OutW + 3) / 4;
        if (Avx2.IsSupported)
        {
            Vector256<float>* t = stackalloc Vector256<float>[24]; // A dy: 6 rows × 4 columns
            Vector256<float>* c = stackalloc Vector256<float>[16]; // dy: 4 rows × 4 columns, lane j tile j
            Vector256<float>* u = stackalloc Vector256<float>[6];
            bool pairs = tilesW == 4;
            for (int ty = 0; ty < tilesH; ty += pairs ? 2 : 1)
                for (int j0 = 0; j0 < tilesW; j0 += 8)
                {
                    for (int r = 0; r < 4; r++)
                    {
                        int oh = 4 * ty + r;
                        Vector256<float> r0, r1, r2, r3;
                        if (pairs)
                        {
                            r0 = Row(in g, dy, oh, 0);
                            r1 = Row(in g, dy, oh, 8);
                            r2 = Row(in g, dy, oh + 4, 0);
                            r3 = Row(in g, dy, oh + 4, 8);
                        }
                        else
                        {
                            int ow0 = 4 * j0;
                            r0 = Row(in g, dy, oh, ow0);
                            r1 = Row(in g, dy, oh, ow0 + 8);
                            r2 = Row(in g, dy, oh, ow0 + 16);
                            r3 = Row(in g, dy, oh, ow0 + 24);
                        }
                        Deinterleave4(r0, r1, r2, r3, out c[4 * r], out c[4 * r + 1], out c[4 * r + 2], out c[4 * r + 3]);
                    }
                    for (int col = 0; col < 4; col++) A4(c[col], c[4 + col], c[8 + col], c[12 + col], t + col, 4);
                    float* dst = m + ty * tilesW + j0;
                    for (int a = 0; a < 6; a++)
                    {
                        A4(t[4 * a], t[4 * a + 1], t[4 * a + 2], t[4 * a + 3], u, 1);
                        for (int b = 0; b < 6; b++) Avx.Store(dst + (6 * a + b) * ldXi, u[b]);
                    }
                }
            return;
        }
        Span<float> d = stackalloc float[16];
        Span<float> ts = stackalloc float[24];
        Span<float> us = stackalloc float[36];
        for (int ty = 0; ty < tilesH; ty++)
            for (int tx = 0; tx < tilesW; tx++)
            {
                for (int r = 0; r < 4; r++)
                    for (int q = 0; q < 4; q++)
                    {
                        int oh = 4 * ty + r, ow = 4 * tx + q;
                        d[4 * r + q] = oh < g.OutH && ow < g.OutW ? dy[oh * g.OutW + ow] : 0f;
                    }
                for (int col = 0; col < 4; col++) A4(d[col], d[4 + col], d[8 + col], d[12 + col], ts, col, 4);
                for (int a = 0; a < 6; a++) A4(ts[4 * a], ts[4 * a + 1], ts[4 * a + 2], ts[4 * a + 3], us, 6 * a, 1);
                float* dst = m + ty * tilesW + tx;
                for (int xi = 0; xi < 36; xi++) dst[xi * ldXi] = us[xi];
            }
    }

    /// <summary>Eight columns of dy's row <paramref name="oh"/> from <paramref name="ow"/>; zero past the edges.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Row(in ConvGeometry g, float* dy, int oh, int ow) =>
        oh < g.OutH ? Load(dy + (nint)oh * g.OutW, ow, g.OutW) : Vector256<float>.Zero;

    /// <summary>The inverse of <see cref="Interleave4"/>: lane j of c_k = column 4j + k of the runs r0 … r3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Deinterleave4(Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
        out Vector256<float> c0, out Vector256<float> c1, out Vector256<float> c2, out Vector256<float> c3)
    {
        var u0 = Avx.Permute2x128(r0, r2, 0x20); // tile 0 | tile 4
        var u1 = Avx.Permute2x128(r0, r2, 0x31); // tile 1 | tile 5
        var u2 = Avx.Permute2x128(r1, r3, 0x20); // tile 2 | tile 6
        var u3 = Avx.Permute2x128(r1, r3, 0x31); // tile 3 | tile 7
        var t0 = Avx.UnpackLow(u0, u1);  // c0_0 c0_1 c1_0 c1_1 | c0_4 c0_5 c1_4 c1_5
        var t1 = Avx.UnpackHigh(u0, u1); // c2_0 c2_1 c3_0 c3_1 | …
        var t2 = Avx.UnpackLow(u2, u3);  // c0_2 c0_3 c1_2 c1_3 | …
        var t3 = Avx.UnpackHigh(u2, u3);
        c0 = Avx.Shuffle(t0, t2, 0x44);
        c1 = Avx.Shuffle(t0, t2, 0xEE);
        c2 = Avx.Shuffle(t1, t3, 0x44);
        c3 = Avx.Shuffle(t1, t3, 0xEE);
    }

    /// <summary>Gᵀ (3×6) times a 6-vector z: the adjoint of G4: a = z0/4 − (z1 + z2)/6 + (z3 + z4)/24,
    /// b = (z2 − z1)/6 + (z3 − z4)/12, c = (z3 + z4 − z1 − z2)/6 + z5.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void G4T(float z0, float z1, float z2, float z3, float z4, float z5, out float a, out float b, out float c)
    {
        float p = z1 + z2, q = z3 + z4;
        a = z0 * 0.25f - p * Sixth + q * (Sixth * 0.25f);
        b = (z2 - z1) * Sixth + (z3 - z4) * (Sixth * 0.5f);
        c = (q - p) * Sixth + z5;
    }

    /// <summary><see cref="G4T(float, float, float, float, float, float, out float, out float, out float)"/> on eight
    /// lanes: the same operations, so the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void G4T(Vector256<float> z0, Vector256<float> z1, Vector256<float> z2, Vector256<float> z3, Vector256<float> z4, Vector256<float> z5,
        out Vector256<float> a, out Vector256<float> b, out Vector256<float> c)
    {
        var sixth = Vector256.Create(Sixth);
        Vector256<float> p = z1 + z2, q = z3 + z4;
        a = z0 * Vector256.Create(0.25f) - p * sixth + q * Vector256.Create(Sixth * 0.25f);
        b = (z2 - z1) * sixth + (z3 - z4) * Vector256.Create(Sixth * 0.5f);
        c = (q - p) * sixth + z5;
    }

    /// <summary>dWeight [pairs, 3, 3] += Gᵀ dU G for F(4×4)'s dU [36][pairs]: eight channel pairs at a time, where dU's
    /// 36 planes are contiguous along the pairs (once per batch slice, but 36 strided loads a pair one by one took 2.6 %
    /// of the cnn's two-thread training step).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddWeightGradient4(ReadOnlySpan<float> du, int pair, Span<float> dWeight)
    {
        int p = 0;
        if (Avx2.IsSupported)
        {
            Vector256<float>* t = stackalloc Vector256<float>[18]; // Gᵀ dU: 3×6, eight pairs a lane each
            float* k = stackalloc float[72]; // the eight pairs' 3×3 results, [tap][pair]
            fixed (float* pdu = du, pdw = dWeight)
                for (; p + 8 <= pair; p += 8)
                {
                    for (int j = 0; j < 6; j++)
                        G4T(Avx.LoadVector256(pdu + j * pair + p), Avx.LoadVector256(pdu + (6 + j) * pair + p), Avx.LoadVector256(pdu + (12 + j) * pair + p),
                            Avx.LoadVector256(pdu + (18 + j) * pair + p), Avx.LoadVector256(pdu + (24 + j) * pair + p), Avx.LoadVector256(pdu + (30 + j) * pair + p),
                            out t[j], out t[6 + j], out t[12 + j]);
                    for (int i = 0; i < 3; i++)
                    {
                        G4T(t[6 * i], t[6 * i + 1], t[6 * i + 2], t[6 * i + 3], t[6 * i + 4], t[6 * i + 5], out var a, out var b, out var c);
                        Avx.Store(k + (3 * i) * 8, a);
                        Avx.Store(k + (3 * i + 1) * 8, b);
                        Avx.Store(k + (3 * i + 2) * 8, c);
                    }
                    AddEightPairs(k, pdw + (nint)p * 9);
                }
        }
        Span<float> ts = stackalloc float[18]; // Gᵀ dU: 3×6
        for (; p < pair; p++)
        {
            for (int j = 0; j < 6; j++)
                G4T(du[j * pair + p], du[(6 + j) * pair + p], du[(12 + j) * pair + p], du[(18 + j) * pair + p], du[(24 + j) * pair + p], du[(30 + j) * pair + p],
                    out ts[j], out ts[6 + j], out ts[12 + j]);
            var dw = dWeight.Slice(p * 9, 9);
            for (int i = 0; i < 3; i++)
            {
                G4T(ts[6 * i], ts[6 * i + 1], ts[6 * i + 2], ts[6 * i + 3], ts[6 * i + 4], ts[6 * i + 5], out float a, out float b, out float c);
                dw[3 * i] += a;
                dw[3 * i + 1] += b;
                dw[3 * i + 2] += c;
            }
        }
    }

    /// <summary>Lane j of c0 … c3 holds columns 4j … 4j + 3: r0 = columns 0–7 (tiles 0, 1), r1 = 8–15, r2 = 16–23, r3 = 24–31.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Interleave4(Vector256<float> c0, Vector256<float> c1, Vector256<float> c2, Vector256<float> c3,
        out Vector256<float> r0, out Vector256<float> r1, out Vector256<float> r2, out Vector256<float> r3)
    {
        var t0 = Avx.UnpackLow(c0, c1);   // c0_0 c1_0 c0_1 c1_1 | c0_4 c1_4 c0_5 c1_5
        var t1 = Avx.UnpackHigh(c0, c1);  // c0_2 c1_2 c0_3 c1_3 | c0_6 c1_6 c0_7 c1_7
        var t2 = Avx.UnpackLow(c2, c3);
        var t3 = Avx.UnpackHigh(c2, c3);
        var u0 = Avx.Shuffle(t0, t2, 0x44); // tile 0 | tile 4
        var u1 = Avx.Shuffle(t0, t2, 0xEE); // tile 1 | tile 5
        var u2 = Avx.Shuffle(t1, t3, 0x44); // tile 2 | tile 6
        var u3 = Avx.Shuffle(t1, t3, 0xEE); // tile 3 | tile 7
        r0 = Avx.Permute2x128(u0, u1, 0x20);
        r1 = Avx.Permute2x128(u2, u3, 0x20);
        r2 = Avx.Permute2x128(u0, u1, 0x31);
        r3 = Avx.Permute2x128(u2, u3, 0x31);
    }

    /// <summary>Eight columns from <paramref name="ow"/> of output row <paramref name="oh"/> (and of its ReLU), nothing
    /// past OutH or OutW.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRun(in ConvGeometry g, float* y, float* relu, int oh, int ow, Vector256<float> value)
    {
        if (oh >= g.OutH || ow >= g.OutW) return;
        nint at = (nint)oh * g.OutW;
        if (y != null) Store(y + at, ow, g.OutW, value);
        // Vector256.Max(v, 0), as Vec.Relu: the same bits as the ReLU layer would compute
        if (relu != null) Store(relu + at, ow, g.OutW, Vector256.Max(value, Vector256<float>.Zero));
    }
}
