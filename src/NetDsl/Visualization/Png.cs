using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;
using System.Text;
using NetDsl.IO;

namespace NetDsl.Visualization;

/// <summary>A minimal PNG encoder (PNG 1.2 / RFC 2083): 8-bit grayscale or RGB, no interlacing, filter type 0 (None) on every
/// row, one IDAT chunk compressed by <see cref="ZLibStream"/>, a CRC-32 on every chunk. Files are written atomically.</summary>
public static class Png
{
    static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>PNG bytes of a <paramref name="width"/>×<paramref name="height"/> image; <paramref name="pixels"/> row-major,
    /// 1 byte per pixel (gray) or 3 (R, G, B).</summary>
    public static byte[] Encode(ReadOnlySpan<byte> pixels, int width, int height, bool rgb)
    {
        if (width < 1 || height < 1) throw new ArgumentOutOfRangeException(nameof(width), $"PNG size must be positive, got {width}×{height}");
        int channels = rgb ? 3 : 1;
        long expected = (long)width * height * channels;
        if (pixels.Length != expected)
            throw new ArgumentException($"pixels has {pixels.Length} bytes, a {width}×{height} {(rgb ? "RGB" : "grayscale")} image needs {expected}", nameof(pixels));

        using var output = new MemoryStream();
        output.Write(Signature);
        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], height);
        ihdr[8] = 8;                    // bit depth
        ihdr[9] = (byte)(rgb ? 2 : 0);  // colour type: truecolour or greyscale
        ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0; // deflate, adaptive filtering, no interlace
        WriteChunk(output, "IHDR", ihdr);

        using var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            int stride = width * channels;
            for (int y = 0; y < height; y++)
            {
                z.WriteByte(0); // filter: None
                z.Write(pixels.Slice(y * stride, stride));
            }
        }
        WriteChunk(output, "IDAT", compressed.GetBuffer().AsSpan(0, (int)compressed.Length));
        WriteChunk(output, "IEND", ReadOnlySpan<byte>.Empty);
        return output.ToArray();
    }

    /// <summary>Writes a grayscale PNG atomically.</summary>
    public static void WriteGray(string path, ReadOnlySpan<byte> pixels, int width, int height) => Write(path, Encode(pixels, width, height, rgb: false));

    /// <summary>Writes an RGB PNG atomically.</summary>
    public static void WriteRgb(string path, ReadOnlySpan<byte> pixels, int width, int height) => Write(path, Encode(pixels, width, height, rgb: true));

    static void Write(string path, byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = AtomicFile.Create(path);
        file.Stream.Write(bytes);
        file.Commit();
    }

    static void WriteChunk(Stream s, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> head = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(head, data.Length);
        Encoding.ASCII.GetBytes(type, head[4..]);
        s.Write(head);
        s.Write(data);
        uint crc = Crc32.Update(Crc32.Update(0xFFFFFFFFu, head[4..]), data) ^ 0xFFFFFFFFu;
        Span<byte> tail = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(tail, crc);
        s.Write(tail);
    }
}

/// <summary>CRC-32 (ISO-HDLC, reflected polynomial 0xEDB88320), as PNG and zlib's crc32 compute it.</summary>
public static class Crc32
{
    static readonly uint[] Table = BuildTable();

    static uint[] BuildTable()
    {
        var t = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        return t;
    }

    /// <summary>Continues a running (pre-inverted) CRC over <paramref name="data"/>.</summary>
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    /// <summary>The CRC-32 of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Update(0xFFFFFFFFu, data) ^ 0xFFFFFFFFu;
}
