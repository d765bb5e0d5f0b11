using System;
using NetDsl.Kernels;

namespace NetDsl.Data;

/// <summary>An augmentation that moves the targets with the image (label-aware): a flipped image gets a flipped label map,
/// or mirrored keypoints. <see cref="NetDsl.Training.Trainer"/> applies one given in
/// <see cref="NetDsl.Training.TrainingOptions.TargetAugmentation"/> to every training sample of a per-pixel or regression
/// fit, seeded by (seed, epoch, sample index).</summary>
public abstract class TargetAugmentation
{
    /// <summary>Augments one image and its per-pixel label map (<paramref name="labelHeight"/>×<paramref name="labelWidth"/>) in place.</summary>
    public virtual void Apply(Span<float> sample, int channels, int height, int width, Span<int> labels, int labelHeight, int labelWidth, ref Rng rng) =>
        throw new NotSupportedException($"{GetType().Name} does not transform per-pixel labels");

    /// <summary>Augments one image and its real-valued targets in place.</summary>
    public virtual void Apply(Span<float> sample, int channels, int height, int width, Span<float> targets, ref Rng rng) =>
        throw new NotSupportedException($"{GetType().Name} does not transform real-valued targets");

    /// <summary>With probability <paramref name="probability"/>: mirrors the image left–right (out[y, x] = in[y, W−1−x]) and
    /// its targets with it. A per-pixel label map is mirrored the same way. Real-valued targets are read as keypoints
    /// (x0, y0, x1, y1, ...): x ← 2·axis − x, where <paramref name="mirrorAxis"/> defaults to W/2 (coordinates in pixel units with
    /// pixel j covering [j, j+1)); pass 0 for coordinates centred on the image. Then the keypoints in each of
    /// <paramref name="swapPairs"/> trade places (a left eye becomes a right eye: nolearn's <c>flip_indices</c>).</summary>
    public static TargetAugmentation HorizontalFlip(double probability = 0.5, double? mirrorAxis = null, params (int A, int B)[] swapPairs)
        => new FlipWithTargets(probability, mirrorAxis, swapPairs);

    sealed class FlipWithTargets : TargetAugmentation
    {
        readonly double _probability;
        readonly double? _axis;
        readonly (int A, int B)[] _pairs;

        public FlipWithTargets(double probability, double? axis, (int A, int B)[] pairs)
        {
            if (!(probability >= 0 && probability <= 1))
                throw new ArgumentOutOfRangeException(nameof(probability), probability, $"probability must be in [0, 1], got {probability}");
            if (axis is { } a && !double.IsFinite(a)) throw new ArgumentOutOfRangeException(nameof(axis), a, "mirrorAxis must be finite");
            ArgumentNullException.ThrowIfNull(pairs);
            foreach (var (x, y) in pairs)
                if (x < 0 || y < 0 || x == y)
                    throw new ArgumentOutOfRangeException(nameof(pairs), $"swap pair ({x}, {y}) must name two different keypoints >= 0");
            _probability = probability; _axis = axis; _pairs = pairs;
        }

        public override void Apply(Span<float> sample, int channels, int height, int width, Span<int> labels, int labelHeight, int labelWidth, ref Rng rng)
        {
            if (labels.Length != labelHeight * labelWidth)
                throw new ArgumentException($"labels has length {labels.Length}, expected {labelHeight}·{labelWidth}", nameof(labels));
            if (!(rng.NextDouble() < _probability)) return;
            ImageOps.FlipHorizontal(sample, channels, height, width);
            for (int r = 0; r < labelHeight; r++) labels.Slice(r * labelWidth, labelWidth).Reverse();
        }

        public override void Apply(Span<float> sample, int channels, int height, int width, Span<float> targets, ref Rng rng)
        {
            if (targets.Length % 2 != 0)
                throw new ArgumentException($"keypoint targets come in (x, y) pairs; got {targets.Length} values", nameof(targets));
            int keypoints = targets.Length / 2;
            foreach (var (a, b) in _pairs)
                if (a >= keypoints || b >= keypoints)
                    throw new ArgumentOutOfRangeException(nameof(targets), $"swap pair ({a}, {b}) names a keypoint beyond the {keypoints} in each sample");
            if (!(rng.NextDouble() < _probability)) return;
            ImageOps.FlipHorizontal(sample, channels, height, width);
            double twice = 2 * (_axis ?? width / 2.0);
            for (int k = 0; k < keypoints; k++) targets[2 * k] = (float)(twice - targets[2 * k]);
            foreach (var (a, b) in _pairs)
            {
                (targets[2 * a], targets[2 * b]) = (targets[2 * b], targets[2 * a]);
                (targets[2 * a + 1], targets[2 * b + 1]) = (targets[2 * b + 1], targets[2 * a + 1]);
            }
        }
    }
}
