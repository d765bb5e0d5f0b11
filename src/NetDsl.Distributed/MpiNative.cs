using System;
using System.Reflection;
using System.Runtime.InteropServices;

namespace NetDsl.Distributed;

/// <summary>
/// The thirteen MPI calls NetDsl needs, bound to the MPICH ABI: <c>libmpi.so.12</c>, whose handles (MPI_Comm, MPI_Datatype,
/// MPI_Op, MPI_Errhandler) are C ints with the constant values below, copied from MPICH 4.0.2's mpi.h (Debian
/// /usr/include/x86_64-linux-gnu/mpich/mpi.h). MPICH, Intel MPI, MVAPICH and Cray MPICH share this ABI (the "MPICH ABI
/// compatibility initiative"); Open MPI does not (its handles are pointers to global structs), so it is refused.
/// </summary>
internal static unsafe partial class MpiNative
{
    /// <summary>The name the imports use; <see cref="Resolve"/> maps it to a real file.</summary>
    const string Library = "netdsl-mpi";

    public const int Success = 0;
    public const int CommWorld = 0x44000000;
    public const int Byte = 0x4c00010d;
    public const int Int = 0x4c000405;
    public const int Float = 0x4c00040a;
    public const int Double = 0x4c00080b;
    public const int Int64 = 0x4c00083a;     // MPI_INT64_T
    public const int Max = 0x58000001;
    public const int Sum = 0x58000003;
    public const int ErrorsReturn = 0x54000001;
    public const int ThreadSerialized = 2;
    public const int MaxLibraryVersionString = 8192;
    public const int MaxErrorString = 512;
    /// <summary>MPI_IN_PLACE is <c>(void*)-1</c> in MPICH.</summary>
    public static readonly void* InPlace = (void*)-1;

    /// <summary>SONAMEs of the MPICH ABI, tried in order; NETDSL_MPI_LIBRARY (a file path) goes first when set.</summary>
    internal static readonly string[] Candidates = ["libmpi.so.12", "libmpich.so.12", "libmpi.12.dylib"];

    /// <summary>Open MPI's SONAMEs (3.x–5.x use .40), only to say why nothing usable was found.</summary>
    static readonly string[] OpenMpiNames = ["libmpi.so.40", "libmpi.so.20"];

    static IntPtr handle;
    static string? loadedFrom;

    static MpiNative() => NativeLibrary.SetDllImportResolver(typeof(MpiNative).Assembly, Resolve);

    /// <summary>The file the binding loaded (after <see cref="Load"/>).</summary>
    public static string? LoadedFrom => loadedFrom;

    /// <summary>Finds and loads the MPI library, or throws <see cref="DllNotFoundException"/> saying what was tried and what to install.</summary>
    public static void Load()
    {
        if (handle != IntPtr.Zero) return;
        var (h, name) = Find(Environment.GetEnvironmentVariable("NETDSL_MPI_LIBRARY"), Candidates);
        handle = h;
        loadedFrom = name;
    }

    /// <summary>The first of <paramref name="candidates"/> (after <paramref name="explicitPath"/>) that loads.</summary>
    internal static (IntPtr Handle, string Name) Find(string? explicitPath, string[] candidates)
    {
        if (!string.IsNullOrEmpty(explicitPath))
        {
            if (NativeLibrary.TryLoad(explicitPath, out var h)) return (h, explicitPath);
            throw new DllNotFoundException($"NETDSL_MPI_LIBRARY={explicitPath}: the file does not exist or cannot be loaded "
                + "(expected an MPICH-ABI libmpi, e.g. /usr/lib/x86_64-linux-gnu/libmpich.so.12)");
        }
        foreach (var name in candidates)
            if (NativeLibrary.TryLoad(name, out var h)) return (h, name);
        foreach (var name in OpenMpiNames)
            if (NativeLibrary.TryLoad(name, out var h))
            {
                NativeLibrary.Free(h);
                throw new DllNotFoundException($"found Open MPI ({name}) but no MPICH-ABI library ({string.Join(", ", candidates)}): "
                    + "NetDsl.Distributed binds the MPICH ABI, whose handles are integers; Open MPI's are pointers. "
                    + "Install MPICH (apt-get install mpich), Intel MPI or MVAPICH, and start with its mpiexec.");
            }
        throw new DllNotFoundException($"no MPI library found (looked for {string.Join(", ", candidates)} on the loader's path): "
            + "install MPICH (apt-get install mpich) or point NETDSL_MPI_LIBRARY at an MPICH-ABI libmpi");
    }

    static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != Library) return IntPtr.Zero;
        Load();
        return handle;
    }

    [LibraryImport(Library)] public static partial int MPI_Get_library_version(byte* version, out int length);
    [LibraryImport(Library)] public static partial int MPI_Initialized(out int flag);
    [LibraryImport(Library)] public static partial int MPI_Finalized(out int flag);
    [LibraryImport(Library)] public static partial int MPI_Init_thread(IntPtr argc, IntPtr argv, int required, out int provided);
    [LibraryImport(Library)] public static partial int MPI_Finalize();
    [LibraryImport(Library)] public static partial int MPI_Abort(int comm, int errorCode);
    [LibraryImport(Library)] public static partial int MPI_Comm_rank(int comm, out int rank);
    [LibraryImport(Library)] public static partial int MPI_Comm_size(int comm, out int size);
    [LibraryImport(Library)] public static partial int MPI_Comm_set_errhandler(int comm, int errhandler);
    [LibraryImport(Library)] public static partial int MPI_Error_string(int errorCode, byte* text, out int length);
    [LibraryImport(Library)] public static partial int MPI_Allreduce(void* send, void* receive, int count, int datatype, int op, int comm);
    [LibraryImport(Library)] public static partial int MPI_Bcast(void* buffer, int count, int datatype, int root, int comm);
    [LibraryImport(Library)] public static partial int MPI_Barrier(int comm);
}
