// NetDslSegmentation: a NetDsl U-Net that segments the discs among rectangles, discs and triangles in generated
// 32×32 images. Run `dotnet run -c Release -- --help` for the options.
using System.Diagnostics;
using System.Globalization;

int epochs = 5, trainCount = 2000, testCount = 400, batch = 32, seed = 1;
string? save = "unet.safetensors";
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    int Count(string option) => int.TryParse(Next(), CultureInfo.InvariantCulture, out int v) && v >= 1 ? v : throw new ArgumentException($"{option} expects a whole number ≥ 1");
    switch (args[i])
    {
        case "--epochs": epochs = Count("--epochs"); break;
        case "--train": trainCount = Count("--train"); break;
        case "--test": testCount = Count("--test"); break;
        case "--batch": batch = Count("--batch"); break;
        case "--seed": seed = Count("--seed"); break;
        case "--save": save = Next(); break;
        default:
            Console.WriteLine("options: --epochs N --train N --test N --batch N --seed N --save FILE.safetensors");
            return args[i] is "-h" or "--help" ? 0 : 2;
    }
}

var (trainX, trainY) = Shapes.Generate(trainCount, seed);
var (testX, testY) = Shapes.Generate(testCount, seed + 1000);
Console.WriteLine(UNet.Summary);

using var net = new UNet(maxBatch: batch, seed: seed);
var loss = new BinaryCrossEntropyWithLogits();
var optimizer = new Adam(2e-3f);
var x = new float[batch * UNet.InputSize];
var y = new float[batch * UNet.OutputSize];
var order = Enumerable.Range(0, trainCount).ToArray();
var random = new Random(seed);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"before training: test IoU {Iou(net, testX, testY):F3}"));
var total = Stopwatch.StartNew();
for (int epoch = 1; epoch <= epochs; epoch++)
{
    random.Shuffle(order);
    var clock = Stopwatch.StartNew();
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
        $"epoch {epoch}  train loss {lossSum / trainCount:F4}  test IoU {Iou(net, testX, testY):F3}  {trainCount / clock.Elapsed.TotalSeconds:N0} samples/s"));
}
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"trained {epochs} epochs in {total.Elapsed.TotalSeconds:F1} s"));

if (save is not null)
{
    SafeTensors.Save(save, net);
    using var reloaded = new UNet(maxBatch: batch, seed: seed + 1);
    SafeTensors.Load(save, reloaded);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"saved {save}; reloaded: test IoU {Iou(reloaded, testX, testY):F3}"));
}
return 0;

// Intersection over union of the predicted foreground (logit > 0) and the true masks, over all test pixels.
static double Iou(UNet net, float[] images, float[] masks)
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

/// <summary>A small U-Net: two encoder stages, a bottleneck, two decoder stages that upsample with transposed
/// convolutions and concatenate the encoder's features of the same resolution; one logit per pixel.</summary>
[Network(1, 32, 32)]
[Conv2D(8, 3, Padding = 1)] [ReLU(Name = "enc1")]
[MaxPool2D(2)]
[Conv2D(16, 3, Padding = 1)] [ReLU(Name = "enc2")]
[MaxPool2D(2)]
[Conv2D(32, 3, Padding = 1)] [ReLU]
[ConvTranspose2D(16, 2, Stride = 2)] [ReLU]
[Concat(From = "enc2")]
[Conv2D(16, 3, Padding = 1)] [ReLU]
[ConvTranspose2D(8, 2, Stride = 2)] [ReLU]
[Concat(From = "enc1")]
[Conv2D(8, 3, Padding = 1)] [ReLU]
[Conv2D(1, 1)]
public partial class UNet;

/// <summary>Images of 1–3 random shapes (rectangles, discs, triangles) of random brightness on a noisy background; the
/// mask marks the discs only, so brightness alone cannot solve it. Deterministic for a seed.</summary>
public static class Shapes
{
    public const int Size = 32;

    public static (float[] Images, float[] Masks) Generate(int count, int seed)
    {
        var images = new float[count * Size * Size];
        var masks = new float[count * Size * Size];
        var random = new Random(seed);
        float Next() => (float)random.NextDouble();
        for (int n = 0; n < count; n++)
        {
            var image = images.AsSpan(n * Size * Size, Size * Size);
            var mask = masks.AsSpan(n * Size * Size, Size * Size);
            for (int i = 0; i < image.Length; i++) image[i] = 0.1f + 0.25f * Next();
            int shapes = 1 + random.Next(3);
            for (int s = 0; s < shapes; s++)
            {
                int kind = random.Next(3);
                float cx = 6 + 20 * Next(), cy = 6 + 20 * Next(), r = 3 + 5 * Next();
                float brightness = 0.55f + 0.45f * Next();
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
                        image[py * Size + px] = brightness - 0.1f * Next();
                        mask[py * Size + px] = kind == 1 ? 1f : 0f; // a later shape covers an earlier one
                    }
            }
        }
        return (images, masks);
    }
}
