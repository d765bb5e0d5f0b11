using System;
using NetDsl.Kernels;
using NetDsl.Tests.Infrastructure;
using Xunit;

namespace NetDsl.Tests.Kernels;

/// <summary>The SIMD kernels against plain double-precision loops, over shapes that hit every edge
/// (partial microtiles in both directions, depth past one cache block, strided and transposed operands).</summary>
public class KernelTests
{
    /// <summary>ReLU keeps a NaN wherever it lands (PyTorch's relu(NaN) is NaN), in the vector body or the scalar tail, and
    /// turns −0 into +0: the scalar ReLU once sent NaN to 0 while the vectors kept it, so the result depended on a
    /// value's position and on the machine. Lengths 1–20 put the NaN in every place of both.</summary>
    [Fact]
    public void ReluKeepsNaNInTheVectorsAndTheTail()
    {
        for (int n = 1; n <= 20; n++)
            for (int at = 0; at < n; at++)
            {
                var x = new float[n];
                for (int i = 0; i < n; i++) x[i] = i % 3 == 0 ? -0f : i % 3 == 1 ? 1.5f : -2f;
                x[at] = float.NaN;
                var y = new float[n];
                Vec.Relu(x, y);
                for (int i = 0; i < n; i++)
                {
                    float expected = i == at ? float.NaN : i % 3 == 1 ? 1.5f : 0f;
                    Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(y[i]) || (float.IsNaN(expected) && float.IsNaN(y[i])),
                        $"length {n}, NaN at {at}: relu[{i}] = {y[i]}, expected {expected}");
                }
            }
        Assert.True(float.IsNaN(Vec.Relu(float.NaN)));
        Assert.Equal(0, BitConverter.SingleToInt32Bits(Vec.Relu(-0f)));
    }

    [Fact]
    public unsafe void AlignedBuffersStartOnACacheLineWithTheirWholeLengthUsableSmallOrLarge()
    {
        // Small buffers are 64-byte aligned; large ones (16 KB and more) are also placed within their page.
        for (int i = 0; i < 8; i++)
        {
            var small = new AlignedBuffer(100 + i);
            var large = new AlignedBuffer(5000 + i);
            fixed (float* ps = small.Span, pl = large.Span)
            {
                Assert.Equal(0L, (long)ps % AlignedBuffer.Alignment);
                Assert.Equal(0L, (long)pl % AlignedBuffer.Alignment);
            }
            Assert.Equal(100 + i, small.Length);
            Assert.Equal(5000 + i, large.Length);
            large.Span[^1] = 1f;
            Assert.Equal(0f, large.Span[0]);
            Assert.Equal(1f, large[5000 + i - 1]);
        }
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(8, 32, 16)]
    [InlineData(7, 33, 5)]
    [InlineData(17, 70, 300)]
    [InlineData(64, 196, 288)]
    [InlineData(3, 9, 600)]
    [InlineData(33, 100, 0)]
    [InlineData(6, 25, 784)]   // half-width masked strip (≤ 16 columns) and a masked upper half (17–31)
    [InlineData(32, 9, 64)]
    [InlineData(9, 16, 3)]
    [InlineData(10, 17, 513)]  // three equal depth passes
    [InlineData(16, 63, 257)]
    public void PackedGemmMatchesTheDefinition(int m, int n, int k)
    {
        foreach (bool transposedA in new[] { false, true })
        foreach (bool accumulate in new[] { false, true })
        foreach (bool withBias in new[] { false, true })
        {
            // A(i,p) = a[i·rs + p·cs], either row-major (rs = k) or column-major (cs = m).
            float[] a = TestInputs.Uniform(Math.Max(1, m * k), 1), b = TestInputs.Uniform(Math.Max(1, k * (n + 3)), 2), c = TestInputs.Uniform(m * (n + 2), 3), bias = TestInputs.Uniform(m, 4);
            int rs = transposedA ? 1 : k, cs = transposedA ? m : 1, ldb = n + 3, ldc = n + 2;
            var expected = (float[])c.Clone();
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int p = 0; p < k; p++) s += (double)a[i * rs + p * cs] * b[p * ldb + j];
                    double v = (accumulate ? c[i * ldc + j] : 0) + s + (withBias ? bias[i] : 0);
                    expected[i * ldc + j] = (float)v;
                }
            var packed = new float[PackedGemm.PackedASize(m, k)];
            PackedGemm.PackA(m, k, a, rs, cs, packed);
            PackedGemm.Mul(m, n, k, packed, b, ldb, c, ldc, accumulate, withBias ? bias : default);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                    Assert.True(Math.Abs(expected[i * ldc + j] - c[i * ldc + j]) <= 1e-4 * (1 + k), $"C[{i},{j}] {c[i * ldc + j]} vs {expected[i * ldc + j]} (transposedA {transposedA}, accumulate {accumulate}, bias {withBias})");
            for (int i = 0; i < m; i++)
                for (int j = n; j < ldc; j++) Assert.Equal(expected[i * ldc + j], c[i * ldc + j]); // padding untouched
        }
    }

    [Theory]
    [InlineData(1, 128, 3136)]
    [InlineData(3, 7, 100)]
    [InlineData(5, 10, 84)]
    [InlineData(1, 6, 37)]
    [InlineData(4, 4, 16)]
    [InlineData(6, 25, 784)]  // 4×4 tiles, leftover rows and columns, masked depth tail
    [InlineData(16, 150, 100)]
    [InlineData(9, 5, 17)]
    [InlineData(7, 3, 5)]
    public void NtMatchesTheDefinition(int m, int n, int k)
    {
        foreach (bool accumulate in new[] { false, true })
        {
            float[] a = TestInputs.Uniform(m * k, 7), b = TestInputs.Uniform(n * k, 8), c = TestInputs.Uniform(m * n, 9);
            var expected = new double[m * n];
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int p = 0; p < k; p++) s += (double)a[i * k + p] * b[j * k + p];
                    expected[i * n + j] = (accumulate ? c[i * n + j] : 0) + s;
                }
            Gemm.Nt(m, n, k, a, k, b, k, c, n, accumulate);
            for (int i = 0; i < m * n; i++) Assert.True(Math.Abs(expected[i] - c[i]) <= 1e-4 * (1 + k / 100.0), $"C[{i}] {c[i]} vs {expected[i]}");
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(8, 8)]
    [InlineData(9, 17)]
    [InlineData(288, 196)]
    [InlineData(25, 784)]
    [InlineData(3, 5)]
    public void TransposeTransposes(int rows, int cols)
    {
        var src = TestInputs.Uniform(rows * (cols + 1), 5);
        var dst = new float[cols * (rows + 2)];
        PackedGemm.Transpose(rows, cols, src, cols + 1, dst, rows + 2);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) Assert.Equal(src[i * (cols + 1) + j], dst[j * (rows + 2) + i]);
        for (int j = 0; j < cols; j++) Assert.True(dst[j * (rows + 2) + rows] == 0 && dst[j * (rows + 2) + rows + 1] == 0, "padding written");
    }

    [Theory]
    [InlineData(3, 14, 14, 3, 1, 1, 1)]
    [InlineData(2, 28, 28, 5, 1, 2, 1)]
    [InlineData(2, 11, 9, 3, 2, 1, 2)]
    [InlineData(2, 9, 40, 3, 1, 2, 2)]  // wider than 32: the general path
    [InlineData(1, 12, 20, 7, 1, 3, 1)]
    [InlineData(2, 5, 3, 3, 1, 0, 1)]   // output rows 1 wide: a whole-vector store would run 7 floats past the row
    [InlineData(2, 6, 9, 2, 1, 0, 1)]   // output rows exactly 8 wide
    public void FoldAddIsTheAdjointOfUnfold(int c, int h, int w, int k, int stride, int pad, int dilation)
    {
        int oh = (h + 2 * pad - dilation * (k - 1) - 1) / stride + 1, ow = (w + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
        var g = new ConvGeometry(c, h, w, k, k, stride, stride, pad, pad, dilation, oh, ow);
        var x = TestInputs.Uniform(c * h * w, 7);
        var d = TestInputs.Uniform(g.ColRows * g.ColCols, 8);
        var col = new float[d.Length + 16];
        col.AsSpan(d.Length).Fill(-7f); // sentinels: nothing past the column matrix may be written
        Im2Col.Unfold(in g, x, col.AsSpan(0, d.Length));
        Assert.All(col[d.Length..], v => Assert.Equal(-7f, v));
        for (int ci = 0; ci < c; ci++)
            for (int kh = 0; kh < k; kh++)
                for (int kw = 0; kw < k; kw++)
                    for (int r = 0; r < oh; r++)
                        for (int q = 0; q < ow; q++)
                        {
                            int ih = r * stride - pad + kh * dilation, iw = q * stride - pad + kw * dilation;
                            float v = ih >= 0 && ih < h && iw >= 0 && iw < w ? x[(ci * h + ih) * w + iw] : 0f;
                            Assert.Equal(v, col[((ci * k + kh) * k + kw) * oh * ow + r * ow + q]);
                        }
        var dx = TestInputs.Uniform(x.Length, 9);
        var dx0 = (float[])dx.Clone();
        Im2Col.FoldAdd(in g, d, dx);
        // <Unfold(x), d> = <x, Fold(d)>, with Fold(d) = dx − dx0
        double lhs = 0, rhs = 0;
        for (int i = 0; i < d.Length; i++) lhs += (double)col[i] * d[i];
        for (int i = 0; i < x.Length; i++) rhs += (double)x[i] * (dx[i] - dx0[i]);
        Assert.True(Math.Abs(lhs - rhs) <= 1e-3 * (1 + Math.Abs(lhs)), $"<Unfold x, d> = {lhs}, <x, Fold d> = {rhs}");
    }

    [Fact]
    public void TanhAndSigmoidAreAccurate()
    {
        var x = new float[20011];
        for (int i = 0; i < x.Length; i++) x[i] = (i - 10005) * 0.0021f;
        x[0] = float.NaN; x[1] = float.PositiveInfinity; x[2] = float.NegativeInfinity; x[3] = 1e-30f; x[4] = -0f; x[5] = 100f; x[6] = -100f;
        var y = new float[x.Length];
        Vec.Tanh(x, y);
        for (int i = 0; i < x.Length; i++)
        {
            double t = Math.Tanh(x[i]);
            if (double.IsNaN(t)) { Assert.True(float.IsNaN(y[i])); continue; }
            Assert.True(Math.Abs(y[i] - t) <= 2e-7 * Math.Abs(t) + 1e-38, $"tanh({x[i]:R}) = {y[i]:R}, expected {t:R}");
        }
        Vec.Sigmoid(x, y);
        for (int i = 0; i < x.Length; i++)
        {
            double s = 1 / (1 + Math.Exp(-(double)x[i]));
            if (double.IsNaN(s)) { Assert.True(float.IsNaN(y[i])); continue; }
            Assert.True(Math.Abs(y[i] - s) <= 3e-7 * s + 1e-38, $"sigmoid({x[i]:R}) = {y[i]:R}, expected {s:R}");
        }
    }

    /// <summary>Plane sizes for the 2×2 pools: vector chunks that overlap at the row's end, scalar rows, odd sizes.</summary>
    public static TheoryData<int, int> PoolPlanes => new()
    {
        { 28, 28 }, { 7, 9 }, { 2, 34 },
        { 14, 14 },  // 7 outputs per row: two overlapping 4-wide chunks
        { 10, 10 },
        { 4, 6 },    // 3 per row: scalar
        { 6, 20 }, { 5, 37 },
    };

    [Theory]
    [MemberData(nameof(PoolPlanes))]
    public void Pool2x2MatchesTheDefinition(int h, int w)
    {
        const int planes = 3;
        var x = TestInputs.Uniform(planes * h * w, 6);
        for (int i = 0; i < x.Length; i += 7) x[i] = x[i + 1 < x.Length ? i + 1 : i]; // ties
        x[5] = float.NaN;
        x[2] = -0f; x[3] = 0f; // a window whose first maximum is −0 keeps −0
        int oh = h / 2, ow = w / 2;
        var y = new float[planes * oh * ow];
        var arg = new int[y.Length];
        Pool.Max2x2(planes, h, w, x, y, arg);
        var values = new float[y.Length];
        Pool.Max2x2(planes, h, w, x, values, default); // inference: no indices, the same bits
        for (int i = 0; i < y.Length; i++) Assert.Equal(BitConverter.SingleToInt32Bits(y[i]), BitConverter.SingleToInt32Bits(values[i]));
        var avg = new float[y.Length];
        Pool.Avg2x2(planes, h, w, x, avg);
        for (int p = 0; p < planes; p++)
            for (int r = 0; r < oh; r++)
                for (int j = 0; j < ow; j++)
                {
                    float best = float.NegativeInfinity; int index = 2 * r * w + 2 * j; float sum = 0;
                    for (int dh = 0; dh < 2; dh++)
                        for (int dw = 0; dw < 2; dw++)
                        {
                            int at = (2 * r + dh) * w + 2 * j + dw;
                            float v = x[p * h * w + at];
                            if (v > best || float.IsNaN(v)) { best = v; index = at; }
                            sum += v;
                        }
                    int o = (p * oh + r) * ow + j;
                    Assert.Equal(best, y[o]);
                    Assert.Equal(index, arg[o]);
                    Assert.Equal(sum / 4, avg[o]);
                }
    }

    [Theory]
    [MemberData(nameof(PoolPlanes))]
    public void Pool2x2BackwardMatchesTheDefinition(int h, int w)
    {
        const int planes = 3;
        int oh = h / 2, ow = w / 2;
        var x = TestInputs.Uniform(planes * h * w, 8);
        for (int i = 0; i < x.Length; i += 5) x[i] = Math.Max(x[i], 0f); // a ReLU's output: zeros and ties among them
        var y = new float[planes * oh * ow];
        var arg = new int[y.Length];
        Pool.Max2x2(planes, h, w, x, y, arg);
        var dy = TestInputs.Uniform(y.Length, 9);
        dy[0] = -0f; dy[1] = float.NaN;
        // The definition: a scatter into zeros (0 + dy), then the ReLU's gate on the winner's value.
        var scatter = new float[planes * h * w];
        for (int o = 0; o < y.Length; o++) scatter[o / (oh * ow) * h * w + arg[o]] += dy[o];
        var gated = new float[scatter.Length];
        for (int i = 0; i < x.Length; i++) gated[i] = x[i] > 0f ? scatter[i] : 0f;
        var dx = TestInputs.Uniform(scatter.Length, 10); // stale values: every element is written
        Pool.Max2x2Backward(planes, h, w, dy, arg, default, dx);
        for (int i = 0; i < dx.Length; i++) Assert.Equal(BitConverter.SingleToInt32Bits(scatter[i]), BitConverter.SingleToInt32Bits(dx[i]));
        Pool.Max2x2Backward(planes, h, w, dy, arg, y, dx);
        for (int i = 0; i < dx.Length; i++) Assert.Equal(BitConverter.SingleToInt32Bits(gated[i]), BitConverter.SingleToInt32Bits(dx[i]));
        // The average pool's adjoint: dy/4 to each covered input, 0 to rows and columns no window reads.
        var avg = TestInputs.Uniform(scatter.Length, 11);
        Pool.Avg2x2Backward(planes, h, w, dy, avg);
        for (int p = 0; p < planes; p++)
            for (int r = 0; r < h; r++)
                for (int c = 0; c < w; c++)
                {
                    float expected = r < 2 * oh && c < 2 * ow ? dy[(p * oh + r / 2) * ow + c / 2] / 4f : 0f;
                    Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(avg[(p * h + r) * w + c]));
                }
    }
}
