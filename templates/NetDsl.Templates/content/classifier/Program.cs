// NetDslClassifier: a NetDsl image classifier. Run `dotnet run -c Release -- --help` for the options.
// The network below is checked at compile time: change a kernel size or a padding so that a layer's output
// shrinks below 1×1 and the build fails with NDSL0201, on the attribute at fault, with the arithmetic.
using System.Globalization;
using NetDsl.Visualization;

int epochs = 3, trainCount = 4000, testCount = 1000, batch = 64, seed = 1;
string? dataDir = null, save = "model.safetensors";
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
        case "--data": dataDir = Next(); break;
        case "--save": save = Next(); break;
        default:
            Console.WriteLine("options: --epochs N --train N --test N --batch N --seed N --save FILE.safetensors");
            Console.WriteLine("         --data DIR   train on 28×28 IDX files (train-images-idx3-ubyte[.gz], ... as in MNIST and Fashion-MNIST)");
            return args[i] is "-h" or "--help" ? 0 : 2;
    }
}

var (train, test) = dataDir is null ? (Bars.Generate(trainCount, seed), Bars.Generate(testCount, seed + 1000)) : FashionMnist.Load(dataDir);
Console.WriteLine($"data: {(dataDir ?? "generated bars")}: {train.Count} training, {test.Count} test images");
Console.WriteLine(Classifier.Summary);

using var net = new Classifier(maxBatch: batch, seed: seed);
var loss = new SoftmaxCrossEntropy();
var reports = Trainer.Fit(net, train, test, loss, new Adam(2e-3f), new TrainingOptions
{
    Epochs = epochs,
    BatchSize = batch,
    Seed = seed,
    Progress = TextProgress.ForConsole(),
    OnEpoch = r => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"epoch {r.Epoch}  train loss {r.TrainLoss:F4}  train acc {r.TrainAccuracy:P2}  test acc {r.TestAccuracy:P2}  {r.SamplesPerSecond:N0} samples/s")),
});
Console.WriteLine(TrainingSummary.Of(reports));

var report = EvaluationReport.Compute(net, test, loss);
Console.Write(report.ToText());
ConfusionMatrixImage.Render(report).Save("confusion.png");

if (save is not null)
{
    SafeTensors.Save(save, net);
    using var reloaded = new Classifier(maxBatch: batch, seed: seed + 1);
    SafeTensors.Load(save, reloaded);
    var (_, accuracy) = Trainer.Evaluate(reloaded, test, loss);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"saved {save}; reloaded: test acc {accuracy:P2}"));
}
return 0;

/// <summary>The network: channels, height and width of the input, then the layers in order.</summary>
[Network(1, 28, 28)]
[Conv2D(8, 3, Padding = 1)] [ReLU]
[MaxPool2D(2)]
[Conv2D(16, 3, Padding = 1)] [ReLU]
[MaxPool2D(2)]
[Dense(64)] [ReLU]
[Dense(10)]
public partial class Classifier;

/// <summary>28×28 images of a bar through the middle at one of ten angles (class c: c·18°), shifted and noisy.</summary>
public static class Bars
{
    public static LabeledImages Generate(int count, int seed)
    {
        var random = new Random(seed);
        var pixels = new float[count * 28 * 28];
        var labels = new int[count];
        for (int n = 0; n < count; n++)
        {
            int label = random.Next(10);
            labels[n] = label;
            double angle = label * Math.PI / 10, sin = Math.Sin(angle), cos = Math.Cos(angle);
            double cx = 14 + random.NextDouble() * 6 - 3, cy = 14 + random.NextDouble() * 6 - 3;
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++)
                {
                    double distance = Math.Abs((x + 0.5 - cx) * sin - (y + 0.5 - cy) * cos);
                    pixels[n * 784 + y * 28 + x] = (float)((distance < 1.5 ? 0.8 : 0.0) + 0.2 * random.NextDouble());
                }
        }
        return new LabeledImages(pixels, labels, channels: 1, height: 28, width: 28, classCount: 10);
    }
}
