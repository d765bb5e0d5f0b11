using System;
using System.Linq;
using NetDsl.Tests.Infrastructure;
using NetDsl.Tests.Networks;
using NetDsl.Training;
using Xunit;

namespace NetDsl.Tests.Training;

/// <summary>
/// ZeroGradients does not clear the gradients itself: the next Backward's batch slices clear their own shares while the
/// workers run, and a dense layer's weight gradient is stored rather than added to a cleared range. Whatever the buffers
/// held before, TrainStep and ZeroGradients + Backward must give exactly what clearing the gradients by hand
/// (<c>Gradients.Clear()</c>, a real zero fill) and then a Backward that adds gives.
/// </summary>
public class TrainStepGradientTests
{
    private const int MaxBatch = 6;

    private static INetwork Create(string net, int workers) => net switch
    {
        "dense" => new DataParallelNet(MaxBatch, seed: 5, workers: workers),      // conv, pool, two dense layers
        "batchnorm" => new DataParallelBnNet(MaxBatch, seed: 5, workers: workers), // backward in phases around a serial sum
        "dropconnect" => new GradCheckNotesLayers(MaxBatch, seed: 5, workers: workers), // a dense weight gradient added serially
        _ => throw new ArgumentOutOfRangeException(nameof(net), net, null),
    };

    private static float TrainStep(INetwork n, ReadOnlySpan<float> x, int[] labels, Loss loss, Optimizer optimizer) => n switch
    {
        DataParallelNet d => d.TrainStep(x, labels, loss, optimizer),
        DataParallelBnNet d => d.TrainStep(x, labels, loss, optimizer),
        GradCheckNotesLayers d => d.TrainStep(x, labels, loss, optimizer),
        _ => throw new ArgumentOutOfRangeException(nameof(n)),
    };

    [Theory]
    [InlineData("dense", 5, 1)]
    [InlineData("dense", 5, 2)]
    [InlineData("dense", 1, 2)] // a batch of one on two workers: the second slice is empty
    [InlineData("batchnorm", 6, 2)]
    [InlineData("batchnorm", 1, 2)]
    [InlineData("dropconnect", 4, 2)]
    public void ClearingInTheBackwardPassEqualsAZeroFillOverDirtyBuffers(string net, int batch, int workers)
    {
        var step = Create(net, workers);   // TrainStep
        var lazy = Create(net, workers);   // ZeroGradients, Forward, Backward, Update
        var filled = Create(net, workers); // Gradients.Clear(), Forward, Backward, Update
        var nets = new[] { step, lazy, filled };
        try
        {
            int classes = step.OutputSize;
            // Every network first runs backward passes over a full batch without clearing: every slice's buffer and the
            // gradients hold something (the same in all three, which also draw the same dropout masks).
            var dirtyX = TestInputs.Uniform(MaxBatch * step.InputSize, 7);
            var dirtyDy = TestInputs.Uniform(MaxBatch * classes, 8);
            foreach (var n in nets)
            {
                n.Forward(dirtyX, MaxBatch, training: true);
                n.Backward(dirtyDy, MaxBatch);
                n.Backward(dirtyDy, MaxBatch);
            }
            Assert.Contains(step.Gradients.ToArray(), g => g != 0f);

            var x = TestInputs.Uniform(batch * step.InputSize, 1);
            var labels = Enumerable.Range(0, batch).Select(i => (i * 7 + 1) % classes).ToArray();
            var loss = new SoftmaxCrossEntropy();
            float stepLoss = TrainStep(step, x, labels, loss, new Sgd(0.1f, momentum: 0.9f));

            float Manual(INetwork n, bool fill)
            {
                if (fill) n.Gradients.Clear();
                else n.ZeroGradients();
                var outputGradient = new float[batch * classes];
                float value = loss.Compute(n.Forward(x, batch, training: true), labels, batch, classes, outputGradient);
                n.Backward(outputGradient, batch);
                return value;
            }
            float filledLoss = Manual(filled, fill: true), lazyLoss = Manual(lazy, fill: false);
            var truth = filled.Gradients.ToArray();
            Assert.Equal(truth, lazy.Gradients.ToArray());
            filled.Update(new Sgd(0.1f, momentum: 0.9f));
            lazy.Update(new Sgd(0.1f, momentum: 0.9f));
            Assert.Equal(filledLoss, stepLoss);
            Assert.Equal(filledLoss, lazyLoss);
            Assert.Equal(filled.Parameters.ToArray(), step.Parameters.ToArray());
            Assert.Equal(filled.Parameters.ToArray(), lazy.Parameters.ToArray());
        }
        finally
        {
            foreach (var n in nets) ((IDisposable)n).Dispose();
        }
    }

    /// <summary>A pending ZeroGradients is seen by every reader: the gradients read as zeros, and an Update steps on zeros.</summary>
    [Fact]
    public void GradientsReadAfterZeroGradientsAreZero()
    {
        using var net = new DataParallelNet(MaxBatch, seed: 5, workers: 2);
        net.Forward(TestInputs.Uniform(4 * DataParallelNet.InputSize, 1), 4, training: true);
        net.Backward(TestInputs.Uniform(4 * DataParallelNet.OutputSize, 2), 4);
        Assert.Contains(net.Gradients.ToArray(), g => g != 0f);
        net.ZeroGradients();
        Assert.All(net.Gradients.ToArray(), g => Assert.Equal(0f, g));
        net.Backward(TestInputs.Uniform(4 * DataParallelNet.OutputSize, 2), 4);
        var before = net.Parameters.ToArray();
        net.ZeroGradients();
        net.Update(new Sgd(0.5f)); // no weight decay: zero gradients leave the parameters as they are
        Assert.Equal(before, net.Parameters.ToArray());
    }

    /// <summary>The public Backward adds into the gradients, the dense layers' weight gradients included: twice the same
    /// backward pass gives twice the gradient (within rounding: a product that adds starts from what is there).</summary>
    [Fact]
    public void BackwardStillAddsIntoTheGradients()
    {
        using var net = new DataParallelNet(MaxBatch, seed: 5, workers: 2);
        var x = TestInputs.Uniform(4 * DataParallelNet.InputSize, 1);
        var dy = TestInputs.Uniform(4 * DataParallelNet.OutputSize, 2);
        net.Forward(x, 4, training: true);
        net.ZeroGradients();
        net.Backward(dy, 4);
        var once = net.Gradients.ToArray();
        net.Backward(dy, 4);
        var twice = net.Gradients.ToArray();
        for (int i = 0; i < once.Length; i++)
            Assert.True(Math.Abs(twice[i] - 2 * once[i]) <= 1e-5f * (1 + Math.Abs(2 * once[i])), $"gradient {i}: {twice[i]} after two backward passes, {once[i]} after one");
    }
}
