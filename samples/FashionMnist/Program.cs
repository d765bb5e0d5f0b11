using System;
using System.Globalization;
using System.IO;
using NetDsl;
using NetDsl.Data;
using NetDsl.IO;
using NetDsl.Training;
using NetDsl.Visualization;
using NetDslSamples;

namespace FashionMnistSample;

/// <summary>Trains LeNet-5 or a small CNN on Fashion-MNIST: the full set when found, else the subset shipped in data/.</summary>
public static class Program
{
    private const string Usage = """
        usage: FashionMnist [--net lenet5|cnn] [--epochs N] [--batch N] [--optimizer sgd|adam] [--lr X]
                            [--momentum X] [--nesterov] [--seed N] [--threads N] [--data DIR] [--subset] [--save FILE]
                            [--confusion FILE.png] [--device cpu|gpu]
          --data DIR   folder with the four Fashion-MNIST IDX files (.gz or raw); default: /usr/share/datasets/fashion-mnist
                       when present (Debian package dataset-fashion-mnist), else the 10k/2k subset shipped with the sample
          --subset     use the shipped subset even when the full set is found
          --save FILE  write the trained weights as safetensors, then load them back into a fresh network and check them
          --confusion FILE.png  draw the test set's confusion matrix (the text form is always printed)
          --deterministic  the same weights whatever --threads (6 fixed batch slices; slower, see docs/reliability.md)
          --soak       record managed heap, working set and bytes allocated per step at each epoch; exit code 1 if memory
                       grows after epoch 2 or a step from epoch 2 on allocates (docs/reliability.md: --net cnn --subset --epochs 30)
          --device gpu  train the network's generated GPU twin on the best ILGPU accelerator (CUDA, OpenCL, else ILGPU's CPU
                       simulator), printed at start; default cpu
        """;

    public static int Main(string[] args)
    {
        try { return Run(args); }
        catch (ArgumentException e) { Console.Error.WriteLine("error: " + e.Message); Console.Error.WriteLine(Usage); return 2; }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 1;
        }
    }

    private static int Run(string[] args)
    {
        string net = "lenet5", optimizerName = "sgd";
        int epochs = 5, batch = 64, seed = 1, threads = 0;
        float? lr = null;
        float momentum = 0.9f;
        bool nesterov = false, subset = false, soak = false;
        string? dataDir = null, save = null, confusion = null;
        string deviceName = "cpu";
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--net": net = Next().ToLowerInvariant(); break;
                case "--epochs": epochs = ParseInt(Next(), "--epochs", 0); break;
                case "--batch": batch = ParseInt(Next(), "--batch", 1); break;
                case "--optimizer": optimizerName = Next().ToLowerInvariant(); break;
                case "--lr": lr = ParseFloat(Next(), "--lr"); break;
                case "--momentum": momentum = ParseFloat(Next(), "--momentum"); break;
                case "--nesterov": nesterov = true; break;
                case "--seed": seed = ParseInt(Next(), "--seed", int.MinValue); break;
                case "--threads": threads = ParseInt(Next(), "--threads", 0); break;
                case "--data": dataDir = Next(); break;
                case "--subset": subset = true; break;
                case "--save": save = Next(); break;
                case "--confusion": confusion = Next(); break;
                case "--soak": soak = true; break;
                case "--deterministic": NetDsl.Kernels.WorkerPool.DeterministicReduction = true; break;
                case "--device": deviceName = Next().ToLowerInvariant(); break;
                case "-h" or "--help": Console.WriteLine(Usage); return 0;
                default: throw new ArgumentException($"unknown option '{args[i]}'");
            }
        }

        if (net is not ("lenet5" or "cnn")) throw new ArgumentException($"--net must be lenet5 or cnn, got '{net}'");
        if (deviceName is not ("cpu" or "gpu")) throw new ArgumentException($"--device must be cpu or gpu, got '{deviceName}'");
        if (optimizerName is not ("sgd" or "adam")) throw new ArgumentException($"--optimizer must be sgd or adam, got '{optimizerName}'");
        if (dataDir is not null && FashionMnist.FindFullDataDirectory(dataDir) != dataDir)
            throw new ArgumentException($"--data {dataDir}: the folder does not hold the four Fashion-MNIST files ({FashionMnist.TrainImages}[.gz], ...)");
        string shipped = Path.Combine(AppContext.BaseDirectory, "data");
        string? full = subset ? null : FashionMnist.FindFullDataDirectory(dataDir);
        string dir = full ?? shipped;
        var (train, test) = FashionMnist.Load(dir);
        Console.WriteLine($"data: {dir} ({(full is null ? "shipped subset" : "full set")}): {train.Count} training, {test.Count} test images");

        INetwork network = net switch
        {
            "lenet5" => new LeNet5(batch, seed, threads),
            "cnn" => new Cnn(batch, seed, threads),
            _ => throw new ArgumentException($"--net must be lenet5 or cnn, got '{net}'"),
        };
        Console.WriteLine(net == "lenet5" ? LeNet5.Summary : Cnn.Summary);

        Optimizer optimizer = optimizerName switch
        {
            "sgd" => new Sgd(lr ?? 0.01f, momentum, nesterov: nesterov),
            "adam" => new Adam(lr ?? 1e-3f),
            _ => throw new ArgumentException($"--optimizer must be sgd or adam, got '{optimizerName}'"),
        };
        Console.WriteLine($"training: {epochs} epochs, batch {batch}, {optimizerName} lr {optimizer.LearningRate.ToString(CultureInfo.InvariantCulture)}"
            + (optimizerName == "sgd" ? $" momentum {momentum.ToString(CultureInfo.InvariantCulture)}{(nesterov ? " nesterov" : "")}" : "") + $", seed {seed}");

        var loss = new SoftmaxCrossEntropy();
        if (deviceName == "gpu")
        {
            // A feature switch: a NativeAOT build removes this branch (and ILGPU with it), so the CPU path stays AOT-clean.
            if (!System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported)
                throw new ArgumentException("--device gpu needs run-time code generation (ILGPU), which this NativeAOT build lacks; run the sample with dotnet run, or use --device cpu");
#pragma warning disable IL2026, IL3050 // guarded above
            GpuTraining.Fit(net, network, train, test, loss, optimizer, epochs, batch, seed);
#pragma warning restore IL2026, IL3050
        }
        else
        {
            var monitor = soak ? new NetDsl.Tools.MemorySoak() : null;
            var reports = TrainingView.Run((progress, onEpoch) => Trainer.Fit(network, train, test, loss, optimizer, new TrainingOptions
            {
                Epochs = epochs,
                BatchSize = batch,
                Seed = seed,
                Progress = progress,
                OnStep = monitor is null ? null : monitor.OnStep,
                OnEpoch = r =>
                {
                    onEpoch(r);
                    if (monitor is null) return;
                    monitor.OnEpoch(r);
                    Console.WriteLine("  soak: " + monitor.Epochs[^1]);
                },
            }));
            TrainingView.PrintTable(reports);
            if (monitor is not null)
            {
                foreach (var f in monitor.Failures) Console.WriteLine("soak FAILED: " + f);
                Console.WriteLine(monitor.Failures.Count == 0 ? $"soak passed: no step allocated from epoch {monitor.SteadyFromEpoch} on, and memory did not grow after it" : "soak failed");
                if (monitor.Failures.Count > 0) return 1;
            }
        }

        var evaluation = EvaluationReport.Compute(network, test, loss);
        Console.Write(evaluation.ToText(FashionMnist.ClassNames));
        if (confusion is not null)
        {
            ConfusionMatrixImage.Render(evaluation, FashionMnist.ClassNames).Save(confusion);
            Console.WriteLine($"confusion matrix: {confusion}");
        }

        if (save is not null)
        {
            SafeTensors.Save(save, network, new System.Collections.Generic.Dictionary<string, string> { ["network"] = net });
            INetwork reloaded = net == "lenet5" ? new LeNet5(batch, seed + 1, threads) : new Cnn(batch, seed + 1, threads);
            SafeTensors.Load(save, reloaded, net);
            var (_, accuracy) = Trainer.Evaluate(reloaded, test, loss);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"saved {save} ({new FileInfo(save).Length} bytes); reloaded into a fresh network: test acc {accuracy:P2}"));
        }
        return 0;
    }

    private static int ParseInt(string s, string option, int min) =>
        int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= min
            ? v : throw new ArgumentException($"{option} expects an integer ≥ {min}, got '{s}'");

    private static float ParseFloat(string s, string option) =>
        float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out float v) && float.IsFinite(v) && v >= 0
            ? v : throw new ArgumentException($"{option} expects a non-negative number, got '{s}'");
}
