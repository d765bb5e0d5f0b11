using System;
using NetDsl.Kernels;
using NetDsl.Tests.Reliability;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Tests.Kernels;

/// <summary>
/// Each kernel gives the same bits with its 512-bit and its 256-bit paths (<see cref="Simd.Allow512"/> switched), kernel by
/// kernel, over the shapes that take the 256-bit paths' special cases: dot-product tiles of 2×3, 2×2, a leftover row (1×6)
/// and single columns; GEMM strips of 24 whole or masked, misaligned B rows (copied), several depth passes, a bias; unfold
/// and fold rows under 8, 8 to 32 wide (the last vector pulled back), padding on every side; tanh over vectors all below,
/// all above and astride |x| = 0.625, with NaN, ±∞ and a tail. DeterminismTests checks whole networks the same way.
/// Meaningful on an AVX-512 machine; elsewhere both runs take the 256-bit paths and the test says so.
/// </summary>
[Collection(RunsAlone.Name)]
public class WidthParityTests(ITestOutputHelper output)
{
    private static float[] Random(int n, int seed, double scale = 1)
    {
        var rng = new Random(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
        return v;
    }

    /// <summary>Runs <paramref name="kernel"/> with the 512-bit paths allowed, then without, and compares what it returns bit by bit.</summary>
    private void Same(string what, Func<float[]> kernel)
    {
        bool before = Simd.Allow512;
        float[] wide, narrow;
        try
        {
            Simd.Allow512 = true;
            wide = kernel();
            Simd.Allow512 = false;
            narrow = kernel();
        }
        finally { Simd.Allow512 = before; }
        Assert.Equal(wide.Length, narrow.Length);
        for (int i = 0; i < wide.Length; i++)
            if (BitConverter.SingleToInt32Bits(wide[i]) != BitConverter.SingleToInt32Bits(narrow[i]))
                Assert.Fail($"{what}: element {i} is {wide[i]:R} at 512 bits, {narrow[i]:R} at 256 bits");
    }

    [Fact]
    public void DotProductTilesGiveTheSameBitsAtBothWidths()
    {
        output.WriteLine($"AVX-512 paths available: {Vector512Available()}");
        foreach (var (m, n, k) in new[] { (16, 150, 100), (1, 120, 400), (7, 10, 84), (6, 25, 784), (5, 13, 37), (3, 8, 16), (2, 5, 9), (64, 84, 120) })
            foreach (bool accumulate in new[] { false, true })
            {
                float[] a = Random(m * k, 1), b = Random(n * k, 2), c0 = Random(m * n, 3);
                Same($"Nt({m}, {n}, {k}, accumulate {accumulate})", () =>
                {
                    var c = (float[])c0.Clone();
                    Gemm.Nt(m, n, k, a, k, b, k, c, n, accumulate);
                    return c;
                });
            }
    }

    [Fact]
    public void PackedProductsGiveTheSameBitsAtBothWidths()
    {
        foreach (var (m, n, k, ldb) in new[] { (16, 100, 150, 100), (6, 784, 25, 784), (16, 600, 150, 600), (5, 37, 300, 40), (8, 24, 7, 25), (120, 400, 64, 400), (3, 50, 513, 51) })
            foreach (bool withBias in new[] { false, true })
            {
                var packed = new AlignedBuffer(PackedGemm.PackedASize(m, k));
                PackedGemm.PackA(m, k, Random(m * k, 4), k, 1, packed);
                var b = new AlignedBuffer(k * ldb);
                Random(k * ldb, 5).CopyTo(b.Span);
                float[] bias = withBias ? Random(m, 6) : Array.Empty<float>(), c0 = Random(m * n, 7);
                Same($"Mul({m}, {n}, {k}, ldb {ldb}, bias {withBias})", () =>
                {
                    var c = (float[])c0.Clone();
                    PackedGemm.Mul(m, n, k, packed, b, ldb, c, n, accumulate: withBias, bias);
                    return c;
                });
            }
    }

    [Fact]
    public void UnfoldAndFoldGiveTheSameBitsAtBothWidths()
    {
        foreach (var (c, h, w, k, pad, dilation) in new[] { (1, 28, 28, 5, 2, 1), (6, 14, 14, 5, 0, 1), (2, 12, 20, 7, 3, 1), (2, 5, 3, 3, 0, 1), (2, 6, 9, 2, 0, 1), (3, 9, 17, 3, 1, 2), (2, 7, 7, 3, 1, 1), (1, 30, 32, 3, 1, 1) })
        {
            int oh = h + 2 * pad - dilation * (k - 1), ow = w + 2 * pad - dilation * (k - 1);
            var g = new ConvGeometry(c, h, w, k, k, 1, 1, pad, pad, dilation, oh, ow);
            var x = Random(c * h * w, 8);
            var d = Random(g.ColRows * g.ColCols, 9);
            var dx0 = Random(x.Length, 10);
            Same($"Unfold {c}×{h}×{w}, {k}×{k}, pad {pad}, dilation {dilation}", () =>
            {
                var col = new float[g.ColRows * g.ColCols];
                Im2Col.Unfold(in g, x, col);
                return col;
            });
            Same($"FoldAdd {c}×{h}×{w}, {k}×{k}, pad {pad}, dilation {dilation}", () =>
            {
                var dx = (float[])dx0.Clone();
                Im2Col.FoldAdd(in g, d, dx);
                return dx;
            });
        }
    }

    [Fact]
    public void DirectConvolutionsGiveTheSameBitsAtBothWidths()
    {
        // DirectConv: blocks of 4 channels, of 6 (6, and 10 = 6 + 4), a short block (7); ChannelLaneConv: rows of 10 whole,
        // overlapping (13), narrower than a block (7, padded), two blocks of 16 channels, with and without bias and ReLU.
        foreach (var (c, h, w, outC, k, pad, lanes) in new[] { (1, 28, 28, 6, 5, 2, false), (2, 9, 13, 10, 3, 1, false), (3, 7, 30, 7, 3, 0, false),
            (6, 14, 14, 16, 5, 0, true), (5, 15, 17, 16, 3, 0, true), (8, 7, 7, 32, 3, 1, true), (6, 4, 40, 16, 2, 1, true) })
        {
            int oh = h + 2 * pad - k + 1, ow = w + 2 * pad - k + 1;
            var g = new ConvGeometry(c, h, w, k, k, 1, 1, pad, pad, 1, oh, ow);
            float[] x = Random(c * h * w, 12), weight = Random(outC * c * k * k, 13), bias = Random(outC, 14);
            foreach (bool withBias in new[] { false, true })
                Same($"{(lanes ? "ChannelLaneConv" : "DirectConv")} {c}×{h}×{w} → {outC}, {k}×{k}, pad {pad}, bias {withBias}", () =>
                {
                    var y = new float[2 * outC * oh * ow];
                    var b = withBias ? bias : Array.Empty<float>();
                    var yOut = y.AsSpan(0, outC * oh * ow);
                    var relu = y.AsSpan(outC * oh * ow);
                    if (lanes)
                    {
                        var packed = new float[ChannelLaneConv.PackedSize(g, outC)];
                        ChannelLaneConv.Pack(in g, outC, weight, packed);
                        ChannelLaneConv.Forward(in g, outC, packed, b, x, yOut, new float[ChannelLaneConv.ScratchSize(g)], relu);
                    }
                    else DirectConv.Forward(in g, outC, weight, b, x, yOut, new float[DirectConv.ScratchSize(g)], relu);
                    return y;
                });
        }
    }

    [Fact]
    public void TanhGivesTheSameBitsAtBothWidths()
    {
        // Runs of 40 values all below 0.625 in magnitude, all above, and astride it, then random values of every size.
        var x = new float[4704 + 13];
        for (int i = 0; i < x.Length; i++)
        {
            int run = i / 40 % 3;
            x[i] = run == 0 ? (i % 40 - 20) * 0.03f : run == 1 ? (i % 2 == 0 ? 1 : -1) * (0.7f + i % 40 * 0.4f) : (i % 40 - 20) * 0.07f;
        }
        Random(1000, 11, 30).CopyTo(x, 3000);
        x[5] = float.NaN; x[6] = float.PositiveInfinity; x[7] = float.NegativeInfinity; x[4000] = float.NaN; x[x.Length - 1] = -0f;
        Same("Tanh", () =>
        {
            var y = new float[x.Length];
            Vec.Tanh(x, y);
            return y;
        });
        Same("Tanh in place", () =>
        {
            var y = (float[])x.Clone();
            Vec.Tanh(y, y);
            return y;
        });
    }

    private static bool Vector512Available()
    {
        bool before = Simd.Allow512;
        try { Simd.Allow512 = true; return Simd.Use512; }
        finally { Simd.Allow512 = before; }
    }
}
