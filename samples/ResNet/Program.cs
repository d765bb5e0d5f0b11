using System;
using System.Globalization;
using System.IO;
using NetDsl;
using NetDsl.Data;
using NetDsl.Training;
using NetDslSamples;

namespace ResNetSample;

public static class Program
{
    public static int Main(string[] args)
    {
        int epochs = 2, batch = 64, seed = 1;
        string? dataDir = null;
        bool subset = false;
        float lr = 0.05f;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--epochs": epochs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--batch": batch = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--seed": seed = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--lr": lr = float.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--data": dataDir = Next(); break;
                case "--subset": subset = true; break;
                default: Console.Error.WriteLine($"unknown option {args[i]}; options: --epochs N --batch N --seed N --lr X --data DIR --subset"); return 2;
            }
        }
        string? full = subset ? null : FashionMnist.FindFullDataDirectory(dataDir);
        string dir = full ?? Path.Combine(AppContext.BaseDirectory, "data");
        var (train, test) = FashionMnist.Load(dir);
        Console.WriteLine($"data: {dir} ({(full is null ? "shipped subset" : "full set")}): {train.Count} training, {test.Count} test images");
        Console.WriteLine(ResNet.Summary);

        using var net = new ResNet(batch, seed);
        var optimizer = new Sgd(lr, momentum: 0.9f, weightDecay: 5e-4f);
        var schedule = new Func<int, float>(epoch => lr * 0.5f * (1 + MathF.Cos(MathF.PI * epoch / Math.Max(1, epochs)))); // cosine per epoch
        var loss = new SoftmaxCrossEntropy();
        var reports = TrainingView.Run((progress, onEpoch) => Trainer.Fit(net, train, test, loss, optimizer, new TrainingOptions
        {
            Epochs = epochs,
            BatchSize = batch,
            Seed = seed,
            LearningRateForEpoch = schedule,
            Progress = progress,
            OnEpoch = onEpoch,
        }));
        TrainingView.PrintTable(reports);
        Console.Write(EvaluationReport.Compute(net, test, loss).ToText(FashionMnist.ClassNames));
        return 0;
    }
}
