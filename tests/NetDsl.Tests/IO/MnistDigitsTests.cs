using System;
using System.Linq;
using NetDsl.Data;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.IO;

public class MnistDigitsTests
{
    [Fact]
    public void ShippedDigitsLoadWithTheDocumentedCountsAndMnistPixelStatistics()
    {
        string dir = MnistDigits.FindShipped(AppContext.BaseDirectory) ?? throw new InvalidOperationException("samples/data/mnist not found");
        var (train, test) = MnistDigits.Load(dir);
        train.Count.ShouldBe(8000);
        test.Count.ShouldBe(2000);
        (train.Channels, train.Height, train.Width).ShouldBe((1, 28, 28));
        // The package's per-digit counts (digits/D.json holds that many images of D), split over the two sets.
        var perDigit = Enumerable.Range(0, 10).Select(d => train.Labels.Count(l => l == d) + test.Labels.Count(l => l == d)).ToArray();
        perDigit.ShouldBe(new[] { 1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978 });
        // MNIST's well-known normalization constants: mean 0.1307, std 0.3081 (torchvision's Normalize).
        double mean = train.Pixels.Average(p => (double)p);
        double std = Math.Sqrt(train.Pixels.Average(p => (p - mean) * (p - mean)));
        mean.ShouldBe(0.1307, 0.01);
        std.ShouldBe(0.3081, 0.01);
        // Digits, not noise: the border rows are almost always blank.
        int blankTopRows = Enumerable.Range(0, train.Count).Count(i => train.Pixels.AsSpan(i * 784, 28).IndexOfAnyExcept(0f) < 0);
        blankTopRows.ShouldBeGreaterThan(7900);
    }

    [Fact]
    public void MissingFolderIsNamed()
    {
        Should.Throw<System.IO.DirectoryNotFoundException>(() => MnistDigits.Load("/nonexistent/mnist")).Message.ShouldContain("/nonexistent/mnist");
    }
}
