using System;
using System.Linq;
using NetDsl.Data;
using Xunit;

namespace NetDsl.Tests.Data;

/// <summary>Illumination, contrast, colour jitter, staining-like channel scaling and elastic distortion, against their
/// definitions and hand-computed cases; deterministic given the seed.</summary>
public class PhotometricAugmentationTests
{
    static float[] Ramp(int n) => Enumerable.Range(0, n).Select(i => (float)(i * 0.1 - 0.3)).ToArray();

    [Fact]
    public void BrightnessAddsOneValueToEveryPixel()
    {
        float[] x = [1, 2, 3, 4];
        ImageOps.AdjustBrightness(x, 1, 2, 2, 0.5f);
        Assert.Equal([1.5f, 2.5f, 3.5f, 4.5f], x);
    }

    [Fact]
    public void ContrastScalesAboutEachChannelMean()
    {
        float[] x = [1, 3, /**/ 10, 30];          // channel means 2 and 20
        ImageOps.AdjustContrast(x, 2, 1, 2, 2f);
        Assert.Equal([0f, 4f, 0f, 40f], x);
        var y = Ramp(12);
        var copy = (float[])y.Clone();
        ImageOps.AdjustContrast(y, 3, 2, 2, 1f);   // factor 1: unchanged
        Assert.Equal(copy, y);
    }

    [Fact]
    public void SaturationZeroGivesTheLumaInEveryChannel()
    {
        float[] x = [1, /**/ 0.5f, /**/ 0];          // one RGB pixel
        ImageOps.AdjustSaturation(x, 3, 1, 1, 0f);
        float luma = 0.299f * 1 + 0.587f * 0.5f;
        Assert.All(x, v => Assert.Equal(luma, v, 6));
        Assert.Throws<ArgumentException>(() => ImageOps.AdjustSaturation(new float[2], 2, 1, 1, 0.5f));
    }

    [Fact]
    public void ChannelScalingMultipliesAndShiftsEachChannel()
    {
        float[] x = [1, 2, /**/ 3, 4];
        ImageOps.ScaleChannels(x, 2, 1, 2, [2f, 0.5f], [0f, 1f]);
        Assert.Equal([2f, 4f, 2.5f, 3f], x);
    }

    [Fact]
    public void DisplacementByAConstantFieldIsAShift()
    {
        var x = Ramp(16);
        var shifted = (float[])x.Clone();
        ImageOps.Shift(shifted, 1, 4, 4, -1, 0); // out[y, x] = in[y, x + 1]
        var dx = Enumerable.Repeat(1f, 16).ToArray();
        var dy = new float[16];
        ImageOps.Displace(x, 1, 4, 4, dx, dy, new float[16]);
        Assert.Equal(shifted, x);
        // Half a pixel: the mean of the two neighbours.
        var y = Ramp(4);
        ImageOps.Displace(y, 1, 1, 4, Enumerable.Repeat(0.5f, 4).ToArray(), new float[4], new float[4]);
        var r = Ramp(4);
        Assert.Equal([(r[0] + r[1]) / 2, (r[1] + r[2]) / 2, (r[2] + r[3]) / 2, r[3] / 2], y.Select(v => (float)Math.Round(v, 6)).ToArray(), new ToleranceComparer(1e-6f));
    }

    [Fact]
    public void GaussianSmoothingKeepsAConstantFieldAndAveragesNoise()
    {
        var f = Enumerable.Repeat(0.7f, 30).ToArray();
        ImageOps.GaussianSmooth(f, 5, 6, 2.0, new float[30]);
        Assert.All(f, v => Assert.Equal(0.7f, v, 5));
        var rng = new NetDsl.Kernels.Rng(4);
        var noise = Enumerable.Range(0, 400).Select(_ => (float)(2 * rng.NextDouble() - 1)).ToArray();
        double before = noise.Select(v => (double)v * v).Average();
        ImageOps.GaussianSmooth(noise, 20, 20, 3.0, new float[400]);
        Assert.True(noise.Select(v => (double)v * v).Average() < before / 10, "a σ = 3 Gaussian must shrink uniform noise's power by far more than 10×");
    }

    [Fact]
    public void ElasticWithZeroAlphaAndUnitFactorsAreTheIdentity()
    {
        var x = Ramp(3 * 5 * 5);
        foreach (var a in new[] { Augmentation.Elastic(0, 4), Augmentation.Contrast(0), Augmentation.Brightness(0), Augmentation.ChannelScaling(0), Augmentation.ColorJitter(0, 0, 0) })
        {
            var y = (float[])x.Clone();
            new Augmenter(a, 3, 5, 5, seed: 3).ApplySample(y, epoch: 0, sampleIndex: 1);
            Assert.Equal(x, y);
        }
    }

    [Fact]
    public void AugmentationsAreDeterministicGivenTheSeedAndDifferPerSample()
    {
        var pipeline = Augmentation.Compose(Augmentation.Elastic(8, 3), Augmentation.ColorJitter(0.2, 0.3, 0.3), Augmentation.ChannelScaling(0.2, 0.05));
        var x = Ramp(3 * 12 * 12);
        float[] Run(int seed, int sample)
        {
            var y = (float[])x.Clone();
            new Augmenter(pipeline, 3, 12, 12, seed).ApplySample(y, epoch: 2, sampleIndex: sample);
            return y;
        }
        Assert.Equal(Run(5, 7), Run(5, 7));
        Assert.NotEqual(Run(5, 7), Run(5, 8));
        Assert.NotEqual(Run(5, 7), Run(6, 7));
        Assert.NotEqual(x, Run(5, 7));
    }

    [Fact]
    public void ElasticDistortionMovesPixelsBySmoothFieldsOfSizeAlpha()
    {
        // A horizontal ramp: out[y, x] − in[y, x] = the x-displacement there (the ramp's slope is 1 per pixel) wherever the
        // sample point stays inside. Smoothing with σ = 4 makes neighbouring displacements nearly equal.
        const int h = 24, w = 24;
        var x = new float[h * w];
        for (int r = 0; r < h; r++) for (int c = 0; c < w; c++) x[r * w + c] = c;
        var y = (float[])x.Clone();
        new Augmenter(Augmentation.Elastic(alpha: 6, sigma: 4), 1, h, w, seed: 9).ApplySample(y, 0, 0);
        double maxStep = 0, maxMove = 0;
        for (int r = 4; r < h - 4; r++)
            for (int c = 8; c < w - 9; c++)
            {
                double move = y[r * w + c] - x[r * w + c], next = y[r * w + c + 1] - x[r * w + c + 1];
                maxMove = Math.Max(maxMove, Math.Abs(move));
                maxStep = Math.Max(maxStep, Math.Abs(next - move));
            }
        Assert.InRange(maxMove, 0.05, 6);    // moved, by at most α (a smoothed field of values in [−1, 1], times α)
        Assert.True(maxStep < 0.5, $"neighbouring displacements differ by {maxStep}: the field is not smooth");
    }

    sealed class ToleranceComparer(float tolerance) : System.Collections.Generic.IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tolerance;
        public int GetHashCode(float v) => 0;
    }
}
