using System;

namespace NetDsl.Distributed;

/// <summary>
/// A group of <see cref="Size"/> cooperating processes (or threads), each knowing its <see cref="Rank"/>. Every collective call
/// must be made by every rank, in the same order, with spans of the same length; each returns when all ranks have joined.
/// Reductions give every rank the bit-identical result (so replicated models stay identical).
/// </summary>
public interface ICommunicator : IDisposable
{
    /// <summary>This member's index, 0 to <see cref="Size"/> − 1; rank 0 writes logs and checkpoints.</summary>
    int Rank { get; }

    /// <summary>Number of members.</summary>
    int Size { get; }

    /// <summary>Replaces <paramref name="data"/> on every rank by the element-wise sum over all ranks.</summary>
    void AllreduceSum(Span<float> data);

    /// <summary>Replaces <paramref name="data"/> on every rank by the element-wise sum over all ranks.</summary>
    void AllreduceSum(Span<double> data);

    /// <summary>Replaces <paramref name="data"/> on every rank by the element-wise sum over all ranks.</summary>
    void AllreduceSum(Span<long> data);

    /// <summary>Replaces <paramref name="data"/> on every rank by the element-wise maximum over all ranks.</summary>
    void AllreduceMax(Span<double> data);

    /// <summary>Copies <paramref name="root"/>'s <paramref name="data"/> into every other rank's.</summary>
    void Broadcast(Span<float> data, int root = 0);

    /// <summary>Copies <paramref name="root"/>'s bytes into every other rank's (any unmanaged data through <c>MemoryMarshal.AsBytes</c>).</summary>
    void Broadcast(Span<byte> data, int root = 0);

    /// <summary>Returns when every rank has called it.</summary>
    void Barrier();
}
