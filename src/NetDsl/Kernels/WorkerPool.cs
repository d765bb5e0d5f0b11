using System;
using System.Threading;

namespace NetDsl.Kernels;

/// <summary>
/// A fixed set of worker threads that run one body for every worker index, then wait for all.
/// Nothing is allocated per <see cref="Run(Action{int})"/>, and worker w always gets the same share of a batch,
/// so results are bit-identical run to run for a given worker count.
/// </summary>
public sealed class WorkerPool : IDisposable
{
    private readonly Thread[] _threads;
    private readonly ManualResetEventSlim[] _start;
    private readonly ManualResetEventSlim _done = new(false, spinCount: 2000);
    private Action<int>? _body;
    private int _pending;
    private Exception? _error;
    private volatile bool _disposed;

    public WorkerPool(int workers) : this(workers, nameof(WorkerPool)) { }

    /// <param name="workers">Threads, the calling one included.</param>
    /// <param name="owner">Named in the exception when the pool is used after <see cref="Dispose"/> (the network's class).</param>
    public WorkerPool(int workers, string owner)
    {
        if (workers < 1) throw new ArgumentOutOfRangeException(nameof(workers), workers, "worker count must be at least 1");
        ArgumentException.ThrowIfNullOrEmpty(owner);
        Owner = owner;
        Workers = workers;
        _threads = new Thread[workers - 1];
        _start = new ManualResetEventSlim[workers - 1];
        for (int i = 0; i < _threads.Length; i++)
        {
            _start[i] = new ManualResetEventSlim(false, spinCount: 2000);
            int index = i + 1;
            _threads[i] = new Thread(() => Loop(index)) { IsBackground = true, Name = "NetDsl worker " + index };
            _threads[i].Start();
        }
        // ManualResetEventSlim creates its lock object (24 bytes) the first time a wait has to block. On a busy machine that
        // first happens at some step of training, which then allocates; a short blocking wait here makes it now.
        if (_threads.Length > 0) _done.Wait(1);
    }

    /// <summary>What uses this pool, for messages.</summary>
    public string Owner { get; }

    /// <summary>Number of workers, the calling thread included.</summary>
    public int Workers { get; }

    /// <summary>How many fixed slices a batch is cut into when <see cref="DeterministicReduction"/> is on: each worker takes whole
    /// slices, and gradients are summed slice by slice in slice order, so 1, 2, 3 or 6 workers give bit-identical results
    /// (other counts too, with an uneven split; beyond 6, the extra workers idle). 6 = 2·3 keeps one, two, three and six workers evenly loaded.</summary>
    public const int DeterministicSlices = 6;

    /// <summary>When on, networks constructed afterwards split each batch into <see cref="DeterministicSlices"/> fixed slices
    /// whatever their worker count, so the same seed gives bit-identical weights on any machine (with the same instruction set);
    /// when off (the default), into one share per worker: results are then bit-identical for a given worker count only.
    /// Off by default because it cost 8–19 % of the Fashion-MNIST cnn's training at 1–2 threads in the benchmark (the
    /// issue's bar for on-by-default was 10 %). Read once, by each network's constructor.</summary>
    public static bool DeterministicReduction { get; set; }

    /// <summary>The slices a network with <paramref name="workers"/> workers cuts each batch into.</summary>
    public static int ReductionSlices(int workers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        return DeterministicReduction ? DeterministicSlices : workers;
    }

    /// <summary>The default: one worker per processor.</summary>
    public static int DefaultWorkers => Math.Max(1, Environment.ProcessorCount);

    /// <summary>Runs <paramref name="body"/>(w) for every w in [0, Workers), w = 0 on the calling thread.</summary>
    public void Run(Action<int> body)
    {
        ThrowIfDisposed();
        if (Workers == 1) { body(0); return; }
        _body = body;
        _error = null;
        _pending = Workers - 1;
        _done.Reset();
        for (int i = 0; i < _start.Length; i++) _start[i].Set();
        try { body(0); }
        catch (Exception e) { Interlocked.CompareExchange(ref _error, e, null); }
        _done.Wait();
        _body = null;
        if (_error is { } error) throw new AggregateException("a network worker failed", error);
    }

    /// <summary>
    /// As <see cref="Run(Action{int})"/> for a batch of <paramref name="items"/>; a single item runs every worker's body on
    /// the calling thread, in worker order (the same per-worker work and scratch, so the same results, without waking a thread).
    /// </summary>
    public void Run(Action<int> body, int items)
    {
        if (items > 1 || Workers == 1) { Run(body); return; }
        ThrowIfDisposed();
        for (int w = 0; w < Workers; w++) body(w);
    }

    private void ThrowIfDisposed()
    {
        if (_disposed) throw new ObjectDisposedException(Owner, $"{Owner} has been disposed (its worker threads are stopped); create a new {Owner} to run it again.");
    }

    private void Loop(int index)
    {
        var start = _start[index - 1];
        while (true)
        {
            start.Wait();
            start.Reset();
            if (_disposed) return;
            try { _body!(index); }
            catch (Exception e) { Interlocked.CompareExchange(ref _error, e, null); }
            if (Interlocked.Decrement(ref _pending) == 0) _done.Set();
        }
    }

    /// <summary>The share [start, end) of <paramref name="count"/> items that worker <paramref name="worker"/> of <paramref name="workers"/> takes.</summary>
    public static (int Start, int End) Share(int count, int worker, int workers) =>
        ((int)((long)count * worker / workers), (int)((long)count * (worker + 1) / workers));

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var s in _start) s.Set();
    }
}
