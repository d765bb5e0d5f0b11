using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using NetDsl.Kernels;
using NetDsl.Tests.IO;
using NetDsl.Tests.Networks;
using NetDsl.Training;
using NetDsl.Visualization;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Tools;

/// <summary>A PNG reader written from the specification, sharing nothing with the encoder: chunks, a bitwise CRC-32, zlib inflate,
/// and all five row filters.</summary>
static class PngReader
{
    public static uint BitwiseCrc(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (uint)-(int)(c & 1));
        }
        return ~c;
    }

    public sealed record Image(int Width, int Height, int Channels, byte[] Pixels, List<string> Chunks);

    public static Image Decode(byte[] png)
    {
        png.AsSpan(0, 8).ToArray().ShouldBe(new byte[] { 137, 80, 78, 71, 13, 10, 26, 10 });
        int at = 8, width = 0, height = 0, channels = 0;
        var idat = new MemoryStream();
        var chunks = new List<string>();
        while (at < png.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            string type = Encoding.ASCII.GetString(png, at + 4, 4);
            var data = png.AsSpan(at + 8, length);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at + 8 + length));
            BitwiseCrc(png.AsSpan(at + 4, 4 + length)).ShouldBe(crc, $"CRC of chunk {type}");
            chunks.Add(type);
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                data[8].ShouldBe((byte)8);
                channels = data[9] switch { 0 => 1, 2 => 3, _ => throw new InvalidDataException("colour type " + data[9]) };
                data[12].ShouldBe((byte)0);
            }
            else if (type == "IDAT") idat.Write(data);
            at += 12 + length;
        }
        chunks[0].ShouldBe("IHDR");
        chunks[^1].ShouldBe("IEND");
        idat.Position = 0;
        var raw = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionMode.Decompress)) z.CopyTo(raw);
        var bytes = raw.ToArray();
        int stride = width * channels;
        bytes.Length.ShouldBe(height * (stride + 1));
        var pixels = new byte[height * stride];
        for (int y = 0; y < height; y++)
        {
            int filter = bytes[y * (stride + 1)];
            for (int x = 0; x < stride; x++)
            {
                int v = bytes[y * (stride + 1) + 1 + x];
                int a = x >= channels ? pixels[y * stride + x - channels] : 0;
                int b = y > 0 ? pixels[(y - 1) * stride + x] : 0;
                int c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels] : 0;
                int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
                int pred = filter switch { 0 => 0, 1 => a, 2 => b, 3 => (a + b) / 2, 4 => pa <= pb && pa <= pc ? a : pb <= pc ? b : c, _ => throw new InvalidDataException("filter " + filter) };
                pixels[y * stride + x] = (byte)(v + pred);
            }
        }
        return new Image(width, height, channels, pixels, chunks);
    }

    public static (byte, byte, byte) Rgb(Image img, int x, int y) { int i = (y * img.Width + x) * 3; return (img.Pixels[i], img.Pixels[i + 1], img.Pixels[i + 2]); }
}

public class PngTests
{
    [Fact]
    public void Crc32MatchesTheStandardCheckValues()
    {
        Crc32.Compute(Encoding.ASCII.GetBytes("123456789")).ShouldBe(0xCBF43926u); // the CRC-32/ISO-HDLC check value
        Crc32.Compute(Encoding.ASCII.GetBytes("IEND")).ShouldBe(0xAE426082u);      // every PNG's last four bytes
        PngReader.BitwiseCrc(Encoding.ASCII.GetBytes("123456789")).ShouldBe(0xCBF43926u);
    }

    [Fact]
    public void GrayAndRgbRoundTripThroughAnIndependentDecoder()
    {
        using var dir = new TempDir();
        var rng = new Rng(3);
        var gray = Enumerable.Range(0, 7 * 5).Select(_ => (byte)rng.NextUInt64()).ToArray();
        Png.WriteGray(dir.File("g.png"), gray, 7, 5);
        var g = PngReader.Decode(File.ReadAllBytes(dir.File("g.png")));
        (g.Width, g.Height, g.Channels).ShouldBe((7, 5, 1));
        g.Pixels.ShouldBe(gray);
        g.Chunks.ShouldBe(new[] { "IHDR", "IDAT", "IEND" });

        var rgb = Enumerable.Range(0, 4 * 3 * 3).Select(_ => (byte)rng.NextUInt64()).ToArray();
        Png.WriteRgb(dir.File("c.png"), rgb, 4, 3);
        var c = PngReader.Decode(File.ReadAllBytes(dir.File("c.png")));
        (c.Width, c.Height, c.Channels).ShouldBe((4, 3, 3));
        c.Pixels.ShouldBe(rgb);
        dir.Names().ShouldBe(new[] { "g.png", "c.png" }, ignoreOrder: true); // no temporary files left
    }

    [Fact]
    public void BadSizesAreNamed()
    {
        Should.Throw<ArgumentException>(() => Png.Encode(new byte[5], 2, 2, rgb: true)).Message.ShouldContain("pixels has 5 bytes, a 2×2 RGB image needs 12");
        Should.Throw<ArgumentOutOfRangeException>(() => Png.Encode(new byte[0], 0, 2, rgb: false)).Message.ShouldContain("PNG size must be positive, got 0×2");
        Should.Throw<DirectoryNotFoundException>(() => Png.WriteGray("/nonexistent-dir/x.png", new byte[1], 1, 1));
    }
}

public class VisualizationTests
{
    static PngReader.Image SaveAndDecode(Canvas canvas)
    {
        using var dir = new TempDir();
        canvas.Save(dir.File("v.png"));
        return PngReader.Decode(File.ReadAllBytes(dir.File("v.png")));
    }

    [Fact]
    public void FilterGridNormalizesEachFilterByItsOwnRange()
    {
        var net = new TinyConv(1, workers: 1);
        var w = net.Parameters; // conv1.weight [4, 1, 3, 3]
        for (int f = 0; f < 4; f++)
            for (int k = 0; k < 9; k++) w[f * 9 + k] = (f + 1) * (k - 4) * 0.01f; // filter f: a ramp, scaled by f + 1
        var img = SaveAndDecode(FilterGrid.Render(net, scale: 2));
        // 4 filters → 2 columns × 2 rows of 3·2 = 6-pixel tiles with 1-pixel gaps: 1 + 2·7 = 15 pixels a side.
        (img.Width, img.Height).ShouldBe((15, 15));
        for (int f = 0; f < 4; f++)
        {
            int ox = 1 + f % 2 * 7, oy = 1 + f / 2 * 7;
            for (int k = 0; k < 9; k++)
            {
                byte expected = (byte)Math.Round(k / 8.0 * 255); // the same ramp for every filter once normalized
                PngReader.Rgb(img, ox + k % 3 * 2 + 1, oy + k / 3 * 2 + 1).ShouldBe((expected, expected, expected), $"filter {f} tap {k}");
            }
        }
        PngReader.Rgb(img, 0, 0).ShouldBe(TileGrid.Background);
        PngReader.Rgb(img, 7, 3).ShouldBe(TileGrid.Background); // the gap between columns
    }

    [Fact]
    public void FeatureMapsShowTheLayerOutputNormalizedPerChannel()
    {
        var net = new TinyConv(1, workers: 1);
        var p = net.Parameters;
        p.Clear();
        for (int f = 0; f < 4; f++) p[f * 9 + 4] = f + 1; // centre tap only: map f = (f + 1)·input[y+1, x+1]
        var input = new float[64];
        for (int y = 0; y < 8; y++) for (int x = 0; x < 8; x++) input[y * 8 + x] = x + 8 * y;
        var img = SaveAndDecode(FeatureMaps.Render(net, input, "conv1", scale: 1));
        (img.Width, img.Height).ShouldBe((1 + 2 * 7, 1 + 2 * 7)); // 4 maps of 6×6
        for (int f = 0; f < 4; f++)
            for (int y = 0; y < 6; y++)
                for (int x = 0; x < 6; x++)
                {
                    // interior values x+1 + 8(y+1) range over 9..54 in every map
                    byte expected = (byte)Math.Round((x + 1 + 8 * (y + 1) - 9) / 45.0 * 255);
                    PngReader.Rgb(img, 1 + f % 2 * 7 + x, 1 + f / 2 * 7 + y).ShouldBe((expected, expected, expected));
                }
        Should.Throw<ArgumentException>(() => FeatureMaps.Render(net, input, "conv9")).Message.ShouldContain("no layer named 'conv9'; the layers are conv1, relu1, dense1");
    }

    static PixelDense RegionNetwork()
    {
        // Class 0's logit is the sum of pixels (1..2, 1..2); class 1's is 0. Nothing else affects the output.
        var net = new PixelDense(16, workers: 1);
        net.Parameters.Clear();
        foreach (int y in new[] { 1, 2 }) foreach (int x in new[] { 1, 2 }) net.Parameters[y * 8 + x] = 1f;
        return net;
    }

    [Fact]
    public void OcclusionMapIsZeroWhereThePatchMissesTheRegion()
    {
        var net = RegionNetwork();
        var image = Enumerable.Repeat(1f, 64).ToArray();
        var map = Occlusion.Compute(net, image, 1, 8, 8, label: 0, patch: 2, stride: 2);
        (map.Rows, map.Columns).ShouldBe((4, 4));
        double p = Math.Exp(4) / (Math.Exp(4) + 1);
        map.BaseProbability.ShouldBe(p, 1e-6);
        // Patches at rows/cols 0–1 and 2–3 overlap the region (1..2) in one pixel each: logit 4 → 3.
        double oneOff = p - Math.Exp(3) / (Math.Exp(3) + 1);
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 4; c++)
                map.Drop[r * 4 + c].ShouldBe(r <= 1 && c <= 1 ? oneOff : 0.0, 1e-6, $"position ({r}, {c})");
        map.Drop.Count(d => d == 0.0).ShouldBe(12); // exactly zero: the output does not change at all

        var pixel = map.PixelDrop();
        for (int y = 0; y < 8; y++) for (int x = 0; x < 8; x++) pixel[y * 8 + x].ShouldBe(y < 4 && x < 4 ? oneOff : 0.0, 1e-6);

        var img = SaveAndDecode(Occlusion.Overlay(map, image, 1, scale: 2));
        (img.Width, img.Height).ShouldBe((16, 16));
        PngReader.Rgb(img, 12, 12).ShouldBe(((byte)255, (byte)255, (byte)255)); // untouched: the white image
        // Inside: the largest drop, so Heat(1) = yellow blended at 0.6 over white: (255, 255, 0.4·255).
        PngReader.Rgb(img, 2, 2).ShouldBe(((byte)255, (byte)255, (byte)102));
        ColorMap.Heat(0.5).ShouldBe(((byte)255, (byte)0, (byte)0));
    }

    [Fact]
    public void TrainingCurvesPlotRisingAccuracyAndFallingLoss()
    {
        var reports = Enumerable.Range(1, 5).Select(e => new EpochReport(e, 2.0 / e, 0.5 + 0.1 * e, 2.2 / e, 0.45 + 0.1 * e, 1, 1, 0.1f)).ToList();
        var canvas = TrainingCurves.Render(reports, 720, 300);
        var img = SaveAndDecode(canvas);
        (img.Width, img.Height).ShouldBe((720, 300));
        // The train accuracy marker at epoch e sits where the axis mapping puts it.
        for (int e = 1; e <= 5; e++)
        {
            var (x, y) = TrainingCurves.Map(360, 360, 300, 5, e, 0.5 + 0.1 * e, 0, 1);
            PngReader.Rgb(img, x, y).ShouldBe(TrainingCurves.TrainColor);
        }
        // Accuracy rises: the epoch-5 marker is higher (smaller y) than epoch 1's; loss falls.
        TrainingCurves.Map(360, 360, 300, 5, 5, 1.0, 0, 1).Y.ShouldBeLessThan(TrainingCurves.Map(360, 360, 300, 5, 1, 0.6, 0, 1).Y);
        int Count((byte, byte, byte) color) => Enumerable.Range(0, 720 * 300).Count(i => PngReader.Rgb(img, i % 720, i / 720) == color);
        Count(TrainingCurves.TestColor).ShouldBeGreaterThan(100);
        // Without a test set only the train curves are drawn.
        var noTest = SaveAndDecode(TrainingCurves.Render(reports.Select(r => r with { TestLoss = double.NaN, TestAccuracy = double.NaN }).ToList()));
        Enumerable.Range(0, 720 * 300).Count(i => PngReader.Rgb(noTest, i % 720, i / 720) == TrainingCurves.TestColor).ShouldBe(0);
    }

    [Fact]
    public void FontDrawsDigits()
    {
        var c = new Canvas(6, 7, (255, 255, 255));
        c.Text(0, 0, "1", (0, 0, 0));
        // '1': rows 0x04 0x0C 0x04 0x04 0x04 0x04 0x0E
        string[] expected = ["..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."];
        for (int y = 0; y < 7; y++)
            for (int x = 0; x < 5; x++)
                c[x, y].ShouldBe(expected[y][x] == '#' ? ((byte)0, (byte)0, (byte)0) : ((byte)255, (byte)255, (byte)255));
    }
}
