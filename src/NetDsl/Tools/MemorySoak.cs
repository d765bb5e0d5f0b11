using System;
using System.Collections.Generic;
using System.Globalization;
using NetDsl.Training;

namespace NetDsl.Tools;

/// <summary>What <see cref="MemorySoak"/> recorded for one epoch.</summary>
/// <param name="Epoch">Counted from 1.</param>
/// <param name="ManagedHeap">Bytes in the managed heap after the epoch, after a full collection.</param>
/// <param name="WorkingSet">The process's working set after the epoch, in bytes.</param>
/// <param name="StepsMeasured">Steps whose allocations were measured (all but the epoch's first, which follows the evaluation).</param>
/// <param name="AllocatedBytes">Bytes allocated (all threads) over those steps.</param>
/// <param name="MostInOneStep">The most one of those steps allocated.</param>
public sealed record SoakEpoch(int Epoch, long ManagedHeap, long WorkingSet, int StepsMeasured, long AllocatedBytes, long MostInOneStep)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"epoch {Epoch,3}: managed heap {ManagedHeap / 1024.0,9:F1} KiB, working set {WorkingSet / 1048576.0,7:F1} MiB, " +
        $"{StepsMeasured} steps allocated {AllocatedBytes} bytes (most in one step: {MostInOneStep})");
}

/// <summary>
/// A memory soak for long training runs: pass <see cref="OnStep"/> and <see cref="OnEpoch"/> to <see cref="TrainingOptions"/>.
/// It measures the bytes every step allocates (<c>GC.GetTotalAllocatedBytes(precise: true)</c> between consecutive steps,
/// all threads, or with <see cref="AllThreads"/> off the training thread's) and, after each epoch, the managed heap after a full collection and the working set.
/// <see cref="Failures"/> lists every step from epoch <see cref="SteadyFromEpoch"/> on that allocated anything, and every
/// epoch after it whose heap or working set is above that epoch's by more than the tolerances.
/// </summary>
public sealed class MemorySoak
{
    long _lastAllocated = -1;
    int _epochSteps;
    long _epochAllocated, _epochMost;
    readonly List<SoakEpoch> _epochs = new();
    readonly List<string> _stepFailures = new();

    /// <summary>The epoch (from 1) after which the heap and working set must stay flat, and from which no step may allocate.</summary>
    public int SteadyFromEpoch { get; init; } = 2;
    /// <summary>How far the managed heap may rise above the steady epoch's (bytes): collections are not byte-exact.</summary>
    public long HeapTolerance { get; init; } = 256 * 1024;
    /// <summary>How far the working set may rise above the steady epoch's (bytes): the runtime's own pages come and go.</summary>
    public long WorkingSetTolerance { get; init; } = 16L * 1024 * 1024;

    /// <summary>Count the allocations of every thread (the default: the network's workers included), or only of the thread that
    /// trains (for hosts whose own threads allocate in the background, such as a test runner).</summary>
    public bool AllThreads { get; init; } = true;

    public IReadOnlyList<SoakEpoch> Epochs => _epochs;

    long Allocated() => AllThreads ? GC.GetTotalAllocatedBytes(precise: true) : GC.GetAllocatedBytesForCurrentThread();

    /// <summary>Called by <see cref="Trainer.Fit(INetwork, NetDsl.Data.LabeledImages, NetDsl.Data.LabeledImages, Loss, Optimizer, TrainingOptions)"/> before each optimizer update.</summary>
    public void OnStep(StepInfo step)
    {
        long now = Allocated();
        // The interval from the previous step covers one whole step: update, then the next forward and backward pass.
        if (_lastAllocated >= 0 && step.Batch > 0)
        {
            long bytes = now - _lastAllocated;
            _epochSteps++;
            _epochAllocated += bytes;
            _epochMost = Math.Max(_epochMost, bytes);
            if (bytes > 0 && step.Epoch + 1 >= SteadyFromEpoch && _stepFailures.Count < 20)
                _stepFailures.Add($"epoch {step.Epoch + 1}, step {step.Step}: allocated {bytes} bytes");
        }
        // Measured after the call above, so the soak's own bookkeeping is not counted.
        _lastAllocated = Allocated();
    }

    /// <summary>Called by <see cref="Trainer.Fit(INetwork, NetDsl.Data.LabeledImages, NetDsl.Data.LabeledImages, Loss, Optimizer, TrainingOptions)"/> after each epoch.</summary>
    public void OnEpoch(EpochReport report)
    {
        long heap = GC.GetTotalMemory(forceFullCollection: true);
        _epochs.Add(new SoakEpoch(report.Epoch, heap, Environment.WorkingSet, _epochSteps, _epochAllocated, _epochMost));
        _epochSteps = 0; _epochAllocated = 0; _epochMost = 0;
        _lastAllocated = -1; // the evaluation and this bookkeeping allocate; the next epoch's first step is not measured
    }

    /// <summary>Everything that broke the soak's rules (empty: it passed).</summary>
    public IReadOnlyList<string> Failures
    {
        get
        {
            var failures = new List<string>(_stepFailures);
            var steady = _epochs.Find(e => e.Epoch == SteadyFromEpoch);
            if (steady is null) return failures;
            foreach (var e in _epochs)
            {
                if (e.Epoch <= SteadyFromEpoch) continue;
                if (e.ManagedHeap > steady.ManagedHeap + HeapTolerance)
                    failures.Add($"epoch {e.Epoch}: managed heap {e.ManagedHeap} bytes, {e.ManagedHeap - steady.ManagedHeap} above epoch {SteadyFromEpoch}'s (tolerance {HeapTolerance})");
                if (e.WorkingSet > steady.WorkingSet + WorkingSetTolerance)
                    failures.Add($"epoch {e.Epoch}: working set {e.WorkingSet} bytes, {e.WorkingSet - steady.WorkingSet} above epoch {SteadyFromEpoch}'s (tolerance {WorkingSetTolerance})");
            }
            return failures;
        }
    }
}
