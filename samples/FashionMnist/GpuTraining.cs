using System;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using NetDsl;
using NetDsl.Data;
using NetDsl.Gpu;
using NetDsl.Training;

namespace FashionMnistSample;

/// <summary>--device gpu: the network's generated GPU twin trains on the best ILGPU accelerator (CUDA, then OpenCL, then ILGPU's
/// CPU simulator); after each epoch its parameters come back to the CPU network, which evaluates and saves as usual.</summary>
internal static class GpuTraining
{
    [RequiresDynamicCode("ILGPU compiles kernels at run time.")]
    [RequiresUnreferencedCode("ILGPU reads kernel IL through reflection.")]
    public static void Fit(string net, INetwork network, LabeledImages train, LabeledImages test, Loss loss, Optimizer optimizer, int epochs, int batch, int seed)
    {
        using var device = GpuDevice.Best();
        Console.WriteLine($"device: gpu = {device.Description}{(device.IsSimulator ? " (ILGPU's CPU simulator: correct, not fast)" : "")}");
        using IGpuNetwork twin = net == "lenet5" ? new LeNet5.Gpu(device, batch, seed) : new Cnn.Gpu(device, batch, seed);
        twin.CopyParametersFrom(network);
        var order = new int[train.Count];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        var rng = new NetDsl.Kernels.Rng((ulong)seed);
        int size = train.SampleSize;
        var inputs = new float[batch * size];
        var labels = new int[batch];
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            for (int i = order.Length - 1; i > 0; i--) { int j = (int)(rng.NextUInt64() % (ulong)(i + 1)); (order[i], order[j]) = (order[j], order[i]); }
            double sum = 0;
            int steps = 0;
            for (int start = 0; start + batch <= order.Length; start += batch) // the last partial batch is dropped
            {
                for (int n = 0; n < batch; n++)
                {
                    int k = order[start + n];
                    train.Pixels.AsSpan(k * size, size).CopyTo(inputs.AsSpan(n * size, size));
                    labels[n] = train.Labels[k];
                }
                sum += twin.TrainStep(inputs, labels, loss, optimizer);
                steps++;
            }
            twin.CopyParametersTo(network);
            var (testLoss, accuracy) = Trainer.Evaluate(network, test, loss);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {epoch}: train loss {sum / Math.Max(steps, 1):F4}, test loss {testLoss:F4}, test acc {accuracy:P2}, {clock.Elapsed.TotalSeconds:F1} s on {device.Accelerator.AcceleratorType}"));
        }
    }
}
