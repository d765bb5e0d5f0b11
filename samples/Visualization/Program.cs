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
        Console.WriteLine("wrote " + Write(SaliencyGrid(net, test, out var onDigit), "saliency.png"));
        foreach (var (mode, share) in onDigit)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"saliency ({mode}): {share:P1} of |map| on the digit's pixels (ink > 0.1), mean over 100 test digits"));
        return 0;
    }

    /// <summary>Rows: six test digits (0–5), then the saliency map of each one's own class by the ordinary gradient, deconvnet
    /// and guided backpropagation (|value| scaled to the map's maximum). Also the share of |map| on the digit's ink, over 100 digits.</summary>
    static Canvas SaliencyGrid(DigitNet net, LabeledImages test, out (ReluBackward Mode, double Share)[] onDigit)
    {
        const int scale = 3, side = 28, gap = 4;
        var modes = new[] { ReluBackward.Gradient, ReluBackward.Deconvnet, ReluBackward.Guided };
        var canvas = new Canvas(6 * (side * scale + gap), 4 * (side * scale + gap), (255, 255, 255));
        var map = new float[DigitNet.InputSize];
        for (int d = 0; d < 6; d++)
        {
            int index = Enumerable.Range(0, test.Count).First(i => test.Labels[i] == d);
            var image = test.Pixels.AsSpan(index * DigitNet.InputSize, DigitNet.InputSize).ToArray();
            Draw(image, 0);
            for (int m = 0; m < modes.Length; m++)
            {
                Saliency.Compute(net, image, d, modes[m], map);
                float max = map.Max(v => MathF.Abs(v));
                Draw(map.Select(v => max == 0 ? 0 : MathF.Abs(v) / max).ToArray(), m + 1);
            }
            void Draw(float[] values, int row)
            {
                for (int y = 0; y < side; y++)
                    for (int x = 0; x < side; x++)
                    {
                        byte g = (byte)Math.Clamp((int)(values[y * side + x] * 255), 0, 255);
                        canvas.FillRect(d * (side * scale + gap) + x * scale, row * (side * scale + gap) + y * scale, scale, scale, (g, g, g));
                    }
            }
        }
        onDigit = new (ReluBackward, double)[modes.Length];
        for (int m = 0; m < modes.Length; m++)
        {
            double share = 0;
            for (int n = 0; n < 100; n++)
            {
                var image = test.Pixels.AsSpan(n * DigitNet.InputSize, DigitNet.InputSize);
                Saliency.Compute(net, image, test.Labels[n], modes[m], map);
                double on = 0, all = 0;
                for (int i = 0; i < map.Length; i++) { all += Math.Abs(map[i]); if (image[i] > 0.1f) on += Math.Abs(map[i]); }
                share += all == 0 ? 0 : on / all / 100;
            }
            onDigit[m] = (modes[m], share);
        }
        return canvas;
    }
}
