using System;
using System.Linq;
using NetDsl.Tests.Networks;
using NetDsl.Training;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Training;

public class InitializerTests
{
    static (double Mean, double Std, double MaxAbs) Stats(ReadOnlySpan<float> w)
    {
        double mean = 0; foreach (float v in w) mean += v; mean /= w.Length;
        double var = 0, max = 0; foreach (float v in w) { var += (v - mean) * (v - mean); max = Math.Max(max, Math.Abs(v)); }
        return (mean, Math.Sqrt(var / w.Length), max);
    }

    static ParameterTensor Tensor(INetwork net, string name) => net.ParameterTensors.ToArray().Single(t => t.Name == name);

    [Theory]
    [InlineData(Init.LeCun, 1.0 / 16)]                 // sqrt(1/256)
    [InlineData(Init.He, 0.08838834764831845)]          // sqrt(2/256)
    [InlineData(Init.StandardNormal, 1.0)]
    [InlineData(Init.Glorot, 0.05103103630798288)]      // limit sqrt(6/(256+512)) = 0.0884, uniform std = limit/sqrt(3)
    public void DenseLayerGetsTheSchemesStatistics(Init scheme, double expectedStd)
    {
        var net = new WideDense(1, seed: 1, workers: 1);
        var other = net.Parameters.Slice(Tensor(net, "dense2.weight").Offset, 5120).ToArray();
        net.Parameters.Slice(Tensor(net, "dense1.bias").Offset, 512).Fill(3f);
        Initializer.Reinitialize(net, "dense1", scheme, seed: 42).ShouldBe(scheme);
        var w = net.Parameters.Slice(Tensor(net, "dense1.weight").Offset, 512 * 256);
        var (mean, std, max) = Stats(w);
        mean.ShouldBe(0, 4 * expectedStd / Math.Sqrt(w.Length));   // 4 standard errors of the mean
        std.ShouldBe(expectedStd, 0.01 * expectedStd);              // 131,072 draws: the std is within 1 %
        if (scheme == Init.Glorot) max.ShouldBeLessThanOrEqualTo(0.08838834764831845);
        else max.ShouldBeGreaterThan(4 * expectedStd);              // normal tails, not uniform
        net.Parameters.Slice(Tensor(net, "dense1.bias").Offset, 512).ToArray().ShouldAllBe(b => b == 0f);
        net.Parameters.Slice(Tensor(net, "dense2.weight").Offset, 5120).ToArray().ShouldBe(other); // other layers untouched
    }

    [Fact]
    public void ConvFanInIsChannelsTimesKernelArea()
    {
        var net = new WideConv(1, workers: 1);
        Initializer.Fans(Tensor(net, "conv1.weight").Shape).ShouldBe((16 * 25, 64 * 25));
        Initializer.Reinitialize(net, "conv1", Init.LeCun, seed: 3);
        var (_, std, _) = Stats(net.Parameters.Slice(0, 64 * 16 * 25));
        std.ShouldBe(1.0 / 20, 0.02 / 20); // sqrt(1/400); 25,600 draws
    }

    [Fact]
    public void AutoFollowsTheNextActivationAndSeedsAreDeterministic()
    {
        var a = new WideDense(1, workers: 1);
        Initializer.Reinitialize(a, "dense1", Init.Auto, 5).ShouldBe(Init.He);     // followed by ReLU
        Initializer.Reinitialize(a, "dense2", Init.Auto, 5).ShouldBe(Init.Glorot); // the output layer
        var b = new WideDense(1, seed: 99, workers: 1);
        Initializer.Reinitialize(b, "dense1", Init.He, 5);
        Initializer.Reinitialize(b, "dense2", Init.Glorot, 5);
        b.Parameters.ToArray().ShouldBe(a.Parameters.ToArray());
        Initializer.Reinitialize(b, "dense1", Init.He, 6);
        b.Parameters.Slice(0, 100).ToArray().ShouldNotBe(a.Parameters.Slice(0, 100).ToArray());
    }

    [Fact]
    public void BadNamesAreReported()
    {
        var net = new WideDense(1, workers: 1);
        Should.Throw<ArgumentException>(() => Initializer.Reinitialize(net, "fc3", Init.LeCun, 1)).Message.ShouldContain("no layer named 'fc3'; the layers with parameters are dense1, dense2");
        Should.Throw<ArgumentException>(() => Initializer.Reinitialize(net, "relu1", Init.LeCun, 1)).Message.ShouldContain("layer 'relu1' (ReLU) has no parameters");
        Should.Throw<ArgumentOutOfRangeException>(() => Initializer.Reinitialize(net, "dense1", (Init)9, 1)).Message.ShouldContain("defined NetDsl.Init value");
    }
}
