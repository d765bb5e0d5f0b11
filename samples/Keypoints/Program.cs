using System;
using System.Globalization;
using NetDsl.Data;
using NetDsl.Kernels;
using NetDsl.Training;

namespace KeypointsSample;

/// <summary>Keypoint regression with the lecture notes' facial-keypoints recipe: mean squared error, Nesterov momentum, the
/// learning rate falling linearly 0.03 → 0.0001 and the momentum rising 0.9 → 0.999 over the epochs, and horizontal flips
/// (probability 0.5) that mirror the keypoints and swap the left and right ones. Targets are scaled to [−1, 1] as there.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        int epochs = 30, trainCount = 4000, testCount = 1000, batch = 32, seed = 1;
        bool flip = true;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--epochs": epochs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--train": trainCount = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--batch": batch = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--seed": seed = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--no-flip": flip = false; break;
                default: Console.Error.WriteLine($"unknown option {args[i]}; options: --epochs N --train N --batch N --seed N --no-flip"); return 2;
            }
        }
        if (epochs < 2) { Console.Error.WriteLine("--epochs must be at least 2 (the schedules run from the first to the last epoch)"); return 2; }

        var train = Squares.Generate(trainCount, seed);
        var test = Squares.Generate(testCount, seed + 1000);
        Console.WriteLine($"synthetic rotated squares: {trainCount} training and {testCount} test images of 32×32; regress the 4 corners (8 values)");
        Console.WriteLine(CornerNet.Summary);

        // Baseline: always answer the mean training keypoints.
        var mean = new float[8];
        for (int n = 0; n < trainCount; n++)
            for (int k = 0; k < 8; k++) mean[k] += train.Targets[n * 8 + k] / trainCount;
        var baseline = new float[testCount * 8];
        for (int n = 0; n < testCount; n++) mean.CopyTo(baseline, n * 8);
        double baselineError = Squares.MeanCornerError(baseline, test.Targets);

        using var net = new CornerNet(batch, seed);
        var loss = new MeanSquaredError();
        var optimizer = new Sgd(0.03f, momentum: 0.9f, nesterov: true);
        Trainer.Fit(net, train, null, loss, optimizer, new TrainingOptions
        {
            Epochs = epochs,
            BatchSize = batch,
            Seed = seed,
            Schedule = new LinearSchedule(0.03f, 0.0001f, epochs - 1),
            MomentumSchedule = new LinearSchedule(0.9f, 0.999f, epochs - 1),
            TargetAugmentation = flip ? TargetAugmentation.HorizontalFlip(0.5, mirrorAxis: 0, (0, 1), (2, 3)) : null,
            OnEpoch = r =>
            {
                double testLoss = Trainer.Evaluate(net, test, loss);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"epoch {r.Epoch,2}  lr {r.LearningRate:F5}  momentum {optimizer.Momentum:F4}  train MSE {r.TrainLoss:F5}  test MSE {testLoss:F5}  test corner error {Squares.MeanCornerError(Predict(net, test), test.Targets):F2} px  {r.Seconds:F1} s"));
            },
        });
        double error = Squares.MeanCornerError(Predict(net, test), test.Targets);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"mean corner error on the test set: {error:F2} px (baseline, the mean training corners: {baselineError:F2} px)"));
        return 0;
    }

    static float[] Predict(CornerNet net, RegressionImages data)
    {
        var result = new float[data.Count * 8];
        for (int start = 0; start < data.Count; start += net.MaxBatch)
        {
            int n = Math.Min(net.MaxBatch, data.Count - start);
            net.Forward(data.Pixels.AsSpan(start * CornerNet.InputSize, n * CornerNet.InputSize), n).CopyTo(result.AsSpan(start * 8));
        }
        return result;
    }
}

/// <summary>A filled square (side 8–16 px, rotated by θ in (−45°, 45°), random centre and brightness) on a noisy background.
/// Targets: the corners top-right, top-left, bottom-left, bottom-right (image axes, y down), i.e. centre + R(θ)·(±h, ±h), as
/// (x, y) scaled to [−1, 1] by (c − 16)/16. Within (−45°, 45°) this order is continuous in θ, and a left–right mirror image is
/// again such a square with corners 0↔1 and 2↔3 traded. Deterministic for a seed.</summary>
public static class Squares
{
    public const int Size = 32;
    const float Half = Size / 2f;

    public static RegressionImages Generate(int count, int seed)
    {
        var images = new float[count * Size * Size];
        var targets = new float[count * 8];
        var rng = new Rng((ulong)seed * 0x9E3779B97F4A7C15UL + 11);
        for (int n = 0; n < count; n++)
        {
            var image = images.AsSpan(n * Size * Size, Size * Size);
            for (int i = 0; i < image.Length; i++) image[i] = 0.1f + 0.2f * rng.NextFloat();
            float h = 4 + 4 * rng.NextFloat();
            double theta = (rng.NextDouble() - 0.5) * Math.PI / 2 * 0.98;
            float cx = 11 + 10 * rng.NextFloat(), cy = 11 + 10 * rng.NextFloat();
            float brightness = 0.6f + 0.4f * rng.NextFloat();
            float cos = (float)Math.Cos(theta), sin = (float)Math.Sin(theta);
            for (int py = 0; py < Size; py++)
                for (int px = 0; px < Size; px++)
                {
                    // Into the square's frame: R(−θ)(p − c).
                    float dx = px + 0.5f - cx, dy = py + 0.5f - cy;
                    float u = cos * dx + sin * dy, v = -sin * dx + cos * dy;
                    if (MathF.Abs(u) <= h && MathF.Abs(v) <= h) image[py * Size + px] = brightness - 0.1f * rng.NextFloat();
                }
            ReadOnlySpan<(float U, float V)> corners = [(h, -h), (-h, -h), (-h, h), (h, h)];
            for (int k = 0; k < 4; k++)
            {
                var (u, v) = corners[k];
                targets[n * 8 + 2 * k] = (cx + cos * u - sin * v - Half) / Half;
                targets[n * 8 + 2 * k + 1] = (cy + sin * u + cos * v - Half) / Half;
            }
        }
        return new RegressionImages(images, targets, 1, Size, Size, 8);
    }

    /// <summary>The mean Euclidean distance in pixels between predicted and true corners.</summary>
    public static double MeanCornerError(ReadOnlySpan<float> predicted, ReadOnlySpan<float> truth)
    {
        double sum = 0;
        for (int i = 0; i < truth.Length; i += 2)
        {
            double dx = (predicted[i] - truth[i]) * Half, dy = (predicted[i + 1] - truth[i + 1]) * Half;
            sum += Math.Sqrt(dx * dx + dy * dy);
        }
        return sum / (truth.Length / 2);
    }
}
