using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using NetDsl.Onnx;
using NetDsl.Onnx.Protobuf;
using NetDsl.Tests.IO;
using NetDsl.Tests.Networks;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Onnx;

[Network(1, 6, 6)] [Conv2D(4, 3, Name = "conv")] [BatchNorm(Name = "bn")] [Dense(3, Name = "fc")]
public partial class OnnxShapeA;

[Network(1, 6, 6)] [Conv2D(5, 3, Name = "conv")] [BatchNorm(Name = "bn")] [Dense(3, Name = "fc")]
public partial class OnnxShapeB;

[Network(3, 1, 1)] [Dense(2, Name = "fc")]
public partial class OnnxTinyLinear;

/// <summary>Weights read back from ONNX files: round trips through <see cref="OnnxModel.Save"/>, models written by another
/// producer (hand-built here as PyTorch writes them: float_data, int64 shape initializers, folded constants), and the
/// errors for files that do not match the declared network or are not ONNX at all.</summary>
public class OnnxImportTests
{
    [Theory]
    [InlineData("GradCheckD")]
    [InlineData("ResNet")]
    [InlineData("Segmentation UNet")]
    [InlineData("OnnxDenseTail")]
    public void ExportThenImportRestoresEveryParameterAndBuffer(string name)
    {
        using var dir = new TempDir();
        var source = OnnxExportTests.Create(name);
        var target = OnnxExportTests.Create(name);
        try
        {
            OnnxExportTests.Randomize(source, seed: 3);
            target.Initialize(99);
            Assert.NotEqual(source.Parameters.ToArray(), target.Parameters.ToArray());
            string path = dir.File("model.onnx");
            OnnxModel.Save(path, source, name);
            OnnxModel.Load(path, target, name);

            Assert.Equal(source.Parameters.ToArray(), target.Parameters.ToArray());
            Assert.Equal(source.Buffers.ToArray(), target.Buffers.ToArray());
            var x = OnnxExportTests.RandomInput(source, 2, seed: 5);
            Assert.Equal(source.Forward(x, 2).ToArray(), target.Forward(x, 2).ToArray());
            // Saving the loaded network writes the same bytes: nothing was lost or reordered.
            Assert.Equal(File.ReadAllBytes(path), OnnxModel.Export(target, name));
            Assert.Equal(["model.onnx"], dir.Names()); // no temporary file left behind
        }
        finally
        {
            (source as IDisposable)?.Dispose();
            (target as IDisposable)?.Dispose();
        }
    }

    [Fact]
    public void ReadReturnsTheInitializersUnderTheirPyTorchNames()
    {
        using var dir = new TempDir();
        using var net = new GoldenSmallCnn(1);
        OnnxExportTests.Randomize(net, seed: 4);
        string path = dir.File("small.onnx");
        OnnxModel.Save(path, net);
        var read = OnnxModel.Read(path);
        var declared = net.ParameterTensors.ToArray().Select(t => (t, net.Parameters.Slice(t.Offset, t.Length).ToArray()))
            .Concat(net.BufferTensors.ToArray().Select(t => (t, net.Buffers.Slice(t.Offset, t.Length).ToArray()))).ToArray();
        Assert.Equal(declared.Select(d => d.t.Name).Order(), read.Keys.Order());
        foreach (var (t, values) in declared)
        {
            Assert.Equal(t.Shape, read[t.Name].Shape);
            Assert.Equal(values, read[t.Name].Data);
        }
    }

    [Fact]
    public void OtherLayerNamesAreRefusedNameByNameAndNothingIsCopied()
    {
        using var dir = new TempDir();
        using var source = new TransferLearningSample.SourceNet(1);
        using var target = new TransferLearningSample.TargetNet(1);
        string path = dir.File("source.onnx");
        OnnxModel.Save(path, source, "SourceNet");
        var before = target.Parameters.ToArray();

        var e = Should.Throw<InvalidDataException>(() => OnnxModel.Load(path, target, "TargetNet"));
        e.Message.ShouldBe($"{path}: does not match TargetNet: missing 'newhead.weight' [5, 64]; missing 'newhead.bias' [5]; " +
                           "unexpected 'head.weight' [5, 64]; unexpected 'head.bias' [5]");
        Assert.Equal(before, target.Parameters.ToArray());
    }

    [Fact]
    public void OtherShapesAreRefusedShapeByShapeAndNothingIsCopied()
    {
        using var dir = new TempDir();
        using var a = new OnnxShapeA(1);
        using var b = new OnnxShapeB(1);
        string path = dir.File("a.onnx");
        OnnxModel.Save(path, a);
        var before = b.Parameters.ToArray();

        var e = Should.Throw<InvalidDataException>(() => OnnxModel.Load(path, b, nameof(OnnxShapeB)));
        e.Message.ShouldBe($"{path}: does not match OnnxShapeB: 'conv.weight' has shape [4, 1, 3, 3], expected [5, 1, 3, 3]; " +
                           "'conv.bias' has shape [4], expected [5]; 'bn.weight' has shape [4], expected [5]; 'bn.bias' has shape [4], expected [5]; " +
                           "'fc.weight' has shape [3, 64], expected [3, 80]; 'bn.running_mean' has shape [4], expected [5]; " +
                           "'bn.running_var' has shape [4], expected [5]");
        Assert.Equal(before, b.Parameters.ToArray());
        // Without a name the message says "the network".
        Should.Throw<InvalidDataException>(() => OnnxModel.Load(path, b)).Message.ShouldStartWith($"{path}: does not match the network: ");
    }

    /// <summary>A model as PyTorch's exporter writes one for <c>nn.Linear(3, 2)</c> named fc: the weight in float_data, the
    /// bias in raw_data, an int64 shape initializer and a folded float constant.</summary>
    static ModelProto ForeignLinearModel(bool withFoldedConstant, TensorProto.Types.DataType biasType = TensorProto.Types.DataType.Float)
    {
        var graph = new GraphProto { Name = "main_graph" };
        var weight = new TensorProto { Name = "fc.weight", DataType = (int)TensorProto.Types.DataType.Float };
        weight.Dims.Add([2, 3]);
        weight.FloatData.Add([1f, 2f, 3f, 4f, 5f, 6f]);
        var bias = new TensorProto { Name = "fc.bias", DataType = (int)biasType };
        bias.Dims.Add(2);
        bias.RawData = biasType == TensorProto.Types.DataType.Float
            ? ByteString.CopyFrom(MemoryMarshal.AsBytes<float>([0.5f, -0.5f]))
            : ByteString.CopyFrom(MemoryMarshal.AsBytes<double>([0.5, -0.5]));
        var shape = new TensorProto { Name = "onnx::Reshape_5", DataType = (int)TensorProto.Types.DataType.Int64 };
        shape.Dims.Add(2);
        shape.Int64Data.Add([-1, 3]);
        graph.Initializer.Add([weight, bias, shape]);
        if (withFoldedConstant)
        {
            var constant = new TensorProto { Name = "onnx::Mul_7", DataType = (int)TensorProto.Types.DataType.Float };
            constant.FloatData.Add(2f);
            graph.Initializer.Add(constant);
        }
        var model = new ModelProto { IrVersion = 8, ProducerName = "pytorch", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Version = 17 });
        return model;
    }

    [Fact]
    public void WeightsOfAnotherProducerLoadAndIntShapeInitializersAreSkipped()
    {
        using var dir = new TempDir();
        string path = dir.File("torch.onnx");
        File.WriteAllBytes(path, ForeignLinearModel(withFoldedConstant: false).ToByteArray());
        using var net = new OnnxTinyLinear(1);
        OnnxModel.Load(path, net);
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], net.FcWeight.ToArray());
        Assert.Equal([0.5f, -0.5f], net.FcBias.ToArray());
        // y = W x + b by hand for x = (1, 0, -1): (1 − 3 + 0.5, 4 − 6 − 0.5)
        Assert.Equal([-1.5f, -2.5f], net.Forward([1f, 0f, -1f], 1).ToArray());
    }

    [Fact]
    public void FoldedFloatConstantsAreUnexpectedUnlessAllowed()
    {
        using var dir = new TempDir();
        string path = dir.File("torch.onnx");
        File.WriteAllBytes(path, ForeignLinearModel(withFoldedConstant: true).ToByteArray());
        using var net = new OnnxTinyLinear(1);
        Should.Throw<InvalidDataException>(() => OnnxModel.Load(path, net, "OnnxTinyLinear"))
            .Message.ShouldBe($"{path}: does not match OnnxTinyLinear: unexpected 'onnx::Mul_7' []");
        OnnxModel.Load(path, net, "OnnxTinyLinear", allowUnexpected: true);
        Assert.Equal([0.5f, -0.5f], net.FcBias.ToArray());
    }

    [Fact]
    public void AWeightOfAnotherElementTypeIsNamed()
    {
        using var dir = new TempDir();
        string path = dir.File("double.onnx");
        File.WriteAllBytes(path, ForeignLinearModel(withFoldedConstant: false, TensorProto.Types.DataType.Double).ToByteArray());
        using var net = new OnnxTinyLinear(1);
        Should.Throw<InvalidDataException>(() => OnnxModel.Load(path, net, "OnnxTinyLinear"))
            .Message.ShouldBe($"{path}: does not match OnnxTinyLinear: 'fc.bias' has element type DOUBLE, expected FLOAT");
    }

    [Fact]
    public void MalformedFilesAreRefusedWithTheReason()
    {
        using var dir = new TempDir();
        using var net = new OnnxTinyLinear(1);
        string text = dir.File("text.onnx");
        File.WriteAllText(text, "not a model");
        Should.Throw<InvalidDataException>(() => OnnxModel.Load(text, net)).Message.ShouldStartWith($"{text}: not an ONNX model (the protobuf does not parse: ");

        string empty = dir.File("empty.onnx");
        File.WriteAllBytes(empty, []);
        Should.Throw<InvalidDataException>(() => OnnxModel.Load(empty, net)).Message.ShouldBe($"{empty}: the file is empty, not an ONNX model");

        string noGraph = dir.File("nograph.onnx");
        File.WriteAllBytes(noGraph, new ModelProto { IrVersion = 7 }.ToByteArray());
        Should.Throw<InvalidDataException>(() => OnnxModel.Load(noGraph, net)).Message.ShouldBe($"{noGraph}: the model has no graph (not an ONNX model?)");

        var model = ForeignLinearModel(withFoldedConstant: false);
        model.Graph.Initializer[1].RawData = ByteString.CopyFrom(new byte[4]);
        string truncated = dir.File("truncated.onnx");
        File.WriteAllBytes(truncated, model.ToByteArray());
        Should.Throw<InvalidDataException>(() => OnnxModel.Load(truncated, net))
            .Message.ShouldBe($"{truncated}: initializer 1 'fc.bias' has shape [2] FLOAT = 8 bytes, but 4 bytes of raw_data");

        model = ForeignLinearModel(withFoldedConstant: false);
        model.Graph.Initializer[0].FloatData.RemoveAt(5);
        string short5 = dir.File("short.onnx");
        File.WriteAllBytes(short5, model.ToByteArray());
        Should.Throw<InvalidDataException>(() => OnnxModel.Load(short5, net))
            .Message.ShouldBe($"{short5}: initializer 0 'fc.weight' has shape [2, 3] = 6 elements, but 5 float_data values");

        model = ForeignLinearModel(withFoldedConstant: false);
        model.Graph.Initializer[0].DataLocation = TensorProto.Types.DataLocation.External;
        string external = dir.File("external.onnx");
        File.WriteAllBytes(external, model.ToByteArray());
        Should.Throw<InvalidDataException>(() => OnnxModel.Load(external, net)).Message.ShouldContain("keeps its data in an external file");

        Should.Throw<FileNotFoundException>(() => OnnxModel.Load(dir.File("absent.onnx"), net)).Message.ShouldContain("ONNX file not found");
        Should.Throw<DirectoryNotFoundException>(() => OnnxModel.Save(Path.Combine(dir.Root, "no", "such", "m.onnx"), net));
    }

    [Theory]
    [InlineData("ResNet")]
    [InlineData("Segmentation UNet")]
    [InlineData("OnnxRankChanges")]
    public void OnnxRuntimeLoadsTheModelWithItsDeclaredInputsOutputsAndMetadata(string name)
    {
        var net = OnnxExportTests.Create(name);
        try
        {
            byte[] bytes = OnnxModel.Export(net, "MyNet", new Dictionary<string, string> { ["trained"] = "fashion-mnist" });
            using var session = new InferenceSession(bytes);
            var first = net.Layers[0];
            var last = net.Layers[^1];
            var input = Assert.Single(session.InputMetadata);
            Assert.Equal(OnnxModel.InputName, input.Key);
            Assert.Equal([-1, first.InputChannels, first.InputHeight, first.InputWidth], input.Value.Dimensions);
            var output = Assert.Single(session.OutputMetadata);
            Assert.Equal(OnnxModel.OutputName, output.Key);
            Assert.Equal(-1, output.Value.Dimensions[0]);
            Assert.Equal(last.OutputSize, output.Value.Dimensions.Skip(1).Aggregate(1, (a, b) => a * b));
            Assert.Equal("MyNet", session.ModelMetadata.GraphName);
            Assert.Equal("NetDsl", session.ModelMetadata.ProducerName);
            Assert.Equal("fashion-mnist", session.ModelMetadata.CustomMetadataMap["trained"]);

            // The file itself: opset 13 of the default domain, IR 7, and the initializers are exactly the network's tensors.
            var model = ModelProto.Parser.ParseFrom(bytes);
            Assert.Equal(OnnxModel.IrVersion, model.IrVersion);
            var opset = Assert.Single(model.OpsetImport);
            Assert.Equal(("", 13L), (opset.Domain, opset.Version));
            var tensors = net.ParameterTensors.ToArray().Concat(net.BufferTensors.ToArray()).ToArray();
            Assert.Equal(tensors.Select(t => t.Name), model.Graph.Initializer.Select(t => t.Name));
            Assert.Equal(tensors.Select(t => t.Shape.Select(d => (long)d)), model.Graph.Initializer.Select(t => t.Dims.AsEnumerable()));
        }
        finally { (net as IDisposable)?.Dispose(); }
    }
}
