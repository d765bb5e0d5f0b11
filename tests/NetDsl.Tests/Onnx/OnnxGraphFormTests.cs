using System;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NetDsl.Onnx;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Onnx;

/// <summary>A network given only by its layer table (no generated code): what the exporter reads. It lets the tests
/// describe graphs the generator does not declare yet (a chain layer reading an arbitrary earlier layer, N-way joins,
/// ceil-mode pooling, average pooling without counting the padding, L2 pooling).</summary>
sealed class LayerTableNetwork(int inC, int inH, int inW, params LayerInfo[] layers) : INetwork
{
    public int InputSize => inC * inH * inW;
    public int OutputSize => layers[^1].OutputSize;
    public int ParameterCount => 0;
    public int MaxBatch => 1;
    public Span<float> Parameters => Span<float>.Empty;
    public Span<float> Gradients => Span<float>.Empty;
    public ReadOnlySpan<ParameterTensor> ParameterTensors => Array.Empty<ParameterTensor>();
    public Span<float> Buffers => Span<float>.Empty;
    public ReadOnlySpan<ParameterTensor> BufferTensors => Array.Empty<ParameterTensor>();
    public ReadOnlySpan<LayerInfo> Layers => layers;
    public ReadOnlySpan<float> LayerOutput(int index) => throw new NotSupportedException();
    public ReadOnlySpan<float> LayerGradient(int index) => throw new NotSupportedException();
    public ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, int batch, bool training = false) => throw new NotSupportedException();
    public void Backward(ReadOnlySpan<float> outputGradient, int batch) => throw new NotSupportedException();
    public bool ComputeInputGradient { get; set; }
    public ReadOnlySpan<float> InputGradient => throw new NotSupportedException();
    public void ZeroGradients() { }
    public void Initialize(int seed) { }
}

public class OnnxGraphFormTests
{
    const int C = 2, H = 5, W = 5;

    static LayerInfo Layer(string name, string kind, (int C, int H, int W) output, (int C, int H, int W) input, int[] inputs, LayerArguments? arguments = null) =>
        new(name, kind, output.C, output.H, output.W, 0, 0)
        {
            Inputs = inputs, InputChannels = input.C, InputHeight = input.H, InputWidth = input.W, Arguments = arguments ?? LayerArguments.None,
        };

    static LayerArguments Window(int k, int stride, int pad, bool ceil = false, bool includePad = false) => new()
    {
        KernelHeight = k, KernelWidth = k, StrideHeight = stride, StrideWidth = stride,
        PadTop = pad, PadBottom = pad, PadLeft = pad, PadRight = pad, CeilMode = ceil, CountIncludePad = includePad,
    };

    /// <summary>Pooling by PyTorch's definition (ATen's AvgPool2d): window rows hstart = i·stride − pad up to
    /// min(hstart + k, h + pad); the divisor counting padding is that window's size; values are those inside the input.</summary>
    static float[] Pool(float[] x, int c, int h, int w, int k, int stride, int pad, int oh, int ow, Func<float[], int, float> reduce)
    {
        var y = new float[c * oh * ow];
        for (int ch = 0; ch < c; ch++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    int h0 = i * stride - pad, w0 = j * stride - pad;
                    int h1 = Math.Min(h0 + k, h + pad), w1 = Math.Min(w0 + k, w + pad);
                    int poolSize = (h1 - h0) * (w1 - w0);
                    var window = (from r in Enumerable.Range(Math.Max(h0, 0), Math.Min(h1, h) - Math.Max(h0, 0))
                                  from s in Enumerable.Range(Math.Max(w0, 0), Math.Min(w1, w) - Math.Max(w0, 0))
                                  select x[(ch * h + r) * w + s]).ToArray();
                    y[(ch * oh + i) * ow + j] = reduce(window, poolSize);
                }
        return y;
    }

    /// <summary>PyTorch's pooling output size with ceil_mode: the last window must start inside the input or its left padding.</summary>
    static int CeilOutput(int input, int k, int stride, int pad)
    {
        int output = (input + 2 * pad - k + stride - 1) / stride + 1;
        if ((output - 1) * stride >= input + pad) output--;
        return output;
    }

    [Fact]
    public void BranchesFromAnyLayerNWayJoinsAndPoolingOptionsRunAsDefined()
    {
        // input ─┬─ MaxPool k2 s2 ceil ───────────────────────────────┐
        //        ├─ AvgPool k3 s2 p1, padding not counted ───────────┤
        //        └─ ReLU(input) ─ Add(relu, input, input) ─ L2Pool k3 s2 p1 ─ Concat(max, avg, l2) → 6×3×3
        var net = new LayerTableNetwork(C, H, W,
            Layer("max", "MaxPool2D", (C, 3, 3), (C, H, W), [-1], Window(2, 2, 0, ceil: true)),
            Layer("avg", "AvgPool2D", (C, 3, 3), (C, H, W), [-1], Window(3, 2, 1, includePad: false)),
            Layer("relu", "ReLU", (C, H, W), (C, H, W), [-1]),
            Layer("sum", "Add", (C, H, W), (C, H, W), [2, -1, -1]),
            Layer("l2", "L2Pool2D", (C, 3, 3), (C, H, W), [3], Window(3, 2, 1)),
            Layer("cat", "Concat", (3 * C, 3, 3), (C, 3, 3), [0, 1, 4]));
        var rng = new Random(3);
        var x = Enumerable.Range(0, C * H * W).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();

        var max = Pool(x, C, H, W, 2, 2, 0, 3, 3, (v, _) => v.Max());
        var avg = Pool(x, C, H, W, 3, 2, 1, 3, 3, (v, _) => v.Sum() / v.Length);
        var sum = x.Select(v => Math.Max(v, 0f) + 2 * v).ToArray();
        var l2 = Pool(sum, C, H, W, 3, 2, 1, 3, 3, (v, _) => MathF.Sqrt(v.Sum(e => e * e)));
        var expected = max.Concat(avg).Concat(l2).ToArray();

        using var session = new InferenceSession(OnnxModel.Export(net));
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(OnnxModel.InputName, new DenseTensor<float>(x, [1, C, H, W]))]);
        var output = results.Single().AsTensor<float>();
        Assert.Equal([1, 3 * C, 3, 3], output.Dimensions.ToArray());
        var (maxAbs, maxRel) = OnnxExportTests.Compare(expected, output.ToArray());
        Assert.True(maxRel <= 1e-5, $"max abs {maxAbs:E2}, max rel {maxRel:E2}");

        var graph = OnnxModel.Build(net, null, null).Graph;
        Assert.Contains(graph.Node, n => n.OpType == "Sum" && n.Input.Count == 3);
        Assert.Contains(graph.Node, n => n.OpType == "LpPool");
        Assert.Contains(graph.Node, n => n.OpType == "Concat" && n.Input.Count == 3);
    }

    [Fact]
    public void TablesThatCannotBeExportedAreRefusedWithTheLayerNamed()
    {
        var unknown = new LayerTableNetwork(C, H, W, Layer("gelu1", "GELU", (C, H, W), (C, H, W), [-1]));
        Should.Throw<NotSupportedException>(() => OnnxModel.Export(unknown)).Message
            .ShouldBe("layer 'gelu1' (layer 1) is a GELU, which the ONNX exporter does not know");

        var later = new LayerTableNetwork(C, H, W, Layer("relu", "ReLU", (C, H, W), (C, H, W), [0]));
        Should.Throw<ArgumentException>(() => OnnxModel.Export(later)).Message
            .ShouldStartWith("layer 'relu' (layer 1) reads layer index 0; only earlier layers (or -1, the input) can be read");

        var wrongShape = new LayerTableNetwork(C, H, W,
            Layer("relu", "ReLU", (C, H, W), (C, H, W), [-1]),
            Layer("tanh", "Tanh", (C, 4, 4), (C, 4, 4), [0]));
        Should.Throw<ArgumentException>(() => OnnxModel.Export(wrongShape)).Message
            .ShouldStartWith("layer 'tanh' (layer 2) declares input 2×4×4, but 'relu' outputs 2×5×5");

        var oldGenerator = new LayerTableNetwork(C, H, W, new LayerInfo("relu1", "ReLU", C, H, W, 0, 0));
        Should.Throw<ArgumentException>(() => OnnxModel.Export(oldGenerator)).Message
            .ShouldStartWith("layer 'relu1' lists no inputs: the network was generated by a NetDsl generator without LayerInfo.Inputs; rebuild it");

    }

    [Theory]
    [InlineData(6, 3, 2, 1)] // 6 + 2 − 3 = 5 rows of windows: ceil keeps a last window that hangs over the padding
    [InlineData(7, 2, 2, 1)] // the last window would start in the right padding: PyTorch drops it
    [InlineData(5, 3, 3, 0)]
    [InlineData(8, 3, 2, 1)]
    public void CeilModePoolingFollowsPyTorchOverhangAndDivisor(int size, int k, int stride, int pad)
    {
        int o = CeilOutput(size, k, stride, pad);
        var window = new LayerArguments { KernelHeight = k, KernelWidth = k, StrideHeight = stride, StrideWidth = stride,
            PadTop = pad, PadBottom = pad, PadLeft = pad, PadRight = pad, CeilMode = true };
        var pooled = (C, o, o);
        var input = (C, size, size);
        var net = new LayerTableNetwork(C, size, size,
            Layer("avg_counting", "AvgPool2D", pooled, input, [-1], window with { CountIncludePad = true }),
            Layer("avg", "AvgPool2D", pooled, input, [-1], window),
            Layer("max", "MaxPool2D", pooled, input, [-1], window),
            Layer("min", "MinPool2D", pooled, input, [-1], window),
            Layer("l2", "L2Pool2D", pooled, input, [-1], window),
            Layer("cat", "Concat", (5 * C, o, o), pooled, [0, 1, 2, 3, 4]));
        var rng = new Random(size * 31 + k);
        var x = Enumerable.Range(0, C * size * size).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
        var expected = Pool(x, C, size, size, k, stride, pad, o, o, (v, poolSize) => v.Sum() / poolSize)
            .Concat(Pool(x, C, size, size, k, stride, pad, o, o, (v, _) => v.Sum() / v.Length))
            .Concat(Pool(x, C, size, size, k, stride, pad, o, o, (v, _) => v.Max()))
            .Concat(Pool(x, C, size, size, k, stride, pad, o, o, (v, _) => v.Min()))
            .Concat(Pool(x, C, size, size, k, stride, pad, o, o, (v, _) => MathF.Sqrt(v.Sum(e => e * e)))).ToArray();

        using var session = new InferenceSession(OnnxModel.Export(net));
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(OnnxModel.InputName, new DenseTensor<float>(x, [1, C, size, size]))]);
        var output = results.Single().AsTensor<float>();
        Assert.Equal([1, 5 * C, o, o], output.Dimensions.ToArray());
        var (maxAbs, maxRel) = OnnxExportTests.Compare(expected, output.ToArray());
        Assert.True(maxRel <= 1e-5, $"max abs {maxAbs:E2}, max rel {maxRel:E2}");
    }

    [Fact]
    public void APoolingOutputSizeItsArgumentsCannotGiveIsRefused()
    {
        var net = new LayerTableNetwork(C, H, W, Layer("max", "MaxPool2D", (C, 3, 3), (C, H, W), [-1], Window(2, 2, 0)));
        Should.Throw<ArgumentException>(() => OnnxModel.Export(net)).Message
            .ShouldStartWith("layer 'max' (layer 1, MaxPool2D) outputs 3×3, more than its window 2×2, stride 2×2 and padding give without CeilMode");
    }

    [Fact]
    public void WithinChannelLrnIsRefusedWithTheLayerNamed()
    {
        using var net = new NetDsl.Tests.Networks.GradCheckNotesLayers(1);
        Should.Throw<NotSupportedException>(() => OnnxModel.Export(net)).Message
            .ShouldBe("layer 'lrn1' (layer 2) is a LocalResponseNorm with WithinChannel = true, which the ONNX exporter does not export (ONNX's LRN normalizes across channels only)");
    }

    [Fact]
    public void SumPoolingAndChannelMaxoutBecomeADepthwiseConvolutionAndAReduceMax()
    {
        var graph = OnnxModel.Build(new OnnxNotesLayers(1), null, null).Graph;
        Assert.Contains(graph.Node, n => n.OpType == "Conv" && n.Attribute.Any(a => a.Name == "group" && a.I == 4));
        Assert.Contains(graph.Node, n => n.OpType == "ReduceMax");
    }
}
