using System;
using System.Linq;
using NetDsl.Tests.Networks;
using Xunit;

namespace NetDsl.Tests.Golden;

/// <summary>
/// The convolutions the generator computes by Winograd or directly, through the generated networks, against the
/// definition in double precision: output, input gradient and weight and bias gradients, for a batch larger than a
/// Winograd call's samples, and a batch of one on two workers (output channels split) giving the same bits as the batch.
/// </summary>
public class ConvolutionAlgorithmTests
{
    private static float[] Random(int n, int seed)
    {
        var rng = new Random(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        return v;
    }

    /// <summary>Definition of a stride-1 convolution: y[s, o, i, j] = b[o] + Σ w[o, c, u, v] · x[s, c, i + u − pt, j + v − pl],
    /// and its gradients for dL/dy = dy.</summary>
    internal static (double[] Y, double[] Dx, double[] Dw, double[] Db) Reference(float[] x, float[] w, float[]? b, float[] dy,
        int samples, int inC, int h, int wd, int outC, int k, int oh, int ow, int pt, int pl)
    {
        var y = new double[samples * outC * oh * ow];
        var dx = new double[samples * inC * h * wd];
        var dw = new double[outC * inC * k * k];
        var db = new double[outC];
        for (int s = 0; s < samples; s++)
            for (int o = 0; o < outC; o++)
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++)
                    {
                        int at = ((s * outC + o) * oh + i) * ow + j;
                        double sum = b == null ? 0 : b[o], g = dy[at];
                        db[o] += g;
                        for (int c = 0; c < inC; c++)
                            for (int u = 0; u < k; u++)
                                for (int v = 0; v < k; v++)
                                {
                                    int ih = i + u - pt, iw = j + v - pl;
                                    if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                                    int wi = ((o * inC + c) * k + u) * k + v, xi = ((s * inC + c) * h + ih) * wd + iw;
                                    sum += (double)w[wi] * x[xi];
                                    dx[xi] += w[wi] * g;
                                    dw[wi] += x[xi] * g;
                                }
                        y[at] = sum;
                    }
        return (y, dx, dw, db);
    }

    private static void Close(double[] expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = 0;
        foreach (double e in expected) scale = Math.Max(scale, Math.Abs(e));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-5 * (1 + scale), $"{what}: element {i} is {actual[i]}, expected {expected[i]}");
    }

    /// <param name="relu">The network is the convolution and a ReLU (fused into the convolution's stores): its output is
    /// max(y, 0) and the convolution's output gradient dy ⊙ (y &gt; 0).</param>
    private static void Check(Func<int, int, INetwork> create, int inC, int h, int wd, int outC, int k, int pt, int pl, bool bias, bool relu = false)
    {
        const int batch = 7;
        using var net = (IDisposable)create(batch, 2);
        var n = (INetwork)net;
        // output size from the network (its padding may be uneven)
        int oh = n.Layers[0].Height, ow = n.Layers[0].Width, size = n.OutputSize;
        Assert.Equal(outC * oh * ow, size);
        float[] x = Random(batch * inC * h * wd, 1), dy = Random(batch * size, 2);
        Random(n.ParameterCount, 3).CopyTo(n.Parameters);
        float[] w = n.Parameters.Slice(0, outC * inC * k * k).ToArray();
        float[]? b = bias ? n.Parameters.Slice(outC * inC * k * k, outC).ToArray() : null;
        var (ry, _, _, _) = Reference(x, w, b, dy, batch, inC, h, wd, outC, k, oh, ow, pt, pl);
        var dyConv = relu ? dy.Select((g, i) => ry[i] > 0 ? g : 0f).ToArray() : dy;
        var (_, rdx, rdw, rdb) = Reference(x, w, b, dyConv, batch, inC, h, wd, outC, k, oh, ow, pt, pl);

        n.ComputeInputGradient = true;
        var y = n.Forward(x, batch, training: true).ToArray();
        Close(relu ? ry.Select(v => Math.Max(v, 0)).ToArray() : ry, y, "output");
        if (relu) Close(ry, n.LayerOutput(0), "convolution output under the fused ReLU");
        n.ZeroGradients();
        n.Backward(dy, batch);
        Close(rdx, n.InputGradient, "input gradient");
        Close(rdw, n.Gradients.Slice(0, rdw.Length), "weight gradient");
        if (bias) Close(rdb, n.Gradients.Slice(rdw.Length, outC), "bias gradient");

        // A batch of one on two workers (output channels split): the batch's first sample, bit for bit.
        var one = n.Forward(x.AsSpan(0, inC * h * wd), 1).ToArray();
        for (int i = 0; i < one.Length; i++) Assert.Equal(BitConverter.SingleToInt32Bits(y[i]), BitConverter.SingleToInt32Bits(one[i]));
    }

    [Fact]
    public void WinogradConvolutionMatchesTheDefinition() =>
        Check((b, t) => new WinogradConv(b, 1, t), 16, 16, 15, 32, 3, 1, 1, bias: true);

    [Fact]
    public void WinogradConvolutionWithUnevenPaddingMatchesTheDefinition() =>
        Check((b, t) => new WinogradConvUnevenPadding(b, 1, t), 16, 9, 11, 16, 3, 0, 2, bias: false);

    [Fact]
    public void DirectConvolutionMatchesTheDefinition() =>
        Check((b, t) => new DirectConvNet(b, 1, t), 3, 30, 29, 20, 5, 2, 2, bias: true);

    [Fact]
    public void WinogradConvolutionWithAFusedReluMatchesTheDefinition() =>
        Check((b, t) => new WinogradConvRelu(b, 1, t), 16, 10, 12, 24, 3, 1, 1, bias: true, relu: true);

    [Fact]
    public void DirectConvolutionWithAFusedReluMatchesTheDefinition() =>
        Check((b, t) => new DirectConvRelu(b, 1, t), 1, 28, 28, 32, 3, 1, 1, bias: true, relu: true);

    [Fact]
    public void MaxPoolBackwardAfterAnInferenceForwardEqualsItAfterATrainingForward()
    {
        using var net = new MaxPoolOnly(4, 1, 2);
        var x = Random(4 * MaxPoolOnly.InputSize, 12);
        for (int i = 0; i < x.Length; i += 7) x[i + 1 < x.Length ? i + 1 : i] = x[i]; // ties
        var dy = Random(4 * MaxPoolOnly.OutputSize, 13);
        net.ComputeInputGradient = true;
        var yTrain = net.Forward(x, 4, training: true).ToArray();
        net.Backward(dy, 4);
        var dxTrain = net.InputGradient.ToArray();
        var yEval = net.Forward(x, 4, training: false).ToArray();
        Assert.Equal(yTrain, yEval);
        net.Backward(dy, 4);
        Assert.Equal(dxTrain, net.InputGradient.ToArray());
        // and against the definition: each window's first maximum gets its dy
        for (int s = 0; s < 4; s++)
            for (int c = 0; c < 3; c++)
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 4; j++)
                    {
                        int best = -1;
                        for (int u = 0; u < 2; u++)
                            for (int v = 0; v < 2; v++)
                            {
                                int at = ((s * 3 + c) * 6 + 2 * i + u) * 8 + 2 * j + v;
                                if (best < 0 || x[at] > x[best]) best = at;
                            }
                        Assert.Equal(dy[((s * 3 + c) * 3 + i) * 4 + j], dxTrain[best]);
                    }
    }

    [Fact]
    public void ADenseLayerSplitAcrossWorkersForOneSampleGivesTheBatchBits()
    {
        using var net = new WideDenseSplit(5, 1, 2);
        const int inSize = WideDenseSplit.InputSize, units = WideDenseSplit.OutputSize;
        Random(WideDenseSplit.ParameterCount, 14).CopyTo(net.Parameters);
        var x = Random(5 * inSize, 15);
        var batch = net.Forward(x, 5).ToArray();
        var one = net.Forward(x.AsSpan(0, inSize), 1).ToArray();
        for (int u = 0; u < units; u++)
        {
            Assert.Equal(BitConverter.SingleToInt32Bits(batch[u]), BitConverter.SingleToInt32Bits(one[u]));
            double sum = net.Parameters[units * inSize + u];
            for (int i = 0; i < inSize; i++) sum += (double)net.Parameters[u * inSize + i] * x[i];
            Assert.True(Math.Abs(one[u] - sum) <= 1e-4 * (1 + Math.Abs(sum)), $"unit {u}: {one[u]}, expected {sum}");
        }
    }
}
