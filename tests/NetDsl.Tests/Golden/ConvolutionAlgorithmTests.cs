using System;
using System.Linq;
using NetDsl.Tests.Infrastructure;
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
    /// <param name="relu">The network is the convolution and a ReLU (fused into the convolution's stores): its output is
    /// max(y, 0) and the convolution's output gradient dy ⊙ (y &gt; 0).</param>
    private static void Check(Func<int, int, INetwork> create, int inC, int h, int wd, int outC, int k, int pt, int pl, bool bias, bool relu = false, bool batchOfOneSameAlgorithm = true)
    {
        const int batch = 7;
        using var net = (IDisposable)create(batch, 2);
        var n = (INetwork)net;
        // output size from the network (its padding may be uneven)
        int oh = n.Layers[0].Height, ow = n.Layers[0].Width, size = n.OutputSize;
        Assert.Equal(outC * oh * ow, size);
        float[] x = TestInputs.Uniform(batch * inC * h * wd, 1), dy = TestInputs.Uniform(batch * size, 2);
        TestInputs.Uniform(n.ParameterCount, 3).CopyTo(n.Parameters);
        float[] w = n.Parameters.Slice(0, outC * inC * k * k).ToArray();
        float[]? b = bias ? n.Parameters.Slice(outC * inC * k * k, outC).ToArray() : null;
        var (ry, _, _, _) = ConvolutionReference.Stride1(x, w, b, dy, batch, inC, h, wd, outC, k, oh, ow, pt, pl);
        var dyConv = relu ? dy.Select((g, i) => ry[i] > 0 ? g : 0f).ToArray() : dy;
        var (_, rdx, rdw, rdb) = ConvolutionReference.Stride1(x, w, b, dyConv, batch, inC, h, wd, outC, k, oh, ow, pt, pl);

        n.ComputeInputGradient = true;
        var y = n.Forward(x, batch, training: true).ToArray();
        ConvolutionReference.Close(relu ? ry.Select(v => Math.Max(v, 0)).ToArray() : ry, y, "output");
        if (relu) ConvolutionReference.Close(ry, n.LayerOutput(0), "convolution output under the fused ReLU");
        var convTraining = n.LayerOutput(0).ToArray();
        n.ZeroGradients();
        n.Backward(dy, batch);
        ConvolutionReference.Close(rdx, n.InputGradient, "input gradient");
        ConvolutionReference.Close(rdw, n.Gradients.Slice(0, rdw.Length), "weight gradient");
        if (bias) ConvolutionReference.Close(rdb, n.Gradients.Slice(rdw.Length, outC), "bias gradient");

        // An inference Forward: the same output, and (under a fused ReLU it is not stored) the convolution's own output
        // computed when LayerOutput asks, bit for bit.
        var yInference = n.Forward(x, batch).ToArray();
        Assert.Equal(y, yInference);
        Assert.Equal(convTraining, n.LayerOutput(0).ToArray());
        Assert.Equal(convTraining, n.LayerOutput(0).ToArray());

        // A batch of one on two workers (output channels split): the batch's first sample, bit for bit, where a batch of
        // one takes the same algorithm; otherwise (a 5×5 lane convolution: F(2×2, 5×5) for several samples, the lane
        // kernel for one) the definition's.
        var one = n.Forward(x.AsSpan(0, inC * h * wd), 1).ToArray();
        if (batchOfOneSameAlgorithm)
        {
            for (int i = 0; i < one.Length; i++) Assert.Equal(BitConverter.SingleToInt32Bits(y[i]), BitConverter.SingleToInt32Bits(one[i]));
            Assert.Equal(convTraining.AsSpan(0, one.Length).ToArray(), n.LayerOutput(0).ToArray());
        }
        else ConvolutionReference.Close(relu ? ry.Take(one.Length).Select(v => Math.Max(v, 0)).ToArray() : ry.Take(one.Length).ToArray(), one, "batch-of-one output");
    }

    /// <summary>A convolution under a fused ReLU stores no output of its own, in training too: after the step's Update has
    /// changed the parameters, LayerOutput still gives the output of the last Forward (recomputed with the parameters
    /// Update kept), bit for bit as a network that did not update computes it; the next Forward's, with the new ones.</summary>
    [Theory]
    [InlineData("winograd")]
    [InlineData("direct")]
    [InlineData("channel-lanes")]
    [InlineData("direct-one-sample-split")]
    [InlineData("relu-before-pool")]
    public void LayerOutputAfterAnUpdateIsTheLastForwardsOutput(string kind)
    {
        int batch = kind.EndsWith("split") ? 1 : 5;
        INetwork Create() => kind switch
        {
            "winograd" => new WinogradConvRelu(batch, 1, 2),
            "channel-lanes" => new ChannelLaneConvPaddedRelu(batch, 1, 2),
            // The ReLU is read only by its 2×2 max pool in one cache block: a Forward keeps it in a worker's scratch.
            "relu-before-pool" => new PoolSplit(batch, 1, 2),
            _ => new DirectConvRelu(batch, 1, 2),
        };
        var trained = Create();
        var untouched = Create();
        try
        {
            TestInputs.Uniform(trained.ParameterCount, 3).CopyTo(trained.Parameters);
            trained.Parameters.CopyTo(untouched.Parameters);
            var x = TestInputs.Uniform(batch * trained.InputSize, 1);
            // A training step: Forward, Backward of some output gradient, Update.
            trained.Forward(x, batch, training: true);
            trained.ZeroGradients();
            trained.Backward(TestInputs.Uniform(batch * trained.OutputSize, 2), batch);
            trained.Update(new global::NetDsl.Training.Sgd(0.5f));
            Assert.NotEqual(untouched.Parameters.ToArray(), trained.Parameters.ToArray());
            untouched.Forward(x, batch, training: true);
            Assert.Equal(untouched.LayerOutput(0).ToArray(), trained.LayerOutput(0).ToArray());
            Assert.Equal(untouched.LayerOutput(1).ToArray(), trained.LayerOutput(1).ToArray());
            Assert.Equal(untouched.LayerOutput(0).ToArray(), trained.LayerOutput(0).ToArray()); // asked twice: stored now
            if (kind == "relu-before-pool")
            {
                Assert.Equal(untouched.LayerOutput(2).ToArray(), trained.LayerOutput(2).ToArray()); // the pool's, stored
                // The ReLU's output is positive where the pool's winners were: the stored pool output is among its values.
                var relu = trained.LayerOutput(1).ToArray();
                Assert.Contains(trained.LayerOutput(2)[0], relu);
            }
            // The next Forward uses the new parameters, and so does its LayerOutput.
            trained.Parameters.CopyTo(untouched.Parameters);
            trained.Forward(x, batch, training: true);
            untouched.Forward(x, batch);
            Assert.Equal(untouched.LayerOutput(0).ToArray(), trained.LayerOutput(0).ToArray());
        }
        finally
        {
            ((IDisposable)trained).Dispose();
            ((IDisposable)untouched).Dispose();
        }
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
    public void DirectConvolutionInBlocksOfSixChannelsMatchesTheDefinition() =>
        Check((b, t) => new DirectConvSixChannels(b, 1, t), 1, 28, 28, 10, 5, 2, 2, bias: true);

    [Fact]
    public void ChannelLaneConvolutionMatchesTheDefinition() =>
        Check((b, t) => new ChannelLaneConvNet(b, 1, t), 6, 14, 14, 16, 5, 0, 0, bias: true, batchOfOneSameAlgorithm: false);

    [Fact]
    public void PaddedChannelLaneConvolutionWithAFusedReluMatchesTheDefinition() =>
        Check((b, t) => new ChannelLaneConvPaddedRelu(b, 1, t), 8, 7, 7, 32, 3, 1, 1, bias: true, relu: true);

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
        var x = TestInputs.Uniform(4 * MaxPoolOnly.InputSize, 12);
        for (int i = 0; i < x.Length; i += 7) x[i + 1 < x.Length ? i + 1 : i] = x[i]; // ties
        var dy = TestInputs.Uniform(4 * MaxPoolOnly.OutputSize, 13);
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

    /// <summary>The definition of a 2×2, stride-2 max pool's winners over <paramref name="planes"/> planes of h×w: each
    /// window's first maximum in row-major order (its index in the whole buffer), window by window.</summary>
    private static int[] Winners(float[] x, int planes, int h, int w)
    {
        int oh = h / 2, ow = w / 2;
        var winners = new int[planes * oh * ow];
        for (int plane = 0; plane < planes; plane++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    int best = -1;
                    for (int u = 0; u < 2; u++)
                        for (int v = 0; v < 2; v++)
                        {
                            int at = (plane * h + 2 * i + u) * w + 2 * j + v;
                            if (best < 0 || x[at] > x[best]) best = at;
                        }
                    winners[(plane * oh + i) * ow + j] = best;
                }
        return winners;
    }

    [Fact]
    public void AReluFoldedIntoItsMaxPoolGivesTheDefinitionsGradients()
    {
        const int batch = 3, inC = 2, h = 9, wd = 14, outC = 8;
        using var net = new ReluFoldedIntoPool(batch, 1, 2);
        TestInputs.Uniform(ReluFoldedIntoPool.ParameterCount, 21).CopyTo(net.Parameters);
        float[] x = TestInputs.Uniform(batch * ReluFoldedIntoPool.InputSize, 22), dy = TestInputs.Uniform(batch * ReluFoldedIntoPool.OutputSize, 23);
        float[] w = net.Parameters.Slice(0, outC * inC * 9).ToArray(), b = net.Parameters.Slice(outC * inC * 9, outC).ToArray();
        var (conv, _, _, _) = ConvolutionReference.Stride1(x, w, b, new float[batch * outC * h * wd], batch, inC, h, wd, outC, 3, h, wd, 1, 1);
        // The definition: each window's first maximum of the ReLU's output gets dy; the ReLU passes it where its output > 0.
        net.Forward(x, batch, training: true);
        var relu = net.LayerOutput(1).ToArray();
        ConvolutionReference.Close(conv.Select(v => Math.Max(v, 0)).ToArray(), relu, "ReLU output");
        var winners = Winners(relu, batch * outC, h, wd);
        var dRelu = new float[relu.Length];
        for (int o = 0; o < winners.Length; o++) dRelu[winners[o]] = 0f + dy[o];
        var dConv = dRelu.Select((g, i) => relu[i] > 0 ? g : 0f).ToArray();
        var (_, rdx, rdw, rdb) = ConvolutionReference.Stride1(x, w, b, dConv, batch, inC, h, wd, outC, 3, h, wd, 1, 1);
        for (int pass = 0; pass < 2; pass++) // after a training Forward, then after an inference one (the winners found again)
        {
            if (pass == 1) net.Forward(x, batch);
            net.ComputeInputGradient = true;
            net.ZeroGradients();
            net.Backward(dy, batch);
            Assert.Equal(dConv, net.LayerGradient(0).ToArray());
            Assert.Equal(dRelu, net.LayerGradient(1).ToArray()); // computed when asked, the pool's own scatter
            Assert.Equal(dRelu, net.LayerGradient(1).ToArray());
            ConvolutionReference.Close(rdx, net.InputGradient, "input gradient");
            ConvolutionReference.Close(rdw, net.Gradients.Slice(0, rdw.Length), "weight gradient");
            ConvolutionReference.Close(rdb, net.Gradients.Slice(rdw.Length, outC), "bias gradient");
        }
    }

    /// <summary>A convolution pools its ReLU as it computes it (ConvStrategy.FusedPool: Winograd in the output transform, the
    /// direct one on pairs of rows), recording the winners when training, and no Forward stores the ReLU's output: LayerOutput computes it (with the convolution's) through the
    /// unfused stores. Against that ReLU output: the pooled values are each window's first maximum, bit for bit; the
    /// gradients after a training Forward are the definition's (each window's first maximum gets dy, the ReLU passes it
    /// where positive, then the convolution's gradients in double precision); and after an inference Forward, whose Backward
    /// finds the winners again from the recomputed ReLU (Pool.Max2x2), the same bits. Batch 5 and 1, one and two workers.</summary>
    [Theory]
    [InlineData("f4", 5, 2)]
    [InlineData("f4", 1, 2)]
    [InlineData("f4", 1, 1)]
    [InlineData("f2-odd", 4, 2)]
    [InlineData("f2-odd", 1, 2)]
    [InlineData("direct", 5, 2)]   // the direct convolution on pairs of rows (where DirectConv.CanPool; the scratch otherwise)
    [InlineData("direct", 1, 2)]
    [InlineData("direct", 1, 1)]
    [InlineData("split-small-pool", 1, 2)] // the split pools, though its pool is too small to run inside a split
    [InlineData("split-small-pool", 3, 2)]
    public void AConvolutionThatPoolsAsItComputesGivesTheDefinition(string kind, int batch, int workers)
    {
        var n = kind switch
        {
            "f4" => (INetwork)new WinogradReluPool(5, 1, workers),
            "f2-odd" => new WinogradReluPoolOdd(5, 1, workers),
            "split-small-pool" => new WinogradSplitSmallPool(5, 1, workers),
            _ => new PoolSplit(5, 1, workers),
        };
        try
        {
            var (inC, outC, h, wd) = kind switch { "f4" => (16, 16, 14, 14), "f2-odd" => (16, 16, 9, 10), "split-small-pool" => (64, 64, 8, 8), _ => (1, 32, 28, 28) };
            TestInputs.Uniform(n.ParameterCount, 31).CopyTo(n.Parameters);
            // A zero filter and bias for channel 3: its ReLU is 0 everywhere, every window a four-way tie.
            n.Parameters.Slice(3 * inC * 9, inC * 9).Clear();
            n.Parameters[outC * inC * 9 + 3] = 0f;
            float[] w = n.Parameters.Slice(0, outC * inC * 9).ToArray(), bias = n.Parameters.Slice(outC * inC * 9, outC).ToArray();
            n.ComputeInputGradient = true;
            var dy = TestInputs.Uniform(batch * n.OutputSize, 33);
            // The buffers first hold another input's Forward, so that nothing stale passes for this one's.
            n.Forward(TestInputs.Uniform(batch * n.InputSize, 34), batch, training: true);
            var x = TestInputs.Uniform(batch * n.InputSize, 32);

            var output = n.Forward(x, batch, training: true).ToArray();
            var relu = n.LayerOutput(1).ToArray();
            var (conv, _, _, _) = ConvolutionReference.Stride1(x, w, bias, new float[batch * outC * h * wd], batch, inC, h, wd, outC, 3, h, wd, 1, 1);
            ConvolutionReference.Close(conv.Select(v => Math.Max(v, 0)).ToArray(), relu, "the ReLU's output, recomputed");
            var winners = Winners(relu, batch * outC, h, wd);
            var dRelu = new float[relu.Length];
            for (int o = 0; o < winners.Length; o++)
            {
                int best = winners[o];
                Assert.True(BitConverter.SingleToInt32Bits(relu[best]) == BitConverter.SingleToInt32Bits(output[o]), $"pooled output {o}: {output[o]}, the window's first maximum is {relu[best]}");
                dRelu[best] = 0f + dy[o];
            }
            var dConv = dRelu.Select((g, i) => relu[i] > 0 ? g : 0f).ToArray();
            var (_, rdx, rdw, rdb) = ConvolutionReference.Stride1(x, w, bias, dConv, batch, inC, h, wd, outC, 3, h, wd, 1, 1);
            n.ZeroGradients();
            n.Backward(dy, batch);
            ConvolutionReference.Close(rdx, n.InputGradient, "input gradient");
            ConvolutionReference.Close(rdw, n.Gradients.Slice(0, rdw.Length), "weight gradient");
            ConvolutionReference.Close(rdb, n.Gradients.Slice(rdw.Length, outC), "bias gradient");
            var gradients = n.Gradients.ToArray();
            var inputGradient = n.InputGradient.ToArray();

            Assert.Equal(output, n.Forward(x, batch).ToArray());
            n.ZeroGradients();
            n.Backward(dy, batch); // the winners found again, from the ReLU's output computed now
            Assert.Equal(gradients, n.Gradients.ToArray());
            Assert.Equal(inputGradient, n.InputGradient.ToArray());
            n.Forward(x, batch);
            Assert.Equal(relu, n.LayerOutput(1).ToArray());
        }
        finally
        {
            ((IDisposable)n).Dispose();
        }
    }

    [Fact]
    public void APoolSplitAcrossWorkersForOneSampleGivesTheBatchBitsAndTheDefinition()
    {
        using var net = new PoolSplit(3, 1, 2);
        TestInputs.Uniform(PoolSplit.ParameterCount, 17).CopyTo(net.Parameters);
        var x = TestInputs.Uniform(3 * PoolSplit.InputSize, 16);
        var batch = net.Forward(x, 3).ToArray();
        var one = net.Forward(x.AsSpan(0, PoolSplit.InputSize), 1).ToArray();
        Assert.Equal(batch.AsSpan(0, PoolSplit.OutputSize).ToArray(), one);
        var relu = net.LayerOutput(1).ToArray();
        for (int c = 0; c < 32; c++)
            for (int i = 0; i < 14; i++)
                for (int j = 0; j < 14; j++)
                {
                    int at = (c * 28 + 2 * i) * 28 + 2 * j;
                    Assert.Equal(Math.Max(Math.Max(relu[at], relu[at + 1]), Math.Max(relu[at + 28], relu[at + 29])), one[(c * 14 + i) * 14 + j]);
                }
    }

    [Fact]
    public void AStageSplitByRowsForOneSampleGivesTheBatchBitsAndTheDefinition()
    {
        using var net = new RowSplitStage(3, 1, 2);
        TestInputs.Uniform(RowSplitStage.ParameterCount, 21).CopyTo(net.Parameters);
        var x = TestInputs.Uniform(3 * RowSplitStage.InputSize, 22);
        var batch = net.Forward(x, 3).ToArray();
        var convBatch = net.LayerOutput(0).Slice(0, 6 * 28 * 28).ToArray();
        var tanhBatch = net.LayerOutput(1).Slice(0, 6 * 28 * 28).ToArray();
        var one = net.Forward(x.AsSpan(0, RowSplitStage.InputSize), 1).ToArray();
        // the same bits as the batch (each row the same sum and the same formulas, whichever worker computed it)
        Assert.Equal(batch.AsSpan(0, RowSplitStage.OutputSize).ToArray(), one);
        Assert.Equal(convBatch, net.LayerOutput(0).ToArray());
        Assert.Equal(tanhBatch, net.LayerOutput(1).ToArray());
        // and the definition: the convolution, tanh, then the mean of each 2×2 window
        float[] w = net.Parameters.Slice(0, 150).ToArray(), b = net.Parameters.Slice(150, 6).ToArray();
        var (ry, _, _, _) = ConvolutionReference.Stride1(x.AsSpan(0, 784).ToArray(), w, b, new float[6 * 784], 1, 1, 28, 28, 6, 5, 28, 28, 2, 2);
        ConvolutionReference.Close(ry, net.LayerOutput(0), "convolution rows split across workers");
        for (int c = 0; c < 6; c++)
            for (int i = 0; i < 14; i++)
                for (int j = 0; j < 14; j++)
                {
                    int at = (c * 28 + 2 * i) * 28 + 2 * j;
                    double expected = (Math.Tanh(ry[at]) + Math.Tanh(ry[at + 1]) + Math.Tanh(ry[at + 28]) + Math.Tanh(ry[at + 29])) / 4;
                    Assert.True(Math.Abs(one[(c * 14 + i) * 14 + j] - expected) <= 1e-5, $"pooled ({c}, {i}, {j}): {one[(c * 14 + i) * 14 + j]}, expected {expected}");
                }
    }

    [Fact]
    public void ADenseLayerSplitAcrossWorkersForOneSampleGivesTheBatchBits()
    {
        using var net = new WideDenseSplit(5, 1, 2);
        const int inSize = WideDenseSplit.InputSize, units = WideDenseSplit.OutputSize;
        TestInputs.Uniform(WideDenseSplit.ParameterCount, 14).CopyTo(net.Parameters);
        var x = TestInputs.Uniform(5 * inSize, 15);
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
