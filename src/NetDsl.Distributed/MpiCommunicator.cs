using System;
using System.Text;

namespace NetDsl.Distributed;

/// <summary>An MPI call returned an error code (the communicator sets MPI_ERRORS_RETURN, so errors come back as exceptions).</summary>
public sealed class MpiException(string function, int errorCode, string message)
    : Exception($"{function} failed with MPI error {errorCode}: {message}")
{
    /// <summary>The MPI error code.</summary>
    public int ErrorCode { get; } = errorCode;
}

/// <summary>
/// MPI_COMM_WORLD of the processes that <c>mpiexec</c> started, through a thin P/Invoke binding of the MPICH ABI
/// (MPICH, Intel MPI, MVAPICH; not Open MPI). <see cref="Initialize"/> loads the library, checks which implementation it is
/// and calls MPI_Init_thread; <see cref="Dispose"/> calls MPI_Finalize. Started without mpiexec, MPICH runs as a
/// one-process world (singleton init). Call collectives from one thread at a time.
/// </summary>
public sealed unsafe class MpiCommunicator : ICommunicator
{
    /// <summary>Elements per MPI call: counts are C ints, larger spans go in pieces.</summary>
    const int MaxCount = 1 << 30;

    bool disposed;
    readonly bool ownsInit;

    MpiCommunicator(int rank, int size, bool ownsInit, string library, string version)
    {
        Rank = rank; Size = size; this.ownsInit = ownsInit; Library = library; LibraryVersion = version;
    }

    /// <inheritdoc/>
    public int Rank { get; }
    /// <inheritdoc/>
    public int Size { get; }
    /// <summary>The shared library that was loaded (e.g. libmpi.so.12).</summary>
    public string Library { get; }
    /// <summary>The first line of MPI_Get_library_version (e.g. "MPICH Version: 4.0.2").</summary>
    public string LibraryVersion { get; }

    /// <summary>
    /// Loads libmpi, refuses implementations outside the MPICH ABI with a message saying what to install, initializes MPI
    /// (unless the host already did) and returns MPI_COMM_WORLD.
    /// </summary>
    /// <exception cref="DllNotFoundException">No MPICH-ABI library could be loaded.</exception>
    /// <exception cref="NotSupportedException">The library is not MPICH-ABI compatible (e.g. Open MPI 1.10's libmpi.so.12).</exception>
    public static MpiCommunicator Initialize()
    {
        MpiNative.Load();
        string version = ReadLibraryVersion();
        if (Unsupported(version) is { } reason) throw new NotSupportedException(reason);
        Check(MpiNative.MPI_Initialized(out int initialized), "MPI_Initialized");
        bool ownsInit = initialized == 0;
        if (ownsInit)
        {
            Check(MpiNative.MPI_Finalized(out int finalized), "MPI_Finalized");
            if (finalized != 0) throw new InvalidOperationException("MPI was already finalized in this process; it cannot be initialized again");
            Check(MpiNative.MPI_Init_thread(IntPtr.Zero, IntPtr.Zero, MpiNative.ThreadSerialized, out int provided), "MPI_Init_thread");
            if (provided < MpiNative.ThreadSerialized)
                throw new NotSupportedException($"MPI provides thread level {provided}; NetDsl needs MPI_THREAD_SERIALIZED ({MpiNative.ThreadSerialized}): "
                    + "collectives may be called from a thread other than the one that initialized MPI");
        }
        Check(MpiNative.MPI_Comm_set_errhandler(MpiNative.CommWorld, MpiNative.ErrorsReturn), "MPI_Comm_set_errhandler");
        Check(MpiNative.MPI_Comm_rank(MpiNative.CommWorld, out int rank), "MPI_Comm_rank");
        Check(MpiNative.MPI_Comm_size(MpiNative.CommWorld, out int size), "MPI_Comm_size");
        return new MpiCommunicator(rank, size, ownsInit, MpiNative.LoadedFrom ?? "?", FirstLine(version));
    }

    /// <summary>Null when <paramref name="libraryVersion"/> (MPI_Get_library_version's text) names an MPICH-ABI implementation,
    /// else why it is refused.</summary>
    internal static string? Unsupported(string libraryVersion)
    {
        string first = FirstLine(libraryVersion);
        if (libraryVersion.Contains("Open MPI", StringComparison.OrdinalIgnoreCase))
            return $"the MPI library is Open MPI ('{first}'), whose handles are pointers, not the MPICH ABI's integers this binding uses: "
                + "install MPICH (apt-get install mpich) and start with MPICH's mpiexec, or point NETDSL_MPI_LIBRARY at an MPICH-ABI libmpi";
        string[] compatible = ["MPICH", "Intel(R) MPI", "MVAPICH"];
        foreach (var name in compatible)
            if (libraryVersion.Contains(name, StringComparison.OrdinalIgnoreCase)) return null;
        return $"unknown MPI implementation '{first}': NetDsl.Distributed supports the MPICH ABI ({string.Join(", ", compatible)}); install MPICH (apt-get install mpich)";
    }

    static string ReadLibraryVersion()
    {
        var text = new byte[MpiNative.MaxLibraryVersionString];
        int length;
        fixed (byte* p = text) Check(MpiNative.MPI_Get_library_version(p, out length), "MPI_Get_library_version");
        return Encoding.ASCII.GetString(text, 0, Math.Clamp(length, 0, text.Length)).TrimEnd('\0');
    }

    static string FirstLine(string text)
    {
        int end = text.IndexOfAny(['\n', '\r']);
        return (end < 0 ? text : text[..end]).Replace('\t', ' ').Trim();
    }

    /// <inheritdoc/>
    public void AllreduceSum(Span<float> data) => Allreduce(data, MpiNative.Float, MpiNative.Sum);
    /// <inheritdoc/>
    public void AllreduceSum(Span<double> data) => Allreduce(data, MpiNative.Double, MpiNative.Sum);
    /// <inheritdoc/>
    public void AllreduceSum(Span<long> data) => Allreduce(data, MpiNative.Int64, MpiNative.Sum);
    /// <inheritdoc/>
    public void AllreduceMax(Span<double> data) => Allreduce(data, MpiNative.Double, MpiNative.Max);

    void Allreduce<T>(Span<T> data, int datatype, int op) where T : unmanaged
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        fixed (T* p = data)
            for (int start = 0; start < data.Length; start += MaxCount)
                Check(MpiNative.MPI_Allreduce(MpiNative.InPlace, p + start, Math.Min(MaxCount, data.Length - start), datatype, op, MpiNative.CommWorld), "MPI_Allreduce");
    }

    /// <inheritdoc/>
    public void Broadcast(Span<float> data, int root = 0) => Bcast(data, MpiNative.Float, root);
    /// <inheritdoc/>
    public void Broadcast(Span<byte> data, int root = 0) => Bcast(data, MpiNative.Byte, root);

    void Bcast<T>(Span<T> data, int datatype, int root) where T : unmanaged
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if ((uint)root >= (uint)Size) throw new ArgumentOutOfRangeException(nameof(root), root, $"root must be a rank, 0 to {Size - 1}");
        fixed (T* p = data)
            for (int start = 0; start < data.Length; start += MaxCount)
                Check(MpiNative.MPI_Bcast(p + start, Math.Min(MaxCount, data.Length - start), datatype, root, MpiNative.CommWorld), "MPI_Bcast");
    }

    /// <inheritdoc/>
    public void Barrier()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        Check(MpiNative.MPI_Barrier(MpiNative.CommWorld), "MPI_Barrier");
    }

    /// <summary>Ends every process of the job (MPI_Abort): what a rank does after an error, since the others would otherwise
    /// wait forever in their next collective.</summary>
    public void Abort(int errorCode) => MpiNative.MPI_Abort(MpiNative.CommWorld, errorCode);

    /// <summary>MPI_Finalize, when this communicator initialized MPI.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        if (ownsInit) Check(MpiNative.MPI_Finalize(), "MPI_Finalize");
    }

    static void Check(int code, string function)
    {
        if (code == MpiNative.Success) return;
        var text = new byte[MpiNative.MaxErrorString];
        int length = 0;
        fixed (byte* p = text)
            if (MpiNative.MPI_Error_string(code, p, out length) != MpiNative.Success) length = 0;
        throw new MpiException(function, code, length > 0 ? Encoding.ASCII.GetString(text, 0, Math.Min(length, text.Length)) : "(no message)");
    }
}
