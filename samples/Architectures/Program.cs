using System;
using System.Globalization;
using System.IO;
using NetDsl;
using NetDsl.Data;
using NetDsl.Training;

namespace ArchitecturesSample;

/// <summary>Trains the lecture notes' two graph architectures, a GoogLeNet-style inception network and a ResNet with
/// projection shortcuts, on Fashion-MNIST (the full set when installed, else the shipped subset).</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        int epochs = 3, batch = 64, seed = 1;
        string net = "both";
        string? dataDir = null;
        bool subset = false, published = false;
        float? lrOption = null;
        int steps = 2;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--net": net = Next(); break;
                case "--epochs": epochs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--batch": batch = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--seed": seed = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--lr": lrOption = float.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--published": published = true; break;
                case "--steps": steps = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--data": dataDir = Next(); break;
                case "--subset": subset = true; break;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}; options: --net inception|resnet|alexnet|zf|vgg|both|classic|all --published --steps N --epochs N --batch N --seed N --lr X --data DIR --subset");
                    return 2;
            }
        }
        if (published)
        {
            PublishedArchitectures.Run(steps, seed);
            return 0;
        }
        string[] all = ["inception", "resnet", "alexnet", "zf", "vgg"];
        string[] chosen = net switch
        {
            "both" => ["inception", "resnet"],
            "classic" => ["alexnet", "zf", "vgg"],
            "all" => all,
            _ when Array.IndexOf(all, net) >= 0 => [net],
            _ => [],
        };
        if (chosen.Length == 0)
        {
            Console.Error.WriteLine($"--net must be inception, resnet, alexnet, zf, vgg, both (inception and resnet), classic (alexnet, zf, vgg) or all, got '{net}'");
            return 2;
        }
        string? full = subset ? null : FashionMnist.FindFullDataDirectory(dataDir);
        string dir = full ?? Path.Combine(AppContext.BaseDirectory, "data");
        var (train, test) = FashionMnist.Load(dir);
        Console.WriteLine($"data: {dir} ({(full is null ? "shipped subset" : "full set")}): {train.Count} training, {test.Count} test images");

        foreach (string name in chosen)
        {
            // The classic nets (no batch norm, LRN and dropout) diverge at the residual nets' 0.05: they take 0.01.
            float lr = lrOption ?? (name is "inception" or "resnet" ? 0.05f : 0.01f);
            INetwork model = name switch
            {
                "inception" => new InceptionNet(batch, seed),
                "resnet" => new ProjectionResNet(batch, seed),
                "alexnet" => new MiniAlexNet(batch, seed),
                "zf" => new MiniZfNet(batch, seed),
                _ => new MiniVgg(batch, seed),
            };
            using var owned = (IDisposable)model; // every generated network is IDisposable (its worker pool)
            Console.WriteLine(name switch
            {
                "inception" => InceptionNet.Summary,
                "resnet" => ProjectionResNet.Summary,
                "alexnet" => MiniAlexNet.Summary,
                "zf" => MiniZfNet.Summary,
                _ => MiniVgg.Summary,
            });
            Train(model, name, train, test, epochs, batch, seed, lr);
        }
        return 0;
    }

    private static void Train(INetwork net, string name, LabeledImages train, LabeledImages test, int epochs, int batch, int seed, float lr)
    {
        var optimizer = new Sgd(lr, momentum: 0.9f, weightDecay: 5e-4f);
        var reports = Trainer.Fit(net, train, test, new SoftmaxCrossEntropy(), optimizer, new TrainingOptions
        {
            Epochs = epochs,
            BatchSize = batch,
            Seed = seed,
            LearningRateForEpoch = epoch => lr * 0.5f * (1 + MathF.Cos(MathF.PI * epoch / Math.Max(1, epochs))), // cosine per epoch
            OnEpoch = r => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name}  epoch {r.Epoch,2}  lr {r.LearningRate:G3}  train loss {r.TrainLoss:F4}  train acc {r.TrainAccuracy:P2}  test acc {r.TestAccuracy:P2}  {r.Seconds:F1} s  {r.SamplesPerSecond:F0} samples/s")),
        });
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}: test accuracy {reports[^1].TestAccuracy:P2} after {reports.Count} epochs"));
    }
}
