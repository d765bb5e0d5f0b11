using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using NetDsl.IO;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.IO;

/// <summary>A two-tensor network: "fc.weight" [2, 3] then "fc.bias" [2] in one flat buffer.</summary>
sealed class FakeNetwork : INetwork
{
    readonly float[] parameters;
    readonly float[] gradients;
    readonly ParameterTensor[] tensors;

    public FakeNetwork(params ParameterTensor[] tensors)
    {
        this.tensors = tensors;
        int n = tensors.Length == 0 ? 0 : tensors.Max(t => t.Offset + t.Length);
        parameters = new float[n];
        gradients = new float[n];
    }

    public static FakeNetwork Linear() => new(new ParameterTensor("fc.weight", [2, 3], 0, 6), new ParameterTensor("fc.bias", [2], 6, 2));

    public int InputSize => 3;
    public int OutputSize => 2;
    public int ParameterCount => parameters.Length;
    public int MaxBatch => 1;
    public Span<float> Parameters => parameters;
    public Span<float> Gradients => gradients;
    public ReadOnlySpan<ParameterTensor> ParameterTensors => tensors;
    public Span<float> Buffers => Span<float>.Empty;
    public ReadOnlySpan<ParameterTensor> BufferTensors => Array.Empty<ParameterTensor>();
    public ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, int batch, bool training = false) => throw new NotSupportedException();
    public void Backward(ReadOnlySpan<float> outputGradient, int batch) => throw new NotSupportedException();
    public ReadOnlySpan<float> InputGradient => throw new NotSupportedException();
    public ReadOnlySpan<LayerInfo> Layers => Array.Empty<LayerInfo>();
    public ReadOnlySpan<float> LayerOutput(int index) => throw new NotSupportedException();
    public ReadOnlySpan<float> LayerGradient(int index) => throw new NotSupportedException();
    public bool ComputeInputGradient { get; set; }
    public void ZeroGradients() => Array.Clear(gradients);
    public void Initialize(int seed)
    {
        for (int i = 0; i < parameters.Length; i++) parameters[i] = seed + i * 0.5f;
    }
}

/// <summary>Memory whose contents cannot be read: makes a writer fail halfway through the data section.</summary>
sealed class UnreadableMemory(int length) : MemoryManager<float>
{
    public override Span<float> GetSpan() => throw new IOException("simulated read failure");
    public override MemoryHandle Pin(int elementIndex = 0) => throw new NotSupportedException();
    public override void Unpin() { }
    protected override void Dispose(bool disposing) { }
    public override Memory<float> Memory => CreateMemory(length);
}

public sealed class SafeTensorsTests : IDisposable
{
    readonly TempDir dir = new();
    public void Dispose() => dir.Dispose();

    /// <summary>A safetensors file built from the spec: u64 LE header length, the header text as given, then the data.</summary>
    static byte[] Build(string header, params float[] values) => BuildRaw(header, values.SelectMany(v =>
    {
        var b = new byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(b, v);
        return b;
    }).ToArray());

    static byte[] BuildRaw(string header, byte[] data)
    {
        byte[] h = Encoding.UTF8.GetBytes(header);
        var file = new byte[8 + h.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)h.Length);
        h.CopyTo(file, 8);
        data.CopyTo(file, 8 + h.Length);
        return file;
    }

    string Put(string name, byte[] bytes)
    {
        string p = dir.File(name);
        File.WriteAllBytes(p, bytes);
        return p;
    }

    string PutHeader(string header, params float[] values) => Put("w.safetensors", Build(header, values));

    InvalidDataException Bad(string header, params float[] values)
    {
        string p = PutHeader(header, values);
        return Should.Throw<InvalidDataException>(() => SafeTensors.Read(p));
    }

    [Fact]
    public void ReadsHandBuiltFile()
    {
        // Header order differs from data order; whitespace and metadata as a Python writer may leave them.
        string p = PutHeader("""
            { "__metadata__": {"format": "pt", "note": "hand built"},
              "b": {"dtype": "F32", "shape": [3], "data_offsets": [16, 28]},
              "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]} }   
            """, 1f, -2f, 0.5f, 1e-3f, 7f, float.MaxValue, -0f);
        var t = SafeTensors.Read(p, out var meta);
        t.Keys.ShouldBe(new[] { "b", "a" }, ignoreOrder: true);
        t["a"].Shape.ShouldBe(new[] { 2, 2 });
        t["a"].Data.ShouldBe(new[] { 1f, -2f, 0.5f, 1e-3f });
        t["b"].Shape.ShouldBe(new[] { 3 });
        t["b"].Data.ShouldBe(new[] { 7f, float.MaxValue, -0f });
        meta.ShouldBe(new Dictionary<string, string> { ["format"] = "pt", ["note"] = "hand built" });
    }

    [Fact]
    public void ReadsScalarAndEmptyTensors()
    {
        var t = SafeTensors.Read(PutHeader("""{"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"e":{"dtype":"F32","shape":[0,5],"data_offsets":[4,4]}}""", 3.5f));
        t["s"].Shape.ShouldBeEmpty();
        t["s"].Data.ShouldBe(new[] { 3.5f });
        t["e"].Data.ShouldBeEmpty();
        t["e"].Shape.ShouldBe(new[] { 0, 5 });
    }

    // The Python binding's own test vectors (bindings/python/tests/test_simple.py), with I32 changed to F32.
    [Fact]
    public void WriterMatchesTheReferenceBytes()
    {
        string p = dir.File("ref.safetensors");
        SafeTensors.Write(p, [("test", new[] { 2, 2 }, new float[] { 0, 0, 0, 0 })]);
        byte[] expected = [(byte)'@', 0, 0, 0, 0, 0, 0, 0,
            .. Encoding.ASCII.GetBytes("""{"test":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}    """), .. new byte[16]];
        File.ReadAllBytes(p).ShouldBe(expected);
    }

    [Fact]
    public void ReadsTheReferenceFileWithMetadata()
    {
        byte[] file = [(byte)'f', 0, 0, 0, 0, 0, 0, 0,
            .. Encoding.ASCII.GetBytes("""{"__metadata__":{"framework":"pt"},"test1":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}       """),
            0, 0, 0x80, 0x3F, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0x40]; // 1, 2, 3, 4
        var t = SafeTensors.Read(Put("m.safetensors", file), out var meta);
        t["test1"].Data.ShouldBe(new[] { 1f, 2f, 3f, 4f });
        meta["framework"].ShouldBe("pt");
    }

    [Fact]
    public void RejectsOtherDtypesNamingThem()
    {
        byte[] file = [(byte)'<', 0, 0, 0, 0, 0, 0, 0,
            .. Encoding.ASCII.GetBytes("""{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}"""), .. new byte[16]];
        string p = Put("i32.safetensors", file);
        Should.Throw<InvalidDataException>(() => SafeTensors.Read(p)).Message.ShouldBe($"{p}: tensor 'test' has dtype I32; only F32 is supported");
        Bad("""{"h":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}""", 0f).Message.ShouldContain("tensor 'h' has dtype BF16; only F32 is supported");
    }

    [Fact]
    public void WriteThenReadRoundTripsWithAlignedHeader()
    {
        string p = dir.File("rt.safetensors");
        var meta = new Dictionary<string, string> { ["format"] = "pt", ["epoch"] = "3", ["quote\"d"] = "ünï\ncode" };
        SafeTensors.Write(p, [("x.weight", new[] { 1, 2, 3 }, new float[] { 1, 2, 3, 4, 5, float.NaN }), ("x.bias", new[] { 1 }, new float[] { -1 })], meta);
        byte[] raw = File.ReadAllBytes(p);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(raw);
        (n % 8).ShouldBe(0UL);
        ((ulong)raw.Length).ShouldBe(8 + n + 28);
        var t = SafeTensors.Read(p, out var back);
        back.ShouldBe(meta);
        t["x.weight"].Data.ShouldBe(new[] { 1f, 2, 3, 4, 5, float.NaN });
        t["x.bias"].Data.ShouldBe(new[] { -1f });
        dir.Names().ShouldBe(new[] { "rt.safetensors" });
    }

    [Fact]
    public void SaveAndLoadRoundTripThroughANetwork()
    {
        var a = FakeNetwork.Linear();
        a.Initialize(1);
        string p = dir.File("lin.safetensors");
        SafeTensors.Save(p, a, new Dictionary<string, string> { ["epochs"] = "2" });

        var t = SafeTensors.Read(p, out var meta);
        meta.ShouldBe(new Dictionary<string, string> { ["format"] = "pt", ["epochs"] = "2" });
        t["fc.weight"].Shape.ShouldBe(new[] { 2, 3 });
        t["fc.weight"].Data.ShouldBe(new[] { 1f, 1.5f, 2f, 2.5f, 3f, 3.5f });
        t["fc.bias"].Data.ShouldBe(new[] { 4f, 4.5f });

        var b = FakeNetwork.Linear();
        SafeTensors.Load(p, b);
        b.Parameters.ToArray().ShouldBe(a.Parameters.ToArray());
    }

    [Fact]
    public void SaveKeepsAnExplicitFormat()
    {
        var a = FakeNetwork.Linear();
        string p = dir.File("f.safetensors");
        SafeTensors.Save(p, a, new Dictionary<string, string> { ["format"] = "netdsl" });
        SafeTensors.Read(p, out var meta);
        meta.ShouldBe(new Dictionary<string, string> { ["format"] = "netdsl" });
    }

    [Fact]
    public void LoadListsEveryMismatchAndLoadsNothing()
    {
        string p = dir.File("weights.safetensors");
        SafeTensors.Write(p,
        [
            ("conv1.weight", new[] { 6, 1, 3, 3 }, new float[54]),
            ("fc4.weight", new[] { 10, 84 }, new float[840]),
            ("fc.bias", new[] { 2 }, new float[] { 9, 9 }),
        ]);
        var net = new FakeNetwork(
            new ParameterTensor("conv1.weight", [6, 1, 5, 5], 0, 150),
            new ParameterTensor("fc.bias", [2], 150, 2),
            new ParameterTensor("fc3.bias", [10], 152, 10));
        net.Initialize(5);
        float[] before = net.Parameters.ToArray();

        var e = Should.Throw<InvalidDataException>(() => SafeTensors.Load(p, net, "LeNet5"));
        e.Message.ShouldBe($"{p}: does not match LeNet5: 'conv1.weight' has shape [6, 1, 3, 3], expected [6, 1, 5, 5]; missing 'fc3.bias' [10]; unexpected 'fc4.weight' [10, 84]");
        net.Parameters.ToArray().ShouldBe(before);
        Should.Throw<InvalidDataException>(() => SafeTensors.Load(p, net)).Message.ShouldStartWith($"{p}: does not match FakeNetwork: ");
    }

    [Fact]
    public void LoadRejectsAFileWithExtraTensorsOnly()
    {
        var a = FakeNetwork.Linear();
        string p = dir.File("w.safetensors");
        SafeTensors.Write(p, [("fc.weight", new[] { 2, 3 }, new float[6]), ("fc.bias", new[] { 2 }, new float[2]), ("extra", new[] { 1 }, new float[1])]);
        Should.Throw<InvalidDataException>(() => SafeTensors.Load(p, a)).Message.ShouldBe($"{p}: does not match FakeNetwork: unexpected 'extra' [1]");
    }

    [Fact]
    public void LoadRejectsANetworkWhoseLayoutDoesNotFitItsBuffer()
    {
        string p = dir.File("w.safetensors");
        SafeTensors.Write(p, [("w", new[] { 2 }, new float[] { 1, 2 })]);
        var liar = new FakeNetwork(new ParameterTensor("w", [2], 0, 3));
        Should.Throw<ArgumentException>(() => SafeTensors.Load(p, liar)).Message.ShouldContain("parameter tensor 'w' [2] at [0, 3) does not fit");
        liar.Parameters.ToArray().ShouldAllBe(v => v == 0);
    }

    [Fact]
    public void MissingFileNamesThePath()
    {
        string p = dir.File("nope.safetensors");
        Should.Throw<FileNotFoundException>(() => SafeTensors.Read(p)).Message.ShouldBe($"safetensors file not found: {p}");
        Should.Throw<FileNotFoundException>(() => SafeTensors.Load(p, FakeNetwork.Linear()));
    }

    [Fact]
    public void TooShortForTheLengthField()
    {
        string p = Put("s", [1, 2, 3]);
        Should.Throw<InvalidDataException>(() => SafeTensors.Read(p)).Message.ShouldBe($"{p}: the file is 3 bytes, too short for the 8-byte header length");
    }

    [Fact]
    public void HeaderLengthBeyondTheFile()
    {
        byte[] file = Build("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 1f);
        string p = Put("t", file[..20]);
        Should.Throw<InvalidDataException>(() => SafeTensors.Read(p)).Message
            .ShouldBe($"{p}: header length 54 exceeds the 12 bytes after the length field (truncated or not a safetensors file)");
    }

    [Fact]
    public void HugeHeaderLengthIsRejected()
    {
        // A sparse 100 MB + a bit file whose header length claims all of it.
        string p = dir.File("huge");
        using (var f = new FileStream(p, FileMode.CreateNew))
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, 100_000_001);
            f.Write(len);
            f.SetLength(8 + 100_000_001);
        }
        Should.Throw<InvalidDataException>(() => SafeTensors.Read(p)).Message.ShouldBe($"{p}: header length 100000001 exceeds the 100000000-byte limit");
    }

    [Fact]
    public void NotAJsonObject()
    {
        Bad("[1,2]   ").Message.ShouldContain("the header must start with '{', found byte 0x5B");
        Bad("{").Message.ShouldContain("header length 1 is too short for a JSON object");
        Bad("{\"a\": {\"dtype\": \"F32\", ").Message.ShouldContain("the header is not valid JSON: ");
        Bad("{} {}").Message.ShouldContain("the header is not valid JSON: ");
    }

    [Fact]
    public void MalformedEntries()
    {
        Bad("""{"a":5}""").Message.ShouldContain("tensor 'a' must be an object with dtype, shape and data_offsets, found Number");
        Bad("""{"a":{"shape":[1],"data_offsets":[0,4]}}""", 0f).Message.ShouldContain("tensor 'a' has no string 'dtype'");
        Bad("""{"a":{"dtype":"F32","data_offsets":[0,4]}}""", 0f).Message.ShouldContain("tensor 'a' has no array 'shape'");
        Bad("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}""", 0f).Message.ShouldContain("tensor 'a' needs 'data_offsets' as [begin, end]");
        Bad("""{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", 0f).Message.ShouldContain("tensor 'a' has shape entry -1; expected an integer from 0 to 2147483647");
        Bad("""{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}""", 0f).Message.ShouldContain("shape entry 1.5");
        Bad("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,"4"]}}""", 0f).Message.ShouldContain("tensor 'a' has data offset \"4\"; expected a non-negative integer");
        Bad("""{"a":{"dtype":"F32","shape":[65536,65536],"data_offsets":[0,4]}}""", 0f).Message.ShouldContain("too many elements");
    }

    [Fact]
    public void MalformedMetadata()
    {
        Bad("""{"__metadata__":[1]}""").Message.ShouldContain("'__metadata__' must be an object of strings, found Array");
        Bad("""{"__metadata__":{"epoch":3}}""").Message.ShouldContain("metadata 'epoch' must be a string, found Number");
    }

    [Fact]
    public void DuplicateNames()
    {
        Bad("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 0f, 0f)
            .Message.ShouldContain("the header names 'a' twice");
    }

    [Fact]
    public void SizeMismatchBetweenShapeAndOffsets()
    {
        string p = PutHeader("""{"conv1.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}""", 1, 2, 3, 4, 5);
        Should.Throw<InvalidDataException>(() => SafeTensors.Read(p)).Message
            .ShouldBe($"{p}: tensor 'conv1.weight' has shape [2, 3] F32 = 24 bytes, but data_offsets [0, 20] span 20");
        Bad("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}""", 0f, 0f).Message.ShouldContain("data_offsets [8, 4]: end before begin");
    }

    [Fact]
    public void TruncatedData()
    {
        byte[] file = Build("""{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", 1, 2, 3, 4);
        string p = Put("t", file[..^3]);
        Should.Throw<InvalidDataException>(() => SafeTensors.Read(p)).Message
            .ShouldBe($"{p}: tensor 'a' data_offsets [0, 16] run past the 13-byte data section (truncated file?)");
    }

    [Fact]
    public void OverlappingTensors()
    {
        Bad("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 1, 2, 3)
            .Message.ShouldContain("tensor 'b' data_offsets [4, 12] overlap tensor 'a' [0, 8]");
    }

    [Fact]
    public void GapsAndTrailingBytes()
    {
        Bad("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 1, 2).Message.ShouldContain("4 unused bytes at data offset 0 before tensor 'a'");
        Bad("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 1, 2).Message
            .ShouldContain("4 bytes after the last tensor's data (ends at 4, data section is 8 bytes)");
    }

    [Fact]
    public void WriteValidatesBeforeTouchingTheFile()
    {
        string p = Put("w.safetensors", [1, 2, 3]);
        Should.Throw<ArgumentException>(() => SafeTensors.Write(p, [("a", new[] { 2, 3 }, new float[5])])).Message
            .ShouldContain("tensor 'a' has shape [2, 3] = 6 elements but 5 values");
        Should.Throw<ArgumentException>(() => SafeTensors.Write(p, [("a", new[] { 1 }, new float[1]), ("a", new[] { 1 }, new float[1])])).Message.ShouldContain("'a' appears twice");
        Should.Throw<ArgumentException>(() => SafeTensors.Write(p, [("__metadata__", new[] { 1 }, new float[1])])).Message.ShouldContain("reserved");
        Should.Throw<ArgumentException>(() => SafeTensors.Write(p, [("", new[] { 1 }, new float[1])])).Message.ShouldContain("tensor 0 has no name");
        Should.Throw<ArgumentException>(() => SafeTensors.Write(p, [("n", new[] { -1 }, new float[0])])).Message.ShouldContain("negative dimension");
        File.ReadAllBytes(p).ShouldBe(new byte[] { 1, 2, 3 });
        dir.Names().ShouldBe(new[] { "w.safetensors" });
    }

    [Fact]
    public void FailureHalfwayThroughTheDataKeepsTheOldFile()
    {
        string p = dir.File("w.safetensors");
        SafeTensors.Write(p, [("old", new[] { 1 }, new float[] { 42 })]);
        byte[] old = File.ReadAllBytes(p);
        var e = Should.Throw<IOException>(() => SafeTensors.Write(p,
            [("a", new[] { 1000 }, new float[1000]), ("b", new[] { 3 }, new UnreadableMemory(3).Memory)]));
        e.Message.ShouldBe("simulated read failure");
        File.ReadAllBytes(p).ShouldBe(old);
        dir.Names().ShouldBe(new[] { "w.safetensors" });
    }

    [Fact]
    public void SaveRejectsANetworkWhoseLayoutDoesNotFitItsBuffer()
    {
        string p = Put("w.safetensors", [7]);
        var liar = new FakeNetwork(new ParameterTensor("w", [2, 2], 0, 3));
        Should.Throw<ArgumentException>(() => SafeTensors.Save(p, liar)).Message.ShouldContain("tensor 'w' has shape [2, 2] = 4 elements but 3 values");
        var outside = new FakeNetwork(new ParameterTensor("w", [1], -1, 1));
        Should.Throw<ArgumentException>(() => SafeTensors.Save(p, outside)).Message.ShouldContain("parameter tensor 'w' spans [-1, 0), outside the 0 parameters");
        File.ReadAllBytes(p).ShouldBe(new byte[] { 7 });
        dir.Names().ShouldBe(new[] { "w.safetensors" });
    }
}
