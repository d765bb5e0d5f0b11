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

    /// <summary>Pooling of one plane by its definition: the window's valid (unpadded) elements, reduced.</summary>
    static float[] Pool(float[] x, int c, int h, int w, int k, int stride, int pad, int oh, int ow, Func<float[], int, float> reduce)
    {
        var y = new float[c * oh * ow];
        for (int ch = 0; ch < c; ch++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    var window = (from r in Enumerable.Range(i * stride - pad, k)
                                  from s in Enumerable.Range(j * stride - pad, k)
                                  where r >= 0 && r < h && s >= 0 && s < w
                                  select x[(ch * h + r) * w + s]).ToArray();
                    y[(ch * oh + i) * ow + j] = reduce(window, k * k);
                }
        return y;
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

        var ceilL2 = new LayerTableNetwork(C, H, W, Layer("l2", "L2Pool2D", (C, 3, 3), (C, H, W), [-1], Window(2, 2, 0, ceil: true)));
        Should.Throw<NotSupportedException>(() => OnnxModel.Export(ceilL2)).Message.ShouldContain("ceil_mode only from opset 18");
    }
}
