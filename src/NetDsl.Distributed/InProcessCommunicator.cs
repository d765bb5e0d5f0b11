using System;
using System.Numerics;
using System.Threading;

namespace NetDsl.Distributed;

/// <summary>
/// A communicator whose ranks are threads of one process, for tests and for single-process runs (<see cref="Create"/> with
/// size 1). Sums are taken in rank order, so every rank gets the same bits and runs are reproducible. Each rank must be
/// used by one thread; if a rank fails, <see cref="Abort"/> (which <see cref="Run{T}"/> calls) releases the others.
/// </summary>
public sealed class InProcessCommunicator : ICommunicator
{
    sealed class Group(int size)
    {
        public readonly Barrier Barrier = new(size);
        public readonly CancellationTokenSource Abort = new();
        public readonly Array?[] Slots = new Array?[size];
    }

    readonly Group group;

    InProcessCommunicator(Group group, int rank) { this.group = group; Rank = rank; }

    /// <summary><paramref name="size"/> communicators that form one group; give each to its own thread.</summary>
    public static InProcessCommunicator[] Create(int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        var group = new Group(size);
        var ranks = new InProcessCommunicator[size];
        for (int r = 0; r < size; r++) ranks[r] = new InProcessCommunicator(group, r);
        return ranks;
    }

    /// <summary>Runs <paramref name="body"/> on <paramref name="size"/> threads, one per rank, and returns each rank's result.
    /// The first failure aborts the group and is rethrown.</summary>
    public static T[] Run<T>(int size, Func<ICommunicator, T> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var ranks = Create(size);
        var results = new T[size];
        Exception? failure = null;
        var threads = new Thread[size];
        for (int r = 0; r < size; r++)
        {
            int rank = r;
            threads[r] = new Thread(() =>
            {
                try { results[rank] = body(ranks[rank]); }
                catch (Exception e)
                {
                    // The first error is the cause; the others are ranks released by the abort.
                    if (Interlocked.CompareExchange(ref failure, e, null) is null) ranks[rank].Abort();
                }
            }) { Name = $"rank {rank}", IsBackground = true };
            threads[r].Start();
        }
        foreach (var t in threads) t.Join();
        if (failure is not null) throw new AggregateException("a rank failed", failure);
        return results;
    }

    /// <inheritdoc/>
    public int Rank { get; }
    /// <inheritdoc/>
    public int Size => group.Slots.Length;

    /// <summary>Releases every rank waiting in a collective, with an <see cref="OperationCanceledException"/>.</summary>
    public void Abort() => group.Abort.Cancel();

    /// <inheritdoc/>
    public void AllreduceSum(Span<float> data) => Reduce(data, static (a, b) => a + b);
    /// <inheritdoc/>
    public void AllreduceSum(Span<double> data) => Reduce(data, static (a, b) => a + b);
    /// <inheritdoc/>
    public void AllreduceSum(Span<long> data) => Reduce(data, static (a, b) => a + b);
    /// <inheritdoc/>
    public void AllreduceMax(Span<double> data) => Reduce(data, static (a, b) => Math.Max(a, b));

    void Reduce<T>(Span<T> data, Func<T, T, T> op) where T : struct, INumber<T>
    {
        if (Size == 1) return;
        Deposit(data);
        // Every rank folds the same slots in rank order: the same bits everywhere.
        for (int r = 0; r < Size; r++)
            if (group.Slots[r]!.Length != data.Length)
                throw new ArgumentException($"rank {r} passed {group.Slots[r]!.Length} elements, rank {Rank} {data.Length}: every rank must pass the same length");
        ((T[])group.Slots[0]!).CopyTo(data);
        for (int r = 1; r < Size; r++)
        {
            var slot = (T[])group.Slots[r]!;
            for (int i = 0; i < data.Length; i++) data[i] = op(data[i], slot[i]);
        }
        Wait(); // nobody may overwrite a slot before all have read
    }

    /// <inheritdoc/>
    public void Broadcast(Span<float> data, int root = 0) => Bcast(data, root);
    /// <inheritdoc/>
    public void Broadcast(Span<byte> data, int root = 0) => Bcast(data, root);

    void Bcast<T>(Span<T> data, int root) where T : struct
    {
        if ((uint)root >= (uint)Size) throw new ArgumentOutOfRangeException(nameof(root), root, $"root must be a rank, 0 to {Size - 1}");
        if (Size == 1) return;
        Deposit(data);
        var source = (T[])group.Slots[root]!;
        if (source.Length != data.Length) throw new ArgumentException($"root {root} broadcasts {source.Length} elements, rank {Rank} expects {data.Length}");
        if (Rank != root) source.CopyTo(data);
        Wait();
    }

    /// <summary>Publishes a copy of this rank's data, then waits for every rank's.</summary>
    void Deposit<T>(Span<T> data) where T : struct
    {
        group.Slots[Rank] = data.ToArray();
        Wait();
    }

    /// <inheritdoc/>
    public void Barrier() => Wait();

    void Wait()
    {
        try { group.Barrier.SignalAndWait(group.Abort.Token); }
        catch (OperationCanceledException) { throw new OperationCanceledException($"rank {Rank}: another rank of the group failed (aborted)"); }
    }

    /// <summary>Nothing to release; the group lives as long as its ranks.</summary>
    public void Dispose() { }
}
