using System;
using System.IO;
using System.IO.Compression;
using NetDsl.IO;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.IO;

public sealed class IdxTests : IDisposable
{
    readonly TempDir dir = new();
    public void Dispose() => dir.Dispose();

    // Two 2x3 images with pixels 0..11, laid out per the IDX spec by hand.
    static readonly byte[] ImagesFile =
    [
        0x00, 0x00, 0x08, 0x03,  0x00, 0x00, 0x00, 0x02,  0x00, 0x00, 0x00, 0x02,  0x00, 0x00, 0x00, 0x03,
        0, 1, 2, 3, 4, 5,  6, 7, 8, 9, 10, 255,
    ];

    static readonly byte[] LabelsFile = [0x00, 0x00, 0x08, 0x01, 0x00, 0x00, 0x00, 0x03, 7, 0, 9];

    string Put(string name, byte[] bytes)
    {
        string p = dir.File(name);
        File.WriteAllBytes(p, bytes);
        return p;
    }

    static byte[] Gzip(byte[] bytes)
    {
        var m = new MemoryStream();
        using (var z = new GZipStream(m, CompressionLevel.Optimal, leaveOpen: true)) z.Write(bytes);
        return m.ToArray();
    }

    [Fact]
    public void ReadsHandBuiltImages()
    {
        var images = Idx.ReadImages(Put("img", ImagesFile));
        images.Count.ShouldBe(2);
        images.Rows.ShouldBe(2);
        images.Cols.ShouldBe(3);
        images.Pixels.ShouldBe(new byte[] { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255 });
    }

    [Fact]
    public void ReadsHandBuiltLabels() =>
        Idx.ReadLabels(Put("lbl", LabelsFile)).ShouldBe(new byte[] { 7, 0, 9 });

    [Fact]
    public void DetectsGzipByMagicNotExtension()
    {
        Idx.ReadImages(Put("images.bin", Gzip(ImagesFile))).Pixels[11].ShouldBe((byte)255);
        Idx.ReadLabels(Put("labels-no-ext", Gzip(LabelsFile))).ShouldBe(new byte[] { 7, 0, 9 });
        // A .gz name on an uncompressed file is read as raw.
        Idx.ReadLabels(Put("labels.gz", LabelsFile)).ShouldBe(new byte[] { 7, 0, 9 });
    }

    [Fact]
    public void EmptySetsAreValid()
    {
        Idx.ReadLabels(Put("l", [0, 0, 8, 1, 0, 0, 0, 0])).ShouldBeEmpty();
        Idx.ReadImages(Put("i", [0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28])).Count.ShouldBe(0);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WriteProducesTheSpecBytesAndRoundTrips(bool gzip)
    {
        string img = dir.File("i.idx"), lbl = dir.File("l.idx");
        Idx.WriteImages(img, 2, 2, 3, ImagesFile.AsSpan(16), gzip);
        Idx.WriteLabels(lbl, [7, 0, 9], gzip);

        byte[] rawImg = File.ReadAllBytes(img), rawLbl = File.ReadAllBytes(lbl);
        if (gzip)
        {
            rawImg[..2].ShouldBe(new byte[] { 0x1f, 0x8b });
            rawImg = Gunzip(rawImg);
            rawLbl = Gunzip(rawLbl);
        }
        rawImg.ShouldBe(ImagesFile);
        rawLbl.ShouldBe(LabelsFile);

        var back = Idx.ReadImages(img);
        Idx.WriteImages(dir.File("again"), back, gzip: false);
        File.ReadAllBytes(dir.File("again")).ShouldBe(ImagesFile);
        dir.Names().ShouldBe(new[] { "again", "i.idx", "l.idx" }, ignoreOrder: true);
    }

    static byte[] Gunzip(byte[] bytes)
    {
        using var z = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
        var m = new MemoryStream();
        z.CopyTo(m);
        return m.ToArray();
    }

    [Fact]
    public void WriteReplacesAnExistingFile()
    {
        string p = Put("l", [1, 2, 3]);
        Idx.WriteLabels(p, [4], gzip: false);
        Idx.ReadLabels(p).ShouldBe(new byte[] { 4 });
        dir.Names().ShouldBe(new[] { "l" });
    }

    [Fact]
    public void FailedWriteKeepsTheOldFileAndLeavesNoTemporary()
    {
        string p = Put("i", ImagesFile);
        var e = Should.Throw<ArgumentException>(() => Idx.WriteImages(p, 3, 2, 3, new byte[12], gzip: true));
        e.Message.ShouldContain("3 images of 2x3 need 18 pixel bytes, got 12");
        File.ReadAllBytes(p).ShouldBe(ImagesFile);
        dir.Names().ShouldBe(new[] { "i" });
    }

    [Fact]
    public void FailedRenameLeavesNoTemporary()
    {
        // The target is a folder, so the final rename fails after the temporary file was written.
        string target = dir.File("taken");
        Directory.CreateDirectory(target);
        Should.Throw<IOException>(() => Idx.WriteLabels(target, [1, 2], gzip: false));
        dir.Names().ShouldBe(new[] { "taken" });
    }

    [Fact]
    public void WriteToMissingFolderNamesIt()
    {
        string p = Path.Combine(dir.Root, "nope", "x.gz");
        Should.Throw<DirectoryNotFoundException>(() => Idx.WriteLabels(p, [1], gzip: true)).Message.ShouldContain(Path.Combine(dir.Root, "nope"));
    }

    [Fact]
    public void MissingFileNamesThePath()
    {
        string p = dir.File("train-images-idx3-ubyte.gz");
        var e = Should.Throw<FileNotFoundException>(() => Idx.ReadImages(p));
        e.Message.ShouldBe($"IDX file not found: {p}");
        e.FileName.ShouldBe(p);
        Should.Throw<FileNotFoundException>(() => Idx.ReadLabels(p)).Message.ShouldContain(p);
    }

    [Fact]
    public void LabelsFileReadAsImagesIsRejectedByMagic()
    {
        string p = Put("train-images-idx3-ubyte.gz", Gzip(LabelsFile));
        Should.Throw<InvalidDataException>(() => Idx.ReadImages(p)).Message.ShouldBe(
            $"{p}: magic 0x00000801 (unsigned byte, 1 dimension), expected 0x00000803 (unsigned-byte images, 3 dimensions)");
    }

    [Fact]
    public void ImagesFileReadAsLabelsIsRejectedByMagic()
    {
        string p = Put("l", ImagesFile);
        Should.Throw<InvalidDataException>(() => Idx.ReadLabels(p)).Message.ShouldBe(
            $"{p}: magic 0x00000803 (unsigned byte, 3 dimensions), expected 0x00000801 (unsigned-byte labels, 1 dimension)");
    }

    [Fact]
    public void WrongTypeCodeIsDescribed()
    {
        byte[] floats = (byte[])ImagesFile.Clone();
        floats[2] = 0x0D;
        Should.Throw<InvalidDataException>(() => Idx.ReadImages(Put("f", floats))).Message
            .ShouldContain("magic 0x00000D03 (float32, 3 dimensions), expected 0x00000803");
    }

    [Fact]
    public void NonIdxFileIsRejected()
    {
        string p = Put("x.png", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        Should.Throw<InvalidDataException>(() => Idx.ReadLabels(p)).Message
            .ShouldBe($"{p}: magic 0x89504E47 (not an IDX file: the first two bytes must be zero), expected 0x00000801 (unsigned-byte labels, 1 dimension)");
    }

    [Fact]
    public void TooShortForMagic()
    {
        string p = Put("tiny", [0, 0]);
        Should.Throw<InvalidDataException>(() => Idx.ReadImages(p)).Message
            .ShouldBe($"{p}: truncated: the magic number needs 4 bytes, the (decompressed) file has 2");
        Should.Throw<InvalidDataException>(() => Idx.ReadLabels(Put("empty", []))).Message.ShouldContain("has 0");
    }

    [Fact]
    public void TruncatedHeader()
    {
        string p = Put("h", ImagesFile[..10]);
        Should.Throw<InvalidDataException>(() => Idx.ReadImages(p)).Message
            .ShouldBe($"{p}: truncated: the header needs 16 bytes, the (decompressed) file has 10");
        Should.Throw<InvalidDataException>(() => Idx.ReadLabels(Put("lh", LabelsFile[..6]))).Message
            .ShouldContain("the header needs 8 bytes, the (decompressed) file has 6");
    }

    [Fact]
    public void TruncatedImageData()
    {
        string p = Put("i.gz", Gzip(ImagesFile[..^5]));
        Should.Throw<InvalidDataException>(() => Idx.ReadImages(p)).Message
            .ShouldBe($"{p}: truncated: the header declares 2 images of 2x3 = 12 data bytes, but only 7 follow the header");
    }

    [Fact]
    public void TruncatedLabelData()
    {
        string p = Put("l", LabelsFile[..^1]);
        Should.Throw<InvalidDataException>(() => Idx.ReadLabels(p)).Message
            .ShouldBe($"{p}: truncated: the header declares 3 labels = 3 data bytes, but only 2 follow the header");
    }

    [Fact]
    public void TrailingBytesAreRejected()
    {
        string p = Put("l", [.. LabelsFile, 1, 2]);
        Should.Throw<InvalidDataException>(() => Idx.ReadLabels(p)).Message
            .ShouldBe($"{p}: the header declares 3 labels = 3 data bytes, but 5 follow the header (2 extra)");
    }

    [Fact]
    public void ZeroRowsAreRejected()
    {
        byte[] b = (byte[])ImagesFile.Clone();
        b[11] = 0;
        string p = Put("z", b);
        Should.Throw<InvalidDataException>(() => Idx.ReadImages(p)).Message.ShouldBe($"{p}: rows is 0, expected 1 to 2147483647");
    }

    [Fact]
    public void ZeroColumnsAreRejected()
    {
        byte[] b = (byte[])ImagesFile.Clone();
        b[15] = 0;
        Should.Throw<InvalidDataException>(() => Idx.ReadImages(Put("z", b))).Message.ShouldContain("columns is 0, expected 1 to 2147483647");
    }

    [Fact]
    public void NegativeCountIsRejected()
    {
        string p = Put("l", [0, 0, 8, 1, 0xFF, 0xFF, 0xFF, 0xFF]);
        Should.Throw<InvalidDataException>(() => Idx.ReadLabels(p)).Message.ShouldBe($"{p}: label count is 4294967295, expected 0 to 2147483647");
        byte[] b = (byte[])ImagesFile.Clone();
        b[4] = 0x80;
        Should.Throw<InvalidDataException>(() => Idx.ReadImages(Put("i", b))).Message.ShouldContain("image count is 2147483650, expected 0 to 2147483647");
    }

    [Fact]
    public void HugeDimensionsAreRejectedBeforeAllocating()
    {
        byte[] b = [0, 0, 8, 3, 0x7F, 0xFF, 0xFF, 0xFF, 0, 0, 0x10, 0, 0, 0, 0x10, 0];
        Should.Throw<InvalidDataException>(() => Idx.ReadImages(Put("big", b))).Message
            .ShouldContain("2147483647 images of 4096x4096 = 36028797002186752 bytes is more than one array can hold");
    }

    [Fact]
    public void CorruptGzipIsRejected()
    {
        byte[] gz = Gzip(ImagesFile);
        for (int i = 10; i < gz.Length - 8; i++) gz[i] ^= 0x5A;
        string p = Put("i.gz", gz);
        var e = Should.Throw<InvalidDataException>(() => Idx.ReadImages(p));
        e.Message.ShouldStartWith($"{p}: corrupt gzip data after ");
        e.Message.ShouldNotContain("unsupported compression method"); // what .NET says for every zlib data error
    }

    [Fact]
    public void TruncatedGzipIsRejected()
    {
        byte[] gz = Gzip(ImagesFile);
        string p = Put("i.gz", gz[..(gz.Length / 2)]);
        // Either the decompressor notices or the length check does; both name the file.
        Should.Throw<InvalidDataException>(() => Idx.ReadImages(p)).Message.ShouldStartWith(p + ":");
    }

    [Fact]
    public void WriteValidatesArguments()
    {
        Should.Throw<ArgumentOutOfRangeException>(() => Idx.WriteImages(dir.File("a"), 1, 0, 3, new byte[0], false));
        Should.Throw<ArgumentOutOfRangeException>(() => Idx.WriteImages(dir.File("a"), -1, 1, 1, new byte[0], false));
        Should.Throw<ArgumentException>(() => new IdxImages(2, 2, 2, new byte[7])).Message.ShouldContain("need 8 pixel bytes, got 7");
        dir.Names().ShouldBeEmpty();
    }
}
