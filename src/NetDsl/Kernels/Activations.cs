using System;
using System.Runtime.Intrinsics;

namespace NetDsl.Kernels;

/// <summary>
/// Activations beyond <see cref="Vec"/>'s (ReLU, tanh, sigmoid), forward and backward, with PyTorch 1.13's semantics
/// (the derivative at exactly 0 is the negative side's: the slope for LeakyReLU and PReLU, α for ELU). Elementwise
/// ones take any range of elements; the ones that mix channels take whole samples, x [samples, channels, planeSize]
/// with planeSize = H·W (1 after a dense layer). Backward methods overwrite dx (<c>accumulate: false</c>) or add to it
/// (<c>accumulate: true</c>); parameter gradients are always added to.
/// </summary>
public static class Activations
{
    // ------------------------------------------------------------------ ELU

    /// <summary>y = x &gt; 0 ? x : α·(eˣ − 1), elementwise over any range (x and y the same length).</summary>
    public static void EluForward(ReadOnlySpan<float> x, Span<float> y, float alpha)
    {
        SameLength("EluForward", x.Length, y.Length);
        for (int i = 0; i < y.Length; i++) y[i] = x[i] > 0f ? x[i] : alpha * (MathF.Exp(x[i]) - 1f);
    }

    /// <summary>dx = x &gt; 0 ? dy : dy·(y + α) (elu' = y + α on the negative side, α at 0, as PyTorch); x, y, dy, dx the
    /// same range.</summary>
    public static void EluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx, float alpha, bool accumulate)
    {
        SameLength("EluBackward", x.Length, dx.Length, y.Length, dy.Length);
        if (accumulate) for (int i = 0; i < dx.Length; i++) dx[i] += x[i] > 0f ? dy[i] : dy[i] * (y[i] + alpha);
        else for (int i = 0; i < dx.Length; i++) dx[i] = x[i] > 0f ? dy[i] : dy[i] * (y[i] + alpha);
    }

    // ------------------------------------------------------------------ LeakyReLU

    /// <summary>y = x &gt; 0 ? x : slope·x, elementwise over any range.</summary>
    public static void LeakyReluForward(ReadOnlySpan<float> x, Span<float> y, float slope)
    {
        SameLength("LeakyReluForward", x.Length, y.Length);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var a = Vector256.Create(slope);
            for (; i + 8 <= y.Length; i += 8)
            {
                var v = Vector256.Create(x.Slice(i, 8));
                Vector256.ConditionalSelect(Vector256.GreaterThan(v, Vector256<float>.Zero), v, a * v).CopyTo(y.Slice(i, 8));
            }
        }
        for (; i < y.Length; i++) y[i] = x[i] > 0f ? x[i] : slope * x[i];
    }

    /// <summary>dx = x &gt; 0 ? dy : slope·dy (the slope at 0, as PyTorch).</summary>
    public static void LeakyReluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx, float slope, bool accumulate)
    {
        SameLength("LeakyReluBackward", x.Length, dx.Length, dy.Length);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var a = Vector256.Create(slope);
            for (; i + 8 <= dx.Length; i += 8)
            {
                var g = Vector256.Create(dy.Slice(i, 8));
                var d = Vector256.ConditionalSelect(Vector256.GreaterThan(Vector256.Create(x.Slice(i, 8)), Vector256<float>.Zero), g, a * g);
                if (accumulate) d = Vector256.Create(dx.Slice(i, 8)) + d;
                d.CopyTo(dx.Slice(i, 8));
            }
        }
        for (; i < dx.Length; i++)
        {
            float d = x[i] > 0f ? dy[i] : slope * dy[i];
            dx[i] = accumulate ? dx[i] + d : d;
        }
    }

    // ------------------------------------------------------------------ PReLU

    /// <summary>y = x &gt; 0 ? x : a·x with a learned slope: one shared (slope.Length 1) or one per channel
    /// (slope.Length = channels). x and y [samples, channels, planeSize].</summary>
    public static void PReluForward(ReadOnlySpan<float> x, Span<float> y, ReadOnlySpan<float> slope, int samples, int channels, int planeSize)
    {
        CheckPRelu("PReluForward", x.Length, y.Length, slope.Length, samples, channels, planeSize);
        for (int n = 0; n < samples; n++)
            for (int c = 0; c < channels; c++)
            {
                float a = slope[slope.Length == 1 ? 0 : c];
                int at = (n * channels + c) * planeSize;
                for (int i = at; i < at + planeSize; i++) y[i] = x[i] > 0f ? x[i] : a * x[i];
            }
    }

    /// <summary>Backward of <see cref="PReluForward"/>: dx = x &gt; 0 ? dy : a·dy, and dSlope[a] += dy·x at every x ≤ 0,
    /// added one element at a time in memory order (per channel, or all into dSlope[0] when the slope is shared).
    /// x, dy, dx [samples, channels, planeSize]; dSlope as slope.</summary>
    public static void PReluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, ReadOnlySpan<float> slope, Span<float> dx, Span<float> dSlope,
        int samples, int channels, int planeSize, bool accumulate)
    {
        CheckPRelu("PReluBackward", x.Length, dx.Length, slope.Length, samples, channels, planeSize);
        if (dy.Length < samples * channels * planeSize || dSlope.Length != slope.Length)
            throw new ArgumentException($"Activations.PReluBackward: dy holds {dy.Length} values (needs {samples * channels * planeSize}), dSlope {dSlope.Length} (needs {slope.Length}, as slope).");
        for (int n = 0; n < samples; n++)
            for (int c = 0; c < channels; c++)
            {
                int a = slope.Length == 1 ? 0 : c;
                float s = slope[a];
                int at = (n * channels + c) * planeSize;
                for (int i = at; i < at + planeSize; i++)
                {
                    float d;
                    if (x[i] > 0f) d = dy[i];
                    else { d = s * dy[i]; dSlope[a] += dy[i] * x[i]; }
                    dx[i] = accumulate ? dx[i] + d : d;
                }
            }
    }

    private static void CheckPRelu(string method, int xLength, int yLength, int slopes, int samples, int channels, int planeSize)
    {
        if (samples < 0 || channels < 1 || planeSize < 1)
            throw new ArgumentException($"Activations.{method}: samples {samples} must be at least 0, channels {channels} and planeSize {planeSize} at least 1.");
        if (slopes != 1 && slopes != channels)
            throw new ArgumentException($"Activations.{method}: slope holds {slopes} values; expected 1 (shared) or channels = {channels}.");
        int size = samples * channels * planeSize;
        if (xLength < size || yLength < size)
            throw new ArgumentException($"Activations.{method}: the [samples, channels, planeSize] buffers hold {xLength} and {yLength} values, need {samples}·{channels}·{planeSize} = {size}.");
    }

    // ------------------------------------------------------------------ softmax over channels

    /// <summary>Softmax over the channels at each position of each sample: y[c, p] = e^(x[c, p] − m) / Σ_c' e^(x[c', p] − m),
    /// m the position's maximum (for stability; NaN propagates). The exponentials are summed in channel order and each
    /// divided by the sum. x and y [samples, channels, planeSize].</summary>
    public static void SoftmaxForward(ReadOnlySpan<float> x, Span<float> y, int samples, int channels, int planeSize)
    {
        CheckSamples("SoftmaxForward", x.Length, y.Length, samples, channels, planeSize);
        int size = channels * planeSize;
        for (int n = 0; n < samples; n++)
        {
            ReadOnlySpan<float> xs = x.Slice(n * size, size);
            Span<float> ys = y.Slice(n * size, size);
            for (int p = 0; p < planeSize; p++)
            {
                float max = float.NegativeInfinity;
                for (int c = 0; c < channels; c++) max = MathF.Max(max, xs[c * planeSize + p]);
                float sum = 0f;
                for (int c = 0; c < channels; c++) { float e = MathF.Exp(xs[c * planeSize + p] - max); ys[c * planeSize + p] = e; sum += e; }
                for (int c = 0; c < channels; c++) ys[c * planeSize + p] /= sum;
            }
        }
    }

    /// <summary>Backward of <see cref="SoftmaxForward"/> from its output: dx = y ⊙ (dy − Σ_c dy ⊙ y) at each position, the dot
    /// product summed in channel order. y, dy, dx [samples, channels, planeSize].</summary>
    public static void SoftmaxBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx, int samples, int channels, int planeSize, bool accumulate)
    {
        CheckSamples("SoftmaxBackward", y.Length, dx.Length, samples, channels, planeSize);
        int size = channels * planeSize;
        if (dy.Length < samples * size) throw new ArgumentException($"Activations.SoftmaxBackward: dy holds {dy.Length} values, needs {samples * size}.");
        for (int n = 0; n < samples; n++)
        {
            ReadOnlySpan<float> ys = y.Slice(n * size, size), gs = dy.Slice(n * size, size);
            Span<float> ds = dx.Slice(n * size, size);
            for (int p = 0; p < planeSize; p++)
            {
                float dot = 0f;
                for (int c = 0; c < channels; c++) dot += gs[c * planeSize + p] * ys[c * planeSize + p];
                for (int c = 0; c < channels; c++)
                {
                    int i = c * planeSize + p;
                    float d = ys[i] * (gs[i] - dot);
                    ds[i] = accumulate ? ds[i] + d : d;
                }
            }
        }
    }

    // ------------------------------------------------------------------ maxout

    /// <summary>Maxout: units × pieces affine pieces of the flattened input, y[r, u] = max_k z[r, u, k] with
    /// z = x · weightᵀ + bias. x [rows, inSize]; weight [units, pieces, inSize]; bias [units, pieces]; the pieces'
    /// values go to z [rows, units · pieces] (Gemm.Nt, then the bias added per row); y [rows, units]; winner [rows, units]
    /// gets the winning piece (the first maximum: strict &gt;).</summary>
    public static void MaxoutForward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> z, Span<float> y, Span<int> winner,
        int rows, int inSize, int units, int pieces)
    {
        CheckMaxout("MaxoutForward", x.Length, weight.Length, bias.Length, z.Length, y.Length, winner.Length, rows, inSize, units, pieces);
        int width = units * pieces;
        Gemm.Nt(rows, width, inSize, x, inSize, weight, inSize, z, width, accumulate: false);
        for (int r = 0; r < rows; r++)
        {
            Span<float> zr = z.Slice(r * width, width);
            Vec.Add(zr, bias.Slice(0, width));
            for (int u = 0; u < units; u++)
            {
                int best = 0;
                float value = zr[u * pieces];
                for (int k = 1; k < pieces; k++) { float v = zr[u * pieces + k]; if (v > value) { value = v; best = k; } }
                y[r * units + u] = value;
                winner[r * units + u] = best;
            }
        }
    }

    /// <summary>Backward of <see cref="MaxoutForward"/>: the gradient goes to each unit's winning piece, dz [rows, units · pieces]
    /// (overwritten; it may be the forward's z, whose values are no longer needed); dWeight [units, pieces, inSize] += dzᵀ · x;
    /// dBias [units, pieces] += Σ_rows dz, row by row; dx [rows, inSize] = dz · weight (or += with accumulate), skipped when
    /// dx is empty.</summary>
    public static void MaxoutBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> dy, ReadOnlySpan<int> winner, Span<float> dz,
        Span<float> dWeight, Span<float> dBias, Span<float> dx, int rows, int inSize, int units, int pieces, bool accumulate)
    {
        CheckMaxout("MaxoutBackward", x.Length, weight.Length, dBias.Length, dz.Length, dy.Length, winner.Length, rows, inSize, units, pieces);
        int width = units * pieces;
        if (dWeight.Length < width * inSize || (!dx.IsEmpty && dx.Length < rows * inSize))
            throw new ArgumentException($"Activations.MaxoutBackward: dWeight holds {dWeight.Length} values (needs {width * inSize}), dx {dx.Length} (needs {rows * inSize}, or empty to skip it).");
        Span<float> dzRows = dz.Slice(0, rows * width);
        dzRows.Clear();
        for (int r = 0; r < rows; r++)
            for (int u = 0; u < units; u++)
            {
                int k = winner[r * units + u];
                if ((uint)k >= (uint)pieces) throw new ArgumentException($"Activations.MaxoutBackward: winner {k} of row {r}, unit {u} is not a piece index below {pieces}.");
                dzRows[r * width + u * pieces + k] = dy[r * units + u];
            }
        Gemm.Nn(width, inSize, rows, dzRows, 1, width, x, inSize, dWeight, inSize, accumulate: true);
        for (int r = 0; r < rows; r++) Vec.Add(dBias.Slice(0, width), dzRows.Slice(r * width, width));
        if (!dx.IsEmpty) Gemm.Nn(rows, inSize, width, dzRows, width, 1, weight, inSize, dx, inSize, accumulate);
    }

    private static void CheckMaxout(string method, int xLength, int weightLength, int biasLength, int zLength, int yLength, int winnerLength,
        int rows, int inSize, int units, int pieces)
    {
        if (rows < 0 || inSize < 1 || units < 1 || pieces < 1)
            throw new ArgumentException($"Activations.{method}: rows {rows} must be at least 0, inSize {inSize}, units {units} and pieces {pieces} at least 1.");
        int width = units * pieces;
        if (xLength < rows * inSize || weightLength < width * inSize || biasLength < width || zLength < rows * width || yLength < rows * units || winnerLength < rows * units)
            throw new ArgumentException($"Activations.{method}: buffers too small for rows {rows}, inSize {inSize}, units {units}, pieces {pieces}: " +
                $"x {xLength} (needs {rows * inSize}), weight {weightLength} ({width * inSize}), bias {biasLength} ({width}), pieces {zLength} ({rows * width}), " +
                $"output {yLength} ({rows * units}), winner {winnerLength} ({rows * units}).");
    }

    // ------------------------------------------------------------------ channel-wise (convolutional) maxout

    /// <summary>Channel-wise maxout (Goodfellow et al. 2013, on convolutional feature maps): output channel g at each position
    /// is the maximum of input channels g·pieces … g·pieces + pieces − 1 there (the first maximum wins: strict &gt;; NaN
    /// propagates). x [samples, groups·pieces, planeSize] → y [samples, groups, planeSize]; winner [samples, groups, planeSize]
    /// gets the winning piece.</summary>
    public static void ChannelMaxoutForward(ReadOnlySpan<float> x, Span<float> y, Span<int> winner, int samples, int groups, int pieces, int planeSize)
    {
        CheckChannelMaxout("ChannelMaxoutForward", x.Length, Math.Min(y.Length, winner.Length), samples, groups, pieces, planeSize);
        int inSample = groups * pieces * planeSize, outSample = groups * planeSize;
        for (int n = 0; n < samples; n++)
            for (int g = 0; g < groups; g++)
            {
                ReadOnlySpan<float> first = x.Slice(n * inSample + g * pieces * planeSize, planeSize);
                Span<float> yg = y.Slice(n * outSample + g * planeSize, planeSize);
                Span<int> wg = winner.Slice(n * outSample + g * planeSize, planeSize);
                first.CopyTo(yg);
                wg.Clear();
                for (int k = 1; k < pieces; k++)
                {
                    ReadOnlySpan<float> piece = x.Slice(n * inSample + (g * pieces + k) * planeSize, planeSize);
                    for (int p = 0; p < planeSize; p++)
                        if (piece[p] > yg[p] || (float.IsNaN(piece[p]) && !float.IsNaN(yg[p]))) { yg[p] = piece[p]; wg[p] = k; }
                }
            }
    }

    /// <summary>Backward of <see cref="ChannelMaxoutForward"/>: each output's gradient goes to its winning input channel; the
    /// other pieces get zero. dy, winner [samples, groups, planeSize] → dx [samples, groups·pieces, planeSize].</summary>
    public static void ChannelMaxoutBackward(ReadOnlySpan<float> dy, ReadOnlySpan<int> winner, Span<float> dx, int samples, int groups, int pieces, int planeSize, bool accumulate)
    {
        CheckChannelMaxout("ChannelMaxoutBackward", dx.Length, Math.Min(dy.Length, winner.Length), samples, groups, pieces, planeSize);
        int inSample = groups * pieces * planeSize, outSample = groups * planeSize;
        if (!accumulate) dx.Slice(0, samples * inSample).Clear();
        for (int n = 0; n < samples; n++)
            for (int g = 0; g < groups; g++)
                for (int p = 0; p < planeSize; p++)
                {
                    int o = n * outSample + g * planeSize + p, k = winner[o];
                    if ((uint)k >= (uint)pieces) throw new ArgumentException($"Activations.ChannelMaxoutBackward: winner {k} of sample {n}, group {g}, position {p} is not a piece index below {pieces}.");
                    dx[n * inSample + (g * pieces + k) * planeSize + p] += dy[o];
                }
    }

    private static void CheckChannelMaxout(string method, int inLength, int outLength, int samples, int groups, int pieces, int planeSize)
    {
        if (samples < 0 || groups < 1 || pieces < 1 || planeSize < 1)
            throw new ArgumentException($"Activations.{method}: samples {samples} must be at least 0, groups {groups}, pieces {pieces} and planeSize {planeSize} at least 1.");
        if (inLength < samples * groups * pieces * planeSize || outLength < samples * groups * planeSize)
            throw new ArgumentException($"Activations.{method}: the input holds {inLength} values (needs {samples}·{groups}·{pieces}·{planeSize} = {samples * groups * pieces * planeSize}), the output {outLength} (needs {samples * groups * planeSize}).");
    }

    // ------------------------------------------------------------------ checks

    private static void CheckSamples(string method, int aLength, int bLength, int samples, int channels, int planeSize)
    {
        if (samples < 0 || channels < 1 || planeSize < 1)
            throw new ArgumentException($"Activations.{method}: samples {samples} must be at least 0, channels {channels} and planeSize {planeSize} at least 1.");
        int size = samples * channels * planeSize;
        if (aLength < size || bLength < size)
            throw new ArgumentException($"Activations.{method}: the [samples, channels, planeSize] buffers hold {aLength} and {bLength} values, need {samples}·{channels}·{planeSize} = {size}.");
    }

    private static void SameLength(string method, int xLength, int yLength, int other1 = -1, int other2 = -1)
    {
        if (yLength != xLength || (other1 >= 0 && other1 != xLength) || (other2 >= 0 && other2 != xLength))
            throw new ArgumentException($"Activations.{method}: the buffers' lengths differ ({xLength}, {yLength}{(other1 >= 0 ? ", " + other1 : "")}{(other2 >= 0 ? ", " + other2 : "")}); they must all be the same.");
    }
}
