using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using NetDsl.IO;

namespace NetDsl.Training;

/// <summary>Where a training run stands: the next batch to train and what the epoch has accumulated so far.</summary>
/// <param name="Epoch">The epoch of the next batch, counted from 0.</param>
/// <param name="Batch">The next batch within that epoch (0: the epoch has not started).</param>
/// <param name="Step">Optimizer steps taken over the whole run (the schedule's step counter).</param>
/// <param name="Seed">The sampler's and augmentation's seed (<see cref="TrainingOptions.Seed"/>).</param>
/// <param name="BatchSize">Samples per step: the sampler's position means nothing with another batch size.</param>
/// <param name="Shuffle">Whether the sampler shuffles.</param>
/// <param name="EpochLossSum">Σ loss·samples over the epoch's batches so far (for its report).</param>
/// <param name="EpochCorrect">Correct predictions over the epoch's batches so far.</param>
/// <param name="LearningRateScale">The factor the <see cref="NonFinitePolicy.RollBack"/> policy has applied so far (1 if none).</param>
public readonly record struct TrainingPosition(int Epoch, int Batch, long Step, int Seed, int BatchSize, bool Shuffle,
    double EpochLossSum, long EpochCorrect, float LearningRateScale);

/// <summary>
/// One training checkpoint, in one safetensors file (so any safetensors reader can open it): the network's parameters
/// (<c>param/conv1.weight</c>, ...) and buffers (<c>buffer/bn1.running_mean</c>, ...), the optimizer's state tensors under
/// PyTorch's names (<c>optim/exp_avg</c>, ...), and in the metadata: the format version, the network's class, the optimizer's
/// kind, settings, step count and learning rate, the dropout generator (key and step), the sampler and augmentation seed, the
/// <see cref="TrainingPosition"/>, and an FNV-1a 64 checksum over every tensor's name, shape and bits. Written atomically
/// (temporary file in the same folder, flushed to disk, renamed). Malformed or altered files raise
/// <see cref="InvalidDataException"/> naming the file and the defect.
/// </summary>
public sealed class Checkpoint
{
    /// <summary>The value of the <c>format</c> metadata entry.</summary>
    public const string Format = "netdsl-checkpoint";
    /// <summary>The version this code writes and reads.</summary>
    public const int Version = 1;

    Checkpoint(string path, Dictionary<string, (int[] Shape, float[] Data)> tensors, Dictionary<string, string> metadata)
    {
        Path = path; Tensors = tensors; Metadata = metadata;
        NetworkName = Get("network");
        OptimizerKind = Get("optimizer.kind");
        OptimizerSettings = Get("optimizer.settings");
        OptimizerStepCount = GetInt("optimizer.step_count", 0, int.MaxValue);
        LearningRate = GetFloat("optimizer.learning_rate");
        Dropout = new DropoutState(GetULong("dropout.key"), GetULong("dropout.step"));
        Position = new TrainingPosition(
            GetInt("position.epoch", 0, int.MaxValue), GetInt("position.batch", 0, int.MaxValue), GetLong("position.step"),
            GetInt("position.seed", int.MinValue, int.MaxValue), GetInt("position.batch_size", 1, int.MaxValue),
            Get("position.shuffle") switch { "true" => true, "false" => false, var v => throw Bad($"metadata 'position.shuffle' is '{v}', expected true or false") },
            GetDouble("position.epoch_loss_sum"), GetLong("position.epoch_correct"), GetFloat("position.lr_scale"));
        if (!(Position.LearningRateScale > 0) || !float.IsFinite(LearningRate) || LearningRate < 0)
            throw Bad($"learning rate {LearningRate} or its scale {Position.LearningRateScale} is not a finite positive number");
    }

    /// <summary>The file it was read from.</summary>
    public string Path { get; }
    public string NetworkName { get; }
    public string OptimizerKind { get; }
    public string OptimizerSettings { get; }
    public int OptimizerStepCount { get; }
    public float LearningRate { get; }
    public DropoutState Dropout { get; }
    public TrainingPosition Position { get; }
    /// <summary>Every tensor by its name in the file (<c>param/…</c>, <c>buffer/…</c>, <c>optim/…</c>).</summary>
    public IReadOnlyDictionary<string, (int[] Shape, float[] Data)> Tensors { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Writes a checkpoint of <paramref name="network"/> and <paramref name="optimizer"/> at <paramref name="position"/>
    /// to <paramref name="path"/>, atomically.</summary>
    public static void Save(string path, INetwork network, Optimizer optimizer, TrainingPosition position, string? networkName = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (!optimizer.CanCheckpoint)
            throw new ArgumentException($"optimizer {optimizer.Kind} cannot be checkpointed (its state is not known to NetDsl; CanCheckpoint is false)", nameof(optimizer));
        var tensors = new List<(string Name, int[] Shape, ReadOnlyMemory<float> Data)>();
        float[] parameters = network.Parameters.ToArray(), buffers = network.Buffers.ToArray();
        foreach (var t in network.ParameterTensors) tensors.Add(("param/" + t.Name, t.Shape, parameters.AsMemory(t.Offset, t.Length)));
        foreach (var t in network.BufferTensors) tensors.Add(("buffer/" + t.Name, t.Shape, buffers.AsMemory(t.Offset, t.Length)));
        foreach (var name in optimizer.StateNames)
        {
            var state = optimizer.State(name);
            if (!state.IsEmpty) tensors.Add(("optim/" + name, [state.Length], state.ToArray()));
        }
        var dropout = network.DropoutState;
        var meta = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = Format,
            ["version"] = Version.ToString(CultureInfo.InvariantCulture),
            ["network"] = networkName ?? network.GetType().Name,
            ["optimizer.kind"] = optimizer.Kind,
            ["optimizer.settings"] = optimizer.Settings,
            ["optimizer.step_count"] = Text(optimizer.StepCount),
            ["optimizer.learning_rate"] = optimizer.LearningRate.ToString("R", CultureInfo.InvariantCulture),
            ["dropout.key"] = Text(dropout.Key),
            ["dropout.step"] = Text(dropout.Step),
            ["position.epoch"] = Text(position.Epoch),
            ["position.batch"] = Text(position.Batch),
            ["position.step"] = Text(position.Step),
            ["position.seed"] = Text(position.Seed),
            ["position.batch_size"] = Text(position.BatchSize),
            ["position.shuffle"] = position.Shuffle ? "true" : "false",
            ["position.epoch_loss_sum"] = position.EpochLossSum.ToString("R", CultureInfo.InvariantCulture),
            ["position.epoch_correct"] = Text(position.EpochCorrect),
            ["position.lr_scale"] = position.LearningRateScale.ToString("R", CultureInfo.InvariantCulture),
            ["checksum"] = Checksum(tensors).ToString("x16", CultureInfo.InvariantCulture),
        };
        SafeTensors.Write(path, tensors, meta);
    }

    /// <summary>Reads and validates a checkpoint file (format, version, metadata, checksum); it is not yet applied to anything.</summary>
    public static Checkpoint Load(string path)
    {
        var tensors = SafeTensors.Read(path, out var metadata);
        if (!metadata.TryGetValue("format", out var format) || format != Format)
            throw new InvalidDataException($"{path}: not a NetDsl checkpoint (metadata 'format' is {(format is null ? "absent" : $"'{format}'")}, expected '{Format}')");
        if (!metadata.TryGetValue("version", out var version) || version != Version.ToString(CultureInfo.InvariantCulture))
            throw new InvalidDataException($"{path}: checkpoint version {version ?? "(absent)"}, this NetDsl reads version {Version}");
        var list = new List<(string Name, int[] Shape, ReadOnlyMemory<float> Data)>();
        foreach (var kv in tensors) list.Add((kv.Key, kv.Value.Shape, kv.Value.Data));
        // Header order, as written; a dictionary enumerates in insertion order here, and Read inserts in header order.
        string actual = Checksum(list).ToString("x16", CultureInfo.InvariantCulture);
        if (!metadata.TryGetValue("checksum", out var expected) || expected != actual)
            throw new InvalidDataException($"{path}: checksum {actual} of the tensors does not match the recorded {expected ?? "(absent)"}: the file was altered or damaged");
        return new Checkpoint(path, tensors, metadata);
    }

    /// <summary>Copies the parameters, buffers and dropout state into <paramref name="network"/> and the state into
    /// <paramref name="optimizer"/> (learning rate included). Refused, with every reason, when the network's tensors (names,
    /// shapes) or the optimizer's kind or settings differ, or when a value is NaN/∞; nothing is changed then.</summary>
    public void Restore(INetwork network, Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(optimizer);
        var problems = new List<string>();
        var expected = new HashSet<string>(StringComparer.Ordinal);
        void Check(ReadOnlySpan<ParameterTensor> declared, string prefix)
        {
            foreach (var t in declared)
            {
                string name = prefix + t.Name;
                expected.Add(name);
                if (!Tensors.TryGetValue(name, out var found)) problems.Add($"the network has {t.Name} {t.ShapeText}, the checkpoint does not");
                else if (!found.Shape.AsSpan().SequenceEqual(t.Shape)) problems.Add($"{t.Name} is {t.ShapeText} in the network, [{string.Join(", ", found.Shape)}] in the checkpoint");
                else
                {
                    int k = NonFiniteGuard.IndexOfNonFinite(found.Data);
                    if (k >= 0) problems.Add($"{t.Name}[{k}] is {found.Data[k]} in the checkpoint");
                }
            }
        }
        Check(network.ParameterTensors, "param/");
        Check(network.BufferTensors, "buffer/");
        foreach (var name in Tensors.Keys)
            if (!expected.Contains(name) && !name.StartsWith("optim/", StringComparison.Ordinal))
                problems.Add($"the checkpoint has {name}, the network does not");
        if (OptimizerKind != optimizer.Kind) problems.Add($"the checkpoint's optimizer is {OptimizerKind}, this run's is {optimizer.Kind}");
        else if (OptimizerSettings != optimizer.Settings) problems.Add($"the checkpoint's {OptimizerKind} has settings ({OptimizerSettings}), this run's ({optimizer.Settings})");
        if (!optimizer.CanCheckpoint) problems.Add($"optimizer {optimizer.Kind} cannot be checkpointed");
        var state = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var kv in Tensors)
            if (kv.Key.StartsWith("optim/", StringComparison.Ordinal)) state[kv.Key.Substring(6)] = kv.Value.Data;
        if (problems.Count == 0)
        {
            foreach (var name in optimizer.StateNames)
                if (!state.ContainsKey(name) && OptimizerStepCount > 0 && state.Count > 0) problems.Add($"the checkpoint lacks optimizer state '{name}'");
            foreach (var (name, data) in state)
            {
                bool known = false;
                foreach (var n in optimizer.StateNames) known |= n == name;
                if (!known) problems.Add($"the checkpoint has optimizer state '{name}', which {optimizer.Kind} ({optimizer.Settings}) does not keep");
                else if (data.Length != network.ParameterCount) problems.Add($"optimizer state '{name}' has {data.Length} floats, the network {network.ParameterCount} parameters");
                else if (NonFiniteGuard.IndexOfNonFinite(data) is var k and >= 0) problems.Add($"optimizer state '{name}'[{k}] is {data[k]}");
            }
        }
        if (problems.Count > 0)
            throw new InvalidDataException($"{Path}: cannot resume {network.GetType().Name} from this checkpoint (written for {NetworkName}): {string.Join("; ", problems)}");

        foreach (var t in network.ParameterTensors) Tensors["param/" + t.Name].Data.CopyTo(network.Parameters.Slice(t.Offset, t.Length));
        foreach (var t in network.BufferTensors) Tensors["buffer/" + t.Name].Data.CopyTo(network.Buffers.Slice(t.Offset, t.Length));
        network.DropoutState = Dropout;
        optimizer.SetState(OptimizerStepCount, state, network.ParameterCount);
        optimizer.LearningRate = LearningRate;
    }

    /// <summary>FNV-1a 64 over each tensor's name, shape and float bits, in order.</summary>
    static ulong Checksum(List<(string Name, int[] Shape, ReadOnlyMemory<float> Data)> tensors)
    {
        ulong h = 14695981039346656037UL;
        void Mix(uint v) { for (int b = 0; b < 4; b++) { h ^= (byte)(v >> (8 * b)); h *= 1099511628211UL; } }
        foreach (var (name, shape, data) in tensors)
        {
            foreach (char c in name) Mix(c);
            Mix((uint)shape.Length);
            foreach (int d in shape) Mix((uint)d);
            foreach (float f in data.Span) Mix(BitConverter.SingleToUInt32Bits(f));
        }
        return h;
    }

    static string Text(long v) => v.ToString(CultureInfo.InvariantCulture);
    static string Text(ulong v) => v.ToString(CultureInfo.InvariantCulture);

    InvalidDataException Bad(string defect) => new($"{Path}: {defect}");

    string Get(string key) => Metadata.TryGetValue(key, out var v) ? v : throw Bad($"metadata '{key}' is missing");

    int GetInt(string key, int min, int max)
    {
        string v = Get(key);
        if (!int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int x) || x < min || x > max)
            throw Bad($"metadata '{key}' is '{v}', expected an integer from {min} to {max}");
        return x;
    }

    long GetLong(string key)
    {
        string v = Get(key);
        if (!long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out long x)) throw Bad($"metadata '{key}' is '{v}', expected a non-negative integer");
        return x;
    }

    ulong GetULong(string key)
    {
        string v = Get(key);
        if (!ulong.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out ulong x)) throw Bad($"metadata '{key}' is '{v}', expected an unsigned integer");
        return x;
    }

    float GetFloat(string key)
    {
        string v = Get(key);
        if (!float.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out float x) || !float.IsFinite(x)) throw Bad($"metadata '{key}' is '{v}', expected a finite number");
        return x;
    }

    double GetDouble(string key)
    {
        string v = Get(key);
        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) || !double.IsFinite(x)) throw Bad($"metadata '{key}' is '{v}', expected a finite number");
        return x;
    }
}

/// <summary>When and where <see cref="Trainer.Fit(INetwork, NetDsl.Data.LabeledImages, NetDsl.Data.LabeledImages, Loss, Optimizer, TrainingOptions)"/> writes checkpoints.</summary>
public sealed class CheckpointOptions
{
    /// <summary>The folder of the checkpoint files <c>ckpt-&lt;step&gt;.safetensors</c> (created if missing).</summary>
    public required string Directory { get; init; }
    /// <summary>Write one every this many optimizer steps (0: only at the end of each epoch).</summary>
    public int EverySteps { get; init; }
    /// <summary>Write one at the end of every epoch.</summary>
    public bool EveryEpoch { get; init; } = true;
    /// <summary>How many of the newest checkpoints to keep; older ones are deleted after each save.</summary>
    public int Keep { get; init; } = 3;
}

/// <summary>A folder of checkpoints: numbered files, the newest kept, temporaries of a crashed save removed by the next save.</summary>
public static class CheckpointFolder
{
    const string Prefix = "ckpt-", Suffix = ".safetensors";

    /// <summary>The file name for a checkpoint after <paramref name="step"/> steps.</summary>
    public static string FileName(long step) => $"{Prefix}{step.ToString("D12", CultureInfo.InvariantCulture)}{Suffix}";

    /// <summary>The checkpoints in <paramref name="directory"/>, oldest first (empty when the folder does not exist).</summary>
    public static IReadOnlyList<string> List(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!System.IO.Directory.Exists(directory)) return [];
        var files = new List<string>();
        foreach (var f in System.IO.Directory.EnumerateFiles(directory, Prefix + "*" + Suffix))
        {
            string name = System.IO.Path.GetFileName(f);
            string digits = name.Substring(Prefix.Length, name.Length - Prefix.Length - Suffix.Length);
            if (digits.Length == 12 && long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out _)) files.Add(f);
        }
        files.Sort(StringComparer.Ordinal);
        return files;
    }

    /// <summary>The newest checkpoint in <paramref name="directory"/>, or null.</summary>
    public static string? Latest(string directory)
    {
        var all = List(directory);
        return all.Count == 0 ? null : all[^1];
    }

    /// <summary>Writes a checkpoint into the folder, after removing temporaries left by a save that crashed, then deletes all
    /// but the <paramref name="keep"/> newest. Returns the file's path. One writer per folder.</summary>
    public static string Save(string directory, int keep, INetwork network, Optimizer optimizer, TrainingPosition position)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentOutOfRangeException.ThrowIfLessThan(keep, 1);
        System.IO.Directory.CreateDirectory(directory);
        RemoveStaleTemporaries(directory);
        string path = System.IO.Path.Combine(directory, FileName(position.Step));
        Checkpoint.Save(path, network, optimizer, position);
        var all = List(directory);
        for (int i = 0; i < all.Count - keep; i++) File.Delete(all[i]);
        return path;
    }

    /// <summary>Deletes the temporary files an interrupted save left (<c>.ckpt-….tmp</c>); returns how many.</summary>
    public static int RemoveStaleTemporaries(string directory)
    {
        int n = 0;
        foreach (var f in System.IO.Directory.EnumerateFiles(directory, "." + Prefix + "*.tmp"))
        {
            try { File.Delete(f); n++; } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        return n;
    }
}
