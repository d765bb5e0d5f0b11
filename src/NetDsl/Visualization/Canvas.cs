using System;

namespace NetDsl.Visualization;

/// <summary>An RGB raster with the few drawing operations the plots need: pixels, rectangles, lines, and a built-in 5×7 font.</summary>
public sealed class Canvas
{
    public Canvas(int width, int height, (byte R, byte G, byte B) background = default)
    {
        if (width < 1 || height < 1) throw new ArgumentOutOfRangeException(nameof(width), $"canvas size must be positive, got {width}×{height}");
        Width = width; Height = height;
        Pixels = new byte[width * height * 3];
        FillRect(0, 0, width, height, background);
    }

    public int Width { get; }
    public int Height { get; }
    /// <summary>Row-major R, G, B bytes.</summary>
    public byte[] Pixels { get; }

    public (byte R, byte G, byte B) this[int x, int y]
    {
        get { int i = (y * Width + x) * 3; return (Pixels[i], Pixels[i + 1], Pixels[i + 2]); }
        set => Set(x, y, value);
    }

    /// <summary>Sets a pixel; coordinates outside the canvas are ignored.</summary>
    public void Set(int x, int y, (byte R, byte G, byte B) c)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height) return;
        int i = (y * Width + x) * 3;
        Pixels[i] = c.R; Pixels[i + 1] = c.G; Pixels[i + 2] = c.B;
    }

    public void FillRect(int x, int y, int w, int h, (byte R, byte G, byte B) c)
    {
        for (int yy = Math.Max(0, y); yy < Math.Min(Height, y + h); yy++)
            for (int xx = Math.Max(0, x); xx < Math.Min(Width, x + w); xx++) Set(xx, yy, c);
    }

    /// <summary>A line from (x0, y0) to (x1, y1), both ends included (Bresenham).</summary>
    public void Line(int x0, int y0, int x1, int y1, (byte R, byte G, byte B) c, int thickness = 1)
    {
        int dx = Math.Abs(x1 - x0), dy = -Math.Abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
        while (true)
        {
            for (int t = 0; t < thickness; t++)
                for (int u = 0; u < thickness; u++) Set(x0 + t - thickness / 2, y0 + u - thickness / 2, c);
            if (x0 == x1 && y0 == y1) break;
            int e2 = 2 * err;
            if (e2 >= dy) { err += dy; x0 += sx; }
            if (e2 <= dx) { err += dx; y0 += sy; }
        }
    }

    /// <summary>Draws <paramref name="text"/> with its top-left at (x, y), each font pixel as a scale×scale square; characters
    /// the font lacks are left blank. Returns the width drawn.</summary>
    public int Text(int x, int y, string text, (byte R, byte G, byte B) c, int scale = 1)
    {
        ArgumentNullException.ThrowIfNull(text);
        int at = x;
        foreach (char ch in text)
        {
            var rows = Font5x7.Glyph(ch);
            for (int r = 0; r < 7; r++)
                for (int col = 0; col < 5; col++)
                    if ((rows[r] >> (4 - col) & 1) != 0) FillRect(at + col * scale, y + r * scale, scale, scale, c);
            at += 6 * scale;
        }
        return at - x;
    }

    public void Save(string path) => Png.WriteRgb(path, Pixels, Width, Height);
}

/// <summary>A 5×7 bitmap font: digits, '.', '-', '+', '%', ':', space and the capitals A–Z that plot labels need (case-insensitive).</summary>
public static class Font5x7
{
    static readonly byte[] Blank = new byte[7];

    /// <summary>Seven rows of five bits (bit 4 is the leftmost column); blank for characters the font lacks.</summary>
    public static ReadOnlySpan<byte> Glyph(char c) => char.ToUpperInvariant(c) switch
    {
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        '.' => [0, 0, 0, 0, 0, 0x0C, 0x0C],
        '-' => [0, 0, 0, 0x1F, 0, 0, 0],
        '+' => [0, 0x04, 0x04, 0x1F, 0x04, 0x04, 0],
        ':' => [0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0],
        '%' => [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03],
        'A' => [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        _ => Blank,
    };
}

/// <summary>Maps values to bytes and colours.</summary>
public static class ColorMap
{
    /// <summary>(v − min)/(max − min) scaled to 0..255 and rounded; a constant span maps to 128.</summary>
    public static byte Gray(double v, double min, double max) =>
        max > min ? (byte)Math.Round(Math.Clamp((v - min) / (max - min), 0, 1) * 255) : (byte)128;

    /// <summary>A heat colour for t in [0, 1]: black → red (0.5) → yellow (1).</summary>
    public static (byte R, byte G, byte B) Heat(double t)
    {
        t = Math.Clamp(double.IsNaN(t) ? 0 : t, 0, 1) * 2;
        double r = Math.Min(1, t), g = Math.Clamp(t - 1, 0, 1);
        return ((byte)Math.Round(r * 255), (byte)Math.Round(g * 255), 0);
    }
}
