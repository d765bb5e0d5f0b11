using System;
using NetDsl.Tests.Networks;
using NetDsl.Training;
using Xunit;

namespace NetDsl.Tests.Generator;

/// <summary>Forward and TrainStep check their input the same way, and the message names the method that was called.</summary>
public class ApiErrorTests
{
    [Fact]
    public void AWrongInputLengthGivesTheSameTextFromForwardAndTrainStep()
    {
        using var net = new TinyConv(maxBatch: 4);
        var input = new float[2 * TinyConv.InputSize + 1];
        var forward = Assert.Throws<ArgumentException>(() => net.Forward(input, 2));
        var step = Assert.Throws<ArgumentException>(() => net.TrainStep(input, [0, 1], new SoftmaxCrossEntropy(), new Sgd(0.1f)));
        var dense = Assert.Throws<ArgumentException>(() => net.TrainStep(input, new float[2 * TinyConv.OutputSize], 2, new MeanSquaredError(), new Sgd(0.1f)));
        Assert.Equal("TinyConv.Forward: input has 129 floats, expected batch 2 × 1×8×8 = 128. (Parameter 'input')", forward.Message);
        Assert.Equal("TinyConv.TrainStep: input has 129 floats, expected batch 2 × 1×8×8 = 128. (Parameter 'inputs')", step.Message);
        Assert.Equal(step.Message, dense.Message);
    }

    [Fact]
    public void ABatchOutOfRangeGivesTheSameTextFromForwardAndTrainStep()
    {
        using var net = new TinyConv(maxBatch: 4);
        var forward = Assert.Throws<ArgumentOutOfRangeException>(() => net.Forward(new float[5 * TinyConv.InputSize], 5));
        var step = Assert.Throws<ArgumentOutOfRangeException>(() => net.TrainStep(new float[5 * TinyConv.InputSize], [0, 1, 2, 0, 1], new SoftmaxCrossEntropy(), new Sgd(0.1f)));
        Assert.StartsWith("TinyConv.Forward: batch 5 is not between 1 and MaxBatch = 4.", forward.Message);
        Assert.StartsWith("TinyConv.TrainStep: batch 5 is not between 1 and MaxBatch = 4.", step.Message);
        Assert.Equal("labels", step.ParamName);
        // Checked before anything runs: the network's parameters are untouched.
        Assert.Throws<ArgumentOutOfRangeException>(() => net.TrainStep(ReadOnlySpan<float>.Empty, ReadOnlySpan<int>.Empty, new SoftmaxCrossEntropy(), new Sgd(0.1f)));
    }
}
