using System;
using System.Globalization;
using System.IO;
using NetDsl.Data;
using NetDsl.Tools;
using NetDsl.Training;

namespace TestTimeSample;

/// <summary>Test-time augmentation (GoogLeNet's multi-crop averaging) on Fashion-MNIST: trains a small CNN (with random flips
/// and shifts of up to the crop padding, unless --no-augment), then compares the test accuracy of one view with the mean
/// softmax over 2 (flip), 5 (centre + 4 corner crops of the input zero-padded by p) and 10 (both) views.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        int epochs = 5, batch = 64, seed = 1, padding = 2;
        bool subset = false, augment = true;
        string? dataDir = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--epochs": epochs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--batch": batch = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--seed": seed = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--padding": padding = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--no-augment": augment = false; break;
                case "--data": dataDir = Next(); break;
                case "--subset": subset = true; break;
                default: Console.Error.WriteLine($"unknown option {args[i]}; options: --epochs N --batch N --seed N --padding P --no-augment --data DIR --subset"); return 2;
            }
        }
        string? full = subset ? null : FashionMnist.FindFullDataDirectory(dataDir);
        var (train, test) = FashionMnist.Load(full ?? Path.Combine(AppContext.BaseDirectory, "data"));
        Console.WriteLine($"data: {(full is null ? "shipped subset" : full)}: {train.Count} training, {test.Count} test images");

        using var net = new SmallCnn(batch, seed);
        Console.WriteLine(InitialLossCheck.Run(net, train).Message); // the notes' sanity check: near ln 10 before training
        Trainer.Fit(net, train, test, new SoftmaxCrossEntropy(), new Adam(1e-3f), new TrainingOptions
        {
            Epochs = epochs, BatchSize = batch, Seed = seed,
            Augmentation = augment ? Augmentation.HorizontalFlip().Then(Augmentation.RandomShift(padding, padding)) : null,
            OnEpoch = r => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {r.Epoch}: train loss {r.TrainLoss:F4}  test accuracy {r.TestAccuracy:P2}  {r.Seconds:F1} s")),
        });

        Console.WriteLine(augment ? $"trained with random flips and shifts of up to {padding} px" : "trained without augmentation");
        double single = TestTimeAugmentation.Accuracy(net, test, TestTimeAugmentation.Views(padding, corners: false, flip: false));
        var settings = new System.Collections.Generic.List<(string Name, int Pad, bool Corners, bool Flip)> { ("1 view (as trained)", 0, false, false), ("2 views: + mirror", 0, false, true) };
        for (int p = 1; p <= padding; p++)
            settings.AddRange([($"5 crops of the {p}-padded input", p, true, false), ($"10 views: those and their mirrors (p = {p})", p, true, true)]);
        foreach (var (name, pad, corners, flip) in settings)
        {
            double accuracy = TestTimeAugmentation.Accuracy(net, test, TestTimeAugmentation.Views(pad, corners, flip));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-44} test accuracy {accuracy:P2}  ({(accuracy - single) * 100:+0.00;-0.00;0.00} points)"));
        }
        return 0;
    }
}
