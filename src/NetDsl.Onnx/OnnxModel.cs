using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using Google.Protobuf;
using NetDsl.IO;
using NetDsl.Onnx.Protobuf;

namespace NetDsl.Onnx;

/// <summary>ONNX (https://onnx.ai) export of a generated network and import of weights into one.
/// <see cref="Save"/> writes the whole inference graph (standard operators, opset <see cref="Opset"/>, NCHW, batch size
/// free as "N"), with every parameter and buffer as an initializer under its PyTorch name; batch norm uses its running
/// statistics and dropout is the identity. <see cref="Load"/> reads the initializers of any ONNX model (one exported from
/// PyTorch, or by <see cref="Save"/>) into a declared network, checked name by name and shape by shape, as
/// <see cref="SafeTensors.Load(string, INetwork, string?)"/> does. Malformed files raise <see cref="InvalidDataException"/>; bad arguments
/// <see cref="ArgumentException"/>; a layer kind without an ONNX form <see cref="NotSupportedException"/>.</summary>
public static class OnnxModel
{
    /// <summary>The operator set the graph is written for (the default ONNX domain).</summary>
    public const int Opset = 13;

    /// <summary>The ONNX IR version that goes with <see cref="Opset"/> 13.</summary>
    public const long IrVersion = 7;

    /// <summary>The graph's input: float [N, C, H, W].</summary>
    public const string InputName = "input";

    /// <summary>The graph's output: float [N, C, H, W] after a spatial layer, [N, C] after Dense, Flatten or Maxout.</summary>
    public const string OutputName = "output";

    /// <summary>Writes <paramref name="network"/> as an ONNX model, atomically (temporary file, then rename).</summary>
    /// <param name="path">The .onnx file to write.</param>
    /// <param name="network">Any generated network.</param>
    /// <param name="networkName">The graph's name (INetwork carries none); "network" if not given.</param>
    /// <param name="metadata">Key/value pairs stored as the model's metadata_props.</param>
    public static void Save(string path, INetwork network, string? networkName = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var model = Build(network, networkName, metadata);
        using var file = AtomicFile.Create(path);
        model.WriteTo(file.Stream);
        file.Commit();
    }

    /// <summary>The ONNX model of <paramref name="network"/> as bytes (what <see cref="Save"/> writes), e.g. for an
    /// ONNX Runtime session created from memory.</summary>
    public static byte[] Export(INetwork network, string? networkName = null, IReadOnlyDictionary<string, string>? metadata = null) =>
        Build(network, networkName, metadata).ToByteArray();

    internal static ModelProto Build(INetwork network, string? networkName, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentNullException.ThrowIfNull(network);
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "NetDsl",
            ProducerVersion = typeof(OnnxModel).Assembly.GetName().Version?.ToString() ?? "",
            Graph = OnnxGraphBuilder.Build(network, string.IsNullOrEmpty(networkName) ? "network" : networkName),
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        if (metadata is not null)
            foreach (var kv in metadata) model.MetadataProps.Add(new StringStringEntryProto { Key = kv.Key, Value = kv.Value });
        return model;
    }

    /// <summary>Loads the initializers of the ONNX model at <paramref name="path"/> into <paramref name="network"/>'s parameters and
    /// buffers. The model must hold exactly the declared tensors (float, with the declared shapes); every mismatch is reported in
    /// one exception and nothing is copied unless all match. Initializers of other element types (the int64 shapes and axes of
    /// reshapes) are not weights and are skipped.</summary>
    /// <param name="path">The .onnx file to read.</param>
    /// <param name="network">The declared network that receives the weights.</param>
    /// <param name="networkName">Only for the error message (INetwork carries no name).</param>
    /// <param name="allowUnexpected">Skip float initializers the network does not declare instead of refusing the file
    /// (exporters may add folded constants, e.g. PyTorch's "onnx::Mul_12").</param>
    public static void Load(string path, INetwork network, string? networkName = null, bool allowUnexpected = false)
    {
        ArgumentNullException.ThrowIfNull(network);
        var file = Read(path, out var skipped);
        var declared = new List<(ParameterTensor Tensor, bool IsBuffer)>();
        foreach (var t in network.ParameterTensors) declared.Add((t, false));
        foreach (var t in network.BufferTensors) declared.Add((t, true));
        var problems = new List<string>();
        var declaredNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (t, _) in declared)
        {
            declaredNames.Add(t.Name);
            if (skipped.TryGetValue(t.Name, out string? type)) problems.Add($"'{t.Name}' has element type {type}, expected FLOAT");
            else if (!file.TryGetValue(t.Name, out var found)) problems.Add($"missing '{t.Name}' {t.ShapeText}");
            else if (!found.Shape.AsSpan().SequenceEqual(t.Shape)) problems.Add($"'{t.Name}' has shape {ShapeText(found.Shape)}, expected {t.ShapeText}");
        }
        if (!allowUnexpected)
            foreach (var kv in file)
                if (!declaredNames.Contains(kv.Key)) problems.Add($"unexpected '{kv.Key}' {ShapeText(kv.Value.Shape)}");
        if (problems.Count > 0)
            throw new InvalidDataException($"{path}: does not match {networkName ?? "the network"}: {string.Join("; ", problems)}");

        foreach (var (t, isBuffer) in declared)
        {
            int length = isBuffer ? network.Buffers.Length : network.Parameters.Length;
            if (t.Offset < 0 || t.Length < 0 || (long)t.Offset + t.Length > length || file[t.Name].Data.Length != t.Length)
                throw new ArgumentException($"{(isBuffer ? "buffer" : "parameter")} tensor '{t.Name}' {t.ShapeText} at [{t.Offset}, {(long)t.Offset + t.Length}) does not fit the network's {length} {(isBuffer ? "buffers" : "parameters")}", nameof(network));
        }
        foreach (var (t, isBuffer) in declared)
            file[t.Name].Data.CopyTo((isBuffer ? network.Buffers : network.Parameters).Slice(t.Offset, t.Length));
    }

    /// <summary>Reads and validates every float initializer of an ONNX model (others, such as int64 shape constants, are skipped).</summary>
    public static Dictionary<string, (int[] Shape, float[] Data)> Read(string path) => Read(path, out _);

    static Dictionary<string, (int[] Shape, float[] Data)> Read(string path, out Dictionary<string, string> skipped)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX file not found: {Path.GetFullPath(path)}", path);
        ModelProto model;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read))
        {
            if (stream.Length == 0) throw new InvalidDataException($"{path}: the file is empty, not an ONNX model");
            try { model = ModelProto.Parser.ParseFrom(stream); }
            catch (InvalidProtocolBufferException e) { throw new InvalidDataException($"{path}: not an ONNX model (the protobuf does not parse: {e.Message})", e); }
        }
        if (model.Graph is null) throw new InvalidDataException($"{path}: the model has no graph (not an ONNX model?)");

        skipped = new Dictionary<string, string>(StringComparer.Ordinal);
        var result = new Dictionary<string, (int[] Shape, float[] Data)>(StringComparer.Ordinal);
        for (int i = 0; i < model.Graph.Initializer.Count; i++)
        {
            var t = model.Graph.Initializer[i];
            string where = $"{path}: initializer {i} '{t.Name}'";
            if (string.IsNullOrEmpty(t.Name)) throw new InvalidDataException($"{path}: initializer {i} has no name");
            if (result.ContainsKey(t.Name) || skipped.ContainsKey(t.Name)) throw new InvalidDataException($"{path}: the graph has two initializers named '{t.Name}'");
            if (t.DataType != (int)TensorProto.Types.DataType.Float)
            {
                skipped[t.Name] = Enum.IsDefined((TensorProto.Types.DataType)t.DataType) ? ((TensorProto.Types.DataType)t.DataType).ToString().ToUpperInvariant() : $"#{t.DataType}";
                continue;
            }
            if (t.DataLocation == TensorProto.Types.DataLocation.External)
                throw new InvalidDataException($"{where} keeps its data in an external file; only models with embedded data are supported (save the model without external data)");
            var shape = new int[t.Dims.Count];
            long elements = 1;
            for (int d = 0; d < shape.Length; d++)
            {
                long dim = t.Dims[d];
                if (dim < 0 || dim > int.MaxValue) throw new InvalidDataException($"{where} has dimension {dim} in shape {ShapeText(t.Dims)}; expected 0 to {int.MaxValue}");
                shape[d] = (int)dim;
                elements *= dim;
                if (elements > Array.MaxLength) throw new InvalidDataException($"{where} has shape {ShapeText(t.Dims)}, too many elements");
            }
            float[] data;
            if (!t.RawData.IsEmpty)
            {
                if (t.RawData.Length != elements * 4)
                    throw new InvalidDataException($"{where} has shape {ShapeText(shape)} FLOAT = {elements * 4} bytes, but {t.RawData.Length} bytes of raw_data");
                data = new float[elements];
                ReadFloats(t.RawData.Span, data);
            }
            else
            {
                if (t.FloatData.Count != elements)
                    throw new InvalidDataException($"{where} has shape {ShapeText(shape)} = {elements} elements, but {t.FloatData.Count} float_data values");
                data = new float[elements];
                t.FloatData.CopyTo(data, 0);
            }
            result.Add(t.Name, (shape, data));
        }
        return result;
    }

    static void ReadFloats(ReadOnlySpan<byte> bytes, Span<float> into)
    {
        if (BitConverter.IsLittleEndian) { bytes.CopyTo(MemoryMarshal.AsBytes(into)); return; }
        for (int i = 0; i < into.Length; i++) into[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(4 * i)..]);
    }

    static string ShapeText(IEnumerable<int> shape) => "[" + string.Join(", ", shape) + "]";

    static string ShapeText(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";
}
