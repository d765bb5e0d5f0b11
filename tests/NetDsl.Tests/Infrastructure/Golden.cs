using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using Xunit;

namespace NetDsl.Tests.Infrastructure;

/// <summary>A float32 tensor from a golden case (data, generated, or a summary of a big result).</summary>
public sealed class GoldenTensor
{
    public required int[] Shape { get; init; }
    public float[]? Data { get; init; }
    public long[]? Int64 { get; init; }
    public JsonElement? Summary { get; init; }
    public int Length => Shape.Aggregate(1, (a, b) => a * b);
    public float[] Floats => Data ?? throw new InvalidOperationException("tensor holds a summary, not data");
    public int[] Labels => Int64?.Select(v => checked((int)v)).ToArray() ?? throw new InvalidOperationException("not an int64 tensor");
}

/// <summary>One PyTorch-computed golden case, copied from shared/goldens into TestData/goldens.</summary>
public sealed class GoldenCase
{
    public required string Name { get; init; }
    public required JsonElement Config { get; init; }
    public Dictionary<string, GoldenTensor> Inputs { get; } = new();
    public Dictionary<string, GoldenTensor> Params { get; } = new();
    public Dictionary<string, GoldenTensor> Buffers { get; } = new();
    public Dictionary<string, GoldenTensor> GradOutput { get; } = new();
    public Dictionary<string, GoldenTensor> Outputs { get; } = new();
    public Dictionary<string, GoldenTensor> Grads { get; } = new();
    public Dictionary<string, GoldenTensor> AfterStep { get; } = new();

    public static string Directory => Path.Combine(AppContext.BaseDirectory, "TestData", "goldens");

    public static GoldenCase Load(string name)
    {
        string path = Path.Combine(Directory, name + ".json");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = doc.RootElement;
        var c = new GoldenCase { Name = name, Config = root.GetProperty("config").Clone() };
        Fill(root, "inputs", c.Inputs);
        Fill(root, "params", c.Params);
        Fill(root, "buffers", c.Buffers);
        Fill(root, "grad_output", c.GradOutput);
        Fill(root, "outputs", c.Outputs);
        Fill(root, "grads", c.Grads);
        Fill(root, "after_step", c.AfterStep);
        return c;
    }

    static void Fill(JsonElement root, string section, Dictionary<string, GoldenTensor> into)
    {
        if (!root.TryGetProperty(section, out var s) || s.ValueKind != JsonValueKind.Object) return;
        foreach (var p in s.EnumerateObject()) into[p.Name] = ReadTensor(p.Value);
    }

    public static GoldenTensor ReadTensor(JsonElement t)
    {
        int[] shape = t.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        string dtype = t.GetProperty("dtype").GetString()!;
        if (dtype == "int64")
            return new GoldenTensor { Shape = shape, Int64 = t.GetProperty("data").EnumerateArray().Select(e => e.GetInt64()).ToArray() };
        if (t.TryGetProperty("data", out var data))
            return new GoldenTensor { Shape = shape, Data = data.EnumerateArray().Select(e => e.GetSingle()).ToArray() };
        if (t.TryGetProperty("gen", out var gen))
        {
            var values = PortableGenerator.Generate(gen, shape.Aggregate(1, (a, b) => a * b));
            PortableGenerator.Verify(t.GetProperty("check"), values);
            return new GoldenTensor { Shape = shape, Data = values };
        }
        if (t.TryGetProperty("summary", out var summary))
            return new GoldenTensor { Shape = shape, Summary = summary.Clone() };
        throw new InvalidDataException("tensor has neither data, gen nor summary");
    }

    public static IEnumerable<object[]> Named(string prefix) =>
        System.IO.Directory.GetFiles(Directory, prefix + "*.json").Select(f => new object[] { Path.GetFileNameWithoutExtension(f) }).OrderBy(o => (string)o[0]);
}

/// <summary>The goldens' portable uniform generator (README: lowbias32 hash of the flat index).</summary>
public static class PortableGenerator
{
    public static uint LowBias32(uint x)
    {
        x ^= x >> 16; x *= 0x7feb352d; x ^= x >> 15; x *= 0x846ca68b; x ^= x >> 16;
        return x;
    }

    public static float[] Generate(JsonElement gen, int count)
    {
        uint seed = (uint)gen.GetProperty("seed").GetInt64();
        int scaleLog2 = gen.GetProperty("scale_log2").GetInt32();
        var values = new float[count];
        uint hs = LowBias32(seed);
        for (int i = 0; i < count; i++)
        {
            uint h = LowBias32(unchecked((uint)i + hs));
            values[i] = (float)(((long)(h >> 8) - (1L << 23)) * Math.Pow(2, scaleLog2 - 23));
        }
        return values;
    }

    public static void Verify(JsonElement check, float[] values)
    {
        double sum = values.Sum(v => (double)v);
        double want = check.GetProperty("sum").GetDouble();
        Assert.True(Math.Abs(sum - want) <= 1e-9 * Math.Max(1, Math.Abs(want)), $"generated tensor sum {sum} != check {want}");
        var first = check.GetProperty("first").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        for (int i = 0; i < first.Length; i++) Assert.Equal(first[i], values[i]);
    }
}

/// <summary>The goldens' tolerance: max|ours − golden| ≤ rel·max|golden| + abs.</summary>
public static class Close
{
    public static void All(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what, double rel = 1e-4, double abs = 1e-6)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        double maxRef = 0, maxErr = 0; int worst = -1;
        for (int i = 0; i < expected.Length; i++) maxRef = Math.Max(maxRef, Math.Abs(expected[i]));
        for (int i = 0; i < expected.Length; i++)
        {
            double e = Math.Abs((double)expected[i] - actual[i]);
            if (!(e <= maxErr) || double.IsNaN(actual[i])) { maxErr = double.IsNaN(actual[i]) ? double.PositiveInfinity : e; worst = i; }
        }
        double tol = rel * maxRef + abs;
        Assert.True(maxErr <= tol, $"{what}: max error {maxErr:G4} at [{worst}] (ours {(worst >= 0 ? actual[worst] : 0)}, golden {(worst >= 0 ? expected[worst] : 0)}) exceeds {tol:G4}");
    }
}

/// <summary>Checks a tensor against a golden summary (numel, sums, and sampled values), as the README prescribes for big LeNet-5 results.</summary>
public static class Summary
{
    public static void Matches(GoldenTensor golden, ReadOnlySpan<float> actual, string what)
    {
        var s = golden.Summary ?? throw new InvalidOperationException(what + ": golden holds data, not a summary");
        Assert.Equal(s.GetProperty("numel").GetInt32(), actual.Length);
        double sum = 0, abs = 0, sq = 0;
        foreach (float v in actual) { sum += v; abs += Math.Abs(v); sq += (double)v * v; }
        double absRef = s.GetProperty("abs_sum").GetDouble();
        void Near(string name, double ours, double expected) =>
            Assert.True(Math.Abs(ours - expected) <= 1e-4 * absRef, $"{what}: {name} {ours:G9}, golden {expected:G9} (tolerance 1e-4·abs_sum = {1e-4 * absRef:G3})");
        Near("sum", sum, s.GetProperty("sum").GetDouble());
        Near("abs_sum", abs, absRef);
        Near("sq_sum", sq, s.GetProperty("sq_sum").GetDouble());
        var index = s.GetProperty("sample_index").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var value = s.GetProperty("sample_value").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        double maxRef = Math.Max(Math.Abs(s.GetProperty("min").GetDouble()), Math.Abs(s.GetProperty("max").GetDouble()));
        for (int i = 0; i < index.Length; i++)
            Assert.True(Math.Abs(actual[index[i]] - value[i]) <= 1e-4 * maxRef + 1e-6,
                $"{what}[{index[i]}]: ours {actual[index[i]]:G9}, golden {value[i]:G9}");
    }

    public static void Compare(GoldenTensor golden, ReadOnlySpan<float> actual, string what)
    {
        if (golden.Data is not null) Close.All(golden.Data, actual, what);
        else Matches(golden, actual, what);
    }
}
