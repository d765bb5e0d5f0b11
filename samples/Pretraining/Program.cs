using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using NetDsl;
using NetDsl.Data;
using NetDsl.Tools;
using NetDsl.Training;

namespace PretrainingSample;

/// <summary>The lecture notes' three ways to start a deep network (ideas #1–#3), on Fashion-MNIST with 1 % of the training
/// labels (600 images, 60 per class): random initialization; greedy unsupervised layer-wise pre-training with convolutional
/// autoencoders on all training images without their labels; supervised layer-wise pre-training that grows the network
/// stage by stage with a temporary head. Each is then fine-tuned identically on the labelled images and tested on the
/// 10,000 test images. Repeated on several labelled subsets (the autoencoders do not depend on the labels: trained once).</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        int labelled = 600, repeats = 3, aeEpochs = 2, growEpochs = 20, epochs = 40, batch = 32, seed = 1, unlabelled = 0;
        bool subset = false;
        string? dataDir = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Int() => int.Parse(Next(), CultureInfo.InvariantCulture);
            switch (args[i])
            {
                case "--labels": labelled = Int(); break;
                case "--repeats": repeats = Int(); break;
                case "--ae-epochs": aeEpochs = Int(); break;
                case "--grow-epochs": growEpochs = Int(); break;
                case "--epochs": epochs = Int(); break;
                case "--batch": batch = Int(); break;
                case "--seed": seed = Int(); break;
                case "--unlabelled": unlabelled = Int(); break;
                case "--data": dataDir = Next(); break;
                case "--subset": subset = true; break;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}; options: --labels N --repeats N --ae-epochs N --grow-epochs N --epochs N --batch N --seed N --unlabelled N --data DIR --subset");
                    return 2;
            }
        }
        string? full = subset ? null : FashionMnist.FindFullDataDirectory(dataDir);
        var (train, test) = FashionMnist.Load(full ?? Path.Combine(AppContext.BaseDirectory, "data"));
        if (labelled < 10 || labelled % 10 != 0 || labelled > train.Count) { Console.Error.WriteLine($"--labels must be a multiple of 10 between 10 and {train.Count}, got {labelled}"); return 2; }
        var images = unlabelled > 0 && unlabelled < train.Count ? train.Pixels.AsSpan(0, unlabelled * train.SampleSize).ToArray() : train.Pixels;
        Console.WriteLine($"data: {(full is null ? "shipped subset" : full)}: {train.Count} training images ({images.Length / train.SampleSize} used without labels), " +
            $"{labelled} of them with labels ({(double)labelled / train.Count:P1}), {test.Count} test images");
        Console.WriteLine($"classifier: conv1 16@5×5, pool, conv2 32@5×5, pool, dense 64, dense 10 ({Classifier.ParameterCount:N0} parameters)");
        var clock = Stopwatch.StartNew();
        string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

        // Idea #3: greedy unsupervised pre-training, once (no labels involved). Stage 2 reads stage 1's frozen output.
        using var pretrained = new Classifier(batch, seed);
        using var ae1 = new Autoencoder1(64, seed);
        using var ae2 = new Autoencoder2(64, seed);
        Console.WriteLine($"unsupervised layer-wise pre-training: {ae1.GetType().Name} (conv1 + a transposed-conv decoder), then {ae2.GetType().Name} (conv2 on the frozen conv1 stage); MSE, Adam 1e-3, batch 64, {aeEpochs} epochs each");
        int stage = -1;
        var aeStages = Pretraining.GreedyAutoencoders(pretrained, [ae1, ae2], images, test.Pixels, () => new Adam(1e-3f), new TrainingOptions
        {
            Epochs = aeEpochs, BatchSize = 64, Seed = seed,
            OnEpoch = r =>
            {
                if (r.Epoch == 1) stage++;
                Console.WriteLine(F($"  stage {stage} epoch {r.Epoch}: reconstruction MSE train {r.TrainLoss:F5}, test images {r.TestLoss:F5}  {r.Seconds:F1} s"));
            },
        });
        foreach (var s in aeStages) Console.WriteLine($"  {s}");

        var loss = new SoftmaxCrossEntropy();
        var results = new List<(double Random, double Unsupervised, double Supervised)>();
        for (int r = 0; r < repeats; r++)
        {
            int subsetSeed = seed + r;
            var labels = Balanced(train, labelled / 10, subsetSeed);
            Console.WriteLine($"labelled subset {r + 1} of {repeats} (seed {subsetSeed}): {labels.Count} images, {labelled / 10} per class");

            // All three start from the same seed (same dense head), fine-tuned with the same optimizer, epochs and batches.
            double FineTune(string name, Classifier net)
            {
                var sw = Stopwatch.StartNew();
                var reports = Trainer.Fit(net, labels, null, loss, new Adam(1e-3f), new TrainingOptions { Epochs = epochs, BatchSize = batch, Seed = subsetSeed });
                double accuracy = Trainer.Evaluate(net, test, loss).Accuracy;
                Console.WriteLine(F($"  {name,-34} fine-tuned {epochs} epochs: train loss {reports[^1].TrainLoss:F4}, test accuracy {accuracy:P2}  ({sw.Elapsed.TotalSeconds:F0} s)"));
                return accuracy;
            }

            using var random = new Classifier(batch, subsetSeed);
            double a = FineTune("random initialization", random);

            using var unsupervised = new Classifier(batch, subsetSeed);
            Transfer.CopyLayers(pretrained, unsupervised, ["conv1", "conv2"]);
            double b = FineTune("unsupervised (autoencoders)", unsupervised);

            using var supervised = new Classifier(batch, subsetSeed);
            using var grow1 = new Grow1(batch, subsetSeed);
            using var grow2 = new Grow2(batch, subsetSeed);
            var growStages = Pretraining.GrowSupervised(supervised, [grow1, grow2], labels, null, loss, () => new Adam(1e-3f),
                new TrainingOptions { Epochs = growEpochs, BatchSize = batch, Seed = subsetSeed });
            foreach (var s in growStages) Console.WriteLine($"  supervised pre-training {s}");
            double c = FineTune("supervised layer-wise", supervised);
            results.Add((a, b, c));
        }

        Console.WriteLine();
        Console.WriteLine($"test accuracy with {labelled} labels, mean ± sample std over {repeats} labelled subsets ({clock.Elapsed.TotalMinutes:F1} min in all):");
        void Line(string name, Func<(double, double, double), double> pick)
        {
            var v = results.Select(pick).ToArray();
            double mean = v.Average(), std = v.Length > 1 ? Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1)) : 0;
            Console.WriteLine(F($"  {name,-34} {mean:P2} ± {std * 100:F2}   ({string.Join(", ", v.Select(x => x.ToString("P2", CultureInfo.InvariantCulture)))})"));
        }
        Line("random initialization", t => t.Item1);
        Line("unsupervised pre-training (AE)", t => t.Item2);
        Line("supervised layer-wise pre-training", t => t.Item3);
        return 0;
    }

    /// <summary><paramref name="perClass"/> images of each class, drawn by a seeded shuffle of the training set.</summary>
    static LabeledImages Balanced(LabeledImages data, int perClass, int seed)
    {
        var order = Enumerable.Range(0, data.Count).ToArray();
        new Random(seed).Shuffle(order);
        var taken = new int[data.ClassCount];
        var pick = new List<int>();
        foreach (int i in order)
            if (taken[data.Labels[i]] < perClass) { taken[data.Labels[i]]++; pick.Add(i); }
        var pixels = new float[pick.Count * data.SampleSize];
        var labels = new int[pick.Count];
        data.CopyBatch(pick.ToArray(), pixels, labels);
        return new LabeledImages(pixels, labels, data.Channels, data.Height, data.Width, data.ClassCount);
    }
}
