using System;
using System.Diagnostics;
using System.Globalization;
using NetDsl;
using NetDsl.Kernels;
using NetDsl.Training;

namespace ArchitecturesSample;

/// <summary>The notes' ImageNet architectures at their published shapes: each one's summary, its parameter count next to
/// the published figure, and the time of one training step (SGD, batch 2, random images).</summary>
internal static class PublishedArchitectures
{
    public static void Run(int steps, int seed)
    {
        const int batch = 2;
        Console.WriteLine($"one training step = forward, softmax cross-entropy, backward, SGD update; batch {batch}, {Environment.ProcessorCount} cores; " +
            $"median of {steps} steps after one warm-up step");
        Measure("AlexNet (torchvision, one tower)", AlexNet.Summary, AlexNet.ParameterCount, "61,100,840 (torchvision alexnet)", () => new AlexNet(batch, seed), batch, steps);
        Measure("AlexNet (Krizhevsky et al. 2012, two towers)", AlexNetTwoTower.Summary, AlexNetTwoTower.ParameterCount, "60 million (paper); 60,965,224 from its layer shapes", () => new AlexNetTwoTower(batch, seed), batch, steps);
        Measure("ZF Net (Zeiler and Fergus 2013)", ZfNet.Summary, ZfNet.ParameterCount, "62,357,608 from the paper's layer shapes (no total given)", () => new ZfNet(batch, seed), batch, steps);
        Measure("VGG-16 (Simonyan and Zisserman 2014, D)", Vgg16.Summary, Vgg16.ParameterCount, "138 million (paper); 138,357,544 (torchvision vgg16)", () => new Vgg16(batch, seed), batch, steps);
        Measure("GoogLeNet (Szegedy et al. 2014, no auxiliary heads)", GoogLeNet.Summary, GoogLeNet.ParameterCount, "6,998,552 from Table 1 with biases (the table's column: about 6.8 million, weights only)", () => new GoogLeNet(batch, seed), batch, steps);
    }

    private static void Measure(string title, string summary, int parameters, string published, Func<INetwork> create, int batch, int steps)
    {
        GC.Collect(); // the previous network's gigabyte of arrays, before this one allocates its own
        Console.WriteLine();
        Console.WriteLine($"==== {title}");
        Console.WriteLine(summary);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"parameters: {parameters:N0}; published: {published}"));
        var clock = Stopwatch.StartNew();
        var net = create();
        using var owned = (IDisposable)net;
        double build = clock.Elapsed.TotalSeconds;
        var rng = new Rng(7);
        var x = new float[batch * net.InputSize];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextFloat() * 2 - 1;
        var labels = new int[batch];
        for (int i = 0; i < batch; i++) labels[i] = i * 37 % net.OutputSize;
        var loss = new SoftmaxCrossEntropy();
        var sgd = new Sgd(1e-3f, momentum: 0.9f);
        var times = new double[steps + 1];
        for (int s = 0; s <= steps; s++)
        {
            clock.Restart();
            StepOnce(net, x, labels, batch, loss, sgd);
            times[s] = clock.Elapsed.TotalSeconds;
        }
        var timed = times.AsSpan(1).ToArray();
        Array.Sort(timed);
        double median = timed[timed.Length / 2];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"construction {build:F2} s; training step: first (with JIT) {times[0]:F2} s, median {median:F3} s ({batch / median:F1} images/s); " +
            $"managed memory {GC.GetTotalMemory(false) / (1 << 20):N0} MiB"));
    }

    private static float StepOnce(INetwork net, float[] x, int[] labels, int batch, SoftmaxCrossEntropy loss, Sgd sgd)
    {
        var logits = net.Forward(x, batch, training: true);
        var grad = new float[logits.Length];
        float value = loss.Compute(logits, labels, batch, net.OutputSize, grad);
        net.ZeroGradients();
        net.Backward(grad, batch);
        net.Update(sgd);
        return value;
    }
}
