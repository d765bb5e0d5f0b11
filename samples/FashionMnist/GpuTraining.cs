using System;
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
        // The same batches as Trainer.Fit on the CPU (same sampler and seed); after each epoch the weights come back to the CPU
        // network, which evaluates the test set and is what --save writes.
        GpuTrainer.Fit(twin, network, train, test, loss, optimizer, new TrainingOptions
        {
            Epochs = epochs, BatchSize = batch, Seed = seed,
            OnEpoch = r => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {r.Epoch}: train loss {r.TrainLoss:F4}, test loss {r.TestLoss:F4}, test acc {r.TestAccuracy:P2}, {r.Seconds:F1} s on {device.Accelerator.AcceleratorType}")),
        });
    }
}
