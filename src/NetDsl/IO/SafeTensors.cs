using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace NetDsl.IO;

/// <summary>The safetensors format (https://github.com/huggingface/safetensors): u64 little-endian header length N,
/// N bytes of UTF-8 JSON header, then the raw little-endian tensor data. Only F32 tensors are supported.
/// Malformed files raise <see cref="InvalidDataException"/>; bad arguments raise <see cref="ArgumentException"/>.</summary>
public static class SafeTensors
{
    /// <summary>The reference implementation's limit; a larger header means a corrupt or hostile file.</summary>
    public const long MaxHeaderLength = 100_000_000;
    const string MetadataKey = "__metadata__";

    /// <summary>Writes every parameter tensor of <paramref name="network"/>, then its buffers (batch-norm running
    /// statistics), under their PyTorch names. <c>"format": "pt"</c> is added to the metadata unless it names a format itself.</summary>
    public static void Save(string path, INetwork network, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        var tensors = new List<(string Name, int[] Shape, ReadOnlyMemory<float> Data)>();
        AddAll(tensors, network.ParameterTensors, network.Parameters.ToArray(), "parameter");
        AddAll(tensors, network.BufferTensors, network.Buffers.ToArray(), "buffer");
        var meta = new Dictionary<string, string>(StringComparer.Ordinal);
        if (metadata is null || !metadata.ContainsKey("format")) meta["format"] = "pt";
        if (metadata is not null) foreach (var kv in metadata) meta[kv.Key] = kv.Value;
        Write(path, tensors, meta);
    }

    static void AddAll(List<(string Name, int[] Shape, ReadOnlyMemory<float> Data)> into, ReadOnlySpan<ParameterTensor> declared, float[] all, string what)
    {
        foreach (var t in declared)
        {
            if (t.Offset < 0 || t.Length < 0 || (long)t.Offset + t.Length > all.Length)
                throw new ArgumentException($"{what} tensor '{t.Name}' spans [{t.Offset}, {(long)t.Offset + t.Length}), outside the {all.Length} {what}s", "network");
            into.Add((t.Name, t.Shape, new ReadOnlyMemory<float>(all, t.Offset, t.Length)));
        }
    }

    /// <summary>Loads <paramref name="path"/> into <paramref name="network"/>'s parameters and buffers. The file must hold exactly the
    /// declared tensors with the declared shapes (a fully convolutional twin's converted weights also take the original's dense
    /// shape, <see cref="ParameterTensor.DenseShape"/>); every mismatch is reported in one exception and nothing is copied unless all match.
    /// <c>networkName</c> is only for the error message (INetwork carries no name).</summary>
    public static void Load(string path, INetwork network, string? networkName = null) => Load(path, network, networkName, allowNonFinite: false);

    /// <summary>As <see cref="Load(string, INetwork, string?)"/>; a tensor holding NaN/∞ is refused (with its name and index)
    /// unless <paramref name="allowNonFinite"/>.</summary>
    public static void Load(string path, INetwork network, string? networkName, bool allowNonFinite)
    {
        ArgumentNullException.ThrowIfNull(network);
        var file = Read(path);
        var declared = new List<(ParameterTensor Tensor, bool IsBuffer)>();
        foreach (var t in network.ParameterTensors) declared.Add((t, false));
        foreach (var t in network.BufferTensors) declared.Add((t, true));
        var problems = new List<string>();
        var declaredNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (t, _) in declared)
        {
            declaredNames.Add(t.Name);
            if (!file.TryGetValue(t.Name, out var found)) problems.Add($"missing '{t.Name}' {t.ShapeText}");
            else if (!found.Shape.AsSpan().SequenceEqual(t.Shape) && !(t.DenseShape is { } dense && found.Shape.AsSpan().SequenceEqual(dense)))
                problems.Add($"'{t.Name}' has shape {ShapeText(found.Shape)}, expected {t.ShapeText}" + (t.DenseShape is { } d ? $" or {ShapeText(d)}" : ""));
        }
        foreach (var kv in file)
            if (!declaredNames.Contains(kv.Key)) problems.Add($"unexpected '{kv.Key}' {ShapeText(kv.Value.Shape)}");
            else if (!allowNonFinite && NetDsl.Training.NonFiniteGuard.IndexOfNonFinite(kv.Value.Data) is var at and >= 0)
                problems.Add($"'{kv.Key}'[{at}] is {kv.Value.Data[at]} (NaN/∞ weights are refused; pass allowNonFinite: true to load them)");
        if (problems.Count > 0)
            throw new InvalidDataException($"{path}: does not match {networkName ?? network.GetType().Name}: {string.Join("; ", problems)}");

        foreach (var (t, isBuffer) in declared)
        {
            int length = isBuffer ? network.Buffers.Length : network.Parameters.Length;
            if (t.Offset < 0 || t.Length < 0 || (long)t.Offset + t.Length > length || file[t.Name].Data.Length != t.Length)
                throw new ArgumentException($"{(isBuffer ? "buffer" : "parameter")} tensor '{t.Name}' {t.ShapeText} at [{t.Offset}, {(long)t.Offset + t.Length}) does not fit the network's {length} {(isBuffer ? "buffers" : "parameters")}", nameof(network));
        }
        foreach (var (t, isBuffer) in declared)
            file[t.Name].Data.CopyTo((isBuffer ? network.Buffers : network.Parameters).Slice(t.Offset, t.Length));
    }

    /// <summary>Writes F32 tensors contiguously in the given order, atomically (temporary file, then rename).</summary>
    public static void Write(string path, IReadOnlyList<(string Name, int[] Shape, ReadOnlyMemory<float> Data)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var items = new (string Name, int[] Shape, ReadOnlyMemory<float> Data)[tensors.Count];
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < items.Length; i++)
        {
            var (name, shape, data) = items[i] = tensors[i];
            if (string.IsNullOrEmpty(name)) throw new ArgumentException($"tensor {i} has no name", nameof(tensors));
            if (name == MetadataKey) throw new ArgumentException($"'{MetadataKey}' is reserved and cannot name a tensor", nameof(tensors));
            if (!names.Add(name)) throw new ArgumentException($"tensor name '{name}' appears twice", nameof(tensors));
            ArgumentNullException.ThrowIfNull(shape);
            long elements = 1;
            foreach (int d in shape)
            {
                if (d < 0) throw new ArgumentException($"tensor '{name}' has negative dimension in shape {ShapeText(shape)}", nameof(tensors));
                elements *= d;
            }
            if (elements != data.Length)
                throw new ArgumentException($"tensor '{name}' has shape {ShapeText(shape)} = {elements} elements but {data.Length} values", nameof(tensors));
        }

        byte[] header = BuildHeader(items, metadata);
        using var file = AtomicFile.Create(path);
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
        file.Stream.Write(len);
        file.Stream.Write(header);
        foreach (var t in items) WriteFloats(file.Stream, t.Data.Span);
        file.Commit();
    }

    /// <summary>Reads and validates every tensor of a safetensors file (F32 only).</summary>
    public static Dictionary<string, (int[] Shape, float[] Data)> Read(string path) => Read(path, out _);

    /// <summary>Reads and validates every tensor of a safetensors file (F32 only), and its <c>__metadata__</c> (empty if absent).</summary>
    public static Dictionary<string, (int[] Shape, float[] Data)> Read(string path, out Dictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path)) throw new ArgumentException($"{Path.GetFullPath(path)} is a directory, not a safetensors file", nameof(path));
        if (!File.Exists(path)) throw new FileNotFoundException($"safetensors file not found: {Path.GetFullPath(path)}", path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long fileLength = stream.Length;
        if (fileLength < 8) throw new InvalidDataException($"{path}: the file is {fileLength} bytes, too short for the 8-byte header length");
        Span<byte> len = stackalloc byte[8];
        stream.ReadExactly(len);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(len);
        if (n > (ulong)(fileLength - 8))
            throw new InvalidDataException($"{path}: header length {n} exceeds the {fileLength - 8} bytes after the length field (truncated or not a safetensors file)");
        if (n > MaxHeaderLength)
            throw new InvalidDataException($"{path}: header length {n} exceeds the {MaxHeaderLength}-byte limit");
        if (n < 2) throw new InvalidDataException($"{path}: header length {n} is too short for a JSON object");
        byte[] header = new byte[(int)n];
        stream.ReadExactly(header);
        if (header[0] != (byte)'{') throw new InvalidDataException($"{path}: the header must start with '{{', found byte 0x{header[0]:X2}");

        long dataLength = fileLength - 8 - (long)n;
        if (dataLength > Array.MaxLength) throw new InvalidDataException($"{path}: the {dataLength}-byte data section is larger than this reader supports ({Array.MaxLength})");
        var entries = ParseHeader(path, header, out metadata);
        CheckLayout(path, entries, dataLength);

        byte[] data = new byte[dataLength];
        stream.ReadExactly(data);
        var result = new Dictionary<string, (int[] Shape, float[] Data)>(entries.Count, StringComparer.Ordinal);
        foreach (var e in entries)
        {
            var floats = new float[(e.End - e.Begin) / 4];
            ReadFloats(data.AsSpan((int)e.Begin, (int)(e.End - e.Begin)), floats);
            result.Add(e.Name, (e.Shape, floats));
        }
        return result;
    }

    sealed record Entry(string Name, int[] Shape, long Begin, long End);

    static List<Entry> ParseHeader(string path, byte[] header, out Dictionary<string, string> metadata)
    {
        metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var entries = new List<Entry>();
        if (!System.Text.Unicode.Utf8.IsValid(header)) throw new InvalidDataException($"{path}: the header is not valid UTF-8");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: the header is not valid JSON: {e.Message}", e); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: the header must be a JSON object, found {root.ValueKind}");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in root.EnumerateObject())
            {
                if (!seen.Add(p.Name)) throw new InvalidDataException($"{path}: the header names '{p.Name}' twice");
                if (p.Name == MetadataKey)
                {
                    if (p.Value.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: '{MetadataKey}' must be an object of strings, found {p.Value.ValueKind}");
                    foreach (var m in p.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String)
                            throw new InvalidDataException($"{path}: metadata '{m.Name}' must be a string, found {m.Value.ValueKind}");
                        metadata[m.Name] = m.Value.GetString()!;
                    }
                    continue;
                }
                entries.Add(ParseEntry(path, p.Name, p.Value));
            }
        }
        return entries;
    }

    static Entry ParseEntry(string path, string name, JsonElement v)
    {
        string where = $"{path}: tensor '{name}'";
        if (v.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{where} must be an object with dtype, shape and data_offsets, found {v.ValueKind}");
        if (!v.TryGetProperty("dtype", out var dtype) || dtype.ValueKind != JsonValueKind.String)
            throw new InvalidDataException($"{where} has no string 'dtype'");
        if (!v.TryGetProperty("shape", out var shapeEl) || shapeEl.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{where} has no array 'shape'");
        if (!v.TryGetProperty("data_offsets", out var offEl) || offEl.ValueKind != JsonValueKind.Array || offEl.GetArrayLength() != 2)
            throw new InvalidDataException($"{where} needs 'data_offsets' as [begin, end]");
        string dt = dtype.GetString()!;
        if (dt != "F32") throw new InvalidDataException($"{where} has dtype {dt}; only F32 is supported");

        var shape = new int[shapeEl.GetArrayLength()];
        long elements = 1;
        int i = 0;
        foreach (var d in shapeEl.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int dim) || dim < 0)
                throw new InvalidDataException($"{where} has shape entry {d.GetRawText()}; expected an integer from 0 to {int.MaxValue}");
            shape[i++] = dim;
            elements *= dim;
            if (elements > Array.MaxLength) throw new InvalidDataException($"{where} has shape {shapeEl.GetRawText()}, too many elements");
        }
        long begin = Offset(where, offEl[0]), end = Offset(where, offEl[1]);
        if (end < begin) throw new InvalidDataException($"{where} has data_offsets [{begin}, {end}]: end before begin");
        if (end - begin != elements * 4)
            throw new InvalidDataException($"{where} has shape {ShapeText(shape)} F32 = {elements * 4} bytes, but data_offsets [{begin}, {end}] span {end - begin}");
        return new Entry(name, shape, begin, end);
    }

    static long Offset(string where, JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out long v) || v < 0)
            throw new InvalidDataException($"{where} has data offset {e.GetRawText()}; expected a non-negative integer");
        return v;
    }

    /// <summary>Like the reference reader: tensors must tile the data section exactly (no overlaps, gaps or trailing bytes).</summary>
    static void CheckLayout(string path, List<Entry> entries, long dataLength)
    {
        var sorted = entries.ToArray();
        Array.Sort(sorted, (a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long at = 0;
        Entry? previous = null;
        foreach (var e in sorted)
        {
            if (e.End > dataLength)
                throw new InvalidDataException($"{path}: tensor '{e.Name}' data_offsets [{e.Begin}, {e.End}] run past the {dataLength}-byte data section (truncated file?)");
            if (e.Begin < at)
                throw new InvalidDataException($"{path}: tensor '{e.Name}' data_offsets [{e.Begin}, {e.End}] overlap tensor '{previous!.Name}' [{previous.Begin}, {previous.End}]");
            if (e.Begin > at)
                throw new InvalidDataException($"{path}: {e.Begin - at} unused bytes at data offset {at} before tensor '{e.Name}'");
            at = e.End;
            previous = e;
        }
        if (at != dataLength)
            throw new InvalidDataException($"{path}: {dataLength - at} bytes after the last tensor's data (ends at {at}, data section is {dataLength} bytes)");
    }

    static byte[] BuildHeader((string Name, int[] Shape, ReadOnlyMemory<float> Data)[] items, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject(MetadataKey);
                foreach (var kv in metadata) w.WriteString(kv.Key, kv.Value);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var t in items)
            {
                w.WriteStartObject(t.Name);
                w.WriteString("dtype", "F32");
                w.WriteStartArray("shape");
                foreach (int d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                offset += 4L * t.Data.Length;
                w.WriteNumberValue(offset);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
        int padded = (buffer.WrittenCount + 7) & ~7;
        byte[] header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return header;
    }

    static void WriteFloats(Stream s, ReadOnlySpan<float> values)
    {
        if (BitConverter.IsLittleEndian) { s.Write(MemoryMarshal.AsBytes(values)); return; }
        Span<byte> b = stackalloc byte[4];
        foreach (float v in values) { BinaryPrimitives.WriteSingleLittleEndian(b, v); s.Write(b); }
    }

    static void ReadFloats(ReadOnlySpan<byte> bytes, Span<float> into)
    {
        if (BitConverter.IsLittleEndian) { bytes.CopyTo(MemoryMarshal.AsBytes(into)); return; }
        for (int i = 0; i < into.Length; i++) into[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(4 * i)..]);
    }

    static string ShapeText(int[] shape) => "[" + string.Join(", ", shape) + "]";
}
