using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using NetDsl;
using NetDsl.Data;
using NetDsl.IO;
using NetDsl.Tools;
using NetDsl.Training;

namespace TransferLearningSample;

public static class Program
{
    public static int Main(string[] args)
    {
        int pretrainEpochs = 2, fineTuneEpochs = 30, shots = 20, seed = 1;
        float lr = 0.01f;
        bool subset = false;
        string? dataDir = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--pretrain-epochs": pretrainEpochs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--finetune-epochs": fineTuneEpochs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--shots": shots = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--seed": seed = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--data": dataDir = Next(); break;
                case "--subset": subset = true; break;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}; options: --pretrain-epochs N --finetune-epochs N --shots N --seed N --data DIR --subset");
                    return 2;
            }
        }
        string? full = subset ? null : FashionMnist.FindFullDataDirectory(dataDir);
        string dir = full ?? Path.Combine(AppContext.BaseDirectory, "data");
        var (train, test) = FashionMnist.Load(dir);
        Console.WriteLine($"data: {dir} ({(full is null ? "shipped subset" : "full set")})");

        // Task A: classes 0–4, all samples. Task B: classes 5–9 relabelled 0–4, only `shots` samples per class.
        var trainA = Classes(train, 0, int.MaxValue);
        var testA = Classes(test, 0, int.MaxValue);
        var trainB = Classes(train, 5, shots);
        var testB = Classes(test, 5, int.MaxValue);
        Console.WriteLine($"task A (classes 0–4): {trainA.Count} training images; task B (classes 5–9): {trainB.Count} training images ({shots} per class), {testB.Count} test images");

        var loss = new SoftmaxCrossEntropy();
        using var source = new SourceNet(64, seed);
        Console.WriteLine($"1. pre-training SourceNet on task A for {pretrainEpochs} epochs");
        Trainer.Fit(source, trainA, testA, loss, new Sgd(lr, momentum: 0.9f), new TrainingOptions
        {
            Epochs = pretrainEpochs, BatchSize = 64, Seed = seed,
            OnEpoch = r => Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   epoch {r.Epoch}: task A test accuracy {r.TestAccuracy:P2}")),
        });
        string weights = Path.Combine(Path.GetTempPath(), $"netdsl-transfer-{Environment.ProcessId}.safetensors");
        SafeTensors.Save(weights, source);

        using var target = new TargetNet(64, seed + 1);
        var report = Transfer.LoadMatching(weights, target);
        File.Delete(weights);
        Console.WriteLine("2. loading the matching tensors into TargetNet: " + report);

        // Frozen convolutions (declared), "fc" at a tenth of the learning rate, the new head at the full rate.
        var rates = Transfer.FineTuneRates(target, 0.1f, "newhead");
        var fineTune = new LayerScaledOptimizer(target, new Sgd(lr, momentum: 0.9f), rates);
        var before = target.Parameters.ToArray();
        Console.WriteLine($"3. fine-tuning on the {trainB.Count} task-B images for {fineTuneEpochs} epochs");
        var tuned = Trainer.Fit(target, trainB, testB, loss, fineTune, new TrainingOptions { Epochs = fineTuneEpochs, BatchSize = 20, Seed = seed });
        bool convsUnchanged = target.ParameterTensors.ToArray().Where(t => t.Name.StartsWith("conv", StringComparison.Ordinal))
            .All(t => before.AsSpan(t.Offset, t.Length).SequenceEqual(target.Parameters.Slice(t.Offset, t.Length)));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   task B test accuracy {tuned[^1].TestAccuracy:P2} (frozen convolutions unchanged: {convsUnchanged})"));

        using var scratch = new SourceNet(64, seed + 2);
        Console.WriteLine($"4. baseline: the same architecture trained from scratch on the same {trainB.Count} images");
        var baseline = Trainer.Fit(scratch, trainB, testB, loss, new Sgd(lr, momentum: 0.9f), new TrainingOptions { Epochs = fineTuneEpochs, BatchSize = 20, Seed = seed });
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   task B test accuracy {baseline[^1].TestAccuracy:P2}"));
        return 0;
    }

    /// <summary>The samples of classes first..first+4, relabelled 0..4, at most <paramref name="perClass"/> of each.</summary>
    private static LabeledImages Classes(LabeledImages data, int first, int perClass)
    {
        var counts = new int[5];
        var picked = new List<int>();
        for (int i = 0; i < data.Count; i++)
        {
            int c = data.Labels[i] - first;
            if ((uint)c < 5 && counts[c] < perClass) { counts[c]++; picked.Add(i); }
        }
        var pixels = new float[picked.Count * data.SampleSize];
        var labels = new int[picked.Count];
        for (int k = 0; k < picked.Count; k++)
        {
            data.Pixels.AsSpan(picked[k] * data.SampleSize, data.SampleSize).CopyTo(pixels.AsSpan(k * data.SampleSize));
            labels[k] = data.Labels[picked[k]] - first;
        }
        return new LabeledImages(pixels, labels, data.Channels, data.Height, data.Width, 5);
    }
}
