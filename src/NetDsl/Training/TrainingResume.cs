using System;
using System.IO;

namespace NetDsl.Training;

/// <summary>The checks and the restore behind <see cref="TrainingOptions.ResumeFrom"/>, <see cref="TrainingOptions.Checkpoints"/>
/// and <see cref="TrainingOptions.NonFinite"/>, kept apart from the training loop.</summary>
internal static class TrainingResume
{
    public static void CheckOptions(INetwork network, Optimizer optimizer, TrainingOptions options)
    {
        if (options.Checkpoints is { } c)
        {
            if (string.IsNullOrWhiteSpace(c.Directory)) throw new ArgumentException("Checkpoints.Directory is empty", nameof(options));
            if (c.EverySteps < 0) throw new ArgumentOutOfRangeException(nameof(options), c.EverySteps, "Checkpoints.EverySteps must be 0 (epochs only) or more");
            if (c.Keep < 1) throw new ArgumentOutOfRangeException(nameof(options), c.Keep, "Checkpoints.Keep must be at least 1");
            if (!c.EveryEpoch && c.EverySteps == 0) throw new ArgumentException("Checkpoints: EveryEpoch is false and EverySteps is 0, so none would ever be written", nameof(options));
        }
        bool needsState = options.Checkpoints is not null || options.ResumeFrom is not null || options.NonFinite == NonFinitePolicy.RollBack;
        if (needsState && !optimizer.CanCheckpoint)
            throw new ArgumentException($"optimizer {optimizer.Kind} cannot be checkpointed (CanCheckpoint is false), which Checkpoints, ResumeFrom and NonFinite = RollBack need", nameof(optimizer));
        if (!Enum.IsDefined(options.NonFinite)) throw new ArgumentOutOfRangeException(nameof(options), options.NonFinite, "NonFinite must be Throw, SkipBatch, RollBack or Off");
        if (!(options.RollbackLearningRateFactor > 0 && options.RollbackLearningRateFactor < 1))
            throw new ArgumentOutOfRangeException(nameof(options), options.RollbackLearningRateFactor, "RollbackLearningRateFactor must be in (0, 1)");
        if (options.MaxRollbacks < 0) throw new ArgumentOutOfRangeException(nameof(options), options.MaxRollbacks, "MaxRollbacks must be at least 0");
    }

    /// <summary>Restores the checkpoint at <paramref name="path"/> (a file, or a folder's newest); null when a folder holds none.</summary>
    public static TrainingPosition? Restore(string path, INetwork network, Optimizer optimizer, TrainingPosition fresh)
    {
        string? file = path;
        if (Directory.Exists(path))
        {
            file = CheckpointFolder.Latest(path);
            if (file is null) return null;
        }
        else if (!File.Exists(path))
            throw new FileNotFoundException($"ResumeFrom: no checkpoint file or folder at {Path.GetFullPath(path)}", path);
        var checkpoint = Checkpoint.Load(file);
        var at = checkpoint.Position;
        string? mismatch =
            at.BatchSize != fresh.BatchSize ? $"batch size {at.BatchSize} in the checkpoint, {fresh.BatchSize} in this run" :
            at.Seed != fresh.Seed ? $"seed {at.Seed} in the checkpoint, {fresh.Seed} in this run" :
            at.Shuffle != fresh.Shuffle ? $"shuffle {at.Shuffle} in the checkpoint, {fresh.Shuffle} in this run" : null;
        if (mismatch is not null)
            throw new InvalidDataException($"{file}: cannot resume: {mismatch} (the sampler's position would mean other samples)");
        checkpoint.Restore(network, optimizer);
        return at;
    }
}
