using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace NetDsl.Gpu;

/// <summary>
/// Device time per layer and pass, as a twin with <see cref="GpuNetworkBase.Profile"/> set records it: the twin puts a
/// profiling marker (a CUDA event) on its stream after the input upload, after each layer's forward and backward launches,
/// after the loss, the optimizer step and the output download, and charges each piece the device time since the marker
/// before it. The markers do not synchronize the stream, so the step runs as it would unprofiled; a piece's time includes
/// any wait of the device for the host's launches (at small batches, launch latency). A layer fused into its producer's
/// stores (a ReLU after a convolution) shows as near zero. The device must be created with profiling on
/// (<see cref="GpuDevice.Best(bool)"/>).
/// </summary>
public sealed class GpuProfile
{
    private readonly Dictionary<(string Name, string Pass), int> _index = new();
    private readonly List<Entry> _entries = new();

    /// <summary>One piece of a step: a layer's forward or backward launches, or the upload, loss, optimizer or download.</summary>
    /// <param name="Name">The layer's name (as declared), or <c>input</c>, <c>loss</c>, <c>optimizer</c>, <c>output</c>.</param>
    /// <param name="Pass"><c>forward</c>, <c>backward</c>, <c>upload</c>, <c>step</c> or <c>download</c>.</param>
    /// <param name="Calls">How many times it ran.</param>
    /// <param name="Total">Its device time over all calls.</param>
    public sealed record Entry(string Name, string Pass, int Calls, TimeSpan Total);

    /// <summary>The pieces in the order they first ran.</summary>
    public IReadOnlyList<Entry> Entries => _entries;

    /// <summary>The device time of all pieces.</summary>
    public TimeSpan Total => TimeSpan.FromTicks(_entries.Sum(e => e.Total.Ticks));

    /// <summary>Forgets what was recorded (after a warm-up, say).</summary>
    public void Clear()
    {
        _entries.Clear();
        _index.Clear();
    }

    internal void Add(string name, string pass, TimeSpan time)
    {
        if (_index.TryGetValue((name, pass), out int i))
            _entries[i] = _entries[i] with { Calls = _entries[i].Calls + 1, Total = _entries[i].Total + time };
        else
        {
            _index[(name, pass)] = _entries.Count;
            _entries.Add(new Entry(name, pass, 1, time));
        }
    }

    /// <summary>A table of the pieces, the costliest first: total milliseconds, microseconds per call, share of the total.</summary>
    public override string ToString()
    {
        double total = Math.Max(Total.TotalMilliseconds, 1e-12);
        var sb = new StringBuilder();
        sb.AppendLine($"{"piece",-28} {"calls",7} {"total ms",10} {"µs/call",9} {"share",7}");
        foreach (var e in _entries.OrderByDescending(e => e.Total))
            sb.AppendLine($"{e.Name + " " + e.Pass,-28} {e.Calls,7} {e.Total.TotalMilliseconds,10:F3} {e.Total.TotalMicroseconds / e.Calls,9:F1} {100 * e.Total.TotalMilliseconds / total,6:F1}%");
        sb.Append($"{"total",-28} {"",7} {Total.TotalMilliseconds,10:F3}");
        return sb.ToString();
    }
}
