using System;
using System.Collections.Generic;
using NetDsl.Data;
using NetDsl.Training;

namespace NetDsl.Tools;

/// <summary>One view of an input: mirrored left–right first when <paramref name="Flip"/> (v[y, x] = in[y, W−1−x]), then
/// moved by (<paramref name="Dx"/>, <paramref name="Dy"/>) pixels with zero fill (v'[y, x] = v[y − Dy, x − Dx], 0 outside).
/// A shift by (±p, ±p) is the H×W crop at a corner of the input zero-padded by p on every side; (0, 0) is the centre crop.</summary>
public readonly record struct TestTimeView(int Dx, int Dy, bool Flip);

/// <summary>Test-time augmentation for any classifier (GoogLeNet's multi-crop averaging, for a network of fixed input size):
/// the network runs on several views of each input and the softmax probabilities are averaged; the answer is the argmax of
/// the mean. The crops are those of the input zero-padded by <c>padding</c> pixels on every side, taken at the centre and
/// the four corners, so no resizing is needed; with flips, each crop is also taken of the mirrored image (10 views).</summary>
public static class TestTimeAugmentation
{
    /// <summary>The views: the centre, then with <paramref name="corners"/> the four corner crops of the input padded by
    /// <paramref name="padding"/> (shifts (p, p), (−p, p), (p, −p), (−p, −p)); with <paramref name="flip"/> each of those mirrored too.</summary>
    public static TestTimeView[] Views(int padding, bool corners, bool flip)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        if (corners && padding == 0) throw new ArgumentOutOfRangeException(nameof(padding), padding, "corner crops need padding >= 1");
        var views = new List<TestTimeView> { new(0, 0, false) };
        if (corners)
            foreach (var (dx, dy) in new[] { (padding, padding), (-padding, padding), (padding, -padding), (-padding, -padding) })
                views.Add(new(dx, dy, false));
        if (flip)
            for (int i = views.Count - 1; i >= 0; i--) views.Insert(i + 1, views[i] with { Flip = true });
        return views.ToArray();
    }

    /// <summary>Writes view <paramref name="view"/> of one C×H×W <paramref name="sample"/> into <paramref name="destination"/>.</summary>
    public static void Apply(TestTimeView view, ReadOnlySpan<float> sample, int channels, int height, int width, Span<float> destination)
    {
        sample.CopyTo(destination);
        var d = destination.Slice(0, sample.Length);
        if (view.Flip) ImageOps.FlipHorizontal(d, channels, height, width);
        ImageOps.Shift(d, channels, height, width, view.Dx, view.Dy);
    }

    /// <summary>The mean softmax over <paramref name="views"/> of <paramref name="batch"/> samples (batch ≤ MaxBatch) into
    /// <paramref name="probabilities"/> (batch·OutputSize).</summary>
    public static void Predict(INetwork network, ReadOnlySpan<float> inputs, int batch, int channels, int height, int width,
        ReadOnlySpan<TestTimeView> views, Span<float> probabilities)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (views.IsEmpty) throw new ArgumentException("views is empty; give at least one view (e.g. the centre: new TestTimeView(0, 0, false))", nameof(views));
        if (batch < 1 || batch > network.MaxBatch) throw new ArgumentOutOfRangeException(nameof(batch), batch, $"batch must be in 1..MaxBatch = {network.MaxBatch}");
        int size = channels * height * width, outputs = network.OutputSize;
        if (size != network.InputSize) throw new ArgumentException($"samples of {channels}×{height}×{width} = {size} floats, the network takes {network.InputSize}", nameof(channels));
        if (inputs.Length != batch * size) throw new ArgumentException($"inputs has length {inputs.Length}, expected batch·{size} = {batch * size}", nameof(inputs));
        if (probabilities.Length < batch * outputs) throw new ArgumentException($"probabilities has length {probabilities.Length}, needs batch·OutputSize = {batch * outputs}", nameof(probabilities));
        var sum = new double[batch * outputs];
        var x = new float[batch * size];
        foreach (var view in views)
        {
            for (int n = 0; n < batch; n++) Apply(view, inputs.Slice(n * size, size), channels, height, width, x.AsSpan(n * size, size));
            var output = network.Forward(x, batch);
            for (int n = 0; n < batch; n++)
            {
                var row = output.Slice(n * outputs, outputs);
                float max = row[0];
                foreach (float v in row) max = Math.Max(max, v);
                double z = 0;
                foreach (float v in row) z += Math.Exp(v - max);
                for (int c = 0; c < outputs; c++) sum[n * outputs + c] += Math.Exp(row[c] - max) / z;
            }
        }
        for (int i = 0; i < batch * outputs; i++) probabilities[i] = (float)(sum[i] / views.Length);
    }

    /// <summary>Accuracy of the argmax of the mean softmax over <paramref name="views"/>, in batches of MaxBatch.</summary>
    public static double Accuracy(INetwork network, LabeledImages data, ReadOnlySpan<TestTimeView> views)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        int batch = network.MaxBatch, size = data.SampleSize;
        var p = new float[batch * network.OutputSize];
        long right = 0;
        for (int start = 0; start < data.Count; start += batch)
        {
            int n = Math.Min(batch, data.Count - start);
            Predict(network, data.Pixels.AsSpan(start * size, n * size), n, data.Channels, data.Height, data.Width, views, p);
            right += Metrics.CountCorrect(p.AsSpan(0, n * network.OutputSize), data.Labels.AsSpan(start, n), n, network.OutputSize);
        }
        return (double)right / data.Count;
    }
}
