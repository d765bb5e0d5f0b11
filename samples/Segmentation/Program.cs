using System;
using System.Globalization;
using NetDsl;
using NetDsl.Data;
using NetDsl.Kernels;
using NetDsl.Training;

namespace SegmentationSample;

public static class Program
{
    static readonly string[] ClassNames = { "background", "rectangle", "disc", "triangle" };

    public static int Main(string[] args)
    {
        int epochs = 10, trainCount = 3000, testCount = 500, batch = 32, seed = 1;
        bool flip = false;
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--epochs": epochs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--train": trainCount = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--batch": batch = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--seed": seed = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--flip": flip = true; break;
                default: Console.Error.WriteLine($"unknown option {args[i]}; options: --epochs N --train N --batch N --seed N --flip"); return 2;
            }
        }

        var train = Shapes.Generate(trainCount, seed);
        var test = Shapes.Generate(testCount, seed + 1000);
        Console.WriteLine($"synthetic shapes: {trainCount} training and {testCount} test images of 32×32 (rectangles, discs, triangles on noise);");
        Console.WriteLine("label every pixel: background, rectangle, disc or triangle (PixelwiseSoftmaxCrossEntropy, 4 classes)");
        Console.WriteLine(UNet.Summary);

        using var net = new UNet(batch, seed);
        var loss = new PixelwiseSoftmaxCrossEntropy(ClassNames.Length);
        var before = Trainer.Evaluate(net, test, loss).Confusion;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"before training: pixel accuracy {before.PixelAccuracy:P2}  mean IoU {before.MeanIoU:F3}"));
        Trainer.Fit(net, train, null, loss, new Adam(2e-3f), new TrainingOptions
        {
            Epochs = epochs,
            BatchSize = batch,
            Seed = seed,
            TargetAugmentation = flip ? TargetAugmentation.HorizontalFlip(0.5) : null, // every shape class is left–right symmetric
            OnEpoch = r =>
            {
                var (testLoss, confusion) = Trainer.Evaluate(net, test, loss);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"epoch {r.Epoch,2}  train loss {r.TrainLoss:F4}  pixel acc {r.TrainAccuracy:P2}  test loss {testLoss:F4}  test pixel acc {confusion.PixelAccuracy:P2}  mean IoU {confusion.MeanIoU:F3}  {r.Seconds:F1} s"));
            },
        });
        var final = Trainer.Evaluate(net, test, loss).Confusion;
        Console.WriteLine("test IoU per class:");
        for (int c = 0; c < ClassNames.Length; c++)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {ClassNames[c],-10} {final.IoU(c):F3}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"mean IoU {final.MeanIoU:F3}  pixel accuracy {final.PixelAccuracy:P2}"));
        return 0;
    }
}

/// <summary>Images of 1–3 random shapes (axis-aligned rectangles, discs, triangles) of random brightness on a noisy
/// background, with a label per pixel: 0 background, 1 rectangle, 2 disc, 3 triangle (a later shape covers an earlier
/// one). Brightness alone cannot tell the shapes apart: the network must see their form. Deterministic for a seed.</summary>
public static class Shapes
{
    public const int Size = 32;

    public static PixelLabeledImages Generate(int count, int seed)
    {
        var images = new float[count * Size * Size];
        var labels = new int[count * Size * Size];
        var rng = new Rng((ulong)seed * 0x9E3779B97F4A7C15UL + 7);
        for (int n = 0; n < count; n++)
        {
            var image = images.AsSpan(n * Size * Size, Size * Size);
            var label = labels.AsSpan(n * Size * Size, Size * Size);
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
                        label[py * Size + px] = kind + 1;
                    }
            }
        }
        return new PixelLabeledImages(images, labels, 1, Size, Size, 4);
    }
}
