using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Threading;
using CsCheck;
using NetDsl.IO;
using NetDsl.Tests.IO;
using NetDsl.Tests.Networks;
using NetDsl.Training;
using Shouldly;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Tests.Reliability;

/// <summary>
/// Property-based fuzzing of every file format NetDsl reads: valid files mutated (bits flipped, bytes overwritten with
/// extreme values, ranges cut, inserted, duplicated or truncated; for gzip, both the compressed bytes and the content
/// under a valid compression). Each outcome must be a correct load or <see cref="InvalidDataException"/> whose message
/// starts with the file's path and goes on to name the defect; anything else fails the property, as does a load that
/// takes over 2 s or allocates more than a few times the file's (decompressed) size. NETDSL_FILE_FUZZ_ITERATIONS sets the
/// count per format (default 10,000), NETDSL_FILE_FUZZ_SEED replays the seed CsCheck prints on a failure.
/// </summary>
public class HostileFileTests(ITestOutputHelper output)
{
    static int Iterations => int.TryParse(Environment.GetEnvironmentVariable("NETDSL_FILE_FUZZ_ITERATIONS"), out int n) ? n : 10_000;
    static string? Seed => Environment.GetEnvironmentVariable("NETDSL_FILE_FUZZ_SEED");

    /// <summary>A mutation of a valid file.</summary>
    static Gen<byte[]> Mutated(byte[] valid)
    {
        var one = Gen.Frequency(
            (4, Gen.Select(Gen.Int[0, valid.Length * 8 - 1], i => (Func<byte[], byte[]>)(b => { if (i / 8 < b.Length) b[i / 8] ^= (byte)(1 << (i % 8)); return b; }))),
            (3, Gen.Select(Gen.Int[0, valid.Length - 1], Gen.OneOf(Gen.Const(0u), Gen.Const(0xFFFFFFFFu), Gen.Const(0x7FFFFFFFu), Gen.Const(0x80000000u), Gen.UInt), Gen.Int[1, 8],
                (at, v, width) => (Func<byte[], byte[]>)(b => { for (int k = 0; k < width && at + k < b.Length; k++) b[at + k] = (byte)(v >> (8 * (k % 4))); return b; }))),
            (2, Gen.Select(Gen.Int[0, valid.Length], n => (Func<byte[], byte[]>)(b => b.AsSpan(0, Math.Min(n, b.Length)).ToArray()))),
            (1, Gen.Select(Gen.Int[0, valid.Length], Gen.Byte.Array[1, 64], (at, ins) => (Func<byte[], byte[]>)(b => { at = Math.Min(at, b.Length); return [.. b.AsSpan(0, at), .. ins, .. b.AsSpan(at)]; }))),
            (1, Gen.Select(Gen.Int[0, valid.Length], Gen.Int[1, 64], (at, n) => (Func<byte[], byte[]>)(b => { at = Math.Min(at, b.Length); n = Math.Min(n, b.Length - at); return [.. b.AsSpan(0, at), .. b.AsSpan(at + n)]; }))),
            (1, Gen.Select(Gen.Int[0, valid.Length], Gen.Int[1, 256], (at, n) => (Func<byte[], byte[]>)(b => { at = Math.Min(at, b.Length); n = Math.Min(n, b.Length - at); return [.. b.AsSpan(0, at + n), .. b.AsSpan(at, n), .. b.AsSpan(at + n)]; }))),
            (1, Gen.Byte.Array[0, 64].Select(tail => (Func<byte[], byte[]>)(b => [.. b, .. tail]))));
        return one.Array[1, 4].Select(ms => ms.Aggregate((byte[])valid.Clone(), (b, m) => m(b)));
    }

    /// <summary>Runs <paramref name="load"/> on each mutated file; returns outcome counts.</summary>
    ConcurrentDictionary<string, int> Fuzz(string format, Gen<byte[]> files, Func<string, byte[], long> load, Func<byte[], long> sizeBound)
    {
        var outcomes = new ConcurrentDictionary<string, int>();
        var unexpected = new ConcurrentQueue<string>();
        using var dir = new TempDir();
        int cases = 0;
        double slowest = 0;
        var clock = Stopwatch.StartNew();
        files.Sample(bytes =>
        {
            string path = dir.File($"case-{Environment.CurrentManagedThreadId}{(format.Contains("gzip") ? ".gz" : "")}");
            File.WriteAllBytes(path, bytes);
            long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            var t = Stopwatch.StartNew();
            string outcome;
            try
            {
                load(path, bytes);
                outcome = "loaded";
            }
            catch (InvalidDataException e) when (e.Message.StartsWith(path + ":", StringComparison.Ordinal) && e.Message.Length > path.Length + 8)
            {
                outcome = "refused: " + Kind(e.Message[(path.Length + 1)..]);
            }
            catch (Exception e)
            {
                unexpected.Enqueue($"{e.GetType().Name}: {e.Message}");
                throw;
            }
            double ms = t.Elapsed.TotalMilliseconds;
            long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            InterlockedMax(ref slowest, ms);
            ms.ShouldBeLessThan(2000, $"{format}: one load took {ms:F0} ms");
            long bound = sizeBound(bytes);
            allocated.ShouldBeLessThan(bound, $"{format}: a {bytes.Length}-byte file made the loader allocate {allocated} bytes ({outcome})");
            outcomes.AddOrUpdate(outcome, 1, (_, c) => c + 1);
            Interlocked.Increment(ref cases);
        }, iter: Iterations, threads: 2, seed: Seed);
        output.WriteLine($"{format}: {cases:N0} mutated files in {clock.Elapsed.TotalSeconds:F1} s (slowest load {slowest:F1} ms), 0 unexpected outcomes");
        foreach (var (o, c) in outcomes.OrderByDescending(kv => kv.Value)) output.WriteLine($"  {c,6:N0}  {o}");
        unexpected.ShouldBeEmpty();
        cases.ShouldBe(Iterations);
        return outcomes;
    }

    /// <summary>The defect without the numbers that vary from case to case, to group outcomes.</summary>
    static string Kind(string defect)
    {
        var words = defect.Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(7)
            .Select(w => w.Any(char.IsDigit) || w.StartsWith('\'') || w.StartsWith('[') ? "#" : w);
        return string.Join(' ', words);
    }

    static void InterlockedMax(ref double target, double value)
    {
        double seen;
        while (value > (seen = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen) { }
    }

    [Fact]
    public void SafeTensorsFilesAreLoadedCorrectlyOrRefusedNamingTheFileAndTheDefect()
    {
        using var dir = new TempDir();
        using var source = new TinyConv(2, seed: 3, workers: 1);
        SafeTensors.Save(dir.File("valid.safetensors"), source);
        byte[] valid = File.ReadAllBytes(dir.File("valid.safetensors"));
        int dataStart = 8 + (int)BitConverter.ToUInt64(valid, 0);
        var outcomes = Fuzz("safetensors", Mutated(valid), (path, bytes) =>
        {
            using var net = new TinyConv(2, workers: 1);
            SafeTensors.Load(path, net);
            // When only the data section changed, the loaded values must be the file's floats at the original offsets.
            if (bytes.Length == valid.Length && bytes.AsSpan(0, dataStart).SequenceEqual(valid.AsSpan(0, dataStart)))
                net.Parameters.ToArray().ShouldBe(Floats(bytes.AsSpan(dataStart)));
            return 0;
        }, bytes => 4L * bytes.Length + (1 << 20));
        outcomes.ShouldContainKey("loaded");
    }

    [Fact]
    public void IdxFilesRawAndGzipAreLoadedCorrectlyOrRefusedNamingTheFileAndTheDefect()
    {
        using var dir = new TempDir();
        var pixels = Enumerable.Range(0, 6 * 5 * 4).Select(i => (byte)(i * 7)).ToArray();
        Idx.WriteImages(dir.File("raw"), 6, 5, 4, pixels, gzip: false);
        Idx.WriteLabels(dir.File("labels"), [1, 2, 3, 4, 5, 6], gzip: false);
        byte[] raw = File.ReadAllBytes(dir.File("raw")), labels = File.ReadAllBytes(dir.File("labels"));

        Fuzz("IDX images, raw", Mutated(raw), (path, bytes) => Check(Idx.ReadImages(path), bytes), bytes => 4L * bytes.Length + (1 << 20));
        Fuzz("IDX labels, raw", Mutated(labels), (path, bytes) =>
        {
            Idx.ReadLabels(path).ShouldBe(bytes[8..]);
            return 0;
        }, bytes => 4L * bytes.Length + (1 << 20));

        // gzip: mutations of the compressed bytes, and valid compressions of mutated content.
        var gzipped = Gen.Frequency((1, Mutated(Gzip(raw))), (1, Mutated(raw).Select(Gzip)));
        Fuzz("IDX images, gzip", gzipped, (path, bytes) => Check(Idx.ReadImages(path), Gunzip(bytes)),
            bytes => 4L * Math.Max(bytes.Length, Gunzip(bytes).Length) + (1 << 20));
    }

    [Fact]
    public void CheckpointsAreLoadedCorrectlyOrRefusedNamingTheFileAndTheDefect()
    {
        using var dir = new TempDir();
        using var source = new TinyConv(2, seed: 3, workers: 1);
        var adam = new Adam(amsgrad: true);
        source.TrainStep(new float[2 * 64].Select((_, i) => i % 5 * 0.2f).ToArray(), [0, 2], new SoftmaxCrossEntropy(), adam);
        Checkpoint.Save(dir.File("valid.safetensors"), source, adam, new TrainingPosition(1, 2, 3, 4, 2, true, 0.5, 1, 1f));
        byte[] valid = File.ReadAllBytes(dir.File("valid.safetensors"));
        var outcomes = Fuzz("checkpoint", Mutated(valid), (path, bytes) =>
        {
            var checkpoint = Checkpoint.Load(path);
            using var net = new TinyConv(2, workers: 1);
            var optimizer = new Adam(amsgrad: true);
            checkpoint.Restore(net, optimizer);
            // The checksum makes any accepted file hold exactly the saved values.
            net.Parameters.ToArray().ShouldBe(source.Parameters.ToArray());
            optimizer.State("exp_avg_sq").ToArray().ShouldBe(adam.State("exp_avg_sq").ToArray());
            return 0;
        }, bytes => 8L * bytes.Length + (1 << 20));
        outcomes.ShouldContainKey("loaded");
    }

    /// <summary>ONNX models (the weight import): a load that succeeds must hold exactly the float initializers an independent
    /// parse of the mutated file finds (the generated protobuf classes, read here directly).</summary>
    [Fact]
    public void OnnxModelsAreLoadedCorrectlyOrRefusedNamingTheFileAndTheDefect()
    {
        using var dir = new TempDir();
        using var source = new TinyConv(2, seed: 3, workers: 1);
        NetDsl.Onnx.OnnxModel.Save(dir.File("valid.onnx"), source);
        byte[] valid = File.ReadAllBytes(dir.File("valid.onnx"));
        var outcomes = Fuzz("ONNX", Mutated(valid), (path, bytes) =>
        {
            using var net = new TinyConv(2, workers: 1);
            NetDsl.Onnx.OnnxModel.Load(path, net);
            var model = NetDsl.Onnx.Protobuf.ModelProto.Parser.ParseFrom(bytes);
            foreach (var t in net.ParameterTensors.ToArray())
            {
                var init = model.Graph.Initializer.Single(i => i.Name == t.Name);
                float[] expected = init.RawData.IsEmpty ? init.FloatData.ToArray() : Floats(init.RawData.Span);
                net.Parameters.Slice(t.Offset, t.Length).ToArray().ShouldBe(expected, $"{t.Name}");
            }
            return 0;
        }, bytes => 8L * bytes.Length + (1 << 20));
        outcomes.ShouldContainKey("loaded");
    }

    [Fact]
    public void MessagesSayWhatIsWrong()
    {
        using var dir = new TempDir();
        Should.Throw<ArgumentException>(() => SafeTensors.Load(dir.Root, new TinyConv(2, workers: 1))).Message.ShouldContain("is a directory, not a safetensors file");
        Should.Throw<ArgumentException>(() => Idx.ReadImages(dir.Root)).Message.ShouldContain("is a directory, not an IDX file");
        var pixels = new byte[3 * 4 * 4];
        Idx.WriteImages(dir.File("a.gz"), 3, 4, 4, pixels, gzip: true);
        var bytes = File.ReadAllBytes(dir.File("a.gz"));
        bytes[^6] ^= 0xFF; // the CRC-32 in the gzip trailer
        File.WriteAllBytes(dir.File("a.gz"), bytes);
        var e = Should.Throw<InvalidDataException>(() => Idx.ReadImages(dir.File("a.gz")));
        output.WriteLine(e.Message);
        e.Message.ShouldStartWith(dir.File("a.gz") + ": corrupt gzip data");
        e.Message.ShouldNotContain("unsupported compression method");
    }

    static long Check(IdxImages images, byte[] content)
    {
        (16 + (long)images.Count * images.Rows * images.Cols).ShouldBe(content.Length);
        images.Pixels.ShouldBe(content[16..]);
        return 0;
    }

    static float[] Floats(ReadOnlySpan<byte> bytes)
    {
        var f = new float[bytes.Length / 4];
        for (int i = 0; i < f.Length; i++) f[i] = BitConverter.ToSingle(bytes.Slice(4 * i, 4));
        return f;
    }

    static byte[] Gzip(byte[] content)
    {
        using var m = new MemoryStream();
        using (var z = new GZipStream(m, CompressionLevel.Fastest, leaveOpen: true)) z.Write(content);
        return m.ToArray();
    }

    /// <summary>What the test's own decompression gets (up to 64 MB; empty if the stream is broken from the start).</summary>
    static byte[] Gunzip(byte[] bytes)
    {
        if (bytes.Length < 2 || bytes[0] != 0x1f || bytes[1] != 0x8b) return bytes;
        using var m = new MemoryStream();
        try
        {
            using var z = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
            var buffer = new byte[1 << 16];
            int n;
            while (m.Length < (64 << 20) && (n = z.Read(buffer)) > 0) m.Write(buffer, 0, n);
        }
        catch (InvalidDataException) { }
        return m.ToArray();
    }
}
