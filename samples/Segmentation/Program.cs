using System;
using System.Globalization;
using System.Linq;
using NetDsl;
using NetDsl.Kernels;
using NetDsl.Training;

namespace SegmentationSample;

public static class Program
{
    public static int Main(string[] args)
    {
        int epochs = 10, trainCount = 3000, testCount = 500, batch = 32, seed = 1;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--epochs": epochs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--train": trainCount = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--batch": batch = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--seed": seed = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                default: Console.Error.WriteLine($"unknown option {args[i]}; options: --epochs N --train N --batch N --seed N"); return 2;
            }
        }

        var (trainX, trainY) = Shapes.Generate(trainCount, seed);
        var (testX, testY) = Shapes.Generate(testCount, seed + 1000);
        Console.WriteLine($"synthetic shapes: {trainCount} training and {testCount} test images of 32×32 (rectangles, discs, triangles on noise); segment the discs");
        Console.WriteLine(UNet.Summary);

        using var net = new UNet(batch, seed);
        var loss = new BinaryCrossEntropyWithLogits();
        var optimizer = new Adam(2e-3f);
        var order = Enumerable.Range(0, trainCount).ToArray();
        var x = new float[batch * UNet.InputSize];
        var y = new float[batch * UNet.OutputSize];
        var rng = new Rng((ulong)seed);
        Console.WriteLine($"before training: test IoU {Iou(net, testX, testY):F3}");
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            for (int i = order.Length - 1; i > 0; i--) { int j = (int)(rng.NextUInt64() % (ulong)(i + 1)); (order[i], order[j]) = (order[j], order[i]); }
            var clock = System.Diagnostics.Stopwatch.StartNew();
            double lossSum = 0;
            for (int start = 0; start < trainCount; start += batch)
            {
                int n = Math.Min(batch, trainCount - start);
                for (int k = 0; k < n; k++)
                {
                    trainX.AsSpan(order[start + k] * UNet.InputSize, UNet.InputSize).CopyTo(x.AsSpan(k * UNet.InputSize));
                    trainY.AsSpan(order[start + k] * UNet.OutputSize, UNet.OutputSize).CopyTo(y.AsSpan(k * UNet.OutputSize));
                }
                lossSum += net.TrainStep(x.AsSpan(0, n * UNet.InputSize), y.AsSpan(0, n * UNet.OutputSize), n, loss, optimizer) * n;
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {epoch,2}  train loss {lossSum / trainCount:F4}  test IoU {Iou(net, testX, testY):F3}  {clock.Elapsed.TotalSeconds:F1} s"));
        }
        return 0;
    }

    /// <summary>Intersection over union of the predicted foreground (logit &gt; 0) and the true masks, over all test pixels.</summary>
    private static double Iou(UNet net, float[] images, float[] masks)
    {
        long intersection = 0, union = 0;
        int count = images.Length / UNet.InputSize;
        for (int start = 0; start < count; start += net.MaxBatch)
        {
            int n = Math.Min(net.MaxBatch, count - start);
            var logits = net.Forward(images.AsSpan(start * UNet.InputSize, n * UNet.InputSize), n);
            var truth = masks.AsSpan(start * UNet.OutputSize, n * UNet.OutputSize);
            for (int i = 0; i < logits.Length; i++)
            {
                bool p = logits[i] > 0f, t = truth[i] > 0.5f;
                if (p && t) intersection++;
                if (p || t) union++;
            }
        }
        return union == 0 ? 1.0 : (double)intersection / union;
    }
}

/// <summary>Images of 1–3 random shapes (axis-aligned rectangles, discs, triangles) of random brightness on a noisy
/// background. The mask marks the discs only, so brightness alone cannot solve it: the network must tell shapes apart.
/// Deterministic for a seed.</summary>
public static class Shapes
{
    public const int Size = 32;

    public static (float[] Images, float[] Masks) Generate(int count, int seed)
    {
        var images = new float[count * Size * Size];
        var masks = new float[count * Size * Size];
        var rng = new Rng((ulong)seed * 0x9E3779B97F4A7C15UL + 7);
        for (int n = 0; n < count; n++)
        {
            var image = images.AsSpan(n * Size * Size, Size * Size);
            var mask = masks.AsSpan(n * Size * Size, Size * Size);
            for (int i = 0; i < image.Length; i++) image[i] = 0.1f + 0.25f * rng.NextFloat();
            int shapes = 1 + (int)(rng.NextUInt64() % 3);
            for (int s = 0; s < shapes; s++)
            {
                int kind = (int)(rng.NextUInt64() % 3);
                float cx = 6 + 20 * rng.NextFloat(), cy = 6 + 20 * rng.NextFloat(), r = 3 + 5 * rng.NextFloat();
                float brightness = 0.55f + 0.45f * rng.NextFloat();
                for (int py = 0; py < Size; py++)
                    for (int px = 0; px < Size; px++)
                    {
                        float dx = px + 0.5f - cx, dy = py + 0.5f - cy;
                        bool inside = kind switch
                        {
                            0 => MathF.Abs(dx) <= r && MathF.Abs(dy) <= 0.6f * r,
                            1 => dx * dx + dy * dy <= r * r,
                            _ => dy <= r * 0.8f && dy >= -r && MathF.Abs(dx) <= (dy + r) * 0.6f,
                        };
                        if (!inside) continue;
                        image[py * Size + px] = brightness - 0.1f * rng.NextFloat();
                        mask[py * Size + px] = kind == 1 ? 1f : 0f; // a later shape covers an earlier one
                    }
            }
        }
        return (images, masks);
    }
}
