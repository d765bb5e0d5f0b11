using System;
using System.Globalization;
using System.IO;
using System.Linq;
using NetDsl;
using NetDsl.Data;
using NetDsl.Tools;
using NetDsl.Training;
using NetDsl.Visualization;

namespace VisualizationSample;

/// <summary>Trains a small network on MNIST digits and writes what the lecture notes show: the first layer's filters,
/// feature maps of one digit, an occlusion-sensitivity map, and the training curves; it also prints per-layer activation
/// and gradient statistics per epoch (to spot dead ReLUs or vanishing gradients).</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        string output = "netdsl-visuals";
        int epochs = 3, seed = 1;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--out": output = Next(); break;
                case "--epochs": epochs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--seed": seed = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                default: Console.Error.WriteLine($"unknown option {args[i]}; options: --out DIR --epochs N --seed N"); return 2;
            }
        }
        Directory.CreateDirectory(output);
        var (train, test) = MnistDigits.Load(Path.Combine(AppContext.BaseDirectory, "data"));
        using var net = new DigitNet(32, seed);
        var statistics = new ActivationStatistics(every: 25);
        var reports = Trainer.Fit(net, train, test, new SoftmaxCrossEntropy(), new Sgd(0.02f, momentum: 0.9f), new TrainingOptions
        {
            Epochs = epochs, BatchSize = 32, Seed = seed, OnStep = statistics.Observe,
            OnEpoch = r => Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epoch {r.Epoch}: train loss {r.TrainLoss:F4}, test accuracy {r.TestAccuracy:P2}")),
        });
        Console.WriteLine();
        Console.WriteLine(statistics.Format(epochs - 1));

        string Write(Canvas canvas, string name)
        {
            string path = Path.Combine(output, name);
            canvas.Save(path);
            return path;
        }

        // A correctly classified test digit to look inside.
        int index = Enumerable.Range(0, test.Count).First(i => test.Labels[i] == 7);
        var image = test.Pixels.AsSpan(index * DigitNet.InputSize, DigitNet.InputSize).ToArray();
        Console.WriteLine("wrote " + Write(FilterGrid.Render(net, scale: 12), "filters.png"));
        Console.WriteLine("wrote " + Write(FeatureMaps.Render(net, image, "conv1", scale: 4), "feature-maps-conv1.png"));
        Console.WriteLine("wrote " + Write(FeatureMaps.Render(net, image, "conv2", scale: 8), "feature-maps-conv2.png"));
        var occlusion = Occlusion.Compute(net, image, 1, 28, 28, label: 7, patch: 6, stride: 2);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"occlusion: p(7) = {occlusion.BaseProbability:F3} unoccluded; largest drop {occlusion.Drop.Max():F3}"));
        Console.WriteLine("wrote " + Write(Occlusion.Overlay(occlusion, image, 1, scale: 8), "occlusion-7.png"));
        Console.WriteLine("wrote " + Write(TrainingCurves.Render(reports), "training-curves.png"));
        return 0;
    }
}
