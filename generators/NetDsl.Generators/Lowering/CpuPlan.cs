using System;
using System.Collections.Generic;
using System.Linq;
using NetDsl.Generators.Families;
using NetDsl.Generators.Inference;
using NetDsl.Generators.Model;

namespace NetDsl.Generators.Lowering;

/// <summary>How the CPU backend computes one convolution: how many samples share one GEMM (small output planes fill the
/// GEMM's 32-column strips poorly), whether the weight gradient is dot products rather than a packed GEMM, and whether a
/// batch of one sample splits the layer's output channels (or rows) across the workers.</summary>
/// <param name="OutputOnDemand">The convolution's own output (under its fused ReLU) is read by nothing but
/// <c>LayerOutput</c>: a Forward stores only the ReLU's output, and <c>LayerOutput</c> computes the convolution's when
/// asked, with the parameters of that Forward (an Update keeps a copy of them first). Storing a buffer nobody reads cost
/// the sample cnn 15 % of its batch-256 inference and 4 % of its training (cache lines written back to memory).</param>
/// <param name="DirectRows">A batch of one splits this direct convolution by output rows (see <see cref="ConvStrategy.DirectRowSplitMacs"/>).</param>
/// <param name="DirectWeightGradient">The backward pass takes this direct convolution's weight gradient with the output
/// columns in the lanes (NetDsl.Kernels.DirectConv.AddWeightGradient, no column matrix), where the kernel runs: a dot-product
/// weight gradient (<paramref name="DotWeightGradient"/>) of kernels at least 4 wide. With 3 taps a row (the cnn's conv1,
/// 3×3 over 32 channels) each row of dy meets too few inputs per load, and the dots over the unfolded input measured 2–6 %
/// faster for the whole training step.</param>
/// <param name="ReluScratch">Samples of the fused ReLU's output a worker keeps in a scratch of its own (0: none). When the
/// convolution's output is on demand and the ReLU is read only by the 2×2 max pool that does its backward, in the same
/// cache block, the ReLU's output lives only until that pool has read it: a Forward writes it to the scratch (one cache
/// block, reused, so never written back to memory) and <c>LayerOutput</c> recomputes it when asked. A batch of one writes
/// the layer's buffer as before.</param>
/// <param name="FusedPool">The 2×2 max pool whose forward this convolution does as it computes, or −1: where the fused
/// ReLU's only reader is that pool, which folds its backward, in the same cache block (the case that would otherwise take
/// a <paramref name="ReluScratch"/>; a direct convolution keeps that scratch for machines without its 512-bit path, see
/// <c>DirectConv.CanPool</c>). A Forward (unless recomputing for <c>LayerOutput</c>) pools a Winograd convolution's output
/// tiles, or a direct convolution's pairs of rows, while they are in registers, recording the winners when training, and
/// never stores the ReLU's output: <c>LayerOutput</c> computes it again with the convolution's, and so does a Backward after
/// an inference Forward (for the winners).</param>
/// <param name="SplitActivation">The tanh a batch of one runs inside this convolution's split, or −1 (see <see cref="CpuPlan.SplitChain"/>).</param>
/// <param name="SplitPool">The 2×2 pool a batch of one runs inside this convolution's split, or −1 (see <see cref="CpuPlan.SplitChain"/>).</param>
internal sealed record ConvStrategy(int SamplesPerGemm, bool DotWeightGradient, bool PackedGemm, bool SplitOneSample = false,
    int WinogradSamples = 0, bool Direct = false, int FusedRelu = -1, bool ChannelLanes = false, bool OutputOnDemand = false,
    bool DirectRows = false, int SplitActivation = -1, int SplitPool = -1, int WinogradTile = 2, int WinogradBackTile = 2, int ReluScratch = 0,
    bool DirectWeightGradient = false, int FusedPool = -1, int Winograd5Samples = 0)
{
    /// <summary>The output tile of a Winograd pass whose output rows are <paramref name="width"/> wide: 4 (F(4×4, 3×3))
    /// where they are exactly four such tiles (13–16 columns: the transforms then hold two tile rows per vector, as for the
    /// cnn's 14×14 conv2), 2 elsewhere. The forward pass (<see cref="WinogradTile"/>) and the input gradient
    /// (<see cref="WinogradBackTile"/>, its rows the layer's input rows) each by its own width; the weight gradient is
    /// F(2×2). For the cnn's conv2, F(4×4) forward took batch 1 from 50 to 44 µs and batch 256 from 30k to 34k/s
    /// (2 threads), and the input gradient's training from 4.72–4.81k to 4.90–5.02k/s (1 thread). Other widths were not
    /// measured faster, so they keep F(2×2).</summary>
    public static int WinogradTileFor(int width) => (width + 3) / 4 == 4 ? 4 : 2;

    /// <summary>A direct convolution DirectConv can pool as it computes it, in blocks of eight channels and 32 columns
    /// (the shape half of DirectConv.CanPool; the other half, the 512-bit path, is checked at run time).</summary>
    public static bool DirectPoolable(ShapedLayer l) => l.OutC % 8 == 0 && (l.OutW % 32 == 0 || l.OutW % 32 > 16);

    /// <summary>A batch of one splits this convolution's output rows across the workers (ChannelLaneConv always; DirectConv
    /// when it has too few channels to share, <see cref="DirectRows"/>); otherwise its output channels.</summary>
    public bool SplitsRows => ChannelLanes || DirectRows;

    /// <summary>Multiply-adds from which a batch of one splits a direct convolution with fewer than 16 output channels by
    /// output rows: LeNet-5's conv1 (6 channels, 118k) split by channel gave each worker a short block of 3.</summary>
    public const long DirectRowSplitMacs = 100_000;

    /// <summary>Whether the forward kernel can also store a following ReLU's output (Winograd and the direct
    /// convolutions can: <see cref="FusedRelu"/>).</summary>
    public bool CanFuseRelu => Winograd || Direct || ChannelLanes;

    /// <summary>Output channels (a multiple of 16) up to which a stride-1 convolution over a deeper input is computed
    /// directly with the output channels in the vector lanes (NetDsl.Kernels.ChannelLaneConv): with so few output channels
    /// each element of im2col's column matrix would feed too few multiply-adds to repay writing it.</summary>
    public const int ChannelLanesMaxChannels = 32;

    /// <summary>Floats of NetDsl.Kernels.ChannelLaneConv.ScratchSize for the layer (the zero-padded input).</summary>
    public static int ChannelLanesScratch(ShapedLayer l, ConvParams c) => l.InC * (l.OutH + c.KernelH - 1) * (Math.Max(l.OutW, 10) + c.KernelW - 1) + 10 + 16;

    /// <summary>Floats of NetDsl.Kernels.ChannelLaneConv.WeightGradientScratchSize (the padded input, dy of 16 channels
    /// transposed, their weight gradient transposed).</summary>
    public static int ChannelLanesGradientScratch(ShapedLayer l, ConvParams c) =>
        ChannelLanesScratch(l, c) + 16 * l.OutH * l.OutW + 16 * l.InC * c.KernelH * c.KernelW + 16;

    /// <summary>Input channels up to which a stride-1 convolution's forward pass is direct (NetDsl.Kernels.DirectConv):
    /// im2col's depth C·kH·kW would be too shallow for a GEMM.</summary>
    public const int DirectMaxChannels = 4;

    /// <summary>Floats of NetDsl.Kernels.DirectConv.ScratchSize for the layer (the zero-padded input), which the column
    /// buffer must hold.</summary>
    public static int DirectScratch(ShapedLayer l, ConvParams c) => l.InC * (l.OutH + c.KernelH - 1) * ((l.OutW + 15) / 16 * 16 + c.KernelW - 1) + 16;

    /// <summary>Floats of NetDsl.Kernels.DirectConv.WeightGradientScratchSize (the padded input and 16 lane sums per weight),
    /// with room to align the sums to 64 bytes.</summary>
    public static int DirectGradientScratch(ShapedLayer l, ConvParams c) => DirectScratch(l, c) + 16 * l.OutC * l.InC * c.KernelH * c.KernelW + 32;

    /// <summary>The forward pass and the input gradient are Winograd F(2×2, 3×3) (NetDsl.Kernels.Winograd), this many
    /// samples per transform and product; 0: im2col and GEMM.</summary>
    public bool Winograd => WinogradSamples > 0;

    /// <summary>A batch of several samples runs this 5×5 convolution (one with its output channels in the lanes,
    /// <see cref="ChannelLanes"/>) by Winograd F(2×2, 5×5) with the samples in the vector lanes
    /// (NetDsl.Kernels.Winograd.Forward5 and Backward5), this many samples per call (8, a 256-bit vector; the cache
    /// blocks then take multiples of 8); a batch of one keeps the lane kernel (and its split by rows). 0: not.</summary>
    public bool Winograd5 => Winograd5Samples > 0;

    /// <summary>Input channels from which a 5×5 convolution with its output channels in the lanes is computed by Winograd
    /// F(2×2, 5×5) (up to 8, NetDsl.Kernels.Winograd.Supports5): its transforms handle InC + OutC planes for 36 products
    /// of depth InC (forward) or OutC (input gradient) per tile. LeNet-5's conv2 (6 → 16) is the shape measured.</summary>
    public const int Winograd5MinInChannels = 6;

    /// <summary>Channels (in and out) from which a 3×3 stride-1 convolution is computed by Winograd: below, its 16 products
    /// over the channels are too shallow to repay the transforms.</summary>
    public const int WinogradMinChannels = 16;

    /// <summary>Bytes of one Winograd call's transformed input and products a worker keeps (its L2).</summary>
    public const int WinogradBytes = 1 << 20;

    /// <summary>For layers that are not convolutions.</summary>
    public static readonly ConvStrategy None = new(1, false, false);

    /// <summary>Multiply-adds of one sample above which a batch of one splits the convolution's output rows across the
    /// workers: below it, waking the other workers costs more than the half they would take.</summary>
    public const long SplitOneSampleMacs = 1_000_000;

    /// <summary>Multiply-adds of one sample from which a batch of one splits a direct convolution (<see cref="Direct"/>:
    /// its output channels; <see cref="ChannelLanes"/>: its output rows) across the workers. Lower than
    /// <see cref="SplitOneSampleMacs"/>: nothing is packed or shared per worker but a cached weight. LeNet-5's conv2 (240k)
    /// took 5 µs on one core, the cnn's conv1 (226k) 6 µs.</summary>
    public const long DirectSplitMacs = 200_000;
}

/// <summary>A run of layers the workers take through on their own share of the batch, between whole-batch reductions.</summary>
/// <param name="Serial">A layer whose whole-batch statistics (forward) or sums (backward) are computed before the phase, or −1.</param>
/// <param name="Blocks">The phase's layers in run order, grouped into cache blocks (Chunk &gt; 0: that many samples at a time).</param>
internal sealed record CpuPhase(int Serial, EquatableArray<CacheBlock> Blocks);

internal sealed record CacheBlock(EquatableArray<int> Layers, int Chunk);

/// <summary>
/// The CPU lowering of a <see cref="Plan"/>: every strategy the CPU emitter follows, decided here from the shapes, so the
/// emitter only writes them out. Workspace sizes are computed literals.
/// </summary>
internal sealed record CpuPlan(
    Plan Plan,
    EquatableArray<ConvStrategy> Convolutions,
    EquatableArray<CpuPhase> Forward,
    EquatableArray<CpuPhase> Backward,
    int ColumnFloats,
    int PackedWeightFloats,
    int PackedGradientFloats,
    EquatableArray<int> DensePackedWidths,
    EquatableArray<int> FoldedRelus)
{
    /// <summary>Rows of a packed GEMM panel: <c>NetDsl.Kernels.PackedGemm.MR</c> (the generated code checks it at start-up).</summary>
    public const int PanelRows = 8;

    public static int PackedSize(int m, int k) => (m + PanelRows - 1) / PanelRows * PanelRows * Math.Max(k, 0);

    /// <summary>Bytes of activations a sample may keep in flight through a cache block: the L2 of one core (1 MiB on the
    /// machines measured), so each layer of the block reads what the one before wrote while it is still cached.</summary>
    public const int CacheBlockBytes = 1 << 20;

    public static CpuPlan Lower(Plan plan)
    {
        var net = plan.Network;
        var conv = net.Layers.Select(l => Strategy(l)).ToArray();
        // A ReLU that reads a convolution whose kernel can store it too: the convolution's forward writes both outputs and
        // the ReLU's forward is not run (its output, and so LayerOutput and its backward, are the same).
        foreach (var l in net.Layers)
            if (l.Kind == LayerKind.ReLU && l.Inputs.Count == 1 && l.Inputs[0] >= 0 && conv[l.Inputs[0]] is { CanFuseRelu: true, FusedRelu: < 0 } s)
                // (F(2×2, 5×5) stores no ReLU: such a convolution keeps the lane kernel, which does.)
                conv[l.Inputs[0]] = s with { FusedRelu = l.Index, OutputOnDemand = Consumers(net, l.Inputs[0]) == 1, Winograd5Samples = 0 };
        for (int i = 0; i < conv.Length; i++)
            if (conv[i].SplitOneSample)
            {
                var (activation, pool) = Chain(net, i, conv[i]);
                conv[i] = conv[i] with { SplitActivation = activation, SplitPool = pool };
            }
        int col = 0, packW = 0, packX = 0;
        var dense = new List<int>();
        foreach (var l in net.Layers)
        {
            if (l.Params is ConvParams c)
            {
                var s = conv[l.Index];
                if (s.Winograd) { } // its own workspace (WinogradWorkspace): no column matrix, no packed weight
                else if (l.Kind == LayerKind.Conv2D)
                {
                    int k = l.InC / c.Groups * c.KernelH * c.KernelW * c.Groups, p = l.OutH * l.OutW;
                    // pointwise too: its backward transposes x here; batched forward also puts [OutC, samples · p] in the gradient scratch
                    col = Math.Max(col, Math.Max(k, s.SamplesPerGemm > 1 ? l.OutC : 0) * p * s.SamplesPerGemm);
                    if (s.Direct) col = Math.Max(col, s.DirectWeightGradient ? ConvStrategy.DirectGradientScratch(l, c) : ConvStrategy.DirectScratch(l, c));
                    if (s.ChannelLanes) col = Math.Max(col, ConvStrategy.ChannelLanesGradientScratch(l, c));
                    if (s.PackedGemm)
                    {
                        packW = Math.Max(packW, Math.Max(PackedSize(l.OutC, k), PackedSize(k, l.OutC)));
                        packX = Math.Max(packX, PackedSize(l.OutC, p * s.SamplesPerGemm));
                    }
                }
                else col = Math.Max(col, l.OutC * c.KernelH * c.KernelW * l.InH * l.InW);
            }
            if (l.Kind == LayerKind.Dense) dense.Add(l.OutC);
        }
        var forward = Phases(plan, backward: false, conv);
        var backward = Phases(plan, backward: true, conv);
        var folded = net.Layers.Select(l => FoldableRelu(net, l)).ToEquatableArray();
        foreach (var block in forward.SelectMany(p => p.Blocks).Where(b => b.Chunk > 0))
            foreach (int i in block.Layers)
                if (conv[i] is { FusedRelu: >= 0, OutputOnDemand: true } s && block.Layers.Any(p => folded[p] == s.FusedRelu))
                {
                    int pool = block.Layers.First(p => folded[p] == s.FusedRelu);
                    // A Winograd convolution pools in its output transform (FusedPool), so its ReLU needs no scratch. A direct
                    // one split by channels pools on pairs of rows where its 512-bit path runs (DirectConv.CanPool, checked
                    // at run time) and keeps the scratch for where it does not; a batch of one then pools each worker's
                    // share the one way or the other, so the pool must run inside the split (SplitPool) when there is one.
                    conv[i] = s.Winograd ? s with { FusedPool = pool }
                        : s is { Direct: true, DirectRows: false } && ConvStrategy.DirectPoolable(net.Layers[i]) && (!s.SplitOneSample || s.SplitPool == pool)
                            ? s with { ReluScratch = block.Chunk, FusedPool = pool }
                        : s with { ReluScratch = block.Chunk };
                }
        return new CpuPlan(plan, conv.ToEquatableArray(), forward, backward, col, packW, packX, dense.Distinct().OrderBy(d => d).ToEquatableArray(), folded);
    }

    /// <summary>
    /// The ReLU whose backward pass 2×2 max pool <paramref name="pool"/> does as well (−1 where none): one that only the
    /// pool reads, just before it. The pool's backward then gives each window's winner dy where the pooled value (the
    /// winner's ReLU output) is positive, straight into the ReLU's input gradient, and the ReLU's own backward does not run:
    /// one pass writing the full-size gradient instead of three (scatter, then read both and write again). The cnn's two
    /// pools and ReLUs took 14 µs a sample that way, 6 µs folded. <c>LayerGradient</c> computes the ReLU's output gradient
    /// when asked.
    /// </summary>
    private static int FoldableRelu(ShapedNetwork net, ShapedLayer pool)
    {
        if (pool is not { Kind: LayerKind.MaxPool2D, Params: PoolParams p } || !PoolingFamily.Is2x2(pool, p) || pool.Inputs.Count != 1) return -1;
        int relu = pool.Inputs[0];
        // Just before the pool, so that the backward order is unchanged: the pool's backward runs right before the ReLU's would.
        if (relu < 0 || relu != pool.Index - 1 || net.Layers[relu] is not { Kind: LayerKind.ReLU } r || Consumers(net, relu) != 1) return -1;
        // Not on the network's input: its gradient is computed only when asked for (ComputeInputGradient).
        if (r.Inputs.Count != 1 || r.Inputs[0] < 0) return -1;
        return relu;
    }

    /// <summary>The 2×2 max pool whose backward pass does ReLU <paramref name="relu"/>'s too (see <see cref="FoldableRelu"/>), or −1.</summary>
    public int ReluFoldedInto(int relu)
    {
        for (int i = 0; i < FoldedRelus.Count; i++)
            if (FoldedRelus[i] == relu && relu >= 0) return i;
        return -1;
    }

    /// <summary>Layers that read layer <paramref name="layer"/>'s output.</summary>
    private static int Consumers(ShapedNetwork net, int layer)
    {
        int n = 0;
        foreach (var l in net.Layers)
            for (int i = 0; i < l.Inputs.Count; i++)
                if (l.Inputs[i] == layer) n++;
        return n;
    }

    private static ConvStrategy Strategy(ShapedLayer l)
    {
        if (l.Kind != LayerKind.Conv2D || l.Params is not ConvParams c) return ConvStrategy.None;
        int p = l.OutH * l.OutW;
        int samples = c.Groups > 1 || p >= 256 || c.IsPointwise ? 1 : Math.Min(8, (512 + p - 1) / p);
        // A small weight gradient (few output channels or a short column): a packed GEMM's tiles would be mostly padding
        // and the transpose would cost more than the products, so dot products (Gemm.Nt).
        bool dots = l.OutC * l.InC * c.KernelH * c.KernelW <= 4096;
        // Batch 1 has one sample for several workers: a large convolution then gives each worker whole panels of rows.
        long macs = (long)l.OutC * p * l.InC * c.KernelH * c.KernelW;
        bool split = c.Groups == 1 && l.OutC >= 16 && macs >= ConvStrategy.SplitOneSampleMacs;
        bool stride1 = c.Groups == 1 && c.StrideH == 1 && c.StrideW == 1 && c.Dilation == 1 && !c.IsPointwise;
        bool direct = stride1 && l.InC <= ConvStrategy.DirectMaxChannels;
        int winograd = WinogradSamples(l, c);
        // Few output channels over a deeper input, below the panel split's size (a batch of one splits its rows instead, below).
        bool lanes = stride1 && !direct && winograd == 0 && !split && l.OutC % 16 == 0 && l.OutC <= ConvStrategy.ChannelLanesMaxChannels;
        if ((lanes || direct && l.OutC >= 16) && macs >= ConvStrategy.DirectSplitMacs) split = true;
        bool rows = direct && l.OutC < 16 && macs >= ConvStrategy.DirectRowSplitMacs;
        if (rows) split = true;
        return new ConvStrategy(samples, dots, c.Groups == 1, split, winograd, direct, ChannelLanes: lanes, DirectRows: rows,
            WinogradTile: winograd > 0 ? ConvStrategy.WinogradTileFor(l.OutW) : 2, WinogradBackTile: winograd > 0 ? ConvStrategy.WinogradTileFor(l.InW) : 2,
            DirectWeightGradient: direct && dots && c.KernelW >= 4, Winograd5Samples: lanes ? Winograd5Samples(l, c) : 0);
    }

    /// <summary>Samples per F(2×2, 5×5) call (8: one per lane) for a lane convolution (stride 1, ungrouped) that is 5×5
    /// with padding of at most 4 and <see cref="ConvStrategy.Winograd5MinInChannels"/> to 8 input channels
    /// (NetDsl.Kernels.Winograd.Supports5); 0 otherwise.</summary>
    private static int Winograd5Samples(ShapedLayer l, ConvParams c)
    {
        bool shape = c.KernelH == 5 && c.KernelW == 5 && c.PadTop <= 4 && c.PadBottom <= 4 && c.PadLeft <= 4 && c.PadRight <= 4 && l.OutC % 8 == 0;
        return shape && l.InC >= ConvStrategy.Winograd5MinInChannels && l.InC <= 8 ? 8 : 0;
    }

    /// <summary>Samples per Winograd call for a 3×3, stride-1, undilated, ungrouped convolution with padding of at most 2
    /// (its input gradient is then one too) and enough channels; 0 otherwise. As many samples as fill the GEMM's
    /// 32-column strips best while the transformed input and the products stay in <see cref="ConvStrategy.WinogradBytes"/>.</summary>
    private static int WinogradSamples(ShapedLayer l, ConvParams c)
    {
        bool shape = c.KernelH == 3 && c.KernelW == 3 && c.StrideH == 1 && c.StrideW == 1 && c.Dilation == 1 && c.Groups == 1
            && c.PadTop <= 2 && c.PadBottom <= 2 && c.PadLeft <= 2 && c.PadRight <= 2;
        if (!shape || l.InC < ConvStrategy.WinogradMinChannels || l.OutC < ConvStrategy.WinogradMinChannels) return 0;
        int tiles = (l.OutH + 1) / 2 * ((l.OutW + 1) / 2);
        long perSample = 16L * 4 * (l.InC + l.OutC) * tiles;
        int best = 1;
        double bestFill = 0;
        for (int s = 1; s <= 8 && (s == 1 || s * perSample <= ConvStrategy.WinogradBytes); s++)
        {
            int n = s * tiles;
            double fill = n / (double)((n + 31) / 32 * 32);
            if (fill > bestFill + 1e-9) { best = s; bestFill = fill; }
        }
        return best;
    }

    /// <summary>Weight floats from which a dense layer's batch-1 forward splits its units across the workers: each then
    /// reads its share of the weight (kept in its own cache from call to call) instead of one core reading all of it.</summary>
    public const int DenseSplitFloats = 1 << 15;

    /// <summary>Input floats from which a batch of one pools a 2×2 pool inside a channel split (see <see cref="SplitChain"/>).</summary>
    public const int PoolSplitFloats = 8192;

    /// <summary>
    /// The layers a batch of one runs inside convolution <paramref name="conv"/>'s split, after it, each worker on the share
    /// it has just written (−1 where none): a tanh that reads the convolution (or the ReLU fused into it), then a 2×2 pool
    /// that reads that. On the other core's share they would cost more than they take (the cnn's pool1 alone: 6.6 µs on
    /// one core, 14 µs split after an unsplit ReLU), and each would need a hand-off of its own.
    /// <list type="bullet">
    /// <item>A split by output channel takes a max or average pool of ≥ <see cref="PoolSplitFloats"/> inputs.</item>
    /// <item>A split by output rows takes an average pool (a max pool's winners index whole planes), and splits the rows
    /// in pairs; only where the pairs share out evenly (LeNet-5's conv1: 14 pairs; its conv2's 5 pairs split 4 + 6 rows
    /// and ran slower).</item>
    /// </list>
    /// Decided once, in <see cref="Lower"/> (<see cref="ConvStrategy.SplitActivation"/>, <see cref="ConvStrategy.SplitPool"/>).
    /// </summary>
    public (int Activation, int Pool) SplitChain(int conv) => (Convolutions[conv].SplitActivation, Convolutions[conv].SplitPool);

    private static (int Activation, int Pool) Chain(ShapedNetwork net, int conv, ConvStrategy s)
    {
        int at = s.FusedRelu >= 0 ? s.FusedRelu : conv, activation = -1, pool = -1;
        int next = SoleReader(net, at);
        if (s.DirectRows && next >= 0 && net.Layers[next].Kind == LayerKind.Tanh) { activation = next; next = SoleReader(net, next); }
        if (next >= 0 && net.Layers[next] is { Params: PoolParams p } l && PoolingFamily.Is2x2(l, p))
        {
            bool fits = s.SplitsRows
                ? l.Kind == LayerKind.AvgPool2D && net.Layers[conv].OutH / 2 % 2 == 0
                : l.Kind is LayerKind.MaxPool2D or LayerKind.AvgPool2D && l.InC >= 2 && l.InSize >= PoolSplitFloats;
            if (fits) pool = next;
        }
        return (activation, pool);
    }

    /// <summary>The convolution inside whose batch-1 split layer <paramref name="layer"/> runs (see <see cref="SplitChain"/>), or −1.</summary>
    public int SplitInside(int layer)
    {
        for (int i = 0; i < Convolutions.Count; i++)
            if (Convolutions[i].SplitActivation == layer || Convolutions[i].SplitPool == layer) return i;
        return -1;
    }

    /// <summary>The one layer that reads layer <paramref name="layer"/>'s output, if it reads nothing else; −1 otherwise.</summary>
    private static int SoleReader(ShapedNetwork net, int layer)
    {
        if (Consumers(net, layer) != 1) return -1;
        foreach (var l in net.Layers)
            if (l.Inputs.Count == 1 && l.Inputs[0] == layer) return l.Index;
        return -1;
    }

    /// <summary>Whether a batch of one splits this dense layer's output units across the workers.</summary>
    public static bool SplitsDenseOneSample(ShapedLayer l) =>
        l.Kind == LayerKind.Dense && !(l.Params is DenseParams { DropConnect: > 0.0 }) && (long)l.InSize * l.OutC >= DenseSplitFloats && l.OutC >= 8;

    /// <summary>The convolution whose fused ReLU, the input of pool <paramref name="pool"/>, lives in a per-worker scratch
    /// (<see cref="ConvStrategy.ReluScratch"/>), or −1.</summary>
    public int ReluScratchOf(int pool)
    {
        int relu = pool >= 0 && pool < FoldedRelus.Count ? FoldedRelus[pool] : -1;
        if (relu < 0) return -1;
        int conv = FusedInto(relu);
        return conv >= 0 && Convolutions[conv].ReluScratch > 0 ? conv : -1;
    }

    /// <summary>The convolution whose forward writes 2×2 max pool <paramref name="pool"/>'s output as it computes
    /// (<see cref="ConvStrategy.FusedPool"/>), or −1.</summary>
    public int FusedPoolOf(int pool)
    {
        if (pool < 0) return -1;
        for (int i = 0; i < Convolutions.Count; i++)
            if (Convolutions[i].FusedPool == pool) return i;
        return -1;
    }

    /// <summary>The convolution whose forward pass writes layer <paramref name="layer"/>'s output (a fused ReLU), or −1.</summary>
    public int FusedInto(int layer)
    {
        for (int i = 0; i < Convolutions.Count; i++)
            if (Convolutions[i].FusedRelu == layer) return i;
        return -1;
    }

    /// <summary>Phases: runs of layers a worker can take through on its own share of the batch. A layer that needs
    /// whole-batch statistics (batch norm) starts a new phase after a serial reduction.</summary>
    private static EquatableArray<CpuPhase> Phases(Plan plan, bool backward, ConvStrategy[] strategies)
    {
        var net = plan.Network;
        var phases = new List<(int Serial, List<int> Layers)> { (-1, new List<int>()) };
        int n = net.Layers.Count;
        for (int step = 0; step < n; step++)
        {
            int i = backward ? n - 1 - step : step;
            var l = net.Layers[i];
            if (LayerFamilies.For(l).NeedsWholeBatch(l))
            {
                if (phases[phases.Count - 1].Layers.Count > 0) phases.Add((i, new List<int>()));
                else phases[phases.Count - 1] = (i, phases[phases.Count - 1].Layers);
            }
            phases[phases.Count - 1].Layers.Add(i);
        }
        return phases.Select(p => new CpuPhase(p.Serial, CacheBlocks(plan, p.Layers, strategies))).ToEquatableArray();
    }

    /// <summary>
    /// Splits a phase's layers into runs. A run of per-sample convolution stages (convolutions, pooling, pointwise
    /// activations) goes through the worker's share a few samples at a time, all its layers per block, rather than layer
    /// by layer over the whole share, whose activations would long have left the cache. Every sample's arithmetic is the
    /// same either way, so results are identical. Only plain chains are blocked: a layer read twice would need its
    /// gradient complete before its block runs.
    /// </summary>
    private static EquatableArray<CacheBlock> CacheBlocks(Plan plan, List<int> phase, ConvStrategy[] strategies)
    {
        var net = plan.Network;
        var result = new List<(List<int> Layers, int Chunk)>();
        bool chain = plan.IsChain;
        foreach (int i in phase)
        {
            var l = net.Layers[i];
            bool blockable = chain && LayerFamilies.For(l).CacheBlockable(l);
            bool inRun = result.Count > 0 && result[result.Count - 1].Chunk > 0;
            if (blockable && inRun) result[result.Count - 1].Layers.Add(i);
            else result.Add((new List<int> { i }, blockable ? 1 : 0));
        }
        for (int r = 0; r < result.Count; r++)
        {
            var (layers, chunk) = result[r];
            if (chunk == 0) continue;
            if (layers.Count < 2 || !layers.Any(i => net.Layers[i].Kind == LayerKind.Conv2D)) { result[r] = (layers, 0); continue; }
            // Per sample: each layer's output and its gradient (or argmax); the im2col scratch is per worker.
            long bytes = layers.Sum(i => 8L * net.Layers[i].OutSize);
            int group = layers.Select(i => Math.Max(strategies[i].SamplesPerGemm, Math.Max(strategies[i].WinogradSamples, strategies[i].Winograd5Samples))).Max();
            int samples = (int)Math.Max(1, CacheBlockBytes / Math.Max(1, bytes));
            result[r] = (layers, Math.Max(group, samples / group * group));
        }
        return result.Select(r => new CacheBlock(r.Layers.ToEquatableArray(), r.Chunk)).ToEquatableArray();
    }
}
