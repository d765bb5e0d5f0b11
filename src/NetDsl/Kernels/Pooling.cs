using System;
using System.Runtime.CompilerServices;

namespace NetDsl.Kernels;

/// <summary>
/// General 2-D pooling over NCHW planes, forward and backward, with PyTorch 1.13's semantics: per-axis window (kH, kW),
/// stride (sH, sW) and symmetric padding (padH rows above and below, padW columns left and right), floor or ceil
/// output sizes (<see cref="OutputSize"/>). Every method takes a contiguous range of whole samples:
/// x is [samples, channels, inH, inW] and y is [samples, channels, outH, outW], so a worker passes its share.
/// Windows that run past the padded edge (ceil mode) are clipped. Backward methods overwrite dx
/// (<c>accumulate: false</c>: inputs no window reads get 0) or add to it (<c>accumulate: true</c>).
/// The 2×2, stride-2, unpadded floor case goes to the vectorized <see cref="Pool"/> kernels, whose results are the same.
/// </summary>
public static class Pooling
{
    /// <summary>PyTorch's pooled size along one axis: ⌊(input + 2·padding − kernel) / stride⌋ + 1, or with
    /// <paramref name="ceilMode"/> ⌈…⌉ + 1 less one when the last window would start at or beyond input + padding
    /// (entirely in the right padding).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int OutputSize(int input, int kernel, int stride, int padding, bool ceilMode)
    {
        if (input < 1 || kernel < 1 || stride < 1 || padding < 0)
            throw new ArgumentException($"Pooling.OutputSize: input {input}, kernel {kernel}, stride {stride} must be at least 1 and padding {padding} at least 0.");
        int span = input + 2 * padding - kernel;
        if (span < 0)
            throw new ArgumentException($"Pooling.OutputSize: the window {kernel} is larger than the padded input {input} + 2·{padding}.");
        if (!ceilMode) return span / stride + 1;
        int size = (span + stride - 1) / stride + 1;
        if ((size - 1) * stride >= input + padding) size--;
        return size;
    }

    // ------------------------------------------------------------------ max and min

    /// <summary>Max pooling. x [samples, channels, inH, inW] → y [samples, channels, outH, outW]; argmax gets, per output,
    /// the winner's index within its inH×inW plane. Padding is −∞; ties keep the first maximum in row-major window
    /// order (strict &gt;, as PyTorch); a NaN wins over numbers (the last NaN of the window, as PyTorch's
    /// <c>val &gt; max || isnan(val)</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MaxForward(ReadOnlySpan<float> x, Span<float> y, Span<int> argmax, int samples, int channels, int inH, int inW,
        int outH, int outW, int kH, int kW, int sH, int sW, int padH, int padW)
    {
        Check("MaxForward", x.Length, y.Length, samples, channels, inH, inW, outH, outW, kH, kW, sH, sW, padH, padW);
        if (argmax.Length < samples * channels * outH * outW)
            throw new ArgumentException($"Pooling.MaxForward: argmax holds {argmax.Length} indices, needs samples·channels·outH·outW = {samples * channels * outH * outW}.");
        if (Is2x2(inH, inW, outH, outW, kH, kW, sH, sW, padH, padW))
        {
            Pool.Max2x2(samples * channels, inH, inW, x, y, argmax);
            return;
        }
        ExtremumForward(x, y, argmax, samples * channels, inH, inW, outH, outW, kH, kW, sH, sW, padH, padW, min: false);
    }

    /// <summary>Min pooling, −maxpool(−x): padding is +∞; ties keep the first minimum in row-major window order; a NaN
    /// wins over numbers. Shapes and argmax as <see cref="MaxForward"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MinForward(ReadOnlySpan<float> x, Span<float> y, Span<int> argmin, int samples, int channels, int inH, int inW,
        int outH, int outW, int kH, int kW, int sH, int sW, int padH, int padW)
    {
        Check("MinForward", x.Length, y.Length, samples, channels, inH, inW, outH, outW, kH, kW, sH, sW, padH, padW);
        if (argmin.Length < samples * channels * outH * outW)
            throw new ArgumentException($"Pooling.MinForward: argmin holds {argmin.Length} indices, needs samples·channels·outH·outW = {samples * channels * outH * outW}.");
        ExtremumForward(x, y, argmin, samples * channels, inH, inW, outH, outW, kH, kW, sH, sW, padH, padW, min: true);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ExtremumForward(ReadOnlySpan<float> x, Span<float> y, Span<int> argmax, int planes, int inH, int inW,
        int outH, int outW, int kH, int kW, int sH, int sW, int padH, int padW, bool min)
    {
        int inPlane = inH * inW, outPlane = outH * outW;
        for (int plane = 0; plane < planes; plane++)
        {
            ReadOnlySpan<float> xp = x.Slice(plane * inPlane, inPlane);
            Span<float> yp = y.Slice(plane * outPlane, outPlane);
            Span<int> ap = argmax.Slice(plane * outPlane, outPlane);
            for (int oh = 0; oh < outH; oh++)
            {
                int h0 = oh * sH - padH, h1 = Math.Min(h0 + kH, inH), hs = Math.Max(h0, 0);
                for (int ow = 0; ow < outW; ow++)
                {
                    int w0 = ow * sW - padW, w1 = Math.Min(w0 + kW, inW), ws = Math.Max(w0, 0);
                    float best = min ? float.PositiveInfinity : float.NegativeInfinity;
                    int bestIndex = hs * inW + ws;
                    for (int ih = hs; ih < h1; ih++)
                        for (int iw = ws; iw < w1; iw++)
                        {
                            float v = xp[ih * inW + iw];
                            if ((min ? v < best : v > best) || float.IsNaN(v)) { best = v; bestIndex = ih * inW + iw; }
                        }
                    yp[oh * outW + ow] = best;
                    ap[oh * outW + ow] = bestIndex;
                }
            }
        }
    }

    /// <summary>Backward of <see cref="MaxForward"/> (and <see cref="MinForward"/>): dx[winner] += dy. dy [samples, channels,
    /// outH, outW] and argmax as the forward left them → dx [samples, channels, inH, inW]; overlapping windows add up.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MaxBackward(ReadOnlySpan<float> dy, ReadOnlySpan<int> argmax, Span<float> dx, int samples, int channels,
        int inH, int inW, int outH, int outW, bool accumulate)
    {
        int planes = samples * channels, inPlane = inH * inW, outPlane = outH * outW;
        if (samples < 0 || channels < 1 || inPlane < 1 || outPlane < 1)
            throw new ArgumentException($"Pooling.MaxBackward: samples {samples} must be at least 0 and channels {channels}, inH×inW {inH}×{inW}, outH×outW {outH}×{outW} at least 1.");
        if (dy.Length < planes * outPlane || argmax.Length < planes * outPlane || dx.Length < planes * inPlane)
            throw new ArgumentException($"Pooling.MaxBackward: dy ({dy.Length}) and argmax ({argmax.Length}) need {planes * outPlane} values, dx ({dx.Length}) {planes * inPlane}.");
        for (int plane = 0; plane < planes; plane++)
        {
            Span<float> dxp = dx.Slice(plane * inPlane, inPlane);
            ReadOnlySpan<float> dyp = dy.Slice(plane * outPlane, outPlane);
            ReadOnlySpan<int> ap = argmax.Slice(plane * outPlane, outPlane);
            if (!accumulate) dxp.Clear(); // rows and columns no window reads get zero
            for (int o = 0; o < outPlane; o++)
            {
                int at = ap[o];
                if ((uint)at >= (uint)inPlane) throw new ArgumentException($"Pooling.MaxBackward: argmax {at} is outside the {inH}×{inW} plane.");
                dxp[at] += dyp[o];
            }
        }
    }

    /// <summary>Backward of <see cref="MinForward"/>: the same scatter as <see cref="MaxBackward"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MinBackward(ReadOnlySpan<float> dy, ReadOnlySpan<int> argmin, Span<float> dx, int samples, int channels,
        int inH, int inW, int outH, int outW, bool accumulate)
        => MaxBackward(dy, argmin, dx, samples, channels, inH, inW, outH, outW, accumulate);

    // ------------------------------------------------------------------ average

    /// <summary>Average pooling. x [samples, channels, inH, inW] → y [samples, channels, outH, outW]: the window's sum in
    /// row-major order divided by the divisor. With <paramref name="countIncludePad"/> (PyTorch's default) the divisor
    /// counts the zero padding but not the overhang past the padded edge that ceil mode creates:
    /// (min(h0 + kH, inH + padH) − h0)·(min(w0 + kW, inW + padW) − w0), h0 = oh·sH − padH; without it, the real inputs
    /// in the window.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AvgForward(ReadOnlySpan<float> x, Span<float> y, int samples, int channels, int inH, int inW,
        int outH, int outW, int kH, int kW, int sH, int sW, int padH, int padW, bool countIncludePad)
    {
        Check("AvgForward", x.Length, y.Length, samples, channels, inH, inW, outH, outW, kH, kW, sH, sW, padH, padW);
        if (Is2x2(inH, inW, outH, outW, kH, kW, sH, sW, padH, padW))
        {
            Pool.Avg2x2(samples * channels, inH, inW, x, y);
            return;
        }
        WindowSums(x, y, samples * channels, inH, inW, outH, outW, kH, kW, sH, sW, padH, padW, average: true, countIncludePad);
    }

    /// <summary>Backward of <see cref="AvgForward"/>: every input of a window gets dy / divisor. dy [samples, channels,
    /// outH, outW] → dx [samples, channels, inH, inW].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AvgBackward(ReadOnlySpan<float> dy, Span<float> dx, int samples, int channels, int inH, int inW,
        int outH, int outW, int kH, int kW, int sH, int sW, int padH, int padW, bool countIncludePad, bool accumulate)
    {
        Check("AvgBackward", dx.Length, dy.Length, samples, channels, inH, inW, outH, outW, kH, kW, sH, sW, padH, padW);
        if (!accumulate && Is2x2(inH, inW, outH, outW, kH, kW, sH, sW, padH, padW))
        {
            Pool.Avg2x2Backward(samples * channels, inH, inW, dy, dx);
            return;
        }
        SpreadWindows(dy, dx, samples * channels, inH, inW, outH, outW, kH, kW, sH, sW, padH, padW, accumulate, average: true, countIncludePad);
    }

    /// <summary>Each window's sum (sum pooling) or average (average pooling, by <see cref="AvgDivisor"/>), plane by plane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WindowSums(ReadOnlySpan<float> x, Span<float> y, int planes, int inH, int inW, int outH, int outW,
        int kH, int kW, int sH, int sW, int padH, int padW, bool average, bool countIncludePad)
    {
        int inPlane = inH * inW, outPlane = outH * outW;
        for (int plane = 0; plane < planes; plane++)
        {
            ReadOnlySpan<float> xp = x.Slice(plane * inPlane, inPlane);
            Span<float> yp = y.Slice(plane * outPlane, outPlane);
            for (int oh = 0; oh < outH; oh++)
            {
                int h0 = oh * sH - padH, h1 = Math.Min(h0 + kH, inH), hs = Math.Max(h0, 0);
                for (int ow = 0; ow < outW; ow++)
                {
                    int w0 = ow * sW - padW, w1 = Math.Min(w0 + kW, inW), ws = Math.Max(w0, 0);
                    float sum = 0f;
                    for (int ih = hs; ih < h1; ih++)
                        for (int iw = ws; iw < w1; iw++) sum += xp[ih * inW + iw];
                    yp[oh * outW + ow] = average ? sum / AvgDivisor(h0, h1, hs, w0, w1, ws, kH, kW, inH, inW, padH, padW, countIncludePad) : sum;
                }
            }
        }
    }

    /// <summary>The adjoint of <see cref="WindowSums"/>: every input of a window gets its dy (divided by the window's
    /// divisor when averaging).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SpreadWindows(ReadOnlySpan<float> dy, Span<float> dx, int planes, int inH, int inW, int outH, int outW,
        int kH, int kW, int sH, int sW, int padH, int padW, bool accumulate, bool average, bool countIncludePad)
    {
        int inPlane = inH * inW, outPlane = outH * outW;
        for (int plane = 0; plane < planes; plane++)
        {
            Span<float> dxp = dx.Slice(plane * inPlane, inPlane);
            ReadOnlySpan<float> dyp = dy.Slice(plane * outPlane, outPlane);
            if (!accumulate) dxp.Clear(); // rows and columns no window reads get zero
            for (int oh = 0; oh < outH; oh++)
            {
                int h0 = oh * sH - padH, h1 = Math.Min(h0 + kH, inH), hs = Math.Max(h0, 0);
                for (int ow = 0; ow < outW; ow++)
                {
                    int w0 = ow * sW - padW, w1 = Math.Min(w0 + kW, inW), ws = Math.Max(w0, 0);
                    float g = average ? dyp[oh * outW + ow] / AvgDivisor(h0, h1, hs, w0, w1, ws, kH, kW, inH, inW, padH, padW, countIncludePad) : dyp[oh * outW + ow];
                    for (int ih = hs; ih < h1; ih++)
                        for (int iw = ws; iw < w1; iw++) dxp[ih * inW + iw] += g;
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int AvgDivisor(int h0, int h1, int hs, int w0, int w1, int ws, int kH, int kW, int inH, int inW, int padH, int padW, bool countIncludePad)
        => countIncludePad
            ? (Math.Min(h0 + kH, inH + padH) - h0) * (Math.Min(w0 + kW, inW + padW) - w0)
            : (h1 - hs) * (w1 - ws);

    // ------------------------------------------------------------------ sum

    /// <summary>Sum pooling (the notes' "sum" pooling; average pooling times the window's area): y = Σ_window x in
    /// row-major order, zero padding and the ceil-mode overhang adding nothing. x [samples, channels, inH, inW] →
    /// y [samples, channels, outH, outW].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SumForward(ReadOnlySpan<float> x, Span<float> y, int samples, int channels, int inH, int inW,
        int outH, int outW, int kH, int kW, int sH, int sW, int padH, int padW)
    {
        Check("SumForward", x.Length, y.Length, samples, channels, inH, inW, outH, outW, kH, kW, sH, sW, padH, padW);
        WindowSums(x, y, samples * channels, inH, inW, outH, outW, kH, kW, sH, sW, padH, padW, average: false, countIncludePad: false);
    }

    /// <summary>Backward of <see cref="SumForward"/>: every input of a window gets that window's dy. dy [samples, channels,
    /// outH, outW] → dx [samples, channels, inH, inW].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SumBackward(ReadOnlySpan<float> dy, Span<float> dx, int samples, int channels, int inH, int inW,
        int outH, int outW, int kH, int kW, int sH, int sW, int padH, int padW, bool accumulate)
    {
        Check("SumBackward", dx.Length, dy.Length, samples, channels, inH, inW, outH, outW, kH, kW, sH, sW, padH, padW);
        SpreadWindows(dy, dx, samples * channels, inH, inW, outH, outW, kH, kW, sH, sW, padH, padW, accumulate, average: false, countIncludePad: false);
    }

    // ------------------------------------------------------------------ L2 norm

    /// <summary>L2-norm pooling, PyTorch's <c>LPPool2d(norm_type=2)</c> (no padding): y = √(Σ_window x²), the squares
    /// summed in row-major order. x [samples, channels, inH, inW] → y [samples, channels, outH, outW]. A window that ceil
    /// mode clips to n &lt; kH·kW inputs gives √(Σx² / n · kH·kW), as PyTorch (it computes avg_pool2d(x²)·kH·kW).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void L2Forward(ReadOnlySpan<float> x, Span<float> y, int samples, int channels, int inH, int inW,
        int outH, int outW, int kH, int kW, int sH, int sW)
    {
        Check("L2Forward", x.Length, y.Length, samples, channels, inH, inW, outH, outW, kH, kW, sH, sW, 0, 0);
        int planes = samples * channels, inPlane = inH * inW, outPlane = outH * outW, window = kH * kW;
        for (int plane = 0; plane < planes; plane++)
        {
            ReadOnlySpan<float> xp = x.Slice(plane * inPlane, inPlane);
            Span<float> yp = y.Slice(plane * outPlane, outPlane);
            for (int oh = 0; oh < outH; oh++)
            {
                int h0 = oh * sH, h1 = Math.Min(h0 + kH, inH);
                for (int ow = 0; ow < outW; ow++)
                {
                    int w0 = ow * sW, w1 = Math.Min(w0 + kW, inW);
                    float sum = 0f;
                    for (int ih = h0; ih < h1; ih++)
                        for (int iw = w0; iw < w1; iw++) { float v = xp[ih * inW + iw]; sum += v * v; }
                    int n = (h1 - h0) * (w1 - w0);
                    yp[oh * outW + ow] = MathF.Sqrt(n == window ? sum : sum / n * window);
                }
            }
        }
    }

    /// <summary>Backward of <see cref="L2Forward"/>: dx += dy·x / y over each window (times kH·kW / n for a window ceil
    /// mode clipped to n inputs); a window whose norm y is 0 passes no gradient, as PyTorch. x and dx [samples, channels,
    /// inH, inW], y and dy [samples, channels, outH, outW].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void L2Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx,
        int samples, int channels, int inH, int inW, int outH, int outW, int kH, int kW, int sH, int sW, bool accumulate)
    {
        Check("L2Backward", x.Length, y.Length, samples, channels, inH, inW, outH, outW, kH, kW, sH, sW, 0, 0);
        int planes = samples * channels, inPlane = inH * inW, outPlane = outH * outW, window = kH * kW;
        if (dx.Length < planes * inPlane || dy.Length < planes * outPlane)
            throw new ArgumentException($"Pooling.L2Backward: dx ({dx.Length}) needs {planes * inPlane} values, dy ({dy.Length}) {planes * outPlane}.");
        for (int plane = 0; plane < planes; plane++)
        {
            ReadOnlySpan<float> xp = x.Slice(plane * inPlane, inPlane);
            ReadOnlySpan<float> yp = y.Slice(plane * outPlane, outPlane);
            ReadOnlySpan<float> dyp = dy.Slice(plane * outPlane, outPlane);
            Span<float> dxp = dx.Slice(plane * inPlane, inPlane);
            if (!accumulate) dxp.Clear();
            for (int oh = 0; oh < outH; oh++)
            {
                int h0 = oh * sH, h1 = Math.Min(h0 + kH, inH);
                for (int ow = 0; ow < outW; ow++)
                {
                    int w0 = ow * sW, w1 = Math.Min(w0 + kW, inW);
                    float norm = yp[oh * outW + ow];
                    if (norm == 0f) continue;
                    float g = dyp[oh * outW + ow] / norm;
                    int n = (h1 - h0) * (w1 - w0);
                    if (n != window) g *= (float)window / n;
                    for (int ih = h0; ih < h1; ih++)
                        for (int iw = w0; iw < w1; iw++) dxp[ih * inW + iw] += g * xp[ih * inW + iw];
                }
            }
        }
    }

    // ------------------------------------------------------------------ global average

    /// <summary>Global average pooling: y[s, c] = (Σ of the plane x[s, c, ·, ·]) / planeSize, the sum by <see cref="Vec.Sum"/>.
    /// x [samples, channels, planeSize = H·W] → y [samples, channels].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GlobalAvgForward(ReadOnlySpan<float> x, Span<float> y, int samples, int channels, int planeSize)
    {
        int planes = CheckGlobal("GlobalAvgForward", x.Length, y.Length, samples, channels, planeSize);
        for (int plane = 0; plane < planes; plane++) y[plane] = Vec.Sum(x.Slice(plane * planeSize, planeSize)) / planeSize;
    }

    /// <summary>Backward of <see cref="GlobalAvgForward"/>: every input of a plane gets dy[s, c] / planeSize.
    /// dy [samples, channels] → dx [samples, channels, planeSize].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GlobalAvgBackward(ReadOnlySpan<float> dy, Span<float> dx, int samples, int channels, int planeSize, bool accumulate)
    {
        int planes = CheckGlobal("GlobalAvgBackward", dx.Length, dy.Length, samples, channels, planeSize);
        for (int plane = 0; plane < planes; plane++)
        {
            float g = dy[plane] / planeSize;
            if (accumulate) Vec.AddScalar(dx.Slice(plane * planeSize, planeSize), g);
            else dx.Slice(plane * planeSize, planeSize).Fill(g);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int CheckGlobal(string method, int planeValues, int perPlane, int samples, int channels, int planeSize)
    {
        if (samples < 0 || channels < 1 || planeSize < 1)
            throw new ArgumentException($"Pooling.{method}: samples {samples} must be at least 0, channels {channels} and planeSize {planeSize} at least 1.");
        int planes = samples * channels;
        if (planeValues < planes * planeSize || perPlane < planes)
            throw new ArgumentException($"Pooling.{method}: the [samples, channels, planeSize] buffer holds {planeValues} values (needs {planes * planeSize}), the [samples, channels] one {perPlane} (needs {planes}).");
        return planes;
    }

    // ------------------------------------------------------------------ checks

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool Is2x2(int inH, int inW, int outH, int outW, int kH, int kW, int sH, int sW, int padH, int padW)
        => kH == 2 && kW == 2 && sH == 2 && sW == 2 && padH == 0 && padW == 0 && outH == inH / 2 && outW == inW / 2;

    /// <summary>Validates one pooling call: positive sizes, padding at most half the window (PyTorch's rule, so every
    /// window holds an input), an output size that floor or ceil mode gives, and buffers large enough.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Check(string method, int inputValues, int outputValues, int samples, int channels, int inH, int inW,
        int outH, int outW, int kH, int kW, int sH, int sW, int padH, int padW)
    {
        if (samples < 0 || channels < 1 || inH < 1 || inW < 1 || kH < 1 || kW < 1 || sH < 1 || sW < 1)
            throw new ArgumentException($"Pooling.{method}: samples {samples} must be at least 0, and channels {channels}, input {inH}×{inW}, window {kH}×{kW}, stride {sH}×{sW} at least 1.");
        if (padH < 0 || padW < 0 || 2 * padH > kH || 2 * padW > kW)
            throw new ArgumentException($"Pooling.{method}: padding {padH}×{padW} must be at least 0 and at most half the window {kH}×{kW}.");
        CheckAxis(method, "outH", outH, inH, kH, sH, padH);
        CheckAxis(method, "outW", outW, inW, kW, sW, padW);
        int planes = samples * channels;
        if (inputValues < planes * inH * inW)
            throw new ArgumentException($"Pooling.{method}: the input buffer holds {inputValues} values, needs samples·channels·inH·inW = {samples}·{channels}·{inH}·{inW} = {planes * inH * inW}.");
        if (outputValues < planes * outH * outW)
            throw new ArgumentException($"Pooling.{method}: the output buffer holds {outputValues} values, needs samples·channels·outH·outW = {samples}·{channels}·{outH}·{outW} = {planes * outH * outW}.");
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CheckAxis(string method, string name, int output, int input, int kernel, int stride, int padding)
    {
        if (input + 2 * padding < kernel)
            throw new ArgumentException($"Pooling.{method}: the window {kernel} is larger than the padded input {input} + 2·{padding}.");
        int floor = OutputSize(input, kernel, stride, padding, false), ceil = OutputSize(input, kernel, stride, padding, true);
        if (output != floor && output != ceil)
            throw new ArgumentException($"Pooling.{method}: {name} is {output}; input {input}, window {kernel}, stride {stride}, padding {padding} give {floor} (floor mode) or {ceil} (ceil mode).");
    }
}
