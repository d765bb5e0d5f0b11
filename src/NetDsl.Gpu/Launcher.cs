using System;
using ILGPU;
using ILGPU.Runtime;

namespace NetDsl.Gpu;

/// <summary>
/// Launches the kernels whose launch is a choice: the GEMM (which tile; whether to split one product along K or a batch sum
/// into slices) and the per-channel sums (how many parts per channel). Owns the scratch buffers those choices need. Each
/// choice depends only on the shape and the accelerator (its multiprocessors, its group size), so results are deterministic
/// on a given device.
/// </summary>
internal sealed class Launcher : IDisposable
{
    private readonly Accelerator _accelerator;
    private readonly LoadedKernels _k;
    private MemoryBuffer1D<float, Stride1D.Dense>? _partials;
    private MemoryBuffer1D<double, Stride1D.Dense>? _channelPartials;

    public Launcher(Accelerator accelerator, LoadedKernels kernels)
    {
        _accelerator = accelerator;
        _k = kernels;
    }

    /// <summary>The slices the last product launched through this launcher used (1 when it was not split); for tests.</summary>
    internal int LastSlices { get; private set; }

    /// <summary>The kernel a product gets: 8 on ILGPU's CPU accelerator (groups of 16 threads). On a GPU, of the 64 tile, the
    /// 128 tile (where M and N both reach 128) and the narrow tiles (32 × 128 where M ≤ 32, 16 × 256 where M ≤ 16: a
    /// convolution's few output channels by its many positions), the one whose tiles keep the largest share of the outputs
    /// they compute, the 128 tile's share counted 1.3× (its measured speed over the 64 tile's at 4096³); ties go to the larger.
    /// A narrow tile is taken only where its groups fill every multiprocessor at least once.</summary>
    public int TileFor(in GemmShape s)
    {
        if (!_k.Large) return DeviceKernels.GemmTile;
        int best = DeviceKernels.LargeTile;
        double bestScore = -1;
        foreach (int tile in s_gpuTiles) // largest first: a later tile must keep strictly more to win
        {
            bool eligible = tile switch
            {
                DeviceKernels.WideTile => s.M >= DeviceKernels.WideTile && s.N >= DeviceKernels.WideTile,
                // A narrow tile only where its groups fill the device at least once: below a wave (a batch-1 convolution)
                // what bounds the time is how many groups run side by side, and the square tiles' groups are more.
                DeviceKernels.Narrow32Rows or DeviceKernels.Narrow16Rows => s.M <= tile && FillsTheDevice(s, tile),
                _ => true,
            };
            double score = eligible ? Kept(s, tile) * (tile == DeviceKernels.WideTile ? 1.3 : 1.0) : -1;
            if (score > bestScore) (best, bestScore) = (tile, score);
        }
        return best;
    }

    private static readonly int[] s_gpuTiles = [DeviceKernels.WideTile, DeviceKernels.LargeTile, DeviceKernels.Narrow32Rows, DeviceKernels.Narrow16Rows];

    /// <summary>Whether a product's groups on tile <paramref name="tile"/> (its output tiles times its items, or its K slices) are
    /// at least the device's multiprocessors.</summary>
    private bool FillsTheDevice(in GemmShape s, int tile) => Tiles(s, tile) * Math.Max(s.Items, s.Slices) >= _accelerator.NumMultiprocessors;

    /// <summary>The share of the outputs that tile <paramref name="tile"/>'s groups compute that lie inside C.</summary>
    private static double Kept(in GemmShape s, int tile)
    {
        var (rows, columns) = Sides(tile);
        return (double)s.M / ((s.M + rows - 1) / rows * rows) * s.N / ((s.N + columns - 1) / columns * columns);
    }

    /// <summary>The rows and columns of C that tile <paramref name="tile"/> (as <see cref="TileFor"/> names it) computes.</summary>
    public static (int Rows, int Columns) Sides(int tile) => tile switch
    {
        DeviceKernels.Narrow32Rows => (DeviceKernels.Narrow32Rows, DeviceKernels.Narrow32Columns),
        DeviceKernels.Narrow16Rows => (DeviceKernels.Narrow16Rows, DeviceKernels.Narrow16Columns),
        _ => (tile, tile),
    };

    /// <summary>The group of tile <paramref name="tile"/>: (x along columns, y along rows), 4×4 outputs a thread except on the 128
    /// tile (8×8) and the CPU accelerator's 8 tile (2×2).</summary>
    private static Index3D GroupOf(int tile) => tile switch
    {
        DeviceKernels.GemmTile => new Index3D(DeviceKernels.GemmThreads, DeviceKernels.GemmThreads, 1),
        DeviceKernels.Narrow32Rows => new Index3D(DeviceKernels.Narrow32Columns / 4, DeviceKernels.Narrow32Rows / 4, 1),
        DeviceKernels.Narrow16Rows => new Index3D(DeviceKernels.Narrow16Columns / 4, DeviceKernels.Narrow16Rows / 4, 1),
        _ => new Index3D(DeviceKernels.LargeThreads, DeviceKernels.LargeThreads, 1),
    };

    /// <summary>C (+)= A·B over the shape's slices. A single product whose tiles would not fill one wave of groups and whose
    /// K is long is split along K (<see cref="GemmSplit"/>): a dense layer at batch 1 goes from two groups looping over all of
    /// K to a wave of groups each taking a range of it.</summary>
    public void Gemm(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, in GemmShape s, ArrayView<float> bias = default, ArrayView<float> d = default)
        => Gemm<RuntimeProduct>(a, b, c, s, bias, d);

    /// <summary><see cref="Gemm(ArrayView{float}, ArrayView{float}, ArrayView{float}, in GemmShape, ArrayView{float}, ArrayView{float})"/>
    /// on the kernels compiled for <typeparamref name="TProduct"/> (whose known fields <paramref name="s"/> must already hold:
    /// build it with <see cref="IGemmGeometry.Fix"/>).</summary>
    public void Gemm<TProduct>(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, in GemmShape s, ArrayView<float> bias = default, ArrayView<float> d = default)
        where TProduct : struct, IGemmGeometry
    {
        int tile = TileFor(s);
        long tiles = Tiles(s, tile), wanted = GroupsPerWave(tile);
        if (s.Items == 1 && s.KChunk == 0 && s.Ldc == s.N && tiles < wanted && s.K >= 256)
        {
            // As many slices as fit in one wave (a partial second wave would cost a whole one).
            int slices = (int)Math.Min(wanted / tiles, s.K / 64);
            if (slices >= 2)
            {
                GemmSplit<TProduct>(a, b, c, s, tile, slices, bias, d);
                return;
            }
        }
        Launch<TProduct>(_k, a, b, c, s, tile, bias, d);
        LastSlices = 1;
    }

    /// <summary>Compiles the kernels a product of <typeparamref name="TProduct"/> can launch between its smallest and largest
    /// shapes (<paramref name="smallest"/>, <paramref name="largest"/>: at batch 1 and at the twin's largest batch): the tile
    /// each picks, and the in-order slice sum when K is long enough to be split (or the shape is a sum over a batch).</summary>
    public void Prepare<TProduct>(in GemmShape smallest, in GemmShape largest) where TProduct : struct, IGemmGeometry
    {
        var kernels = GemmKernels<TProduct>.For(_accelerator);
        _ = kernels.Tile(TileFor(smallest));
        _ = kernels.Tile(TileFor(largest));
        if (smallest.K >= 256 || largest.K >= 256 || smallest.Accumulate != 0) _ = kernels.SumSlices;
    }

    /// <summary>One product on tile <paramref name="tile"/> split along K into about <paramref name="slices"/> (chunks of K
    /// rounded up to 16; 1: one launch): the slices' partial sums go to scratch, then <c>SumSlices</c> adds them in order.
    /// <see cref="Gemm"/> calls it with its own choice; the benchmark with each.</summary>
    public void GemmSplit(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, in GemmShape s, int tile, int slices,
        ArrayView<float> bias = default, ArrayView<float> d = default)
        => GemmSplit<RuntimeProduct>(a, b, c, s, tile, slices, bias, d);

    /// <summary><see cref="GemmSplit(ArrayView{float}, ArrayView{float}, ArrayView{float}, in GemmShape, int, int, ArrayView{float}, ArrayView{float})"/>
    /// on the kernels compiled for <typeparamref name="TProduct"/>.</summary>
    public void GemmSplit<TProduct>(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, in GemmShape s, int tile, int slices,
        ArrayView<float> bias = default, ArrayView<float> d = default) where TProduct : struct, IGemmGeometry
    {
        if (slices <= 1 || s.Items != 1 || s.Ldc != s.N)
        {
            Launch<TProduct>(_k, a, b, c, s, tile, bias, d);
            LastSlices = 1;
            return;
        }
        int chunk = ((s.K + slices - 1) / slices + 15) / 16 * 16;
        LaunchSlicesAndSum<TProduct>(a, b, c, s.SplitK(chunk, (long)s.M * s.N), tile, bias, d);
    }

    /// <summary>C += Σ_i A_i·B_i over <paramref name="items"/> products (a weight gradient over the batch). Few output tiles
    /// would leave most of the GPU idle with the whole batch in one group's K loop, so the batch is split into slices (one
    /// wave of groups in all) whose partial sums go to scratch and are then added in slice order: deterministic, no atomics.</summary>
    public void GemmSummed<TProduct>(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmShape s, int items, long sa, long sb)
        where TProduct : struct, IGemmGeometry
    {
        int tile = TileFor(s);
        long tiles = Tiles(s, tile);
        int wanted = (int)Math.Min(items, Math.Max(1, (GroupsPerWave(tile) + tiles - 1) / tiles));
        int inner = (items + wanted - 1) / wanted;
        if (inner < items)
        {
            LaunchSlicesAndSum<TProduct>(a, b, c, s.Summed(items, inner, sa, sb, (long)s.M * s.N), tile, default, default);
            return;
        }
        Launch<TProduct>(_k, a, b, c, s.Summed(items, items, sa, sb, 0), tile);
        LastSlices = 1;
    }

    /// <summary>Launches a product cut into slices, each slice's partial sum to scratch at z·M·N (so C must be dense), then
    /// adds the slices into C in slice order, overwriting or accumulating as the shape says, and applies its epilogue.</summary>
    private void LaunchSlicesAndSum<TProduct>(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmShape sliced, int tile, ArrayView<float> bias, ArrayView<float> d)
        where TProduct : struct, IGemmGeometry
    {
        if (sliced.Ldc != sliced.N) throw new InvalidOperationException("split-K partial sums need a dense C (Ldc = N)");
        int slices = sliced.Slices, length = sliced.M * sliced.N;
        var partials = Partials((long)slices * length);
        var partial = sliced.WithoutEpilogue();
        partial.Accumulate = 0;
        Launch<TProduct>(_k, a, b, partials, partial, tile);
        GemmKernels<TProduct>.For(_accelerator).SumSlices(length, partials, c, Or(bias, c), Or(d, c), slices, sliced);
        LastSlices = slices;
    }

    /// <summary>A view the kernel may be handed where the epilogue does not read one (it needs a valid view all the same).</summary>
    internal static ArrayView<float> Or(ArrayView<float> view, ArrayView<float> fallback) => view.IsValid ? view : fallback;

    /// <summary>Output tiles of a product on tile <paramref name="tile"/>.</summary>
    private static long Tiles(in GemmShape s, int tile)
    {
        var (rows, columns) = Sides(tile);
        return (long)((s.N + columns - 1) / columns) * ((s.M + rows - 1) / rows);
    }

    /// <summary>Groups that run at once on the whole device: the 128 tile needs 225 registers a thread (ptxas on sm_90), so
    /// one group of 256 threads per multiprocessor; the 64 tile needs 96, so two fit (the narrow tiles, with the same 4×4
    /// outputs a thread, are counted as the 64 tile).</summary>
    private long GroupsPerWave(int tile) => (tile == DeviceKernels.WideTile ? 1L : 2L) * _accelerator.NumMultiprocessors;

    /// <summary>One launch of the kernel with output tile <paramref name="tile"/> (8, 64 or 128; narrow 32 or 16) over the shape's slices.</summary>
    public static void Launch(LoadedKernels k, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, in GemmShape s, int tile,
        ArrayView<float> bias = default, ArrayView<float> d = default)
        => Launch<RuntimeProduct>(k, a, b, c, s, tile, bias, d);

    /// <summary>One launch of <typeparamref name="TProduct"/>'s kernel with output tile <paramref name="tile"/>.</summary>
    public static void Launch<TProduct>(LoadedKernels k, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, in GemmShape s, int tile,
        ArrayView<float> bias = default, ArrayView<float> d = default) where TProduct : struct, IGemmGeometry
    {
        if (tile != DeviceKernels.GemmTile && !k.Large)
            throw new ArgumentOutOfRangeException(nameof(tile), tile, "this accelerator's groups are too small for the 64 and 128 tiles (256 threads)");
        var (rows, columns) = Sides(tile);
        var grid = new Index3D((s.N + columns - 1) / columns, (s.M + rows - 1) / rows, s.Slices);
        GemmKernels<TProduct>.For(k.Accelerator).Tile(tile)(new KernelConfig(grid, GroupOf(tile)), a, b, c, Or(bias, c), Or(d, c), s);
    }

    /// <summary>Stage one of a per-channel sum (<see cref="DeviceKernels.ChannelPartialSums"/>): each channel's batch × plane
    /// values in parts, enough for about four groups per multiprocessor and at least eight values per thread. Returns the
    /// partial sums (read by the finishing kernel) and the parts.</summary>
    public ArrayView<double> ChannelSums<TMap>(ArrayView<float> a, ArrayView<float> b, int batch, int mode, out int parts) where TMap : struct, IMapGeometry
    {
        int channels = default(TMap).Shape.Channels, plane = default(TMap).Shape.Plane;
        int threads = _k.ReduceThreads, count = batch * plane;
        long wanted = (4L * _accelerator.NumMultiprocessors + channels - 1) / channels;
        parts = (int)Math.Clamp(wanted, 1, Math.Max(1, count / (threads * 8)));
        int chunk = (count + parts - 1) / parts;
        parts = (count + chunk - 1) / chunk;
        var partial = ChannelPartials((long)channels * parts * 2);
        MapKernels<TMap>.For(_accelerator).ChannelPartialSums(new KernelConfig(new Index2D(parts, channels), new Index2D(threads, 1)), a, b, partial, batch, chunk, mode);
        return partial;
    }

    /// <summary>A scratch view of at least one double, for finishing kernels that read no partial sums (batch norm in eval).</summary>
    public ArrayView<double> NoPartials => ChannelPartials(1);

    private ArrayView<float> Partials(long length) => Scratch(ref _partials, length);

    private ArrayView<double> ChannelPartials(long length) => Scratch(ref _channelPartials, length);

    /// <summary>The first <paramref name="length"/> elements of a scratch buffer, grown when too short.</summary>
    private ArrayView<T> Scratch<T>(ref MemoryBuffer1D<T, Stride1D.Dense>? buffer, long length) where T : unmanaged
    {
        if (buffer is null || buffer.Length < length)
        {
            // Kernels already queued may still read the old buffer: let them finish before freeing it (growth happens in
            // the first steps only).
            if (buffer is not null) _accelerator.Synchronize();
            buffer?.Dispose();
            buffer = _accelerator.Allocate1D<T>(length);
        }
        return buffer.View.SubView(0, length);
    }

    public void Dispose()
    {
        _partials?.Dispose();
        _channelPartials?.Dispose();
    }
}
