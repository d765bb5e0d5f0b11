using System;
using System.IO;
using NetDsl.IO;

namespace NetDsl.Data;

/// <summary>Images with class labels: <see cref="Pixels"/> is N·C·H·W floats in [0, 1], <see cref="Labels"/> N class indices.</summary>
public sealed class LabeledImages
{
    /// <summary>Images (NCHW floats, <paramref name="labels"/>.Length samples of <paramref name="channels"/>×<paramref name="height"/>×<paramref name="width"/>)
    /// and labels in [0, <paramref name="classCount"/>). NaN/∞ pixels are refused, naming the sample and element, unless
    /// <paramref name="allowNonFinite"/> (one would poison every parameter in training).</summary>
    public LabeledImages(float[] pixels, int[] labels, int channels, int height, int width, int classCount, bool allowNonFinite = false)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classCount);
        long sample = (long)channels * height * width;
        if (sample * labels.Length != pixels.Length)
            throw new ArgumentException($"{labels.Length} samples of {channels}x{height}x{width} need {sample * labels.Length} pixels, got {pixels.Length}", nameof(pixels));
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)classCount)
                throw new ArgumentException($"label {labels[i]} at index {i} is outside 0..{classCount - 1}", nameof(labels));
        if (!allowNonFinite && NetDsl.Training.NonFiniteGuard.IndexOfNonFinite(pixels) is var at and >= 0)
            throw new ArgumentException($"pixels hold {pixels[at]} at sample {at / sample}, element {at % sample} (flat index {at}); pass allowNonFinite: true to accept it", nameof(pixels));
        Pixels = pixels; Labels = labels; Channels = channels; Height = height; Width = width; ClassCount = classCount;
    }

    public float[] Pixels { get; }
    public int[] Labels { get; }
    public int Count => Labels.Length;
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public int ClassCount { get; }
    /// <summary>Floats per sample (C·H·W).</summary>
    public int SampleSize => Channels * Height * Width;

    /// <summary>Single-channel images from an IDX images/labels pair (gzip or raw), pixels scaled by 1/255.</summary>
    public static LabeledImages FromIdx(string imagesPath, string labelsPath, int classCount = 10)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classCount);
        var images = Idx.ReadImages(imagesPath);
        byte[] rawLabels = Idx.ReadLabels(labelsPath);
        if (images.Count != rawLabels.Length)
            throw new InvalidDataException($"{imagesPath} has {images.Count} images but {labelsPath} has {rawLabels.Length} labels");
        var labels = new int[rawLabels.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            if (rawLabels[i] >= classCount)
                throw new InvalidDataException($"{labelsPath}: label {rawLabels[i]} at index {i} is not below the class count {classCount}");
            labels[i] = rawLabels[i];
        }
        // Division, not multiplication by 1/255, so values match PyTorch's ToTensor bit for bit.
        Span<float> scale = stackalloc float[256];
        for (int v = 0; v < 256; v++) scale[v] = v / 255f;
        byte[] src = images.Pixels;
        var pixels = new float[src.Length];
        for (int i = 0; i < src.Length; i++) pixels[i] = scale[src[i]];
        return new LabeledImages(pixels, labels, 1, images.Rows, images.Cols, classCount);
    }

    /// <summary>Copies the samples at <paramref name="indices"/>, in that order, into <paramref name="pixels"/> (NCHW) and
    /// <paramref name="labels"/>: one training chunk.</summary>
    public void CopyBatch(ReadOnlySpan<int> indices, Span<float> pixels, Span<int> labels)
    {
        for (int k = 0; k < indices.Length; k++)
        {
            Pixels.AsSpan(indices[k] * SampleSize, SampleSize).CopyTo(pixels.Slice(k * SampleSize));
            labels[k] = Labels[indices[k]];
        }
    }

    /// <summary>A copy of the first <paramref name="n"/> samples.</summary>
    public LabeledImages Take(int n)
    {
        if ((uint)n > (uint)Count) throw new ArgumentOutOfRangeException(nameof(n), n, $"expected 0 to {Count} (the sample count)");
        return new LabeledImages(Pixels.AsSpan(0, n * SampleSize).ToArray(), Labels.AsSpan(0, n).ToArray(), Channels, Height, Width, ClassCount);
    }

    /// <summary>A seeded random split into what stays for training and a held-out share (a validation set; split the test
    /// set off first, or keep the given one, for a train/validation/test split). Every sample lands in exactly one part; each
    /// part keeps the original order of its samples.</summary>
    public (LabeledImages Train, LabeledImages Validation) Split(double validationFraction, int seed)
    {
        if (!(validationFraction > 0 && validationFraction < 1)) throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "validationFraction must be in (0, 1)");
        int held = (int)Math.Round(Count * validationFraction);
        if (held < 1 || held >= Count) throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, $"{validationFraction} of {Count} samples leaves an empty part");
        var order = new int[Count];
        for (int i = 0; i < Count; i++) order[i] = i;
        var rng = new NetDsl.Kernels.Rng(0x5B1D_0000UL ^ (ulong)(uint)seed);
        for (int i = Count - 1; i > 0; i--) { int j = (int)(rng.NextUInt64() % (ulong)(i + 1)); (order[i], order[j]) = (order[j], order[i]); }
        var isHeld = new bool[Count];
        for (int k = 0; k < held; k++) isHeld[order[k]] = true;
        LabeledImages Part(bool wanted, int size)
        {
            var pixels = new float[size * SampleSize];
            var labels = new int[size];
            int n = 0;
            for (int i = 0; i < Count; i++)
            {
                if (isHeld[i] != wanted) continue;
                Pixels.AsSpan(i * SampleSize, SampleSize).CopyTo(pixels.AsSpan(n * SampleSize, SampleSize));
                labels[n++] = Labels[i];
            }
            return new LabeledImages(pixels, labels, Channels, Height, Width, ClassCount, allowNonFinite: true);
        }
        return (Part(false, Count - held), Part(true, held));
    }
}

/// <summary>Fashion-MNIST (Zalando Research, MIT licence): 28×28 grey images of 10 clothing classes.</summary>
public static class FashionMnist
{
    /// <summary>Where the Debian package dataset-fashion-mnist installs the full data set.</summary>
    public const string SystemDirectory = "/usr/share/datasets/fashion-mnist";
    public const string TrainImages = "train-images-idx3-ubyte";
    public const string TrainLabels = "train-labels-idx1-ubyte";
    public const string TestImages = "t10k-images-idx3-ubyte";
    public const string TestLabels = "t10k-labels-idx1-ubyte";

    public static readonly string[] ClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>The first of <paramref name="explicitDir"/> and <see cref="SystemDirectory"/> holding all four files
    /// (each as .gz or uncompressed), or null if neither does.</summary>
    public static string? FindFullDataDirectory(string? explicitDir)
    {
        if (!string.IsNullOrEmpty(explicitDir) && HasAllFiles(explicitDir)) return explicitDir;
        return HasAllFiles(SystemDirectory) ? SystemDirectory : null;
    }

    /// <summary>Loads the training and test sets from <paramref name="dir"/> (the full set or a subset with the same file names).</summary>
    public static (LabeledImages Train, LabeledImages Test) Load(string dir)
    {
        ArgumentNullException.ThrowIfNull(dir);
        var train = LabeledImages.FromIdx(Resolve(dir, TrainImages), Resolve(dir, TrainLabels), ClassNames.Length);
        var test = LabeledImages.FromIdx(Resolve(dir, TestImages), Resolve(dir, TestLabels), ClassNames.Length);
        return (train, test);
    }

    static bool HasAllFiles(string dir) =>
        Find(dir, TrainImages) is not null && Find(dir, TrainLabels) is not null && Find(dir, TestImages) is not null && Find(dir, TestLabels) is not null;

    static string? Find(string dir, string name)
    {
        string gz = Path.Combine(dir, name + ".gz");
        if (File.Exists(gz)) return gz;
        string raw = Path.Combine(dir, name);
        return File.Exists(raw) ? raw : null;
    }

    static string Resolve(string dir, string name) =>
        Find(dir, name) ?? throw new FileNotFoundException($"Fashion-MNIST file not found: neither {Path.Combine(dir, name + ".gz")} nor {Path.Combine(dir, name)} exists", Path.Combine(dir, name + ".gz"));
}
