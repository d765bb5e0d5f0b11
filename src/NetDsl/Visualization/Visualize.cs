using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NetDsl.Training;

namespace NetDsl.Visualization;

/// <summary>Tiles laid out in a grid: tile k at column k mod Columns, row k / Columns; each tile is (w·scale)×(h·scale) pixels,
/// with a 1-pixel gap of <see cref="TileGrid.Background"/> around and between tiles.</summary>
public static class TileGrid
{
    public static readonly (byte R, byte G, byte B) Background = (64, 64, 160);
    public const int Gap = 1;

    public static Canvas Create(int tiles, int tileWidth, int tileHeight, int scale, int columns)
    {
        if (tiles < 1) throw new ArgumentOutOfRangeException(nameof(tiles), tiles, "at least one tile");
        if (scale < 1) throw new ArgumentOutOfRangeException(nameof(scale), scale, $"scale must be >= 1, got {scale}");
        int rows = (tiles + columns - 1) / columns;
        return new Canvas(Gap + columns * (tileWidth * scale + Gap), Gap + rows * (tileHeight * scale + Gap), Background);
    }

    /// <summary>Top-left pixel of tile <paramref name="k"/>.</summary>
    public static (int X, int Y) Origin(int k, int tileWidth, int tileHeight, int scale, int columns) =>
        (Gap + k % columns * (tileWidth * scale + Gap), Gap + k / columns * (tileHeight * scale + Gap));

    public static int SquareColumns(int tiles) => Math.Max(1, (int)Math.Ceiling(Math.Sqrt(tiles)));

    internal static void Paint(Canvas canvas, int k, int w, int h, int scale, int columns, Func<int, int, (byte, byte, byte)> color)
    {
        var (ox, oy) = Origin(k, w, h, scale, columns);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                canvas.FillRect(ox + x * scale, oy + y * scale, scale, scale, color(x, y));
    }
}

/// <summary>The first convolution's filters as images.</summary>
public static class FilterGrid
{
    /// <summary>Renders the filters of the first Conv2D layer (or <paramref name="layerName"/>), each normalized to 0..255 by its own
    /// minimum and maximum over all its input channels. With 3 input channels each filter is one RGB tile; with 1, one gray tile;
    /// otherwise row f holds filter f's input channels as gray tiles. Filters are laid out in a near-square grid (1 or 3 channels).</summary>
    public static Canvas Render(INetwork network, int scale = 8, string? layerName = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        var layers = network.Layers.ToArray();
        var layer = layerName is null
            ? layers.FirstOrDefault(l => l.Kind == LayerKinds.Conv2D) ?? throw new ArgumentException($"the network has no Conv2D layer; its layers are {string.Join(", ", layers.Select(l => $"{l.Name} ({l.Kind})"))}", nameof(network))
            : layers.FirstOrDefault(l => l.Name == layerName) ?? throw new ArgumentException($"no layer named '{layerName}'; the layers are {string.Join(", ", layers.Select(l => l.Name))}", nameof(layerName));
        if (layer.Kind is not ("Conv2D" or "ConvTranspose2D"))
            throw new ArgumentException($"layer '{layer.Name}' is {layer.Kind}, not a convolution", nameof(layerName));
        var t = network.ParameterTensors.ToArray().FirstOrDefault(p => p.Name == layer.Name + ".weight")
            ?? throw new ArgumentException($"layer '{layer.Name}' has no weight tensor", nameof(network));
        int outC = t.Shape[0], inC = t.Shape[1], kh = t.Shape[2], kw = t.Shape[3], per = inC * kh * kw;
        var w = network.Parameters.Slice(t.Offset, t.Length).ToArray();
        bool rgb = inC == 3, square = inC is 1 or 3;
        int tiles = square ? outC : outC * inC;
        int columns = square ? TileGrid.SquareColumns(outC) : inC;
        var canvas = TileGrid.Create(tiles, kw, kh, scale, columns);
        for (int f = 0; f < outC; f++)
        {
            var filter = w.AsSpan(f * per, per);
            double min = double.PositiveInfinity, max = double.NegativeInfinity;
            foreach (float v in filter) { min = Math.Min(min, v); max = Math.Max(max, v); }
            var fa = filter.ToArray();
            if (rgb)
                TileGrid.Paint(canvas, f, kw, kh, scale, columns, (x, y) => (
                    ColorMap.Gray(fa[0 * kh * kw + y * kw + x], min, max), ColorMap.Gray(fa[1 * kh * kw + y * kw + x], min, max), ColorMap.Gray(fa[2 * kh * kw + y * kw + x], min, max)));
            else
                for (int c = 0; c < inC; c++)
                {
                    int cc = c;
                    TileGrid.Paint(canvas, square ? f : f * inC + c, kw, kh, scale, columns, (x, y) => { byte g = ColorMap.Gray(fa[cc * kh * kw + y * kw + x], min, max); return (g, g, g); });
                }
        }
        return canvas;
    }
}

/// <summary>A layer's output channels for one input, as gray tiles.</summary>
public static class FeatureMaps
{
    /// <summary>Runs <paramref name="input"/> (one sample) in inference mode and renders each output channel of layer
    /// <paramref name="layerName"/> (LayerOutput), normalized by its own minimum and maximum, in a near-square grid.</summary>
    public static Canvas Render(INetwork network, ReadOnlySpan<float> input, string layerName, int scale = 4)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(layerName);
        if (input.Length != network.InputSize) throw new ArgumentException($"input has {input.Length} floats, expected one sample of {network.InputSize}", nameof(input));
        var layers = network.Layers.ToArray();
        int index = Array.FindIndex(layers, l => l.Name == layerName);
        if (index < 0) throw new ArgumentException($"no layer named '{layerName}'; the layers are {string.Join(", ", layers.Select(l => l.Name))}", nameof(layerName));
        var l = layers[index];
        network.Forward(input, 1);
        var maps = network.LayerOutput(index).ToArray();
        int hw = l.Height * l.Width, columns = TileGrid.SquareColumns(l.Channels);
        var canvas = TileGrid.Create(l.Channels, l.Width, l.Height, scale, columns);
        for (int c = 0; c < l.Channels; c++)
        {
            var map = maps.AsSpan(c * hw, hw);
            double min = double.PositiveInfinity, max = double.NegativeInfinity;
            foreach (float v in map) { min = Math.Min(min, v); max = Math.Max(max, v); }
            int cc = c;
            TileGrid.Paint(canvas, c, l.Width, l.Height, scale, columns, (x, y) => { byte g = ColorMap.Gray(maps[cc * hw + y * l.Width + x], min, max); return (g, g, g); });
        }
        return canvas;
    }
}

/// <summary>An occlusion-sensitivity map: <c>Drop[r·Columns + c]</c> = p(label | image) − p(label | image with the patch at
/// row r·Stride, column c·Stride set to the fill value), softmax probabilities of the network's outputs.</summary>
public sealed record OcclusionMap(int Height, int Width, int Patch, int Stride, int Label, double BaseProbability, int Rows, int Columns, double[] Drop)
{
    /// <summary>Per pixel: the mean drop over the patches covering it (0 where none does).</summary>
    public double[] PixelDrop()
    {
        var sum = new double[Height * Width];
        var count = new int[Height * Width];
        for (int r = 0; r < Rows; r++)
            for (int c = 0; c < Columns; c++)
                for (int y = r * Stride; y < r * Stride + Patch; y++)
                    for (int x = c * Stride; x < c * Stride + Patch; x++)
                    {
                        sum[y * Width + x] += Drop[r * Columns + c];
                        count[y * Width + x]++;
                    }
        for (int i = 0; i < sum.Length; i++) if (count[i] > 0) sum[i] /= count[i];
        return sum;
    }
}

/// <summary>Occlusion sensitivity (Zeiler and Fergus): which parts of an image the prediction depends on.</summary>
public static class Occlusion
{
    public static OcclusionMap Compute(INetwork network, ReadOnlySpan<float> image, int channels, int height, int width, int label, int patch, int stride, float fill = 0f)
    {
        ArgumentNullException.ThrowIfNull(network);
        if ((long)channels * height * width != network.InputSize || channels < 1 || height < 1 || width < 1)
            throw new ArgumentException($"image shape {channels}×{height}×{width} does not make the network's {network.InputSize} inputs", nameof(channels));
        if (image.Length != network.InputSize) throw new ArgumentException($"image has {image.Length} floats, expected {network.InputSize}", nameof(image));
        if ((uint)label >= (uint)network.OutputSize) throw new ArgumentOutOfRangeException(nameof(label), label, $"label must be in 0..{network.OutputSize - 1}");
        if (patch < 1 || patch > Math.Min(height, width)) throw new ArgumentOutOfRangeException(nameof(patch), patch, $"patch must be between 1 and {Math.Min(height, width)}");
        if (stride < 1) throw new ArgumentOutOfRangeException(nameof(stride), stride, "stride must be >= 1");
        int rows = (height - patch) / stride + 1, columns = (width - patch) / stride + 1, positions = rows * columns;
        double baseP = Probability(network.Forward(image, 1), label);
        var drop = new double[positions];
        int batch = network.MaxBatch, size = network.InputSize;
        var x = new float[batch * size];
        for (int start = 0; start < positions; start += batch)
        {
            int n = Math.Min(batch, positions - start);
            for (int k = 0; k < n; k++)
            {
                var s = x.AsSpan(k * size, size);
                image.CopyTo(s);
                int r = (start + k) / columns, c = (start + k) % columns;
                for (int ch = 0; ch < channels; ch++)
                    for (int y = r * stride; y < r * stride + patch; y++)
                        s.Slice(ch * height * width + y * width + c * stride, patch).Fill(fill);
            }
            var output = network.Forward(x.AsSpan(0, n * size), n);
            for (int k = 0; k < n; k++) drop[start + k] = baseP - Probability(output.Slice(k * network.OutputSize, network.OutputSize), label);
        }
        return new OcclusionMap(height, width, patch, stride, label, baseP, rows, columns, drop);
    }

    static double Probability(ReadOnlySpan<float> logits, int label)
    {
        double max = double.NegativeInfinity;
        foreach (float v in logits) max = Math.Max(max, v);
        double z = 0;
        foreach (float v in logits) z += Math.Exp(v - max);
        return Math.Exp(logits[label] - max) / z;
    }

    /// <summary>The image in gray (its first channel, or RGB with 3 channels, scaled from [0, 1]) with the per-pixel drop as a heat
    /// overlay: colour <see cref="ColorMap.Heat"/>(drop / max drop) blended with weight 0.6·drop / max drop; pixels whose drop is
    /// ≤ 0 keep the image's colour.</summary>
    public static Canvas Overlay(OcclusionMap map, ReadOnlySpan<float> image, int channels, int scale = 8)
    {
        ArgumentNullException.ThrowIfNull(map);
        if (image.Length != (long)channels * map.Height * map.Width) throw new ArgumentException($"image has {image.Length} floats, expected {channels}×{map.Height}×{map.Width}", nameof(image));
        if (scale < 1) throw new ArgumentOutOfRangeException(nameof(scale), scale, "scale must be >= 1");
        var pixel = map.PixelDrop();
        double maxDrop = pixel.Max();
        var canvas = new Canvas(map.Width * scale, map.Height * scale);
        int plane = map.Height * map.Width;
        for (int y = 0; y < map.Height; y++)
            for (int x = 0; x < map.Width; x++)
            {
                int i = y * map.Width + x;
                byte r0 = Byte(image[i]), g0 = channels == 3 ? Byte(image[plane + i]) : r0, b0 = channels == 3 ? Byte(image[2 * plane + i]) : r0;
                (byte R, byte G, byte B) c = (r0, g0, b0);
                double t = maxDrop > 0 ? Math.Max(0, pixel[i]) / maxDrop : 0;
                if (t > 0)
                {
                    var h = ColorMap.Heat(t);
                    double a = 0.6 * t;
                    c = ((byte)Math.Round((1 - a) * c.R + a * h.R), (byte)Math.Round((1 - a) * c.G + a * h.G), (byte)Math.Round((1 - a) * c.B + a * h.B));
                }
                canvas.FillRect(x * scale, y * scale, scale, scale, c);
            }
        return canvas;
    }

    static byte Byte(float v) => (byte)Math.Round(Math.Clamp(v, 0f, 1f) * 255);
}

/// <summary>Loss and accuracy per epoch as two line plots side by side (train in blue, test in orange), with axes, tick marks and
/// tick labels in the built-in 5×7 font.</summary>
public static class TrainingCurves
{
    public static readonly (byte R, byte G, byte B) TrainColor = (31, 119, 180), TestColor = (255, 127, 14), Ink = (0, 0, 0);
    public const int Left = 44, Right = 12, Top = 18, Bottom = 26;

    public static Canvas Render(IReadOnlyList<EpochReport> reports, int width = 720, int height = 300)
    {
        ArgumentNullException.ThrowIfNull(reports);
        if (reports.Count == 0) throw new ArgumentException("no epochs to plot", nameof(reports));
        if (width < 2 * (Left + Right + 20) || height < Top + Bottom + 20)
            throw new ArgumentOutOfRangeException(nameof(width), $"the plot needs at least {2 * (Left + Right + 20)}×{Top + Bottom + 20} pixels, got {width}×{height}");
        var canvas = new Canvas(width, height, (255, 255, 255));
        int panel = width / 2;
        double maxLoss = reports.SelectMany(r => new[] { r.TrainLoss, r.TestLoss }).Where(double.IsFinite).DefaultIfEmpty(1).Max();
        Panel(canvas, 0, panel, height, "LOSS", reports.Select(r => r.TrainLoss).ToArray(), reports.Select(r => r.TestLoss).ToArray(), 0, NiceCeiling(maxLoss), percent: false);
        Panel(canvas, panel, panel, height, "ACCURACY", reports.Select(r => r.TrainAccuracy).ToArray(), reports.Select(r => r.TestAccuracy).ToArray(), 0, 1, percent: true);
        return canvas;
    }

    static double NiceCeiling(double v)
    {
        if (!(v > 0)) return 1;
        double p = Math.Pow(10, Math.Floor(Math.Log10(v)));
        foreach (double m in new[] { 1, 2, 2.5, 5, 10 }) if (m * p >= v) return m * p;
        return 10 * p;
    }

    /// <summary>Plot-area pixel of (epoch, value) in a panel: epochs 1..n span the x axis, min..max the y axis.</summary>
    public static (int X, int Y) Map(int x0, int panelWidth, int height, int epochs, int epoch, double value, double min, double max)
    {
        int px0 = x0 + Left, px1 = x0 + panelWidth - Right, py0 = height - Bottom, py1 = Top;
        double fx = epochs == 1 ? 0.5 : (epoch - 1) / (double)(epochs - 1);
        double fy = (value - min) / (max - min);
        return ((int)Math.Round(px0 + fx * (px1 - px0)), (int)Math.Round(py0 + Math.Clamp(fy, 0, 1) * (py1 - py0)));
    }

    static void Panel(Canvas c, int x0, int w, int h, string title, double[] train, double[] test, double min, double max, bool percent)
    {
        int px0 = x0 + Left, px1 = x0 + w - Right, py0 = h - Bottom, py1 = Top;
        c.Text(px0, 4, title, Ink);
        c.Line(px0, py0, px1, py0, Ink);
        c.Line(px0, py0, px0, py1, Ink);
        for (int k = 0; k <= 4; k++)
        {
            double v = min + (max - min) * k / 4;
            var (_, y) = Map(x0, w, h, 2, 1, v, min, max);
            c.Line(px0 - 4, y, px0, y, Ink);
            string label = percent ? (v * 100).ToString("0", CultureInfo.InvariantCulture) + "%" : v.ToString(v >= 10 ? "0" : "0.##", CultureInfo.InvariantCulture);
            c.Text(px0 - 6 - 6 * label.Length, y - 3, label, Ink);
        }
        int n = train.Length, every = Math.Max(1, (int)Math.Ceiling(n / 10.0));
        for (int e = 1; e <= n; e++)
        {
            if ((e - 1) % every != 0 && e != n) continue;
            var (x, _) = Map(x0, w, h, n, e, min, min, max);
            c.Line(x, py0, x, py0 + 4, Ink);
            string label = e.ToString(CultureInfo.InvariantCulture);
            c.Text(x - 3 * label.Length, py0 + 7, label, Ink);
        }
        c.Text(px1 - 30, py0 + 17, "EPOCH", Ink);
        Series(c, x0, w, h, train, min, max, TrainColor);
        Series(c, x0, w, h, test, min, max, TestColor);
        c.FillRect(px1 - 80, 5, 6, 6, TrainColor); c.Text(px1 - 72, 4, "TRAIN", Ink);
        if (test.Any(double.IsFinite)) { c.FillRect(px1 - 36, 5, 6, 6, TestColor); c.Text(px1 - 28, 4, "TEST", Ink); }
    }

    static void Series(Canvas c, int x0, int w, int h, double[] values, double min, double max, (byte, byte, byte) color)
    {
        (int X, int Y)? previous = null;
        for (int e = 1; e <= values.Length; e++)
        {
            if (!double.IsFinite(values[e - 1])) { previous = null; continue; }
            var p = Map(x0, w, h, values.Length, e, values[e - 1], min, max);
            if (previous is { } q) c.Line(q.X, q.Y, p.X, p.Y, color, 2);
            c.FillRect(p.X - 2, p.Y - 2, 5, 5, color);
            previous = p;
        }
    }
}

/// <summary>A confusion matrix as a heat map: one square per (true, predicted) pair, shaded from white to dark blue by the
/// fraction of the true class's samples, with the counts written in the cells.</summary>
public static class ConfusionMatrixImage
{
    public static readonly (byte R, byte G, byte B) Ink = (0, 0, 0);

    /// <summary>White (t = 0) to dark blue (t = 1), linearly.</summary>
    public static (byte R, byte G, byte B) Shade(double t)
    {
        t = Math.Clamp(double.IsNaN(t) ? 0 : t, 0, 1);
        static byte Mix(double a, double b, double t) => (byte)Math.Round(a + (b - a) * t);
        return (Mix(255, 8, t), Mix(255, 48, t), Mix(255, 107, t));
    }

    public static Canvas Render(EvaluationReport report, IReadOnlyList<string>? classNames = null, int cell = 36)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (cell < 24) throw new ArgumentOutOfRangeException(nameof(cell), cell, "cells need at least 24 pixels for their counts");
        int n = report.ClassCount;
        string Name(int c) => (classNames is not null && c < classNames.Count ? classNames[c] : c.ToString(CultureInfo.InvariantCulture)).ToUpperInvariant();
        int labelWidth = 6 * Enumerable.Range(0, n).Max(c => Name(c).Length) + 10;
        int left = labelWidth, top = 30;
        var canvas = new Canvas(left + n * cell + 10, top + n * cell + 24, (255, 255, 255));
        canvas.Text(left, 4, "PREDICTED", Ink);
        canvas.Text(4, 4, "TRUE", Ink);
        for (int c = 0; c < n; c++)
        {
            string col = c.ToString(CultureInfo.InvariantCulture);
            canvas.Text(left + c * cell + (cell - 6 * col.Length) / 2, top - 12, col, Ink);
            canvas.Text(4, top + c * cell + (cell - 7) / 2, Name(c), Ink);
            long rowTotal = 0;
            for (int j = 0; j < n; j++) rowTotal += report[c, j];
            for (int j = 0; j < n; j++)
            {
                int v = report[c, j];
                double t = rowTotal == 0 ? 0 : (double)v / rowTotal;
                canvas.FillRect(left + j * cell, top + c * cell, cell - 1, cell - 1, Shade(t));
                string text = v.ToString(CultureInfo.InvariantCulture);
                var ink = t > 0.5 ? ((byte)255, (byte)255, (byte)255) : Ink;
                if (6 * text.Length <= cell - 2) canvas.Text(left + j * cell + (cell - 6 * text.Length) / 2, top + c * cell + (cell - 7) / 2, text, ink);
            }
        }
        canvas.Text(left, top + n * cell + 8, string.Create(CultureInfo.InvariantCulture,
            $"ACC {report.Accuracy * 100:F2}%  TOP-{report.TopK} {report.TopKAccuracy * 100:F2}%"), Ink);
        return canvas;
    }
}
