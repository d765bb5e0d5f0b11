using System;
using System.Globalization;
using System.IO;
using NetDsl.Data;
using NetDsl.Tools;
using NetDsl.Training;
using NetDsl.Visualization;

namespace AdversarialSample;

/// <summary>Adversarial examples on Fashion-MNIST (the notes' "adversarial samples", Goodfellow et al.): trains one network
/// normally and one adversarially (α = 0.5 clean + 0.5 perturbed loss), then reports each one's clean accuracy and its
/// accuracy under FGSM and PGD at ε = 0.1 (pixels in [0, 1]), and writes a PNG of clean images, their FGSM versions and the
/// perturbations.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        int epochs = 3, batch = 64, seed = 1, pgdSteps = 10, evalCount = 0;
        float epsilon = 0.1f;
        bool subset = false;
        string trainAttack = "pgd", png = "adversarial-examples.png";
        string? dataDir = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--epochs": epochs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--batch": batch = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--seed": seed = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--epsilon": epsilon = float.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--pgd-steps": pgdSteps = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--train-attack": trainAttack = Next(); break;
                case "--eval": evalCount = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--png": png = Next(); break;
                case "--data": dataDir = Next(); break;
                case "--subset": subset = true; break;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}; options: --epochs N --batch N --seed N --epsilon X --pgd-steps N --train-attack fgsm|pgd --eval N --png FILE --data DIR --subset");
                    return 2;
            }
        }
        if (trainAttack is not ("fgsm" or "pgd")) { Console.Error.WriteLine($"--train-attack must be fgsm or pgd, got '{trainAttack}'"); return 2; }

        string? full = subset ? null : FashionMnist.FindFullDataDirectory(dataDir);
        var (train, test) = FashionMnist.Load(full ?? Path.Combine(AppContext.BaseDirectory, "data"));
        if (evalCount > 0 && evalCount < test.Count) test = test.Take(evalCount);
        Console.WriteLine($"data: {(full is null ? "shipped subset" : full)}: {train.Count} training, {test.Count} test images; ε = {epsilon}");
        Console.WriteLine(SmallCnn.Summary);

        var loss = new SoftmaxCrossEntropy();
        float pgdStep = 2.5f * epsilon / pgdSteps; // Madry et al.'s 2.5·ε/steps
        Attack fgsm = (net, x, y, n, adv) => Adversarial.Fgsm(net, x, y, n, loss, epsilon, adv);
        ulong draws = 0;
        Attack pgd = (net, x, y, n, adv) => Adversarial.Pgd(net, x, y, n, loss, epsilon, pgdSteps, pgdStep, randomStart: true, adv, seed: ++draws);
        // Training attack: FGSM, or a cheaper PGD (3 steps of ε/2 from a random start) so that an epoch costs about 5 passes.
        Attack trainingAttack = trainAttack == "fgsm" ? fgsm
            : (net, x, y, n, adv) => Adversarial.Pgd(net, x, y, n, loss, epsilon, 3, epsilon / 2, randomStart: true, adv, seed: ++draws);

        void Report(string name, SmallCnn net)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            double clean = Adversarial.Accuracy(net, test, null);
            double underFgsm = Adversarial.Accuracy(net, test, fgsm);
            double underPgd = Adversarial.Accuracy(net, test, pgd);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name,-22} clean {clean:P2}   FGSM ε={epsilon}: {underFgsm:P2}   PGD-{pgdSteps} ε={epsilon}: {underPgd:P2}   ({clock.Elapsed.TotalSeconds:F0} s to evaluate)"));
        }

        void Epoch(string name, EpochReport r) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {name} epoch {r.Epoch}: train loss {r.TrainLoss:F4}  clean test accuracy {r.TestAccuracy:P2}  {r.Seconds:F1} s"));

        using var normal = new SmallCnn(batch, seed);
        Trainer.Fit(normal, train, test, loss, new Adam(1e-3f), new TrainingOptions { Epochs = epochs, BatchSize = batch, Seed = seed, OnEpoch = r => Epoch("normal", r) });
        using var robust = new SmallCnn(batch, seed);
        Adversarial.Train(robust, train, test, loss, new Adam(1e-3f), trainingAttack, epochs, batch, cleanWeight: 0.5, seed: seed, onEpoch: r => Epoch($"adversarial ({trainAttack})", r));

        Report("normally trained", normal);
        Report($"adversarially trained", robust);
        WriteExamples(png, normal, test, loss, epsilon);
        Console.WriteLine($"wrote {png}: clean test images (top), their FGSM versions against the normally trained net (middle), the perturbation (bottom, grey = 0); labels are the net's answers");
        return 0;
    }

    static void WriteExamples(string path, SmallCnn net, LabeledImages test, Loss loss, float epsilon)
    {
        const int count = 8, scale = 4, side = 28, label = 10;
        var x = test.Pixels.AsSpan(0, count * SmallCnn.InputSize).ToArray();
        var y = test.Labels.AsSpan(0, count).ToArray();
        var adv = new float[x.Length];
        Adversarial.Fgsm(net, x, y, count, loss, epsilon, adv);
        var cleanAnswer = Argmax(net.Forward(x, count).ToArray(), count);
        var advAnswer = Argmax(net.Forward(adv, count).ToArray(), count);
        int cell = side * scale + 6, rowHeight = side * scale + label + 6;
        var canvas = new Canvas(count * cell, 3 * rowHeight, (255, 255, 255));
        for (int k = 0; k < count; k++)
        {
            for (int row = 0; row < 3; row++)
                for (int py = 0; py < side; py++)
                    for (int px = 0; px < side; px++)
                    {
                        int i = k * SmallCnn.InputSize + py * side + px;
                        float v = row switch { 0 => x[i], 1 => adv[i], _ => 0.5f + 0.5f * (adv[i] - x[i]) / epsilon };
                        byte g = (byte)Math.Clamp((int)MathF.Round(v * 255), 0, 255);
                        canvas.FillRect(k * cell + 3 + px * scale, row * rowHeight + 3 + py * scale, scale, scale, (g, g, g));
                    }
            var ink0 = cleanAnswer[k] == y[k] ? ((byte)0, (byte)120, (byte)0) : ((byte)200, (byte)0, (byte)0);
            var ink1 = advAnswer[k] == y[k] ? ((byte)0, (byte)120, (byte)0) : ((byte)200, (byte)0, (byte)0);
            canvas.Text(k * cell + 3, side * scale + 5, Short(cleanAnswer[k]), ink0);
            canvas.Text(k * cell + 3, rowHeight + side * scale + 5, Short(advAnswer[k]), ink1);
        }
        Png.WriteRgb(path, canvas.Pixels, canvas.Width, canvas.Height);
    }

    static string Short(int c) => FashionMnist.ClassNames[c].Length > 14 ? FashionMnist.ClassNames[c][..14] : FashionMnist.ClassNames[c];

    static int[] Argmax(float[] output, int count)
    {
        var result = new int[count];
        for (int n = 0; n < count; n++)
            for (int c = 1; c < 10; c++)
                if (output[n * 10 + c] > output[n * 10 + result[n]]) result[n] = c;
        return result;
    }
}
