using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;

namespace NetDsl.IO;

/// <summary>Unsigned-byte images from an IDX file: <see cref="Count"/> images of <see cref="Rows"/>×<see cref="Cols"/>, row-major.</summary>
public sealed class IdxImages
{
    public IdxImages(int count, int rows, int cols, byte[] pixels)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cols);
        ArgumentNullException.ThrowIfNull(pixels);
        if ((long)count * rows * cols != pixels.Length)
            throw new ArgumentException($"{count} images of {rows}x{cols} need {(long)count * rows * cols} pixel bytes, got {pixels.Length}", nameof(pixels));
        Count = count; Rows = rows; Cols = cols; Pixels = pixels;
    }

    public int Count { get; }
    public int Rows { get; }
    public int Cols { get; }
    /// <summary>Count·Rows·Cols bytes, image after image.</summary>
    public byte[] Pixels { get; }
}

/// <summary>The IDX format of the MNIST files (big-endian header), optionally gzip-compressed.</summary>
public static class Idx
{
    public const int ImagesMagic = 0x00000803;
    public const int LabelsMagic = 0x00000801;
    const string ImagesMeaning = "unsigned-byte images, 3 dimensions";
    const string LabelsMeaning = "unsigned-byte labels, 1 dimension";

    /// <summary>Reads an images file (magic 0x00000803). Gzip is detected by its magic bytes.</summary>
    public static IdxImages ReadImages(string path)
    {
        byte[] data = ReadContent(path);
        CheckMagic(path, data, ImagesMagic, ImagesMeaning);
        const int header = 16;
        if (data.Length < header) throw Truncated(path, "header", header, data.Length);
        int count = ReadDim(path, data, 4, "image count", allowZero: true);
        int rows = ReadDim(path, data, 8, "rows", allowZero: false);
        int cols = ReadDim(path, data, 12, "columns", allowZero: false);
        long expected = (long)count * rows * cols;
        if (expected > Array.MaxLength)
            throw new InvalidDataException($"{path}: {count} images of {rows}x{cols} = {expected} bytes is more than one array can hold");
        CheckLength(path, data.Length - header, expected, $"{count} images of {rows}x{cols}");
        return new IdxImages(count, rows, cols, data.AsSpan(header).ToArray());
    }

    /// <summary>Reads a labels file (magic 0x00000801). Gzip is detected by its magic bytes.</summary>
    public static byte[] ReadLabels(string path)
    {
        byte[] data = ReadContent(path);
        CheckMagic(path, data, LabelsMagic, LabelsMeaning);
        const int header = 8;
        if (data.Length < header) throw Truncated(path, "header", header, data.Length);
        int count = ReadDim(path, data, 4, "label count", allowZero: true);
        CheckLength(path, data.Length - header, count, $"{count} labels");
        return data.AsSpan(header).ToArray();
    }

    public static void WriteImages(string path, IdxImages images, bool gzip)
    {
        ArgumentNullException.ThrowIfNull(images);
        WriteImages(path, images.Count, images.Rows, images.Cols, images.Pixels, gzip);
    }

    /// <summary>Writes an images file atomically (temporary file, then rename).</summary>
    public static void WriteImages(string path, int count, int rows, int cols, ReadOnlySpan<byte> pixels, bool gzip)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cols);
        if ((long)count * rows * cols != pixels.Length)
            throw new ArgumentException($"{count} images of {rows}x{cols} need {(long)count * rows * cols} pixel bytes, got {pixels.Length}", nameof(pixels));
        Span<byte> header = stackalloc byte[16];
        BinaryPrimitives.WriteInt32BigEndian(header, ImagesMagic);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], count);
        BinaryPrimitives.WriteInt32BigEndian(header[8..], rows);
        BinaryPrimitives.WriteInt32BigEndian(header[12..], cols);
        Write(path, header, pixels, gzip);
    }

    /// <summary>Writes a labels file atomically (temporary file, then rename).</summary>
    public static void WriteLabels(string path, ReadOnlySpan<byte> labels, bool gzip)
    {
        Span<byte> header = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(header, LabelsMagic);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], labels.Length);
        Write(path, header, labels, gzip);
    }

    static void Write(string path, ReadOnlySpan<byte> header, ReadOnlySpan<byte> body, bool gzip)
    {
        using var file = AtomicFile.Create(path);
        if (gzip)
        {
            using var z = new GZipStream(file.Stream, CompressionLevel.SmallestSize, leaveOpen: true);
            z.Write(header);
            z.Write(body);
        }
        else
        {
            file.Stream.Write(header);
            file.Stream.Write(body);
        }
        file.Commit();
    }

    /// <summary>The file's bytes, decompressed when they start with the gzip magic 1f 8b. Decompression stops as soon as the
    /// output exceeds what the IDX header inside declares, so a small hostile file cannot make it allocate more than that
    /// (and what is allocated grows with the data actually decompressed, never with the header's claim).</summary>
    static byte[] ReadContent(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path)) throw new ArgumentException($"{Path.GetFullPath(path)} is a directory, not an IDX file", nameof(path));
        if (!File.Exists(path)) throw new FileNotFoundException($"IDX file not found: {Path.GetFullPath(path)}", path);
        byte[] raw = File.ReadAllBytes(path);
        if (raw.Length < 2 || raw[0] != 0x1f || raw[1] != 0x8b) return raw;
        using var m = new MemoryStream();
        try
        {
            using var z = new GZipStream(new MemoryStream(raw, writable: false), CompressionMode.Decompress);
            var buffer = new byte[1 << 16];
            long limit = Array.MaxLength;
            int read;
            while ((read = z.Read(buffer)) > 0)
            {
                m.Write(buffer, 0, read);
                if (limit == Array.MaxLength && m.Length >= 16) limit = DeclaredLength(m.GetBuffer().AsSpan(0, 16)) ?? limit;
                if (m.Length > limit)
                    throw new InvalidDataException($"{path}: the gzip stream decompresses to more than the {limit} bytes its IDX header declares");
            }
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(path, StringComparison.Ordinal))
        {
            // .NET reports every zlib data error as "unsupported compression method"; say what it is.
            throw new InvalidDataException($"{path}: corrupt gzip data after {m.Length} decompressed bytes (a damaged deflate block, or a gzip trailer whose CRC-32 or length does not match)", e);
        }
        return m.ToArray();
    }

    /// <summary>Header plus data bytes an IDX header declares (null when it is not one this reader knows).</summary>
    static long? DeclaredLength(ReadOnlySpan<byte> header)
    {
        int magic = BinaryPrimitives.ReadInt32BigEndian(header);
        uint a = BinaryPrimitives.ReadUInt32BigEndian(header[4..]), b = BinaryPrimitives.ReadUInt32BigEndian(header[8..]), c = BinaryPrimitives.ReadUInt32BigEndian(header[12..]);
        // In double, so that a hostile header cannot overflow the product; anything past Array.MaxLength is refused later anyway.
        double images = 16 + (double)a * b * c;
        return magic switch
        {
            ImagesMagic => images > Array.MaxLength ? Array.MaxLength : (long)images,
            LabelsMagic => 8 + (long)a,
            _ => null,
        };
    }

    static void CheckMagic(string path, byte[] data, int expected, string meaning)
    {
        if (data.Length < 4) throw Truncated(path, "magic number", 4, data.Length);
        int magic = BinaryPrimitives.ReadInt32BigEndian(data);
        if (magic != expected)
            throw new InvalidDataException($"{path}: magic 0x{magic:X8}{Describe(magic)}, expected 0x{expected:X8} ({meaning})");
    }

    static string Describe(int magic)
    {
        if ((magic & unchecked((int)0xFFFF0000)) != 0) return " (not an IDX file: the first two bytes must be zero)";
        string type = ((magic >> 8) & 0xFF) switch
        {
            0x08 => "unsigned byte", 0x09 => "signed byte", 0x0B => "int16", 0x0C => "int32",
            0x0D => "float32", 0x0E => "float64", _ => $"unknown type code 0x{(magic >> 8) & 0xFF:X2}",
        };
        int dims = magic & 0xFF;
        return $" ({type}, {dims} dimension{(dims == 1 ? "" : "s")})";
    }

    static int ReadDim(string path, byte[] data, int offset, string what, bool allowZero)
    {
        int v = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(offset));
        if (v < 0 || (v == 0 && !allowZero))
            throw new InvalidDataException($"{path}: {what} is {(uint)v}, expected {(allowZero ? "0" : "1")} to {int.MaxValue}");
        return v;
    }

    static void CheckLength(string path, long actual, long expected, string what)
    {
        if (actual < expected)
            throw new InvalidDataException($"{path}: truncated: the header declares {what} = {expected} data bytes, but only {actual} follow the header");
        if (actual > expected)
            throw new InvalidDataException($"{path}: the header declares {what} = {expected} data bytes, but {actual} follow the header ({actual - expected} extra)");
    }

    static InvalidDataException Truncated(string path, string what, int need, int have) =>
        new($"{path}: truncated: the {what} needs {need} bytes, the (decompressed) file has {have}");
}
