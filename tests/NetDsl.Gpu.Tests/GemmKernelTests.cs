using System;
using System.Diagnostics;
using System.Linq;
using ILGPU.Runtime;
using NetDsl.Gpu;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Gpu.Tests;

/// <summary>Both GEMM kernels (the small tile the CPU accelerator runs, the 64×64 tile a GPU runs) against a double-precision
/// product: every transpose the layers use, sizes that are no multiple of the tile, batched launches, accumulation, and split-K
/// sums with their slice reduction.</summary>
public class GemmKernelTests(CpuAccelerator small, LargeGroupAccelerator large, ITestOutputHelper output)
    : IClassFixture<CpuAccelerator>, IClassFixture<LargeGroupAccelerator>
{
    private static float[] Random(int count, int seed)
    {
        var rng = new NetDsl.Kernels.Rng((ulong)seed);
        var v = new float[count];
        for (int i = 0; i < v.Length; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        return v;
    }

    /// <summary>C_z (+)= Σ over slice z's items (or k range) of A_i·B_i, in double.</summary>
    private static double[] Reference(float[] a, float[] b, float[] c0, GemmShape s)
    {
        int slices = s.Slices;
        long cLength = s.Sc == 0 ? (long)s.M * s.Ldc : slices * s.Sc;
        var c = new double[Math.Max(cLength, c0.Length)];
        for (int i = 0; i < c0.Length; i++) c[i] = c0[i];
        for (int z = 0; z < slices; z++)
            for (int m = 0; m < s.M; m++)
                for (int n = 0; n < s.N; n++)
                {
                    double sum = 0;
                    int first = s.KChunk > 0 ? 0 : z * s.Inner, last = s.KChunk > 0 ? 1 : Math.Min((z + 1) * s.Inner, s.Items);
                    int kBegin = s.KChunk > 0 ? z * s.KChunk : 0, kEnd = s.KChunk > 0 ? Math.Min(s.K, kBegin + s.KChunk) : s.K;
                    for (int item = first; item < last; item++)
                        for (int k = kBegin; k < kEnd; k++)
                            sum += (double)a[item * s.Sa + (long)m * s.Am + (long)k * s.Ak] * b[item * s.Sb + (long)k * s.Bk + (long)n * s.Bn];
                    long at = z * s.Sc + (long)m * s.Ldc + n;
                    c[at] = s.Accumulate != 0 ? c[at] + sum : sum;
                }
        return c;
    }

    /// <summary>Every case on every tile (8, 64, 128, and the narrow 32 × 128 and 16 × 256).</summary>
    private static TheoryData<string, int> OnEveryTile(params string[] names)
    {
        var data = new TheoryData<string, int>();
        foreach (var name in names)
            foreach (int tile in new[] { DeviceKernels.GemmTile, DeviceKernels.LargeTile, DeviceKernels.WideTile, DeviceKernels.Narrow32Rows, DeviceKernels.Narrow16Rows })
                data.Add(name, tile);
        return data;
    }

    public static TheoryData<string, int> Cases() => OnEveryTile("AB", "AtB", "ABt", "batched", "batched-accumulate", "summed-slices", "split-k");

    /// <summary>The accelerator and kernels a tile runs on (the 64 and 128 tiles need 256-thread groups), and M and N that
    /// cross the tile (two tiles of 64 or 128, of 32 × 128 or 16 × 256, several of 8).</summary>
    private (Accelerator Accelerator, LoadedKernels Kernels, int M, int N) On(int tile)
    {
        bool useLarge = tile != DeviceKernels.GemmTile;
        var accelerator = (useLarge ? large.Device : small.Device).Accelerator;
        var k = LoadedKernels.For(accelerator);
        Assert.Equal(useLarge, k.Large);
        return tile switch
        {
            DeviceKernels.GemmTile => (accelerator, k, 19, 21),
            DeviceKernels.WideTile => (accelerator, k, 131, 133),
            DeviceKernels.Narrow32Rows => (accelerator, k, 37, 133), // two row tiles of 32, two column tiles of 128
            DeviceKernels.Narrow16Rows => (accelerator, k, 19, 261), // two row tiles of 16, two column tiles of 256
            _ => (accelerator, k, 70, 67),
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GemmMatchesTheDoublePrecisionProduct(string name, int tile)
    {
        var (accelerator, k, m, n) = On(tile);
        int kk = 37; // crosses a step of 8 and of 16
        GemmShape s = name switch
        {
            "AB" => new GemmShape(m, n, kk, kk, 1, n, 1, n, accumulate: false),
            "AtB" => new GemmShape(m, n, kk, 1, m, n, 1, n, accumulate: false),              // A stored [K, M]
            "ABt" => new GemmShape(m, n, kk, kk, 1, 1, kk, n, accumulate: false),             // B stored [N, K]
            "batched" => new GemmShape(m, n, kk, kk, 1, n, 1, n, accumulate: false).Batched(3, 0, (long)kk * n, (long)m * n),
            "batched-accumulate" => new GemmShape(m, n, kk, 1, m, 1, kk, n, accumulate: true).Batched(2, (long)kk * m, (long)kk * n, (long)m * n),
            "summed-slices" => new GemmShape(m, n, kk, kk, 1, 1, kk, n, accumulate: false).Summed(5, 2, (long)m * kk, (long)n * kk, (long)m * n),
            "split-k" => new GemmShape(m, n, kk, 1, m, n, 1, n, accumulate: false).SplitK(16, (long)m * n),
            _ => throw new ArgumentException(name),
        };
        int items = s.Items;
        var a = Random((int)Math.Max((long)m * kk, items * Math.Max(s.Sa, 1)) + m * kk, 1);
        var b = Random((int)Math.Max((long)kk * n, items * Math.Max(s.Sb, 1)) + kk * n, 2);
        int cLength = (int)(s.Sc == 0 ? (long)m * n : s.Slices * s.Sc);
        var c0 = Random(cLength, 3);
        var expected = Reference(a, b, c0, s);

        using var da = accelerator.Allocate1D(a);
        using var db = accelerator.Allocate1D(b);
        using var dc = accelerator.Allocate1D(c0);
        var watch = Stopwatch.StartNew();
        Launcher.Launch(k, da.View, db.View, dc.View, s, tile);
        var c = dc.GetAsArray1D();
        double worst = Check(expected, c, name);
        if (name is "summed-slices" or "split-k")
        {
            // The slice sums added in order into a destination: dst += Σ_z partial_z.
            var dst0 = Random(m * n, 4);
            using var dst = accelerator.Allocate1D(dst0);
            GemmKernels<RuntimeProduct>.For(accelerator).SumSlices(m * n, dc.View, dst.View, dst.View, dst.View, s.Slices, new GemmShape(m, n, kk, kk, 1, n, 1, n, accumulate: true));
            var sum = new double[m * n];
            for (int j = 0; j < sum.Length; j++)
            {
                sum[j] = dst0[j];
                for (int z = 0; z < s.Slices; z++) sum[j] += expected[z * m * n + j];
            }
            worst = Math.Max(worst, Check(sum, dst.GetAsArray1D(), name + " reduced"));
        }
        output.WriteLine($"{name} on the {tile}×{tile} tile: {m}×{n}×{kk}, {s.Items} item(s) in {s.Slices} slice(s), worst error {worst:E2} of the scale, {watch.ElapsedMilliseconds} ms");
    }

    /// <summary>The launcher's own choices on the large-group accelerator (two multiprocessors): a product of two 64-wide
    /// tiles with a long K is split along K (two slices) and the slices summed; the result is the product.</summary>
    [Fact]
    public void LauncherSplitsALongProductAlongK()
    {
        var accelerator = large.Device.Accelerator;
        var k = LoadedKernels.For(accelerator);
        using var launcher = new Launcher(accelerator, k);
        int m = 40, n = 67, kk = 300;
        var s = new GemmShape(m, n, kk, kk, 1, n, 1, n, accumulate: true);
        Assert.Equal(DeviceKernels.LargeTile, launcher.TileFor(s));
        var a = Random(m * kk, 5);
        var b = Random(kk * n, 6);
        var c0 = Random(m * n, 7);
        var expected = Reference(a, b, c0, s);
        using var da = accelerator.Allocate1D(a);
        using var db = accelerator.Allocate1D(b);
        using var dc = accelerator.Allocate1D(c0);
        launcher.Gemm(da.View, db.View, dc.View, s);
        Assert.Equal(2, launcher.LastSlices);
        double worst = Check(expected, dc.GetAsArray1D(), "split along K by the launcher");
        output.WriteLine($"{m}×{n}×{kk} on {accelerator.NumMultiprocessors} multiprocessors, split along K: worst error {worst:E2} of the scale");
    }

    /// <summary>Which tile a product gets on a GPU-sized group (the test accelerator has two multiprocessors): the share of
    /// computed outputs each tile keeps, worked out by hand (the 128 tile's counted 1.3×, ties to the larger tile), a narrow
    /// tile only where its groups (tiles × items) fill the two multiprocessors.</summary>
    [Theory]
    [InlineData(16, 784, 1, DeviceKernels.Narrow16Rows)]  // a 16-channel 28×28 convolution: 16 × 256 keeps 784/1024; 64 keeps 1/4 of that
    [InlineData(6, 784, 1, DeviceKernels.Narrow16Rows)]   // LeNet-5's conv1
    [InlineData(32, 784, 1, DeviceKernels.Narrow32Rows)]  // the cnn's conv1: 32 × 128 keeps 784/896; 16 × 256 is not for M > 16
    [InlineData(32, 196, 1, DeviceKernels.Narrow32Rows)]  // 32 × 128 keeps 196/256 in two groups, the 64 tile half of that
    [InlineData(16, 100, 1, DeviceKernels.LargeTile)]     // the narrow tiles would be one group: below a wave, the square tile
    [InlineData(16, 100, 2, DeviceKernels.Narrow32Rows)]  // two items, two groups: 0.5 × 100/128 = 1 × 100/256, a tie, to the larger
    [InlineData(64, 196, 1, DeviceKernels.LargeTile)]     // the cnn's conv2: the narrow tiles are for M ≤ 32
    [InlineData(64, 784, 1, DeviceKernels.LargeTile)]     // 784/832 against 784/896
    [InlineData(256, 3136, 1, DeviceKernels.WideTile)]    // a dense layer at batch 256
    [InlineData(288, 196, 1, DeviceKernels.WideTile)]     // 128 keeps 288/384 × 196/256 = 0.57 (× 1.3 = 0.75), 64 keeps 288/320 × 196/256 = 0.69
    [InlineData(100, 196, 1, DeviceKernels.LargeTile)]    // M under 128: no 128 tile
    public void TheTileKeepsTheLargestShareOfWhatItComputes(int m, int n, int items, int tile)
    {
        var k = LoadedKernels.For(large.Device.Accelerator);
        Assert.Equal(2, large.Device.Accelerator.NumMultiprocessors);
        using var launcher = new Launcher(large.Device.Accelerator, k);
        var s = new GemmShape(m, n, 9, 9, 1, n, 1, n, accumulate: false);
        if (items > 1) s = s.Batched(items, 9L * m, 9L * n, (long)m * n);
        Assert.Equal(tile, launcher.TileFor(s));
    }

    private static double Activate(double v, int kind, double a) => kind switch
    {
        ActivationKind.ReLU => Math.Max(v, 0),
        ActivationKind.LeakyReLU => v > 0 ? v : a * v,
        ActivationKind.Tanh => Math.Tanh(v),
        ActivationKind.Sigmoid => 1 / (1 + Math.Exp(-v)),
        _ => v > 0 ? v : a * (Math.Exp(v) - 1),
    };

    public static TheoryData<string, int> EpilogueCases() =>
        OnEveryTile("conv-bias-rows-tanh", "dense-bias-columns-relu", "dense-bias-columns-elu", "bias-only", "leaky-no-bias", "sigmoid-split-k");

    /// <summary>The epilogue a convolution or dense layer fuses into its GEMM: C = A·B + bias (per row or per column) and
    /// D = f(C), against the double-precision product, bias and activation; batched (a convolution over the batch, C and D
    /// per item) and split along K (the epilogue then runs in the slice reduction).</summary>
    [Theory]
    [MemberData(nameof(EpilogueCases))]
    public void EpilogueAddsTheBiasAndAppliesTheActivation(string name, int tile)
    {
        var (accelerator, k, m, n) = On(tile);
        int kk = 37;
        var plain = new GemmShape(m, n, kk, kk, 1, n, 1, n, accumulate: false);
        var (s, biasAlong, kind, slope) = name switch
        {
            "conv-bias-rows-tanh" => (plain.Batched(2, 0, (long)kk * n, (long)m * n), 1, ActivationKind.Tanh, 0f),
            "dense-bias-columns-relu" => (plain, 2, ActivationKind.ReLU, 0f),
            "dense-bias-columns-elu" => (plain, 2, ActivationKind.ELU, 0.7f),
            "bias-only" => (plain, 1, -1, 0f),
            "leaky-no-bias" => (plain, 0, ActivationKind.LeakyReLU, 0.1f),
            "sigmoid-split-k" => (plain, 2, ActivationKind.Sigmoid, 0f),
            _ => throw new ArgumentException(name),
        };
        s = s.WithEpilogue(biasAlong, kind, slope);
        int items = s.Items;
        var a = Random(m * kk, 11);
        var b = Random(items * kk * n, 12);
        var bias = Random(biasAlong == 1 ? m : n, 13);
        long length = (long)items * m * n;
        var expected = new double[length];
        var activated = new double[length];
        for (int item = 0; item < items; item++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double sum = 0;
                    for (int q = 0; q < kk; q++) sum += (double)a[i * kk + q] * b[item * kk * n + q * n + j];
                    sum += biasAlong == 1 ? bias[i] : biasAlong == 2 ? bias[j] : 0;
                    long at = (long)item * m * n + (long)i * n + j;
                    expected[at] = sum;
                    activated[at] = kind < 0 ? -7 : Activate(sum, kind, slope);
                }
        using var da = accelerator.Allocate1D(a);
        using var db = accelerator.Allocate1D(b);
        using var dbias = accelerator.Allocate1D(bias);
        using var dc = accelerator.Allocate1D<float>(length);
        using var dd = accelerator.Allocate1D(Enumerable.Repeat(-7f, (int)length).ToArray());
        if (name.EndsWith("split-k"))
        {
            using var launcher = new Launcher(accelerator, k);
            launcher.GemmSplit(da.View, db.View, dc.View, s, tile, 2, dbias.View, dd.View);
            Assert.Equal(2, launcher.LastSlices);
        }
        else Launcher.Launch(k, da.View, db.View, dc.View, s, tile, dbias.View, dd.View);
        double worst = Check(expected, dc.GetAsArray1D(), name + " (C)");
        worst = Math.Max(worst, Check(activated, dd.GetAsArray1D(), name + " (D)"));
        output.WriteLine($"{name} on the {tile}×{tile} tile: worst error {worst:E2} of the scale");
    }

    private static double Check(double[] expected, float[] actual, string what)
    {
        double scale = 0, worst = 0;
        for (int i = 0; i < actual.Length; i++) scale = Math.Max(scale, Math.Abs(expected[i]));
        for (int i = 0; i < actual.Length; i++)
        {
            double err = Math.Abs(actual[i] - expected[i]);
            worst = Math.Max(worst, err / scale);
            Assert.True(err <= 1e-5 * scale, $"{what}: element {i} is {actual[i]}, expected {expected[i]:G9} (scale {scale:G3})");
        }
        return worst;
    }
}
