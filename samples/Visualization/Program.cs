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
        int epochs = 3, seed = 1, fashionEpochs = 3;
        string? fashionData = null;
        bool subset = false;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--out": output = Next(); break;
                case "--epochs": epochs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--seed": seed = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--fashion-epochs": fashionEpochs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--data": fashionData = Next(); break;
                case "--subset": subset = true; break;
                default: Console.Error.WriteLine($"unknown option {args[i]}; options: --out DIR --epochs N --seed N --fashion-epochs N (0: skip the CNN-codes part) --data DIR --subset"); return 2;
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

        // Activation maximization: the input each of conv2's 16 filters, and each digit class, responds to most.
        Console.WriteLine("wrote " + Write(MaximizationGrid(net, "conv2", 16, "conv2 filter"), "activation-maximization-conv2.png"));
        Console.WriteLine("wrote " + Write(MaximizationGrid(net, "dense3", 10, "class"), "activation-maximization-classes.png"));

        if (fashionEpochs > 0) CnnCodesAndSvm(fashionData, subset, fashionEpochs, seed);
        return 0;
    }

    /// <summary>Gradient ascent from a gray image (pixels kept in [0, 1]) for each channel of <paramref name="layer"/>, one
    /// tile per channel, each scaled to its own range; prints the objective before and after.</summary>
    static Canvas MaximizationGrid(DigitNet net, string layer, int channels, string what)
    {
        const int scale = 4, side = 28;
        int columns = Math.Min(channels, 8);
        var canvas = TileGrid.Create(channels, side, side, scale, columns);
        var options = new ActivationMaximizationOptions { Steps = 200, StepSize = 0.05f, L2Decay = 0.01f, BlurEvery = 4, StartMean = 0.2f, Min = 0, Max = 1, Seed = 1 };
        var gains = new string[channels];
        for (int c = 0; c < channels; c++)
        {
            var result = ActivationMaximization.Run(net, layer, c, options);
            float lo = result.Image.Min(), hi = result.Image.Max();
            var (x0, y0) = TileGrid.Origin(c, side, side, scale, columns);
            for (int y = 0; y < side; y++)
                for (int x = 0; x < side; x++)
                {
                    byte g = ColorMap.Gray(result.Image[y * side + x], lo, hi);
                    canvas.FillRect(x0 + x * scale, y0 + y * scale, scale, scale, (g, g, g));
                }
            gains[c] = string.Create(CultureInfo.InvariantCulture, $"{c}: {result.Activations[0]:F2}→{result.Activations[^1]:F2}");
        }
        Console.WriteLine($"activation maximization, {what} (objective at the gray start → after 200 steps): {string.Join(", ", gains)}");
        return canvas;
    }

    /// <summary>Trains LeNet-5 (ReLU) on Fashion-MNIST, then a linear SVM on its CNN codes (the 84-unit "code" layer and the
    /// 400-value pool2 output) and compares the SVM's test accuracy with the network's own dense head.</summary>
    static void CnnCodesAndSvm(string? dataDir, bool subset, int epochs, int seed)
    {
        string? full = subset ? null : FashionMnist.FindFullDataDirectory(dataDir);
        string dir = full ?? Path.Combine(AppContext.BaseDirectory, "fashion");
        var (train, test) = FashionMnist.Load(dir);
        Console.WriteLine();
        Console.WriteLine($"CNN codes + linear SVM on Fashion-MNIST ({(full is null ? "shipped subset" : "full set")}: {train.Count} training, {test.Count} test images)");
        using var net = new FashionCodeNet(64, seed);
        var reports = Trainer.Fit(net, train, test, new SoftmaxCrossEntropy(), new Sgd(0.02f, momentum: 0.9f), new TrainingOptions
        {
            Epochs = epochs, BatchSize = 64, Seed = seed,
            OnEpoch = r => Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epoch {r.Epoch}: train loss {r.TrainLoss:F4}, test accuracy {r.TestAccuracy:P2}")),
        });
        var logits = CnnCodes.Extract(net, test, "head");
        int right = 0;
        for (int i = 0; i < test.Count; i++)
        {
            var row = logits.AsSpan(i * 10, 10);
            int best = 0;
            for (int k = 1; k < 10; k++) if (row[k] > row[best]) best = k;
            if (best == test.Labels[i]) right++;
        }
        double head = (double)right / test.Count;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"the network's own head (dense 84 → 10, softmax): test accuracy {head:P2}"));
        foreach (string layer in new[] { "code", "pool2" })
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var trainCodes = CnnCodes.Extract(net, train, layer);
            var testCodes = CnnCodes.Extract(net, test, layer);
            int features = trainCodes.Length / train.Count;
            var svm = LinearSvm.Train(trainCodes, train.Labels, features, 10, new LinearSvmOptions { C = 0.1, MaxPasses = 20, Seed = seed });
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"linear SVM (one-vs-rest hinge loss, C = 0.1, standardized) on '{layer}' codes ({features} values): test accuracy {svm.Accuracy(testCodes, test.Labels):P2}, " +
                $"train {svm.Accuracy(trainCodes, train.Labels):P2} ({clock.Elapsed.TotalSeconds:F1} s); head {head:P2}"));
        }
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
