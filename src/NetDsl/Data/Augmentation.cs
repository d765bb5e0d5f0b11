using System;
using System.Collections.Generic;
using NetDsl.Kernels;

namespace NetDsl.Data;

/// <summary>Image transforms on one C×H×W sample in place (row-major, channel planes). Pixels that come from outside the
/// image are 0. These are the exact operations that the random <see cref="Augmentation"/>s apply.</summary>
public static class ImageOps
{
    /// <summary>Mirrors left–right: out[y, x] = in[y, W−1−x].</summary>
    public static void FlipHorizontal(Span<float> sample, int channels, int height, int width)
    {
        Check(sample, channels, height, width);
        for (int r = 0; r < channels * height; r++) sample.Slice(r * width, width).Reverse();
    }

    /// <summary>Mirrors top–bottom: out[y, x] = in[H−1−y, x].</summary>
    public static void FlipVertical(Span<float> sample, int channels, int height, int width)
    {
        Check(sample, channels, height, width);
        for (int c = 0; c < channels; c++)
        {
            var plane = sample.Slice(c * height * width, height * width);
            for (int top = 0, bottom = height - 1; top < bottom; top++, bottom--)
            {
                var a = plane.Slice(top * width, width);
                var b = plane.Slice(bottom * width, width);
                for (int x = 0; x < width; x++) (a[x], b[x]) = (b[x], a[x]);
            }
        }
    }

    /// <summary>Moves the content by (<paramref name="dx"/>, <paramref name="dy"/>) pixels (right and down when positive):
    /// out[y, x] = in[y − dy, x − dx], 0 where that is outside the image.</summary>
    public static void Shift(Span<float> sample, int channels, int height, int width, int dx, int dy)
    {
        Check(sample, channels, height, width);
        if (dx == 0 && dy == 0) return;
        for (int c = 0; c < channels; c++)
        {
            var plane = sample.Slice(c * height * width, height * width);
            if (Math.Abs(dx) >= width || Math.Abs(dy) >= height) { plane.Clear(); continue; }
            // Walk rows in the direction that never reads a row already overwritten.
            int count = width - Math.Abs(dx);
            int srcX = Math.Max(0, -dx), dstX = Math.Max(0, dx);
            for (int k = 0; k < height; k++)
            {
                int y = dy > 0 ? height - 1 - k : k;
                var row = plane.Slice(y * width, width);
                int sy = y - dy;
                if (sy < 0 || sy >= height) { row.Clear(); continue; }
                plane.Slice(sy * width + srcX, count).CopyTo(row.Slice(dstX, count)); // CopyTo handles overlap within a row
                row.Slice(dx > 0 ? 0 : count, width - count).Clear();
            }
        }
    }

    /// <summary>Rotates by <paramref name="degrees"/> counter-clockwise as displayed (y down) about the centre ((W−1)/2, (H−1)/2),
    /// sampling bilinearly: out(p) = in(c + R(−θ)(p − c)), with 0 outside the image. <paramref name="scratch"/> holds at least H·W floats.</summary>
    public static void Rotate(Span<float> sample, int channels, int height, int width, double degrees, Span<float> scratch)
    {
        Check(sample, channels, height, width);
        if (!double.IsFinite(degrees)) throw new ArgumentOutOfRangeException(nameof(degrees), degrees, "the angle must be finite");
        int plane = height * width;
        if (scratch.Length < plane) throw new ArgumentException($"scratch holds {scratch.Length} floats, rotation needs H·W = {plane}", nameof(scratch));
        if (degrees == 0) return;
        double theta = degrees * Math.PI / 180, cos = Math.Cos(theta), sin = Math.Sin(theta);
        // Snap the trigonometric values of multiples of 90° so such rotations move pixels exactly.
        if (Math.Abs(cos) < 1e-12) cos = 0;
        if (Math.Abs(sin) < 1e-12) sin = 0;
        double cx = (width - 1) / 2.0, cy = (height - 1) / 2.0;
        var tmp = scratch.Slice(0, plane);
        for (int c = 0; c < channels; c++)
        {
            var src = sample.Slice(c * plane, plane);
            src.CopyTo(tmp);
            for (int y = 0; y < height; y++)
            {
                double dy = y - cy;
                for (int x = 0; x < width; x++)
                {
                    double dx = x - cx;
                    double sx = cx + dx * cos - dy * sin, sy = cy + dx * sin + dy * cos;
                    src[y * width + x] = Bilinear(tmp, height, width, sx, sy);
                }
            }
        }
    }

    /// <summary>Illumination: adds <paramref name="delta"/> to every pixel.</summary>
    public static void AdjustBrightness(Span<float> sample, int channels, int height, int width, float delta)
    {
        Check(sample, channels, height, width);
        for (int i = 0; i < sample.Length; i++) sample[i] += delta;
    }

    /// <summary>Contrast: out = m + factor·(in − m) per channel, m the channel's mean over the image (factor 1: unchanged,
    /// 0: a flat plane at the mean).</summary>
    public static void AdjustContrast(Span<float> sample, int channels, int height, int width, float factor)
    {
        Check(sample, channels, height, width);
        if (factor == 1f) return; // exactly unchanged (m + (x − m) can round)
        int plane = height * width;
        for (int c = 0; c < channels; c++)
        {
            var p = sample.Slice(c * plane, plane);
            double sum = 0;
            foreach (float v in p) sum += v;
            float mean = (float)(sum / plane);
            for (int i = 0; i < plane; i++) p[i] = mean + factor * (p[i] - mean);
        }
    }

    /// <summary>Saturation of an RGB image (3 channels): out = g + factor·(in − g) per pixel, g its luma
    /// 0.299·R + 0.587·G + 0.114·B (factor 1: unchanged, 0: grey).</summary>
    public static void AdjustSaturation(Span<float> sample, int channels, int height, int width, float factor)
    {
        Check(sample, channels, height, width);
        if (channels != 3) throw new ArgumentException($"saturation needs 3 (RGB) channels, the image has {channels}", nameof(channels));
        if (factor == 1f) return; // exactly unchanged
        int plane = height * width;
        for (int i = 0; i < plane; i++)
        {
            float r = sample[i], g = sample[plane + i], b = sample[2 * plane + i];
            float luma = 0.299f * r + 0.587f * g + 0.114f * b;
            sample[i] = luma + factor * (r - luma);
            sample[plane + i] = luma + factor * (g - luma);
            sample[2 * plane + i] = luma + factor * (b - luma);
        }
    }

    /// <summary>Staining-like colour change: channel c multiplied by <paramref name="scales"/>[c] and shifted by
    /// <paramref name="shifts"/>[c] (empty: no shift).</summary>
    public static void ScaleChannels(Span<float> sample, int channels, int height, int width, ReadOnlySpan<float> scales, ReadOnlySpan<float> shifts = default)
    {
        Check(sample, channels, height, width);
        if (scales.Length != channels) throw new ArgumentException($"{scales.Length} scales for {channels} channels", nameof(scales));
        if (!shifts.IsEmpty && shifts.Length != channels) throw new ArgumentException($"{shifts.Length} shifts for {channels} channels", nameof(shifts));
        int plane = height * width;
        for (int c = 0; c < channels; c++)
        {
            float s = scales[c], t = shifts.IsEmpty ? 0f : shifts[c];
            var p = sample.Slice(c * plane, plane);
            for (int i = 0; i < plane; i++) p[i] = p[i] * s + t;
        }
    }

    /// <summary>Moves every pixel by a displacement field: out[y, x] = in(x + dx[y, x], y + dy[y, x]) sampled bilinearly, 0
    /// outside the image (the resampling step of Simard et al.'s elastic distortion). <paramref name="dx"/>, <paramref name="dy"/>
    /// are H·W; <paramref name="scratch"/> holds at least H·W floats.</summary>
    public static void Displace(Span<float> sample, int channels, int height, int width, ReadOnlySpan<float> dx, ReadOnlySpan<float> dy, Span<float> scratch)
    {
        Check(sample, channels, height, width);
        int plane = height * width;
        if (dx.Length != plane || dy.Length != plane) throw new ArgumentException($"the displacement fields hold {dx.Length} and {dy.Length} values, need H·W = {plane}");
        if (scratch.Length < plane) throw new ArgumentException($"scratch holds {scratch.Length} floats, displacement needs H·W = {plane}", nameof(scratch));
        var tmp = scratch.Slice(0, plane);
        for (int c = 0; c < channels; c++)
        {
            var p = sample.Slice(c * plane, plane);
            p.CopyTo(tmp);
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                    p[y * width + x] = Bilinear(tmp, height, width, x + (double)dx[y * width + x], y + (double)dy[y * width + x]);
        }
    }

    /// <summary>Smooths a field in place with a Gaussian of standard deviation <paramref name="sigma"/> (separable, truncated
    /// at 4σ, the weights renormalized over the part inside the image, so a constant field stays constant).</summary>
    public static void GaussianSmooth(Span<float> field, int height, int width, double sigma, Span<float> scratch)
    {
        if (!(sigma > 0) || double.IsInfinity(sigma)) throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "sigma must be finite and > 0");
        int plane = height * width, radius = (int)Math.Ceiling(4 * sigma);
        if (field.Length != plane || scratch.Length < plane) throw new ArgumentException($"field holds {field.Length} and scratch {scratch.Length} floats, need H·W = {plane}");
        Span<double> kernel = radius <= 256 ? stackalloc double[2 * radius + 1] : new double[2 * radius + 1];
        for (int k = -radius; k <= radius; k++) kernel[k + radius] = Math.Exp(-k * k / (2 * sigma * sigma));
        var tmp = scratch.Slice(0, plane);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                double s = 0, w = 0;
                for (int k = Math.Max(-radius, -x); k <= Math.Min(radius, width - 1 - x); k++) { s += kernel[k + radius] * field[y * width + x + k]; w += kernel[k + radius]; }
                tmp[y * width + x] = (float)(s / w);
            }
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                double s = 0, w = 0;
                for (int k = Math.Max(-radius, -y); k <= Math.Min(radius, height - 1 - y); k++) { s += kernel[k + radius] * tmp[(y + k) * width + x]; w += kernel[k + radius]; }
                field[y * width + x] = (float)(s / w);
            }
    }

    static float Bilinear(ReadOnlySpan<float> img, int height, int width, double sx, double sy)
    {
        // Round coordinates within 1e-9 of a grid point onto it (exact integer moves stay exact).
        double rx = Math.Round(sx), ry = Math.Round(sy);
        if (Math.Abs(sx - rx) < 1e-9) sx = rx;
        if (Math.Abs(sy - ry) < 1e-9) sy = ry;
        int x0 = (int)Math.Floor(sx), y0 = (int)Math.Floor(sy);
        double fx = sx - x0, fy = sy - y0;
        double v = 0;
        v += (1 - fx) * (1 - fy) * At(img, height, width, x0, y0);
        if (fx != 0) v += fx * (1 - fy) * At(img, height, width, x0 + 1, y0);
        if (fy != 0) v += (1 - fx) * fy * At(img, height, width, x0, y0 + 1);
        if (fx != 0 && fy != 0) v += fx * fy * At(img, height, width, x0 + 1, y0 + 1);
        return (float)v;
    }

    static float At(ReadOnlySpan<float> img, int height, int width, int x, int y) =>
        (uint)x < (uint)width && (uint)y < (uint)height ? img[y * width + x] : 0f;

    internal static void Check(ReadOnlySpan<float> sample, int channels, int height, int width)
    {
        if (channels < 1 || height < 1 || width < 1)
            throw new ArgumentOutOfRangeException(nameof(channels), $"image shape must be positive, got {channels}×{height}×{width}");
        if (sample.Length != (long)channels * height * width)
            throw new ArgumentException($"sample has {sample.Length} floats, expected C·H·W = {channels}×{height}×{width} = {(long)channels * height * width}", nameof(sample));
    }
}

/// <summary>A random image transform, applied to one sample with a random-number generator that the caller derives from
/// (seed, epoch, sample index). Combine with <see cref="Then"/> or <see cref="Compose"/>; run with <see cref="Augmenter"/>.</summary>
public abstract class Augmentation
{
    /// <summary>Transforms <paramref name="sample"/> (C·H·W floats) in place; <paramref name="scratch"/> holds at least H·W floats.</summary>
    public abstract void Apply(Span<float> sample, int channels, int height, int width, ref Rng rng, Span<float> scratch);

    /// <summary>This, then <paramref name="next"/>.</summary>
    public Augmentation Then(Augmentation next) => Compose(this, next);

    /// <summary>The steps in order, each drawing from the same per-sample generator.</summary>
    public static Augmentation Compose(params Augmentation[] steps) => new Sequence(steps);

    public static Augmentation HorizontalFlip(double probability = 0.5) => new Flip(probability, horizontal: true);
    public static Augmentation VerticalFlip(double probability = 0.5) => new Flip(probability, horizontal: false);
    /// <summary>An integer shift, uniform in [−maxDx, maxDx] × [−maxDy, maxDy], zero fill.</summary>
    public static Augmentation RandomShift(int maxDx, int maxDy) => new RandomShiftStep(maxDx, maxDy);
    /// <summary>A rotation by an angle uniform in [−maxDegrees, maxDegrees], bilinear, about the centre.</summary>
    public static Augmentation RandomRotation(double maxDegrees) => new Rotation(maxDegrees);
    /// <summary>Adds N(0, std²) noise to every pixel; optionally clamps to [min, max].</summary>
    public static Augmentation GaussianNoise(double std, float min = float.NegativeInfinity, float max = float.PositiveInfinity) => new Noise(std, min, max);

    /// <summary>Illumination: adds one δ, uniform in [−maxDelta, maxDelta], to every pixel.</summary>
    public static Augmentation Brightness(double maxDelta) => new BrightnessStep(NonNegative(maxDelta, nameof(maxDelta)));
    /// <summary>Contrast: a factor uniform in [1 − maxChange, 1 + maxChange] about each channel's mean (see <see cref="ImageOps.AdjustContrast"/>).</summary>
    public static Augmentation Contrast(double maxChange) => new ContrastStep(Fraction(maxChange, nameof(maxChange)));
    /// <summary>Colour jitter for RGB images: brightness (additive, up to ±<paramref name="brightness"/>), contrast and
    /// saturation factors uniform in [1 − x, 1 + x], applied in that order.</summary>
    public static Augmentation ColorJitter(double brightness, double contrast, double saturation) =>
        new JitterStep(NonNegative(brightness, nameof(brightness)), Fraction(contrast, nameof(contrast)), Fraction(saturation, nameof(saturation)));
    /// <summary>Staining-like per-channel change (histology stains vary in strength): each channel scaled by its own factor
    /// uniform in [1 − maxScale, 1 + maxScale] and shifted by its own offset uniform in [−maxShift, maxShift].</summary>
    public static Augmentation ChannelScaling(double maxScale, double maxShift = 0) =>
        new ChannelScalingStep(Fraction(maxScale, nameof(maxScale)), NonNegative(maxShift, nameof(maxShift)));
    /// <summary>Elastic distortion (Simard, Steinkraus and Platt 2003): two random fields of uniform values in [−1, 1] per
    /// pixel, each smoothed by a Gaussian of standard deviation <paramref name="sigma"/> and scaled by <paramref name="alpha"/>,
    /// give every pixel's displacement; the image is resampled bilinearly (0 outside). α = 0 leaves the image unchanged.</summary>
    public static Augmentation Elastic(double alpha, double sigma) => new ElasticStep(NonNegative(alpha, nameof(alpha)), sigma);

    static double NonNegative(double v, string name) =>
        v >= 0 && !double.IsInfinity(v) ? v : throw new ArgumentOutOfRangeException(name, v, $"{name} must be finite and >= 0, got {v}");

    static double Fraction(double v, string name) =>
        v is >= 0 and <= 1 ? v : throw new ArgumentOutOfRangeException(name, v, $"{name} must be in [0, 1], got {v}");

    static float Uniform(ref Rng rng, double max) => (float)((2 * rng.NextDouble() - 1) * max);

    sealed class BrightnessStep(double max) : Augmentation
    {
        public override void Apply(Span<float> sample, int channels, int height, int width, ref Rng rng, Span<float> scratch) =>
            ImageOps.AdjustBrightness(sample, channels, height, width, Uniform(ref rng, max));
    }

    sealed class ContrastStep(double max) : Augmentation
    {
        public override void Apply(Span<float> sample, int channels, int height, int width, ref Rng rng, Span<float> scratch) =>
            ImageOps.AdjustContrast(sample, channels, height, width, 1f + Uniform(ref rng, max));
    }

    sealed class JitterStep(double brightness, double contrast, double saturation) : Augmentation
    {
        public override void Apply(Span<float> sample, int channels, int height, int width, ref Rng rng, Span<float> scratch)
        {
            if (channels != 3) throw new ArgumentException($"ColorJitter needs 3 (RGB) channels, the image has {channels}", nameof(channels));
            ImageOps.AdjustBrightness(sample, channels, height, width, Uniform(ref rng, brightness));
            ImageOps.AdjustContrast(sample, channels, height, width, 1f + Uniform(ref rng, contrast));
            ImageOps.AdjustSaturation(sample, channels, height, width, 1f + Uniform(ref rng, saturation));
        }
    }

    sealed class ChannelScalingStep(double maxScale, double maxShift) : Augmentation
    {
        public override void Apply(Span<float> sample, int channels, int height, int width, ref Rng rng, Span<float> scratch)
        {
            Span<float> scales = channels <= 64 ? stackalloc float[channels] : new float[channels];
            Span<float> shifts = channels <= 64 ? stackalloc float[channels] : new float[channels];
            for (int c = 0; c < channels; c++) { scales[c] = 1f + Uniform(ref rng, maxScale); shifts[c] = Uniform(ref rng, maxShift); }
            ImageOps.ScaleChannels(sample, channels, height, width, scales, shifts);
        }
    }

    sealed class ElasticStep : Augmentation
    {
        readonly double _alpha, _sigma;
        [ThreadStatic] static float[]? t_fields;

        public ElasticStep(double alpha, double sigma)
        {
            if (!(sigma > 0) || double.IsInfinity(sigma)) throw new ArgumentOutOfRangeException(nameof(sigma), sigma, $"sigma must be finite and > 0, got {sigma}");
            _alpha = alpha; _sigma = sigma;
        }

        public override void Apply(Span<float> sample, int channels, int height, int width, ref Rng rng, Span<float> scratch)
        {
            int plane = height * width;
            // The fields are drawn even for α = 0, so the generator advances the same way whatever α is.
            if (t_fields is null || t_fields.Length < 2 * plane) t_fields = new float[2 * plane];
            var dx = t_fields.AsSpan(0, plane);
            var dy = t_fields.AsSpan(plane, plane);
            for (int i = 0; i < plane; i++) dx[i] = (float)(2 * rng.NextDouble() - 1);
            for (int i = 0; i < plane; i++) dy[i] = (float)(2 * rng.NextDouble() - 1);
            if (_alpha == 0) return;
            ImageOps.GaussianSmooth(dx, height, width, _sigma, scratch);
            ImageOps.GaussianSmooth(dy, height, width, _sigma, scratch);
            for (int i = 0; i < plane; i++) { dx[i] *= (float)_alpha; dy[i] *= (float)_alpha; }
            ImageOps.Displace(sample, channels, height, width, dx, dy, scratch);
        }
    }

    sealed class Sequence : Augmentation
    {
        readonly Augmentation[] _steps;

        public Sequence(Augmentation[] steps)
        {
            ArgumentNullException.ThrowIfNull(steps);
            var flat = new List<Augmentation>();
            for (int i = 0; i < steps.Length; i++)
            {
                if (steps[i] is null) throw new ArgumentNullException(nameof(steps), $"augmentation step {i} is null");
                if (steps[i] is Sequence s) flat.AddRange(s._steps); else flat.Add(steps[i]);
            }
            _steps = flat.ToArray();
        }

        public override void Apply(Span<float> sample, int channels, int height, int width, ref Rng rng, Span<float> scratch)
        {
            foreach (var s in _steps) s.Apply(sample, channels, height, width, ref rng, scratch);
        }
    }

    static double Probability(double p, string name) =>
        p is >= 0 and <= 1 ? p : throw new ArgumentOutOfRangeException(name, p, $"{name} must be in [0, 1], got {p}");

    sealed class Flip(double probability, bool horizontal) : Augmentation
    {
        readonly double _p = Probability(probability, nameof(probability));

        public override void Apply(Span<float> sample, int channels, int height, int width, ref Rng rng, Span<float> scratch)
        {
            if (rng.NextDouble() >= _p) return;
            if (horizontal) ImageOps.FlipHorizontal(sample, channels, height, width);
            else ImageOps.FlipVertical(sample, channels, height, width);
        }
    }

    sealed class RandomShiftStep : Augmentation
    {
        readonly int _maxDx, _maxDy;

        public RandomShiftStep(int maxDx, int maxDy)
        {
            if (maxDx < 0) throw new ArgumentOutOfRangeException(nameof(maxDx), maxDx, $"maxDx must be >= 0, got {maxDx}");
            if (maxDy < 0) throw new ArgumentOutOfRangeException(nameof(maxDy), maxDy, $"maxDy must be >= 0, got {maxDy}");
            _maxDx = maxDx; _maxDy = maxDy;
        }

        public override void Apply(Span<float> sample, int channels, int height, int width, ref Rng rng, Span<float> scratch)
        {
            int dx = (int)(rng.NextUInt64() % (ulong)(2 * _maxDx + 1)) - _maxDx;
            int dy = (int)(rng.NextUInt64() % (ulong)(2 * _maxDy + 1)) - _maxDy;
            ImageOps.Shift(sample, channels, height, width, dx, dy);
        }
    }

    sealed class Rotation : Augmentation
    {
        readonly double _max;

        public Rotation(double maxDegrees)
        {
            if (!(maxDegrees >= 0 && maxDegrees <= 180)) throw new ArgumentOutOfRangeException(nameof(maxDegrees), maxDegrees, $"maxDegrees must be in [0, 180], got {maxDegrees}");
            _max = maxDegrees;
        }

        public override void Apply(Span<float> sample, int channels, int height, int width, ref Rng rng, Span<float> scratch)
        {
            double angle = (2 * rng.NextDouble() - 1) * _max;
            ImageOps.Rotate(sample, channels, height, width, angle, scratch);
        }
    }

    sealed class Noise : Augmentation
    {
        readonly double _std;
        readonly float _min, _max;

        public Noise(double std, float min, float max)
        {
            if (!(std >= 0) || double.IsInfinity(std)) throw new ArgumentOutOfRangeException(nameof(std), std, $"std must be finite and >= 0, got {std}");
            if (float.IsNaN(min) || float.IsNaN(max) || min > max) throw new ArgumentOutOfRangeException(nameof(min), $"the clamp range [{min}, {max}] is empty or NaN");
            _std = std; _min = min; _max = max;
        }

        public override void Apply(Span<float> sample, int channels, int height, int width, ref Rng rng, Span<float> scratch)
        {
            for (int i = 0; i < sample.Length; i++)
                sample[i] = Math.Clamp((float)(sample[i] + _std * rng.NextNormal()), _min, _max);
        }
    }
}

/// <summary>Runs an <see cref="Augmentation"/> over batches in place. Each sample gets its own generator seeded from
/// (seed, epoch, sample index in the data set), so the result does not depend on batch composition, order or size.
/// Holds one H·W scratch buffer: no allocation per batch, and not safe to share across threads.</summary>
public sealed class Augmenter
{
    readonly float[] _scratch;

    public Augmenter(Augmentation augmentation, int channels, int height, int width, int seed)
    {
        ArgumentNullException.ThrowIfNull(augmentation);
        if (channels < 1 || height < 1 || width < 1)
            throw new ArgumentOutOfRangeException(nameof(channels), $"image shape must be positive, got {channels}×{height}×{width}");
        Augmentation = augmentation; Channels = channels; Height = height; Width = width; Seed = seed;
        _scratch = new float[height * width];
    }

    public Augmentation Augmentation { get; }
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public int Seed { get; }
    public int SampleSize => Channels * Height * Width;

    /// <summary>The generator for one (epoch, sample index).</summary>
    public Rng RngFor(int epoch, int sampleIndex)
    {
        var mix = new Rng(((ulong)(uint)Seed << 32) ^ 0xA5A5_0000_0000_0000UL ^ (uint)epoch);
        ulong key = mix.NextUInt64();
        var rng = new Rng(key ^ ((ulong)(uint)sampleIndex * 0xD1B54A32D192ED03UL));
        rng.NextUInt64();
        return rng;
    }

    /// <summary>Augments one sample in place.</summary>
    public void ApplySample(Span<float> sample, int epoch, int sampleIndex)
    {
        ImageOps.Check(sample, Channels, Height, Width);
        var rng = RngFor(epoch, sampleIndex);
        Augmentation.Apply(sample, Channels, Height, Width, ref rng, _scratch);
    }

    /// <summary>Augments the first <c>sampleIndices.Length</c> samples of <paramref name="batch"/> in place; sample k is data-set
    /// sample <c>sampleIndices[k]</c> (e.g. a slice of <see cref="BatchSampler.Order"/>).</summary>
    public void ApplyBatch(Span<float> batch, ReadOnlySpan<int> sampleIndices, int epoch)
    {
        int size = SampleSize;
        if (batch.Length < (long)sampleIndices.Length * size)
            throw new ArgumentException($"batch holds {batch.Length} floats, {sampleIndices.Length} samples of {Channels}×{Height}×{Width} need {(long)sampleIndices.Length * size}", nameof(batch));
        for (int k = 0; k < sampleIndices.Length; k++)
            ApplySample(batch.Slice(k * size, size), epoch, sampleIndices[k]);
    }
}
