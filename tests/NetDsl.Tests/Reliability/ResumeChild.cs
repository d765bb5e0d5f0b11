using System.Linq;
using System;
using System.IO;
using System.Runtime.InteropServices;
using NetDsl.Data;
using NetDsl.Kernels;
using NetDsl.Tests.Networks;
using NetDsl.Training;

namespace NetDsl.Tests.Reliability;

/// <summary>The training run the kill-and-resume test starts as a child process (and runs in-process as the uninterrupted
/// reference): ResumeNet on synthetic data, Adam with AMSGrad, a per-step cosine schedule, augmentation, batches larger than
/// MaxBatch (accumulated chunks), two workers, a checkpoint every 3 steps and at each epoch's end, keeping 2.</summary>
public static class ResumeChild
{
    public const int Epochs = 4, Samples = 240, BatchSize = 16, MaxBatch = 8;

    public static LabeledImages Data()
    {
        var rng = new Rng(77);
        var pixels = new float[Samples * 64];
        var labels = new int[Samples];
        for (int i = 0; i < Samples; i++)
        {
            labels[i] = (int)(rng.NextUInt64() % 10);
            for (int k = 0; k < 64; k++) pixels[i * 64 + k] = rng.NextFloat() + (k % 10 == labels[i] ? 1f : 0f);
        }
        return new LabeledImages(pixels, labels, 1, 8, 8, 10);
    }

    /// <summary>Trains to the end (resuming from <paramref name="checkpoints"/> when it holds any) and returns the parameters.</summary>
    public static float[] Run(string? checkpoints, Action<StepInfo>? onStep = null)
    {
        if (checkpoints is not null) Directory.CreateDirectory(checkpoints); // the first run finds it empty and starts from scratch
        using var net = new ResumeNet(MaxBatch, seed: 5, workers: 2);
        var options = new TrainingOptions
        {
            Epochs = Epochs, BatchSize = BatchSize, Seed = 9,
            Schedule = new CosineAnnealing(0.01f, period: Epochs * Samples / BatchSize, unit: ScheduleUnit.Step),
            Augmentation = Augmentation.RandomShift(1, 1),
            Checkpoints = checkpoints is null ? null : new CheckpointOptions { Directory = checkpoints, EverySteps = 3, Keep = 2 },
            ResumeFrom = checkpoints,
            OnStep = onStep,
        };
        Trainer.Fit(net, Data(), null, new SoftmaxCrossEntropy(), new Adam(0.01f, weightDecay: 1e-4f, amsgrad: true), options);
        return net.Parameters.ToArray().Concat(net.Buffers.ToArray()).ToArray();
    }

    /// <summary>Child mode: <c>resume-child DIR</c>. Prints "step N" before each step; writes DIR/final.bin at the end.</summary>
    public static int Main(string[] args)
    {
        if (args.Length != 2 || args[0] != "resume-child") return 2;
        string dir = args[1];
        var final = Run(dir, s => { Console.Out.WriteLine($"step {s.Step}"); Console.Out.Flush(); });
        File.WriteAllBytes(Path.Combine(dir, "final.bin"), MemoryMarshal.AsBytes(final.AsSpan()).ToArray());
        Console.Out.WriteLine("done");
        return 0;
    }
}
